import pytest

from schemas.records import Article
from transforms.event_time import split_sentences
from transforms.event_triggers import load_event_cues, load_event_types
from transforms.events import EventExtractor
from transforms.gazetteer import Gazetteer, gazetteer_files, load_gazetteer
from transforms.text import NormalizedText

from ..conftest import SEEDS


@pytest.fixture(scope="module")
def extractor() -> EventExtractor:
    return EventExtractor(
        load_event_types(SEEDS / "events" / "triggers.yaml"),
        Gazetteer(load_gazetteer(gazetteer_files(SEEDS / "gazetteers"))),
        load_event_cues(SEEDS / "events" / "triggers.yaml"),
    )


def test_split_sentences_keeps_offsets():
    text = "قال بوتين كلاما. وأضاف أمرا؟ ثم\nانتهى"
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["قال بوتين كلاما.", "وأضاف أمرا؟", "ثم", "انتهى"]


def events_of(extractor, body: str, published: str | None):
    article = Article("a", None, None, published, "", body, "ar")
    return extractor.extract(article, NormalizedText(body))


def test_seed_postponement_event(extractor, seed_text):
    # Published on Saturday 20 February 2016: the Geneva meeting "planned for Saturday" was that day.
    events = events_of(extractor, seed_text, "2016-02-20T12:00:00+00:00")
    postponements = [e for e in events if e.type == "postponement"]
    assert postponements, "the Geneva meeting's postponement must be an event"
    first = postponements[0]
    assert first.trigger.text == "إرجاء" and seed_text[first.trigger.start : first.trigger.end] == "إرجاء"
    assert [loc.id for loc in first.locations] == ["GVA"]
    assert {"RUS-MFA", "ISSG"} <= {a.id for a in first.actors}
    assert (first.time.text, first.time.value) == ("السبت", "2016-02-20")


def test_seed_truce_event_actors(extractor, seed_text):
    events = events_of(extractor, seed_text, None)
    truce = [e for e in events if e.type == "ceasefire" and e.trigger.text == "هدنة"][-1]
    assert {"SYR-OPP", "HIJAB", "RUS", "IRN"} <= {a.id for a in truce.actors}
    for span in (*(a.span for a in truce.actors), truce.trigger, truce.sentence):
        assert seed_text[span.start : span.end] == span.text


def test_day_of_month_resolves_against_publication(extractor, seed_text):
    events = events_of(extractor, seed_text, "2016-02-20T12:00:00+00:00")
    times = {e.time.text: e.time.value for e in events if e.time}
    assert times["الـ12 من الشهر الجاري"] == "2016-02-12"
    unresolved = {e.time.text: e.time.value for e in events_of(extractor, seed_text, None) if e.time}
    assert unresolved["السبت"] is None


def test_explicit_dates_and_relative_days(extractor):
    (event,) = events_of(extractor, "أعلنت الأمم المتحدة هدنة في اليمن تبدأ 3 آذار/مارس 2018.", None)
    assert event.time.value == "2018-03-03"
    (event,) = events_of(extractor, "أعلن الجيش أمس هدنة.", "2018-03-10T08:00:00Z")
    assert event.time.value == "2018-03-09"


def test_no_trigger_no_event(extractor):
    assert events_of(extractor, "افتتح معرض الكتاب في القاهرة.", None) == []


def test_seed_events_golden(extractor, seed_text):
    """Written by reading the seed article (published Saturday 20 February 2016)."""
    events = events_of(extractor, seed_text, "2016-02-20T12:00:00+00:00")

    def find(event_type, trigger, nth=0):
        return [e for e in events if e.type == event_type and e.trigger.text == trigger][nth]

    # "the Russian foreign ministry spokeswoman announced the postponement of the meeting of the
    # international support group on Syria that had been planned for Saturday in Geneva"
    postponed = find("postponement", "إرجاء")
    assert (postponed.plover, postponed.modality) == ("RETREAT", "reported")
    assert postponed.speaker.id == "RUS-MFA" and "ISSG" in {a.id for a in postponed.actors}
    assert [loc.id for loc in postponed.locations] == ["GVA"]
    assert (postponed.time.text, postponed.time.value, postponed.time.precision) == ("السبت", "2016-02-20", "day")
    assert find("postponement", "إرجاء", 1).speaker.id == "ZAKHAROVA"
    planned = find("meeting", "اجتماع")
    assert planned.modality == "planned" and [loc.id for loc in planned.locations] == ["GVA"]
    # "the two sides agreed on the need for a military coordination mechanism to secure a truce"
    agreed = find("agreement", "واتفق")
    assert {"LAVROV", "USA", "KERRY"} <= {a.id for a in agreed.actors}  # Russia's and the US's ministers
    # "the opposition factions gave preliminary approval to a temporary truce, on condition ..."
    truce = [e for e in events if e.type == "ceasefire" and e.trigger.text == "هدنة"][-1]
    assert (truce.modality, truce.phase) == ("conditional", "agreed")
    assert truce.speaker.id == "HIJAB" and "SYR-OPP" in {a.id for a in truce.actors}
    # Turkish shelling of Kurdish positions, condemned by the Kremlin
    attack = find("attack", "عمليات القصف")
    assert {"TUR", "RUS"} <= {a.id for a in attack.actors}
    # The meeting the US blamed the Syrian government for not holding did not take place.
    assert find("meeting", "الاجتماع", 2).modality == "negated"
    for event in events:
        for span in (event.trigger, event.sentence, *(a.span for a in event.actors)):
            assert seed_text[span.start : span.end] == span.text
