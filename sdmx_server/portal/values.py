"""Figures as people read them: periods, numbers and observation flags, in Persian or English.

Shared by the data explorer, the dashboard and the reports, so that one figure reads the same
wherever it is shown. Pure functions over texts and numbers (no registry, no request):

- `period_label(period, lang)`: an SDMX period (2024, 2024-Q1, 2024-03, 2024-03-20, 2024-W12,
  a time range) in words. Persian readers keep their books in the Solar Hijri calendar, so in
  Persian the Gregorian label comes with the Solar Hijri span it covers beside it ("مارس ۲۰۲۴"
  with "اسفند ۱۴۰۲–فروردین ۱۴۰۳"): a Gregorian month straddles two Solar Hijri months, so the
  span is given honestly rather than rounded to one of them.
- `ValueFormat`: how the values of a data set are written, from its DECIMALS, UNIT_MULT and
  UNIT_MEASURE attributes. SDMX says that OBS_VALUE × 10^UNIT_MULT is the value in
  UNIT_MEASURE; the figures are shown as published (with DECIMALS places, in the digits of the
  language) and the scale is said once beside them ("in millions of Iranian rial"), as
  statistical tables do, while `full()` gives the value in the unit itself for a tooltip.
- `flag(status)` and `status_legend(...)`: OBS_STATUS shown as a short mark beside a value
  (nothing for a normal value, "A") and explained in a legend with the codelist's own names and
  descriptions, so that "provisional" or "break in series" is never silent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Iterable, Mapping

from sdmx_server.persian import calendar
from sdmx_server.persian.numbers import Lang, format_number, localise_digits
from sdmx_server.query.periods import PeriodError, parse_period

#: Names in each language: {"fa": "...", "en": "..."} (formats/data_message.py Texts).
Texts = Mapping[str, str]

GREGORIAN_MONTHS_FA = ("ژانویه", "فوریه", "مارس", "آوریل", "مه", "ژوئن",
                       "ژوئیه", "اوت", "سپتامبر", "اکتبر", "نوامبر", "دسامبر")
GREGORIAN_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ORDINALS_FA = ("اول", "دوم", "سوم", "چهارم")
#: Reporting period kinds as words: kind -> (Persian, English abbreviation).
_PARTS = {"Q": ("سه‌ماهه", "Q"), "S": ("نیمسال", "S"), "T": ("چهارماهه", "T")}

#: The OBS_STATUS of a normal value: it gets no mark.
NORMAL_STATUS = "A"


def _pick(texts: Texts | None, lang: Lang) -> str:
    if not texts:
        return ""
    return texts.get(lang) or texts.get("en") or texts.get("fa") or next(iter(texts.values()), "")


# -- periods -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodLabel:
    """A period in words: `gregorian` in the language's digits, and in Persian `solar_hijri`,
    the Solar Hijri span it covers ("" in English, or when the period is not calendar time)."""

    period: str
    gregorian: str
    solar_hijri: str = ""

    def __str__(self) -> str:
        return f"{self.gregorian} ({self.solar_hijri})" if self.solar_hijri else self.gregorian


def period_label(period: str, lang: Lang) -> PeriodLabel:
    """`period` (an SDMX ObservationalTimePeriod) in words; a text that is no period is shown
    as it is (a label never fails a page)."""
    try:
        parsed = parse_period(period)
    except PeriodError:
        return PeriodLabel(period, localise_digits(period, lang))
    start, end = parsed.start.date(), parsed.end.date()
    gregorian = _gregorian(period, start, end, lang)
    if lang != "fa" or end <= start:
        return PeriodLabel(period, gregorian)
    return PeriodLabel(period, gregorian, solar_hijri_span(start, end - timedelta(days=1)))


def _gregorian(period: str, start: date, end: date, lang: Lang) -> str:
    months = GREGORIAN_MONTHS_FA if lang == "fa" else GREGORIAN_MONTHS_EN
    whole_months = start.day == 1 and end.day == 1
    span = (end.year - start.year) * 12 + end.month - start.month
    year = localise_digits(start.year, lang)
    if "/" not in period and whole_months and span == 12 and start.month == 1:
        return year
    if "/" not in period and whole_months and span == 1:
        return f"{months[start.month - 1]} {year}"
    kind = period[5:6] if len(period) > 6 and period[4] == "-" else ""
    if kind in _PARTS and whole_months:
        number = int(period[6:])
        fa, en = _PARTS[kind]
        if lang == "fa":
            ordinal = _ORDINALS_FA[number - 1] if number <= len(_ORDINALS_FA) else localise_digits(number, lang)
            return f"{fa} {ordinal} {year}"
        return f"{en}{number} {start.year}"
    if end - start == timedelta(days=1):
        return f"{localise_digits(start.day, lang)} {months[start.month - 1]} {year}"
    return localise_digits(period, lang)


def solar_hijri_span(first: date, last: date) -> str:
    """The Solar Hijri months from `first` to `last` (inclusive days) in Persian: a day
    ("۱ فروردین ۱۴۰۳"), a month, months of one year ("دی–اسفند ۱۴۰۲"), or of two
    ("اسفند ۱۴۰۲–فروردین ۱۴۰۳"); a span of a year or more names its years ("۱۴۰۲–۱۴۰۳")."""
    y1, m1, d1 = calendar.from_gregorian(first)
    y2, m2, _ = calendar.from_gregorian(last)
    digits = lambda n: localise_digits(n, "fa")  # noqa: E731
    name = calendar.MONTHS_FA
    if first == last:
        return f"{digits(d1)} {name[m1 - 1]} {digits(y1)}"
    if (y1, m1) == (y2, m2):
        return f"{name[m1 - 1]} {digits(y1)}"
    if (last - first).days >= 364:  # a year or more (inclusive days)
        return f"{digits(y1)}–{digits(y2)}" if y1 != y2 else digits(y1)
    if y1 == y2:
        return f"{name[m1 - 1]}–{name[m2 - 1]} {digits(y1)}"
    return f"{name[m1 - 1]} {digits(y1)}–{name[m2 - 1]} {digits(y2)}"


# -- numbers -------------------------------------------------------------------------------------


def _integer(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) and number == int(number) else None


@dataclass(frozen=True)
class ValueFormat:
    """How the values of one data set (or series) are written: DECIMALS places, and the scale
    UNIT_MULT (a power of ten) and UNIT_MEASURE, with the names of those codes."""

    decimals: int | None = None
    unit_mult: int = 0
    unit_mult_name: Texts | None = None  # CL_UNIT_MULT's name of the code ("Millions")
    unit: str | None = None  # UNIT_MEASURE code
    unit_name: Texts | None = None  # its name ("Iranian rial")

    @classmethod
    def of(cls, attributes: Mapping[str, Any], names: Mapping[str, Mapping[str, Texts]] | None = None) -> ValueFormat:
        """From attribute values {id: value} (DECIMALS, UNIT_MULT, UNIT_MEASURE; others are
        ignored) and the code names of coded attributes {component: {code: texts}}."""
        names = names or {}
        decimals = _integer(attributes.get("DECIMALS"))
        mult_code = attributes.get("UNIT_MULT")
        unit = attributes.get("UNIT_MEASURE")
        unit = str(unit) if unit not in (None, "") else None
        mult_code = str(mult_code) if mult_code not in (None, "") else None
        return cls(
            decimals=decimals if decimals is not None and 0 <= decimals <= 15 else None,
            unit_mult=_integer(mult_code) or 0,
            unit_mult_name=names.get("UNIT_MULT", {}).get(mult_code) if mult_code else None,
            unit=unit,
            unit_name=names.get("UNIT_MEASURE", {}).get(unit) if unit else None,
        )

    def format(self, value: float | int | None, lang: Lang) -> str:
        """The value as published (DECIMALS places) in the digits of `lang`; "" when missing."""
        return format_number(value, lang, self.decimals)

    def full(self, value: float | int | None) -> float | None:
        """The value in the unit of measure itself: OBS_VALUE × 10^UNIT_MULT."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        return value * 10 ** self.unit_mult

    def format_full(self, value: float | int | None, lang: Lang) -> str:
        """The value in the unit itself, written out ("12,500,000"), with the decimals that
        remain after scaling (DECIMALS − UNIT_MULT, at least none)."""
        full = self.full(value)
        if full is None:
            return ""
        decimals = None if self.decimals is None else max(0, self.decimals - self.unit_mult)
        return format_number(round(full) if decimals == 0 else full, lang, decimals)

    def scale(self, lang: Lang) -> str:
        """The scale of the figures in words: "میلیون ریال", "millions of Iranian rial",
        "thousands", "Iranian rial", or "" when the figures are plain numbers."""
        unit = _pick(self.unit_name, lang) or (self.unit or "")
        if self.unit_mult == 0:
            return unit
        mult = _pick(self.unit_mult_name, lang)
        if not mult:
            mult = ("×۱۰^" + localise_digits(self.unit_mult, "fa")) if lang == "fa" else f"×10^{self.unit_mult}"
        if lang == "fa":
            return f"{mult} {unit}".strip()
        mult = mult.lower()
        return f"{mult} of {unit}" if unit else mult

    def explain(self, lang: Lang) -> str:
        """A sentence for the page: the scale and the places, as the attributes say them."""
        parts = []
        scale = self.scale(lang)
        if scale:
            parts.append(f"ارقام به {scale}" if lang == "fa" else f"Figures in {scale}")
        if self.unit_mult:
            power = localise_digits(self.unit_mult, lang)
            parts.append(f"(ضریب واحد {power}: هر رقم × ۱۰ به توان {power})" if lang == "fa"
                         else f"(unit multiplier {power}: each figure × 10 to the power {power})")
        if self.decimals is not None:
            places = localise_digits(self.decimals, lang)
            parts.append(f"با {places} رقم اعشار" if lang == "fa" else f"with {places} decimal place(s)")
        return " ".join(parts) + ("." if parts else "")


# -- observation status ---------------------------------------------------------------------------


def flag(status: str | None) -> str:
    """The mark written beside a value: its OBS_STATUS code, or nothing for a normal value."""
    if status is None or status == "" or status == NORMAL_STATUS:
        return ""
    return str(status)


@dataclass(frozen=True)
class StatusNote:
    code: str
    name: str
    description: str


def status_legend(used: Iterable[str | None], codes: Mapping[str, tuple[Texts | None, Texts | None]],
                  lang: Lang) -> list[StatusNote]:
    """The legend of the marks a table shows: each flagged status of `used` (in the codelist's
    order, unknown codes after), with the name and description of `codes` {code: (name,
    description)} in `lang`."""
    marks = {flag(s) for s in used} - {""}
    order = {code: i for i, code in enumerate(codes)}
    notes = []
    for code in sorted(marks, key=lambda c: (order.get(c, len(order)), c)):
        name, description = codes.get(code, (None, None))
        notes.append(StatusNote(code, _pick(name, lang) or code, _pick(description, lang)))
    return notes


def codelist_texts(codelist: Any) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
    """An sdmx1 codelist as {code: (name, description)} texts for `status_legend`."""
    def texts(value: Any) -> dict[str, str]:
        localizations = getattr(value, "localizations", None) or {}
        return {str(k): str(v) for k, v in localizations.items() if v}

    return {code.id: (texts(code.name), texts(getattr(code, "description", None))) for code in codelist}
