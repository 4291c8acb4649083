"""Keys for exact deduplication: what makes two articles "the same". No Beam here."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from schemas.records import Article
from transforms.text import fold

_SPACE = re.compile(r"\s+")
# Query parameters that tell where a click came from, not which page it is.
_TRACKING_PARAMS = re.compile(r"^(utm_\w+|fbclid|gclid|ocid|cmpid|ref|src)$", re.IGNORECASE)


def content_fingerprint(article: Article) -> str:
    """Hash of the folded body (of the title when the body is empty), white space collapsed:
    diacritics, tatweel, hamza forms and digit scripts do not make two copies differ."""
    text = article.body or article.title
    folded = _SPACE.sub(" ", fold(text)).strip()
    return hashlib.sha256(folded.encode("utf-8")).hexdigest()[:32]


def canonical_url(url: str | None) -> str | None:
    """The URL without what varies between links to the same page (scheme, www., fragment,
    tracking parameters, trailing slash, host case)."""
    if not url or not url.strip():
        return None
    parts = urlsplit(url.strip())
    if not parts.netloc:
        return url.strip()
    host = parts.netloc.lower().removeprefix("www.")
    query = urlencode(
        sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING_PARAMS.match(k))
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("", host, path, query, ""))


def story_id_for(article_id: str) -> str:
    """The id of the story an article starts: deterministic, so a re-processed first article
    names the same story (and its alerts keep their ids)."""
    return "st-" + hashlib.sha256(article_id.encode("utf-8")).hexdigest()[:16]
