"""What the report page shows, built from a run's records (pure Python, no Beam, no I/O).

The same model backs the static report (``marsad report``) and the live page (``marsad serve``):
records are added one at a time in any order (an alert may arrive before its article on Kafka),
and ``snapshot(since)`` returns only what changed after a version, so the live page can poll for
deltas instead of reloading 30,000 articles.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pipelines.report.shapes import MalformedRecordError, check_record, event_line

# How much of an article's text the page shows around each match: enough to read the clause.
CONTEXT_CHARS = 70
MAX_MATCH_WINDOWS = 3
# A story can gather hundreds of reprints; the page lists the first ones and says how many more.
MAX_STORY_ARTICLES = 40
MAX_STORY_EVENTS = 25
TOP_MENTIONS = 12


def snippet_segments(text: str, spans: list[tuple[int, int]], context: int = CONTEXT_CHARS) -> list[list]:
    """Windows of ``text`` around the spans, as ``[text, marked]`` pairs; ``"…"`` where text is cut.

    The marked pieces are exactly ``text[start:end]`` of each span: the page marks the alert's own
    offsets, not a re-search of the matched words.
    """
    spans = _union(sorted((max(0, start), min(len(text), end)) for start, end in spans if end > start))
    windows: list[list[int]] = []
    for start, end in spans:
        low = _word_boundary(text, max(0, start - context), backwards=True)
        high = _word_boundary(text, min(len(text), end + context), backwards=False)
        if windows and low <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], high)
        else:
            windows.append([low, high])
    segments: list[list] = []
    for low, high in windows:
        if low > 0:
            segments.append(["…", False])
        cursor = low
        for start, end in spans:
            if start < low or end > high or start < cursor:
                continue
            if start > cursor:
                segments.append([text[cursor:start], False])
            segments.append([text[start:end], True])
            cursor = end
        if cursor < high:
            segments.append([text[cursor:high], False])
        if high < len(text):
            segments.append(["…", False])
    return _merge_ellipses(segments)


def _union(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping spans as one mark (the rules keep the longest of overlapping matches, but a
    rules file may not)."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _word_boundary(text: str, index: int, backwards: bool) -> int:
    """Move ``index`` to the nearest space so windows do not cut Arabic words in half."""
    limit = 20
    step = -1 if backwards else 1
    probe = index
    for _ in range(limit):
        if probe <= 0 or probe >= len(text):
            return max(0, min(len(text), probe))
        if text[probe].isspace():
            return probe + 1 if backwards else probe
        probe += step
    return index


def _merge_ellipses(segments: list[list]) -> list[list]:
    merged: list[list] = []
    for segment in segments:
        if merged and segment == ["…", False] and merged[-1] == ["…", False]:
            continue
        merged.append(segment)
    return merged


def fallback_segments(snippet: str, texts: list[str]) -> list[list]:
    """Without the article's text (not arrived yet), mark the matched words found in the snippet."""
    segments: list[list] = []
    cursor = 0
    while cursor < len(snippet):
        found = [(snippet.find(t, cursor), t) for t in texts if t and snippet.find(t, cursor) >= 0]
        if not found:
            break
        position, matched = min(found)
        if position > cursor:
            segments.append([snippet[cursor:position], False])
        segments.append([matched, True])
        cursor = position + len(matched)
    if cursor < len(snippet):
        segments.append([snippet[cursor:], False])
    return segments


@dataclass
class _Story:
    article_ids: list[str] = field(default_factory=list)
    sources: Counter = field(default_factory=Counter)
    event_ids: list[str] = field(default_factory=list)
    version: int = 0


class ReportModel:
    """Runs' records in, the page's data out. Thread-safe: the live server feeds it from a consumer."""

    def __init__(self, bodies_of_alerted_only: bool = False) -> None:
        """``bodies_of_alerted_only``: keep an article's body only when an alert read before it needs
        it for its snippet (a run's files, alerts read first: 30,000 bodies would be most of the memory)."""
        self._lock = threading.Lock()
        self._bodies_of_alerted_only = bodies_of_alerted_only
        self.version = 0
        self.articles: dict[str, dict] = {}  # id -> the few fields the page shows (and the texts)
        self.alerts: dict[str, dict] = {}  # alert_id -> latest revision
        self.revisions_seen: Counter = Counter()  # alert_id -> revision records read
        self.events: dict[str, dict] = {}
        self.stories: dict[str, _Story] = {}
        self.alert_version: dict[str, int] = {}
        self.alerts_by_article: dict[str, set[str]] = {}
        self.alerts_by_story: dict[str, set[str]] = {}
        self.statuses: Counter = Counter()
        self.dead_letters: Counter = Counter()  # (stage, reason) -> count
        self.dead_letter_examples: dict[tuple[str, str], dict] = {}
        self.places: Counter = Counter()
        self.actors: Counter = Counter()
        self.names: dict[str, dict] = {}
        self.run_summary: dict | None = None
        self.problems: Counter = Counter()  # (kind, reason) -> records the page could not use

    # --- records in -------------------------------------------------------------------------

    def add(self, kind: str, record: dict) -> None:
        """Add one record of an output ``kind`` (articles, alerts, events, deadletter); a record
        without the fields the page reads is counted as a problem (``MalformedRecordError`` is raised)."""
        try:
            check_record(kind, record)
        except MalformedRecordError as error:
            self.count_problem(kind, f"malformed {kind} record: {error}")
            raise
        adder = {
            "articles": self.add_article,
            "alerts": self.add_alert,
            "events": self.add_event,
            "deadletter": self.add_dead_letter,
        }[kind]
        adder(record)

    def count_problem(self, kind: str, reason: str) -> None:
        """A record of ``kind`` the page could not use (not JSON, or malformed), shown by reason."""
        with self._lock:
            self.version += 1
            self.problems[(kind, reason)] += 1

    def add_article(self, record: dict) -> None:
        """Count an article once; its body is kept only when the page may show it."""
        with self._lock:
            article_id = record.get("id")
            if not article_id or article_id in self.articles:
                return
            self.version += 1
            dedup = record.get("dedup") or {}
            self.statuses[dedup.get("status", "unique")] += 1
            self.articles[article_id] = {
                "id": article_id,
                "title": record.get("title") or "",
                "body": ""
                if self._bodies_of_alerted_only and article_id not in self.alerts_by_article
                else record.get("body") or "",
                "source": record.get("source") or "unknown",
                "published": record.get("published"),
                "url": record.get("url"),
                "lang": record.get("lang") or "",
                "status": dedup.get("status", "unique"),
                "story_id": dedup.get("story_id"),
            }
            story_id = dedup.get("story_id")
            if story_id:
                story = self.stories.setdefault(story_id, _Story())
                story.article_ids.append(article_id)
                story.sources[record.get("source") or "unknown"] += 1
                story.version = self.version
                for alert_id in self.alerts_by_story.get(story_id, ()):
                    self.alert_version[alert_id] = self.version
            for alert_id in self.alerts_by_article.get(article_id, ()):
                self.alert_version[alert_id] = self.version

    def add_alert(self, record: dict) -> None:
        """Keep an alert's latest revision, whatever order revisions arrive in."""
        with self._lock:
            alert_id = record["alert_id"]
            self.revisions_seen[alert_id] += 1
            current = self.alerts.get(alert_id)
            if current is not None and current.get("revision", 1) > record.get("revision", 1):
                return  # an older revision, re-delivered or out of order: the latest one stays
            self.version += 1
            self.alerts[alert_id] = record
            self.alert_version[alert_id] = self.version
            for article_id in record.get("article_ids") or [record["article_id"]]:
                self.alerts_by_article.setdefault(article_id, set()).add(alert_id)
            story_id = record.get("story_id")
            if story_id:
                self.alerts_by_story.setdefault(story_id, set()).add(alert_id)

    def add_event(self, record: dict) -> None:
        """Count an event once, with its places and actors."""
        with self._lock:
            event_id = record.get("event_id")
            if not event_id or event_id in self.events:
                return
            self.version += 1
            self.events[event_id] = record
            for place in record.get("locations") or []:
                self.places[place["id"]] += 1
                self.names.setdefault(place["id"], {"name": place.get("name"), "name_ar": place.get("name_ar")})
            for actor in record.get("actors") or []:
                self.actors[actor["id"]] += 1
                self.names.setdefault(actor["id"], {"name": actor.get("name"), "name_ar": actor.get("name_ar")})
            story_id = record.get("story_id")
            if story_id:
                story = self.stories.setdefault(story_id, _Story())
                story.event_ids.append(event_id)
                story.version = self.version

    def add_dead_letter(self, record: dict) -> None:
        """Count a dead letter by stage and reason, keeping the first one's origin as an example."""
        with self._lock:
            self.version += 1
            key = (record.get("stage") or "?", record.get("reason") or "?")
            self.dead_letters[key] += 1
            self.dead_letter_examples.setdefault(key, record.get("origin") or {})

    def set_summary(self, summary: dict) -> None:
        """A batch run's ``summary.json``: its counts win over counting the records."""
        with self._lock:
            self.version += 1
            self.run_summary = summary

    # --- the page's data out ----------------------------------------------------------------

    def snapshot(self, since: int = 0) -> dict[str, Any]:
        """Everything the page needs, or (``since`` > 0) the alerts and stories changed after it."""
        with self._lock:
            alert_ids = [a for a, v in self.alert_version.items() if v > since]
            story_ids = {self.alerts[a].get("story_id") for a in alert_ids} | {
                s for s, story in self.stories.items() if story.version > since and s in self.alerts_by_story
            }
            story_ids.discard(None)
            return {
                "version": self.version,
                "alerts": [self._alert_entry(self.alerts[a]) for a in alert_ids],
                "stories": {s: self._story_entry(s) for s in story_ids if s in self.stories},
                "summary": self._summary(),
                "dead_letters": [
                    {
                        "stage": stage,
                        "reason": reason,
                        "count": count,
                        "example": self.dead_letter_examples[(stage, reason)],
                    }
                    for (stage, reason), count in self.dead_letters.most_common()
                ],
                "problems": [
                    {"kind": kind, "reason": reason, "count": count}
                    for (kind, reason), count in self.problems.most_common()
                ],
                "places": self._top(self.places),
                "actors": self._top(self.actors),
            }

    def _alert_entry(self, alert: dict) -> dict:
        article = self.articles.get(alert["article_id"])
        matches = alert.get("matches") or []
        segments: dict[str, list] = {}
        exact = article is not None
        if article is not None:
            for field_name in ("title", "body"):
                spans = [(m["start"], m["end"]) for m in matches if m.get("field") == field_name]
                if field_name == "body":
                    spans = spans[:MAX_MATCH_WINDOWS]
                if spans:
                    segments[field_name] = snippet_segments(article[field_name], spans)
        else:
            segments["body"] = fallback_segments(alert.get("snippet") or "", [m.get("text", "") for m in matches])
        mention_ids = alert.get("article_ids") or [alert["article_id"]]
        outlets = sorted({self.articles[a]["source"] for a in mention_ids if a in self.articles})
        return {
            "alert_id": alert["alert_id"],
            "rule_id": alert["rule_id"],
            "title": alert.get("title") or alert["rule_id"],
            "severity": alert.get("severity", "medium"),
            "lang": alert.get("lang") or (article or {}).get("lang", ""),
            "story_id": alert.get("story_id"),
            "article_id": alert["article_id"],
            "article_title": (article or {}).get("title", ""),
            "article_url": (article or {}).get("url"),
            "published": alert.get("published"),
            "detected_at": alert.get("detected_at"),
            "time": alert.get("published") or alert.get("detected_at"),
            "mention_count": alert.get("mention_count", 1),
            "mention_ids": mention_ids,
            "outlets": outlets,
            "revision": alert.get("revision", 1),
            "revisions_seen": self.revisions_seen[alert["alert_id"]],
            "matches": [
                {"term": m["term"], "text": m["text"], "field": m["field"], "start": m["start"], "end": m["end"]}
                for m in matches
            ],
            "segments": segments,
            "exact": exact,
        }

    def _story_entry(self, story_id: str) -> dict:
        story = self.stories[story_id]
        articles = [self.articles[a] for a in story.article_ids[:MAX_STORY_ARTICLES]]
        events = [self.events[e] for e in story.event_ids[:MAX_STORY_EVENTS]]
        return {
            "article_count": len(story.article_ids),
            "outlets": [{"name": name, "count": count} for name, count in story.sources.most_common()],
            "articles": [
                {k: a[k] for k in ("id", "title", "source", "published", "url", "status", "lang")} for a in articles
            ],
            "event_count": len(story.event_ids),
            "events": [event_line(e) for e in events],
        }

    def _top(self, counter: Counter) -> list[dict]:
        return [
            {"id": key, "count": count, **self.names.get(key, {})} for key, count in counter.most_common(TOP_MENTIONS)
        ]

    def _summary(self) -> dict:
        """The run's own summary when there is one (file outputs); counts of what was seen otherwise."""
        seen_dead = sum(
            n for (stage, _), n in self.dead_letters.items() if stage in ("read", "parse", "normalize", "dedup")
        )
        stage_errors = sum(self.dead_letters.values()) - seen_dead
        observed = {
            "read": len(self.articles) + seen_dead,
            "unique": self.statuses["unique"],
            "duplicate": self.statuses["duplicate"],
            "near_duplicate": self.statuses["near_duplicate"],
            "dead_letters": seen_dead,
            "stage_errors": stage_errors,
            "alerts": len(self.alerts),
            "alert_revisions": sum(self.revisions_seen.values()),
            "events": len(self.events),
            "stories": len(self.stories),
        }
        summary = dict(self.run_summary) if self.run_summary else dict(observed)
        summary["reconciled"] = summary["read"] == (
            summary["unique"] + summary["duplicate"] + summary["near_duplicate"] + summary["dead_letters"]
        )
        summary["source"] = "summary.json" if self.run_summary else "records"
        summary["observed"] = observed
        return summary
