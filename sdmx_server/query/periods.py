"""SDMX time periods (SDMX-ML 2.1 ObservationalTimePeriodType) as half-open UTC intervals.

Every period, whatever its form, becomes ``[start, end)``: ``end`` is the start of the following
period rather than its last instant (the Technical Notes' "23:59:59"), so that consecutive
periods share a bound exactly, a year is partitioned by its months with no gaps at any time
resolution, and "observation within the query range" is just ``obs.start >= q.start and
obs.end <= q.end``. A date-time is an instant; it is given the smallest interval a ``datetime``
can hold, ``[t, t + 1 microsecond)``, so that an instant at midnight belongs to the day it starts
and not also to the day before. Bounds are naive UTC: a value with a zone offset denotes local
calendar time there, so the whole interval is shifted by the offset; no offset means UTC. The
bounds are stored as ISO text (``iso``) whose byte order is chronological order, so that
databases compare periods as plain strings.

Reporting periods (``2010-Q3``) count from a reporting year start day (``--MM-DD``, January 1
by default) because fiscal and school years do not start in January. The year in the value is
the calendar year in which the reporting year *begins* (XSD ReportingTimePeriodType), so with
``--07-01`` the reporting year 2010 runs 2010-07-01..2011-07-01 and 2010-Q3 starts on
2011-01-01. Every bound is computed from the start day by adding whole months (day pinned to
the month's end, as xs:duration addition does), never by chaining from the previous period, so
that the bounds of a year's parts always meet and a ``--01-31`` or ``--02-29`` start day still
partitions time. Reporting weeks follow ISO 8601 relative to the start day: they begin on
Monday, and week 1 is the week holding the first Thursday on or after the start day (equally,
the one starting on the Monday nearest to it); a reporting year has 53 weeks exactly when the
next one's week 1 begins 371 days later. With the default start day these are ISO weeks.

``frequency`` is the SDMX CL_FREQ code a value's form implies, used to check it against the
series' FREQ: years A, semesters S, trimesters A_3 ("three times a year", CL_FREQ 2.1), quarters
Q, months M, weeks W, days D. A date-time instant implies none (""). A time range implies the
frequency of its duration when that is exactly one unit of one (P1Y or P12M A, P6M S, P4M A_3,
P3M Q, P1M M, P7D W, P1D or PT24H D, PT1H H, PT1M N), else "".
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Period", "PeriodError", "iso", "parse_period", "parse_query_period", "period_columns"]


class PeriodError(ValueError):
    """A value is not an SDMX time period (the message names the value and the fault)."""


@dataclass(frozen=True)
class Period:
    text: str  # as given
    start: datetime  # naive UTC, inclusive
    end: datetime  # naive UTC, exclusive: the start of the following period
    frequency: str  # CL_FREQ code implied by the form (see the module docstring), or ""

    def within(self, start: Period | None = None, end: Period | None = None) -> bool:
        """Whether this period lies in the query range from ``start`` to ``end`` (both inclusive)."""
        return (start is None or self.start >= start.start) and (end is None or self.end <= end.end)


_ZONE = r"(?P<zone>Z|[+-][0-9]{2}:[0-9]{2})?"
_DATE = r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
_TIME = r"T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]+))?"
_GREGORIAN = re.compile(r"(?P<year>[0-9]{4})(?:-(?P<month>[0-9]{2})(?:-(?P<day>[0-9]{2}))?)?" + _ZONE)
_DATE_TIME = re.compile(_DATE + _TIME + _ZONE)
_RANGE_START = re.compile(_DATE + f"(?:{_TIME})?" + _ZONE)
_REPORTING = re.compile(r"(?P<year>[0-9]{4})-(?P<kind>[ASTQMWD])(?P<number>[0-9]+)" + _ZONE)
_DURATION = re.compile(
    r"P(?:(?P<years>[0-9]+)Y)?(?:(?P<months>[0-9]+)M)?(?:(?P<days>[0-9]+)D)?"
    r"(?:T(?:(?P<hours>[0-9]+)H)?(?:(?P<minutes>[0-9]+)M)?(?:(?P<seconds>[0-9]+)(?:\.(?P<fraction>[0-9]+))?S)?)?"
)
_START_DAY = re.compile(r"--(?P<month>[0-9]{2})-(?P<day>[0-9]{2})")

#: Reporting period kinds: name, digits, periods per year, months per period, CL_FREQ code.
_KINDS = {
    "A": ("year", 1, 1, 12, "A"),
    "S": ("semester", 1, 2, 6, "S"),
    "T": ("trimester", 1, 3, 4, "A_3"),
    "Q": ("quarter", 1, 4, 3, "Q"),
    "M": ("month", 2, 12, 1, "M"),
    "W": ("week", 2, 53, 0, "W"),
    "D": ("day", 3, 366, 0, "D"),
}
_MONTHS_FREQ = {12: "A", 6: "S", 4: "A_3", 3: "Q", 1: "M"}
_SECONDS_FREQ = {7 * 86400: "W", 86400: "D", 3600: "H", 60: "N"}
_FORMS = ("YYYY, YYYY-MM, YYYY-MM-DD, YYYY-MM-DDThh:mm:ss, a reporting period such as YYYY-Q1, "
          "or start/duration such as 2020-01-01/P1M")
_MICRO = timedelta(microseconds=1)


def parse_period(text: str, reporting_year_start_day: str = "--01-01") -> Period:
    """Parse any ObservationalTimePeriod: Gregorian, date-time, reporting period or time range."""
    _start_day(reporting_year_start_day)
    _check_text(text)
    if "/" in text:
        return _time_range(text)
    return _standard(text, reporting_year_start_day)


def parse_query_period(text: str, reporting_year_start_day: str = "--01-01") -> Period:
    """Parse a startPeriod/endPeriod value: a StandardTimePeriod (anything but a time range).

    A date-time in a query names the whole unit of its last digit: ``2020-04-30T23:59:59`` is
    the second [23:59:59, 24:00:00), ``...T12:00:00.5`` a tenth of a second. So an end bound
    written as a period's last second, as the Technical Notes write period ends ("23:59:59"),
    reaches the end of that period: ``endPeriod=2020-04-30T23:59:59`` includes April."""
    _start_day(reporting_year_start_day)
    _check_text(text)
    if "/" in text:
        raise PeriodError(f"{text!r}: a time range (start/duration) cannot bound a query; give a date, "
                          "date-time, Gregorian or reporting period")
    period = _standard(text, reporting_year_start_day)
    if m := _DATE_TIME.fullmatch(text):
        digits = len(m["fraction"] or "")
        unit = timedelta(microseconds=10 ** max(0, 6 - digits)) if digits < 6 else _MICRO
        period = Period(period.text, period.start, _capped(lambda: period.start + unit), period.frequency)
    return period


def iso(value: datetime) -> str:
    """'YYYY-MM-DDTHH:MM:SS[.ffffff]' in UTC; byte order equals time order for years 0001-9999."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.isoformat()


_EPOCH = datetime(1970, 1, 1)


def epoch_us(value: datetime) -> int:
    """Microseconds since 1970-01-01T00:00:00 UTC (negative before): how the store keeps
    period bounds, small and ordered like time itself."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def period_bounds(
    values: pa.Array | pa.ChunkedArray, reporting_year_start_day: str = "--01-01"
) -> tuple[pa.Int64Array, pa.Int64Array, pa.BooleanArray]:
    """(start, end in epoch microseconds, valid mask) for a column of TIME_PERIOD strings."""
    return _per_distinct(values, reporting_year_start_day, epoch_us, pa.int64())


def period_columns(
    values: pa.Array | pa.ChunkedArray, reporting_year_start_day: str = "--01-01"
) -> tuple[pa.StringArray, pa.StringArray, pa.BooleanArray]:
    """(start iso strings, end iso strings, valid mask) for a column of TIME_PERIOD strings."""
    return _per_distinct(values, reporting_year_start_day, iso, pa.string())


def _per_distinct(values, reporting_year_start_day: str, convert, type_):
    """Only the distinct values are parsed in Python; the results are taken back to the rows.
    Null and invalid values give null bounds and False."""
    _start_day(reporting_year_start_day)  # a bad start day is the caller's error, not the data's
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()  # unifies the dictionaries of dictionary chunks
    if not pa.types.is_dictionary(values.type):
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            values = values.cast(pa.string())
        values = pc.dictionary_encode(values)
    starts: list = []
    ends: list = []
    valid: list[bool] = []
    for text in values.dictionary.to_pylist():
        try:
            period = parse_period(text, reporting_year_start_day)
        except PeriodError:
            period = None
        starts.append(convert(period.start) if period else None)
        ends.append(convert(period.end) if period else None)
        valid.append(period is not None)
    indices = values.indices
    return (
        pa.array(starts, type_).take(indices),
        pa.array(ends, type_).take(indices),
        pc.fill_null(pa.array(valid, pa.bool_()).take(indices), False),
    )


# -- parsing -------------------------------------------------------------------------------------


def _check_text(text) -> None:
    if not isinstance(text, str):
        raise PeriodError(f"{text!r} is not a string")
    if not text:
        raise PeriodError("the time period is empty")
    if text != text.strip():
        raise PeriodError(f"{text!r} has leading or trailing whitespace")


def _standard(text: str, start_day: str) -> Period:
    if m := _GREGORIAN.fullmatch(text):
        year = _year(text, m["year"])
        if m["day"]:
            start = _date(text, year, m["month"], m["day"])
            return _finish(text, m["zone"], "D", lambda: (start, _capped(lambda: start + timedelta(days=1))))
        if m["month"]:
            month = _month(text, m["month"])
            return _finish(text, m["zone"], "M",
                           lambda: (date(year, month, 1), _capped(lambda: _add_months(year, month, 1, 1))))
        return _finish(text, m["zone"], "A", lambda: (date(year, 1, 1), _capped(lambda: date(year + 1, 1, 1))))
    if m := _DATE_TIME.fullmatch(text):
        start = _date_time(text, m)
        return _finish(text, m["zone"], "", lambda: (start, _capped(lambda: start + _MICRO)))
    if m := _REPORTING.fullmatch(text):
        return _reporting(text, m, _start_day(start_day))
    raise PeriodError(f"{text!r} is not an SDMX time period (expected {_FORMS})")


def _reporting(text: str, m: re.Match, start_day: tuple[int, int]) -> Period:
    year = _year(text, m["year"])
    name, digits, count, months, frequency = _KINDS[m["kind"]]
    if len(m["number"]) != digits:
        raise PeriodError(f"{text!r}: a reporting {name} is written with {digits} digit{'s' * (digits > 1)} "
                          f"(e.g. {year:04d}-{m['kind']}{'1'.zfill(digits)})")
    number = int(m["number"])
    month, day = start_day
    if months:
        if not 1 <= number <= count:
            raise PeriodError(f"{text!r}: reporting {name} {m['number']} does not exist (1 to {count})")
        bounds = lambda: (_add_months(year, month, day, (number - 1) * months),  # noqa: E731
                          _capped(lambda: _add_months(year, month, day, number * months)))
        return _finish(text, m["zone"], frequency, bounds)
    first = _week_one if m["kind"] == "W" else _year_start
    size = 7 if m["kind"] == "W" else 1
    try:
        base = first(year, month, day)
        # The calendar repeats every 400 years: year 9999's length is year 9599's.
        shift = 400 if year >= 9999 else 0
        length = (first(year + 1 - shift, month, day) - first(year - shift, month, day)).days
    except (ValueError, OverflowError):
        raise _out_of_range(text) from None
    count = length // size
    if not 1 <= number <= count:
        raise PeriodError(f"{text!r}: reporting {name} {m['number']} does not exist; reporting year {year:04d} "
                          f"(starting --{month:02d}-{day:02d}) has {count} {name}s")
    start = base + timedelta(days=(number - 1) * size)
    return _finish(text, m["zone"], frequency, lambda: (start, _capped(lambda: start + timedelta(days=size))))


def _time_range(text: str) -> Period:
    start_text, _, duration_text = text.partition("/")
    m = _RANGE_START.fullmatch(start_text)
    if not m:
        raise PeriodError(f"{text!r}: a time range starts with a date or date-time "
                          f"(YYYY-MM-DD or YYYY-MM-DDThh:mm:ss, optionally with a zone), not {start_text!r}")
    if m["hour"]:
        start = _date_time(text, m)
    else:
        start = datetime.combine(_date(text, _year(text, m["year"]), m["month"], m["day"]), datetime.min.time())
    d = _DURATION.fullmatch(duration_text)
    if not d or duration_text == "P" or duration_text.endswith("T"):
        raise PeriodError(f"{text!r}: {duration_text!r} is not an xs:duration such as P1Y2M10DT2H30M5.5S")
    months = int(d["years"] or 0) * 12 + int(d["months"] or 0)
    micros = int(((d["fraction"] or "") + "000000")[:6])
    days, hours, minutes, whole = (int(d[unit] or 0) for unit in ("days", "hours", "minutes", "seconds"))
    seconds = days * 86400 + hours * 3600 + minutes * 60 + whole
    try:
        tail = timedelta(seconds=seconds, microseconds=micros)
    except OverflowError:
        raise _out_of_range(text) from None
    if not months and not tail:
        raise PeriodError(f"{text!r}: a time range needs a duration longer than zero")
    if months:
        frequency = "" if tail else _MONTHS_FREQ.get(months, "")
    else:
        frequency = "" if micros else _SECONDS_FREQ.get(seconds, "")

    def bounds():
        return start, _capped(
            lambda: datetime.combine(_add_months(start.year, start.month, start.day, months), start.time()) + tail)

    return _finish(text, m["zone"], frequency, bounds)


def _finish(text: str, zone: str | None, frequency: str, bounds) -> Period:
    """Compute the local bounds (which may overflow) and shift them from the value's zone to UTC."""
    offset = _offset(text, zone)
    try:
        start, end = (x if isinstance(x, datetime) else datetime.combine(x, datetime.min.time()) for x in bounds())
        return Period(text, start - offset, END_OF_TIME if end == END_OF_TIME else _capped(lambda: end - offset),
                      frequency)
    except (ValueError, OverflowError):
        raise _out_of_range(text) from None


#: The end of periods that end after 9999 (the last day of 9999, a year 9999, ...), which a
#: datetime cannot hold: such a period ends at the last instant a datetime can, so that it is
#: still within a query that ends with it (endPeriod=9999-12-31 keeps 9999-12-31).
END_OF_TIME = datetime.max


def _capped(end):
    """An end bound, or END_OF_TIME when it lies beyond year 9999."""
    try:
        value = end()
    except (ValueError, OverflowError):
        return END_OF_TIME
    return value


def _out_of_range(text: str) -> PeriodError:
    return PeriodError(f"{text!r} reaches outside the supported years 0001 to 9999")


def _year(text: str, digits: str) -> int:
    if digits == "0000":
        raise PeriodError(f"{text!r}: there is no year 0000")
    return int(digits)


def _month(text: str, digits: str) -> int:
    month = int(digits)
    if not 1 <= month <= 12:
        raise PeriodError(f"{text!r}: month {digits} does not exist (01 to 12)")
    return month


def _date(text: str, year: int, month_digits: str, day_digits: str) -> date:
    month, day = _month(text, month_digits), int(day_digits)
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        raise PeriodError(f"{text!r}: day {day_digits} does not exist in {year:04d}-{month:02d} (01 to {last})")
    return date(year, month, day)


def _date_time(text: str, m: re.Match) -> datetime:
    day = _date(text, _year(text, m["year"]), m["month"], m["day"])
    hour, minute, second = int(m["hour"]), int(m["minute"]), int(m["second"])
    micro = int(((m["fraction"] or "") + "000000")[:6])  # finer than a microsecond: truncated
    if hour == 24 and minute == second == 0 and not (m["fraction"] or "").strip("0"):
        if day == date.max:
            raise _out_of_range(text)
        return datetime.combine(day + timedelta(days=1), datetime.min.time())
    if hour > 23 or minute > 59 or second > 59:
        raise PeriodError(f"{text!r}: {m['hour']}:{m['minute']}:{m['second']} is not a time of day "
                          "(00:00:00 to 23:59:59, or 24:00:00)")
    return datetime(day.year, day.month, day.day, hour, minute, second, micro)


def _offset(text: str, zone: str | None) -> timedelta:
    if not zone or zone == "Z":
        return timedelta(0)
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    if minutes > 59 or hours > 14 or (hours == 14 and minutes):
        raise PeriodError(f"{text!r}: time zone {zone} is out of range (-14:00 to +14:00)")
    offset = timedelta(hours=hours, minutes=minutes)
    return -offset if zone[0] == "-" else offset


@lru_cache(maxsize=64)
def _start_day(text: str) -> tuple[int, int]:
    m = _START_DAY.fullmatch(text) if isinstance(text, str) else None
    if not m:
        raise PeriodError(f"reporting year start day {text!r} is not of the form --MM-DD (e.g. --07-01)")
    month, day = int(m["month"]), int(m["day"])
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(2000, month)[1]:
        raise PeriodError(f"reporting year start day {text!r} is not a day of the year")
    return month, day


def _add_months(year: int, month: int, day: int, months: int) -> date:
    """year-month-day plus whole months, the day pinned to the end of a shorter month."""
    year, month0 = divmod(year * 12 + month - 1 + months, 12)
    return date(year, month0 + 1, min(day, calendar.monthrange(year, month0 + 1)[1]))


def _year_start(year: int, month: int, day: int) -> date:
    return _add_months(year, month, day, 0)


def _week_one(year: int, month: int, day: int) -> date:
    """The Monday starting reporting week 1: the Monday nearest to the reporting year start date."""
    start = _year_start(year, month, day)
    weekday = start.weekday()  # Monday 0 .. Sunday 6
    return start - timedelta(days=weekday) if weekday <= 3 else start + timedelta(days=7 - weekday)
