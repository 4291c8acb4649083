import pytest

from transforms.morphology import LemmaError, analyse_verb, verb_forms


@pytest.mark.parametrize(
    ("lemma", "root", "form"),
    [
        ("أجّل", "أجل", 2),
        ("أرجأ", "رجأ", 4),
        ("هادن", "هدن", 3),
        ("تأجّل", "أجل", 5),
        ("استأنف", "أنف", 10),
        ("انسحب", "سحب", 7),
        ("اقتحم", "قحم", 8),
        ("قصف", "قصف", 1),
    ],
)
def test_analyse_verb(lemma, root, form):
    assert analyse_verb(lemma) == (root, form)


def test_forms_of_form_ii_and_iv():
    verbal, nominal = verb_forms("أجّل")
    assert {"يؤجل", "تؤجل", "نؤجل", "يؤجلون", "أجلت"} <= verbal
    assert {"تأجيل", "مؤجل"} <= nominal
    verbal, nominal = verb_forms("أرجأ")
    assert {"أرجأ", "أرجأت", "أرجئ", "يرجئ", "ترجئ", "يرجئون"} <= verbal
    assert "إرجاء" in nominal
    assert "أرجاء" not in verbal | nominal  # "throughout": the masdar's hamza is below


def test_unknown_pattern_is_reported():
    with pytest.raises(LemmaError, match="not a recognised pattern"):
        analyse_verb("ابجدهوز")
