"""The at-least-once bookkeeping of the Kafka sink without a broker: commit points over settled
offset ranges, and the ledger that commits them (a stand-in for the group's consumer)."""

from transforms.io.kafka.ledger import OffsetLedger, merge_settled


def test_commit_point_moves_only_over_contiguous_settled_offsets():
    committed, pending = 10, {}
    committed, pending = merge_settled(committed, pending, 12, 13)  # 12 settled, 10-11 not yet
    assert (committed, pending) == (10, {12: 13})
    committed, pending = merge_settled(committed, pending, 10, 11)
    assert (committed, pending) == (11, {12: 13})
    committed, pending = merge_settled(committed, pending, 11, 12)
    assert (committed, pending) == (13, {})


def test_commit_ranges_cover_gaps_and_ignore_redeliveries():
    # A record whose range starts at the commit point covers offsets skipped by the broker.
    assert merge_settled(5, {}, 5, 9) == (9, {})
    assert merge_settled(9, {}, 3, 4) == (9, {})  # re-delivered and already committed
    assert merge_settled(9, {}, 7, 12) == (12, {})  # overlaps the commit point


class _FakeCommits:
    """Stands in for the group's KafkaConsumer: records commits, or fails like an absent broker."""

    def __init__(self) -> None:
        self.commits: list[dict[str, int]] = []
        self.away = False

    def commit(self, offsets, timeout_ms=None):
        from kafka.errors import KafkaTimeoutError

        if self.away:
            raise KafkaTimeoutError("broker away")
        self.commits.append({f"{tp.topic}/{tp.partition}": meta.offset for tp, meta in offsets.items()})


def test_ledger_commits_each_contiguous_prefix_at_once_and_catches_up_after_a_failed_commit():
    ledger = OffsetLedger("unused:1", "group")
    fake = _FakeCommits()
    ledger._consumer = fake
    ledger.start_at({"t/0": 10, "t/1": 0})
    ledger.settle([("t/0", 11, 12)])  # written out of order: 10 is not yet
    assert ledger.positions() == {"t/0": 10, "t/1": 0}
    assert ledger.settle([("t/0", 10, 11)]) == {"t/0": 12}
    fake.away = True
    assert ledger.settle([("t/1", 0, 5)]) == {}  # nothing committed, nothing forgotten
    fake.away = False
    assert ledger.retry() == {"t/1": 5}
    assert ledger.retry() == {}
    assert fake.commits[-2:] == [{"t/0": 12}, {"t/1": 5}]
