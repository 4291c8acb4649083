"""The story index as streaming state (TestStream on the BundleBasedDirectRunner): duplicates
inside the retention window are caught, the state is swept when the window passes, a
re-publication after that is new, and late data within the window is still deduplicated."""

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.test_stream import TestStream as BeamTestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from pipelines.config import GraphConfig
from schemas.records import Article
from transforms.beam.common import SWEPT
from transforms.beam.stories import StoryClustering

HOUR = 3600
RETENTION = 2 * HOUR
TEXT = (
    "أعلنت الأطراف المتحاربة في اليمن هدنة إنسانية لمدة ثلاثة أيام في مدينة الحديدة"
    " اعتبارا من صباح الغد، وفق ما أعلن المبعوث الأممي. وقال المبعوث إن الهدنة تهدف إلى إيصال"
    " المساعدات الإنسانية إلى آلاف العائلات المحاصرة في الأحياء الشرقية من المدينة، وإلى إجلاء الجرحى"
    " والمرضى عبر ممرات آمنة تشرف عليها فرق الأمم المتحدة والصليب الأحمر الدولي."
)
OTHER = "افتتح معرض الكتاب الدولي في القاهرة بمشاركة واسعة من دور النشر العربية والأجنبية هذا العام."


def article(article_id: str, body: str) -> Article:
    return Article(article_id, "test", None, None, "", body, "ar")


def test_retention_expiry_and_late_data():
    config = GraphConfig.load()
    stream = (
        BeamTestStream()
        .advance_watermark_to(0)
        .add_elements([TimestampedValue(article("a", TEXT), 60)])
        .add_elements([TimestampedValue(article("b", TEXT), 20 * 60)])  # a copy, 19 minutes later
        .add_elements([TimestampedValue(article("c", TEXT + " وأضاف المبعوث."), 30 * 60)])  # a reprint
        .add_elements([TimestampedValue(article("d", OTHER), 40 * 60)])
        .advance_watermark_to(5 * HOUR)  # the window has passed: the sweep forgets a, b, c, d
        .add_elements([TimestampedValue(article("e", TEXT), 5 * HOUR + 60)])  # re-published: new
        .advance_watermark_to(6 * HOUR)
        .add_elements([TimestampedValue(article("f", TEXT), 5 * HOUR + 30 * 60)])  # late, within the window
        .advance_watermark_to_infinity()
    )
    options = PipelineOptions(runner="BundleBasedDirectRunner")
    options.view_as(StandardOptions).streaming = True
    with BeamTestPipeline(options=options) as pipeline:
        clustered = pipeline | stream | StoryClustering(config.rules, config.event_types, config.gazetteer, RETENTION)
        decisions = clustered["results"] | beam.Map(
            lambda r: (r.article.id, r.article.dedup.status, r.article.dedup.duplicate_of)
        )
        assert_that(
            decisions,
            equal_to(
                [
                    ("a", "unique", None),
                    ("b", "duplicate", "a"),
                    ("c", "near_duplicate", "a"),
                    ("d", "unique", None),
                    ("e", "unique", None),
                    ("f", "duplicate", "e"),
                ]
            ),
            label="decisions",
        )
        # The first sweep (at 5 h: a's window ends at 2 h 1 min, plus the allowed lateness of one
        # more window, rounded up to the sweep period, here an hour) forgets the four early
        # articles and leaves nothing behind.
        assert_that(
            clustered[SWEPT] | beam.Filter(lambda s: s[0] <= 5 * HOUR),
            equal_to([(5 * HOUR, 4, 0)]),
            label="swept",
        )


def test_a_record_behind_the_watermark_meets_the_state_that_covers_its_time():
    """A partition out of publication order: the watermark is at 3 h 30 when a copy stamped 1 h 30
    arrives. Its original (1 min) is within the window of the copy's own time, so batch calls it
    a duplicate; the stream must too, although a's window ended (2 h 1 min) before the watermark."""
    config = GraphConfig.load()
    stream = (
        BeamTestStream()
        .advance_watermark_to(0)
        .add_elements([TimestampedValue(article("a", TEXT), 60)])
        .add_elements([TimestampedValue(article("d", OTHER), 3 * HOUR + 20 * 60)])
        .advance_watermark_to(3 * HOUR + 30 * 60)
        .add_elements([TimestampedValue(article("late", TEXT), HOUR + 30 * 60)])
        .advance_watermark_to_infinity()
    )
    options = PipelineOptions(runner="BundleBasedDirectRunner")
    options.view_as(StandardOptions).streaming = True
    with BeamTestPipeline(options=options) as pipeline:
        clustered = pipeline | stream | StoryClustering(config.rules, config.event_types, config.gazetteer, RETENTION)
        decisions = clustered["results"] | beam.Map(lambda r: (r.article.id, r.article.dedup.status))
        assert_that(decisions, equal_to([("a", "unique"), ("d", "unique"), ("late", "duplicate")]))
