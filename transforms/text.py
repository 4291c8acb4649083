"""Arabic-first text normalisation that never loses its way back to the original text.

The folding itself is camel-tools' (Unicode NFKC, dediacritisation, alef / alef-maksura /
ta-marbuta folding); marsad adds tatweel and invisible-format-character removal, Arabic-Indic to
ASCII digits and case folding. Every step camel-tools performs here is character-local, so the
whole chain is compiled once into a per-character table: normalising is one ``str.translate``
(C speed), and the offset map back to the original is built only when a match needs it.

Two strengths of folding are kept:
- ``fold``: everything above; used for matching, dedup fingerprints and search keys.
- ``light``: the same but WITHOUT alef/hamza, alef-maksura and ta-marbuta folding; matching looks
  at it where folding creates look-alikes (إرجاء "postponement" vs أرجاء "throughout").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property

# Only camel-tools' utils modules: they load neither torch nor the data catalogue.
from camel_tools.utils.dediac import dediac_ar
from camel_tools.utils.normalize import (
    normalize_alef_ar,
    normalize_alef_maksura_ar,
    normalize_teh_marbuta_ar,
    normalize_unicode,
)

TATWEEL = "\u0640"
# Zero-width and bidi control characters: invisible, but they split or glue words when kept.
_INVISIBLE = {*range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF, 0x061C}
_DIGITS = {**{0x0660 + i: str(i) for i in range(10)}, **{0x06F0 + i: str(i) for i in range(10)}}

# Code points whose folding we precompute; anything else is only case-folded (lazily, on demand).
_TABLE_RANGES = (
    (0x0000, 0x0250),  # ASCII and Latin
    (0x0600, 0x0780),  # Arabic, Arabic Supplement
    (0x08A0, 0x0900),  # Arabic Extended-A
    (0x2000, 0x2070),  # General punctuation (spaces, dashes, invisible marks)
    (0xFB50, 0xFE00),  # Arabic Presentation Forms-A
    (0xFE70, 0xFF00),  # Arabic Presentation Forms-B
)


def _fold_char(char: str, *, letters: bool) -> str:
    code = ord(char)
    if code in _INVISIBLE:
        return ""
    if code in _DIGITS:
        return _DIGITS[code]
    text = normalize_unicode(char)
    text = dediac_ar(text).replace(TATWEEL, "")
    text = "".join(_DIGITS.get(ord(c), c) for c in text)
    if letters:
        text = normalize_alef_ar(text)
        text = normalize_alef_maksura_ar(text)
        text = normalize_teh_marbuta_ar(text)
    text = text.casefold()
    # NFKC can expand to characters that fold further (e.g. presentation-form ligatures).
    return text if len(text) <= 1 else "".join(_fold_char(c, letters=letters) for c in text)


def _build_table(*, letters: bool) -> dict[int, str]:
    table: dict[int, str] = {}
    for low, high in _TABLE_RANGES:
        for code in range(low, high):
            char = chr(code)
            if unicodedata.category(char) == "Cs":
                continue
            folded = _fold_char(char, letters=letters)
            if folded != char:
                table[code] = folded
    return table


FOLD_TABLE = _build_table(letters=True)
LIGHT_TABLE = _build_table(letters=False)
_TABLE_CODES = frozenset(c for low, high in _TABLE_RANGES for c in range(low, high))
# Characters outside the precomputed ranges (rare in news: symbols, other scripts, emoji) are
# folded one by one with the same camel-tools chain.
_OUTSIDE_TABLE = re.compile("[^" + "".join(f"\\u{low:04x}-\\u{high - 1:04x}" for low, high in _TABLE_RANGES) + "]")


def fold(text: str) -> str:
    """Normalise for matching: camel-tools folding plus digits, tatweel, invisibles, case."""
    out = text.translate(FOLD_TABLE)
    if _OUTSIDE_TABLE.search(out):
        out = _OUTSIDE_TABLE.sub(lambda m: _fold_char(m.group(), letters=True), out)
    return out


def light(text: str) -> str:
    """Normalise but keep hamza, alef maksura and ta marbuta distinct (see module doc)."""
    out = text.translate(LIGHT_TABLE)
    if _OUTSIDE_TABLE.search(out):
        out = _OUTSIDE_TABLE.sub(lambda m: _fold_char(m.group(), letters=False), out)
    return out


# Characters that fold to nothing, and a pattern for those that may fold to more than one.
_VANISHING = frozenset(chr(code) for code, folded in FOLD_TABLE.items() if folded == "")
_EXPANDING = re.compile(
    "["
    + "".join(re.escape(chr(code)) for code, folded in FOLD_TABLE.items() if len(folded) > 1)
    + "]|"
    + _OUTSIDE_TABLE.pattern
)


def _fold_one(char: str) -> str:
    folded = FOLD_TABLE.get(ord(char))
    if folded is not None:
        return folded
    if ord(char) in _TABLE_CODES:
        return char
    return _fold_char(char, letters=True)


@dataclass(frozen=True)
class NormalizedText:
    """A folded text and the map from its offsets back to the original string."""

    original: str
    text: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", fold(self.original))

    @cached_property
    def _starts(self) -> list[int]:
        # _starts[i] is the original index of the character that produced folded char i.
        if not _EXPANDING.search(self.original):
            # Usual case: every character folds to one character or to none (diacritics).
            starts = [index for index, char in enumerate(self.original) if char not in _VANISHING]
        else:
            starts = []
            for index, char in enumerate(self.original):
                starts.extend([index] * len(_fold_one(char)))
        if len(starts) != len(self.text):  # pragma: no cover - guarded by property tests
            raise AssertionError("offset map out of step with folded text")
        return starts

    @cached_property
    def light_text(self) -> str | None:
        """The light form of the original, when it lines up character for character with ``text``.

        Alef, alef-maksura and ta-marbuta folding are one-to-one, so it always does unless a
        character outside the precomputed table expanded differently in the two foldings.
        """
        light_text = light(self.original)
        return light_text if len(light_text) == len(self.text) else None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a folded span [start, end) to the smallest original span that produced it.

        Diacritics and tatweel inside the span are included, and so are those right after its
        last character, so that the original slice reads as a whole word.
        """
        starts = self._starts
        if start >= len(starts):
            return len(self.original), len(self.original)
        orig_start = starts[start]
        if end <= start:
            return orig_start, orig_start
        orig_end = starts[end - 1] + 1
        # Diacritics and tatweel fold to nothing; those right after the span belong to its word.
        while orig_end < len(self.original) and _is_word_tail(self.original[orig_end]):
            orig_end += 1
        return orig_start, orig_end

    def original_slice(self, start: int, end: int) -> str:
        """The original text a span of the folded text came from."""
        o_start, o_end = self.to_original(start, end)
        return self.original[o_start:o_end]

    @cached_property
    def words(self) -> list[str]:
        """The words of ``text`` as strings, split once and shared by every stage that needs them:
        matchers look here first (most texts hold none of a matcher's phrases) and signatures
        need nothing more."""
        return tokenize_words(self.text)

    @cached_property
    def tokens(self) -> list[Token]:
        """The words of ``text`` with their offsets (``tokens[i].text == words[i]``), built only
        for texts where a matcher has something to look at."""
        return tokenize(self.text)


def _is_word_tail(char: str) -> bool:
    return char == TATWEEL or unicodedata.category(char) == "Mn"


@dataclass(slots=True, unsafe_hash=True)
class Token:
    """A word of folded text: ``text == folded[start:end]``. Treat as immutable; not declared
    frozen because a frozen dataclass is twice as slow to create, and every word of every article
    becomes one."""

    text: str
    start: int
    end: int


_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def tokenize_words(folded: str) -> list[str]:
    """The words of folded text, as ``tokenize`` splits it, without offsets."""
    return _WORD.findall(folded)


def tokenize(folded: str) -> list[Token]:
    """Split folded text into words (letters and digits), as camel-tools' simple tokenizer does,
    but keeping offsets."""
    return [Token(m.group(), m.start(), m.end()) for m in _WORD.finditer(folded)]


_ARABIC_LETTER = re.compile(r"[\u0621-\u064A\u0671-\u06D3]")
_LATIN_LETTER = re.compile(r"[A-Za-z]")


def detect_lang(text: str) -> str:
    """'ar' or 'en' by script, 'und' when the text has no letters of either."""
    arabic = len(_ARABIC_LETTER.findall(text[:2000]))
    latin = len(_LATIN_LETTER.findall(text[:2000]))
    if arabic == 0 and latin == 0:
        return "und"
    return "ar" if arabic >= latin else "en"
