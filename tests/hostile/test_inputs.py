"""Issue 20, failure 5 (and 4's own-output reads): inputs named twice or reached through directory
links are read once, globs never loop, FIFOs and devices are refused, outputs are never inputs."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson

from pipelines.cli import main
from transforms.io.files.reader import expand_inputs

from ..conftest import read_jsonl


def write_articles(path, count: int = 3) -> None:
    records = [{"id": f"n{i}", "title": f"title {i}", "body": f"body number {i} " * 20} for i in range(count)]
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))


def test_the_same_file_named_twice_is_read_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_articles(tmp_path / "a.jsonl")
    os.symlink("a.jsonl", tmp_path / "link.jsonl")
    files, _ = expand_inputs(["a.jsonl", "./a.jsonl", str(tmp_path / "a.jsonl"), "link.jsonl"])
    assert files == ["a.jsonl"]


def test_a_recursive_glob_through_a_link_to_its_own_folder_reads_each_file_once(tmp_path):
    (tmp_path / "d").mkdir()
    write_articles(tmp_path / "d" / "a.jsonl")
    (tmp_path / "d" / "sub").mkdir()
    write_articles(tmp_path / "d" / "sub" / "b.jsonl")
    os.symlink(".", tmp_path / "d" / "self")
    files, _ = expand_inputs([str(tmp_path / "d" / "**" / "*.jsonl")])
    assert files == [str(tmp_path / "d" / "a.jsonl"), str(tmp_path / "d" / "sub" / "b.jsonl")]
    assert expand_inputs([str(tmp_path / "d")])[0] == files


def test_a_recursive_glob_through_two_loops_ends(tmp_path):
    for name in ("x", "y"):
        (tmp_path / name).mkdir()
    os.symlink("../y", tmp_path / "x" / "to-y")
    os.symlink("../x", tmp_path / "y" / "to-x")
    write_articles(tmp_path / "x" / "a.jsonl")
    pattern = str(tmp_path / "**" / "*.jsonl")
    code = f"from transforms.io.files.reader import expand_inputs; print(expand_inputs([{pattern!r}])[0])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == repr([str(tmp_path / "x" / "a.jsonl")])


def test_fifos_and_devices_are_refused_with_a_message(tmp_path, capsys):
    fifo = tmp_path / "feed.jsonl"
    os.mkfifo(fifo)
    assert main(["run", "--input", str(fifo), "--output", str(tmp_path / "out")]) == 2
    assert "is a FIFO, not a regular file" in capsys.readouterr().err
    device = tmp_path / "zero.jsonl"
    os.symlink("/dev/zero", device)
    assert main(["run", "--input", str(device), "--output", str(tmp_path / "out")]) == 2
    assert "is a device, not a regular file" in capsys.readouterr().err


def test_the_output_folder_is_never_read_as_input(tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    write_articles(folder / "in.jsonl")
    for _ in range(2):
        assert main(["run", "--input", str(folder), "--output", str(folder)]) == 0
        summary = orjson.loads((folder / "summary.json").read_bytes())
        assert (summary["read"], summary["dead_letters"]) == (3, 0)
    assert len(read_jsonl(folder, "articles")) == 3
