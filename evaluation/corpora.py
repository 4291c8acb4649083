"""Where the corpora and labelled sets live, and how their records are read back by id.

The corpus text is not part of the project (``../shared/corpora``, beside the checkout); the
labelled sets keep only ids, labels and short snippets, so every consumer joins them back here.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPORA_DIR = SHARED / "corpora"
CORPORA = {
    "ant": "ant_multisource.jsonl.gz",
    "snn": "saudinewsnet.jsonl.gz",
    "aj": "aljazeera_palestine_ledes.jsonl.gz",
}
ANT = CORPORA_DIR / CORPORA["ant"]
DEVSETS = ROOT / "tests" / "devsets"
HELDOUT_DIR = DEVSETS / "heldout"
PLOVER_PROTEST = SHARED / "devsets" / "plover_protest_gsr.jsonl"


def corpus_of(article_id: str) -> str:
    """The short corpus name an article id belongs to (ids carry their corpus as a prefix)."""
    return "ant" if article_id.startswith("ant-") else "snn" if article_id.startswith("snn-") else "aj"


def iter_corpus(name: str) -> Iterator[dict[str, Any]]:
    """Every record of one corpus, in file order, without holding the file in memory."""
    path = CORPORA_DIR / CORPORA[name]
    with gzip.open(path, "rb") as handle:
        for line in handle:
            yield orjson.loads(line)


def corpora_present() -> bool:
    """Whether all three corpora are beside the checkout (tests skip without them)."""
    return all((CORPORA_DIR / file).exists() for file in CORPORA.values())


def load_articles(ids: set[str]) -> dict[str, dict[str, Any]]:
    """The corpus records of these ids (only the corpora that hold some of them are read)."""
    found: dict[str, dict[str, Any]] = {}
    for name in sorted({corpus_of(i) for i in ids}):
        for record in iter_corpus(name):
            if record["id"] in ids:
                found[record["id"]] = record
    missing = ids - set(found)
    if missing:
        raise SystemExit(f"{len(missing)} labelled articles are missing from {CORPORA_DIR}: {sorted(missing)[:5]}")
    return found


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """A labelled set's rows (blank lines skipped)."""
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
