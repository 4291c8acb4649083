from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

# Fixtures and skip rules shared with nothing else live in this file; those for the corpora, the
# broker, Prism and Chromium are in the installed evaluation package (the benchmarks use it too).
pytest_plugins = ["evaluation.pytest_plugin"]

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_FILE = SEEDS / "archive" / "000_bbfb08a4edcd8083.txt"


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


def read_jsonl(directory: Path, kind: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for shard in sorted(directory.glob(f"{kind}-*-of-*.jsonl")):
        records.extend(orjson.loads(line) for line in shard.read_bytes().splitlines() if line.strip())
    return records
