"""Typed records that flow through marsad, with their JSON form.

Every record is a frozen dataclass with ``to_dict``/``from_dict`` and an orjson round trip
(``to_json``/``from_json``). The JSON Schema files beside this module describe the same JSON form;
``tests/test_schemas.py`` keeps the two in step.
"""

from __future__ import annotations

import hashlib
from dataclasses import Field, asdict, dataclass, field, fields
from typing import Any, ClassVar, TypeVar

import orjson

ARTICLE_FIELDS = ("id", "source", "url", "published", "title", "body", "lang")
# What a run writes, one file set or topic per kind: `<kind>-*.jsonl` or `PREFIX.<kind>`.
OUTPUT_KINDS = ("articles", "alerts", "events", "deadletter")

R = TypeVar("R", bound="_JsonRecord")


class _JsonRecord:
    """orjson round trip shared by the records."""

    # Every record is a dataclass; declared so that ``asdict(self)`` type-checks in this base.
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    def to_dict(self) -> dict[str, Any]:
        """The record's JSON form as a dict (records with nested records override this)."""
        return asdict(self)

    def to_json(self) -> bytes:
        """The record as one line of JSON, as sinks write it."""
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_dict(cls: type[R], data: dict[str, Any]) -> R:
        """The record from its JSON form; every record class defines its own."""
        raise NotImplementedError(cls.__name__)

    @classmethod
    def from_json(cls: type[R], data: bytes | str) -> R:
        """The record from one line of JSON."""
        return cls.from_dict(orjson.loads(data))


def stable_article_id(source: str | None, url: str | None, title: str | None, body: str | None) -> str:
    """An id for inputs that carry none: the same article content always gets the same id."""
    digest = hashlib.sha256()
    for part in (source, url, title, body):
        digest.update((part or "").encode("utf-8"))
        digest.update(b"\x1f")  # unit separator: ("ab", "c") and ("a", "bc") must differ
    return "a-" + digest.hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class Dedup(_JsonRecord):
    """What the story index decided about one article; it travels inside the article's JSON."""

    status: str
    duplicate_of: str | None
    story_id: str
    similarity: float | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Dedup:
        """The decision from its JSON form (``similarity`` may be absent)."""
        return cls(
            status=data["status"],
            duplicate_of=data.get("duplicate_of"),
            story_id=data["story_id"],
            similarity=data.get("similarity"),
        )


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One article's worth of input, exactly as read, and where it came from.

    The record every source (files, Kafka) hands to parsing: kept apart from the sources so that
    parsing and the sources depend on it and not on each other. It has no JSON form of its own.
    """

    origin: dict[str, Any]
    payload: str
    format: str  # "json" or "text"
    timestamp_ms: int | None = None  # the transport's own timestamp (Kafka), when there is one


@dataclass(frozen=True, slots=True)
class Article(_JsonRecord):
    """One news article as every stage sees it; input fields marsad does not know ride along in ``extra``."""

    id: str
    source: str | None
    url: str | None
    published: str | None
    title: str
    body: str
    lang: str
    extra: dict[str, Any] = field(default_factory=dict)
    dedup: Dedup | None = None
    # Where the pipeline read it (file and line, or Kafka topic, partition and offset). Transport
    # metadata for dead letters and offset commits: not part of the article's JSON.
    origin: dict[str, Any] | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The article's JSON form: its extra input fields at top level, as they came in."""
        # Extra input fields are kept at top level, as they came in.
        out: dict[str, Any] = dict(self.extra)
        out.update(
            id=self.id,
            source=self.source,
            url=self.url,
            published=self.published,
            title=self.title,
            body=self.body,
            lang=self.lang,
        )
        if self.dedup is not None:
            out["dedup"] = self.dedup.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        """The article from its JSON form; unknown top-level fields become ``extra``."""
        extra = {k: v for k, v in data.items() if k not in ARTICLE_FIELDS and k != "dedup"}
        dedup = data.get("dedup")
        return cls(
            id=data["id"],
            source=data.get("source"),
            url=data.get("url"),
            published=data.get("published"),
            title=data.get("title") or "",
            body=data.get("body") or "",
            lang=data["lang"],
            extra=extra,
            dedup=Dedup.from_dict(dedup) if dedup else None,
        )

    def field_text(self, name: str) -> str:
        """The text of a matchable field by name (rules name the fields they look at)."""
        if name == "title":
            return self.title
        if name == "body":
            return self.body
        raise KeyError(name)


@dataclass(frozen=True, slots=True)
class Span(_JsonRecord):
    """A piece of an article field: ``text == field[start:end]`` in the ORIGINAL field text."""

    field: str
    start: int
    end: int
    text: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Span:
        """The span from its JSON form."""
        return cls(field=data["field"], start=data["start"], end=data["end"], text=data["text"])


@dataclass(frozen=True, slots=True)
class Match(_JsonRecord):
    """One rule term found in an article: the term, the words that matched it and where."""

    term: str
    text: str
    field: str
    start: int
    end: int

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Match:
        """The match from its JSON form."""
        return cls(**{f.name: data[f.name] for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class Alert(_JsonRecord):
    """A rule that fired, once per story: later articles of the story revise it (``revision``)."""

    alert_id: str
    rule_id: str
    article_id: str
    story_id: str | None
    lang: str
    severity: str
    matches: tuple[Match, ...]
    snippet: str
    published: str | None
    detected_at: str
    title: str = ""
    # One alert per (rule, story): later articles of the story raise a new revision of it.
    mention_count: int = 1
    article_ids: tuple[str, ...] = ()
    revision: int = 1

    def to_dict(self) -> dict[str, Any]:
        """The alert's JSON form, its matches and article ids as lists."""
        out = asdict(self)
        out["matches"] = [m.to_dict() for m in self.matches]
        out["article_ids"] = list(self.article_ids)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        """The alert from its JSON form; fields added after the first release have defaults."""
        return cls(
            alert_id=data["alert_id"],
            rule_id=data["rule_id"],
            article_id=data["article_id"],
            story_id=data.get("story_id"),
            lang=data["lang"],
            severity=data["severity"],
            matches=tuple(Match.from_dict(m) for m in data["matches"]),
            snippet=data["snippet"],
            published=data.get("published"),
            detected_at=data["detected_at"],
            title=data.get("title", ""),
            mention_count=data.get("mention_count", 1),
            article_ids=tuple(data.get("article_ids", ())),
            revision=data.get("revision", 1),
        )


@dataclass(frozen=True, slots=True)
class Mention(_JsonRecord):
    """An actor or location named in an event's sentence, with its canonical gazetteer entry."""

    id: str
    name: str
    kind: str
    span: Span
    role: str | None = None
    name_ar: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The mention's JSON form, its span's fields flattened into it."""
        return {
            "id": self.id,
            "name": self.name,
            "name_ar": self.name_ar,
            "kind": self.kind,
            "role": self.role,
            **self.span.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Mention:
        """The mention from its flattened JSON form."""
        return cls(
            id=data["id"],
            name=data["name"],
            kind=data["kind"],
            role=data.get("role"),
            span=Span.from_dict(data),
            name_ar=data.get("name_ar", ""),
        )


@dataclass(frozen=True, slots=True)
class TimeExpression(_JsonRecord):
    """``value`` is an ISO date when the expression could be resolved against the publication date."""

    text: str
    start: int
    end: int
    value: str | None
    precision: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TimeExpression:
        """The time expression from its JSON form."""
        return cls(**{f.name: data[f.name] for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class Event(_JsonRecord):
    """Who did what, where and when, as one sentence of an article reports it."""

    event_id: str
    article_id: str
    type: str
    trigger: Span
    actors: tuple[Mention, ...]
    locations: tuple[Mention, ...]
    time: TimeExpression | None
    sentence: Span
    story_id: str | None = None
    plover: str = ""
    # reported | planned | proposed | conditional | negated | mentioned (object or background of another event)
    modality: str = "reported"
    # ceasefire / truce events: proposed | agreed | started | extended | violated | collapsed
    phase: str | None = None
    speaker: Mention | None = None
    confidence: float = 0.5
    # PLOVER's "how" (ASSAULT: firearms, explosives ...; PROTEST: demo, riot ...), where it has one
    mode: str | None = None
    # PLOVER's historical | future | hypothetical; None: told as happening (README, "Events")
    context: str | None = None

    @property
    def is_reported(self) -> bool:
        """What PLOVER codes: an occurrence the sentence reports, not planned, historical or named."""
        return self.modality == "reported" and self.context is None

    def to_dict(self) -> dict[str, Any]:
        """The event's JSON form, with nested spans, mentions and time."""
        return {
            "event_id": self.event_id,
            "article_id": self.article_id,
            "story_id": self.story_id,
            "type": self.type,
            "plover": self.plover,
            "trigger": self.trigger.to_dict(),
            "modality": self.modality,
            "phase": self.phase,
            "speaker": self.speaker.to_dict() if self.speaker else None,
            "actors": [a.to_dict() for a in self.actors],
            "locations": [loc.to_dict() for loc in self.locations],
            "time": self.time.to_dict() if self.time else None,
            "sentence": self.sentence.to_dict(),
            "confidence": self.confidence,
            "mode": self.mode,
            "context": self.context,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        """The event from its JSON form."""
        return cls(
            event_id=data["event_id"],
            article_id=data["article_id"],
            story_id=data.get("story_id"),
            type=data["type"],
            trigger=Span.from_dict(data["trigger"]),
            actors=tuple(Mention.from_dict(a) for a in data["actors"]),
            locations=tuple(Mention.from_dict(loc) for loc in data["locations"]),
            time=TimeExpression.from_dict(data["time"]) if data.get("time") else None,
            sentence=Span.from_dict(data["sentence"]),
            plover=data.get("plover", ""),
            modality=data.get("modality", "reported"),
            phase=data.get("phase"),
            speaker=Mention.from_dict(data["speaker"]) if data.get("speaker") else None,
            confidence=data.get("confidence", 0.5),
            mode=data.get("mode"),
            context=data.get("context"),
        )


@dataclass(frozen=True, slots=True)
class DeadLetter(_JsonRecord):
    """An input that could not become an article (or a stage that failed on one), kept intact.

    ``raw`` is the input text exactly as read; input that was not valid UTF-8 is kept in
    ``raw_base64`` instead so that nothing is lost in the round trip.
    """

    STAGES: ClassVar[tuple[str, ...]] = ("read", "parse", "normalize", "dedup", "alerts", "events", "write")
    # Stages at which the article itself is lost: these count in the run's reconciliation.
    # ("write": a sink refused the article record itself, e.g. the broker found it too large.)
    ARTICLE_STAGES: ClassVar[tuple[str, ...]] = ("read", "parse", "normalize", "dedup", "write")

    reason: str
    stage: str
    origin: dict[str, Any]
    raw: str | None
    raw_base64: str | None = None
    article_id: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeadLetter:
        """The dead letter from its JSON form."""
        return cls(
            reason=data["reason"],
            stage=data["stage"],
            origin=data["origin"],
            raw=data.get("raw"),
            raw_base64=data.get("raw_base64"),
            article_id=data.get("article_id"),
        )

    @property
    def loses_article(self) -> bool:
        """Whether the article itself was lost here (what the run's reconciliation counts)."""
        return self.stage in self.ARTICLE_STAGES


@dataclass(frozen=True)
class ArticleResult:
    """Everything the pipeline made of one article, kept together so that a sink can write all of
    it before it acknowledges the article's input (offset commits depend on that)."""

    article: Article
    alerts: tuple[Alert, ...] = ()
    events: tuple[Event, ...] = ()
    stage_errors: tuple[DeadLetter, ...] = ()
