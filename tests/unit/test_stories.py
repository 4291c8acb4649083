"""The story index as a pure object (no Beam): decisions, windows, alerts per story."""

from schemas.records import Alert
from transforms.similarity import signature
from transforms.stories import StoryIndex, story_alert_id

HOUR = 3600
TEXT = (
    "أعلنت الأطراف المتحاربة في اليمن هدنة إنسانية لمدة ثلاثة أيام في مدينة الحديدة اعتبارا من صباح الغد، وفق ما"
    " أعلن المبعوث الأممي. وقال المبعوث إن الهدنة تهدف إلى إيصال المساعدات الإنسانية إلى آلاف العائلات المحاصرة في"
    " الأحياء الشرقية من المدينة، وإلى إجلاء الجرحى والمرضى عبر ممرات آمنة تشرف عليها فرق الأمم المتحدة."
)
OTHER = "افتتح معرض الكتاب الدولي في القاهرة بمشاركة واسعة من دور النشر العربية والأجنبية هذا العام."


def decide(index, article_id, hours, body, url=None, title="هدنة في الحديدة"):
    return index.decide(article_id, hours * HOUR, "fp-" + body, url, signature(title, body))


def test_copies_far_apart_are_each_remembered():
    index = StoryIndex(72 * HOUR)
    # Processed out of order (a batch replay): the late copy first, then two early ones.
    assert decide(index, "late", 24 * 40, TEXT).status == "unique"
    assert decide(index, "early", 0, TEXT).status == "unique"
    second = decide(index, "early-copy", 24, TEXT)
    assert (second.status, second.duplicate_of) == ("duplicate", "early")


def test_reprints_stories_and_expiry():
    index = StoryIndex(72 * HOUR)
    first = decide(index, "a", 0, TEXT)
    reprint = decide(index, "b", 1, TEXT + " وأضاف المبعوث.")
    assert (reprint.status, reprint.duplicate_of, reprint.story_id) == ("near_duplicate", "a", first.story_id)
    assert decide(index, "c", 2, OTHER, title="معرض الكتاب").story_id != first.story_id
    assert decide(index, "a", 3, TEXT) == first  # a re-delivery gets its first decision
    assert sorted(index.expire(80 * HOUR)) == ["a", "b", "c"] and len(index) == 0
    assert decide(index, "d", 90, TEXT).status == "unique"


def test_one_alert_per_rule_and_story():
    index = StoryIndex(72 * HOUR)
    story = decide(index, "a", 0, TEXT).story_id
    decide(index, "b", 1, TEXT + " وأضاف المبعوث.")

    def raw(article_id):
        return Alert("x", "truce", article_id, None, "ar", "high", (), "", None, "t")

    first, second, again = (index.story_alert(raw(i), story) for i in ("a", "b", "b"))
    assert first.alert_id == second.alert_id == story_alert_id("truce", story)
    assert (first.revision, second.revision, second.mention_count, second.article_ids) == (1, 2, 2, ("a", "b"))
    assert again == second  # re-delivered: no new revision


def test_rebuilt_from_its_log_the_index_decides_the_same():
    index = StoryIndex(72 * HOUR)
    decide(index, "a", 0, TEXT)
    decide(index, "b", 100, OTHER, title="معرض الكتاب")
    alert = Alert("x", "truce", "b", None, "ar", "high", (), "", None, "t")
    index.story_alert(alert, index.decide("b", 100 * HOUR, "fp-" + OTHER, None, signature("", OTHER)).story_id)
    log = index.drain_log()
    index.expire(90 * HOUR)  # "a" leaves the window; the log still holds it (not rewritten yet)
    rebuilt = StoryIndex(72 * HOUR)
    for record in log:
        rebuilt.replay(record)
    rebuilt.expire(90 * HOUR)
    assert len(rebuilt) == len(index) == 1 and rebuilt.snapshot() == index.snapshot()
    assert decide(rebuilt, "c", 101, OTHER + " ".strip() + " ", title="معرض الكتاب") == decide(
        index, "c", 101, OTHER + " ".strip() + " ", title="معرض الكتاب"
    )
