"""The story index's LSH buckets: datasketch's ``MinHashLSH`` (same bands, same bucket keys, so the
same candidates), kept in a third of its memory.

Why not datasketch's own: its in-memory storage keeps a ``set`` per bucket and a list of keys per
article, about 14 KB an article for the two indexes the story index holds (measured with
tracemalloc on 3,000 ANT articles), which made the index most of a batch run's memory. Here a
bucket holding one article is that article's id, a list only when it holds more, and an article
keeps the tuple of its bucket keys for its removal.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from datasketch import MinHashLSH

_Bucket = str | list[str]  # one key, or a list of keys when several share the bucket


class BandIndex:
    """``MinHashLSH(threshold, num_perm)`` for ``insert`` / ``query`` / ``remove``: a query returns
    every key that shares at least one band with it, exactly as datasketch's does."""

    def __init__(self, threshold: float, num_perm: int) -> None:
        reference = MinHashLSH(threshold=threshold, num_perm=num_perm)  # its (b, r) choice, once
        self.b, self.r, self.h = reference.b, reference.r, num_perm
        self._ranges = [(start * 8, end * 8) for start, end in reference.hashranges]
        self._tables: list[dict[bytes, _Bucket]] = [{} for _ in self._ranges]
        self._keys: dict[str, tuple[bytes, ...]] = {}

    def _bands(self, minhash: Any) -> tuple[bytes, ...]:
        # datasketch's bucket key is the band's 64-bit hash values as bytes: equal keys, equal bands.
        values = np.asarray(getattr(minhash, "hashvalues", minhash))
        if len(values) != self.h:
            raise ValueError(f"Expecting minhash with length {self.h}, got {len(values)}")
        blob = values.astype(np.uint64).tobytes()
        return tuple(blob[start:end] for start, end in self._ranges)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def insert(self, key: str, minhash: Any) -> None:
        """Adds ``key`` with its MinHash (a datasketch MinHash or its hash values)."""
        if key in self._keys:
            raise ValueError("The given key already exists")
        bands = self._bands(minhash)
        self._keys[key] = bands
        for band, table in zip(bands, self._tables, strict=True):
            bucket = table.get(band)
            if bucket is None:
                table[band] = key
            elif isinstance(bucket, list):
                bucket.append(key)
            else:
                table[band] = [bucket, key]

    def query(self, minhash: Any) -> list[str]:
        """The keys sharing at least one band with ``minhash``, each once."""
        found: set[str] = set()
        for band, table in zip(self._bands(minhash), self._tables, strict=True):
            bucket = table.get(band)
            if bucket is None:
                continue
            if isinstance(bucket, list):
                found.update(bucket)
            else:
                found.add(bucket)
        return list(found)

    def remove(self, key: str) -> None:
        """Forgets ``key``; ValueError if it is not there."""
        bands = self._keys.pop(key, None)
        if bands is None:
            raise ValueError(f"The given key does not exist: {key!r}")
        for band, table in zip(bands, self._tables, strict=True):
            bucket = table[band]
            if isinstance(bucket, list):
                bucket.remove(key)
                if len(bucket) == 1:
                    table[band] = bucket[0]
            else:
                del table[band]
