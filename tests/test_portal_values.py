"""portal/values.py: periods in both calendars, numbers with DECIMALS and UNIT_MULT, and the
OBS_STATUS legend. The Solar Hijri spans are checked against jdatetime (an independent
implementation), not against persian/calendar.py that values.py uses."""

from __future__ import annotations

from datetime import date, timedelta

import jdatetime
import pytest

from sdmx_server.portal.values import (
    PeriodLabel, ValueFormat, codelist_texts, flag, period_label, solar_hijri_span, status_legend,
)

FA_MONTHS = ("فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور",
             "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند")


def _fa(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


def _oracle_span(first: date, last: date) -> str:
    a, b = jdatetime.date.fromgregorian(date=first), jdatetime.date.fromgregorian(date=last)
    if first == last:
        return f"{_fa(a.day)} {FA_MONTHS[a.month - 1]} {_fa(a.year)}"
    if (a.year, a.month) == (b.year, b.month):
        return f"{FA_MONTHS[a.month - 1]} {_fa(a.year)}"
    if a.year == b.year:
        return f"{FA_MONTHS[a.month - 1]}–{FA_MONTHS[b.month - 1]} {_fa(a.year)}"
    return f"{FA_MONTHS[a.month - 1]} {_fa(a.year)}–{FA_MONTHS[b.month - 1]} {_fa(b.year)}"


@pytest.mark.parametrize("year", [2015, 2020, 2024, 2025])
def test_every_gregorian_month_names_the_solar_hijri_months_it_covers(year):
    for month in range(1, 13):
        first = date(year, month, 1)
        last = (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)
        label = period_label(f"{year}-{month:02d}", "fa")
        assert label.solar_hijri == _oracle_span(first, last)
        assert label.gregorian.endswith(_fa(year))


def test_quarters_years_and_days_in_persian():
    q = period_label("2024-Q1", "fa")
    assert q.gregorian == "سه‌ماهه اول ۲۰۲۴"
    assert q.solar_hijri == _oracle_span(date(2024, 1, 1), date(2024, 3, 31))  # دی ۱۴۰۲–فروردین ۱۴۰۳
    y = period_label("2024", "fa")
    assert y.gregorian == "۲۰۲۴"
    assert y.solar_hijri == "۱۴۰۲–۱۴۰۳"
    d = period_label("2024-03-20", "fa")
    assert d.solar_hijri == "۱ فروردین ۱۴۰۳"  # Nowruz 1403
    assert str(d) == "۲۰ مارس ۲۰۲۴ (۱ فروردین ۱۴۰۳)"


def test_english_labels_are_gregorian_only():
    assert period_label("2024-03", "en") == PeriodLabel("2024-03", "Mar 2024")
    assert str(period_label("2024-Q3", "en")) == "Q3 2024"
    assert str(period_label("2024", "en")) == "2024"
    assert str(period_label("2024-S2", "en")) == "S2 2024"


def test_a_text_that_is_no_period_is_shown_as_it_is():
    assert str(period_label("not-a-period", "en")) == "not-a-period"
    assert str(period_label("2024-13", "fa")) == "۲۰۲۴-۱۳"


def test_solar_hijri_span_of_a_long_range_names_years():
    assert solar_hijri_span(date(2023, 3, 21), date(2024, 3, 19)) == "۱۴۰۲"
    assert solar_hijri_span(date(2020, 1, 1), date(2020, 12, 31)) == "۱۳۹۸–۱۳۹۹"


def test_value_format_honours_decimals_and_unit_mult():
    names = {"UNIT_MULT": {"6": {"fa": "میلیون", "en": "Millions"}},
             "UNIT_MEASURE": {"IRR": {"fa": "ریال", "en": "Iranian rial"}}}
    fmt = ValueFormat.of({"DECIMALS": "1", "UNIT_MULT": "6", "UNIT_MEASURE": "IRR", "OBS_STATUS": "P"}, names)
    assert (fmt.decimals, fmt.unit_mult, fmt.unit) == (1, 6, "IRR")
    assert fmt.format(12345.67, "en") == "12,345.7"
    assert fmt.format(12345.67, "fa") == "۱۲٬۳۴۵٫۷"
    assert fmt.full(12.5) == 12_500_000
    assert fmt.format_full(12.5, "en") == "12,500,000"
    assert fmt.scale("en") == "millions of Iranian rial"
    assert fmt.scale("fa") == "میلیون ریال"
    assert fmt.explain("en").startswith("Figures in millions of Iranian rial (unit multiplier 6")
    assert "۶" in fmt.explain("fa") and "۱ رقم اعشار" in fmt.explain("fa")
    assert fmt.format(None, "en") == "" and fmt.format(float("nan"), "fa") == ""


def test_value_format_without_attributes_writes_plain_numbers():
    fmt = ValueFormat.of({})
    assert fmt.format(1234.5, "en") == "1,234.5"
    assert fmt.scale("en") == "" and fmt.explain("en") == ""
    bad = ValueFormat.of({"DECIMALS": "many", "UNIT_MULT": ""})
    assert (bad.decimals, bad.unit_mult) == (None, 0)
    unnamed = ValueFormat.of({"UNIT_MULT": "3"})
    assert unnamed.scale("en") == "×10^3"


def test_status_flags_and_their_legend():
    assert flag("A") == "" and flag(None) == "" and flag("P") == "P"
    codes = {"A": ({"en": "Normal value"}, {}),
             "P": ({"en": "Provisional value", "fa": "موقت"}, {"en": "A first value"}),
             "E": ({"en": "Estimated value"}, {}),
             "B": ({"en": "Time series break"}, {"en": "Not comparable"})}
    legend = status_legend(["A", "B", None, "P", "P", "X"], codes, "en")
    assert [(n.code, n.name) for n in legend] == [("P", "Provisional value"), ("B", "Time series break"), ("X", "X")]
    assert legend[0].description == "A first value"
    assert status_legend(["P"], codes, "fa")[0].name == "موقت"


def test_codelist_texts_reads_an_sdmx1_codelist():
    import sdmx.model.common as common

    cl = common.Codelist(id="CL_OBS_STATUS")
    cl.append(common.Code(id="P", name={"en": "Provisional", "fa": "موقت"}, description={"en": "First value"}))
    assert codelist_texts(cl) == {"P": ({"en": "Provisional", "fa": "موقت"}, {"en": "First value"})}
