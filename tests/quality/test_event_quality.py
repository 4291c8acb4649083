"""Event types on 100 real sentences labelled by reading (tests/devsets/events.jsonl). Needs
../shared/corpora; skipped when it is absent."""

import pytest

from evaluation.events import load_sentences, scores

pytestmark = pytest.mark.corpus


def test_ceasefire_and_postponement_meet_their_targets(corpus_path):
    results = scores(load_sentences(corpus_path))
    for event_type in ("ceasefire", "postponement"):
        assert results[event_type]["precision"] >= 0.9, results[event_type]["errors"]
        assert results[event_type]["recall"] >= 0.8, results[event_type]["errors"]
    assert all(results[t]["tp"] + results[t]["fn"] >= 15 for t in ("ceasefire", "postponement"))
