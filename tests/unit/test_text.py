from hypothesis import given
from hypothesis import strategies as st

from transforms.text import NormalizedText, detect_lang, fold, light, tokenize


def test_fold_removes_diacritics_tatweel_and_folds_letters():
    assert fold("هُدْنَةٌ") == "هدنه"
    assert fold("إطـــلاق") == "اطلاق"
    assert fold("مستشفى") == "مستشفي"
    assert fold("آمن أمن إمام") == "امن امن امام"


def test_fold_digits_case_and_invisible_marks():
    assert fold("الـ١٢ من ۲۰۱۶") == "ال12 من 2016"
    assert fold("CeaseFire") == "ceasefire"
    assert fold("هد\u200cنة") == "هدنه"  # a zero-width non-joiner would split the word


def test_fold_presentation_forms_through_camel_unicode_normalisation():
    assert fold("\ufefb") == "لا"  # lam-alef ligature


def test_light_keeps_hamza_and_ta_marbuta():
    assert light("إِرْجاء هدنة") == "إرجاء هدنة"
    assert fold("إرجاء") == fold("أرجاء")  # why light() exists
    assert light("إرجاء") != light("أرجاء")


def test_offsets_map_back_to_original_words():
    original = "أعلنت الخارجيّة إرجاءَ الاجتماع"
    text = NormalizedText(original)
    start = text.text.index("ارجاء")
    o_start, o_end = text.to_original(start, start + len("ارجاء"))
    assert original[o_start:o_end] == "إرجاءَ"  # the trailing diacritic belongs to the word
    start = text.text.index("الخارجيه")
    assert text.original_slice(start, start + len("الخارجيه")) == "الخارجيّة"


def test_tokenize_keeps_offsets():
    tokens = tokenize(fold("وقف إطلاق-النار، اليوم"))
    assert [t.text for t in tokens] == ["وقف", "اطلاق", "النار", "اليوم"]
    folded = fold("وقف إطلاق-النار، اليوم")
    assert all(folded[t.start : t.end] == t.text for t in tokens)


def test_detect_lang():
    assert detect_lang("أعلنت روسيا هدنة") == "ar"
    assert detect_lang("Russia announced a truce") == "en"
    assert detect_lang("12345 !!") == "und"


@given(st.text())
def test_fold_is_idempotent(text):
    assert fold(fold(text)) == fold(text)


@given(st.text(alphabet=st.characters(codec="utf-8")), st.data())
def test_any_folded_span_maps_inside_the_original(text, data):
    normalized = NormalizedText(text)
    n = len(normalized.text)
    start = data.draw(st.integers(0, n))
    end = data.draw(st.integers(start, n))
    o_start, o_end = normalized.to_original(start, end)
    assert 0 <= o_start <= o_end <= len(text)
    # The original slice folds back to (at least) the folded span.
    assert normalized.text[start:end] in fold(text[o_start:o_end])
