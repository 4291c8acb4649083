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


# Markers by folder: `make check` deselects every marked test, so a test that needs a service or
# the corpora is skipped there even when its file forgets the marker. tests/unit/ carries no folder
# marker; its few tests that need a service or the corpora carry their own.
FOLDER_MARKERS = {"integration": ("slow",), "browser": ("browser",), "quality": ("corpus",)}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests = Path(__file__).resolve().parent
    for item in items:
        folder = item.path.resolve().relative_to(tests).parts[0]
        for marker in FOLDER_MARKERS.get(folder, ()):
            item.add_marker(marker)
        if "corpus_path" in getattr(item, "fixturenames", ()):
            item.add_marker("corpus")


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
