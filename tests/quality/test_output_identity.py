"""Refactors keep outputs byte-identical: digests of `marsad run` on the seed and on a fixed
1,000-article corpus sample, recorded before the house moved (tests/golden/output_digests.json).

Wall-clock fields are blanked and lines sorted, so only what the pipeline decides is compared.
Re-record only when a change is meant to alter outputs, and say so in the commit."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from evaluation.corpora import CORPORA_DIR as CORPORA

ROOT = Path(__file__).resolve().parents[2]
DIGESTS = json.loads((ROOT / "tests" / "golden" / "output_digests.json").read_text())
WALL_CLOCK = re.compile(rb'"(detected_at|processed_at|written_at)":"[^"]*"')
INPUT_FOLDER = re.compile(rb'"file":"[^"]*/')  # where the input sat is not what the pipeline decides
# corpus -> (every n-th line, how many): all three eras, 1,000 articles in all
SAMPLE = {"ant_multisource": (20, 400), "saudinewsnet": (50, 400), "aljazeera_palestine_ledes": (20, 200)}


def draw_sample(out: Path) -> None:
    with out.open("wb") as sink:
        for name, (step, count) in SAMPLE.items():
            with gzip.open(CORPORA / f"{name}.jsonl.gz", "rb") as corpus:
                for line in itertools.islice(itertools.islice(corpus, 0, None, step), count):
                    sink.write(line)


def digest(folder: Path) -> dict[str, list]:
    result: dict[str, list] = {}
    for kind in ("articles", "alerts", "events", "deadletter"):
        lines = []
        for path in sorted(folder.glob(f"{kind}-*.jsonl")):
            lines += [
                INPUT_FOLDER.sub(b'"file":"', WALL_CLOCK.sub(rb'"\1":""', line))
                for line in path.read_bytes().splitlines()
                if line
            ]
        result[kind] = [len(lines), hashlib.sha256(b"\n".join(sorted(lines))).hexdigest()]
    return result


def run(tmp_path: Path, *inputs: str) -> dict[str, list]:
    out = tmp_path / "out"
    args = [str(Path(sys.executable).parent / "marsad"), "run", "--output", str(out)]
    if inputs:
        args += ["--input", *inputs]
    subprocess.run(args, cwd=ROOT, check=True, capture_output=True)
    return digest(out)


def test_seed_outputs_are_unchanged(tmp_path: Path) -> None:
    assert run(tmp_path) == DIGESTS["seed"]


@pytest.mark.corpus
@pytest.mark.skipif(not CORPORA.is_dir(), reason="../shared/corpora not present")
def test_corpus_sample_outputs_are_unchanged(tmp_path: Path) -> None:
    sample = tmp_path / "sample.jsonl"
    draw_sample(sample)
    assert run(tmp_path, str(sample)) == DIGESTS["corpus_sample_1000"]
