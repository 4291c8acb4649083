from collections.abc import Hashable

import pytest

from transforms.matcher import Phrase, PhraseMatcher, arabic_stems, english_forms
from transforms.text import NormalizedText


def found(matcher: PhraseMatcher, text: str) -> list[tuple[Hashable, str]]:
    normalized = NormalizedText(text)
    return [(hit.payload, normalized.original_slice(hit.start, hit.end)) for hit in matcher.find(normalized)]


@pytest.fixture(scope="module")
def matcher() -> PhraseMatcher:
    return PhraseMatcher(
        [
            Phrase("ceasefire", "وقف إطلاق النار"),
            Phrase("truce", "هدنة"),
            Phrase("postponement", "إرجاء", strict_hamza=True),
            Phrase("postponement", "تأجيل"),
            Phrase("ceasefire", "ceasefire"),
            Phrase("ceasefire", "cease-fire"),
            Phrase("postponement", "postpone"),
        ]
    )


@pytest.mark.parametrize(
    "word",
    ["هدنة", "الهدنة", "والهدنة", "بالهدنة", "للهدنة", "وللهدنة", "هدنته", "هدنتها", "هدنتين", "هدنتان", "هدنات"],
)
def test_truce_with_clitics_and_number(matcher, word):
    assert found(matcher, f"أعلن الطرفان {word} اليوم") == [("truce", word)]


def test_multiword_phrase_with_spelling_variants(matcher):
    assert found(matcher, "دعا إلى وقف إطلاق النار") == [("ceasefire", "وقف إطلاق النار")]
    assert found(matcher, "دعا إلى وقف اطلاق النار") == [("ceasefire", "وقف اطلاق النار")]
    assert found(matcher, "دعا إلى وقفٍ لإطلاقِ النارِ") == [("ceasefire", "وقفٍ لإطلاقِ النارِ")]
    assert found(matcher, "وقف الاستيطان") == []


def test_strict_hamza_separates_postponement_from_throughout(matcher):
    assert found(matcher, "تم إرجاء الاجتماع") == [("postponement", "إرجاء")]
    assert found(matcher, "وبإرجاء الاجتماع") == [("postponement", "وبإرجاء")]
    assert found(matcher, "انتشرت الفوضى في أرجاء البلاد") == []


def test_postponement_noun_with_article(matcher):
    assert found(matcher, "قررت المحكمة التأجيل") == [("postponement", "التأجيل")]


def test_english_inflection_and_case(matcher):
    hits = found(matcher, "The Ceasefire held; two cease-fires; talks were postponed, a postponement.")
    assert hits == [
        ("ceasefire", "Ceasefire"),
        ("ceasefire", "cease-fires"),
        ("postponement", "postponed"),
        ("postponement", "postponement"),
    ]


def test_stems_strip_stacked_proclitics_and_restore_ta_marbuta():
    assert ("هدنه", 3) in arabic_stems("بالهدنه")
    assert ("هدنه", 2) in arabic_stems("للهدنه")
    assert ("هدنه", 0) in arabic_stems("هدنته")
    assert ("يؤجل", 2) in arabic_stems("وسيؤجل")


def test_english_forms():
    assert {"postpones", "postponed", "postponing", "postponement"} <= english_forms("postpone")
    assert {"delays", "delayed", "delaying"} <= english_forms("delay")


def test_empty_phrase_is_rejected():
    with pytest.raises(ValueError, match="no words"):
        PhraseMatcher([Phrase("x", "،،")])
