"""A compiled, clitic-aware phrase matcher: the one piece of Arabic and English matching machinery
shared by alert rules, event triggers and gazetteers.

A phrase is a sequence of words written as a rule author would write them (a lemma or a surface
form). Matching runs on folded text (see ``transforms.text``): each text token is reduced to its
candidate stems (proclitics such as و ف ب ل ك ال س and their stacks stripped, enclitic pronouns
and number suffixes removed, ta-marbuta restored), and the stems are looked up in an index of the
phrases' words. Cost per article therefore grows with the number of tokens, not with the number
of phrases: only phrases whose first word occurs are ever checked.

Hamza-sensitive phrases (``strict_hamza``) also compare the token's lightly normalised form, which
keeps hamza, so that إرجاء ("postponement") does not fire on أرجاء ("throughout").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import product

from transforms.morphology import verb_forms
from transforms.text import NormalizedText, Token, fold, light, tokenize

_CONJUNCTIONS = ("", "و", "ف")
_PREPOSITIONS = ("", "ب", "ل", "ك", "س")  # س: the future prefix on verbs (سيؤجل)
_ARTICLE = ("", "ال")


def _proclitic_stacks() -> tuple[str, ...]:
    stacks = set()
    for conj, prep, art in product(_CONJUNCTIONS, _PREPOSITIONS, _ARTICLE):
        if prep == "س" and art:
            continue  # the future prefix never takes the article
        # ل + ال is written لل (للهدنة), never لال.
        stacks.add(conj + ("لل" if prep == "ل" and art else prep + art))
    stacks.discard("")
    return tuple(sorted(stacks, key=len, reverse=True))


PROCLITICS = _proclitic_stacks()
# What can stand before a verb: conjunctions, the future س and the ل of purpose, never ال ب ك.
VERB_PROCLITICS = frozenset({"", "و", "ف", "س", "وس", "فس", "ل", "ول", "فل"})
# Folded forms (ة is folded to ه): pronoun suffixes, longest first.
ENCLITICS = ("هما", "كما", "هم", "هن", "ها", "كم", "كن", "نا", "ني", "ه", "ك", "ي")
# Number suffixes; those that start with ت restore a ta-marbuta noun (هدنتين -> هدنه).
NUMBER_SUFFIXES = ("تين", "تان", "ات", "ين", "ان", "ون")
_MIN_STEM = 2
_ARABIC_RANGE = ("\u0600", "\u06ff")


def _is_arabic(word: str) -> bool:
    return bool(word) and _ARABIC_RANGE[0] <= word[0] <= _ARABIC_RANGE[1]


def _suffix_variants(stem: str) -> list[str]:
    variants = [stem]
    for enclitic in ENCLITICS:
        if stem.endswith(enclitic) and len(stem) - len(enclitic) >= _MIN_STEM:
            base = stem[: -len(enclitic)]
            variants.append(base)
            if base.endswith("ت"):  # ta-marbuta is written ت before a pronoun: هدنته
                variants.append(base[:-1] + "ه")
    for suffix in NUMBER_SUFFIXES:
        if stem.endswith(suffix) and len(stem) - len(suffix) >= _MIN_STEM:
            base = stem[: -len(suffix)]
            variants.append(base + "ه" if suffix.startswith("ت") or suffix == "ات" else base)
            if suffix == "ات":
                variants.append(base)
    if stem.endswith("ا") and len(stem) > _MIN_STEM + 1:  # accusative tanween: وقفاً لإطلاق النار
        variants.append(stem[:-1])
    return variants


# Word caches hold the frequent words (most of every text) and stay a few tens of MB: at 200,000
# entries they were a large part of a long batch run's memory, growing with the vocabulary read.
STEM_CACHE_SIZE = 50_000


@lru_cache(maxsize=STEM_CACHE_SIZE)
def arabic_stems(token: str) -> tuple[tuple[str, int], ...]:
    """Candidate stems of a folded Arabic token, each with the length of the proclitic removed.

    >>> ("هدنه", 3) in arabic_stems("بالهدنه")
    True
    """
    found: dict[str, int] = {}
    for variant in _suffix_variants(token):
        found.setdefault(variant, 0)
    for stack in PROCLITICS:
        if token.startswith(stack) and len(token) - len(stack) >= _MIN_STEM:
            for variant in _suffix_variants(token[len(stack) :]):
                found.setdefault(variant, len(stack))
    return tuple(found.items())


def english_forms(word: str) -> set[str]:
    """Inflected forms of an English rule word (postpone -> postponed, postponing, ...)."""
    forms = {word, word + "s", word + "es", word + "ed", word + "d", word + "ing", word + "ment", word + "ments"}
    if word.endswith("e"):
        forms.add(word[:-1] + "ing")
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        forms.update({word[:-1] + "ies", word[:-1] + "ied"})
    return forms


@dataclass(frozen=True, slots=True)
class Phrase:
    """One phrase to find. ``payload`` is whatever the caller needs back (a rule term, an actor).

    ``pos="verb"``: the first word is a verb lemma (أجّل) and matches all its forms (يؤجل، مؤجل،
    تأجيل ...; see ``transforms.morphology``). ``strict_hamza``: hamzas must be written as in the
    phrase (or its generated forms), so إرجاء does not match أرجاء.
    """

    payload: Hashable
    text: str
    strict_hamza: bool = False
    pos: str = "noun"
    exclude: frozenset[str] = frozenset()  # surface forms of the first word not to match (folded)
    proclitics: frozenset[str] | None = None  # allowed prefix stacks of the first word (None: any)


@dataclass(frozen=True, slots=True)
class PhraseHit:
    """Where a phrase was found (token numbers and folded offsets) and the payload it was given."""

    payload: Hashable
    phrase: str
    first_token: int
    last_token: int  # inclusive
    start: int  # folded offsets, whole tokens
    end: int


@dataclass(frozen=True, slots=True)
class _Word:
    forms: frozenset[str]  # folded forms that match
    light_forms: dict[str, tuple[str, ...]] | None  # folded form -> hamza-exact forms (strict)
    verbal: frozenset[str] = frozenset()  # folded verb forms: only VERB_PROCLITICS before them
    proclitics: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class _CompiledPhrase:
    payload: Hashable
    text: str
    words: tuple[_Word, ...]


def _compile_word(light_word: str, *, verb: bool, strict: bool, exclude: frozenset[str] = frozenset()) -> _Word:
    verbal: frozenset[str] = frozenset()
    if verb:
        verbal_forms, nominal_forms = verb_forms(light_word)
        light_forms = set(verbal_forms | nominal_forms)
        verbal = frozenset(fold(f) for f in verbal_forms) - {fold(f) for f in nominal_forms}
    elif _is_arabic(fold(light_word)):
        light_forms = {light_word}
    else:
        light_forms = english_forms(fold(light_word))
    by_fold: dict[str, list[str]] = {}
    for form in light_forms:
        if fold(form) not in exclude:
            by_fold.setdefault(fold(form), []).append(form)
    if not by_fold:
        raise ValueError(f"{light_word!r}: every form is excluded")
    return _Word(
        forms=frozenset(by_fold),
        light_forms={k: tuple(v) for k, v in by_fold.items()} if strict else None,
        verbal=verbal,
    )


class PhraseMatcher:
    """Finds every occurrence of a set of phrases in a text. Build once, reuse for every article."""

    def __init__(self, phrases: Iterable[Phrase]) -> None:
        self._phrases: list[_CompiledPhrase] = []
        # first-word form -> indexes of phrases that start with it
        self._index: dict[str, list[int]] = {}
        for phrase in phrases:
            # Verb lemmas keep their diacritics until analysed: the shadda tells form II (أجّل).
            source = phrase.text if phrase.pos == "verb" else light(phrase.text)
            light_words = [t.text for t in tokenize(light(phrase.text))]
            if not light_words:
                raise ValueError(f"phrase {phrase.text!r} has no words")
            exclude = frozenset(fold(form) for form in phrase.exclude)
            if phrase.pos == "verb":
                first = source.split()[0]
                words = [_compile_word(first, verb=True, strict=phrase.strict_hamza, exclude=exclude)]
            else:
                words = [_compile_word(light_words[0], verb=False, strict=phrase.strict_hamza, exclude=exclude)]
            if phrase.proclitics is not None:
                allowed = frozenset(fold(p) for p in phrase.proclitics) | {""}
                words[0] = dataclasses.replace(words[0], proclitics=allowed)
            words += [_compile_word(w, verb=False, strict=phrase.strict_hamza) for w in light_words[1:]]
            number = len(self._phrases)
            self._phrases.append(_CompiledPhrase(phrase.payload, phrase.text, tuple(words)))
            for form in words[0].forms:
                self._index.setdefault(form, []).append(number)
        # token text -> phrases that may start at it. Most tokens start none: after the first
        # sighting of a word, this one lookup is all it costs.
        self._candidates: dict[str, tuple[int, ...]] = {}

    def __len__(self) -> int:
        return len(self._phrases)

    @staticmethod
    def _stems(token: str) -> tuple[tuple[str, int], ...]:
        return arabic_stems(token) if _is_arabic(token) else ((token, 0),)

    def _word_matches(self, word: _Word, token: Token, light_text: str | None) -> bool:
        for stem, proclitic_length in self._stems(token.text):
            if stem not in word.forms:
                continue
            stack = token.text[:proclitic_length]
            if stem in word.verbal and stack not in VERB_PROCLITICS:
                continue  # a verb takes no article or preposition: الأجل, لأجل are not أجّل
            if word.proclitics is not None and stack not in word.proclitics:
                continue
            if word.light_forms is None or light_text is None:
                return True
            light_token = light_text[token.start + proclitic_length : token.end]
            if light_token.startswith(word.light_forms[stem]):
                return True
        return False

    _CANDIDATE_CACHE_SIZE = 100_000  # cleared when full: memory bounded, not growing with the vocabulary

    def _candidates_of(self, token: str) -> tuple[int, ...]:
        found: set[int] = set()
        for stem, _ in self._stems(token):
            found.update(self._index.get(stem, ()))
        candidates = tuple(sorted(found))
        if len(self._candidates) >= self._CANDIDATE_CACHE_SIZE:
            self._candidates.clear()  # a long-running worker's vocabulary keeps growing
        self._candidates[token] = candidates
        return candidates

    def find(self, text: NormalizedText, tokens: Sequence[Token] | None = None) -> list[PhraseHit]:
        """All phrase occurrences, in text order; overlapping hits of different phrases are kept."""
        cache = self._candidates
        if tokens is None:
            # Words first: most texts hold none of this matcher's phrases, and a string per word
            # is much cheaper than a Token.
            for word in text.words:
                candidates = cache.get(word)
                if candidates is None:
                    candidates = self._candidates_of(word)
                if candidates:
                    break
            else:
                return []
            tokens = text.tokens
        light_text = None
        hits: list[PhraseHit] = []
        for index, token in enumerate(tokens):
            candidates = cache.get(token.text)
            if candidates is None:
                candidates = self._candidates_of(token.text)
            if not candidates:
                continue
            if light_text is None:
                light_text = text.light_text
            for number in candidates:
                phrase = self._phrases[number]
                last = index + len(phrase.words) - 1
                if last >= len(tokens):
                    continue
                if all(
                    self._word_matches(word, tokens[index + offset], light_text)
                    for offset, word in enumerate(phrase.words)
                ):
                    hits.append(
                        PhraseHit(
                            payload=phrase.payload,
                            phrase=phrase.text,
                            first_token=index,
                            last_token=last,
                            start=token.start,
                            end=tokens[last].end,
                        )
                    )
        return hits
