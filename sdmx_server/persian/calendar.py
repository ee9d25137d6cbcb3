"""The Solar Hijri (Jalali) calendar, as Iran's units keep their books, in plain arithmetic.

A year starts at Nowruz; its months are six of 31 days, five of 30, and Esfand of 29 (30 in a
leap year). Leap years follow the 33-year arithmetic rule: a year is leap when its number
modulo 33 is 1, 5, 9, 13, 17, 22, 26 or 30 (the rule `jdatetime` and most software in Iran
use; over 1300..1500 it agrees with the astronomical calendar save for a handful of years,
which is what the units' own systems print anyway). Day counts are anchored at a known
Nowruz: 1 Farvardin 1403 = 20 March 2024.

Written here rather than through `jdatetime` so that the tests can hold it against jdatetime as
an independent oracle; periods.py turns these dates into SDMX periods.
"""

from __future__ import annotations

from datetime import date, timedelta

_LEAP_RESIDUES = (1, 5, 9, 13, 17, 22, 26, 30)
_ANCHOR_YEAR = 1403
_ANCHOR_NOWRUZ = date(2024, 3, 20)

#: Persian month names (as units write them), 1..12, for value maps and messages.
MONTHS_FA = ("فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور",
             "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند")
#: Their usual Latin spellings.
MONTHS_EN = ("Farvardin", "Ordibehesht", "Khordad", "Tir", "Mordad", "Shahrivar",
             "Mehr", "Aban", "Azar", "Dey", "Bahman", "Esfand")


def is_leap(year: int) -> bool:
    return year % 33 in _LEAP_RESIDUES


def _days_before(year: int) -> int:
    """Days from 1 Farvardin of year 1 to 1 Farvardin of `year` (years counted from 1)."""
    n = year - 1
    leaps = (n // 33) * 8 + sum(1 for r in _LEAP_RESIDUES if r <= n % 33)
    return 365 * n + leaps


def nowruz(year: int) -> date:
    """The Gregorian date of 1 Farvardin of a Solar Hijri year."""
    return _ANCHOR_NOWRUZ + timedelta(days=_days_before(year) - _days_before(_ANCHOR_YEAR))


def month_length(year: int, month: int) -> int:
    if not 1 <= month <= 12:
        raise ValueError(f"month {month} is not 1..12")
    if month <= 6:
        return 31
    if month <= 11:
        return 30
    return 30 if is_leap(year) else 29


def to_gregorian(year: int, month: int, day: int) -> date:
    """A Solar Hijri date as a Gregorian one; ValueError when the date does not exist."""
    if not 1 <= day <= month_length(year, month):
        raise ValueError(f"day {day} is not a day of month {month} of {year} ({month_length(year, month)} days)")
    offset = (min(month - 1, 6) * 31) + (max(month - 7, 0) * 30) + day - 1
    return nowruz(year) + timedelta(days=offset)


def from_gregorian(day: date) -> tuple[int, int, int]:
    """A Gregorian date as a Solar Hijri (year, month, day)."""
    year = day.year - 621
    if day < nowruz(year):
        year -= 1
    offset = (day - nowruz(year)).days
    if offset < 186:
        return year, offset // 31 + 1, offset % 31 + 1
    offset -= 186
    return year, offset // 30 + 7, offset % 30 + 1


def span(year: int, month: int | None = None, quarter: int | None = None) -> tuple[date, date]:
    """The Gregorian [start, end) of a Solar Hijri year, month (1..12) or quarter (1..4)."""
    if month is not None:
        start = to_gregorian(year, month, 1)
        return start, start + timedelta(days=month_length(year, month))
    if quarter is not None:
        if not 1 <= quarter <= 4:
            raise ValueError(f"quarter {quarter} is not 1..4")
        first = 3 * (quarter - 1) + 1
        start = to_gregorian(year, first, 1)
        return start, start + timedelta(days=sum(month_length(year, m) for m in range(first, first + 3)))
    return nowruz(year), nowruz(year + 1)
