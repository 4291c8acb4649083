import pytest
import yaml

from transforms.gazetteer import Gazetteer, GazetteerError, gazetteer_files, load_gazetteer
from transforms.text import NormalizedText, tokenize

from ..conftest import SEEDS


def mentions(text: str) -> list[tuple[str, str]]:
    gazetteer = Gazetteer(load_gazetteer(gazetteer_files(SEEDS / "gazetteers")))
    normalized = NormalizedText(text)
    return [
        (h.entry.id, normalized.original_slice(h.hit.start, h.hit.end))
        for h in gazetteer.find(normalized, tokenize(normalized.text))
    ]


def test_longest_alias_wins_and_clitics_are_stripped():
    assert mentions("قال وزير الخارجية الروسي سيرغي لافروف") == [
        ("LAVROV", "وزير الخارجية الروسي"),
        ("LAVROV", "سيرغي لافروف"),
    ]
    assert mentions("والروسية وبالكرملين") == [("RUS", "والروسية"), ("RUS", "وبالكرملين")]
    assert mentions("اجتماع في جنيف") == [("GVA", "جنيف")]


def write(tmp_path, document) -> str:
    path = tmp_path / "g.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"entries": [{"id": "X", "kind": "city"}]}, "entry 'X', field 'name': missing"),
        ({"entries": [{"id": "X", "kind": "city", "name": {"en": "X"}}]}, "needs both 'en' and 'ar'"),
        (
            {"entries": [{"id": "X", "kind": "city", "name": {"en": "X", "ar": "س"}, "aliases": {"ar": [""]}}]},
            "field 'aliases.ar'",
        ),
        ({"entries": "nope"}, "field 'entries'"),
    ],
)
def test_bad_gazetteer_names_entry_and_field(tmp_path, document, message):
    with pytest.raises(GazetteerError, match=message):
        load_gazetteer([write(tmp_path, document)])


def test_duplicate_ids_across_files_are_rejected(tmp_path):
    entry = {"id": "X", "kind": "city", "name": {"en": "X", "ar": "س"}}
    first = tmp_path / "a.yaml"
    second = tmp_path / "b.yaml"
    for path in (first, second):
        path.write_text(yaml.safe_dump({"entries": [entry]}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(GazetteerError, match="already defined"):
        load_gazetteer([first, second])
