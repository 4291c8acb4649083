"""Issue 20, failure 2: input files are read in bounded memory; an oversized line, element or file
is a ``too_large`` dead letter holding its start, and reading goes on at the next record."""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
import zlib
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.deadletters import RAW_KEPT_CHARS
from schemas.records import DeadLetter, RawRecord
from transforms.io.files.reader import read_file

LIMIT = 10_000


def article(n: int, body: str = "body") -> dict:
    return {"id": f"a{n}", "title": "t", "body": body, "published": "2024-05-01T10:00:00Z"}


def lines(*records: dict | bytes) -> bytes:
    return b"".join((r if isinstance(r, bytes) else orjson.dumps(r)) + b"\n" for r in records)


def check_too_large(dead: RawRecord | DeadLetter, size: int) -> None:
    assert isinstance(dead, DeadLetter) and dead.reason.startswith("too_large")
    assert dead.origin["size_bytes"] == size and dead.raw is not None and len(dead.raw) == RAW_KEPT_CHARS


def test_an_oversized_line_is_cut_off_and_reading_goes_on(tmp_path):
    big = orjson.dumps(article(2, "ب" * 200_000))
    for name, write in (("a.jsonl", Path.write_bytes), ("a.jsonl.gz", lambda p, d: p.write_bytes(gzip.compress(d)))):
        path = tmp_path / name
        write(path, lines(article(1), big, article(3)))
        first, dead, last = read_file(str(path), LIMIT)
        assert isinstance(first, RawRecord) and isinstance(last, RawRecord)
        assert orjson.loads(last.payload)["id"] == "a3" and last.origin["line"] == 3
        check_too_large(dead, len(big))
        assert dead.origin["line"] == 2


def test_json_arrays_are_streamed_element_by_element(tmp_path):
    path = tmp_path / "a.json.gz"
    document = [article(0), article(1, "x" * 50_000), article(2)]
    path.write_bytes(gzip.compress(orjson.dumps(document)))
    first, dead, last = read_file(str(path), LIMIT)
    assert [first.origin["index"], dead.origin["index"], last.origin["index"]] == [0, 1, 2]
    check_too_large(dead, len(orjson.dumps(document[1])))
    assert last.payload == orjson.dumps(document[2]).decode()


def test_a_truncated_json_file_is_a_small_dead_letter(tmp_path):
    array = tmp_path / "array.json"
    array.write_bytes(orjson.dumps([article(0)] + [article(n, "y" * 5000) for n in range(1, 200)])[:600_000])
    records = list(read_file(str(array), LIMIT))
    assert all(isinstance(r, RawRecord) for r in records[:-1]) and len(records) > 100
    dead = records[-1]
    assert isinstance(dead, DeadLetter) and "truncated" in dead.reason
    assert len(dead.to_json()) < 4 * RAW_KEPT_CHARS
    single = tmp_path / "one.json"
    single.write_bytes(orjson.dumps(article(0, "z" * 600_000))[:-10])
    (dead,) = read_file(str(single), LIMIT)
    check_too_large(dead, single.stat().st_size)


def test_a_corrupted_gzip_keeps_the_records_before_the_fault(tmp_path):
    path = tmp_path / "a.jsonl.gz"
    data = gzip.compress(lines(*(article(n, f"text {n} " * 50) for n in range(200))))
    path.write_bytes(data[: len(data) // 2])
    records = list(read_file(str(path), LIMIT))
    assert isinstance(records[-1], DeadLetter) and "cannot read file after line" in records[-1].reason
    assert all(isinstance(r, RawRecord) for r in records[:-1]) and records[:-1]


BOMB = """
import gzip, resource, sys
from transforms.io.files.reader import read_file
path, limit = sys.argv[1], int(sys.argv[2])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
records = list(read_file(path, limit))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(len(records), records[0].reason.split(":")[0], records[0].origin["size_bytes"], (after - before) // 1024)
"""


def test_a_gzip_bomb_of_one_line_reads_in_bounded_memory(tmp_path):
    """64 MiB of one line, 64 KB on disk: before, the whole line was held (and decoded)."""
    size = 64 << 20
    path = tmp_path / "bomb.jsonl.gz"
    with gzip.open(path, "wb", compresslevel=1) as sink:
        sink.write(b'{"id":"bomb","body":"')
        for _ in range(64):
            sink.write(b"0" * (1 << 20))
    result = subprocess.run(
        [sys.executable, "-c", BOMB, str(path), "100000"], capture_output=True, text=True, timeout=120, check=True
    )
    count, reason, seen, grown_mib = result.stdout.split()
    assert (count, reason, int(seen)) == ("1", "too_large", size + 21)
    assert int(grown_mib) < 16, f"peak RSS grew by {grown_mib} MiB reading a {size >> 20} MiB line"


FORMATS = ["a.jsonl", "a.jsonl.gz", "a.json", "a.json.gz", "a.txt", "a.txt.gz"]


def encode(name: str, data: bytes) -> bytes:
    return gzip.compress(data, mtime=0) if name.endswith(".gz") else data


@st.composite
def damaged_file(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(FORMATS))
    records = draw(st.lists(st.builds(article, st.integers(0, 99), st.text(max_size=300)), max_size=6))
    plain = orjson.dumps(records) if ".json." in name + "." and "jsonl" not in name else lines(*records)
    data = bytearray(encode(name, plain))
    damage = draw(st.sampled_from(["truncate", "flip", "insert", "none"]))
    if data and damage == "truncate":
        del data[draw(st.integers(0, len(data) - 1)) :]
    elif data and damage == "flip":
        for _ in range(draw(st.integers(1, 4))):
            data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
    elif damage == "insert":
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.sampled_from([b"\n", b"[", b"]", b",", b'"', b"\\", b"\xff", b"{", b"}", b"\x00"]))
    return name, bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(damaged_file(), st.integers(20, 2000))
def test_fuzz_damaged_files_never_raise(tmp_path, file, limit):
    name, data = file
    path = tmp_path / name
    path.write_bytes(data)
    out = list(read_file(str(path), limit))  # no exception escapes
    for item in out:
        assert isinstance(item, RawRecord | DeadLetter)
        if isinstance(item, DeadLetter) and item.raw is not None:
            assert len(item.raw) <= max(limit + 3, RAW_KEPT_CHARS)
    if name == "a.jsonl":
        # Every non-blank line is one record or one dead letter: nothing dropped, nothing doubled.
        assert len(out) == sum(1 for line in data.split(b"\n") if line.strip())
    elif name == "a.txt":
        assert len(out) == 1
    elif not name.endswith(".gz"):
        assert out or re.fullmatch(rb"\s*(\[\s*\])?\s*", data)  # only an empty array says nothing


def test_fuzz_zlib_is_caught_too(tmp_path):
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + zlib.compress(b"x" * 100)[2:])
    (dead,) = read_file(str(path), LIMIT)
    assert isinstance(dead, DeadLetter) and dead.reason.startswith("cannot read file")
