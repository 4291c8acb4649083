"""Event extraction: sentences with a trigger become events with actors, places and a time.

Triggers, actors and places are all found with the shared clitic-aware matcher; time
expressions (weekdays, today/yesterday/tomorrow, "the 12th of this month", day-month-year dates
in both Gregorian month-name traditions) are resolved against the article's publication date.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml

from schemas.records import Article, Event, Mention, Span, TimeExpression
from transforms.gazetteer import EntryHit, Gazetteer
from transforms.matcher import Phrase, PhraseHit, PhraseMatcher
from transforms.text import NormalizedText, Token, fold


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
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise TriggerError(f"{path}: cannot load event triggers: {error}") from error
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


def _word_list(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, dict):
        value = [w for words in value.values() for w in words]
    if not isinstance(value, list) or not all(isinstance(w, str) and w.strip() for w in value):
        raise TriggerError(f"{where}: must be a list of words (or language -> list)")
    return tuple(value)


def load_event_cues(path: str | Path) -> EventCues:
    """The reporting, modality, phase and frame words of a trigger file; errors name the file."""
    path = Path(path)
    document = _read(path)
    modality = document.get("modality", {})
    phases = document.get("phases", {})
    if not isinstance(modality, dict) or not isinstance(phases, dict):
        raise TriggerError(f"{path}: fields 'modality' and 'phases' map a name to a list of words")
    return EventCues(
        window=int(document.get("cue_window", 8)),
        reporting=_word_list(document.get("reporting", []), f"{path}: field 'reporting'"),
        modality=tuple(
            (name, _word_list(words, f"{path}: field 'modality.{name}'")) for name, words in modality.items()
        ),
        phases=tuple((name, _word_list(words, f"{path}: field 'phases.{name}'")) for name, words in phases.items()),
        frames=_word_list(document.get("frames", []), f"{path}: field 'frames'"),
        frame_window=int(document.get("frame_window", 6)),
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
                try:
                    PhraseMatcher([phrase])
                except ValueError as error:
                    raise TriggerError(f"{label}, field 'terms.{lang}': {error}") from error
                phrases.append(phrase)
                contexts.append(context)
        types.append(EventType(raw["type"], str(raw.get("plover", "")), tuple(phrases), tuple(contexts)))
    return types


_SENTENCE_END = re.compile(r"(?<=[.!?؟])\s+|\n+")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of Arabic or English news text: ends at . ! ? ؟ before white space, or a line
    break. Spans exclude the surrounding white space."""
    spans = []
    position = 0
    for boundary in [*_SENTENCE_END.finditer(text), None]:
        end = boundary.start() if boundary else len(text)
        chunk = text[position:end]
        stripped_start = position + (len(chunk) - len(chunk.lstrip()))
        stripped_end = position + len(chunk.rstrip())
        if stripped_end > stripped_start:
            spans.append((stripped_start, stripped_end))
        if boundary:
            position = boundary.end()
    return spans


# Time expressions, written on folded text (see transforms.text.fold: no hamza, ة -> ه, ى -> ي).
_WEEKDAYS = {"الاثنين": 0, "الثلاثاء": 1, "الاربعاء": 2, "الخميس": 3, "الجمعه": 4, "السبت": 5, "الاحد": 6}
_RELATIVE_DAYS = {"اليوم": 0, "امس": -1, "البارحه": -1, "غدا": 1}
_MONTHS = {
    "يناير": 1, "كانون الثاني": 1, "فبراير": 2, "شباط": 2, "مارس": 3, "اذار": 3,
    "ابريل": 4, "نيسان": 4, "مايو": 5, "ايار": 5, "يونيو": 6, "حزيران": 6,
    "يوليو": 7, "تموز": 7, "اغسطس": 8, "اب": 8, "سبتمبر": 9, "ايلول": 9,
    "اكتوبر": 10, "تشرين الاول": 10, "نوفمبر": 11, "تشرين الثاني": 11, "ديسمبر": 12, "كانون الاول": 12,
}  # fmt: skip
_MONTH_NAMES = "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True))
_TIME = re.compile(
    r"(?<!\w)(?:"
    rf"(?P<date>(?P<dd>\d{{1,2}}) (?:من )?(?P<month>{_MONTH_NAMES})(?:[ /](?:{_MONTH_NAMES}))?(?: (?P<yyyy>\d{{4}}))?)"
    r"|(?P<dom>ال ?(?P<day>\d{1,2}) من (?:الشهر الجاري|هذا الشهر))"
    rf"|(?:[وفب]?(?P<weekday>{'|'.join(_WEEKDAYS)}))"
    rf"|(?:[وف]?(?P<relative>{'|'.join(_RELATIVE_DAYS)}))"
    r")(?!\w)"
)


def _publication_date(published: str | None) -> dt.date | None:
    if not published:
        return None
    try:
        return dt.datetime.fromisoformat(published.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def resolve_time(match: re.Match[str], reference: dt.date | None) -> tuple[str | None, str]:
    """(ISO date or None, precision) for a time-expression match."""
    try:
        if match.group("date"):
            day, month = int(match.group("dd")), _MONTHS[match.group("month")]
            year = int(match.group("yyyy")) if match.group("yyyy") else (reference.year if reference else None)
            if year is None:
                return None, "day"
            return dt.date(year, month, day).isoformat(), "day"
        if reference is None:
            return None, "day"
        if match.group("dom"):
            return reference.replace(day=int(match.group("day"))).isoformat(), "day"
        if match.group("relative"):
            return (reference + dt.timedelta(days=_RELATIVE_DAYS[match.group("relative")])).isoformat(), "day"
        # A bare weekday names the nearest such day to the publication date (news reports both
        # "the meeting planned for Saturday" and "talks held on Saturday").
        delta = (_WEEKDAYS[match.group("weekday")] - reference.weekday()) % 7
        if delta > 3:
            delta -= 7
        return (reference + dt.timedelta(days=delta)).isoformat(), "day"
    except ValueError:  # an impossible date such as 31 February
        return None, "day"


def event_id(article_id: str, event_type: str, trigger_start: int) -> str:
    """A stable id: the same trigger of the same article gives the same event on every run."""
    return "ev-" + hashlib.sha256(f"{article_id}\x1f{event_type}\x1f{trigger_start}".encode()).hexdigest()[:20]


_TWO_SIDES = frozenset(fold(w) for w in ("الطرفان", "الطرفين", "الجانبان", "الجانبين", "البلدان", "البلدين"))
# Events between parties that act together; in the others, actors after the trigger are its object.
SYMMETRIC_TYPES = frozenset({"ceasefire", "meeting", "agreement"})
TRUCE_TYPES = frozenset({"ceasefire"})


class EventExtractor:
    """Events of one article body from its triggers, cues and gazetteer mentions, sentence by sentence."""

    def __init__(self, event_types: Sequence[EventType], gazetteer: Gazetteer, cues: EventCues | None = None) -> None:
        self.event_types = list(event_types)
        self._plover = {t.type: t.plover for t in self.event_types}
        self._triggers = PhraseMatcher(phrase for event_type in self.event_types for phrase in event_type.terms)
        self._gazetteer = gazetteer
        self._cues = cues or EventCues(8, (), (), ())
        self._contexts = {t.type: t.contexts for t in self.event_types}
        cue_phrases = (
            [Phrase(("reporting", ""), word) for word in self._cues.reporting]
            + [Phrase(("modality", name), word) for name, words in self._cues.modality for word in words]
            + [Phrase(("phase", name), word) for name, words in self._cues.phases for word in words]
            + [Phrase(("frame", ""), word) for word in self._cues.frames]
            + [
                Phrase(("context", t.type, index), word)
                for t in self.event_types
                for index, context in enumerate(t.contexts)
                if context is not None
                for word in context.terms
            ]
        )
        self._cue_matcher = PhraseMatcher(cue_phrases) if cue_phrases else None

    def extract(self, article: Article, body: NormalizedText, story_id: str | None = None) -> list[Event]:
        """At most one event per type and sentence, with actors, locations, time, modality and phase."""
        triggers = self._triggers.find(body)  # the words alone tell most articles have no trigger
        if not triggers:
            return []
        tokens = body.tokens
        original = body.original
        sentences = split_sentences(original)
        mentions = self._gazetteer.find(body, tokens)
        cues = self._cue_matcher.find(body, tokens) if self._cue_matcher is not None else []
        reference = _publication_date(article.published)

        starts = [start for start, _ in sentences]

        def sentence_of(original_start: int) -> int | None:
            # Called for every trigger and cue hit: a binary search, not a scan of all sentences.
            number = bisect_right(starts, original_start) - 1
            return number if number >= 0 and original_start < sentences[number][1] else None

        def span(folded_start: int, folded_end: int) -> Span:
            start, end = body.to_original(folded_start, folded_end)
            return Span("body", start, end, original[start:end])

        # Sentence of every trigger and cue hit (by identity: hits of one text are distinct objects).
        sentence_numbers = {id(hit): sentence_of(body.to_original(hit.start, hit.end)[0]) for hit in (*triggers, *cues)}
        triggers = [hit for hit in triggers if self._context_allows(hit, cues, sentence_numbers)]
        triggers = [hit for hit in triggers if sentence_numbers[id(hit)] is not None]
        by_sentence: dict[int, list[PhraseHit]] = {}
        for hit in triggers:
            trigger_sentence = sentence_numbers[id(hit)]
            if trigger_sentence is not None:  # always, after the filter above; says so to the type checker
                by_sentence.setdefault(trigger_sentence, []).append(hit)
        cues_by_sentence: dict[int, list[PhraseHit]] = {}
        for cue in cues:
            cue_sentence = sentence_numbers[id(cue)]
            if cue_sentence is not None:
                cues_by_sentence.setdefault(cue_sentence, []).append(cue)
        # One event per type and sentence, named by its first trigger, unless that one is only the
        # object or background of another event ("mentioned") and a later one is not.
        chosen: dict[tuple[int, str], tuple[PhraseHit, list[PhraseHit], str]] = {}
        for number, sentence_triggers in by_sentence.items():
            sentence_cues = cues_by_sentence.get(number, [])
            for hit in sentence_triggers:
                near = self._qualifiers(hit, sentence_cues, sentence_triggers)
                modality = self._modality(near)
                if modality == "reported" and self._framed(hit, sentence_cues):
                    modality = "mentioned"
                key = (number, _type_of(hit))
                if key not in chosen or (chosen[key][2] == "mentioned" and modality != "mentioned"):
                    chosen[key] = (hit, near, modality)

        events: list[Event] = []
        back_references = self._back_references(body, tokens, sentences, mentions)
        for (number, event_type), (hit, near, modality) in sorted(chosen.items(), key=lambda kv: kv[1][0].start):
            trigger = span(hit.start, hit.end)
            sentence_start, sentence_end = sentences[number]

            def in_sentence(folded_start: int, low: int = sentence_start, high: int = sentence_end) -> bool:
                return low <= body.to_original(folded_start, folded_start + 1)[0] < high

            sentence_cues = cues_by_sentence.get(number, [])
            speaker_hit = self._speaker(sentence_cues, mentions, in_sentence)
            actors, locations = [], []
            speaker = None
            for mention_hit in mentions:
                if not in_sentence(mention_hit.hit.start):
                    continue
                entry = mention_hit.entry
                mention_span = span(mention_hit.hit.start, mention_hit.hit.end)
                after_in = mention_hit.hit.first_token > 0 and tokens[mention_hit.hit.first_token - 1].text == "في"
                if entry.is_place and (entry.kind != "country" or after_in):
                    locations.append(Mention(entry.id, entry.name_en, entry.kind, mention_span, name_ar=entry.name_ar))
                elif entry.is_actor:
                    if mention_hit is speaker_hit:
                        role = "speaker"
                    elif event_type in SYMMETRIC_TYPES or mention_hit.hit.first_token < hit.first_token:
                        role = "agent"
                    else:
                        role = "recipient" if event_type == "aid" else "patient"
                    mention = Mention(
                        entry.id, entry.name_en, entry.kind, mention_span, role=role, name_ar=entry.name_ar
                    )
                    actors.append(mention)
                    if role == "speaker" and speaker is None:
                        speaker = mention
            if not [a for a in actors if a.role != "speaker"] and number in back_references:
                # "اتفق الطرفان": the two sides are the parties named in an earlier sentence.
                actors.extend(dataclasses.replace(m, role="agent") for m in back_references[number])
            time = self._time_in(body, sentence_start, sentence_end, reference)
            unique_actors = tuple(_unique_by_id(actors))
            unique_locations = tuple(_unique_by_id(locations))
            events.append(
                Event(
                    event_id=event_id(article.id, event_type, trigger.start),
                    article_id=article.id,
                    story_id=story_id,
                    type=event_type,
                    plover=self._plover.get(event_type, ""),
                    trigger=trigger,
                    modality=modality,
                    phase=self._phase(near) if event_type in TRUCE_TYPES else None,
                    speaker=speaker,
                    actors=unique_actors,
                    locations=unique_locations,
                    time=time,
                    sentence=Span("body", sentence_start, sentence_end, original[sentence_start:sentence_end]),
                    confidence=_confidence(hit, unique_actors, unique_locations, time),
                )
            )
        return events

    @staticmethod
    def _back_references(
        body: NormalizedText,
        tokens: Sequence[Token],
        sentences: Sequence[tuple[int, int]],
        mentions: Sequence[EntryHit],
    ) -> dict[int, list[Mention]]:
        """Sentences that say "the two sides" (الطرفان، الجانبان، البلدان), mapped to the actors of
        the nearest earlier sentence that names at least two."""
        if not any(token.text in _TWO_SIDES for token in tokens):
            return {}  # the usual case: no sentence refers back, nothing to resolve
        per_sentence: list[list[Mention]] = [[] for _ in sentences]
        refers_back: set[int] = set()
        for number, (start, end) in enumerate(sentences):
            for mention_hit in mentions:
                o_start, o_end = body.to_original(mention_hit.hit.start, mention_hit.hit.end)
                first = mention_hit.hit.first_token
                a_place = first > 0 and tokens[first - 1].text == "في"
                if start <= o_start < end and mention_hit.entry.is_actor and not a_place:
                    entry = mention_hit.entry
                    span = Span("body", o_start, o_end, body.original[o_start:o_end])
                    per_sentence[number].append(
                        Mention(entry.id, entry.name_en, entry.kind, span, name_ar=entry.name_ar)
                    )
            for token in tokens:
                if token.text in _TWO_SIDES and start <= body.to_original(token.start, token.end)[0] < end:
                    refers_back.add(number)
        resolved: dict[int, list[Mention]] = {}
        for number in refers_back:
            for earlier in range(number - 1, -1, -1):
                if len({m.id for m in per_sentence[earlier]}) >= 2:
                    resolved[number] = _unique_by_id(per_sentence[earlier])
                    break
        return resolved

    def _qualifiers(
        self, hit: PhraseHit, sentence_cues: Sequence[PhraseHit], sentence_triggers: Sequence[PhraseHit]
    ) -> list[PhraseHit]:
        """The cues that qualify ``hit``: within the cue window and nearer to it than to any other
        trigger of the sentence. In "تم إرجاء الاجتماع المقرر اليوم" the meeting was planned and
        the postponement happened."""
        return [
            c
            for c in sentence_cues
            if _payload(c)[0] != "frame"
            and abs(c.first_token - hit.first_token) <= self._cues.window
            and abs(c.first_token - hit.first_token)
            <= min(abs(c.first_token - t.first_token) for t in sentence_triggers)
        ]

    def _framed(self, hit: PhraseHit, sentence_cues: Sequence[PhraseHit]) -> bool:
        """True when a frame word shortly before the trigger makes it the object or background of
        another event: an investigation into the bombing, a condemnation of the attack, the war
        "that has killed thousands"."""
        for cue in sentence_cues:
            if _payload(cue)[0] != "frame":
                continue
            gap = hit.first_token - cue.last_token
            if 0 < gap <= self._cues.frame_window:
                return True
        return False

    def _context_allows(
        self, hit: PhraseHit, cues: Sequence[PhraseHit], sentence_numbers: dict[int, int | None]
    ) -> bool:
        trigger: tuple[str, int] = _payload(hit)  # (type, term number)
        event_type, index = trigger
        context = self._contexts.get(event_type, ())
        needed = context[index] if index < len(context) else None
        if needed is None:
            return True
        key = ("context", event_type, index)
        found = any(
            cue.payload == key
            and max(0, cue.first_token - hit.last_token, hit.first_token - cue.last_token) <= needed.within
            and (cue.first_token, cue.last_token) != (hit.first_token, hit.last_token)
            and sentence_numbers[id(cue)] == sentence_numbers[id(hit)]
            for cue in cues
        )
        return found != needed.forbid

    def _modality(self, cues: Sequence[PhraseHit]) -> str:
        names = {_payload(c)[1] for c in cues if _payload(c)[0] == "modality"}
        for name, _ in self._cues.modality:
            if name in names:
                return name
        return "reported"

    def _phase(self, cues: Sequence[PhraseHit]) -> str | None:
        names = {_payload(c)[1] for c in cues if _payload(c)[0] == "phase"}
        for name, _ in reversed(self._cues.phases):  # the later stage wins: "violated the agreed truce"
            if name in names:
                return name
        return None

    @staticmethod
    def _speaker(
        cues: Sequence[PhraseHit], mentions: Sequence[EntryHit], in_sentence: Callable[[int], bool]
    ) -> EntryHit | None:
        """The actor that a reporting verb of the sentence introduces: the nearest one after it
        (Arabic reports verb first: أعلنت المتحدثة باسم الخارجية الروسية), else just before it."""
        actors = [m for m in mentions if m.entry.is_actor and in_sentence(m.hit.start)]
        for cue in cues:
            if _payload(cue)[0] != "reporting":
                continue
            after = [m for m in actors if 0 <= m.hit.first_token - cue.last_token <= 8]
            if after:
                # A person named in the phrase outranks the body they speak for.
                return min(after, key=lambda m: (m.entry.kind != "person", m.hit.first_token))
            before = [m for m in actors if 0 < cue.first_token - m.hit.last_token <= 3]
            if before:
                return max(before, key=lambda m: m.hit.last_token)
        return None

    @staticmethod
    def _time_in(
        body: NormalizedText, sentence_start: int, sentence_end: int, reference: dt.date | None
    ) -> TimeExpression | None:
        for match in _TIME.finditer(body.text):
            start, end = body.to_original(match.start(), match.end())
            if start < sentence_start:
                continue
            if start >= sentence_end:
                return None
            value, precision = resolve_time(match, reference)
            return TimeExpression(text=body.original[start:end], start=start, end=end, value=value, precision=precision)
        return None


def _payload(hit: PhraseHit) -> tuple[Any, ...]:
    """A hit's payload: every phrase this module builds carries a tuple, (type, term number) for
    triggers and (kind, name[, term number]) for cues; the matcher only knows it is hashable."""
    return cast(tuple[Any, ...], hit.payload)


def _type_of(hit: PhraseHit) -> str:
    return str(_payload(hit)[0])


def _confidence(hit: PhraseHit, actors: Sequence[Mention], locations: Sequence[Mention], time: object) -> float:
    """How much of the event was found: a trigger alone is weak evidence; who, where and when,
    and a multi-word trigger (وقف إطلاق النار), add to it."""
    score = 0.4 + 0.25 * bool(actors) + 0.15 * bool(locations) + 0.1 * bool(time) + 0.1 * (len(hit.phrase.split()) > 1)
    return round(min(1.0, score), 2)


def _unique_by_id(mentions: list[Mention]) -> list[Mention]:
    seen: set[str] = set()
    unique = []
    for mention in mentions:
        if mention.id not in seen:
            seen.add(mention.id)
            unique.append(mention)
    return unique
