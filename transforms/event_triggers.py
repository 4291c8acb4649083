"""The trigger file of event extraction: event types, their trigger phrases and contexts, and the
cue words (reporting verbs, modality, truce phase, frames) that qualify an event in its sentence.

Loaded and validated up front, so a bad trigger file stops a job before it reads an article; every
error names the file, the type and the field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transforms.matcher import Phrase, PhraseMatcher
from transforms.safe_yaml import YamlError, load_yaml
from transforms.text import fold


class TriggerError(ValueError):
    """A trigger file that cannot be used; the message names the file, type and field."""


@dataclass(frozen=True, slots=True)
class TriggerContext:
    """A trigger that counts only with one of ``terms`` within ``within`` words in its sentence
    (a protest noun needs a verb of occurrence: اندلعت مظاهرات، شارك في اعتصام)."""

    within: int
    terms: tuple[str, ...]
    forbid: bool = False  # not_near: the trigger does NOT count with one of the terms next to it


@dataclass(frozen=True, slots=True)
class EventType:
    """One event type of the trigger file: its PLOVER code, trigger phrases and their contexts."""

    type: str
    plover: str
    terms: tuple[Phrase, ...]
    contexts: tuple[TriggerContext | None, ...] = ()  # per term; empty: none needs context

    def context_of(self, index: int) -> TriggerContext | None:
        """The context trigger ``index`` needs (or must not have) nearby, if any."""
        return self.contexts[index] if index < len(self.contexts) else None


def _read(path: Path) -> dict[str, Any]:
    try:
        document = load_yaml(path, "event triggers")
    except YamlError as error:
        raise TriggerError(str(error)) from None
    if not isinstance(document, dict):
        raise TriggerError(f"{path}: must be a mapping")
    return document


@dataclass(frozen=True, slots=True)
class EventCues:
    """Words that qualify an event in its sentence: reporting verbs, modality and truce phase."""

    window: int
    reporting: tuple[str, ...]
    modality: tuple[tuple[str, tuple[str, ...]], ...]  # in precedence order
    phases: tuple[tuple[str, tuple[str, ...]], ...]
    # Words that make a trigger after them the object or background of another reported event
    # (an investigation INTO the bombing, a condemnation OF the attack): modality "mentioned".
    frames: tuple[str, ...] = ()
    frame_window: int = 6
    # PLOVER modes per event type, most specific first: (mode, phrases whose payload is unused).
    modes: tuple[tuple[str, tuple[tuple[str, tuple[Phrase, ...]], ...]], ...] = ()
    default_modes: tuple[tuple[str, str], ...] = ()  # event type -> mode when no mode word is found
    # PLOVER contexts: name -> words ("historical", "hypothetical"; "since" cancels an old year).
    contexts: tuple[tuple[str, tuple[str, ...]], ...] = ()
    main_event: bool = True  # False: --events-model off, the frame-window rules alone


def _word_list(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, dict):
        value = [w for words in value.values() for w in words]
    if not isinstance(value, list) or not all(isinstance(w, str) and w.strip() for w in value):
        raise TriggerError(f"{where}: must be a list of words (or language -> list)")
    return tuple(value)


def _phrase_list(value: object, where: str) -> tuple[Phrase, ...]:
    """Mode words: plain strings or ``{text, pos}`` (a verb lemma matching all its forms)."""
    if not isinstance(value, list):
        raise TriggerError(f"{where}: must be a list of words")
    phrases = []
    for entry in value:
        if isinstance(entry, str) and entry.strip():
            phrase = Phrase(where, entry)
        elif isinstance(entry, dict) and isinstance(entry.get("text"), str):
            phrase = Phrase(where, entry["text"], pos=entry.get("pos", "noun"))
        else:
            raise TriggerError(f"{where}: bad word {entry!r}")
        phrases.append(_compiled(phrase, where))
    return tuple(phrases)


def _compiled(phrase: Phrase, where: str) -> Phrase:
    """The phrase, once the matcher has accepted it; its refusal names where the phrase came from."""
    try:
        PhraseMatcher([phrase])
    except ValueError as error:
        raise TriggerError(f"{where}: {error}") from error
    return phrase


def _modes(document: dict[str, Any], path: Path) -> tuple[tuple[Any, ...], tuple[tuple[str, str], ...]]:
    raw = document.get("modes", {})
    if not isinstance(raw, dict):
        raise TriggerError(f"{path}: field 'modes' maps an event type to its modes")
    modes, defaults = [], []
    for event_type, by_mode in raw.items():
        if not isinstance(by_mode, dict):
            raise TriggerError(f"{path}: field 'modes.{event_type}' maps a mode to its words")
        named = []
        for mode, words in by_mode.items():
            if mode == "default":
                if not isinstance(words, str):
                    raise TriggerError(f"{path}: field 'modes.{event_type}.default' must be a mode name")
                defaults.append((str(event_type), words))
            else:
                named.append((str(mode), _phrase_list(words, f"{path}: field 'modes.{event_type}.{mode}'")))
        modes.append((str(event_type), tuple(named)))
    return tuple(modes), tuple(defaults)


def load_event_cues(path: str | Path) -> EventCues:
    """The reporting, modality, phase and frame words of a trigger file; errors name the file."""
    path = Path(path)
    document = _read(path)
    modality = document.get("modality", {})
    phases = document.get("phases", {})
    if not isinstance(modality, dict) or not isinstance(phases, dict):
        raise TriggerError(f"{path}: fields 'modality' and 'phases' map a name to a list of words")
    contexts = document.get("contexts", {})
    if not isinstance(contexts, dict):
        raise TriggerError(f"{path}: field 'contexts' maps a context to a list of words")
    modes, default_modes = _modes(document, path)
    return EventCues(
        window=int(document.get("cue_window", 8)),
        reporting=_word_list(document.get("reporting", []), f"{path}: field 'reporting'"),
        modality=tuple(
            (name, _word_list(words, f"{path}: field 'modality.{name}'")) for name, words in modality.items()
        ),
        phases=tuple((name, _word_list(words, f"{path}: field 'phases.{name}'")) for name, words in phases.items()),
        frames=_word_list(document.get("frames", []), f"{path}: field 'frames'"),
        frame_window=int(document.get("frame_window", 6)),
        modes=modes,
        default_modes=default_modes,
        contexts=tuple(
            (str(name), _word_list(words, f"{path}: field 'contexts.{name}'"))
            for name, words in (contexts.items() if isinstance(contexts, dict) else ())
        ),
    )


def load_event_types(path: str | Path) -> list[EventType]:
    """The event types of a trigger file, every phrase checked to compile before the run starts."""
    path = Path(path)
    document = _read(path)
    if not isinstance(document, dict) or not isinstance(document.get("types"), list):
        raise TriggerError(f"{path}: field 'types': must be a list")
    types = []
    for number, raw in enumerate(document["types"], start=1):
        if not isinstance(raw, dict) or "type" not in raw:
            raise TriggerError(f"{path}: type #{number}, field 'type': missing")
        label = f"{path}: type {raw['type']!r}"
        terms_raw = raw.get("terms")
        if not isinstance(terms_raw, dict) or not terms_raw:
            raise TriggerError(f"{label}, field 'terms': must map a language to a list of terms")
        phrases: list[Phrase] = []
        contexts: list[TriggerContext | None] = []
        for lang, entries in terms_raw.items():
            if not isinstance(entries, list):
                raise TriggerError(f"{label}, field 'terms.{lang}': must be a list")
            for entry in entries:
                context = None
                if isinstance(entry, str):
                    phrase = Phrase((raw["type"], len(phrases)), entry)
                elif isinstance(entry, dict) and isinstance(entry.get("text"), str):
                    phrase = Phrase(
                        (raw["type"], len(phrases)),
                        entry["text"],
                        bool(entry.get("strict_hamza")),
                        entry.get("pos", "noun"),
                        frozenset(fold(w) for w in entry.get("exclude", ())),
                        frozenset(entry["proclitics"]) if "proclitics" in entry else None,
                    )
                    for kind in ("near", "not_near"):
                        near = entry.get(kind)
                        if near is None:
                            continue
                        if context is not None:
                            raise TriggerError(f"{label}, field 'terms.{lang}': one of near / not_near per trigger")
                        if not isinstance(near, dict) or not isinstance(near.get("within"), int):
                            raise TriggerError(f"{label}, field 'terms.{lang}': {kind} needs 'within' and 'terms'")
                        context = TriggerContext(
                            near["within"], _word_list(near.get("terms"), f"{label}: {kind}"), kind == "not_near"
                        )
                else:
                    raise TriggerError(f"{label}, field 'terms.{lang}': bad term {entry!r}")
                phrases.append(_compiled(phrase, f"{label}, field 'terms.{lang}'"))
                contexts.append(context)
        types.append(EventType(raw["type"], str(raw.get("plover", "")), tuple(phrases), tuple(contexts)))
    return types
