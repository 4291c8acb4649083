"""The rule language: weights and threshold, all_of / none_of, proximity, per-term fields,
languages, verb lemmas with exclusions and allowed prefixes; and its validation messages."""

import pytest

from schemas.records import Article
from transforms.rules import AlertMatcher, RulesError, parse_rules
from transforms.text import NormalizedText


def fired(document: dict, body: str, title: str = "", lang: str = "ar") -> dict[str, list[str]]:
    rules = parse_rules(document)
    article = Article("a", None, None, None, title, body, lang)
    fields = {n: NormalizedText(t) for n, t in (("title", title), ("body", body)) if t}
    return {a.rule_id: [m.text for m in a.matches] for a in AlertMatcher(rules).alerts(article, fields, "")}


def rule(**fields) -> dict:
    return {"rules": [{"id": "r", **fields}]}


def test_weights_and_threshold():
    document = rule(
        threshold=2,
        terms={"ar": [{"text": "غارة", "weight": 1}, {"text": "قصف", "weight": 1}, {"text": "مجزرة", "weight": 2}]},
    )
    assert fired(document, "غارة على المدينة") == {}
    assert fired(document, "غارة وقصف على المدينة") == {"r": ["غارة", "وقصف"]}
    assert fired(document, "مجزرة في المدينة") == {"r": ["مجزرة"]}


def test_all_of_groups_must_each_fire():
    document = rule(all_of=[{"ar": ["هدنة"]}, {"ar": ["اليمن", "الحديدة"]}])
    assert fired(document, "هدنة في سوريا") == {}
    assert fired(document, "هدنة في الحديدة") == {"r": ["هدنة", "الحديدة"]}


def test_none_of_vetoes_the_rule():
    document = rule(terms={"ar": ["تأجيل"]}, none_of={"ar": ["المباراة"]})
    assert fired(document, "تقرر تأجيل الاجتماع") == {"r": ["تأجيل"]}
    assert fired(document, "تقرر تأجيل المباراة") == {}


def test_near_and_not_near_stay_inside_the_sentence():
    document = rule(
        terms={
            "ar": [
                {
                    "text": "تهدئة",
                    "near": {"within": 3, "terms": ["غزة"]},
                    "not_near": {"within": 1, "terms": ["لتحقيق"]},
                }
            ]
        }
    )
    assert fired(document, "اتفاق تهدئة في غزة") == {"r": ["تهدئة"]}
    assert fired(document, "اتفاق تهدئة في القطاع. غزة تنتظر") == {}  # غزة is in the next sentence
    assert fired(document, "تهدئة الأسواق") == {}
    assert fired(document, "سعي لتحقيق تهدئة في غزة") == {}


def test_side_keeps_a_selectional_preference_to_one_side_of_the_term():
    # What is postponed follows the verbal noun; a word before it is not its object.
    document = rule(
        terms={"ar": [{"text": "تأجيل", "not_near": {"within": 2, "side": "after", "terms": ["الإصلاحات"]}}]}
    )
    assert fired(document, "قررت الحكومة تأجيل الإصلاحات") == {}
    assert fired(document, "لجنة الإصلاحات تقرر تأجيل الاجتماع") == {"r": ["تأجيل"]}
    before = rule(terms={"ar": [{"text": "مؤجل", "not_near": {"within": 1, "side": "before", "terms": ["الحلم"]}}]})
    assert fired(before, "الحلم مؤجل") == {}
    assert fired(before, "موعد مؤجل للحلم") == {"r": ["مؤجل"]}


def test_a_list_of_not_near_contexts_vetoes_on_any_one():
    document = rule(
        terms={
            "ar": [
                {
                    "text": "تأجيل",
                    "not_near": [
                        {"within": 3, "terms": ["دون"]},
                        {"within": 2, "side": "after", "terms": ["اتفاق"]},
                    ],
                }
            ]
        }
    )
    assert fired(document, "أعلن تأجيل الانتخابات") == {"r": ["تأجيل"]}
    assert fired(document, "نفذ القرار دون تأجيل") == {}
    assert fired(document, "يريد تأجيل أي اتفاق") == {}


def test_side_must_be_known():
    with pytest.raises(RulesError, match="side"):
        parse_rules(rule(terms={"ar": [{"text": "تأجيل", "near": {"within": 2, "side": "left", "terms": ["اتفاق"]}}]}))


def test_fields_per_rule_and_per_term():
    document = rule(fields=["title"], terms={"ar": ["هدنة", {"text": "تهدئة", "fields": ["body"]}]})
    assert fired(document, "هدنة") == {}
    assert fired(document, "نص", title="هدنة") == {"r": ["هدنة"]}
    assert fired(document, "تهدئة", title="عنوان") == {"r": ["تهدئة"]}


def test_languages_restrict_the_rule():
    document = rule(languages=["en"], terms={"en": ["truce"], "ar": ["هدنة"]})
    assert fired(document, "هدنة", lang="ar") == {}
    assert fired(document, "a truce", lang="en") == {"r": ["truce"]}


def test_verb_lemma_covers_its_forms_but_not_the_excluded_look_alikes():
    document = rule(terms={"ar": [{"text": "أجّل", "pos": "verb", "exclude": ["أجل", "أجلت"]}]})
    for text in ("يؤجل الاجتماع", "وستؤجل الحكومة", "تأجيل الانتخابات", "بالتأجيل", "مباراة مؤجلة", "سيؤجلون"):
        assert "r" in fired(document, text), text
    for text in ("من أجل السلام", "أجلت السلطات السكان", "على المدى الأجل", "لأجل الغوطة"):
        assert fired(document, text) == {}, text


def test_allowed_prefixes():
    document = rule(terms={"ar": [{"text": "أجل", "proclitics": ["و", "ف"]}]})
    assert fired(document, "وأجل الاجتماع") == {"r": ["وأجل"]}
    assert fired(document, "لأجل الاجتماع") == {}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (rule(terms={"ar": [{"text": "هدنة", "weight": 0}]}), "rule 'r', field 'terms.ar.0"),
        (rule(terms={"ar": [{"text": "هدنة", "near": {"within": 3}}]}), "rule 'r', field 'terms.ar.0"),
        (rule(terms={"ar": [{"text": "هدنة", "pos": "adjective"}]}), "rule 'r', field 'terms.ar.0"),
        (rule(all_of=[{"ar": []}]), "rule 'r', field 'all_of.0.ar'"),
        (rule(terms={"ar": [{"text": "ابجدهوز", "pos": "verb"}]}), "rule 'r', field 'terms.ar[0]': verb"),
        (
            rule(terms={"ar": ["هدنة", {"text": "تهدئة", "exclude": ["تهدئة"]}]}),
            "rule 'r', field 'terms.ar[1]': 'تهدئة': every form is excluded",
        ),
        (rule(threshold=1), "rule 'r'"),
    ],
)
def test_invalid_rules_name_rule_and_field(document, message):
    with pytest.raises(RulesError) as error:
        parse_rules(document, "rules.yaml")
    assert message in str(error.value) and "rules.yaml" in str(error.value)


def test_rules_are_data_not_code():
    # A would-be expression is only ever a term to match.
    assert fired(rule(terms={"en": ["__import__('os')"]}), "__import__('os')", lang="en") == {"r": ["import__('os"]}
