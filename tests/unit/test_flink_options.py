"""What marsad gives and asks of a Flink stream job: its Beam options (pipelines/runners/flink.py) and
the end of a backfill (transforms/io/kafka/admin.py WrittenToStops); no cluster or broker needed."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from kafka import TopicPartition

from pipelines.runners.flink import flink_options
from transforms.io.kafka.admin import PartitionPlan

ENDPOINT = "localhost:8099"  # a running job server: flink_options then needs no jar


def test_stream_jobs_finish_their_bundles_before_a_checkpoint():
    # Without it, a checkpoint during the first bundle of the stage fed by the Impulse leaves the
    # partition plans in that operator's checkpoint buffer for good: the job never reads.
    options = flink_options("localhost:8081", streaming=True, job_endpoint=ENDPOINT)
    assert "--finish_bundle_before_checkpointing" in options
    assert "--checkpointing_interval=30000" in options


def test_the_users_own_options_come_last_and_are_not_repeated():
    extra = ["--finish_bundle_before_checkpointing", "--checkpointing_interval=1000"]
    options = flink_options("localhost:8081", streaming=True, job_endpoint=ENDPOINT, extra=extra)
    assert options.count("--finish_bundle_before_checkpointing") == 1
    assert options[-2:] == extra
    assert not any(o.startswith("--checkpointing_interval=30000") for o in options)


def test_batch_jobs_have_no_checkpoint_options():
    options = flink_options("localhost:8081", streaming=False, job_endpoint=ENDPOINT)
    assert not any(o.startswith(("--checkpointing_interval", "--finish_bundle")) for o in options)


class StandInGroup:
    """The group's committed offsets, as a KafkaConsumer of the group reports them."""

    committed_offsets: ClassVar[dict[int, int | None]] = {}

    def __init__(self, **_config: object) -> None:
        pass

    def committed(self, tp: TopicPartition, timeout_ms: int | None = None) -> int | None:
        return self.committed_offsets.get(tp.partition)

    def close(self) -> None:
        pass


def written_to_stops(monkeypatch: pytest.MonkeyPatch, plans: list[PartitionPlan], committed: dict) -> bool:
    import transforms.io.kafka.admin as admin

    monkeypatch.setattr(admin, "KafkaConsumer", StandInGroup)
    monkeypatch.setattr(StandInGroup, "committed_offsets", committed)
    return admin.WrittenToStops("unused:9092", "group", plans)()


def test_a_backfill_is_done_when_the_group_has_committed_every_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    plans = [PartitionPlan("news", 0, 0, 70), PartitionPlan("news", 1, 5, 5), PartitionPlan("news", 2, 0, 60)]
    assert written_to_stops(monkeypatch, plans, {0: 70, 2: 60})
    assert not written_to_stops(monkeypatch, plans, {0: 70, 2: 59}), "a record of partition 2 is not written"
    assert not written_to_stops(monkeypatch, plans, {0: 70}), "nothing committed for partition 2 yet"
    assert written_to_stops(monkeypatch, [PartitionPlan("news", 0, 9, 9)], {}), "nothing to read"


def test_a_job_without_an_end_is_never_done(monkeypatch: pytest.MonkeyPatch) -> None:
    plans = [PartitionPlan("news", 0, 0, 70), PartitionPlan("news", 1, 0, None)]
    assert not written_to_stops(monkeypatch, plans, {0: 70, 1: 10**9})


def test_stream_jobs_keep_their_last_checkpoint_when_cancelled():
    # Without both, Flink deletes the checkpoints of a cancelled job: nothing to resume from.
    options = flink_options("localhost:8081", streaming=True, job_endpoint=ENDPOINT)
    assert "--externalized_checkpoints_enabled" in options
    assert "--retain_externalized_checkpoints_on_cancellation" in options


def test_retained_checkpoint_flags_the_user_gave_are_not_repeated():
    # (Beam's portable runner declares these Java booleans store_true: "=false" is refused at
    # submission, so there is no opt-out to pass through, only a flag not to repeat.)
    extra = ["--retain_externalized_checkpoints_on_cancellation"]
    options = flink_options("localhost:8081", streaming=True, job_endpoint=ENDPOINT, extra=extra)
    assert options.count("--retain_externalized_checkpoints_on_cancellation") == 1
    assert options.count("--externalized_checkpoints_enabled") == 1


def test_batch_jobs_do_not_externalize_checkpoints():
    options = flink_options("localhost:8081", streaming=False, job_endpoint=ENDPOINT)
    assert not any(o.startswith(("--externalized", "--retain_externalized")) for o in options)


def test_the_local_cluster_bounds_its_restarts():
    # Flink 1.19's default with checkpoints (exponential-delay, no limit) kept a job whose
    # LOOPBACK driver was killed cycling RESTARTING/RUNNING for good instead of ending FAILED.
    config = (Path(__file__).resolve().parents[2] / "docker" / "flink" / "config.yaml.in").read_text()
    settings = dict(line.split(": ", 1) for line in config.splitlines() if line and not line.startswith("#"))
    assert settings["restart-strategy.type"] == "failure-rate"
    assert int(settings["restart-strategy.failure-rate.max-failures-per-interval"]) > 0
