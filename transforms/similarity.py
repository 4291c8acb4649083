"""Text signatures for near-duplicate and same-story decisions. No Beam here.

- Near duplicates (a reprint, lightly edited): MinHash over word 3-shingles of the folded text.
- Same story (a rewrite of the same event): MinHash over the set of content words (folded,
  clitics stripped, function words and numbers left out), which survives rewording.

MinHash and LSH come from datasketch, a maintained implementation (banded LSH with tuned
band/row parameters) rather than code of our own. Signatures are kept as uint32 arrays
(datasketch's "affine32" scheme), 4 bytes per permutation. They are computed here with
datasketch's own hash function, permutations and arithmetic, bit for bit, but with each scheme's
permutations built once per process instead of once per MinHash object (datasketch draws them
again for every sketch, which cost more than the hashing), and the shingles' hashes shared by the
whole-text and lead sketches.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache

import numpy as np
from datasketch import MinHash

from transforms.matcher import arabic_stems
from transforms.text import NormalizedText, fold, tokenize_words

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
MAX_SHINGLE_SET = 3000
SAMPLE_EVERY = 8
_NUMBER = re.compile(r"\d+")
# A wire dateline ("دبي، الإمارات العربية المتحدة (CNN)--") opens every article of an outlet: it
# would make unrelated stories look alike.
_DATELINE = re.compile(r"^\s*[^\n()]{0,80}\((?:CNN|cnn|رويترز|أ ف ب|ا ف ب|د ب أ|وام|واس|سانا)\)\s*[-–—.:]*\s*")
# The day an event happened, as the lead says it: two reports of one event name the same day.
WEEKDAY_NAMES = ("الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد")
_WEEKDAYS = {fold(day): number for number, day in enumerate(WEEKDAY_NAMES)}


@dataclass(frozen=True, slots=True)
class Signature:
    """Everything the story index compares two articles by, computed once per article."""

    shingles: np.ndarray  # uint32[SHINGLE_PERMUTATIONS]: the whole text
    lead: np.ndarray  # uint32[LEAD_PERMUTATIONS]: its first LEAD_TOKENS words
    words: np.ndarray  # uint32[WORD_PERMUTATIONS]: its content words
    shingle_count: int  # texts too short to shingle are never near-duplicates of anything
    weekday: int | None = None  # the first weekday the lead names (0 = Monday)
    title_words: frozenset[int] = frozenset()  # CRC32 of the title's content words
    # The shingles' hashes, sorted (at most MAX_SHINGLE_SET): exact containment of one text in
    # another, the common shape of a wire copy cut or extended by another outlet.
    shingle_set: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint32))
    numbers: frozenset[int] = frozenset()  # numbers of the title and lead: a template's variables

    def shares_title_word(self, other: Signature) -> bool:
        """Headlines name the event; two reports of one story share at least one headline word."""
        return not self.title_words or not other.title_words or bool(self.title_words & other.title_words)

    @property
    def nbytes(self) -> int:
        """Memory held, for the story state's size metric."""
        return (
            self.shingles.nbytes
            + self.lead.nbytes
            + self.words.nbytes
            + self.shingle_set.nbytes
            + 8 * (len(self.title_words) + len(self.numbers))
        )

    def sampled_shingles(self) -> np.ndarray:
        """The shingle hashes kept for candidate lookup (about one in SAMPLE_EVERY): two texts
        that share a passage share its sampled shingles, however different their lengths."""
        sampled: np.ndarray = self.shingle_set[self.shingle_set % SAMPLE_EVERY == 0]
        return sampled


def containment(a: Signature, b: Signature) -> float:
    """The share of the shorter text's shingles found in the longer one (exact, on hashes)."""
    smaller = min(len(a.shingle_set), len(b.shingle_set))
    if not smaller:
        return 0.0
    shared = np.intersect1d(a.shingle_set, b.shingle_set, assume_unique=True)
    return len(shared) / smaller


@lru_cache(maxsize=50_000)  # word caches bound memory by the work, not by the vocabulary
def _content_stem(token: str) -> str | None:
    """A folded token's shortest clitic-free stem, or None for function words and numbers."""
    if token.isdigit() or token in STOPWORDS:
        return None
    stems = arabic_stems(token) if "\u0600" <= token[0] <= "\u06ff" else ((token, 0),)
    stem = min((s for s, _ in stems), key=len)
    return stem if len(stem) > 1 and stem not in STOPWORDS else None


def _content_words_of(words: Iterable[str]) -> list[str]:
    return [stem for word in words if (stem := _content_stem(word)) is not None]


def content_words(text: str) -> list[str]:
    """Folded tokens reduced to their shortest clitic-free stem, function words and numbers out."""
    return _content_words_of(NormalizedText(text).words)


@cache
def _permutations(permutations: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutations (seed 1), drawn once: (a, b) as uint32 arrays."""
    a, b = MinHash(num_perm=permutations, scheme=MINHASH_SCHEME).permutations
    return a.reshape(1, -1), b.reshape(1, -1)


def _item_hashes(items: Iterable[bytes]) -> np.ndarray:
    """datasketch's default hash (the first 4 bytes of SHA-1, little-endian), pre-mixed with the
    MurmurHash3 finalizer as its affine32 scheme does; uint32 column vector."""
    digests = b"".join(hashlib.sha1(item).digest()[:4] for item in items)
    hashes = np.frombuffer(digests, dtype="<u4").astype(np.uint32).reshape(-1, 1)
    hashes = hashes ^ (hashes >> np.uint32(16))
    hashes = hashes * np.uint32(0x85EBCA6B)
    hashes = hashes ^ (hashes >> np.uint32(13))
    hashes = hashes * np.uint32(0xC2B2AE35)
    return hashes ^ (hashes >> np.uint32(16))


def _minhash_of_hashes(hashes: np.ndarray, permutations: int) -> np.ndarray:
    if not len(hashes):
        return np.full(permutations, np.iinfo(np.uint32).max, dtype=np.uint32)
    a, b = _permutations(permutations)
    signature: np.ndarray = (hashes * a + b).min(axis=0)  # uint32 arithmetic wraps: the "mod 2^32" of the scheme
    return signature


def _minhash(items: Iterable[bytes], permutations: int) -> np.ndarray:
    """The hash values of ``MinHash(num_perm=permutations, scheme="affine32")`` after
    ``update_batch(items)``."""
    return _minhash_of_hashes(_item_hashes(items), permutations)


def _shingles(tokens: list[str]) -> set[bytes]:
    return {" ".join(tokens[i : i + SHINGLE_SIZE]).encode() for i in range(len(tokens) - SHINGLE_SIZE + 1)}


def strip_dateline(body: str) -> str:
    """The body without its dateline, which agencies repeat on unrelated stories."""
    return _DATELINE.sub("", body, count=1)


def lead_weekday(tokens: list[str]) -> int | None:
    """The first weekday the lead names: reports of different days are different stories."""
    for token in tokens[:LEAD_TOKENS]:
        for candidate in (token, token[1:]):  # وصباح الأحد، بالأحد
            if candidate in _WEEKDAYS:
                return _WEEKDAYS[candidate]
    return None


def _words_after(text: NormalizedText, original_offset: int) -> list[str]:
    """The words of ``text`` from an original offset on a word boundary (folding is character by
    character, so the folded rest is the rest folded)."""
    return text.words if not original_offset else tokenize_words(fold(text.original[original_offset:]))


def signature(
    title: str, body: str, title_text: NormalizedText | None = None, body_text: NormalizedText | None = None
) -> Signature:
    """Signatures of an article. ``title_text`` / ``body_text``: the fields' normalised texts when
    the caller has them already (their tokens are then shared with rule matching and events)."""
    title_text = title_text if title_text is not None else NormalizedText(title)
    body_text = body_text if body_text is not None else NormalizedText(body)
    dateline = _DATELINE.match(body)
    body_words = _words_after(body_text, dateline.end() if dateline else 0)
    has_body = bool(body[dateline.end() :] if dateline else body)
    tokens = body_words if has_body else title_text.words
    # Shingles in order of first occurrence: the lead's shingles are a prefix of them, so their
    # hashes are computed once for both sketches.
    positions = [" ".join(tokens[i : i + SHINGLE_SIZE]).encode() for i in range(len(tokens) - SHINGLE_SIZE + 1)]
    shingles = list(dict.fromkeys(positions))
    lead_count = len(set(positions[: max(0, min(len(tokens), LEAD_TOKENS) - SHINGLE_SIZE + 1)]))
    shingle_hashes = _item_hashes(shingles)
    title_words = _content_words_of(title_text.words)
    words = {w.encode() for w in title_words + _content_words_of(body_words)}
    return Signature(
        shingles=_minhash_of_hashes(shingle_hashes, SHINGLE_PERMUTATIONS),
        # A reprint keeps the lead; a follow-up that repeats the background paragraph does not.
        lead=_minhash_of_hashes(shingle_hashes[:lead_count], LEAD_PERMUTATIONS),
        words=_minhash(words, WORD_PERMUTATIONS),
        shingle_count=len(shingles),
        weekday=lead_weekday(tokens),
        title_words=frozenset(zlib.crc32(w.encode()) for w in title_words),
        shingle_set=np.unique(shingle_hashes[:MAX_SHINGLE_SET, 0]),
        numbers=frozenset(
            int(n) for n in _NUMBER.findall(title_text.text + " " + " ".join(tokens[:LEAD_TOKENS])) if len(n) <= 9
        ),
    )


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """The Jaccard similarity two MinHash signatures estimate (share of equal slots)."""
    return float(np.count_nonzero(a == b)) / len(a)


def as_minhash(values: np.ndarray) -> MinHash:
    """A datasketch MinHash over stored hash values, for its LSH index."""
    a, b = _permutations(len(values))
    return MinHash(hashvalues=values.astype(np.uint64), permutations=np.vstack([a, b]), scheme=MINHASH_SCHEME)
