"""The Kafka reader's back-pressure rule as a pure function: at most one read batch in flight per
partition when a Kafka sink in the same process tracks what is written."""

from __future__ import annotations

from transforms.io.kafka.backpressure import room


def test_without_a_ledger_the_reader_reads_full_batches():
    assert room(batch=200, position=10_000, written=None) == 200


def test_room_is_the_batch_less_what_is_read_but_not_written():
    assert room(batch=200, position=1_000, written=1_000) == 200  # everything read is written
    assert room(batch=200, position=1_150, written=1_000) == 50
    assert room(batch=200, position=1_200, written=1_000) == 0  # a full batch in flight: wait


def test_a_reader_further_ahead_than_a_batch_gets_no_room():
    # After a rebalance or a slow sink the reader may be more than a batch ahead: it waits.
    assert room(batch=200, position=1_500, written=1_000) == -300
