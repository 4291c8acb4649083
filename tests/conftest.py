from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_FILE = SEEDS / "archive" / "000_bbfb08a4edcd8083.txt"
CORPUS = ROOT.parent / "shared" / "corpora" / "ant_multisource.jsonl.gz"


@pytest.fixture(scope="session")
def seed_text() -> str:
    return SEED_FILE.read_text(encoding="utf-8").strip()


@pytest.fixture(scope="session")
def corpus_path() -> Path:
    if not CORPUS.exists():
        pytest.skip(f"corpus not present at {CORPUS}")
    return CORPUS


def iter_corpus(path: Path) -> Iterator[dict]:
    with gzip.open(path, "rb") as handle:
        for line in handle:
            yield orjson.loads(line)


def read_jsonl(directory: Path, kind: str) -> list[dict]:
    records = []
    for shard in sorted(directory.glob(f"{kind}-*-of-*.jsonl")):
        records.extend(orjson.loads(line) for line in shard.read_bytes().splitlines() if line.strip())
    return records
