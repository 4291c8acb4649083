"""Issue 20, failure 1: no string in the page's data can end or re-enter its <script> element, and
the page runs only its own inline blocks (Content-Security-Policy by hash)."""

from __future__ import annotations

import re

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.report.model import ReportModel
from pipelines.report.page import _asset, content_security_policy, inline_json, render_page_with_policy

# What makes the HTML tokenizer leave the script-data state, and what reorders or hides text.
HOSTILE_PIECES = ["<!--", "<script", "</script", "</", "-->", "<", ">", "&", "\u2028", "\u2029", "\x00"]
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
hostile_text = st.lists(
    st.one_of(st.sampled_from(HOSTILE_PIECES), st.sampled_from(list(BIDI_CONTROLS)), st.text(max_size=6)),
    max_size=12,
).map("".join)


def script_data(html: str, element_id: str) -> str:
    found = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert found
    return found.group(1)


def test_the_probe_string_is_escaped():
    text = inline_json({"published": "<!--<script>", "x": "a&b\u2028\u2029</script>"})
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}
    assert orjson.loads(text) == {"published": "<!--<script>", "x": "a&b\u2028\u2029</script>"}


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(hostile_text, st.one_of(hostile_text, st.lists(hostile_text, max_size=3)), max_size=4))
def test_any_text_round_trips_and_never_leaves_script_data(value):
    text = inline_json(value)
    # Without "<" the tokenizer cannot leave the script-data state; without "&" nothing is a reference.
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}
    assert orjson.loads(text) == value


def test_a_page_whose_data_holds_the_probe_keeps_its_data_whole():
    model = ReportModel()
    model.add("deadletter", {"stage": "parse", "reason": "bad published '<!--<script>'", "origin": {"line": 1}})
    page, _ = render_page_with_policy(model.snapshot(), "t")
    data = orjson.loads(script_data(page, "marsad-data"))
    assert data["dead_letters"][0]["reason"] == "bad published '<!--<script>'"
    # The page's scripts come after the data, intact: the document did not become data.
    assert page.count("<script") == 4 and page.rstrip().endswith("</html>")


def test_the_page_carries_a_strict_policy_that_hashes_its_own_blocks():
    page, policy = render_page_with_policy(ReportModel().snapshot(), "t")
    assert f'<meta http-equiv="Content-Security-Policy" content="{policy}">'.replace("'", "&#x27;") in page
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert policy.startswith("default-src 'none'") and "connect-src 'none'" in policy
    chart_js = _asset("chart.umd.min.js").replace("</script", "<\\/script")
    assert policy == content_security_policy([chart_js, _asset("report.js")], [_asset("report.css")])
    # Every inline handler would be refused by that policy: the page has none.
    assert not re.search(r"\son[a-z]+=", page.split("<script>")[0])
    live_policy = render_page_with_policy(ReportModel().snapshot(), "t", live=True)[1]
    assert "connect-src 'self'" in live_policy
