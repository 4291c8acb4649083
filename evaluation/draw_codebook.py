"""Draw two blind labelling sets from the three corpora (seeded, reproducible).

    .venv/bin/python -m evaluation.draw_codebook events    /work/labels/events
    .venv/bin/python -m evaluation.draw_codebook postpone  /work/labels/postpone
    .venv/bin/python -m evaluation.draw_codebook all       /work/labels   (both: events/, postpone/)

JOB 1 (events): sentences for PLOVER event types (ASSAULT, PROTEST, COERCE ... with mode and
context), stratified per corpus by word lists written here (violence, protest, coercion,
violence mentioned with a not-reported cue, random).  Articles already in the held-out
events set are left out.  Item key: f"{article_id}:{start}:{end}" (character offsets of the
sentence in the field it comes from; `field` is "body" or "title").

JOB 2 (postpone): articles for the postponement alert, stratified per corpus by postponement
vocabulary (core, with figurative/religious/agreement cues, delay-and-cancel vocabulary),
look-alikes and random.  Articles already in the held-out alerts set are left out.  Item key:
the article id.

Packets show text only (never the stratum); the hidden metadata goes to items.jsonl.  Every item
is assigned to dev or test by `evaluation.heldout.split_of`. The drawing is deliberately
independent of marsad's own vocabulary and folding (its word lists and folding are written here),
so the strata do not inherit the system's blind spots; no corpus text is written anywhere but the
output folder. This drew tests/devsets/heldout/plover_events.jsonl and postponement.jsonl.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import hashlib
import json
import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from evaluation.corpora import CORPORA, CORPORA_DIR, HELDOUT_DIR, load_articles
from evaluation.heldout import split_of

SEED = 20261205


def iter_corpus(name: str) -> Iterator[dict]:
    with gzip.open(CORPORA_DIR / CORPORA[name], "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------------------------------------
# Text: folding (own, independent of marsad), sentence spans.

_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640\u200c-\u200f\u202a-\u202e\ufeff]")
_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ی": "ي", "ک": "ك"})


def bare(text: str) -> str:
    """Diacritics, tatweel and invisibles removed; hamza, alef forms and ta marbuta kept."""
    return _MARKS.sub("", text)


def fold(text: str) -> str:
    """bare() plus alef, yeh and ta-marbuta folding, lower case, one space between words."""
    return re.sub(r"\s+", " ", bare(text).translate(_FOLD).lower())


# A sentence ends at . ! ? ؟ (a full stop between two digits is a decimal point) or a newline.
_END = re.compile(r"(?<!\d)\.|\.(?!\d)|[!?؟\n]")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-empty sentence, whitespace trimmed, end mark included."""
    spans = []
    position = 0
    for match in _END.finditer(text):
        spans.append((position, match.end()))
        position = match.end()
    spans.append((position, len(text)))
    out = []
    for start, end in spans:
        piece = text[start:end]
        if first := re.search(r"\S", piece):
            lead = first.start()
            trail = len(piece) - len(piece.rstrip())
            s, e = start + lead, end - trail
            if e > s and re.search(r"[\w]", text[s:e]):
                out.append((s, e))
    return out


def words(text: str) -> int:
    return len(text.split())


def clip(text: str, limit: int) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def norm_key(text: str) -> str:
    """For de-duplicating texts that differ only in punctuation, digits or spacing."""
    return re.sub(r"[^\u0621-\u064aa-z]", "", fold(text))


def body_fingerprints(record: dict) -> tuple[str, str]:
    """Exact body, and the opening 300 letters (catches wire copies with a different ending)."""
    key = norm_key(record.get("body") or "")
    return hashlib.sha1(key.encode()).hexdigest(), hashlib.sha1(key[:300].encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# JOB 1 vocabulary (folded text).  Written for this draw; marsad's trigger files are not used.

_CEASEFIRE_PHRASE = re.compile(r"(?:وقف|لوقف|بوقف|ووقف|ايقاف|توقف)\s+(?:ل)?(?:اطلاق\s+)?(?:ال)?نار")

VIOLENCE = re.compile(
    r"قتل|مقتل|قتيل|اقتتال|استشهد|شهيد|شهداء|قصف|غاره|غارات|انفجار|انفجر|تفجير|يفجر|تفجر|فجرت|فجروا|مفجر|مفخخ"
    r"|ناسف|انتحاري|اغتيال|اغتال|اختطاف|اختطف|خطف|مختطف|رهائن|هجوم|هجمات|هاجم|اشتباك|اشتبك|طعن"
    r"|اطلاق\s+(?:ال)?نار|اطلق(?:ت|وا)?\s+(?:ال)?نار|اطلاق\s+(?:ال)?رصاص|رصاص|دهس|كمين|صاروخ|صواريخ|قذيف|قذائف"
    r"|جرحي|جريح|مجزر|مذبح|ذبح|اعدام|اعدم|تعذيب|عذبوا|عذبت|يعذب|اغتصاب|قنص|قناص|احراق|احرق|تدمير|دمر|مسلحين|مسلحون"
    r"|مسلح\b|اعتداء|اعتدي|معارك|قتال|ضربات\s+(?:جويه|صاروخيه|عسكريه|مدفعيه|امريكيه|اسرائيليه|روسيه)|ضربه\s+(?:جويه|صاروخيه|عسكريه)|رشق|بالحجاره|مسيره\s+(?:ملغمه|مفخخه)"
    r"|طائره\s+مسيره|طائرات\s+مسيره|مسيرات\s+(?:انتحاريه|مفخخه)|بطائره"
)
PROTEST = re.compile(
    r"تظاهر|مظاهره|مظاهرات|متظاهر|احتجاج|احتج(?!ا?ز)|محتج(?!ز)|اعتصام|اعتصم|معتصم|اضراب|مضرب(?:ين|ون)|اضرب(?:وا|ت)?\s+عن"
    r"|الامعاء\s+الخاويه|وقفه\s+احتجاجيه|وقفات\s+احتجاجيه|وقفه\s+تضامنيه|وقفات\s+تضامنيه|وقفه\s+صامته|عصيان\s+مدني"
    r"|شغب|تجمهر|هتف|هتافات|رددوا\s+شعارات|رددوا\s+هتافات|رفعوا\s+لافتات|السترات\s+الصفراء"
    r"|(?:خرج|خرجت|انطلقت|جابت|نظم|نظمت|شارك|شاركوا|تنظيم|انطلاق)\S*\s+(?:\S+\s+){0,3}مسير"
    r"|مسير(?:ه|ات)\s+(?:\S+\s+){0,2}(?:احتجاج|تضامن|حاشد|شعبي|جماهيري|سلمي|غاضب|رافض|مندد|مؤيد|ضخم|العوده|الاعلام|ليلي|المليون|مليوني)"
    r"|مقاطعه\s+(?:ال)?(?:منتجات|بضائع|شركات|انتخابات|جلس|حوار|اسرائيل|الاحتلال|امتحانات|دراسه)|حمله\s+(?:ال)?مقاطعه"
    r"|حركه\s+(?:ال)?مقاطعه|دعوات\s+(?:ال)?مقاطعه|قاطع(?:ت|وا)\s|يقاطع|تقاطع\s+(?:ال)?(?:انتخابات|جلس|منتجات)"
    r"|(?:قطع|قطعوا|اغلقوا|اغلق\s+محتجون|سدوا)\s+(?:ال)?(?:طرق|طريق|شوارع)|(?:حرق|احرقوا|اشعلوا)\s+(?:ال)?اطارات"
    r"|(?:اضرم|اضرمت)\s+(?:ال)?نار\s+في\s+(?:نفس|جسد)"
)
COERCE = re.compile(
    r"اعتقال|اعتقل|معتقل|احتجاز|احتجز(?:ت|وا|ته|تهم|ها)?\s|تحتجز|يحتجز|توقيف|موقوف|اوقف(?:ت|وا)?\s+(?:\S+\s+){0,2}(?:شخص|مشتبه|متهم|مواطن|ناشط)"
    r"|القبض|قبض(?:ت)?\s+علي|ضبط(?:ت|وا)?\s+(?:\S+\s+){0,3}(?:مخالف|متهم|شخص|اشخاص|مشتبه|مهرب|مروج|عصابه|متسلل|مواطن|وافد|مقيم|عامل|عماله)"
    r"|حظر\s+(?:ال)?تجول|منع\s+(?:ال)?تجول|حظر\s+تجوال|ترحيل|(?:قرار|قرارات|امر|اوامر)\s+(?:ال)?ابعاد|(?:ال|بال)ابعاد\s+(?:عن|الي|من)"
    r"|ابعاد(?:ه|ها|هم)\s+(?:عن|الي|من)|ابعدت|هدم|تجريف|جرفت|مداهم|داهم|\bدهم|اقتحام|اقتحم|صادرت|يصادر|اقامه\s+جبريه"
    r"|(?:حظر|منع)\s+(?:\S+\s+)?(?:نشاط|حزب|جماعه|تنظيم|السفر|سفر|التظاهر|التجمع)|حجب\s+(?:ال)?(?:موقع|مواقع|حساب|صحيف)"
    r"|(?:فرض|اعلن|اعلنت|اعلان|تمديد)\s+(?:ال)?(?:حاله|حال)\s+(?:ال)?طوارئ|الاحكام\s+العرفيه|قطع\s+(?:ال)?(?:انترنت|كهرباء|مياه|اتصالات)"
    r"|اختفاء\s+قسري|اخفاء\s+قسري|طرد(?:ت)?\s+(?:\S+\s+){0,2}(?:مواطن|عائل|سكان|عمال|لاجئ|مهاجر|صحفي)"
    r"|اغلاق\s+(?:ال)?(?:حاجز|معبر|مدينه|بلده|منطقه)|اغلقت\s+(?:\S+\s+){0,2}(?:ال)?(?:حاجز|معبر|مدينه|بلده)"
)
# Confiscation needs the ta marbuta: folded مصادره is also "its sources".
COERCE_BARE = re.compile(r"مصادرة|بمصادرة|لمصادرة")

MENTION_CUE = re.compile(
    r"محاكم|يحاكم|محكمه|المحكمه|حكم(?:ت)?\s+(?:علي|ب)|(?:ال)?حكم\s+(?:ال)?(?:قضائي|ب)|احكام|قضت|ادين|ادانه|ادانت|ادان\b"
    r"|تدين|يدين|براءه|استئناف|النيابه|اتهم|اتهام|يتهم|تتهم|متهم|مسؤوليه|تحقيق|يحقق|تحقق\s+في|ذكري|احياء"
    r"|عام\s+(?:19\d\d|200\d|201[0-4])|قبل\s+(?:\S+\s+)?(?:سنوات|عقود|عاما|سنه|عقد)|منذ\s+عام|هدد|تهديد|يهدد|تهدد|توعد"
    r"|دعا\s+(?:الي|ل)|دعت|دعوه|دعوات|طالبت|طالبوا|يطالب|تطالب|مطالب|طالب\s+ب|\bنفي\b|نفت|ينفي|تنفي|نفيه|استنكر|شجب|ندد|تبني|تبنت|خطط|يخطط|مخطط"
    r"|احبط|احباط|افشل|محاوله|حاول|سيتم|سوف|سي(?:قوم|تم|شن|قتل|هاجم)|في\s+حال|اذا|\bلو\b|ربما|يمكن\s+ان|محتمل|حذر|يحذر|تحذير"
    r"|مخاوف|خشيه|يخشي|تخشي|فيلم|روايه|مسلسل|كتاب"
)


# The unambiguous core of PROTEST (collective action words); the rest of PROTEST is "weak".
PROTEST_STRONG = re.compile(
    r"تظاهر(?!\S*\s+ب)|مظاهره|مظاهرات|متظاهر|احتجاجات|محتج(?!ز)|اعتصام|اعتصم|معتصم|اضراب|مضرب(?:ين|ون)|الامعاء\s+الخاويه"
    r"|وقفه\s+احتجاجيه|وقفات\s+احتجاجيه|وقفه\s+تضامنيه|وقفات\s+تضامنيه|عصيان\s+مدني|السترات\s+الصفراء"
    r"|(?:خرج|خرجت|انطلقت|جابت|نظم|نظمت|شارك|شاركوا|تنظيم|انطلاق)\S*\s+(?:\S+\s+){0,3}مسير"
    r"|مسير(?:ه|ات)\s+(?:\S+\s+){0,2}(?:احتجاج|تضامن|حاشد|شعبي|جماهيري|سلمي|غاضب|رافض|مندد|مؤيد|ضخم|العوده|الاعلام|ليلي|المليون|مليوني)"
)


def event_vocab(sentence: str) -> set[str]:
    folded = _CEASEFIRE_PHRASE.sub(" ", fold(sentence))
    found = set()
    if VIOLENCE.search(folded):
        found.add("violence")
    if PROTEST.search(folded):
        found.add("protest" if PROTEST_STRONG.search(folded) else "protest-weak")
    if COERCE.search(folded) or COERCE_BARE.search(bare(sentence)):
        found.add("coercion")
    if MENTION_CUE.search(folded):
        found.add("cue")
    return found


def event_stratum(sentence: str) -> str:
    """First match of: protest, protest-weak, coercion, violence-mention (violence + a not-reported cue),
    violence; otherwise 'other' (drawn only by the random stratum)."""
    vocab = event_vocab(sentence)
    if "protest" in vocab:
        return "protest"
    if "protest-weak" in vocab:
        return "protest-weak"
    if "coercion" in vocab:
        return "coercion"
    if "violence" in vocab:
        return "violence-mention" if "cue" in vocab else "violence"
    return "other"


def candidate_sentences(record: dict) -> Iterator[tuple[str, int, int, str]]:
    """(field, start, end, text) of each sentence of 6-80 words, title first."""
    for field in ("title", "body"):
        text = record.get(field) or ""
        for start, end in sentence_spans(text):
            sentence = text[start:end]
            if 6 <= words(sentence) <= 80:
                yield field, start, end, sentence


def is_sport(record: dict) -> bool:
    """Sports desks (ANT category, the two Saudi sports papers): left out of the vocabulary strata
    of JOB 1 only, where "attack", "shot" and "bombardment" are football words."""
    meta = record.get("meta")
    category = meta.get("category") if isinstance(meta, dict) else None
    if category is None and isinstance(meta, str):
        found = re.search(r"'category':\s*'([^']*)'", meta)
        category = found.group(1) if found else None
    return category == "sport" or record.get("source") in {"arreyadi", "arriyadiyah"}


def published_day(record: dict) -> str:
    return (record.get("published") or "")[:10]


# ---------------------------------------------------------------------------------------------
# Exclusions: articles of the held-out sets, and any other article with the same body (exact, or
# the same opening 300 letters: a wire copy), and sentences identical to a held-out sentence.


def heldout_exclusions(set_name: str) -> tuple[set[str], set[str], set[str]]:
    """(article ids, body fingerprints, sentence keys) of a held-out set."""
    rows = read_jsonl(HELDOUT_DIR / f"{set_name}.jsonl")
    ids = {row["id"] for row in rows}
    spans = collections.defaultdict(list)
    for row in rows:
        if "start" in row:
            spans[row["id"]].append((row["start"], row["end"]))
    prints: set[str] = set()
    sentences: set[str] = set()
    for name in CORPORA:
        for record in iter_corpus(name):
            if record["id"] in ids:
                prints.update(body_fingerprints(record))
                for start, end in spans.get(record["id"], ()):
                    sentences.add(norm_key((record.get("body") or "")[start:end]))
    return ids, prints, sentences


def take(pool: list, count: int, rng: random.Random, allowed) -> list:
    """Up to `count` entries of a shuffled pool that `allowed(entry)` accepts (it may keep state)."""
    order = list(pool)
    rng.shuffle(order)
    picked: list = []
    for entry in order:
        if len(picked) >= count:
            break
        if allowed(entry):
            picked.append(entry)
    return picked


def number_items(rows: list, rng: random.Random, split_key) -> list:
    """Shuffle, then dev items first (tuning can start while test is still being labelled)."""
    rows = list(rows)
    rng.shuffle(rows)
    rows.sort(key=lambda row: split_of(split_key(row)) != "dev")
    return rows


def write_packets(out: Path, items: list[dict], size: int) -> list[Path]:
    for old in out.glob("packet-*.jsonl"):
        old.unlink()
    paths = []
    for start in range(0, len(items), size):
        path = out / f"packet-{start // size + 1:02d}.jsonl"
        write_jsonl(path, items[start : start + size])
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------------------------
# JOB 1: event sentences.

EVENT_QUOTA = {  # protest is rare: heavily oversampled; random first (a uniform sample of eligible sentences)
    "aj": {"random": 20, "protest": 120, "protest-weak": 10, "coercion": 60, "violence-mention": 40, "violence": 100},
    "ant": {"random": 20, "protest": 125, "protest-weak": 10, "coercion": 70, "violence-mention": 45, "violence": 75},
    "snn": {"random": 20, "protest": 60, "protest-weak": 10, "coercion": 55, "violence-mention": 30, "violence": 30},
}
MAX_PER_ARTICLE = 2


def draw_events(out: Path) -> None:
    old_ids, old_prints, old_sentences = heldout_exclusions("events")
    chosen: list[dict] = []
    seen_sentences = set(old_sentences)
    per_article: collections.Counter = collections.Counter()
    per_article_stratum: set[tuple[str, str]] = set()
    report = {}
    for name in CORPORA:
        pools: dict[str, list[tuple]] = collections.defaultdict(list)
        group_of: dict[str, str] = {}
        for record in iter_corpus(name):
            if record["id"] in old_ids:
                continue
            exact, opening = body_fingerprints(record)
            if (record.get("body") or "").strip() and (exact in old_prints or opening in old_prints):
                continue
            group_of[record["id"]] = opening if (record.get("body") or "").strip() else record["id"]
            sport = is_sport(record)
            for field, start, end, sentence in candidate_sentences(record):
                entry = (record["id"], field, start, end, norm_key(sentence))
                pools["random"].append(entry)
                stratum = event_stratum(sentence)
                if stratum != "other" and not sport:
                    pools[stratum].append(entry)
        report[name] = {k: len(v) for k, v in pools.items()}

        def allowed(entry, stratum):
            article, _, _, _, key = entry
            group = group_of[article]
            if key in seen_sentences or per_article[group] >= MAX_PER_ARTICLE:
                return False
            if (group, stratum) in per_article_stratum:
                return False
            seen_sentences.add(key)
            per_article[group] += 1
            per_article_stratum.add((group, stratum))
            return True

        for stratum, count in EVENT_QUOTA[name].items():
            rng = random.Random(f"{SEED}:events:{name}:{stratum}")
            for article, field, start, end, _ in take(pools[stratum], count, rng, lambda e: allowed(e, stratum)):
                chosen.append(
                    {
                        "id": article,
                        "field": field,
                        "start": start,
                        "end": end,
                        "corpus": name,
                        "stratum": f"{name}:{stratum}",
                    }
                )
        print(name, "pools", report[name], file=sys.stderr)

    records = load_articles({row["id"] for row in chosen})
    rng = random.Random(f"{SEED}:events:order")
    chosen = number_items(chosen, rng, lambda row: sentence_key(row))
    items, packets = [], []
    for number, row in enumerate(chosen, start=1):
        record = records[row["id"]]
        text = record.get(row["field"]) or ""
        before = ""  # the sentence before it in the same field (a headline's first half, for a title item)
        previous = [span for span in sentence_spans(text) if span[1] <= row["start"]]
        if previous:
            before = clip(text[previous[-1][0] : previous[-1][1]], 400)
        key = sentence_key(row)
        items.append(
            {
                "item": number,
                "id": row["id"],
                "field": row["field"],
                "start": row["start"],
                "end": row["end"],
                "key": key,
                "corpus": row["corpus"],
                "stratum": row["stratum"],
                "split": split_of(key),
            }
        )
        packets.append(
            {
                "item": number,
                "published": published_day(record),
                "headline": record.get("title") or "",
                "before": before,
                "sentence": text[row["start"] : row["end"]],
            }
        )
    out.mkdir(parents=True, exist_ok=True)
    paths = write_packets(out, packets, 100)
    write_jsonl(out / "items.jsonl", items)
    summarize(items, paths)


def sentence_key(row: dict) -> str:
    return f"{row['id']}:{row['start']}:{row['end']}"


def summarize(items: list[dict], paths: list[Path]) -> None:
    table = collections.Counter((item["stratum"], item["split"]) for item in items)
    for stratum in sorted({item["stratum"] for item in items}):
        dev, test = table[(stratum, "dev")], table[(stratum, "test")]
        print(f"  {stratum:28s} dev {dev:4d}  test {test:4d}  total {dev + test:4d}", file=sys.stderr)
    splits = collections.Counter(item["split"] for item in items)
    print(f"  {'ALL':28s} dev {splits['dev']:4d}  test {splits['test']:4d}  total {len(items):4d}", file=sys.stderr)
    print("  packets:", ", ".join(f"{p.name} ({sum(1 for _ in open(p))})" for p in paths), file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# JOB 2 vocabulary.  Folded text unless said otherwise; إرجاء/أرجاء are told apart on bare text.

POSTPONE_CORE = re.compile(
    r"تاجيل|تاجل|يتاجل|تتاجل|يؤجل|تؤجل|نؤجل|اؤجل|مؤجل|(?<!\w)و?(?:ارجئ|[يتن]رجئ|[يت]رجا\b|مرجا(?:ه|ء)?\b|ارجا\b|ارجات|ارجاه|ارجاها|ارجاوا)"
    r"|(?<!من )(?<!الي )(?<!لاجل )\bاجل(?:ت|وا|تا)?\s+(?:\S+\s+){0,3}(?:ال)?(?:نظر|جلس|محاكم|قضي|اجتماع|تصويت|انتخاب|مباراه|مباريات|زياره|اعلان|قرار|بت|موعد"
    r"|حفل|امتحان|اختبار|مؤتمر|قمه|مفاوضات|محادثات|استفتاء|دوري|مسابقه|بطوله|اطلاق|افتتاح|حكم|نطق|توقيع|مناقشه|دفع|سداد|رحله|عرض)"
    r"|postpon|adjourn|reschedul|put off|pushed back"
)
POSTPONE_CORE_BARE = re.compile(r"إرجاء|[أا]\u064f?رج[أئ]")
# أجّل with its shadda (diacritics are stripped by bare(), so this runs on the raw text).
POSTPONE_CORE_RAW = re.compile(r"[أاؤ][\u064b-\u0652]*ج[\u064b-\u0650\u0652]*\u0651[\u064b-\u0650\u0652]*ل")
DELAY_CANCEL = re.compile(
    r"تاخير|تاخر|يتاخر|تتاخر|يؤخر|تؤخر|اخرت|الغاء|الغي|الغت|يلغي|تلغي|ملغا|ملغي|رفع(?:ت)?\s+(?:ال)?جلسه"
    r"|تعليق\s+(?:ال)?(?:جلس|اعمال|مفاوضات|محادثات|مباحثات|دراسه|رحلات|عمل|مشارك|انتخاب|تصويت|مباريات|دوري|نشاط)"
    r"|علق(?:ت|وا)?\s+(?:ال)?(?:جلس|مفاوض|محادث|اعمال|رحلات|مشارك|دراسه)|موعد\s+لاحق|موعد\s+(?:ا|ا)خر|موعد\s+جديد"
    r"|وقت\s+لاحق\s+من\s+(?:العام|الشهر|السنه)|حتي\s+اشعار\s+اخر|الي\s+اجل\s+غير\s+مسمي|(?:تغيير|تعديل)\s+موعد"
    r"|تمديد\s+(?:ال)?مهله|delay|cancel|called off|suspend"
)
LOOKALIKE_BARE = re.compile(r"أرجاء|بأرجاء|وأرجاء")
LOOKALIKE = re.compile(
    r"ارجاء|تاجيج|يؤجج|تؤجج|اجج|تاجير|مؤجر|يؤجر|تؤجر|استئجار|اجلاء|اجلي|من\s+اجل|لاجل|الاجل|اجل\s+مسمي|اجلهم|اجلها"
    r"|عاجلا\s+ام\s+اجلا|اجلا\s+ام\s+عاجلا|قصير\s+الاجل|طويل\s+الاجل|متوسط\s+الاجل|الاجال|\bاجل\b|\bاجلت\b|اجله"
)
FIGURATIVE_CUE = re.compile(
    r"تتويج|لقب|تاهل|الصعود|الهبوط|حسم|فرحه|احتفال|حلم|امكانيه|احتمال|غضب|الحل\b|حل\s+(?:ال)?(?:ازمه|مشكل|قضي)|الانفجار"
    r"|المواجهه|اعتزال|رحيل|النهايه|الموت|الحساب|العقاب|الانهيار|الحسم"
)
RELIGIOUS_CUE = re.compile(
    r"قال\s+(?:الله\s+)?تعالي|قوله\s+(?:عز\s+وجل|تعالي)|قال\s+الله|[﴿﴾]|ﷺ|صلي\s+الله\s+عليه\s+وسلم|الايه\s+(?:ال)?كريمه|سوره\s+(?:ال)?\S+\s+(?:الايه|ايه)"
)
# Delay and term words of scripture and sermons (ولن يؤخر الله نفسا إذا جاء أجلها ...).
RELIGIOUS_DELAY_VERBS = re.compile(r"يستاخرون|يستاخر|اخرتني|اخرتنا|اخرنا|يؤخرهم|يؤخركم|نؤخره|يؤخر|اجل\s+مسمي")
RELIGIOUS_DELAY = re.compile(RELIGIOUS_DELAY_VERBS.pattern + r"|اجلهم|اجلها|\bاجل\b")
AGREEMENT_CUE = re.compile(r"اتفاق|التوصل|توصل|تسويه|صفقه|حل\s+سياسي|التفاهم")
PASSAGE_WORDS = re.compile(
    POSTPONE_CORE.pattern
    + "|"
    + DELAY_CANCEL.pattern
    + "|"
    + LOOKALIKE.pattern
    + r"|موعد|مقرر|المقرر|تقرر\s+(?:عقد|اجراء)|مرتقب|جدول|لاحق|استئناف|تعليق|علق|معلق|الغي|اجل|اخر\s+(?:موعد|مهله)|مهله|reschedul"
)


def is_core(sentence: str, folded: str) -> bool:
    return bool(
        POSTPONE_CORE.search(folded) or POSTPONE_CORE_BARE.search(bare(sentence)) or POSTPONE_CORE_RAW.search(sentence)
    )


def postpone_stratum(record: dict) -> str:
    """core / delay-cancel (with a cue sub-stratum: religious, agreement, figurative, plain),
    lookalike, or other (drawn only by the random stratum)."""
    title, body = record.get("title") or "", record.get("body") or ""
    text = title + "\n" + body
    core, delay, religious = [], [], False
    religious_article = bool(RELIGIOUS_CUE.search(fold(text)))
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        folded = fold(sentence)
        if is_core(sentence, folded):
            core.append(folded)
        elif DELAY_CANCEL.search(folded):
            delay.append(folded)
        if religious_article and (
            RELIGIOUS_DELAY.search(folded) or DELAY_CANCEL.search(folded) or POSTPONE_CORE.search(folded)
        ):
            religious = True
    if religious:
        return "religious-cue"
    hits = core or delay
    if hits:
        head = "core" if core else "delay-cancel"
        if any(AGREEMENT_CUE.search(s) for s in hits):
            return f"{head}:agreement-cue"
        if any(FIGURATIVE_CUE.search(s) for s in hits):
            return f"{head}:figurative-cue"
        return f"{head}:plain"
    if LOOKALIKE.search(fold(text)) or LOOKALIKE_BARE.search(bare(text)):
        return "lookalike"
    return "other"


POSTPONE_QUOTA = {  # the Al Jazeera ledes have few postponement words left after the alerts set took them
    "aj": {
        "random": 6,
        "core:plain": 20,
        "core:agreement-cue": 5,
        "core:figurative-cue": 2,
        "religious-cue": 2,
        "delay-cancel:plain": 9,
        "delay-cancel:agreement-cue": 6,
        "delay-cancel:figurative-cue": 1,
        "lookalike": 8,
    },
    "ant": {
        "random": 6,
        "core:plain": 62,
        "core:agreement-cue": 5,
        "core:figurative-cue": 10,
        "religious-cue": 2,
        "delay-cancel:plain": 7,
        "delay-cancel:agreement-cue": 3,
        "delay-cancel:figurative-cue": 3,
        "lookalike": 10,
    },
    "snn": {
        "random": 6,
        "core:plain": 62,
        "core:agreement-cue": 5,
        "core:figurative-cue": 10,
        "religious-cue": 5,
        "delay-cancel:plain": 7,
        "delay-cancel:agreement-cue": 3,
        "delay-cancel:figurative-cue": 3,
        "lookalike": 10,
    },
}
MAX_PASSAGES = 6
RANDOM_PASSAGES = 2


def passage_rank(sentence: str) -> int:
    folded = fold(sentence)
    if is_core(sentence, folded):
        return 3
    if DELAY_CANCEL.search(folded) or RELIGIOUS_DELAY_VERBS.search(folded):
        return 2
    if PASSAGE_WORDS.search(folded) or LOOKALIKE_BARE.search(bare(sentence)):
        return 1
    return 0


def _window(text: str, limit: int = 500) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    folded = fold(text)  # same length as text only approximately: locate the hit on the bare text
    hit = PASSAGE_WORDS.search(folded)
    centre = int(len(text) * hit.start() / max(1, len(folded))) if hit else 0
    start = max(0, min(centre - limit // 2, len(text) - limit))
    piece = text[start : start + limit]
    return ("… " if start > 0 else "") + piece + (" …" if start + limit < len(text) else "")


def postpone_packet(number: int, record: dict) -> tuple[dict, dict]:
    body = record.get("body") or ""
    spans = sentence_spans(body)
    lede_spans = [span for span in spans if words(body[span[0] : span[1]]) >= 3][:2]
    lede_end = lede_spans[-1][1] if lede_spans else 0
    rest = [span for span in spans if span[0] >= lede_end]
    ranked = [(passage_rank(body[s:e]), index) for index, (s, e) in enumerate(rest)]
    hits = sorted((r for r in ranked if r[0] > 0), key=lambda r: (-r[0], r[1]))
    shown = sorted(index for _, index in hits[:MAX_PASSAGES])
    left_out = [r for r in hits[MAX_PASSAGES:] if r[0] >= 2]
    others = [i for i, (s, e) in enumerate(rest) if i not in shown and words(body[s:e]) >= 6]
    rng = random.Random(f"{SEED}:postpone:passages:{record['id']}")
    extra = sorted(rng.sample(others, min(RANDOM_PASSAGES, len(others))))
    passages = []
    for index in sorted(set(shown) | set(extra)):
        s, e = rest[index]
        text = body[s:e]
        if words(text) < 12 and index > 0 and index - 1 not in shown and index - 1 not in extra:
            text = body[rest[index - 1][0] : e]  # a short sentence gets the one before it
        passages.append(_window(text))
    packet = {
        "item": number,
        "published": published_day(record),
        "headline": record.get("title") or "",
        "lede": clip(" ".join(body[s:e] for s, e in lede_spans), 700),
        "passages": passages,
    }
    stats = {"word_passages": len(shown), "random_passages": len(extra), "strong_left_out": len(left_out)}
    return packet, stats


def draw_postpone(out: Path) -> None:
    old_ids, old_prints, _ = heldout_exclusions("alerts")
    chosen: list[dict] = []
    taken_groups: set[str] = set(old_prints)
    for name in CORPORA:
        pools: dict[str, list[tuple[str, frozenset[str]]]] = collections.defaultdict(list)
        for record in iter_corpus(name):
            if record["id"] in old_ids or not ((record.get("body") or "").strip() or record.get("title")):
                continue
            exact, opening = body_fingerprints(record)
            if exact in old_prints or opening in old_prints:
                continue
            group = {exact, opening} if (record.get("body") or "").strip() else {record["id"]}
            title_key = norm_key(record.get("title") or "")
            if words(record.get("title") or "") >= 4:
                group.add("title:" + title_key)  # wire copies whose opening clause was rewritten
            entry = (record["id"], frozenset(group))
            pools["random"].append(entry)
            stratum = postpone_stratum(record)
            if stratum != "other":
                pools[stratum].append(entry)
        print(name, "pools", {k: len(v) for k, v in pools.items()}, file=sys.stderr)

        def allowed(entry):
            if entry[1] & taken_groups:
                return False
            taken_groups.update(entry[1])
            return True

        for stratum, count in POSTPONE_QUOTA[name].items():
            rng = random.Random(f"{SEED}:postpone:{name}:{stratum}")
            for article, _ in take(pools[stratum], count, rng, allowed):
                chosen.append({"id": article, "corpus": name, "stratum": f"{name}:{stratum}"})

    records = load_articles({row["id"] for row in chosen})
    rng = random.Random(f"{SEED}:postpone:order")
    chosen = number_items(chosen, rng, lambda row: row["id"])
    items, packets, overflow = [], [], 0
    for number, row in enumerate(chosen, start=1):
        packet, stats = postpone_packet(number, records[row["id"]])
        packets.append(packet)
        overflow += stats["strong_left_out"] > 0
        items.append(
            {
                "item": number,
                "id": row["id"],
                "corpus": row["corpus"],
                "stratum": row["stratum"],
                "split": split_of(row["id"]),
                **stats,
            }
        )
    out.mkdir(parents=True, exist_ok=True)
    paths = write_packets(out, packets, 50)
    write_jsonl(out / "items.jsonl", items)
    summarize(items, paths)
    print(f"  items with a postponement/delay sentence beyond the {MAX_PASSAGES} passages: {overflow}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=("events", "postpone", "all"))
    parser.add_argument("out", type=Path, help="where the packets go (outside the project)")
    args = parser.parse_args(argv)
    if args.what == "events":
        draw_events(args.out)
    elif args.what == "postpone":
        draw_postpone(args.out)
    else:
        base = args.out
        draw_events(base / "events")
        draw_postpone(base / "postpone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
