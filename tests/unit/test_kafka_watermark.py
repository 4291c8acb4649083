"""The Kafka reader's idle-watermark rule as pure functions: plain numbers, no Beam, no broker.

Event times are microseconds, wall-clock times seconds; the reader's own use of the rule is
test_kafka_source.py."""

from __future__ import annotations

import subprocess
import sys

from transforms.io.kafka.watermark import LastRecord, advanced, caught_up, delay_seconds, idle_watermark, micros

OLD = 1_530_000_000 * 1_000_000  # mid-2018 in microseconds, as a replayed archive
NOW = 1_800_000_000.0  # the wall clock, in seconds
IDLE = 5_000_000  # five seconds of grace


def test_the_rule_and_the_admin_import_no_beam():
    # Checked in a fresh interpreter: this test session may have imported Beam for other tests.
    modules = ["address", "admin", "backpressure", "watermark"]
    code = "".join(f"import transforms.io.kafka.{m}; " for m in modules)
    code += "import sys; assert 'apache_beam' not in sys.modules, 'Beam imported'"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_records_below_the_end_are_not_idleness():
    # The first fetches after a start come back empty while a backlog waits.
    assert not caught_up(position=0, fetched_position=0, end=1000)
    assert not caught_up(position=0, fetched_position=None, end=1000)
    assert not caught_up(position=999, fetched_position=500, end=1000)


def test_a_reader_at_the_end_is_caught_up_by_its_own_position_or_the_consumers():
    assert caught_up(position=1000, fetched_position=0, end=1000)
    assert caught_up(position=10, fetched_position=1000, end=1000)  # the consumer fetched further
    assert caught_up(position=0, fetched_position=None, end=0)  # an empty partition


def test_a_caught_up_partition_moves_on_with_the_clock_from_its_last_record():
    last = LastRecord(NOW - 60, OLD)
    idle, kept = idle_watermark(last, OLD, NOW, IDLE)
    assert idle == OLD + 60_000_000 - IDLE
    assert kept == last


def test_after_a_restart_it_moves_on_from_the_restored_watermark_not_from_now():
    # A job restored from a savepoint has no last record in memory, only the watermark: jumping
    # to the present would expire the dedup state of the whole archive.
    idle, kept = idle_watermark(None, OLD, NOW, IDLE)
    assert idle == OLD
    assert kept == LastRecord(NOW, OLD + IDLE)  # remembered, so the next empty poll moves on from here
    later, _ = idle_watermark(kept, OLD, NOW + 30, IDLE)
    assert later == OLD + 30_000_000


def test_a_partition_that_never_had_a_record_follows_the_clock():
    idle, kept = idle_watermark(None, None, NOW, IDLE)
    assert idle == micros(NOW) - IDLE
    assert kept is None


def test_micros_truncate_like_beam():
    assert micros(1.5) == 1_500_000
    assert micros(0.0000019) == 1


def test_a_watermark_never_moves_back_and_stops_at_the_end_of_time():
    assert advanced(None, OLD, 2**62) == OLD
    assert advanced(OLD, OLD + 1, 2**62) == OLD + 1
    assert advanced(OLD, OLD, 2**62) is None
    assert advanced(OLD, OLD - 1, 2**62) is None
    assert advanced(OLD, 2**63, 2**62) == 2**62


def test_delay_is_wall_clock_minus_event_time():
    assert delay_seconds(OLD, OLD / 1e6 + 90) == 90
