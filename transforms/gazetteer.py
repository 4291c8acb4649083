"""Gazetteers: actors and places with canonical ids, names and aliases, loaded from data files.

Format (YAML, one or more files in ``seeds/gazetteers/``; see its README):

    entries:
      - id: RUS
        kind: country            # country | organisation | person | city | region | ...
        name: {en: Russia, ar: روسيا}
        aliases: {ar: [روسيا, روسي, الكرملين], en: [Russia, Russian, Kremlin]}
        role: null               # people: e.g. "foreign minister of Russia"
        location: false          # true for entries that name places

Aliases are matched with the same clitic-aware matcher as alert terms.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from transforms.matcher import Phrase, PhraseHit, PhraseMatcher
from transforms.safe_yaml import YamlError, load_yaml
from transforms.text import NormalizedText, Token

PLACE_KINDS = frozenset({"city", "region", "place", "country"})


class GazetteerError(ValueError):
    """A gazetteer file that cannot be used; the message names the file, entry and field."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One actor or place: canonical names in both languages and the aliases that name it in text."""

    id: str
    kind: str
    name_en: str
    name_ar: str
    aliases: tuple[str, ...]
    role: str | None = None

    @property
    def is_place(self) -> bool:
        """Whether the entry can be an event's location."""
        return self.kind in PLACE_KINDS

    @property
    def is_actor(self) -> bool:
        """Whether the entry can be an event's actor (countries act as well as being places)."""
        return self.kind not in PLACE_KINDS - {"country"}


def _entry(raw: object, source: str, number: int) -> Entry:
    if not isinstance(raw, dict):
        raise GazetteerError(f"{source}: entry #{number}: must be a mapping")
    label = f"{source}: entry {raw.get('id', '#' + str(number))!r}"
    for key in ("id", "kind", "name"):
        if key not in raw:
            raise GazetteerError(f"{label}, field {key!r}: missing")
    name = raw["name"]
    if not isinstance(name, dict) or not {"en", "ar"} <= set(name):
        raise GazetteerError(f"{label}, field 'name': needs both 'en' and 'ar'")
    aliases_raw = raw.get("aliases", {})
    if not isinstance(aliases_raw, dict):
        raise GazetteerError(f"{label}, field 'aliases': must map a language to a list of names")
    aliases: list[str] = [name["en"], name["ar"]]
    for lang, names in aliases_raw.items():
        if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
            raise GazetteerError(f"{label}, field 'aliases.{lang}': must be a list of non-empty strings")
        aliases.extend(names)
    return Entry(
        id=str(raw["id"]),
        kind=str(raw["kind"]),
        name_en=str(name["en"]),
        name_ar=str(name["ar"]),
        aliases=tuple(dict.fromkeys(aliases)),
        role=raw.get("role"),
    )


def load_gazetteer(paths: Iterable[str | Path]) -> list[Entry]:
    """The entries of these files; an id defined twice is an error that names both files."""
    entries: list[Entry] = []
    seen: dict[str, str] = {}
    for path in paths:
        path = Path(path)
        try:
            document = load_yaml(path, "gazetteer") or {}
        except YamlError as error:
            raise GazetteerError(str(error)) from None
        raw_entries = document.get("entries") if isinstance(document, dict) else None
        if not isinstance(raw_entries, list):
            raise GazetteerError(f"{path}: field 'entries': must be a list")
        for number, raw in enumerate(raw_entries, start=1):
            entry = _entry(raw, str(path), number)
            if entry.id in seen:
                raise GazetteerError(f"{path}: entry {entry.id!r}: id already defined in {seen[entry.id]}")
            seen[entry.id] = str(path)
            entries.append(entry)
    return entries


def gazetteer_files(directory: str | Path) -> list[Path]:
    """The gazetteer files of a directory, in a fixed order so entry numbers are stable."""
    return sorted(Path(directory).glob("*.yaml"))


@dataclass(frozen=True, slots=True)
class EntryHit:
    """An entry found in a text, with where (the matcher's hit)."""

    entry: Entry
    hit: PhraseHit


class Gazetteer:
    """All entries' aliases in one phrase matcher, so a text is scanned once for every name."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self.entries = list(entries)
        self._matcher = PhraseMatcher(
            Phrase(payload=number, text=alias) for number, entry in enumerate(self.entries) for alias in entry.aliases
        )

    def find(self, text: NormalizedText, tokens: Sequence[Token]) -> list[EntryHit]:
        """Mentions in text order; where aliases overlap, the longest wins (وزير الخارجية الروسي
        over الروسي)."""
        hits = sorted(self._matcher.find(text, tokens), key=lambda h: (h.start, -(h.end - h.start)))
        kept: list[EntryHit] = []
        covered_until = -1
        for hit in hits:
            if hit.start < covered_until:
                continue
            kept.append(EntryHit(self.entries[cast(int, hit.payload)], hit))  # payloads are entry numbers
            covered_until = hit.end
        return kept
