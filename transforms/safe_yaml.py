"""YAML for files users write (rules, triggers, gazetteers), loaded as hostile input: bounded in size,
depth and alias expansion, numbers finite and short, keys unique, text UTF-8.

PyYAML's ``safe_load`` already refuses code; it does not refuse an anchors bomb (nine levels of nine
aliases expand to 387 million nodes), a nesting deep enough for a RecursionError, ``.nan`` weights,
5,000-digit integers (a ValueError) or a key written twice (the last silently wins). Every refusal
here is a ``YamlError`` whose message is one short line naming the file, the place and the field.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_FILE_BYTES = 8_000_000
MAX_DEPTH = 40  # nesting, as written and as aliases expand it
MAX_EXPANDED_NODES = 1_000_000  # nodes once every alias is expanded (default.yaml: about 3,000)
MAX_DIGITS = 20
MAX_MESSAGE_CHARS = 300
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"


class YamlError(ValueError):
    """A YAML file refused; the message is short and never quotes an expanded value."""


def short(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` cut to ``limit`` characters: an error message must not carry a whole document."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Loader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._path: list[tuple[Node, Any]] = []  # (collection, key or index) from the root down

    def where(self) -> str:
        """``rule 'x', field 'terms.ar[2].weight'`` inside a rules list, else ``field 'a.b[1]'``."""
        parts = [f"[{key}]" if isinstance(key, int) else f".{key}" for _, key in self._path]
        field = "".join(parts).lstrip(".")
        rule = None
        if len(self._path) > 2 and self._path[0][1] == "rules" and isinstance(self._path[1][1], int):
            rule = _mapping_id(self._path[2][0])  # the rule's mapping, parent of the field being read
        if rule is not None and len(self._path) > 2:
            head = f"rules[{self._path[1][1]}]"
            return f"rule {short(rule, 60)!r}, field {short(field.removeprefix(head).lstrip('.'), 80)!r}"
        return f"field {short(field, 100)!r}" if field else "the document"

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if parent is not None:
            if isinstance(parent, MappingNode) and isinstance(index, Node):
                key = index.value if isinstance(index, ScalarNode) else "?"
                if any(isinstance(k, ScalarNode) and k.value == key and k is not index for k, _ in parent.value):
                    raise self._error(f"key {short(str(key), 60)!r} is written twice", key_path=(parent, key))
                self._path.append((parent, key))
            elif isinstance(parent, SequenceNode):
                self._path.append((parent, index))
            else:
                self._path.append((parent, "<key>"))
        try:
            if len(self._path) > MAX_DEPTH:
                raise self._error(f"nested deeper than {MAX_DEPTH} levels")
            node = super().compose_node(parent, index)
            if isinstance(node, ScalarNode):
                self._check_scalar(node)
            return node
        finally:
            if parent is not None:
                self._path.pop()

    def _check_scalar(self, node: ScalarNode) -> None:
        if node.tag == _INT_TAG and sum(c.isdigit() for c in node.value) > MAX_DIGITS:
            raise self._error(f"a number of more than {MAX_DIGITS} digits")
        if node.tag == _FLOAT_TAG:
            try:
                value = float(node.value.replace("_", ""))
            except ValueError:
                value = math.nan
            if not math.isfinite(value) or len(node.value) > 2 * MAX_DIGITS:
                raise self._error(f"{short(node.value, 24)!r} is not a finite number")

    def _error(self, problem: str, key_path: tuple[Node, Any] | None = None) -> YamlError:
        if key_path is not None:
            self._path.append(key_path)
        try:
            mark = self.peek_event().start_mark if self.check_event() else None
            line = f"line {mark.line + 1}, " if mark else ""
            return YamlError(f"{line}{self.where()}: {problem}")
        finally:
            if key_path is not None:
                self._path.pop()


def _mapping_id(node: Node) -> str | None:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.value == "id" and isinstance(value, ScalarNode):
                return str(value.value)
    return None


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def check_expansion(root: Node) -> None:
    """Refuse a document whose aliases expand beyond the budgets, or refer to themselves; without
    expanding it (sizes are summed once per distinct node)."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    visiting: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            visiting.discard(key)
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            if size[key] > MAX_EXPANDED_NODES:
                raise YamlError(f"aliases expand to more than {MAX_EXPANDED_NODES:,} values")
            if depth[key] > MAX_DEPTH:
                raise YamlError(f"aliases nest deeper than {MAX_DEPTH} levels")
            continue
        if key in size:
            continue
        if key in visiting:
            raise YamlError("an alias refers to the value that contains it")
        visiting.add(key)
        stack.append((node, True))
        stack.extend((kid, False) for kid in _children(node) if id(kid) not in size)


def load_yaml(path: str | Path, what: str = "file") -> Any:
    """The document of a YAML file written by a user; YamlError (message: ``PATH: ...``) otherwise."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise YamlError(f"{path}: cannot read {what}: {error.strerror}") from error
    if len(data) > MAX_FILE_BYTES:
        raise YamlError(f"{path}: {what} over {MAX_FILE_BYTES:,} bytes")
    text = decode_utf8(data, f"{path}: {what}")
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        check_expansion(root)
        return loader.construct_document(root)
    except YamlError as error:
        raise YamlError(f"{path}: {error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise YamlError(short(f"{path}: not valid YAML: {line}{problem}")) from None
    finally:
        loader.dispose()


def decode_utf8(data: bytes, what: str) -> str:
    """``data`` as text (a byte-order mark dropped), or YamlError saying where it is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise YamlError(f"{what} is not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start})") from None
