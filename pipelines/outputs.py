"""A batch run's output folder: checked before the run, never read as input, and replaced only by a
run that succeeded (the previous outputs stay whole on any failure)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import orjson

from schemas.records import OUTPUT_KINDS

SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.html"
STAGING_PREFIX = ".marsad-staging-"
# What a batch run wrote before runs listed their files in summary.json: its shards, no window files.
_OLD_BATCH_SHARD = re.compile(rf"({'|'.join(OUTPUT_KINDS)})-\d{{5}}-of-\d{{5}}\.jsonl")
_OUTPUT_NAME = re.compile(rf"({'|'.join(OUTPUT_KINDS)})-.*\.jsonl")


class OutputError(ValueError):
    """An --output folder that cannot be written (a file, read-only, a full disk)."""


def check_output_dir(output_dir: str) -> Path:
    """The output folder, refused up front when it is a file or its place cannot be written."""
    target = Path(output_dir)
    if target.exists() and not target.is_dir():
        raise OutputError(f"--output {output_dir}: is a file, not a folder")
    existing = target if target.exists() else next((p for p in target.absolute().parents if p.exists()), Path("/"))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"--output {output_dir}: {existing} is not writable")
    if target.exists() and not os.access(target.absolute().parent, os.W_OK | os.X_OK):
        raise OutputError(f"--output {output_dir}: its parent folder is not writable (the run stages beside it)")
    return target


def split_own_outputs(files: list[str], target: Path) -> tuple[list[str], list[str]]:
    """(inputs, skipped): files in the output folder that marsad writes there (its shards, window
    files, summary.json, report.html) or in a staging folder beside it are never read as articles."""
    folder = os.path.realpath(target)
    inputs: list[str] = []
    own: list[str] = []
    for path in files:
        real = os.path.realpath(path)
        directory, name = os.path.split(real)
        ours = directory == folder and (name in (SUMMARY_FILE, REPORT_FILE) or _OUTPUT_NAME.fullmatch(name))
        staged = os.path.basename(directory).startswith(STAGING_PREFIX) or f"{os.sep}{STAGING_PREFIX}" in real
        (own if ours or staged else inputs).append(path)
    return inputs, own


def previous_outputs(target: Path) -> list[Path]:
    """The files the previous batch run wrote: its manifest, or (older runs) its shard names."""
    try:
        listed = orjson.loads((target / SUMMARY_FILE).read_bytes()).get("files")
    except (OSError, orjson.JSONDecodeError, AttributeError):
        listed = None
    if isinstance(listed, list) and all(isinstance(name, str) and os.sep not in name for name in listed):
        return [target / name for name in listed if _OUTPUT_NAME.fullmatch(name)]
    return [p for p in target.iterdir() if _OLD_BATCH_SHARD.fullmatch(p.name)] if target.is_dir() else []


def swap_in(staging: Path, target: Path, names: list[str]) -> None:
    """Replace the previous run's files in ``target`` with ``names`` from ``staging`` (renames on one
    disk: no space is needed, so a full disk cannot leave half of each run)."""
    keep = set(names)
    for old in previous_outputs(target):
        if old.name not in keep:
            old.unlink(missing_ok=True)
    for name in names:
        os.replace(staging / name, target / name)
