from schemas.records import Article
from transforms.dedup import canonical_url, content_fingerprint


def article(body: str, title: str = "") -> Article:
    return Article(id="x", source=None, url=None, published=None, title=title, body=body, lang="ar")


def test_fingerprint_ignores_diacritics_tatweel_hamza_and_spacing():
    assert content_fingerprint(article("أعلنت روسيا  هُدنةً\nفي سوريا")) == content_fingerprint(
        article("اعلنت روسيـا هدنة في سوريا")
    )
    assert content_fingerprint(article("هدنة في سوريا")) != content_fingerprint(article("هدنة في اليمن"))


def test_fingerprint_falls_back_to_title():
    assert content_fingerprint(article("", title="عنوان")) == content_fingerprint(article("", title="عنوان"))


def test_canonical_url():
    assert canonical_url("https://www.Example.com/news/1/?utm_source=x&id=5#top") == "//example.com/news/1?id=5"
    assert canonical_url("http://example.com/news/1") == canonical_url("https://example.com/news/1/")
    assert canonical_url("") is None and canonical_url(None) is None
