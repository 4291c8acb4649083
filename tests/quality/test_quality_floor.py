"""Regression floors on the held-out TEST splits (``python -m benchmarks.quality`` prints the full report).

Each floor sits a few points under the figure reached when the rules, triggers and thresholds
were last tuned (on the dev splits), so quality cannot drop silently. Raise a floor when a change
lifts its figure; never lower one without saying why in the commit.
"""

from __future__ import annotations

import pytest

from evaluation.corpora import HELDOUT_DIR, PLOVER_PROTEST, corpora_present

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not corpora_present(), reason="../shared/corpora not present"),
]

# rule -> (precision floor, recall floor), all corpora, test split
ALERT_FLOORS = {  # measured (issue 19): ceasefire 0.955 / 0.885, truce 0.95 / 1.0,
    # postponement 0.67 / 0.91 on alerts.jsonl and postponement.jsonl together (88 positives)
    "ceasefire": (0.93, 0.86),
    "truce": (0.93, 0.97),
    "postponement": (0.64, 0.88),
    "ceasefire/truce": (0.93, 0.90),  # 0.954 / 0.928
}
ATTACK_F1_FLOOR = 0.52
# PLOVER panel sentences, test split: lowered from 0.46 (measured 0.41 after issue 18's protest
# vocabulary, which the codebook-labelled set below asks for; the panel counts fewer protest forms).
PROTEST_F1_FLOOR = 0.38
# PLOVER type -> F1 floor on the codebook-labelled sentences (plover_events.jsonl), test split;
# measured ASSAULT 0.64, PROTEST 0.70, COERCE 0.56; ASSAULT modes 63 of 92 true ASSAULT sentences.
PLOVER_F1_FLOORS = {"ASSAULT": 0.61, "PROTEST": 0.66, "COERCE": 0.52}
ASSAULT_MODES_FLOOR = 0.65


def test_alert_rules_hold_on_the_test_split():
    from evaluation.quality import alert_quality

    report = alert_quality("test")
    for rule, (precision, recall) in ALERT_FLOORS.items():
        tally = report["marsad"]["all"][rule]
        assert tally.precision >= precision, (rule, tally.figures())
        assert tally.recall >= recall, (rule, tally.figures())
        # marsad must keep beating the naive substring search it is compared with
        assert tally.f1 > report["naive"]["all"][rule].f1, rule


def test_attack_events_hold_on_the_test_split():
    from evaluation.quality import event_quality

    tally = event_quality("test")["marsad"]["all"]["attack"]
    assert tally.f1 >= ATTACK_F1_FLOOR, tally.figures()


def test_plover_protest_holds_on_the_test_split():
    from evaluation.quality import plover_protest

    if not PLOVER_PROTEST.exists():
        pytest.skip("PLOVER protest sentences not present")
    tallies = plover_protest("test")
    assert tallies["marsad"].f1 >= PROTEST_F1_FLOOR, tallies["marsad"].figures()
    assert tallies["marsad"].f1 > tallies["naive"].f1


@pytest.mark.skipif(not (HELDOUT_DIR / "plover_events.jsonl").exists(), reason="codebook set not present")
def test_plover_codebook_events_hold_on_the_test_split():
    from evaluation.quality import plover_events

    figures = plover_events("test")
    for plover_type, floor in PLOVER_F1_FLOORS.items():
        tally = figures["tallies"]["marsad"][plover_type]
        assert tally.f1 >= floor, (plover_type, tally.figures())
        assert tally.f1 >= figures["tallies"]["naive"][plover_type].f1 - 0.01, plover_type
    right, total = figures["assault_modes"]
    assert right / total >= ASSAULT_MODES_FLOOR, (right, total)


@pytest.mark.skipif(not (HELDOUT_DIR / "pairs.jsonl").exists(), reason="pair set not labelled yet")
def test_reprint_and_story_predicates_hold_on_the_test_split():
    from evaluation.pairs import pair_quality

    scores = pair_quality("test", stream=False)["marsad pairwise"]["all"].figures()
    for name, floor in PAIR_FLOORS.items():
        if name == "template_merged":
            assert scores[name] <= floor, (name, scores)
        else:
            assert scores[name] >= floor, (name, scores)


PAIR_FLOORS = {  # pairwise predicates, all corpora, test split; template_merged is a ceiling
    "reprint_recall": 0.60,
    "reprint_precision": 0.80,
    "story_recall": 0.57,
    "template_merged": 0.25,
}
