"""Moments (a load's time, a release time) as a reader of each language expects them.

Shown in Iran's time (UTC+03:30: Iran keeps no daylight saving time since 2022), which is the
organisation's: in Persian as a Solar Hijri date with Persian digits and the Gregorian date
beside it, in English as a Gregorian date. The machine-readable UTC time goes into the
`<time datetime>` attribute (`iso`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sdmx_server.persian.calendar import MONTHS_FA, from_gregorian
from sdmx_server.persian.numbers import Lang, persian_digits

IRAN = timezone(timedelta(hours=3, minutes=30), "IRST")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def iso(moment: datetime) -> str:
    """UTC, to the second, as HTML's <time datetime> takes it."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_moment(moment: datetime, lang: Lang, *, with_time: bool = True) -> str:
    """E.g. fa: ۱۰ آذر ۱۴۰۵، ساعت ۲۲:۱۵ (۲۰۲۶-۱۲-۰۱) (the Gregorian date in a left-to-right
    isolate); en: 1 Dec 2026, 22:15 Iran time."""
    local = moment.astimezone(IRAN)
    clock = local.strftime("%H:%M")
    if lang == "fa":
        year, month, day = from_gregorian(local.date())
        text = f"{day} {MONTHS_FA[month - 1]} {year}"
        if with_time:
            text += f"، ساعت {clock}"
        # The Gregorian date isolated left to right: Persian digits after Persian letters are
        # Arabic numbers to the bidi algorithm, and would show 2026-12-01 as 01-12-2026.
        return persian_digits(f"{text} (\u2066{local.date().isoformat()}\u2069)")
    text = f"{local.day} {_MONTHS_EN[local.month - 1]} {local.year}"
    return f"{text}, {clock} Iran time" if with_time else text


def format_day(day: date, lang: Lang) -> str:
    """A calendar day (a planned release's): fa ۱۵ دی ۱۴۰۵ (۲۰۲۷-۰۱-۰۵); en 5 Jan 2027."""
    if lang == "fa":
        year, month, _day = from_gregorian(day)
        return persian_digits(f"{_day} {MONTHS_FA[month - 1]} {year} (\u2066{day.isoformat()}\u2069)")
    return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"
