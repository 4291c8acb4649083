"""What every Beam step shares: the output tags, the metrics namespace and the dead letter of a
failed step, so that all steps report and fail the same way."""

from __future__ import annotations

import traceback
from typing import Any

from apache_beam.metrics import Metrics

from schemas.records import Article, DeadLetter

DEAD = "dead_letters"
SWEPT = "swept"  # (event time, articles forgotten, articles remembered) per sweep of the story index
METRICS_NAMESPACE = "marsad"


def counter(name: str) -> Any:
    """A counter in marsad's namespace: the run summary and the live progress read that namespace."""
    return Metrics.counter(METRICS_NAMESPACE, name)


def stage_failure(stage: str, article: Article, error: Exception) -> DeadLetter:
    """The dead letter of a step that failed on an article: it keeps the article and the traceback,
    so the failure can be replayed and debugged instead of stopping the job."""
    return DeadLetter(
        reason=f"{type(error).__name__}: {error}",
        stage=stage,
        origin={**(article.origin or {}), "article_id": article.id, "traceback": traceback.format_exc(limit=4)},
        raw=article.to_json().decode("utf-8"),
        article_id=article.id,
    )


def count_lost_article(dead: DeadLetter) -> DeadLetter:
    """Counts an input that never became an article, so the run can reconcile inputs with outputs."""
    counter("dead_letters").inc()
    return dead
