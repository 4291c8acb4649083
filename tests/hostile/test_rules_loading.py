"""Issue 20, failure 3: a rules, trigger or gazetteer file cannot hang or crash the loader; every
refusal is exit 2 with one short line naming the file, the rule and the field."""

from __future__ import annotations

import time

import pytest

from pipelines.cli import main
from transforms.rules import load_rules

RULE = "rules:\n- id: truce\n  terms:\n    ar:\n    - {text: هدنة, weight: WEIGHT}\n"
LEVELS = "".join(f"{c}: &{c} [" + ", ".join([f"*{p}"] * 9) + "]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))
BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + LEVELS

PROBES = {
    "bomb_as_term": (BOMB + "rules:\n- id: r\n  terms: {ar: *i}\n", "aliases expand to more than"),
    "bomb_as_rules": (BOMB + "rules: *i\n", "aliases expand to more than"),
    "deep": ("rules:\n- id: deep\n  terms: " + "[" * 1000 + "]" * 1000 + "\n", "nested deeper than"),
    "digits": (
        "rules:\n- id: big\n  threshold: " + "9" * 5000 + "\n  terms: {ar: [x]}\n",
        "rule 'big', field 'threshold'",
    ),
    "nan": (RULE.replace("WEIGHT", ".nan"), "rule 'truce', field 'terms.ar[0].weight': '.nan' is not a finite"),
    "inf": (RULE.replace("WEIGHT", ".inf"), "rule 'truce', field 'terms.ar[0].weight': '.inf' is not a finite"),
    "huge": (RULE.replace("WEIGHT", "1.0e+300"), "rule 'truce', field 'terms.ar.0'"),
    "duplicate": (
        "rules:\n- id: a\n  severity: high\n  severity: low\n  terms: {ar: [x]}\n",
        "key 'severity' is written twice",
    ),
    "recursive": ("rules: &r [*r]\n", "refers to the value that contains it"),
}


def refusal(capsys, argv: list[str]) -> str:
    started = time.monotonic()
    assert main(argv) == 2
    assert time.monotonic() - started < 20
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and len(error) < 400, error[:1000]
    return error


@pytest.mark.parametrize("probe", sorted(PROBES))
def test_a_hostile_rules_file_is_one_short_error(tmp_path, capsys, probe):
    text, expected = PROBES[probe]
    rules = tmp_path / "rules.yaml"
    rules.write_text(text, encoding="utf-8")
    error = refusal(capsys, ["rules", "test", str(rules), "--text", "هدنة"])
    assert error.startswith(f"marsad: {rules}: ") and expected in error


def test_a_rules_file_that_is_not_utf8(tmp_path, capsys):
    rules = tmp_path / "rules.yaml"
    rules.write_bytes("rules:\n- id: r\n  terms: {ar: [هدنة]}\n".encode("cp1256"))
    error = refusal(capsys, ["run", "--rules", str(rules), "--output", str(tmp_path / "out")])
    assert "is not UTF-8 text (byte 0x" in error and str(rules) in error


def test_rules_test_text_that_is_not_utf8(tmp_path, capsys):
    text = tmp_path / "article.txt"
    text.write_bytes("أعلنت هدنة".encode("cp1256"))
    error = refusal(capsys, ["rules", "test", "seeds/rules/default.yaml", "--file", str(text)])
    assert f"{text} is not UTF-8 text" in error


def test_trigger_and_gazetteer_files_get_the_same_loader(tmp_path, capsys):
    triggers = tmp_path / "triggers.yaml"
    triggers.write_text(BOMB + "types: *i\n", encoding="utf-8")
    error = refusal(capsys, ["run", "--triggers", str(triggers), "--output", str(tmp_path / "out")])
    assert "aliases expand to more than" in error
    gazetteers = tmp_path / "gaz"
    gazetteers.mkdir()
    (gazetteers / "places.yaml").write_text("entries:\n- id: x\n  id: y\n", encoding="utf-8")
    error = refusal(capsys, ["run", "--gazetteers", str(gazetteers), "--output", str(tmp_path / "out")])
    assert "key 'id' is written twice" in error


def test_the_seed_rules_still_load_with_their_aliases():
    assert len(load_rules("seeds/rules/default.yaml")) >= 3
