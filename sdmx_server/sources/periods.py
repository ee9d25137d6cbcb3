"""A unit's periods as SDMX periods: one column ("1403/01", "1403-Q1", "2024-03-20") or several
(a year column and a month or quarter column), Gregorian or Solar Hijri.

A Solar Hijri month, quarter or year is not a Gregorian one, so by default it becomes an SDMX
time range of its exact days: Farvardin 1403 is `2024-03-20/P31D`. A source may ask instead for
the Gregorian period that holds most of its days (`gregorian: majority`): Farvardin 1403 (12
days of March, 19 of April) becomes `2024-04`; on a tie, the earlier one. A date is a day in
either calendar, or, with `as: month|quarter|year`, the period of that resolution that holds it.

Values are parsed once per distinct value (a million rows hold a few dozen periods), and a
value that is no period is reported with its rows, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sdmx_server.persian import calendar

RESOLUTIONS = ("day", "month", "quarter", "year")
CALENDARS = ("gregorian", "solar-hijri")

_YEAR = re.compile(r"^(\d{4})$")
_MONTH = re.compile(r"^(\d{4})\s*[-/.\s]\s*M?(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})\s*[-/.\s]?\s*Q([1-4])$", re.IGNORECASE)
_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T][0-9:.]*)?$")
_QUARTER_NUMBER = re.compile(r"^Q?([1-4])$", re.IGNORECASE)


@dataclass(frozen=True)
class PeriodRule:
    """How a source's period is read (the `period:` block of a source file)."""

    calendar: str = "gregorian"
    column: str | None = None  # one column holding the whole period
    year: str | None = None  # or: a year column ...
    month: str | None = None  # ... with a month column,
    quarter: str | None = None  # ... or with a quarter column
    resolution: str | None = None  # `as:` for dates: day (default), month, quarter, year
    majority: bool = False  # Solar Hijri: the Gregorian period holding most of its days

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for c in (self.column, self.year, self.month, self.quarter) if c)


class NotAPeriod(ValueError):
    """A value that is no period of the forms a source may use."""


def sdmx_period(rule: PeriodRule, text: str) -> str:
    """One value of the period column (or the year, month/quarter values joined by '|') as SDMX."""
    if rule.column is None:
        year_text, _, part = text.partition("|")
        year = _int(year_text, "year")
        if rule.month:
            month = _int(part, "month")
            if not 1 <= month <= 12:
                raise NotAPeriod(f"month {part!r} is not 1..12")
            return _from_parts(rule, year, month=month)
        if rule.quarter:
            m = _QUARTER_NUMBER.match(part.strip())
            if not m:
                raise NotAPeriod(f"quarter {part!r} is not 1..4 (or Q1..Q4)")
            return _from_parts(rule, year, quarter=int(m[1]))
        return _from_parts(rule, year)
    value = text.strip()
    if m := _YEAR.match(value):
        return _from_parts(rule, int(m[1]))
    if m := _MONTH.match(value):
        month = int(m[2])
        if not 1 <= month <= 12:
            raise NotAPeriod(f"month {m[2]} is not 1..12")
        return _from_parts(rule, int(m[1]), month=month)
    if m := _QUARTER.match(value):
        return _from_parts(rule, int(m[1]), quarter=int(m[2]))
    if m := _DATE.match(value):
        return _from_date(rule, int(m[1]), int(m[2]), int(m[3]))
    raise NotAPeriod("not a period of a form a source may use (1403, 1403/01, 1403-Q1, 1403/01/15, "
                     "2024, 2024-03, 2024-Q1, 2024-03-20)")


def _int(text: str, what: str) -> int:
    try:
        return int(float(text.strip()))  # spreadsheets hand whole numbers over as 1403.0
    except ValueError:
        raise NotAPeriod(f"{what} {text!r} is not a number") from None


def _from_parts(rule: PeriodRule, year: int, month: int | None = None, quarter: int | None = None) -> str:
    if rule.calendar == "gregorian":
        if month is not None:
            return f"{year:04d}-{month:02d}"
        if quarter is not None:
            return f"{year:04d}-Q{quarter}"
        return f"{year:04d}"
    start, end = calendar.span(year, month=month, quarter=quarter)
    if not rule.majority:
        return f"{start.isoformat()}/P{(end - start).days}D"
    resolution = "month" if month is not None else "quarter" if quarter is not None else "year"
    return _majority(start, end, resolution)


def _from_date(rule: PeriodRule, year: int, month: int, day: int) -> str:
    try:
        if rule.calendar == "gregorian":
            when = date(year, month, day)
        else:
            when = calendar.to_gregorian(year, month, day)
    except ValueError as exc:
        raise NotAPeriod(f"not a date of the {rule.calendar} calendar: {exc}") from None
    resolution = rule.resolution or "day"
    if resolution == "day":
        return when.isoformat()
    if rule.calendar == "gregorian":
        if resolution == "month":
            return f"{when.year:04d}-{when.month:02d}"
        if resolution == "quarter":
            return f"{when.year:04d}-Q{(when.month - 1) // 3 + 1}"
        return f"{when.year:04d}"
    y, m, _ = calendar.from_gregorian(when)
    if resolution == "month":
        return _from_parts(rule, y, month=m)
    if resolution == "quarter":
        return _from_parts(rule, y, quarter=(m - 1) // 3 + 1)
    return _from_parts(rule, y)


def _majority(start: date, end: date, resolution: str) -> str:
    """The Gregorian month, quarter or year holding most of the days of [start, end)."""
    def key(d: date) -> str:
        if resolution == "month":
            return f"{d.year:04d}-{d.month:02d}"
        if resolution == "quarter":
            return f"{d.year:04d}-Q{(d.month - 1) // 3 + 1}"
        return f"{d.year:04d}"

    counts: dict[str, int] = {}
    day = start
    while day < end:
        counts[key(day)] = counts.get(key(day), 0) + 1
        day = date.fromordinal(day.toordinal() + 1)
    best = max(counts.values())
    return next(k for k, v in counts.items() if v == best)  # insertion order: the earlier wins a tie


def period_column(rule: PeriodRule, texts: pa.Array) -> tuple[pa.Array, dict[str, str]]:
    """The SDMX period of every row (null where a value is no period), and for each such value
    why it is not: parsed once per distinct value."""
    distinct = pc.unique(texts)
    converted: list[str | None] = []
    problems: dict[str, str] = {}
    for value in distinct.to_pylist():
        if value is None or not value.strip(" |"):
            converted.append(None)
            continue
        try:
            converted.append(sdmx_period(rule, value))
        except (NotAPeriod, ValueError) as exc:
            problems[value] = str(exc)
            converted.append(None)
    positions = pc.index_in(texts, value_set=distinct)
    return pc.take(pa.array(converted, pa.string()), positions), problems


def rows_of(texts: pa.Array, value: str) -> np.ndarray:
    """Positions of the rows holding `value`."""
    return pc.indices_nonzero(pc.equal(texts, value)).to_numpy()
