"""Dates written in the forms people and tools write them, found in file names and in text.

Spec gaming re-dates the weights; the new date may be in a name (`..._20250601.safetensors`, `w-2025-06.bin`,
`w_Jun2025`), in a manifest (`"modified": "06/01/2025"`, `"mtime": 1748736000`), anywhere. Each match gives the
earliest day it can mean, so a bare year or month counts from its first day; a day/month/year order that
could be either way gives both readings.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MON = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
_Y = r"(20\d\d)"
_NOT_DIGIT_BEFORE, _NOT_DIGIT_AFTER = r"(?<!\d)", r"(?!\d)"

# Whole dates first; their spans are blanked before the bare-year and epoch patterns run, so "2025-01-01"
# is one date, not also "2025".
_FULL = [
    ("ymd", re.compile(_NOT_DIGIT_BEFORE + _Y + r"([-_./]?)(0[1-9]|1[0-2])(?:\2(0[1-9]|[12]\d|3[01]))?(?!\d)")),
    ("dmy", re.compile(_NOT_DIGIT_BEFORE + r"(\d{1,2})[-_./](\d{1,2})[-_./]" + _Y + _NOT_DIGIT_AFTER)),
    ("mon_y", re.compile(r"(?i)(?<![a-z])" + _MON + r"[-_ .,]*(?:(\d{1,2})(?:st|nd|rd|th)?[-_ .,]+)?" + _Y)),
    ("d_mon_y", re.compile(r"(?i)" + _NOT_DIGIT_BEFORE + r"(\d{1,2})[-_ .]?" + _MON + r"[-_ .,]*" + _Y)),
    ("y_mon", re.compile(r"(?i)" + _NOT_DIGIT_BEFORE + _Y + r"[-_ .]?" + _MON)),
    ("quarter", re.compile(r"(?i)(?<![a-z])q([1-4])[-_ ]?" + _Y + "|" + _Y + r"[-_ ]?q([1-4])(?![a-z0-9])")),
]
_YEAR = re.compile(_NOT_DIGIT_BEFORE + _Y + _NOT_DIGIT_AFTER)
_EPOCH = re.compile(_NOT_DIGIT_BEFORE + r"(1[6-9]\d{8})(?:\.\d+)?" + _NOT_DIGIT_AFTER)  # seconds, 2020-2033


def _day(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _readings(kind: str, groups: tuple[str | None, ...]) -> list[date | None]:
    if kind == "ymd":
        year, _, month, day = groups
        return [_day(int(year or 0), int(month or 0), int(day or 1))]
    if kind == "dmy":
        first, second, year = (int(g or 0) for g in groups)
        return [_day(year, second, first), _day(year, first, second)]
    if kind == "mon_y":
        month, day, year = groups
        return [_day(int(year or 0), _MONTHS.index((month or "").lower()[:3]) + 1, int(day or 1))]
    if kind == "d_mon_y":
        day, month, year = groups
        return [_day(int(year or 0), _MONTHS.index((month or "").lower()[:3]) + 1, int(day or 1))]
    if kind == "y_mon":
        year, month = groups
        return [_day(int(year or 0), _MONTHS.index((month or "").lower()[:3]) + 1, 1)]
    quarter, year, year2, quarter2 = groups
    return [_day(int(year or year2 or 0), 3 * (int(quarter or quarter2 or 1) - 1) + 1, 1)]


def dates(text: str, *, bare_years: bool = True) -> set[date]:
    """Every date `text` writes. `bare_years` also reads a lone 2025 as 2025-01-01 (right for a file name,
    where a year is a date; in prose it is as often a count or a version)."""
    found: set[date] = set()
    for kind, pattern in _FULL:
        for match in pattern.finditer(text):
            found |= {d for d in _readings(kind, match.groups()) if d is not None}
        text = pattern.sub(lambda m: " " * len(m.group()), text)
    if bare_years:
        found |= {date(int(y), 1, 1) for y in _YEAR.findall(text)}
    for seconds in _EPOCH.findall(text):
        found.add(datetime.fromtimestamp(int(seconds), UTC).date())
    return found
