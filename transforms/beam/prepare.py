"""The Prepare step: the expensive, parallel work before the story index (fingerprints, canonical
URLs, MinHash signatures, rule matching), kept out of the one keyed step so that it scales with
workers."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import apache_beam as beam

from schemas.records import Alert, Article, DeadLetter
from transforms.beam.common import DEAD, stage_failure
from transforms.dedup import canonical_url, content_fingerprint
from transforms.rules import AlertMatcher, Rule
from transforms.similarity import Signature, signature
from transforms.text import NormalizedText

STORY_KEY = "stories"  # one key: the story index sees every article (see AssignStories)


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _fields_of(article: Article) -> dict[str, NormalizedText]:
    return {name: NormalizedText(text) for name, text in (("title", article.title), ("body", article.body)) if text}


@dataclasses.dataclass(frozen=True)
class _Prepared:
    """An article with what the (parallel) preparation computed for the story stage."""

    article: Article
    fingerprint: str
    url: str | None
    signature: Signature
    alerts: tuple[Alert, ...]
    stage_errors: tuple[DeadLetter, ...]


class _PrepareDoFn(beam.DoFn):
    """The expensive, parallel part: fingerprints, MinHash signatures, rule matching."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self._rules = list(rules)
        self._matcher: AlertMatcher | None = None

    def setup(self) -> None:
        """Compiles the rules once per worker: the matcher is not pickled with the DoFn."""
        self._matcher = AlertMatcher(self._rules)

    def process(self, article: Article) -> Iterable[Any]:
        """``(STORY_KEY, _Prepared)``, or a ``dedup`` dead letter (``DEAD``) when the article cannot
        be fingerprinted; a failed rule match travels with the article as a stage error."""
        assert self._matcher is not None
        # Normalised and tokenised once, shared by signatures and rule matching.
        fields = _fields_of(article)
        try:
            prepared_signature = signature(article.title, article.body, fields.get("title"), fields.get("body"))
            fingerprint = content_fingerprint(article)
            url = canonical_url(article.url)
        except Exception as error:
            yield beam.pvalue.TaggedOutput(DEAD, stage_failure("dedup", article, error))
            return
        alerts: list[Alert] = []
        errors: list[DeadLetter] = []
        try:
            alerts = self._matcher.alerts(article, fields, _now_iso())
        except Exception as error:
            errors.append(stage_failure("alerts", article, error))
        prepared = _Prepared(article, fingerprint, url, prepared_signature, tuple(alerts), tuple(errors))
        yield (STORY_KEY, prepared)


class PrepareArticles(beam.PTransform):
    """Articles -> (``keyed``: each with its fingerprint, canonical URL, MinHash signatures and
    rule matches, under the story index's key; ``DEAD``: failures). The expensive part of the
    work, and parallel: it scales with workers."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        super().__init__()
        self._prepare = _PrepareDoFn(rules)

    def expand(self, articles: beam.PCollection[Article]) -> beam.pvalue.DoOutputsTuple:
        """Applies the prepare DoFn, typed so that runners pick a coder for the keyed output."""
        return articles | beam.ParDo(self._prepare).with_output_types(tuple[str, _Prepared]).with_outputs(
            DEAD, main="keyed"
        )
