"""Surface forms of an Arabic verb from its lemma, so that a rule author writes أجّل or أرجأ once
and the matcher finds يؤجل، تؤجل، مؤجل، تأجيل، أرجأت، يرجئ، إرجاء ...

camel-tools' morphological analyser would do this from its database, but its data packages cannot
be installed here (nothing may depend on them at run time), so marsad generates the forms from
the standard patterns of the derived verb forms (أوزان الفعل). Forms are produced undiacritised
but with hamza as written (the "light" normalisation of ``transforms.text``): the matcher folds
them for its index and keeps them as they are for hamza-strict terms. The pattern's own hamzas
are fixed (إفعال, أفعل); a hamza radical may sit on any seat (أ إ ؤ ئ ء), as spelling varies.

Enclitic pronouns and conjunction/preposition prefixes are not generated here: the matcher
strips those from text tokens.
"""

from __future__ import annotations

import re
from functools import lru_cache

SHADDA = "\u0651"
HAMZA_SEATS = ("أ", "إ", "ؤ", "ئ", "ء")
_DIACRITICS = re.compile("[\u064b-\u0652\u0670\u0640]")
_ALEF_HAMZA = "أإآ"

PERFECT_SUFFIXES = ("", "ت", "ا", "وا", "تا", "ن", "نا", "تم", "تما", "تن")
IMPERFECT_PREFIXES = ("ي", "ت", "ن", "أ")
IMPERFECT_SUFFIXES = ("", "ان", "ون", "ين", "ن", "ا", "وا")


class LemmaError(ValueError):
    """A verb lemma whose pattern marsad does not recognise."""


def analyse_verb(lemma: str) -> tuple[str, int]:
    """(root, form number) of a perfect-tense 3rd person masculine lemma.

    >>> analyse_verb("أجّل")
    ('أجل', 2)
    >>> analyse_verb("أرجأ")
    ('رجأ', 4)
    """
    shadda = SHADDA in lemma
    letters = _DIACRITICS.sub("", lemma).replace("آ", "أ")
    n = len(letters)
    if n == 3:
        return letters, 2 if shadda else 1
    if n == 4 and letters[0] in _ALEF_HAMZA:
        return letters[1:], 4
    if n == 4 and letters[1] == "ا":
        return letters[0] + letters[2:], 3
    if n == 4 and letters[0] == "ت" and shadda:
        return letters[1:], 5
    if n == 5 and letters.startswith("ان"):
        return letters[2:], 7
    if n == 5 and letters[0] == "ا" and letters[2] == "ت":
        return letters[1] + letters[3:], 8
    if n == 6 and letters.startswith("است"):
        return letters[3:], 10
    raise LemmaError(f"verb {lemma!r}: not a recognised pattern (forms I-V, VII, VIII, X; write the perfect, e.g. أجّل)")


def _seats(root: str) -> list[str]:
    """The root with its hamza radical (if any) on every seat."""
    variants = [""]
    for letter in root:
        options = HAMZA_SEATS if letter in HAMZA_SEATS or letter in _ALEF_HAMZA else (letter,)
        variants = [v + o for v in variants for o in options]
    return variants


def _stems(r1: str, r2: str, r3: str, form: int) -> tuple[list[str], list[str], list[str]]:
    """(perfect stems, imperfect stems without prefix, verbal nouns and participles)."""
    if form == 1:
        return [r1 + r2 + r3], [r1 + r2 + r3], ["م" + r1 + r2 + "و" + r3, r1 + "ا" + r2 + r3]
    if form == 2:
        return [r1 + r2 + r3], [r1 + r2 + r3], ["ت" + r1 + r2 + "ي" + r3, "م" + r1 + r2 + r3]
    if form == 3:
        # مفاعلة only: the other verbal noun, فِعال, collides with common words (هدأنا -> هدان).
        return [r1 + "ا" + r2 + r3], [r1 + "ا" + r2 + r3], ["م" + r1 + "ا" + r2 + r3]
    if form == 4:
        return ["أ" + r1 + r2 + r3], [r1 + r2 + r3], ["إ" + r1 + r2 + "ا" + r3, "م" + r1 + r2 + r3]
    if form == 5:
        return ["ت" + r1 + r2 + r3], ["ت" + r1 + r2 + r3], ["ت" + r1 + r2 + r3, "مت" + r1 + r2 + r3]
    if form == 7:
        return ["ان" + r1 + r2 + r3], ["ن" + r1 + r2 + r3], ["ان" + r1 + r2 + "ا" + r3, "من" + r1 + r2 + r3]
    if form == 8:
        return (
            ["ا" + r1 + "ت" + r2 + r3],
            [r1 + "ت" + r2 + r3],
            ["ا" + r1 + "ت" + r2 + "ا" + r3, "م" + r1 + "ت" + r2 + r3],
        )
    if form == 10:
        return ["است" + r1 + r2 + r3], ["ست" + r1 + r2 + r3], ["است" + r1 + r2 + "ا" + r3, "مست" + r1 + r2 + r3]
    raise LemmaError(f"form {form} is not supported")


@lru_cache(maxsize=4096)
def verb_forms(lemma: str) -> tuple[frozenset[str], frozenset[str]]:
    """Undiacritised surface forms (hamza as written) of a verb lemma: (verbal, nominal).

    Verbal: perfect and imperfect in every person (active and passive look alike without
    diacritics). Nominal: the verbal noun and the participles, the only forms that can take the
    article (التأجيل، المؤجل). Pronoun suffixes and prefixes such as و ف س are left to the matcher.
    """
    root, form = analyse_verb(lemma)
    verbal: set[str] = set()
    nominal: set[str] = set()
    for variant in _seats(root):
        perfect, imperfect, nouns = _stems(variant[0], variant[1], variant[2], form)
        for stem in perfect:
            verbal.update(stem + suffix for suffix in PERFECT_SUFFIXES)
        for stem in imperfect:
            verbal.update(prefix + stem + suffix for prefix in IMPERFECT_PREFIXES for suffix in IMPERFECT_SUFFIXES)
        nominal.update(nouns)
    return frozenset(verbal), frozenset(nominal)
