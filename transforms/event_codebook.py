"""PLOVER's codebook on top of a found event: its mode, its context, and whether the sentence
reports it or only names it while reporting something else (its "main event").

Pure functions over the cue hits of one sentence (transforms.events finds them with the shared
matcher); the mode and context words live in seeds/events/triggers.yaml (``modes``, ``contexts``).
The PLOVER manual (openeventdata/PLOVER, PLOVER_MANUAL.tex, "Event Categories") splits an event
into what (category), how (mode) and why (context); historical, future and hypothetical contexts
mark events that the sentence does not report as happening now.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, cast

from transforms.event_triggers import EventCues
from transforms.matcher import Phrase, PhraseHit

# Event types whose trigger, ahead of a violence or protest trigger anywhere in the sentence, is
# what the sentence reports: an accusation of a killing, a trial for an assault, a threat to
# strike, an investigation of a bombing (the manual codes those as ACCUSE, SANCTION, THREATEN).
FRAMING_TYPES = frozenset({"statement", "investigation", "sanction", "threat"})
FRAMED_TYPES = frozenset({"attack", "protest", "coercion"})

# A year in the sentence (Western or Arabic-Indic digits): 1900-2099.
_YEAR = re.compile(r"(?<![\d٠-٩])((?:19|20|١٩|٢٠)[\d٠-٩]{2})(?![\d٠-٩])")


def mode_phrases(cues: EventCues) -> list[Phrase]:
    """Cue phrases for the mode words: payload ("mode", event type, rank, mode name)."""
    return [
        Phrase(("mode", event_type, rank, mode), phrase.text, pos=phrase.pos)
        for event_type, modes in cues.modes
        for rank, (mode, phrases) in enumerate(modes)
        for phrase in phrases
    ]


def context_phrases(cues: EventCues) -> list[Phrase]:
    """Cue phrases for the context words: payload ("ctx", context name)."""
    return [Phrase(("ctx", name), word) for name, words in cues.contexts for word in words]


def _payload(hit: PhraseHit) -> tuple[Any, ...]:
    return cast(tuple[Any, ...], hit.payload)


def mode_of(event_type: str, sentence_cues: Sequence[PhraseHit], cues: EventCues) -> str | None:
    """The most specific mode with a word in the sentence (the order of ``modes`` in the trigger
    file), else the type's default mode, else None."""
    ranked = [
        (_payload(c)[2], _payload(c)[3])
        for c in sentence_cues
        if _payload(c)[0] == "mode" and _payload(c)[1] == event_type
    ]
    if ranked:
        return min(ranked)[1]
    return dict(cues.default_modes).get(event_type)


def old_year(sentence: str, publication_year: int | None, since_words: Sequence[str] = ("منذ", "since")) -> bool:
    """True when the sentence names a year at least two before the publication year, not as the
    start of something ongoing ("منذ عام 2011")."""
    if publication_year is None:
        return False
    for match in _YEAR.finditer(sentence):
        if int(match.group(1)) > publication_year - 2:
            continue
        before = sentence[max(0, match.start() - 12) : match.start()]
        if any(word in before for word in since_words):
            continue
        return True
    return False


def context_of(
    trigger: PhraseHit,
    modality: str,
    sentence_cues: Sequence[PhraseHit],
    sentence: str,
    publication_year: int | None,
    window: int,
    since_words: Sequence[str] = ("منذ", "since"),
) -> str | None:
    """PLOVER's temporal context: "historical" (an old year or an anniversary in the sentence),
    "future" (planned), "hypothetical" (conditional, or a conditional word shortly before the
    trigger), else None (the event is told as happening)."""
    names = {_payload(c)[1] for c in sentence_cues if _payload(c)[0] == "ctx"}
    if "historical" in names or old_year(sentence, publication_year, since_words):
        return "historical"
    if modality == "planned":
        return "future"
    if modality == "conditional":
        return "hypothetical"
    for cue in sentence_cues:
        if _payload(cue)[:2] == ("ctx", "hypothetical") and 0 <= trigger.first_token - cue.last_token <= window:
            return "hypothetical"
    return None


def framed_by_earlier_trigger(hit: PhraseHit, sentence_triggers: Sequence[PhraseHit]) -> bool:
    """True when a framing trigger (accusation, investigation, verdict, threat) comes before a
    violence, protest or coercion trigger in the sentence: the sentence reports the framing act and
    only names the other ("اتهمت الحكومة المعارضة باغتيال ...", "قضت المحكمة بسجن منفذ الهجوم")."""
    event_type = str(_payload(hit)[0])
    if event_type not in FRAMED_TYPES:
        return False
    return any(str(_payload(t)[0]) in FRAMING_TYPES and t.last_token < hit.first_token for t in sentence_triggers)
