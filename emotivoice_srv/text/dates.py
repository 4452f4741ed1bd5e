"""Dates and clock times -> spoken words, and the month and weekday names the normalizer knows.

``say_dates(text)`` spells 'Jan. 5th, 2024', '5 May 2024', 'the 5th of May', 'March 2024', ISO
'2024-01-05' and US '1/5/24' dates; ``say_times(text)`` spells '3:30 pm', '14:45', '12:00:05' and
'7 a.m.'. They are two passes because the normalizer reads decades, ordinals and ranges between
them, so '9:30-10:00' says 'to' between two times. Impossible dates and times stay as written.
"""
from __future__ import annotations

import re

from . import numbers

__all__ = ["MONTHS", "MONTH_ABBREVIATIONS", "WEEKDAYS", "keep_period", "say_dates", "say_times"]

MONTHS = ("January February March April May June July August September October November "
          "December").split()
MONTH_ABBREVIATIONS = {m[:3]: m for m in MONTHS} | {"Sept": "September"}
WEEKDAYS = {"Mon": "Monday", "Tue": "Tuesday", "Tues": "Tuesday", "Wed": "Wednesday",
            "Thu": "Thursday", "Thur": "Thursday", "Thurs": "Thursday", "Fri": "Friday",
            "Sat": "Saturday", "Sun": "Sunday"}
_MONTH_NAMES = "|".join(MONTHS + sorted(MONTH_ABBREVIATIONS, key=len, reverse=True))
_MONTH_RE = rf"(?P<month>{_MONTH_NAMES})\b\.?"
_SENTENCE_END_AFTER = re.compile(r"\s*$|\s+[\"'(]?[A-Z]")


def keep_period(m: re.Match) -> str:
    """'.' when an abbreviation's period also ends the sentence (end of text or a capital next)."""
    return "." if m.group(0).endswith(".") and _SENTENCE_END_AFTER.match(m.string, m.end()) else ""


def _month(name: str) -> str:
    return MONTH_ABBREVIATIONS.get(name, name)


# --------------------------------------------------------------------------- dates

def _say_date(month: int, day: int, year: str | None) -> str:
    spoken = f"{MONTHS[month - 1]} {numbers.ordinal(day)}"
    if year:
        spoken += ", " + (numbers.year(int(year)) if len(year) == 4 else numbers.two_digit_year(year))
    return spoken


def _numeric_date(m: re.Match) -> str:
    """2024-01-05 (ISO, year first) or 1/5/2024 (US, month first)."""
    if m.group("y1"):
        year, month, day = m.group("y1"), int(m.group("m1")), int(m.group("d1"))
    else:
        year, month, day = m.group("y2"), int(m.group("m2")), int(m.group("d2"))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return m.group(0)
    return _say_date(month, day, year)


def _month_date(m: re.Match) -> str:
    day = int(m.group("day"))
    if not 1 <= day <= 31:
        return m.group(0)
    month = MONTHS.index(_month(m.group("month"))) + 1
    if m.groupdict().get("of"):  # 'the 5th of May' keeps its word order
        spoken = f"{numbers.ordinal(day)} of {MONTHS[month - 1]}"
        return spoken + (", " + numbers.year(int(m.group("year"))) if m.group("year") else "")
    return _say_date(month, day, m.group("year"))


_DATE_RULES = (
    (re.compile(r"\b(?P<y1>\d{4})([-/])(?P<m1>\d{1,2})\2(?P<d1>\d{1,2})\b"
                r"|\b(?P<m2>\d{1,2})/(?P<d2>\d{1,2})/(?P<y2>\d{4}|\d{2})\b"), _numeric_date),
    (re.compile(rf"\b{_MONTH_RE}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b"
                r"(?:,?\s+(?P<year>\d{4})\b)?"), _month_date),
    (re.compile(rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<of>of\s+)?{_MONTH_RE}"
                r"(?:,?\s+(?P<year>\d{4})\b)?"), _month_date),
    (re.compile(rf"\b{_MONTH_RE}\s+(?P<year>\d{{4}})\b"),
     lambda m: f"{_month(m.group('month'))} {numbers.year(int(m.group('year')))}"),
)


def say_dates(text: str) -> str:
    """Spell numeric dates, then month-day, day-month and month-year dates; other digits stay."""
    for pattern, replacement in _DATE_RULES:
        text = pattern.sub(replacement, text)
    return text


# --------------------------------------------------------------------------- times

_AMPM = r"(?:\s?([AaPp])\.?\s?[Mm]\b\.?)"
_CLOCK_RE = re.compile(rf"(?<![\d:.])(\d{{1,2}}):(\d{{2}})(?::(\d{{2}}))?{_AMPM}?(?![\d:])")
_HOUR_RE = re.compile(rf"(?<![\d:.,])(\d{{1,2}}){_AMPM}(?!\w)")


def _meridiem(m: re.Match, letter: str | None) -> str:
    return f" {letter.upper()} M{keep_period(m)}" if letter else ""


def _clock(m: re.Match) -> str:
    hour, minute = int(m.group(1)), int(m.group(2))
    second, letter = m.group(3), m.group(4)
    if hour > 24 or minute > 59 or (letter and not 1 <= hour <= 12) or (second and int(second) > 59):
        return m.group(0)
    spoken = numbers.cardinal(hour)
    if minute:
        spoken += (" oh " if minute < 10 else " ") + numbers.cardinal(minute)
    elif not letter:
        spoken += " o'clock" if 1 <= hour <= 12 else " hundred"
    if second and int(second):
        spoken += f" and {numbers.cardinal(int(second))} second{'' if int(second) == 1 else 's'}"
    return spoken + _meridiem(m, letter)


def _hour(m: re.Match) -> str:
    hour = int(m.group(1))
    return numbers.cardinal(hour) + _meridiem(m, m.group(2)) if 1 <= hour <= 12 else m.group(0)


def say_times(text: str) -> str:
    """Spell clock times (h:mm, h:mm:ss, with or without am/pm), then bare hours with am/pm."""
    text = _CLOCK_RE.sub(_clock, text)
    return _HOUR_RE.sub(_hour, text)
