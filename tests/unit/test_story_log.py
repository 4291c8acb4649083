"""The story index's durable log without a runner: packing, rebuilding, sweep timing, compaction."""

from __future__ import annotations

import dataclasses

from schemas.records import Dedup
from transforms import story_log
from transforms.similarity import signature
from transforms.stories import StoryIndex

HOUR = 3600
TEXT = (
    "أعلنت الأطراف المتحاربة في اليمن هدنة إنسانية لمدة ثلاثة أيام في مدينة الحديدة اعتبارا من صباح الغد، وفق ما"
    " أعلن المبعوث الأممي. وقال المبعوث إن الهدنة تهدف إلى إيصال المساعدات الإنسانية إلى آلاف العائلات المحاصرة في"
    " الأحياء الشرقية من المدينة، وإلى إجلاء الجرحى والمرضى عبر ممرات آمنة تشرف عليها فرق الأمم المتحدة."
)
OTHER = "افتتح معرض الكتاب الدولي في القاهرة بمشاركة واسعة من دور النشر العربية والأجنبية هذا العام."


def decide(index: StoryIndex, article_id: str, hours: float, body: str) -> Dedup:
    return index.decide(article_id, hours * HOUR, "fp-" + body, None, signature("", body))


def test_a_record_survives_packing() -> None:
    index = StoryIndex(72 * HOUR)
    decide(index, "a", 0, TEXT)
    (record,) = index.drain_log()
    data = story_log.pack(record)
    assert isinstance(data, bytes)
    kind, entry = story_log.unpack(data)
    assert (kind, entry.article_id, entry.dedup) == ("article", "a", record[1].dedup)
    assert story_log.pack(story_log.unpack(data)) == data
    assert story_log.pack_all([record, record]) == [data, data]


def test_the_rebuilt_index_decides_as_the_original() -> None:
    index = StoryIndex(72 * HOUR)
    decide(index, "a", 0, TEXT)
    decide(index, "b", 1, OTHER)
    log = story_log.pack_all(index.drain_log())
    rebuilt = story_log.rebuild(log, 72 * HOUR)
    assert len(rebuilt) == 2
    copy = decide(rebuilt, "c", 2, TEXT)
    assert (copy.status, copy.duplicate_of) == ("duplicate", "a")
    assert [record[1].article_id for record in rebuilt.drain_log()] == ["c"]  # replaying logged nothing


def test_a_rebuild_forgets_again_what_the_last_sweep_forgot() -> None:
    index = StoryIndex(72 * HOUR)
    decide(index, "a", 0, TEXT)
    decide(index, "b", 100, OTHER)
    log = story_log.pack_all(index.drain_log())
    assert len(story_log.rebuild(log, 72 * HOUR)) == 2
    rebuilt = story_log.rebuild(log, 72 * HOUR, swept_until=80 * HOUR)
    assert len(rebuilt) == 1
    assert decide(rebuilt, "c", 101, TEXT).status == "unique"  # "a" is gone


def test_late_only_behind_a_sweep() -> None:
    assert not story_log.is_late(10.0, 0.0)  # never swept: nothing is forgotten yet
    assert story_log.is_late(10.0, 20.0)
    assert not story_log.is_late(20.0, 20.0)


def test_sweep_schedule() -> None:
    schedule = story_log.SweepSchedule.for_retention(72 * HOUR)
    assert (schedule.lateness_seconds, schedule.every_seconds) == (72 * HOUR, 18 * HOUR)
    assert schedule.due(0) == 144 * HOUR  # retention + lateness, on the sweep period
    assert schedule.due(1) == 162 * HOUR  # rounded up
    assert schedule.horizon(200 * HOUR) == 128 * HOUR
    assert schedule.next_after(0, 144 * HOUR) == 162 * HOUR  # strictly after the sweep that fired
    assert schedule.next_after(50 * HOUR, 144 * HOUR) == schedule.due(50 * HOUR)
    short = story_log.SweepSchedule.for_retention(2 * HOUR, allowed_lateness_seconds=0)
    assert (short.lateness_seconds, short.every_seconds) == (0, HOUR)  # at least an hour apart


def test_compaction_only_when_the_forgotten_outnumber_the_live() -> None:
    assert not story_log.needs_compaction(1, 1)
    assert story_log.needs_compaction(2, 1)


def test_a_sweep_forgets_and_compacts_when_due() -> None:
    index = StoryIndex(72 * HOUR)
    decide(index, "a", 0, TEXT)
    decide(index, "b", 100, OTHER)
    decide(index, "c", 101, TEXT + " وأضاف المبعوث.")
    index.drain_log()
    first = story_log.sweep(index, 80 * HOUR, stale=0)
    assert (first.horizon, first.forgotten, first.remembered, first.stale, first.compacted) == (
        80 * HOUR,
        1,
        2,
        1,
        None,
    )
    decide(index, "d", 102, OTHER + " وأضاف.")
    index.drain_log()
    second = story_log.sweep(index, 173.5 * HOUR, stale=first.stale)  # forgets b (100 h) and c (101 h)
    assert (second.forgotten, second.remembered, second.stale) == (2, 1, 0)
    assert second.compacted is not None
    rebuilt = story_log.rebuild(second.compacted, 72 * HOUR)
    assert [(kind, entry.article_id) for kind, entry in rebuilt.snapshot()] == [("article", "d")]


def test_a_generation_matches_only_itself() -> None:
    first = story_log.FIRST_GENERATION.next(1)
    second = first.next(2)
    assert story_log.cache_matches(second, second)
    assert not story_log.cache_matches(None, second)  # a worker without an index
    assert not story_log.cache_matches(second, first)  # a state restored to an earlier generation
    assert not story_log.cache_matches(first, second)
    assert story_log.cache_matches(story_log.FIRST_GENERATION, None)  # nothing written yet
    # Two histories that reach the same counter and log length are still told apart.
    assert first.next(2) != second and (first.next(2).counter, first.next(2).log_size) == (2, 2)


def test_a_log_with_one_id_twice_rebuilds_with_the_later_record() -> None:
    """A same-id re-publish decided again after a sweep forgot the first: two article records of
    one id in the log. MinHashLSH refuses a key twice ("The given key already exists"); the
    rebuild keeps the last record instead of crashing."""
    index = StoryIndex(72 * HOUR)
    decide(index, "a", 0, TEXT)
    decide(index, "b", 1, OTHER)
    first = index.drain_log()
    index.expire(80 * HOUR)  # the sweep forgets a and b; their records stay in the log (stale)
    decide(index, "a", 90, TEXT)  # the same id again, much later: decided anew
    log = story_log.pack_all(first + index.drain_log())
    assert [story_log.unpack(d)[1].article_id for d in log].count("a") == 2
    rebuilt = story_log.rebuild(log, 72 * HOUR)
    assert len(rebuilt) == 2
    (kept,) = [entry for kind, entry in rebuilt.snapshot() if kind == "article" and entry.article_id == "a"]
    assert kept.timestamp == 90 * HOUR
    assert decide(rebuilt, "copy", 91, TEXT).duplicate_of == "a"
    assert len(story_log.rebuild(log, 72 * HOUR, swept_until=80 * HOUR)) == 1  # b forgotten again, a kept


def test_replaying_one_record_twice_does_not_crash() -> None:
    index = StoryIndex(72 * HOUR)
    decide(index, "a", 0, TEXT)
    (record,) = index.drain_log()
    rebuilt = StoryIndex(72 * HOUR)
    rebuilt.replay(record)
    rebuilt.replay(record)
    assert len(rebuilt) == 1
    assert decide(rebuilt, "copy", 1, TEXT).duplicate_of == "a"


def test_latest_per_article_keeps_alerts_and_the_last_of_each_id() -> None:
    index = StoryIndex(72 * HOUR)
    decide(index, "a", 0, TEXT)
    decide(index, "b", 1, OTHER)
    a, b = index.drain_log()
    later_a = ("article", dataclasses.replace(a[1], timestamp=5.0))
    alert = ("alert", "st-x", object())
    assert story_log.latest_per_article([a, alert, b, later_a]) == [alert, b, later_a]
