"""Property tests: the alert matcher on arbitrary text never raises, and every match it reports
slices the ORIGINAL text to whole words."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.records import Article
from transforms.rules import AlertMatcher, load_rules
from transforms.text import NormalizedText

from ..conftest import SEEDS

MATCHER = AlertMatcher(load_rules(SEEDS / "rules" / "default.yaml"))
# Rule vocabulary, look-alikes, clitics, diacritics, tatweel, digits, punctuation and noise.
PIECES = st.sampled_from(
    ["وقف", "إطلاق", "لإطلاق", "النار", "نار", "هدنة", "الهدنة", "هدنته", "تهدئة", "غزة", "إرجاء", "أرجاء",
     "أجّل", "أجل", "من", "تأجيل", "يؤجل", "الاجتماع", "ceasefire", "Truce", "postponed", "\u064e", "\u0651",
     "\u0640", "\u200c", " ", " ", " ", "،", ".", "\n", "٣", "و", "ب", "ال", "ﻻ", "x"]
)  # fmt: skip
TEXTS = st.one_of(st.lists(PIECES, max_size=40).map("".join), st.text(max_size=200))


def word_char(char: str) -> bool:
    return char.isalnum() or char in "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u0640"


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS, TEXTS)
def test_matches_slice_the_original_text_to_whole_words(title, body):
    article = Article("p", None, None, None, title, body, "ar")
    fields = {n: NormalizedText(t) for n, t in (("title", title), ("body", body)) if t}
    for alert in MATCHER.alerts(article, fields, ""):
        for match in alert.matches:
            text = title if match.field == "title" else body
            assert text[match.start : match.end] == match.text
            assert match.text and word_char(match.text[0]) and word_char(match.text[-1])
            # Marks and tatweel just before the start belong to the previous letter, not to this word.
            assert match.start == 0 or not text[match.start - 1].isalnum() or text[match.start - 1] == "\u0640"
            assert match.end == len(text) or not word_char(text[match.end])
