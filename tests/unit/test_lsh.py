"""The story index's LSH buckets give datasketch's candidates exactly (transforms/lsh.py)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from datasketch import MinHashLSH

from transforms.lsh import BandIndex
from transforms.similarity import as_minhash


@pytest.mark.parametrize(("threshold", "num_perm"), [(0.5, 128), (0.2, 64)])
def test_same_candidates_as_datasketch_through_inserts_and_removals(threshold: float, num_perm: int) -> None:
    rng = random.Random(7)
    ours, theirs = BandIndex(threshold, num_perm), MinHashLSH(threshold=threshold, num_perm=num_perm)
    # Few distinct values, so that bands collide often and buckets hold several keys.
    signatures = {f"a{i}": np.array([rng.randrange(3) for _ in range(num_perm)], dtype=np.uint32) for i in range(300)}
    live: list[str] = []
    for step, (key, values) in enumerate(signatures.items()):
        ours.insert(key, as_minhash(values))
        theirs.insert(key, as_minhash(values))
        live.append(key)
        if step % 3 == 2:
            gone = live.pop(rng.randrange(len(live)))
            ours.remove(gone)
            theirs.remove(gone)
        probe = as_minhash(signatures[rng.choice(list(signatures))])
        assert sorted(ours.query(probe)) == sorted(theirs.query(probe))
    assert len(ours) == len(live)


def test_duplicate_and_missing_keys_are_refused() -> None:
    index = BandIndex(0.5, 128)
    values = np.arange(128, dtype=np.uint32)
    index.insert("a", values)
    with pytest.raises(ValueError, match="already exists"):
        index.insert("a", values)
    index.remove("a")
    with pytest.raises(ValueError, match="does not exist"):
        index.remove("a")
    with pytest.raises(ValueError, match="length 128"):
        index.query(np.arange(64, dtype=np.uint32))
