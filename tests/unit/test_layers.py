"""The house rules of the tree, checked on its source: the pure core imports no Beam, only the Beam
layer joins the two, modules form no import cycle, no module grows past 400 lines, and tests and
benchmarks share code only through the installed `evaluation` package."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("pipelines", "transforms", "schemas", "evaluation")
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _sources(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py"))


def _is_pure_core(module: str) -> bool:
    return module.startswith("schemas") or (module.startswith("transforms.") and module.count(".") == 1)


def _uses_beam(imports: set[str]) -> bool:
    return any(name == "apache_beam" or name.startswith("apache_beam.") for name in imports)


def test_pure_core_and_admin_paths_load_no_beam() -> None:
    core = [_module_name(p) for p in _sources("transforms", "schemas") if _is_pure_core(_module_name(p))]
    others = ["transforms.io.kafka.admin", "transforms.io.files.reader", "pipelines.replay", "pipelines.config"]
    others += ["pipelines.report.sources", "pipelines.report.model", "pipelines.cli"]
    program = f"import sys\nfor m in {core + others!r}: __import__(m)\nprint('apache_beam' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=ROOT)
    assert loaded.stdout.strip() == "False"


def test_only_the_beam_layer_joins_beam_and_the_pure_core() -> None:
    joined = []
    for path in _sources(*PACKAGES):
        module = _module_name(path)
        imports = _imports(path, top_level_only=False)
        core = {name for name in imports if _is_pure_core(name) and not name.startswith("schemas")}
        if _uses_beam(imports) and core and not module.startswith("transforms.beam"):
            joined.append((module, sorted(core)))
    assert joined == []


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {}
    modules = {_module_name(p): p for p in _sources(*PACKAGES)}
    for module, path in modules.items():
        graph[module] = {name for name in _imports(path, top_level_only=True) if name in modules and name != module}
    done: set[str] = set()

    def visit(module: str, trail: list[str]) -> None:
        if module in trail:
            raise AssertionError("import cycle: " + " -> ".join([*trail[trail.index(module) :], module]))
        if module in done:
            return
        for name in sorted(graph[module]):
            visit(name, [*trail, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])


def test_no_module_over_400_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in _sources("pipelines", "transforms")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_tests_and_benchmarks_share_code_only_through_evaluation() -> None:
    problems = []
    for path in _sources("tests", "benchmarks", "evaluation"):
        text = path.read_text(encoding="utf-8")
        imports = _imports(path, top_level_only=False)
        if ("sys.path.insert" in text or "sys.path.append" in text) and path.name != "test_layers.py":
            problems.append(f"{path.relative_to(ROOT)} edits sys.path")
        home = path.relative_to(ROOT).parts[0]
        for other in {"tests", "benchmarks"} - {home}:
            if any(name == other or name.startswith(other + ".") for name in imports):
                problems.append(f"{path.relative_to(ROOT)} imports {other}")
    assert problems == []
