"""SDMX time periods: every format, the reporting-year rules, rejections, and the column form."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdmx_server.query.periods import (
    END_OF_TIME, Period, PeriodError, iso, parse_period, parse_query_period, period_columns,
)

T = datetime


def bounds(text: str, start_day: str = "--01-01") -> tuple[datetime, datetime, str]:
    p = parse_period(text, start_day)
    return p.start, p.end, p.frequency


# -- examples ------------------------------------------------------------------------------------

GREGORIAN = [
    ("2020", T(2020, 1, 1), T(2021, 1, 1), "A"),
    ("2019", T(2019, 1, 1), T(2020, 1, 1), "A"),
    ("0001", T(1, 1, 1), T(2, 1, 1), "A"),
    ("9998", T(9998, 1, 1), T(9999, 1, 1), "A"),
    ("2020-03", T(2020, 3, 1), T(2020, 4, 1), "M"),
    ("2020-02", T(2020, 2, 1), T(2020, 3, 1), "M"),
    ("2020-12", T(2020, 12, 1), T(2021, 1, 1), "M"),
    ("2020-03-15", T(2020, 3, 15), T(2020, 3, 16), "D"),
    ("2020-02-29", T(2020, 2, 29), T(2020, 3, 1), "D"),
    ("2000-02-29", T(2000, 2, 29), T(2000, 3, 1), "D"),
    ("2020-12-31", T(2020, 12, 31), T(2021, 1, 1), "D"),
    # time zones: local calendar time there, shifted to UTC
    ("2020Z", T(2020, 1, 1), T(2021, 1, 1), "A"),
    ("2020+01:00", T(2019, 12, 31, 23), T(2020, 12, 31, 23), "A"),
    ("2020-03Z", T(2020, 3, 1), T(2020, 4, 1), "M"),
    ("2020-03-05:00", T(2020, 3, 1, 5), T(2020, 4, 1, 5), "M"),
    ("2020-03-15+03:30", T(2020, 3, 14, 20, 30), T(2020, 3, 15, 20, 30), "D"),
    ("2020-03-15-14:00", T(2020, 3, 15, 14), T(2020, 3, 16, 14), "D"),
    ("2020-03-15+14:00", T(2020, 3, 14, 10), T(2020, 3, 15, 10), "D"),
    ("2020-03-15-00:00", T(2020, 3, 15), T(2020, 3, 16), "D"),
]

DATE_TIMES = [
    ("2020-03-15T10:30:00", T(2020, 3, 15, 10, 30)),
    ("2020-03-15T10:30:00Z", T(2020, 3, 15, 10, 30)),
    ("2020-03-15T10:30:00.5", T(2020, 3, 15, 10, 30, 0, 500000)),
    ("2020-03-15T10:30:00.123456", T(2020, 3, 15, 10, 30, 0, 123456)),
    ("2020-03-15T10:30:00.123456789Z", T(2020, 3, 15, 10, 30, 0, 123456)),  # truncated to µs
    ("2020-03-15T10:30:00+03:30", T(2020, 3, 15, 7, 0)),
    ("2020-03-15T10:30:00.25-02:00", T(2020, 3, 15, 12, 30, 0, 250000)),
    ("2020-03-15T01:00:00+02:00", T(2020, 3, 14, 23, 0)),
    ("2020-12-31T23:59:59", T(2020, 12, 31, 23, 59, 59)),
    ("2020-03-15T24:00:00", T(2020, 3, 16)),
    ("2020-12-31T24:00:00.000", T(2021, 1, 1)),
]

REPORTING = [
    # default start day: the calendar year, ISO weeks, ordinal days
    ("2020-A1", "--01-01", T(2020, 1, 1), T(2021, 1, 1), "A"),
    ("2020-S1", "--01-01", T(2020, 1, 1), T(2020, 7, 1), "S"),
    ("2020-S2", "--01-01", T(2020, 7, 1), T(2021, 1, 1), "S"),
    ("2020-T1", "--01-01", T(2020, 1, 1), T(2020, 5, 1), "A_3"),
    ("2020-T2", "--01-01", T(2020, 5, 1), T(2020, 9, 1), "A_3"),
    ("2020-T3", "--01-01", T(2020, 9, 1), T(2021, 1, 1), "A_3"),
    ("2020-Q1", "--01-01", T(2020, 1, 1), T(2020, 4, 1), "Q"),
    ("2020-Q4", "--01-01", T(2020, 10, 1), T(2021, 1, 1), "Q"),
    ("2020-M01", "--01-01", T(2020, 1, 1), T(2020, 2, 1), "M"),
    ("2020-M02", "--01-01", T(2020, 2, 1), T(2020, 3, 1), "M"),
    ("2020-M12", "--01-01", T(2020, 12, 1), T(2021, 1, 1), "M"),
    ("2020-W01", "--01-01", T(2019, 12, 30), T(2020, 1, 6), "W"),  # 2020-01-01 is a Wednesday
    ("2020-W53", "--01-01", T(2020, 12, 28), T(2021, 1, 4), "W"),
    ("2015-W01", "--01-01", T(2014, 12, 29), T(2015, 1, 5), "W"),  # 2015-01-01 is a Thursday
    ("2015-W53", "--01-01", T(2015, 12, 28), T(2016, 1, 4), "W"),
    ("2021-W01", "--01-01", T(2021, 1, 4), T(2021, 1, 11), "W"),  # 2021-01-01 is a Friday
    ("2021-W52", "--01-01", T(2021, 12, 27), T(2022, 1, 3), "W"),
    ("2020-D001", "--01-01", T(2020, 1, 1), T(2020, 1, 2), "D"),
    ("2020-D010", "--01-01", T(2020, 1, 10), T(2020, 1, 11), "D"),
    ("2020-D060", "--01-01", T(2020, 2, 29), T(2020, 3, 1), "D"),
    ("2020-D366", "--01-01", T(2020, 12, 31), T(2021, 1, 1), "D"),
    ("2019-D365", "--01-01", T(2019, 12, 31), T(2020, 1, 1), "D"),
    # reporting year 2010 starting July 1 runs 2010-07-01..2011-07-01 (the year it begins in)
    ("2010-A1", "--07-01", T(2010, 7, 1), T(2011, 7, 1), "A"),
    ("2010-S2", "--07-01", T(2011, 1, 1), T(2011, 7, 1), "S"),
    ("2010-T3", "--07-01", T(2011, 3, 1), T(2011, 7, 1), "A_3"),
    ("2010-Q1", "--07-01", T(2010, 7, 1), T(2010, 10, 1), "Q"),
    ("2010-Q2", "--07-01", T(2010, 10, 1), T(2011, 1, 1), "Q"),  # the Technical Notes' example
    ("2010-Q3", "--07-01", T(2011, 1, 1), T(2011, 4, 1), "Q"),
    ("2010-Q4", "--07-01", T(2011, 4, 1), T(2011, 7, 1), "Q"),
    ("2010-M01", "--07-01", T(2010, 7, 1), T(2010, 8, 1), "M"),
    ("2010-M12", "--07-01", T(2011, 6, 1), T(2011, 7, 1), "M"),
    ("2010-D001", "--07-01", T(2010, 7, 1), T(2010, 7, 2), "D"),
    ("2010-D365", "--07-01", T(2011, 6, 30), T(2011, 7, 1), "D"),
    ("2011-D366", "--07-01", T(2012, 6, 30), T(2012, 7, 1), "D"),  # holds 2012-02-29
    ("2010-W01", "--07-01", T(2010, 6, 28), T(2010, 7, 5), "W"),  # 2010-07-01 is a Thursday
    ("2010-W53", "--07-01", T(2011, 6, 27), T(2011, 7, 4), "W"),
    ("2011-W01", "--07-01", T(2011, 7, 4), T(2011, 7, 11), "W"),  # 2011-07-01 is a Friday
    # start days late in a month: days pinned to the end of shorter months
    ("2011-M01", "--01-31", T(2011, 1, 31), T(2011, 2, 28), "M"),
    ("2011-M02", "--01-31", T(2011, 2, 28), T(2011, 3, 31), "M"),
    ("2011-A1", "--02-29", T(2011, 2, 28), T(2012, 2, 29), "A"),
    ("2012-A1", "--02-29", T(2012, 2, 29), T(2013, 2, 28), "A"),
    ("2012-M01", "--02-29", T(2012, 2, 29), T(2012, 3, 29), "M"),
    ("2011-D366", "--02-29", T(2012, 2, 28), T(2012, 2, 29), "D"),
    # zones shift reporting periods as they do calendar ones
    ("2020-Q1Z", "--01-01", T(2020, 1, 1), T(2020, 4, 1), "Q"),
    ("2020-M01+02:00", "--01-01", T(2019, 12, 31, 22), T(2020, 1, 31, 22), "M"),
    ("2020-W01-01:00", "--01-01", T(2019, 12, 30, 1), T(2020, 1, 6, 1), "W"),
    ("2020-D001+05:30", "--01-01", T(2019, 12, 31, 18, 30), T(2020, 1, 1, 18, 30), "D"),
    ("2010-Q3+01:00", "--07-01", T(2010, 12, 31, 23), T(2011, 3, 31, 23), "Q"),
]

TIME_RANGES = [
    ("2020-01-01/P1M", T(2020, 1, 1), T(2020, 2, 1), "M"),
    ("2020-01-01T00:00:00/PT12H", T(2020, 1, 1), T(2020, 1, 1, 12), ""),
    ("2020-01-01/P1Y2M10DT2H30M", T(2020, 1, 1), T(2021, 3, 11, 2, 30), ""),
    ("2020-01-01/P1Y", T(2020, 1, 1), T(2021, 1, 1), "A"),
    ("2020-01-01/P12M", T(2020, 1, 1), T(2021, 1, 1), "A"),
    ("2020-01-01/P6M", T(2020, 1, 1), T(2020, 7, 1), "S"),
    ("2020-01-01/P4M", T(2020, 1, 1), T(2020, 5, 1), "A_3"),
    ("2020-01-01/P3M", T(2020, 1, 1), T(2020, 4, 1), "Q"),
    ("2020-01-01/P2M", T(2020, 1, 1), T(2020, 3, 1), ""),
    ("2020-01-06/P7D", T(2020, 1, 6), T(2020, 1, 13), "W"),
    ("2020-02-28/P1D", T(2020, 2, 28), T(2020, 2, 29), "D"),
    ("2020-02-28/P2D", T(2020, 2, 28), T(2020, 3, 1), ""),
    ("2020-01-01/PT24H", T(2020, 1, 1), T(2020, 1, 2), "D"),
    ("2020-01-01T10:00:00/PT1H", T(2020, 1, 1, 10), T(2020, 1, 1, 11), "H"),
    ("2020-01-01T10:15:00/PT1M", T(2020, 1, 1, 10, 15), T(2020, 1, 1, 10, 16), "N"),
    ("2020-01-01T10:15:00/PT30M", T(2020, 1, 1, 10, 15), T(2020, 1, 1, 10, 45), ""),
    ("2020-01-01T10:15:00/PT90S", T(2020, 1, 1, 10, 15), T(2020, 1, 1, 10, 16, 30), ""),
    ("2020-01-01T10:15:00/PT1.5S", T(2020, 1, 1, 10, 15), T(2020, 1, 1, 10, 15, 1, 500000), ""),
    ("2020-01-01T10:15:00.25/PT0.75S", T(2020, 1, 1, 10, 15, 0, 250000), T(2020, 1, 1, 10, 15, 1), ""),
    ("2020-01-01/P1DT1H1M1S", T(2020, 1, 1), T(2020, 1, 2, 1, 1, 1), ""),
    ("2020-01-01/P0Y1M", T(2020, 1, 1), T(2020, 2, 1), "M"),
    ("2020-01-01/P0DT1H", T(2020, 1, 1), T(2020, 1, 1, 1), "H"),
    ("2020-01-01/P400D", T(2020, 1, 1), T(2021, 2, 4), ""),
    # month arithmetic pins the day, as xs:duration addition does
    ("2020-01-31/P1M", T(2020, 1, 31), T(2020, 2, 29), "M"),
    ("2019-01-31/P1M", T(2019, 1, 31), T(2019, 2, 28), "M"),
    ("2020-01-31/P1M1D", T(2020, 1, 31), T(2020, 3, 1), ""),
    ("2020-02-29/P1Y", T(2020, 2, 29), T(2021, 2, 28), "A"),
    # zones and the end of day
    ("2020-01-01+01:00/P1D", T(2019, 12, 31, 23), T(2020, 1, 1, 23), "D"),
    ("2020-01-01Z/P1D", T(2020, 1, 1), T(2020, 1, 2), "D"),
    ("2020-01-01T00:00:00-05:00/PT12H", T(2020, 1, 1, 5), T(2020, 1, 1, 17), ""),
    ("2020-01-01T24:00:00/PT1H", T(2020, 1, 2), T(2020, 1, 2, 1), "H"),
]


@pytest.mark.parametrize("text,start,end,frequency", GREGORIAN)
def test_gregorian(text, start, end, frequency):
    assert bounds(text) == (start, end, frequency)
    assert bounds(text, "--07-01") == (start, end, frequency)  # calendar periods ignore the start day


@pytest.mark.parametrize("text,start", DATE_TIMES)
def test_date_time_is_the_smallest_interval(text, start):
    assert bounds(text) == (start, start + timedelta(microseconds=1), "")


@pytest.mark.parametrize("text,start_day,start,end,frequency", REPORTING)
def test_reporting(text, start_day, start, end, frequency):
    assert bounds(text, start_day) == (start, end, frequency)


@pytest.mark.parametrize("text,start,end,frequency", TIME_RANGES)
def test_time_range(text, start, end, frequency):
    assert bounds(text) == (start, end, frequency)


def test_period_keeps_text_and_is_frozen():
    p = parse_period("2020-Q1")
    assert p == Period("2020-Q1", T(2020, 1, 1), T(2020, 4, 1), "Q")
    with pytest.raises(AttributeError):
        p.start = T(2000, 1, 1)  # type: ignore[misc]


def test_bounds_are_naive():
    for text in ("2020Z", "2020-03-15T10:30:00+03:30", "2020-Q1-01:00", "2020-01-01Z/P1D"):
        p = parse_period(text)
        assert p.start.tzinfo is None and p.end.tzinfo is None


def test_reporting_year_start_day_in_a_query():
    """REST reportingYearStartDay: ge:2010-Q3 with --07-01 selects data from 2011-01-01 on."""
    q = parse_query_period("2010-Q3", "--07-01")
    assert q.start == T(2011, 1, 1)
    january = parse_period("2011-01")
    december = parse_period("2010-12")
    assert january.within(q, None) and not december.within(q, None)


def test_within():
    start, end = parse_query_period("2020-Q1"), parse_query_period("2020-03")
    assert parse_period("2020-02-15").within(start, end)
    assert parse_period("2020-W05").within(start, end)  # 2020-01-27..2020-02-03
    assert not parse_period("2020-W01").within(start, end)  # starts 2019-12-30
    assert parse_period("2020-Q1").within(start, end)
    assert not parse_period("2020-S1").within(start, end)  # ends after March
    assert not parse_period("2020-03-31T12:00:00/P1D").within(start, end)
    assert parse_period("2020-03-31T23:59:59").within(start, end)
    assert not parse_period("2020-04-01T00:00:00").within(start, end)  # an instant at midnight: April
    assert parse_period("2020-04-01T00:00:00").within(parse_query_period("2020-04"), None)
    assert parse_period("2020").within(None, None)


def test_query_period_accepts_standard_periods():
    for text in ("2020", "2020-03", "2020-03-15", "2020-Q1", "2020-W53", "2020-D366"):
        assert parse_query_period(text) == parse_period(text)


def test_a_date_time_in_a_query_names_its_whole_last_unit():
    # Fault 3: the Technical Notes write a period's end as its last second (23:59:59).
    end = parse_query_period("2020-04-30T23:59:59")
    assert (end.start, end.end) == (T(2020, 4, 30, 23, 59, 59), T(2020, 5, 1))
    assert parse_period("2020-04").within(None, end)
    assert parse_period("2020-04-30").within(None, end)
    assert not parse_period("2020-05").within(None, end)
    assert parse_query_period("2020-03-15T10:30:00Z").end == T(2020, 3, 15, 10, 30, 1)
    assert parse_query_period("2020-03-15T10:30:00.25").end == T(2020, 3, 15, 10, 30, 0, 260000)
    assert parse_query_period("2020-03-15T10:30:00.1234567").end == T(2020, 3, 15, 10, 30, 0, 123457)


@pytest.mark.parametrize("text", ["9999", "9999-12", "9999-12-31", "9999-Q4", "9999-S2", "9999-W52", "9999-D365",
                                  "9999-12-31T23:59:59", "9999-12-31-05:00", "9999-12-01/P1M"])
def test_periods_of_the_last_year_end_at_the_end_of_time(text):
    # Fault 2: startPeriod=9999 and endPeriod=9999-12-31 are queries like any other.
    period = parse_period(text)
    if "T" not in text:  # an instant is one microsecond long, even then
        assert period.end == END_OF_TIME and period.start < period.end
    if "/" not in text:
        assert parse_query_period(text).end == END_OF_TIME
    assert parse_period("9999-12-31").within(parse_query_period("9999"), parse_query_period("9999-12-31"))


def test_query_period_rejects_time_ranges():
    with pytest.raises(PeriodError, match=r"'2020-01-01/P1M'.*time range"):
        parse_query_period("2020-01-01/P1M")


# -- rejections ----------------------------------------------------------------------------------

REJECTED = [
    ("", "empty"),
    (" 2020", "whitespace"),
    ("2020 ", "whitespace"),
    ("2020\n", "whitespace"),
    ("\t2020-Q1", "whitespace"),
    ("2020-13", "month 13"),
    ("2020-00", "month 00"),
    ("2020-02-30", "day 30 does not exist in 2020-02"),
    ("2019-02-29", "day 29 does not exist in 2019-02"),
    ("1900-02-29", "day 29 does not exist in 1900-02"),
    ("2020-04-31", "day 31"),
    ("2020-01-00", "day 00"),
    ("0000", "year 0000"),
    ("0000-Q1", "year 0000"),
    ("0001-01-01+01:00", "0001 to 9999"),
    ("20", "not an SDMX time period"),
    ("20201", "not an SDMX time period"),
    ("-2020", "not an SDMX time period"),
    ("12020", "not an SDMX time period"),
    ("2020-3", "not an SDMX time period"),
    ("2020/03", "time range"),
    ("2020-03-15 10:30:00", "not an SDMX time period"),
    ("2020-03-15T10:30", "not an SDMX time period"),
    ("2020-03-15T25:00:00", "not a time of day"),
    ("2020-03-15T10:60:00", "not a time of day"),
    ("2020-03-15T10:30:60", "not a time of day"),
    ("2020-03-15T24:00:01", "not a time of day"),
    ("2020-03-15T24:00:00.5", "not a time of day"),
    ("2020-03-15T10:30:00.", "not an SDMX time period"),
    ("2020-03-15T10:30:00+15:00", "time zone"),
    ("2020-03-15T10:30:00+14:01", "time zone"),
    ("2020-03-15+01:60", "time zone"),
    ("2020-03-15+0100", "not an SDMX time period"),
    ("2020-03-15z", "not an SDMX time period"),
    ("2020-Q5", "quarter 5"),
    ("2020-Q0", "quarter 0"),
    ("2020-S3", "semester 3"),
    ("2020-T4", "trimester 4"),
    ("2020-A2", "year 2"),
    ("2020-A0", "year 0"),
    ("2020-M13", "month 13"),
    ("2020-M00", "month 00"),
    ("2020-M1", "2 digits"),
    ("2020-Q01", "1 digit"),
    ("2020-W1", "2 digits"),
    ("2020-D1", "3 digits"),
    ("2020-D0001", "3 digits"),
    ("2021-W53", "2021 (starting --01-01) has 52 weeks"),
    ("2019-W53", "has 52 weeks"),
    ("2020-W54", "week 54"),
    ("2020-W00", "week 00"),
    ("2020-D367", "has 366 days"),
    ("2019-D366", "has 365 days"),
    ("2020-D000", "day 000"),
    ("2020-q1", "not an SDMX time period"),
    ("2020-X1", "not an SDMX time period"),
    ("2020Q1", "not an SDMX time period"),
    ("2020-Q1Z+01:00", "not an SDMX time period"),
    ("２０２０", "not an SDMX time period"),  # full-width digits
    ("2020-٠١", "not an SDMX time period"),  # Arabic-Indic digits
    ("2020-01-01/", "not an xs:duration"),
    ("2020-01-01/P", "not an xs:duration"),
    ("2020-01-01/PT", "not an xs:duration"),
    ("2020-01-01/P1DT", "not an xs:duration"),
    ("2020-01-01/P1H", "not an xs:duration"),
    ("2020-01-01/PT1D", "not an xs:duration"),
    ("2020-01-01/P1M1Y", "not an xs:duration"),
    ("2020-01-01/-P1D", "not an xs:duration"),
    ("2020-01-01/P1.5D", "not an xs:duration"),
    ("2020-01-01/p1d", "not an xs:duration"),
    ("2020-01-01/P1D/P1D", "not an xs:duration"),
    ("2020-01-01/P0D", "longer than zero"),
    ("2020-01-01/PT0.0000001S", "longer than zero"),
    ("2020/P1Y", "starts with a date"),
    ("2020-01/P1M", "starts with a date"),
    ("2020-Q1/P3M", "starts with a date"),
    ("/P1D", "starts with a date"),
    ("2020-02-30/P1D", "day 30"),
    ("2020-01-01T24:30:00/PT1H", "not a time of day"),
    ("2020-01-01+15:00/P1D", "time zone"),
    ("2020-01-01/P99999999999999999999D", "0001 to 9999"),
]


@pytest.mark.parametrize("text,message", REJECTED)
def test_rejected(text, message):
    with pytest.raises(PeriodError, match=re.escape(message)) as caught:
        parse_period(text)
    if text:
        assert repr(text) in str(caught.value)  # the message names the value
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("value", [None, 2020, b"2020"])
def test_rejects_non_strings(value):
    with pytest.raises(PeriodError, match="not a string"):
        parse_period(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("start_day", ["07-01", "--7-1", "--13-01", "--00-10", "--02-30", "--04-31", "--07-01Z", "", " --07-01"])
def test_rejects_bad_start_days(start_day):
    for text in ("2020-Q1", "2020", "2020-01-01/P1D"):
        with pytest.raises(PeriodError, match="reporting year start day"):
            parse_period(text, start_day)
    with pytest.raises(PeriodError, match="reporting year start day"):
        parse_query_period("2020-Q1", start_day)
    with pytest.raises(PeriodError, match="reporting year start day"):
        period_columns(pa.array(["2020-Q1"]), start_day)


def test_week_53_depends_on_the_start_day():
    with pytest.raises(PeriodError, match="has 52 weeks"):
        parse_period("2011-W53", "--07-01")
    assert parse_period("2010-W53", "--07-01").end == parse_period("2011-W01", "--07-01").start


# -- iso -----------------------------------------------------------------------------------------


def test_iso():
    assert iso(T(2020, 3, 15, 10, 30)) == "2020-03-15T10:30:00"
    assert iso(T(2020, 3, 15, 10, 30, 0, 1)) == "2020-03-15T10:30:00.000001"
    assert iso(T(1, 1, 1)) == "0001-01-01T00:00:00"
    assert iso(T(999, 12, 31, 23, 59, 59, 999999)) == "0999-12-31T23:59:59.999999"


def test_iso_of_an_aware_datetime_is_utc():
    from datetime import timezone

    aware = T(2020, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    assert iso(aware) == "2019-12-31T23:00:00"


# -- period_columns ------------------------------------------------------------------------------


def test_period_columns():
    values = pa.array(["2020-Q1", None, "2020-13", "2020-01-01T10:00:00Z", "2020-Q1", "", "2020-01-01/P1D"])
    starts, ends, valid = period_columns(values)
    assert starts.type == pa.string() and ends.type == pa.string() and valid.type == pa.bool_()
    assert starts.to_pylist() == ["2020-01-01T00:00:00", None, None, "2020-01-01T10:00:00", "2020-01-01T00:00:00",
                                  None, "2020-01-01T00:00:00"]
    assert ends.to_pylist() == ["2020-04-01T00:00:00", None, None, "2020-01-01T10:00:00.000001",
                                "2020-04-01T00:00:00", None, "2020-01-02T00:00:00"]
    assert valid.to_pylist() == [True, False, False, True, True, False, True]
    assert valid.null_count == 0


def test_period_columns_uses_the_start_day():
    starts, ends, _ = period_columns(pa.array(["2010-Q3"]), "--07-01")
    assert (starts[0].as_py(), ends[0].as_py()) == ("2011-01-01T00:00:00", "2011-04-01T00:00:00")


@pytest.mark.parametrize("values", [
    pa.chunked_array([["2020", None], ["2020-Q2", "bad"]]),
    pa.chunked_array([pa.array(["2020", None]).dictionary_encode(), pa.array(["2020-Q2", "bad"]).dictionary_encode()]),
    pa.array(["2020", None, "2020-Q2", "bad"], pa.large_string()),
    pa.array(["2020", None, "2020-Q2", "bad"]).dictionary_encode(),
])
def test_period_columns_input_types(values):
    starts, ends, valid = period_columns(values)
    assert isinstance(starts, pa.StringArray) and isinstance(valid, pa.BooleanArray)
    assert starts.to_pylist() == ["2020-01-01T00:00:00", None, "2020-04-01T00:00:00", None]
    assert ends.to_pylist() == ["2021-01-01T00:00:00", None, "2020-07-01T00:00:00", None]
    assert valid.to_pylist() == [True, False, True, False]


@pytest.mark.parametrize("values", [pa.array([], pa.string()), pa.chunked_array([], pa.string()), pa.nulls(2)])
def test_period_columns_empty_and_null(values):
    starts, ends, valid = period_columns(values)
    assert starts.to_pylist() == ends.to_pylist() == [None] * len(values)
    assert valid.to_pylist() == [False] * len(values)


# -- properties ----------------------------------------------------------------------------------

years = st.integers(min_value=1, max_value=9997)
start_days = st.dates(date(2000, 1, 1), date(2000, 12, 31)).map(lambda d: f"--{d.month:02d}-{d.day:02d}")
zones = st.tuples(st.sampled_from("+-"), st.integers(0, 13), st.integers(0, 59)).map(
    lambda z: (f"{z[0]}{z[1]:02d}:{z[2]:02d}", (1 if z[0] == "+" else -1) * timedelta(hours=z[1], minutes=z[2])))


def assert_partition(whole: Period, parts: list[Period]) -> None:
    assert parts[0].start == whole.start
    assert parts[-1].end == whole.end
    for earlier, later in zip(parts, parts[1:]):
        assert earlier.start < earlier.end == later.start < later.end


@given(st.dates(date(1, 1, 1), date(9998, 12, 30)))
def test_gregorian_days_and_months_are_adjacent(day):
    today = parse_period(day.isoformat())
    tomorrow = parse_period((day + timedelta(days=1)).isoformat())
    assert today.start == T(day.year, day.month, day.day) < today.end == tomorrow.start
    month = parse_period(f"{day.year:04d}-{day.month:02d}")
    following = parse_period(f"{day.year + (day.month == 12):04d}-{day.month % 12 + 1:02d}")
    assert month.start <= today.start < today.end <= month.end == following.start
    assert bounds(f"{day.year:04d}-M{day.month:02d}") == (month.start, month.end, "M")


@given(years)
def test_gregorian_year_is_partitioned_by_its_months(year):
    whole = parse_period(f"{year:04d}")
    assert_partition(whole, [parse_period(f"{year:04d}-{m:02d}") for m in range(1, 13)])
    assert whole.end == parse_period(f"{year + 1:04d}").start
    assert bounds(f"{year:04d}") == bounds(f"{year:04d}-A1")


@settings(max_examples=60)
@given(years, start_days)
def test_reporting_year_is_partitioned(year, start_day):
    y = f"{year:04d}"
    whole = parse_period(f"{y}-A1", start_day)
    assert whole.end == parse_period(f"{year + 1:04d}-A1", start_day).start
    month, day = int(start_day[2:4]), int(start_day[5:7])
    assert whole.start.month == month and whole.start.day <= day  # pinned only for --02-29
    for kind, count, width in (("S", 2, 1), ("T", 3, 1), ("Q", 4, 1), ("M", 12, 2)):
        parts = [parse_period(f"{y}-{kind}{n:0{width}d}", start_day) for n in range(1, count + 1)]
        assert_partition(whole, parts)
        with pytest.raises(PeriodError):
            parse_period(f"{y}-{kind}{count + 1:0{width}d}", start_day)
    length = (whole.end - whole.start).days
    assert length in (365, 366)
    days = [parse_period(f"{y}-D{n:03d}", start_day) for n in range(1, length + 1)]
    assert_partition(whole, days)
    if length == 365:
        with pytest.raises(PeriodError, match="has 365 days"):
            parse_period(f"{y}-D366", start_day)


@settings(max_examples=60)
@given(years, start_days)
def test_reporting_weeks(year, start_day):
    y = f"{year:04d}"
    first = parse_period(f"{y}-W01", start_day)
    year_start = parse_period(f"{y}-A1", start_day).start
    thursday = first.start + timedelta(days=3)
    assert first.start.weekday() == 0  # weeks start on Monday
    assert year_start <= thursday < year_start + timedelta(days=7)  # the first Thursday on or after
    following = parse_period(f"{year + 1:04d}-W01", start_day)
    count = (following.start - first.start).days // 7
    assert count in (52, 53) and first.start + timedelta(weeks=count) == following.start
    weeks = [parse_period(f"{y}-W{n:02d}", start_day) for n in range(1, count + 1)]
    assert_partition(Period("", first.start, following.start, "W"), weeks)
    assert all(w.end - w.start == timedelta(days=7) for w in weeks)
    with pytest.raises(PeriodError):
        parse_period(f"{y}-W{count + 1:02d}", start_day)


@given(st.dates(date(1, 1, 8), date(9998, 12, 24)))
def test_default_weeks_are_iso_weeks(day):
    iso_year, week, _ = day.isocalendar()
    p = parse_period(f"{iso_year:04d}-W{week:02d}")
    assert p.start <= T(day.year, day.month, day.day) < p.end
    has_53 = date(iso_year, 12, 28).isocalendar().week == 53
    if has_53:
        parse_period(f"{iso_year:04d}-W53")
    else:
        with pytest.raises(PeriodError):
            parse_period(f"{iso_year:04d}-W53")


@given(st.dates(date(1, 1, 1), date(9998, 12, 31)))
def test_default_reporting_days_and_months_are_calendar_ones(day):
    ordinal = day.timetuple().tm_yday
    assert bounds(f"{day.year:04d}-D{ordinal:03d}") == bounds(day.isoformat())
    assert bounds(f"{day.year:04d}-M{day.month:02d}") == bounds(f"{day.year:04d}-{day.month:02d}")
    quarter = (day.month - 1) // 3 + 1
    q = parse_period(f"{day.year:04d}-Q{quarter}")
    assert q.start == T(day.year, 3 * quarter - 2, 1)


@given(st.dates(date(2, 1, 1), date(9997, 12, 31)), zones,
       st.sampled_from(["{y}", "{y}-{m}", "{y}-{m}-{d}", "{y}-Q1", "{y}-W02", "{y}-D100", "{y}-{m}-{d}T12:34:56",
                        "{y}-{m}-{d}/P1M", "{y}-{m}-{d}T06:00:00/PT6H"]))
def test_zones_shift_the_whole_interval(day, zone, form):
    suffix, offset = zone
    text = form.format(y=f"{day.year:04d}", m=f"{day.month:02d}", d=f"{day.day:02d}")
    start, _, duration = text.partition("/")
    zoned = start + suffix + ("/" + duration if duration else "")
    plain, shifted = parse_period(text), parse_period(zoned)
    assert (shifted.start, shifted.end) == (plain.start - offset, plain.end - offset)
    assert shifted.frequency == plain.frequency
    assert bounds(start + "Z" + ("/" + duration if duration else "")) == bounds(text)


@given(st.datetimes(T(1, 1, 1), T(9998, 12, 31)))
def test_date_times_round_trip(moment):
    p = parse_period(iso(moment))
    assert p.start == moment and p.end == moment + timedelta(microseconds=1)


@given(st.datetimes(T(1, 1, 1), T(9960, 12, 31)), st.integers(0, 30), st.integers(0, 20), st.integers(0, 400),
       st.integers(0, 48), st.integers(0, 120), st.integers(0, 5000))
def test_time_range_end_is_start_plus_duration(start, years_, months, days, hours, minutes, seconds):
    if not (years_ or months or days or hours or minutes or seconds):
        return
    start = start.replace(microsecond=0)
    text = f"{iso(start)}/P{years_}Y{months}M{days}DT{hours}H{minutes}M{seconds}S"
    p = parse_period(text)
    total = start.year * 12 + start.month - 1 + years_ * 12 + months
    y, m = divmod(total, 12)
    pinned = min(start.day, [31, 29 if (y % 4 == 0 and y % 100 != 0) or y % 400 == 0 else 28, 31, 30, 31, 30, 31, 31,
                             30, 31, 30, 31][m])
    expected = start.replace(year=y, month=m + 1, day=pinned) + timedelta(days=days, hours=hours, minutes=minutes,
                                                                         seconds=seconds)
    assert p.start == start < p.end == expected


@given(st.datetimes(T(1, 1, 1), T(9999, 12, 31, 23, 59, 59, 999999)),
       st.datetimes(T(1, 1, 1), T(9999, 12, 31, 23, 59, 59, 999999)))
def test_iso_order_is_time_order(a, b):
    assert (iso(a) < iso(b)) == (a < b)
    assert (iso(a) == iso(b)) == (a == b)


valid_texts = st.one_of(
    st.dates(date(1, 1, 1), date(9998, 12, 31)).map(date.isoformat),
    st.dates(date(1, 1, 1), date(9998, 12, 31)).map(lambda d: f"{d.year:04d}-{d.month:02d}"),
    st.integers(1, 9998).map(lambda y: f"{y:04d}"),
    st.tuples(st.integers(1, 9997), st.sampled_from(["A1", "S2", "T3", "Q4", "M07", "W52", "W53", "D366", "D001"])).map(
        lambda t: f"{t[0]:04d}-{t[1]}"),
    st.datetimes(T(1, 1, 2), T(9998, 12, 31)).map(lambda t: iso(t) + "Z"),
    st.dates(date(1, 1, 1), date(9990, 12, 31)).map(lambda d: f"{d.isoformat()}/P1M"),
)
invalid_texts = st.one_of(st.text(max_size=12), st.sampled_from(["2020-13", "2020-Q5", "2021-W53", " 2020", ""]))


@settings(max_examples=60)
@given(st.lists(st.one_of(st.none(), valid_texts, invalid_texts), max_size=60), st.booleans(), start_days)
def test_period_columns_matches_parse_period(values, chunked, start_day):
    array = pa.chunked_array([pa.array(values[:7], pa.string()), pa.array(values[7:], pa.string())]) if chunked \
        else pa.array(values, pa.string())
    starts, ends, valid = period_columns(array, start_day)
    expected = []
    for value in values:
        try:
            p = parse_period(value, start_day) if value is not None else None
        except PeriodError:
            p = None
        expected.append((iso(p.start), iso(p.end), True) if p else (None, None, False))
    assert list(zip(starts.to_pylist(), ends.to_pylist(), valid.to_pylist())) == expected
