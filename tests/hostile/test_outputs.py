"""Issue 20, failure 4: unwritable outputs are clear exit-2 errors, a failed run leaves the previous
outputs whole (and no staging or beam-temp folder), a batch run removes only files a batch run
wrote, and `marsad report` reads only the files a run lists in its summary.json."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

import pipelines.batch
from pipelines.cli import main

from ..conftest import SEED_FILE, read_jsonl
from .records import alert

WINDOW_FILE = "alerts-2024-05-01T10:00:00-2024-05-01T10:05:00-00000-of-00001.jsonl"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.parent.iterdir() if ".marsad-staging-" in p.name] + [
        p.name for p in folder.rglob("beam-temp-*")
    ]


@contextlib.contextmanager
def mounted_tmpfs(where: Path, options: str) -> Iterator[bool]:
    """A small (or read-only) disk when we may mount one (root); False otherwise."""
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
    try:
        yield done.returncode == 0
    finally:
        if done.returncode == 0:
            subprocess.run(["umount", "-l", str(where)], check=False)


def many_articles(path: Path, count: int) -> None:
    body = SEED_FILE.read_text(encoding="utf-8")
    path.write_bytes(
        b"".join(orjson.dumps({"id": f"n{i}", "title": f"t{i}", "body": f"{i} {body}"}) + b"\n" for i in range(count))
    )


def test_output_that_is_a_file_is_a_usage_error(tmp_path, capsys):
    target = tmp_path / "out"
    target.write_text("not a folder")
    assert main(["run", "--output", str(target)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_read_only_output_is_a_usage_error(tmp_path, capsys):
    with mounted_tmpfs(tmp_path / "ro", "size=1m,ro") as mounted:
        if not mounted:
            (tmp_path / "ro").chmod(0o555)
            if os.access(tmp_path / "ro", os.W_OK):
                pytest.skip("cannot make a read-only folder here")
        assert main(["run", "--output", str(tmp_path / "ro" / "out")]) == 2
        assert "not writable" in capsys.readouterr().err


def test_a_full_disk_keeps_the_previous_outputs(tmp_path, capsys, monkeypatch):
    small = tmp_path / "disk"
    with mounted_tmpfs(small, "size=1m") as mounted:
        out = small / "out"
        assert main(["run", "--output", str(out)]) == 0
        before = snapshot(out)
        inputs = tmp_path / "many.jsonl"
        many_articles(inputs, 300)  # several MB of outputs on a 1 MB disk
        if not mounted:  # no root: the disk fills as the run ends

            def full(*_args: object) -> None:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

            monkeypatch.setattr(pipelines.batch, "summary_from_metrics", full)
        capsys.readouterr()
        assert main(["run", "--input", str(inputs), "--output", str(out)]) == 2
        assert "No space left on device" in capsys.readouterr().err
        assert snapshot(out) == before
        assert leftovers(out) == []


def test_a_batch_run_keeps_window_files_it_did_not_write(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / WINDOW_FILE).write_bytes(orjson.dumps(alert("al-w", "r", "a1")) + b"\n")
    assert main(["run", "--output", str(out)]) == 0
    assert main(["run", "--output", str(out)]) == 0
    assert (out / WINDOW_FILE).exists() and leftovers(out) == []
    assert len(read_jsonl(out, "articles")) == 1


def test_report_reads_only_the_files_its_run_wrote(tmp_path):
    out = tmp_path / "out"
    assert main(["run", "--output", str(out)]) == 0
    (out / "alerts-stray.jsonl").write_bytes(orjson.dumps(alert("al-stray", "stray", "a1")) + b"\n")
    assert main(["report", str(out)]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "al-stray" not in page and page.count('"alert_id"') == 3
