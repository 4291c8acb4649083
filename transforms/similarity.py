"""Text signatures for near-duplicate and same-story decisions. No Beam here.

- Near duplicates (a reprint, lightly edited): MinHash over word 3-shingles of the folded text.
- Same story (a rewrite of the same event): MinHash over the set of content words (folded,
  clitics stripped, function words and numbers left out), which survives rewording.

MinHash and LSH come from datasketch, a maintained implementation (vectorised hashing, banded
LSH with tuned band/row parameters) rather than code of our own. Signatures are kept as uint32
arrays (datasketch's hash values fit in 32 bits), 4 bytes per permutation.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash

from transforms.matcher import arabic_stems
from transforms.text import fold, tokenize

SHINGLE_PERMUTATIONS = 128
WORD_PERMUTATIONS = 64
LEAD_PERMUTATIONS = 32
SHINGLE_SIZE = 3
MINHASH_SCHEME = "affine32"  # 32-bit hash values: stored as uint32

# Function words of Arabic news (folded): they say nothing about which event a text is about.
STOPWORDS = frozenset(
    fold(w)
    for w in """في من على الى إلى عن مع ان أن إن كان كانت التي الذي الذين وقال قال وقالت قالت واضاف وأضاف
    هذا هذه ذلك تلك بين بعد قبل حتى او أو ثم لم لن لا ما كما وفي ومن وعلى عند منذ خلال حول ضد دون غير
    اليوم امس أمس وكان وهو وهي هو هي هم انه أنه إنه انها أنها إنها كل بعض اي أي وذلك اذا إذا قد وقد
    لكن ولكن الا إلا عام العام مساء صباح يوم الاثنين الثلاثاء الاربعاء الخميس الجمعة السبت الاحد
    وكالة رويترز فرانس برس بحسب وفق نحو أكثر اكثر اخرى أخرى عليه عليها فيه فيها به بها له لها""".split()  # noqa: SIM905
)


LEAD_TOKENS = 60
# A wire dateline ("دبي، الإمارات العربية المتحدة (CNN)--") opens every article of an outlet: it
# would make unrelated stories look alike.
_DATELINE = re.compile(r"^\s*[^\n()]{0,80}\((?:CNN|cnn|رويترز|أ ف ب|ا ف ب|د ب أ|وام|واس|سانا)\)\s*[-–—.:]*\s*")
# The day an event happened, as the lead says it: two reports of one event name the same day.
WEEKDAY_NAMES = ("الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد")
_WEEKDAYS = {fold(day): number for number, day in enumerate(WEEKDAY_NAMES)}


@dataclass(frozen=True, slots=True)
class Signature:
    shingles: np.ndarray  # uint32[SHINGLE_PERMUTATIONS]: the whole text
    lead: np.ndarray  # uint32[LEAD_PERMUTATIONS]: its first LEAD_TOKENS words
    words: np.ndarray  # uint32[WORD_PERMUTATIONS]: its content words
    shingle_count: int  # texts too short to shingle are never near-duplicates of anything
    weekday: int | None = None  # the first weekday the lead names (0 = Monday)
    title_words: frozenset[int] = frozenset()  # CRC32 of the title's content words

    def shares_title_word(self, other: Signature) -> bool:
        """Headlines name the event; two reports of one story share at least one headline word."""
        return not self.title_words or not other.title_words or bool(self.title_words & other.title_words)

    @property
    def nbytes(self) -> int:
        return self.shingles.nbytes + self.lead.nbytes + self.words.nbytes + 8 * len(self.title_words)


def content_words(text: str) -> list[str]:
    """Folded tokens reduced to their shortest clitic-free stem, function words and numbers out."""
    words = []
    for token in tokenize(fold(text)):
        if token.text.isdigit() or token.text in STOPWORDS:
            continue
        stems = arabic_stems(token.text) if "\u0600" <= token.text[0] <= "\u06ff" else ((token.text, 0),)
        stem = min((s for s, _ in stems), key=len)
        if len(stem) > 1 and stem not in STOPWORDS:
            words.append(stem)
    return words


def _minhash(items: list[bytes], permutations: int) -> np.ndarray:
    minhash = MinHash(num_perm=permutations, scheme=MINHASH_SCHEME)
    if items:
        minhash.update_batch(items)
    return minhash.hashvalues.astype(np.uint32)


def _shingles(tokens: list[str]) -> set[bytes]:
    return {" ".join(tokens[i : i + SHINGLE_SIZE]).encode() for i in range(len(tokens) - SHINGLE_SIZE + 1)}


def strip_dateline(body: str) -> str:
    return _DATELINE.sub("", body, count=1)


def lead_weekday(tokens: list[str]) -> int | None:
    for token in tokens[:LEAD_TOKENS]:
        for candidate in (token, token[1:]):  # وصباح الأحد، بالأحد
            if candidate in _WEEKDAYS:
                return _WEEKDAYS[candidate]
    return None


def signature(title: str, body: str) -> Signature:
    body = strip_dateline(body)
    tokens = [t.text for t in tokenize(fold(body or title))]
    shingles = _shingles(tokens)
    words = {w.encode() for w in content_words(title + "\n" + body)}
    return Signature(
        shingles=_minhash(sorted(shingles), SHINGLE_PERMUTATIONS),
        # A reprint keeps the lead; a follow-up that repeats the background paragraph does not.
        lead=_minhash(sorted(_shingles(tokens[:LEAD_TOKENS])), LEAD_PERMUTATIONS),
        words=_minhash(sorted(words), WORD_PERMUTATIONS),
        shingle_count=len(shingles),
        weekday=lead_weekday(tokens),
        title_words=frozenset(zlib.crc32(w.encode()) for w in content_words(title)),
    )


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.count_nonzero(a == b)) / len(a)


def as_minhash(values: np.ndarray) -> MinHash:
    """A datasketch MinHash over stored hash values, for its LSH index."""
    return MinHash(num_perm=len(values), hashvalues=values.astype(np.uint64), scheme=MINHASH_SCHEME)
