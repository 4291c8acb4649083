from pathlib import Path

import pytest
import yaml

from schemas.records import Article
from transforms.rules import AlertMatcher, RulesError, alert_id, load_rules, parse_rules
from transforms.text import NormalizedText

from ..conftest import SEEDS

DEFAULT_RULES = SEEDS / "rules" / "default.yaml"


def article(body: str, title: str = "", article_id: str = "a1") -> Article:
    return Article(id=article_id, source="test", url=None, published=None, title=title, body=body, lang="ar")


def alerts_for(rules, item: Article):
    fields = {name: NormalizedText(text) for name, text in (("title", item.title), ("body", item.body)) if text}
    return AlertMatcher(rules).alerts(item, fields, "2026-01-01T00:00:00+00:00")


def test_default_rules_have_the_contract_ids_in_both_languages():
    rules = {rule.id: rule for rule in load_rules(DEFAULT_RULES)}
    assert {"ceasefire", "truce", "postponement"} <= set(rules)
    for rule_id in ("ceasefire", "truce", "postponement"):
        assert {term.lang for term in rules[rule_id].terms} == {"ar", "en"}


def test_alert_matches_point_into_the_original_text():
    body = "قالت مصادر إنّ الطرفين اتفقا على وقفِ إطلاق النار، وأعلنت الخارجية إرجاء الاجتماع."
    alerts = {a.rule_id: a for a in alerts_for(load_rules(DEFAULT_RULES), article(body))}
    assert set(alerts) == {"ceasefire", "postponement"}
    for alert in alerts.values():
        for match in alert.matches:
            assert body[match.start : match.end] == match.text
    assert alerts["ceasefire"].matches[0].text == "وقفِ إطلاق النار"
    assert alerts["postponement"].matches[0].text == "إرجاء"


def test_title_matches_come_first_and_alert_ids_are_deterministic():
    rules = load_rules(DEFAULT_RULES)
    item = article("تم التوصل إلى هدنة.", title="هدنة في غزة")
    (alert,) = alerts_for(rules, item)
    assert [m.field for m in alert.matches] == ["title", "body"]
    assert alert.alert_id == alert_id("truce", "a1") == alerts_for(rules, item)[0].alert_id
    assert alert.snippet == "هدنة في غزة"


def test_rule_scoped_to_title_ignores_body():
    rules = parse_rules({"rules": [{"id": "t", "fields": ["title"], "terms": {"ar": ["هدنة"]}}]})
    assert alerts_for(rules, article("هدنة")) == []
    assert len(alerts_for(rules, article("نص", title="هدنة"))) == 1


def write_rules(tmp_path: Path, document) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"rules": [{"id": "truce", "severity": "urgent", "terms": {"ar": ["هدنة"]}}]},
            "rule 'truce', field 'severity'",
        ),
        ({"rules": [{"id": "truce", "terms": {"ar": []}}]}, "rule 'truce', field 'terms.ar'"),
        ({"rules": [{"id": "truce", "terms": {"ar": ["هدنة"]}, "scope": 1}]}, "rule 'truce'"),
        (
            {"rules": [{"id": "truce", "terms": {"ar": ["هدنة"]}}, {"id": "truce", "terms": {"en": ["truce"]}}]},
            "rule 'truce', field 'id': duplicate",
        ),
        ({"rules": [{"title": "no id", "terms": {"ar": ["هدنة"]}}]}, "rule #1"),
        ({"rulez": []}, "rules"),
    ],
)
def test_bad_rules_file_names_file_rule_and_field(tmp_path, document, message):
    path = write_rules(tmp_path, document)
    with pytest.raises(RulesError) as error:
        load_rules(path)
    assert str(path) in str(error.value)
    assert message in str(error.value)


def test_unreadable_rules_file(tmp_path):
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [", encoding="utf-8")
    with pytest.raises(RulesError, match="not valid YAML"):
        load_rules(bad)
