"""The story step's worker cache against its Beam state, without a runner: the DoFn is called as a
runner would call it, with state objects that can be copied (a checkpoint) and put back (a
restore), while the worker process and its cache live on (LOOPBACK, or an SDK worker that
outlived a TaskManager)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from apache_beam.utils.timestamp import Timestamp

from schemas.records import Article
from transforms import story_log
from transforms.beam.prepare import _Prepared
from transforms.beam.stories import WORKER_INDEXES, _StoryDoFn
from transforms.similarity import signature
from transforms.stories import DEFAULT_THRESHOLDS

HOUR = 3600
TEXT = (
    "أعلنت الأطراف المتحاربة في اليمن هدنة إنسانية لمدة ثلاثة أيام في مدينة الحديدة اعتبارا من صباح الغد، وفق ما"
    " أعلن المبعوث الأممي. وقال المبعوث إن الهدنة تهدف إلى إيصال المساعدات الإنسانية إلى آلاف العائلات المحاصرة في"
    " الأحياء الشرقية من المدينة، وإلى إجلاء الجرحى والمرضى عبر ممرات آمنة تشرف عليها فرق الأمم المتحدة."
)
OTHER = "افتتح معرض الكتاب الدولي في القاهرة بمشاركة واسعة من دور النشر العربية والأجنبية هذا العام."


class Value:
    """A ReadModifyWriteState."""

    def __init__(self) -> None:
        self.value: Any = None

    def read(self) -> Any:
        return self.value

    def write(self, value: Any) -> None:
        self.value = value

    def clear(self) -> None:
        self.value = None


class Bag:
    """A BagState."""

    def __init__(self) -> None:
        self.items: list[bytes] = []

    def read(self) -> list[bytes]:
        return list(self.items)

    def add(self, item: bytes) -> None:
        self.items.append(item)

    def clear(self) -> None:
        self.items = []


class Timer:
    def set(self, when: Timestamp) -> None:
        self.when = when


def new_state() -> dict[str, Any]:
    return {"log": Bag(), "log_size": Value(), "generation": Value(), "swept_until": Value(), "sweep_at": Value()}


def prepared(article_id: str, body: str) -> _Prepared:
    article = Article(article_id, "test", None, None, "", body, "ar")
    return _Prepared(article, "fp-" + body, None, signature("", body), (), ())


def run(dofn: _StoryDoFn, state: dict[str, Any], article_id: str, body: str, hours: float) -> tuple[str, str | None]:
    (out,) = dofn.process(("stories", prepared(article_id, body)), Timestamp(seconds=hours * HOUR), **state,
                          sweep=Timer())  # fmt: skip
    return out.article.dedup.status, out.article.dedup.duplicate_of


def logged_ids(state: dict[str, Any]) -> list[str]:
    return [story_log.unpack(d)[1].article_id for d in state["log"].read() if story_log.unpack(d)[0] == "article"]


def test_a_restored_state_older_than_the_cache_is_rebuilt_from() -> None:
    """Cache at generation N, state restored to N - 1: the step rebuilds from the restored log, so
    what is processed again after the restore is logged again and decided as the first time."""
    dofn = _StoryDoFn(72 * HOUR, DEFAULT_THRESHOLDS)
    state = new_state()
    assert run(dofn, state, "a", OTHER, 0) == ("unique", None)
    checkpoint = copy.deepcopy(state)  # generation N - 1: a
    assert run(dofn, state, "b", TEXT, 1) == ("unique", None)  # generation N: a, b (cache and state)
    cached = WORKER_INDEXES.slot(dofn._step_id)
    assert cached.generation is not None and cached.generation.counter == 2
    assert cached.generation == state["generation"].read()
    # The TaskManager fails; Flink restores the checkpoint; the worker's cache still holds b.
    state = checkpoint
    assert not story_log.cache_matches(cached.generation, state["generation"].read())
    assert run(dofn, state, "b", TEXT, 1) == ("unique", None)  # b re-read after the restore
    assert logged_ids(state) == ["a", "b"]  # without the check, b was known and not logged again
    assert run(dofn, state, "copy", TEXT, 2) == ("duplicate", "b")
    # A later rebuild from the state alone (the worker gone) holds every article.
    assert len(story_log.rebuild(state["log"].read(), 72 * HOUR)) == 3


def test_a_matching_cache_is_used_and_a_redelivery_leaves_the_generation() -> None:
    dofn = _StoryDoFn(72 * HOUR, DEFAULT_THRESHOLDS)
    state = new_state()
    run(dofn, state, "a", TEXT, 0)
    slot = WORKER_INDEXES.slot(dofn._step_id)
    index, generation = slot.index, state["generation"].read()
    assert run(dofn, state, "a", TEXT, 0) == ("unique", None)  # the same id again: nothing new
    assert slot.index is index and state["generation"].read() == generation
    assert logged_ids(state) == ["a"]
    run(dofn, state, "b", OTHER, 1)
    assert slot.index is index  # same generation in the state and the cache: no rebuild


def test_a_state_from_another_history_is_rebuilt_from() -> None:
    """Two states that reached the same counter along different histories (a restore that then
    went on) are told apart by the generation's nonce."""
    dofn = _StoryDoFn(72 * HOUR, DEFAULT_THRESHOLDS)
    state = new_state()
    run(dofn, state, "a", OTHER, 0)
    checkpoint = copy.deepcopy(state)
    run(dofn, state, "b", TEXT, 1)
    other = copy.deepcopy(checkpoint)  # another worker restores the checkpoint, goes on without b
    run(_StoryDoFn(72 * HOUR, DEFAULT_THRESHOLDS), other, "c", OTHER + " وأضاف.", 1)
    assert other["generation"].read().counter == state["generation"].read().counter
    # Back in the first worker (same step, same cache) with the other history's state: b is unknown.
    assert run(dofn, other, "copy", TEXT, 2) == ("unique", None)


def test_where_state_is_never_restored_the_worker_index_is_trusted() -> None:
    """Prism 2.77 runs one key's bundles in two copies whose states diverge (each sees only its own
    writes): there, where no restore can happen, the worker's index holds what both decided."""
    dofn = _StoryDoFn(72 * HOUR, DEFAULT_THRESHOLDS, check_worker_index=False)
    first, second = new_state(), new_state()
    run(dofn, first, "a", TEXT, 0)
    assert run(dofn, second, "copy", TEXT, 1) == ("duplicate", "a")  # the other copy's state lacks a


def test_a_failed_rebuild_leaves_no_half_built_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rebuild that raises fails the bundle (the runner retries it) and keeps no partial index:
    the next attempt rebuilds again from the state."""
    dofn = _StoryDoFn(72 * HOUR, DEFAULT_THRESHOLDS)
    state = new_state()
    run(dofn, state, "a", TEXT, 0)
    checkpoint = copy.deepcopy(state)
    run(dofn, state, "b", OTHER, 1)
    slot = WORKER_INDEXES.slot(dofn._step_id)
    before = (slot.index, slot.generation)
    real = story_log.rebuild

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("The given key already exists")

    monkeypatch.setattr(story_log, "rebuild", broken)
    with pytest.raises(ValueError):  # the bundle fails
        run(dofn, checkpoint, "c", OTHER + " وأضاف.", 2)
    assert (slot.index, slot.generation) == before  # nothing half-built was kept
    monkeypatch.setattr(story_log, "rebuild", real)
    assert run(dofn, checkpoint, "copy", TEXT, 2) == ("duplicate", "a")
    assert logged_ids(checkpoint) == ["a", "copy"]
