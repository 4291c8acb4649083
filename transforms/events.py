"""Event extraction: sentences with a trigger become events with actors, places and a time.

Triggers, actors and places are all found with the shared clitic-aware matcher (the trigger file
is read by transforms.event_triggers); time expressions are resolved against the article's
publication date (transforms.event_time).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any, cast

from schemas.records import Article, Event, Mention, Span, TimeExpression
from transforms.event_codebook import context_of, context_phrases, framed_by_earlier_trigger, mode_of, mode_phrases
from transforms.event_time import TIME_EXPRESSION, publication_date, resolve_time, split_sentences
from transforms.event_triggers import EventCues, EventType
from transforms.gazetteer import EntryHit, Gazetteer
from transforms.matcher import Phrase, PhraseHit, PhraseMatcher
from transforms.text import NormalizedText, Token, fold


def event_id(article_id: str, event_type: str, trigger_start: int) -> str:
    """A stable id: the same trigger of the same article gives the same event on every run."""
    return "ev-" + hashlib.sha256(f"{article_id}\x1f{event_type}\x1f{trigger_start}".encode()).hexdigest()[:20]


_TWO_SIDES = frozenset(fold(w) for w in ("الطرفان", "الطرفين", "الجانبان", "الجانبين", "البلدان", "البلدين"))
# Events between parties that act together; in the others, actors after the trigger are its object.
SYMMETRIC_TYPES = frozenset({"ceasefire", "meeting", "agreement"})
TRUCE_TYPES = frozenset({"ceasefire"})


class EventExtractor:
    """Events of one article body from its triggers, cues and gazetteer mentions, sentence by sentence."""

    def __init__(
        self,
        event_types: Sequence[EventType],
        gazetteer: Gazetteer,
        cues: EventCues | None = None,
        main_event: bool | None = None,
    ) -> None:
        """``main_event=False`` (``--events-model off``) keeps the frame-window rules alone: no
        PLOVER context and no framing by an earlier accusation, verdict, threat or investigation."""
        self.event_types = list(event_types)
        self._plover = {t.type: t.plover for t in self.event_types}
        self._triggers = PhraseMatcher(phrase for event_type in self.event_types for phrase in event_type.terms)
        self._gazetteer = gazetteer
        self._cues = cues or EventCues(8, (), (), ())
        self.main_event = self._cues.main_event if main_event is None else main_event
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
            + mode_phrases(self._cues)
            + (context_phrases(self._cues) if self.main_event else [])
        )
        self._since = dict(self._cues.contexts).get("since", ("منذ", "since"))
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
        reference = publication_date(article.published)

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
                modality = self._modality(near, hit)
                if modality == "reported" and self._framed(hit, sentence_cues):
                    modality = "mentioned"
                if modality == "reported" and self.main_event and framed_by_earlier_trigger(hit, sentence_triggers):
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
            sentence_text = original[sentence_start:sentence_end]
            context = (
                context_of(hit, modality, sentence_cues, sentence_text, reference.year if reference else None,
                           self._cues.window, self._since)
                if self.main_event
                else None
            )  # fmt: skip
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
                    sentence=Span("body", sentence_start, sentence_end, sentence_text),
                    confidence=_confidence(hit, unique_actors, unique_locations, time),
                    mode=mode_of(event_type, sentence_cues, self._cues),
                    context=context,
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

    def _modality(self, cues: Sequence[PhraseHit], hit: PhraseHit) -> str:
        # With the main-event step, a call or demand qualifies only what follows it ("دعا إلى
        # التظاهر"): after the trigger it is what the event demands ("مظاهرات للمطالبة بوقف الحرب").
        names = {
            _payload(c)[1]
            for c in cues
            if _payload(c)[0] == "modality"
            and not (self.main_event and _payload(c)[1] == "proposed" and c.first_token > hit.last_token)
        }
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
        for match in TIME_EXPRESSION.finditer(body.text):
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
