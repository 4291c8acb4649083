"""PLOVER mode, context and main event on hand-written sentences (transforms.event_codebook)."""

import pytest

from schemas.records import Article, Event
from transforms.event_codebook import old_year
from transforms.event_triggers import load_event_cues, load_event_types
from transforms.events import EventExtractor
from transforms.gazetteer import Gazetteer, gazetteer_files, load_gazetteer
from transforms.text import NormalizedText

from ..conftest import SEEDS

TRIGGERS = SEEDS / "events" / "triggers.yaml"


def _extractor(main_event: bool) -> EventExtractor:
    gazetteer = Gazetteer(load_gazetteer(gazetteer_files(SEEDS / "gazetteers")))
    return EventExtractor(load_event_types(TRIGGERS), gazetteer, load_event_cues(TRIGGERS), main_event)


@pytest.fixture(scope="module")
def extractor() -> EventExtractor:
    return _extractor(True)


def _events(extractor: EventExtractor, body: str, published: str | None = "2024-05-01") -> list[Event]:
    return extractor.extract(Article("a", None, None, published, "", body, "ar"), NormalizedText(body))


def _one(events: list[Event], event_type: str) -> Event:
    found = [e for e in events if e.type == event_type]
    assert found, f"no {event_type} event in {[e.type for e in events]}"
    return found[0]


@pytest.mark.parametrize(
    ("sentence", "mode"),
    [
        ("فجر انتحاري نفسه بحزام ناسف في سوق المدينة.", "suicide-attack"),
        ("قتل ثلاثة أشخاص برصاص مسلحين في المدينة.", "firearms"),
        ("شنت طائرات حربية غارات على البلدة.", "heavy-weapons"),
        ("اغتال مسلحون قياديا في الحركة بإطلاق النار عليه.", "assassinate"),
    ],
)
def test_assault_mode_from_the_weapon_or_act(extractor, sentence, mode):
    attack = _one(_events(extractor, sentence), "attack")
    assert (attack.plover, attack.mode) == ("ASSAULT", mode)


def test_protest_mode_defaults_to_demo_and_names_a_hunger_strike(extractor):
    assert _one(_events(extractor, "تظاهر آلاف في وسط العاصمة."), "protest").mode == "demo"
    hunger = _one(_events(extractor, "بدأ عشرات الأسرى إضرابا عن الطعام."), "protest")
    assert hunger.mode == "strike-hun"


def test_arrest_is_coerce(extractor):
    coercion = _one(_events(extractor, "اعتقلت الشرطة عشرين شخصا في المدينة."), "coercion")
    assert (coercion.plover, coercion.mode, coercion.is_reported) == ("COERCE", "arrest", True)


def test_an_old_year_makes_the_event_historical(extractor):
    attack = _one(_events(extractor, "اغتيل الزعيم في عام 1978 برصاص مسلحين."), "attack")
    assert attack.context == "historical" and not attack.is_reported
    recent = _one(_events(extractor, "قتل ثلاثة أشخاص برصاص مسلحين."), "attack")
    assert recent.context is None and recent.is_reported


def test_since_an_old_year_is_not_historical():
    assert old_year("قتل الآلاف منذ عام 2011", 2015) is False
    assert old_year("قتل الآلاف في عام 2011", 2015) is True
    assert old_year("قتل الآلاف في عام 2014", 2015) is False
    assert old_year("في عام 1978", None) is False


def test_an_accusation_is_the_main_event_not_the_killing_it_names(extractor):
    sentence = "اتهمت الحكومة المعارضة بالوقوف وراء اغتيال الوزير."
    assert not _one(_events(extractor, sentence), "attack").is_reported
    # With the step off (--events-model off) the frame-window rules alone decide.
    assert _one(_events(_extractor(False), sentence), "attack").context is None


def test_a_verdict_is_sanction(extractor):
    events = _events(extractor, "قضت المحكمة بسجن منفذ الهجوم عشرين عاما.")
    assert _one(events, "sanction").plover == "SANCTION"
    assert all(not e.is_reported for e in events if e.type == "attack")
