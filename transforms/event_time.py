"""Sentences and time expressions of news text, resolved against the publication date.

Time expressions (weekdays, today/yesterday/tomorrow, "the 12th of this month", day-month-year
dates in both Gregorian month-name traditions) are written on folded text (transforms.text.fold)."""

from __future__ import annotations

import datetime as dt
import re

_SENTENCE_END = re.compile(r"(?<=[.!?؟])\s+|\n+")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of Arabic or English news text: ends at . ! ? ؟ before white space, or a line
    break. Spans exclude the surrounding white space."""
    spans = []
    position = 0
    for boundary in [*_SENTENCE_END.finditer(text), None]:
        end = boundary.start() if boundary else len(text)
        chunk = text[position:end]
        stripped_start = position + (len(chunk) - len(chunk.lstrip()))
        stripped_end = position + len(chunk.rstrip())
        if stripped_end > stripped_start:
            spans.append((stripped_start, stripped_end))
        if boundary:
            position = boundary.end()
    return spans


# Time expressions, written on folded text (see transforms.text.fold: no hamza, ة -> ه, ى -> ي).
_WEEKDAYS = {"الاثنين": 0, "الثلاثاء": 1, "الاربعاء": 2, "الخميس": 3, "الجمعه": 4, "السبت": 5, "الاحد": 6}
_RELATIVE_DAYS = {"اليوم": 0, "امس": -1, "البارحه": -1, "غدا": 1}
_MONTHS = {
    "يناير": 1, "كانون الثاني": 1, "فبراير": 2, "شباط": 2, "مارس": 3, "اذار": 3,
    "ابريل": 4, "نيسان": 4, "مايو": 5, "ايار": 5, "يونيو": 6, "حزيران": 6,
    "يوليو": 7, "تموز": 7, "اغسطس": 8, "اب": 8, "سبتمبر": 9, "ايلول": 9,
    "اكتوبر": 10, "تشرين الاول": 10, "نوفمبر": 11, "تشرين الثاني": 11, "ديسمبر": 12, "كانون الاول": 12,
}  # fmt: skip
_MONTH_NAMES = "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True))
TIME_EXPRESSION = re.compile(
    r"(?<!\w)(?:"
    rf"(?P<date>(?P<dd>\d{{1,2}}) (?:من )?(?P<month>{_MONTH_NAMES})(?:[ /](?:{_MONTH_NAMES}))?(?: (?P<yyyy>\d{{4}}))?)"
    r"|(?P<dom>ال ?(?P<day>\d{1,2}) من (?:الشهر الجاري|هذا الشهر))"
    rf"|(?:[وفب]?(?P<weekday>{'|'.join(_WEEKDAYS)}))"
    rf"|(?:[وف]?(?P<relative>{'|'.join(_RELATIVE_DAYS)}))"
    r")(?!\w)"
)


def publication_date(published: str | None) -> dt.date | None:
    """The publication day, the reference of relative time expressions (None when unreadable)."""
    if not published:
        return None
    try:
        return dt.datetime.fromisoformat(published.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def resolve_time(match: re.Match[str], reference: dt.date | None) -> tuple[str | None, str]:
    """(ISO date or None, precision) for a time-expression match."""
    try:
        if match.group("date"):
            day, month = int(match.group("dd")), _MONTHS[match.group("month")]
            year = int(match.group("yyyy")) if match.group("yyyy") else (reference.year if reference else None)
            if year is None:
                return None, "day"
            return dt.date(year, month, day).isoformat(), "day"
        if reference is None:
            return None, "day"
        if match.group("dom"):
            return reference.replace(day=int(match.group("day"))).isoformat(), "day"
        if match.group("relative"):
            return (reference + dt.timedelta(days=_RELATIVE_DAYS[match.group("relative")])).isoformat(), "day"
        # A bare weekday names the nearest such day to the publication date (news reports both
        # "the meeting planned for Saturday" and "talks held on Saturday").
        delta = (_WEEKDAYS[match.group("weekday")] - reference.weekday()) % 7
        if delta > 3:
            delta -= 7
        return (reference + dt.timedelta(days=delta)).isoformat(), "day"
    except ValueError:  # an impossible date such as 31 February
        return None, "day"
