"""The default rules on the labelled development set (real news, labelled by reading; see
tests/devsets/README.md). Needs ../shared/corpora; skipped when it is absent."""

import pytest

from evaluation.alerts import RULE_IDS, load_devset, marsad_predictor, naive_predict, scores

pytestmark = pytest.mark.corpus


@pytest.fixture(scope="module")
def devset(corpus_path):
    return load_devset(corpus_path)


def test_devset_is_stratified_and_large_enough(devset):
    assert len(devset) >= 200
    for rule in RULE_IDS:
        assert sum(rule in gold for _, gold in devset) >= 30, f"too few positives for {rule}"


def test_default_rules_reach_095_precision_and_recall(devset):
    results = scores(devset, marsad_predictor())
    for rule in RULE_IDS:
        assert results[rule]["precision"] >= 0.95, (rule, results[rule]["errors"])
        assert results[rule]["recall"] >= 0.95, (rule, results[rule]["errors"])


def test_naive_baseline_is_measurably_worse(devset):
    ours, naive = scores(devset, marsad_predictor()), scores(devset, naive_predict)
    assert sum(ours[r]["f1"] for r in RULE_IDS) > sum(naive[r]["f1"] for r in RULE_IDS) + 0.3
