"""The Beam options marsad gives a Flink job (pipelines/runners/flink.py); no cluster needed."""

from __future__ import annotations

from pipelines.runners.flink import flink_options

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
