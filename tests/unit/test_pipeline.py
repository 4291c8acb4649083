"""The whole graph on the DirectRunner (TestPipeline), fed like the file mode feeds it."""

import apache_beam as beam
import orjson
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipelines.config import GraphConfig
from pipelines.graph import build_graph
from transforms.beam.common import DEAD
from transforms.io.files.source import ReadArticleFiles

from ..conftest import SEED_FILE


def test_seed_archive_through_the_whole_graph(seed_text):
    config = GraphConfig.load()
    with BeamTestPipeline() as pipeline:
        read = pipeline | ReadArticleFiles([str(SEED_FILE)])
        outputs = build_graph(read.records, read[DEAD], config)
        assert_that(
            outputs.alerts | beam.Map(lambda a: (a.rule_id, tuple((m.text, m.start, m.end) for m in a.matches))),
            equal_to(
                [
                    (
                        "ceasefire",
                        (
                            ("وقف إطلاق النار", 213, 228),
                            ("وقف العمليات العسكرية", 1094, 1115),  # "ways to halt military operations"
                            ("وقف إطلاق النار", 1745, 1760),
                            ("وقف القتال", 2257, 2267),
                        ),
                    ),
                    ("truce", (("هدنة", 1248, 1252), ("هدنة", 2149, 2153))),
                    ("postponement", (("إرجاء", 1373, 1378), ("إرجاء", 1487, 1492))),
                ]
            ),
            label="alerts",
        )
        assert_that(outputs.dead_letters, equal_to([]), label="no dead letters")
        assert_that(
            outputs.articles | beam.Map(lambda a: (a.dedup.status, a.body == seed_text)),
            equal_to([("unique", True)]),
            label="one unique article",
        )
        assert_that(
            outputs.events | beam.Map(lambda e: e.type) | beam.Distinct(),
            equal_to(["ceasefire", "postponement", "meeting", "agreement", "attack", "aid"]),
            label="event types",
        )


def test_duplicates_and_dead_letters_reconcile(tmp_path, seed_text):
    base = {"source": "s", "title": "", "lang": "ar", "published": "2016-02-20T10:00:00+00:00"}
    lines = [
        orjson.dumps({**base, "id": "first", "url": "http://a/1", "body": seed_text}),
        orjson.dumps({**base, "id": "copy", "url": "http://b/2", "body": seed_text.replace("هدنة", "هُدنة")}),
        b'{"id": "broken", "body": ',
        orjson.dumps({**base, "id": "same-url", "url": "https://www.a/1/", "body": "نص آخر عن هدنة أخرى"}),
        orjson.dumps({**base, "id": "other", "url": "http://c/3", "body": "خبر لا علاقة له بشيء"}),
    ]
    path = tmp_path / "articles.jsonl"
    path.write_bytes(b"\n".join(lines))
    config = GraphConfig.load()
    with BeamTestPipeline() as pipeline:
        read = pipeline | ReadArticleFiles([str(path)])
        outputs = build_graph(read.records, read[DEAD], config)
        assert_that(
            outputs.articles | beam.Map(lambda a: (a.id, a.dedup.status, a.dedup.duplicate_of)),
            equal_to(
                [
                    ("first", "unique", None),
                    ("copy", "duplicate", "first"),
                    ("same-url", "duplicate", "first"),
                    ("other", "unique", None),
                ]
            ),
            label="statuses",
        )
        assert_that(
            outputs.dead_letters | beam.Map(lambda d: (d.stage, d.origin["line"], d.raw)),
            equal_to([("parse", 3, '{"id": "broken", "body": ')]),
            label="dead letter with its line",
        )
        # Each story alerts once: the duplicate adds no alert.
        assert_that(
            outputs.alerts | beam.Map(lambda a: a.article_id) | beam.Distinct(),
            equal_to(["first"]),
            label="alerts from the first article only",
        )
