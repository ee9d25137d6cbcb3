"""Quarters as the organisation names them: Gregorian (`2026-Q3`: July to September 2026) or
Solar Hijri (`1405-Q2`: Tir to Shahrivar 1405, 22 June to 22 September 2026). A year before
1700 is Solar Hijri: no quarter of either calendar is ambiguous."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from sdmx_server.persian import calendar as hijri
from sdmx_server.persian.numbers import Lang, persian_digits

CalendarName = Literal["gregorian", "solar-hijri"]
_QUARTER = re.compile(r"^\s*([0-9۰-۹]{4})\s*-\s*[QqF]([1-4۱-۴])\s*$")
_MONTHS_FA = ("فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند")
_GREGORIAN_FA = ("ژانویه", "فوریه", "مارس", "آوریل", "مه", "ژوئن", "ژوئیه", "اوت", "سپتامبر", "اکتبر", "نوامبر", "دسامبر")
_ORDINAL_FA = ("اول", "دوم", "سوم", "چهارم")


@dataclass(frozen=True)
class Quarter:
    calendar: CalendarName
    year: int
    number: int
    #: the first day and the day after the last, Gregorian
    start: date
    end: date

    @property
    def label(self) -> str:
        return f"{self.year}-Q{self.number}"

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def previous(self) -> "Quarter":
        year, number = (self.year, self.number - 1) if self.number > 1 else (self.year - 1, 4)
        return parse_quarter(f"{year}-Q{number}")

    def title(self, lang: Lang) -> str:
        """'Second quarter of 1405 (1 Tir - 31 Shahrivar; 22 June - 22 September 2026)'."""
        if lang == "fa":
            name = f"فصل {_ORDINAL_FA[self.number - 1]} {persian_digits(self.year)}"
            if self.calendar == "gregorian":
                name = f"سه‌ماهه {_ORDINAL_FA[self.number - 1]} {persian_digits(self.year)} میلادی"
            return f"{name} ({day_fa(self.start)} تا {day_fa(self.last_day)})"
        first, last = self.start, self.last_day
        hijri_first, hijri_last = hijri.from_gregorian(first), hijri.from_gregorian(last)
        if self.calendar == "solar-hijri":
            return (f"Q{self.number} {self.year} (Solar Hijri; {first:%-d %B %Y} to {last:%-d %B %Y})")
        return (f"Q{self.number} {self.year} ({first:%-d %B} to {last:%-d %B %Y}; Solar Hijri "
                f"{hijri_first[2]}/{hijri_first[1]}/{hijri_first[0]} to {hijri_last[2]}/{hijri_last[1]}/{hijri_last[0]})")


def day_fa(day: date) -> str:
    """A day in Persian: its Solar Hijri date, Persian digits ('۳۱ شهریور ۱۴۰۵')."""
    year, month, dom = hijri.from_gregorian(day)
    return persian_digits(f"{dom} {_MONTHS_FA[month - 1]} {year}")


def day_text(day: date, lang: Lang) -> str:
    return day_fa(day) if lang == "fa" else f"{day:%-d %b %Y}"


def parse_quarter(text: str) -> Quarter:
    """`2026-Q3` or `1405-Q2` (Persian digits too); ValueError saying what is expected."""
    m = _QUARTER.match(text or "")
    if not m:
        raise ValueError(f"{text!r} is not a quarter: write YYYY-Qn, e.g. 2026-Q3 (Gregorian) or 1405-Q2 (Solar Hijri)")
    year = int(m[1].translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")))
    number = int(m[2].translate(str.maketrans("۱۲۳۴", "1234")))
    if year < 1700:
        if year < 1300:
            raise ValueError(f"{text!r}: Solar Hijri years before 1300 are not supported")
        start, end = hijri.span(year, quarter=number)
        return Quarter("solar-hijri", year, number, start, end)
    if year > 2200:
        raise ValueError(f"{text!r}: the year is out of range")
    start = date(year, 3 * (number - 1) + 1, 1)
    end = date(year + 1, 1, 1) if number == 4 else date(year, 3 * number + 1, 1)
    return Quarter("gregorian", year, number, start, end)
