"""Event extraction: sentences with a trigger become events with actors, places and a time.

Triggers, actors and places are all found with the shared clitic-aware matcher; time
expressions (weekdays, today/yesterday/tomorrow, "the 12th of this month", day-month-year dates
in both Gregorian month-name traditions) are resolved against the article's publication date.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from schemas.records import Article, Event, Mention, Span, TimeExpression
from transforms.gazetteer import Gazetteer
from transforms.matcher import Phrase, PhraseMatcher
from transforms.text import NormalizedText, tokenize


class TriggerError(ValueError):
    """A trigger file that cannot be used; the message names the file, type and field."""


@dataclass(frozen=True, slots=True)
class EventType:
    type: str
    plover: str
    terms: tuple[Phrase, ...]


def load_event_types(path: str | Path) -> list[EventType]:
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise TriggerError(f"{path}: cannot load event triggers: {error}") from error
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
        phrases = []
        for lang, entries in terms_raw.items():
            if not isinstance(entries, list):
                raise TriggerError(f"{label}, field 'terms.{lang}': must be a list")
            for entry in entries:
                if isinstance(entry, str):
                    phrases.append(Phrase(raw["type"], entry))
                elif isinstance(entry, dict) and isinstance(entry.get("text"), str):
                    phrases.append(Phrase(raw["type"], entry["text"], bool(entry.get("strict_hamza"))))
                else:
                    raise TriggerError(f"{label}, field 'terms.{lang}': bad term {entry!r}")
        types.append(EventType(raw["type"], str(raw.get("plover", "")), tuple(phrases)))
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
    return "ev-" + hashlib.sha256(f"{article_id}\x1f{event_type}\x1f{trigger_start}".encode()).hexdigest()[:20]


class EventExtractor:
    def __init__(self, event_types: Sequence[EventType], gazetteer: Gazetteer) -> None:
        self.event_types = list(event_types)
        self._triggers = PhraseMatcher(phrase for event_type in self.event_types for phrase in event_type.terms)
        self._gazetteer = gazetteer

    def extract(self, article: Article, body: NormalizedText, story_id: str | None = None) -> list[Event]:
        tokens = tokenize(body.text)
        triggers = self._triggers.find(body, tokens)
        if not triggers:
            return []
        original = body.original
        sentences = split_sentences(original)
        mentions = self._gazetteer.find(body, tokens)
        reference = _publication_date(article.published)

        def sentence_of(original_start: int) -> int | None:
            for number, (start, end) in enumerate(sentences):
                if start <= original_start < end:
                    return number
            return None

        def span(folded_start: int, folded_end: int) -> Span:
            start, end = body.to_original(folded_start, folded_end)
            return Span("body", start, end, original[start:end])

        events: list[Event] = []
        seen: set[tuple[int, str]] = set()
        for hit in triggers:
            trigger = span(hit.start, hit.end)
            number = sentence_of(trigger.start)
            if number is None or (number, str(hit.payload)) in seen:
                continue  # one event per type and sentence: the first trigger names it
            seen.add((number, str(hit.payload)))
            sentence_start, sentence_end = sentences[number]
            actors, locations = [], []
            for mention_hit in mentions:
                mention_span = span(mention_hit.hit.start, mention_hit.hit.end)
                if not sentence_start <= mention_span.start < sentence_end:
                    continue
                entry = mention_hit.entry
                after_in = mention_hit.hit.first_token > 0 and tokens[mention_hit.hit.first_token - 1].text == "في"
                mention = Mention(id=entry.id, name=entry.name_en, kind=entry.kind, span=mention_span)
                if entry.is_place and (entry.kind != "country" or after_in):
                    locations.append(mention)
                elif entry.is_actor:
                    actors.append(mention)
            events.append(
                Event(
                    event_id=event_id(article.id, str(hit.payload), trigger.start),
                    article_id=article.id,
                    story_id=story_id,
                    type=str(hit.payload),
                    trigger=trigger,
                    actors=tuple(_unique_by_id(actors)),
                    locations=tuple(_unique_by_id(locations)),
                    time=self._time_in(body, sentence_start, sentence_end, reference),
                    sentence=Span("body", sentence_start, sentence_end, original[sentence_start:sentence_end]),
                )
            )
        return events

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


def _unique_by_id(mentions: list[Mention]) -> list[Mention]:
    seen: set[str] = set()
    unique = []
    for mention in mentions:
        if mention.id not in seen:
            seen.add(mention.id)
            unique.append(mention)
    return unique
