"""Held-out labelled sets: how they were drawn, how they split into dev and test, how they load.

The sets themselves (ids, labels, short snippets) live in ``tests/devsets/heldout/``; the corpus
text stays in ``../shared/corpora`` and is joined back by id (``evaluation.corpora``). Every set
splits by a fixed hash of its item key into **dev** (tune on it, read its errors) and **test**
(report only).

Drawing the sets (writes labelling packets with text OUTSIDE the project, for the labellers):

    .venv/bin/python -m evaluation.heldout alerts  /work/labelling/alerts
    .venv/bin/python -m evaluation.heldout pairs   /work/labelling/pairs
    .venv/bin/python -m evaluation.heldout pairs-aj-extra /work/labelling/pairs   (then)
    .venv/bin/python -m evaluation.heldout events  /work/labelling/events
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import random
import re
import sys
from pathlib import Path
from typing import Any

import orjson

from evaluation.corpora import CORPORA, iter_corpus, read_jsonl

SEED = 20261129


def split_of(key: str) -> str:
    """'dev' or 'test', fixed by the key (an article id, a pair of ids, a sentence key)."""
    digest = hashlib.sha256(f"marsad-split\x1f{key}".encode()).digest()
    return "dev" if digest[0] % 2 == 0 else "test"


def pair_key(a: str, b: str) -> str:
    """One key for a pair whichever way round it is given, so it splits one way."""
    return "|".join(sorted((a, b)))


# ---------------------------------------------------------------------------------------------
# Drawing. Strata use the system only to find where errors could hide; labellers never see them.

_SENTENCE = re.compile(r"[^.!?؟\n]+[.!?؟]?")


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text or "") if len(s.strip()) > 15]


def _clip(text: str, limit: int) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[:limit] + " …"


# Vocabulary for strata and for the passages shown to labellers (folded text).
BROAD_CEASEFIRE = re.compile(
    r"(?:وقف|ايقاف|توقف|بوقف|لوقف|ووقف)\s+(?:ل?ا?ل?(?:حرب|عدوان|قتال|اقتتال|اطلاق|نار|عمليات|اعمال|هجمات|قصف|معارك|"
    r"حمله|عدائيات|مواجهات|تصعيد|اعتداءات|غارات|الحرب|العدوان))|هدن|تهدئ|مهادن|صفق|ceasefire|cease-fire|truce"
    r"|وقف\s+ا?ل?نار|انهاء\s+ال?حرب|وضع\s+حد\s+لل?حرب"
)
BROAD_POSTPONE = re.compile(r"رجا|رجئ|رجي|ارجاء|اجل|اجيل|ؤجل|وجل|تاجل|postpon|delay|adjourn")
LOOKALIKE = re.compile(r"من اجل|لاجل|اجلاء|اجلت|اجلي|ارجاء|موقف|توقف|تهدئه|صفقه|اجال|الاجل|اجلا")


def _fold(text: str) -> str:
    from transforms.text import fold

    return fold(text)


def _packet_item(number: int, record: dict, patterns: list[re.Pattern[str]]) -> dict:
    body = record.get("body") or ""
    title = record.get("title") or ""
    short = len(body) <= 700
    passages: list[str] = []
    if not short:
        for sentence in _sentences(body[300:]):
            folded = _fold(sentence)
            if any(p.search(folded) for p in patterns) and len(passages) < 5:
                passages.append(_clip(sentence, 350))
    return {
        "item": number,
        "source": record.get("source"),
        "published": (record.get("published") or "")[:10],
        "title": title,
        "lede": _clip(body, 700 if short else 300),
        "passages": passages,
    }


def draw_alerts(out: Path, per_corpus: int = 210) -> None:
    """Articles for the alert rules: rule hits, candidate forms the rules miss, look-alikes, random."""
    from evaluation.alerts import DEVSET, marsad_predictor

    old_dev = {orjson.loads(line)["id"] for line in DEVSET.read_bytes().splitlines()}
    predict = marsad_predictor()
    rng = random.Random(SEED)
    chosen: list[tuple[dict, str]] = []
    for name in CORPORA:
        strata: dict[str, list[dict]] = {}
        for record in iter_corpus(name):
            if record["id"] in old_dev or not (record.get("body") or record.get("title")):
                continue
            from schemas.records import Article

            article = Article(record["id"], record.get("source"), record.get("url"), record.get("published"),
                              record.get("title") or "", record.get("body") or "", "ar")  # fmt: skip
            fired = predict(article)
            folded = _fold(article.title + "\n" + article.body)
            broad_c, broad_p = bool(BROAD_CEASEFIRE.search(folded)), bool(BROAD_POSTPONE.search(folded))
            keys = [f"hit:{rule}" for rule in fired]
            if broad_c and not fired & {"ceasefire", "truce"}:
                keys.append("candidate:ceasefire-truce")
            if broad_p and "postponement" not in fired:
                keys.append("candidate:postponement")
            if LOOKALIKE.search(folded) and not fired:
                keys.append("lookalike")
            if not keys:
                keys.append("random")
            for key in keys:
                strata.setdefault(key, []).append(record)
        quota = {
            "hit:ceasefire": 25, "hit:truce": 25, "hit:postponement": 30,
            "candidate:ceasefire-truce": 45, "candidate:postponement": 30, "lookalike": 25, "random": 30,
        }  # fmt: skip
        taken: set[str] = set()
        for key, count in quota.items():
            pool = [r for r in strata.get(key, []) if r["id"] not in taken]
            for record in rng.sample(pool, min(count, len(pool))):
                taken.add(record["id"])
                chosen.append((record, key))
        print(name, {k: len(v) for k, v in strata.items()}, "taken", len(taken), file=sys.stderr)
    _write_alert_packets(out, chosen, rng)


def _write_alert_packets(out: Path, chosen: list[tuple[dict, str]], rng: random.Random) -> None:
    out.mkdir(parents=True, exist_ok=True)
    # Dev items first, so that tuning can start while the test items are still being labelled.
    rng.shuffle(chosen)
    chosen.sort(key=lambda pair: split_of(pair[0]["id"]) != "dev")
    patterns = [BROAD_CEASEFIRE, BROAD_POSTPONE, LOOKALIKE]
    keys = []
    items = []
    for number, (record, stratum) in enumerate(chosen, start=1):
        items.append(_packet_item(number, record, patterns))
        keys.append({"item": number, "id": record["id"], "stratum": stratum, "split": split_of(record["id"])})
    _write_chunks(out, items, 150)
    (out / "key.jsonl").write_bytes(b"".join(orjson.dumps(k) + b"\n" for k in keys))


def _write_chunks(out: Path, items: list[dict], size: int) -> None:
    for start in range(0, len(items), size):
        chunk = items[start : start + size]
        path = out / f"chunk-{start // size + 1:02d}.jsonl"
        path.write_bytes(b"".join(orjson.dumps(i, option=orjson.OPT_NON_STR_KEYS) + b"\n" for i in chunk))


def _content_words(text: str) -> frozenset[str]:
    from transforms.similarity import content_words

    return frozenset(content_words(text))


def _shingles(text: str) -> frozenset[str]:
    from transforms.text import tokenize

    tokens = [t.text for t in tokenize(_fold(text))]
    return frozenset(" ".join(tokens[i : i + 3]) for i in range(len(tokens) - 2))


def _day(record: dict) -> dt.date | None:
    published = record.get("published")
    try:
        return dt.date.fromisoformat(published[:10]) if published else None
    except ValueError:
        return None


def _day_of(record: dict[str, Any]) -> dt.date:
    """The publication day of a record kept for having one."""
    day = _day(record)
    assert day is not None, record["id"]
    return day


def draw_pairs(out: Path) -> None:
    """Article pairs within three days of each other, across bands of word and shingle similarity
    measured here (not the system's decisions): near-identical, high, middle, low with a shared
    headline word (same-story pairs the system may miss), same-outlet look-alikes (templates)."""
    rng = random.Random(SEED + 1)
    quotas = {"ant": 250, "snn": 250, "aj": 110}
    chosen: list[tuple[dict, dict, str, float, float]] = []
    for name, quota in quotas.items():
        records = [r for r in iter_corpus(name) if _day(r) and len(r.get("body") or "") > 80]
        by_day: dict[dt.date, list[int]] = {}
        for index, record in enumerate(records):
            by_day.setdefault(_day_of(record), []).append(index)
        words = [_content_words((r.get("title") or "") + "\n" + (r.get("body") or "")) for r in records]
        titles = [_content_words(r.get("title") or "") for r in records]
        bands: dict[str, list[tuple[int, int, float, float]]] = {}
        # Saudi papers publish 1,400 articles a day: fewer anchors and a one-day reach keep this short.
        anchors = rng.sample(range(len(records)), min(len(records), {"ant": 2000, "snn": 700, "aj": 4000}[name]))
        reach = 1 if name == "snn" else 2
        for a in anchors:
            day = _day_of(records[a])
            near = [i for d in range(-reach, reach + 1) for i in by_day.get(day + dt.timedelta(days=d), ()) if i != a]
            for b in near:
                wa, wb = words[a], words[b]
                if not wa or not wb:
                    continue
                jaccard = len(wa & wb) / len(wa | wb)
                if jaccard < 0.08:
                    continue
                shared_title = bool(titles[a] & titles[b])
                same_source = records[a].get("source") == records[b].get("source")
                if jaccard >= 0.6:
                    band = "j>=0.6"
                elif jaccard >= 0.4:
                    band = "j0.4-0.6"
                elif jaccard >= 0.25:
                    band = "j0.25-0.4"
                elif shared_title:
                    band = "j<0.25-title"
                else:
                    continue
                if same_source and 0.25 <= jaccard < 0.75:
                    band = "same-source-" + band
                bands.setdefault(band, []).append((min(a, b), max(a, b), jaccard, 0.0))
        share = {
            "j>=0.6": 0.2, "j0.4-0.6": 0.2, "j0.25-0.4": 0.2, "j<0.25-title": 0.15,
            "same-source-j0.4-0.6": 0.12, "same-source-j0.25-0.4": 0.08, "same-source-j>=0.6": 0.05,
        }  # fmt: skip
        taken: set[tuple[int, int]] = set()
        for band, fraction in share.items():
            pool = list({(a, b): (a, b, j, c) for a, b, j, c in bands.get(band, [])}.values())
            rng.shuffle(pool)
            wanted = round(quota * fraction)
            for a, b, jaccard, _ in pool:
                if wanted == 0:
                    break
                if (a, b) in taken:
                    continue
                taken.add((a, b))
                wanted -= 1
                sa, sb = _shingles(records[a].get("body") or ""), _shingles(records[b].get("body") or "")
                containment = len(sa & sb) / max(1, min(len(sa), len(sb)))
                chosen.append((records[a], records[b], f"{name}:{band}", round(jaccard, 3), round(containment, 3)))
        print(name, {k: len(v) for k, v in bands.items()}, "taken", len(taken), file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    rng.shuffle(chosen)
    chosen.sort(key=lambda c: split_of(pair_key(c[0]["id"], c[1]["id"])) != "dev")
    items, keys = [], []
    for number, (first, second, band, jaccard, containment) in enumerate(chosen, start=1):
        items.append({"item": number, "A": _pair_side(first), "B": _pair_side(second)})
        keys.append({
            "item": number, "a": first["id"], "b": second["id"], "band": band, "word_jaccard": jaccard,
            "shingle_containment": containment, "split": split_of(pair_key(first["id"], second["id"])),
        })  # fmt: skip
    _write_chunks(out, items, 155)
    (out / "key.jsonl").write_bytes(b"".join(orjson.dumps(k) + b"\n" for k in keys))


def draw_extra_aljazeera_pairs(out: Path) -> None:
    """The second draw of Al Jazeera pairs (items 553-617): ledes are all one outlet's, so the
    first draw's cross-outlet bands found almost none; bands of content-word Jaccard here."""
    rng = random.Random(SEED + 3)
    have = {(k["a"], k["b"]) for k in read_jsonl(out / "key.jsonl")}
    records = [r for r in iter_corpus("aj") if _day(r) and len(r.get("body") or "") > 80]
    by_day: dict[dt.date, list[int]] = {}
    for index, record in enumerate(records):
        by_day.setdefault(_day_of(record), []).append(index)
    words = [_content_words((r.get("title") or "") + "\n" + (r.get("body") or "")) for r in records]
    titles = [_content_words(r.get("title") or "") for r in records]
    bands: dict[str, dict[tuple[int, int], float]] = {}
    for a in rng.sample(range(len(records)), 3000):
        day = _day_of(records[a])
        for b in (i for d in range(-2, 3) for i in by_day.get(day + dt.timedelta(days=d), ()) if i != a):
            if not words[a] or not words[b]:
                continue
            jaccard = len(words[a] & words[b]) / len(words[a] | words[b])
            if jaccard >= 0.4:
                band = "j>=0.4"
            elif jaccard >= 0.25:
                band = "j0.25-0.4"
            elif jaccard >= 0.12 and titles[a] & titles[b]:
                band = "j0.12-0.25-title"
            else:
                continue
            bands.setdefault(band, {})[(min(a, b), max(a, b))] = jaccard
    items, keys = [], []
    number = len(have) + 1
    for band, count in (("j>=0.4", 15), ("j0.25-0.4", 25), ("j0.12-0.25-title", 25)):
        pool = [p for p in bands.get(band, {}).items() if (records[p[0][0]]["id"], records[p[0][1]]["id"]) not in have]
        for (a, b), jaccard in rng.sample(pool, min(count, len(pool))):
            ra, rb = records[a], records[b]
            sa, sb = _shingles(ra.get("body") or ""), _shingles(rb.get("body") or "")
            items.append({"item": number, "A": _pair_side(ra), "B": _pair_side(rb)})
            keys.append({
                "item": number, "a": ra["id"], "b": rb["id"], "band": f"aj:extra-{band}",
                "word_jaccard": round(jaccard, 3),
                "shingle_containment": round(len(sa & sb) / max(1, min(len(sa), len(sb))), 3),
                "split": split_of(pair_key(ra["id"], rb["id"])),
            })  # fmt: skip
            number += 1
    (out / "chunk-extra.jsonl").write_bytes(b"".join(orjson.dumps(i) + b"\n" for i in items))
    with open(out / "key.jsonl", "ab") as handle:
        handle.write(b"".join(orjson.dumps(k) + b"\n" for k in keys))


def _pair_side(record: dict) -> dict:
    body = re.sub(r"\s+", " ", record.get("body") or "").strip()
    return {
        "source": record.get("source"),
        "published": (record.get("published") or "")[:16],
        "title": record.get("title") or "",
        "chars": len(body),
        "start": body[:450],
        "end": body[-200:] if len(body) > 650 else "",
    }


ATTACK_WORDS = re.compile(
    r"قتل|مقتل|قتيل|قتلي|انفجار|تفجير|فجر|مفخخ|انتحاري|اغتيال|اغتال|قصف|غاره|غارات|هجوم|هجمات|استهدف|اشتباك"
    r"|اطلاق نار|اطلق النار|رصاص|طعن|دهس|كمين|عبوه|صاروخ|قذيف|جرحي|اصابه|مسلح|اعتداء|هاجم|اقتحم|خطف"
)
PROTEST_WORDS = re.compile(r"تظاهر|مظاهر|احتجاج|احتج|اعتصام|اعتصم|اضراب|مسير|وقفه احتجاجيه|محتج|متظاهر")
OTHER_EVENT_WORDS = re.compile(r"وقف اطلاق النار|هدن|تاجيل|ارجاء|اجتماع|محادثات|اتفاق|مساعدات")


def draw_events(out: Path) -> None:
    """Sentences for event types, weighted to attacks (killings, bombings, shelling ...), with protest
    and other event vocabulary and random sentences; every corpus."""
    rng = random.Random(SEED + 2)
    quota = {"attack": 52, "protest": 18, "other": 18, "random": 26}
    chosen: list[tuple[dict, int, int, str]] = []
    for name in CORPORA:
        pools: dict[str, list[tuple[dict, int, int]]] = {k: [] for k in quota}
        records = list(iter_corpus(name))
        for record in rng.sample(records, 6000):
            body = record.get("body") or ""
            for match in _SENTENCE.finditer(body):
                sentence = match.group().strip()
                if not 40 <= len(sentence) <= 400:
                    continue
                start = match.start() + (len(match.group()) - len(match.group().lstrip()))
                entry = (record, start, start + len(sentence))
                folded = _fold(sentence)
                if ATTACK_WORDS.search(folded):
                    pools["attack"].append(entry)
                elif PROTEST_WORDS.search(folded):
                    pools["protest"].append(entry)
                elif OTHER_EVENT_WORDS.search(folded):
                    pools["other"].append(entry)
                elif rng.random() < 0.05:
                    pools["random"].append(entry)
        for key, count in quota.items():
            picked = rng.sample(pools[key], min(count, len(pools[key])))
            seen_articles: set[str] = set()
            for record, start, end in picked:
                if record["id"] in seen_articles:
                    continue
                seen_articles.add(record["id"])
                chosen.append((record, start, end, f"{name}:{key}"))
    out.mkdir(parents=True, exist_ok=True)
    rng.shuffle(chosen)
    chosen.sort(key=lambda c: split_of(f"{c[0]['id']}:{c[1]}") != "dev")
    items, keys = [], []
    for number, (record, start, end, stratum) in enumerate(chosen, start=1):
        body = record["body"]
        items.append({
            "item": number, "title": record.get("title") or "", "published": (record.get("published") or "")[:10],
            "before": _clip(body[max(0, start - 160) : start], 160), "sentence": body[start:end],
        })  # fmt: skip
        keys.append({"item": number, "id": record["id"], "start": start, "end": end, "stratum": stratum,
                     "split": split_of(f"{record['id']}:{start}")})  # fmt: skip
    _write_chunks(out, items, 160)
    (out / "key.jsonl").write_bytes(b"".join(orjson.dumps(k) + b"\n" for k in keys))


def main(argv: list[str] | None = None) -> int:
    """Draw one set's labelling packets into a folder outside the project."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=("alerts", "pairs", "pairs-aj-extra", "events"))
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    draw = {
        "alerts": draw_alerts, "pairs": draw_pairs, "pairs-aj-extra": draw_extra_aljazeera_pairs, "events": draw_events
    }  # fmt: skip
    draw[args.what](args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
