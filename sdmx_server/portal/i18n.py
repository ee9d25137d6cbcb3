"""The portal's own words in Persian and English. Names of dataflows, codes and concepts come
from the registry in both languages; these are the words around them; each page module adds its own with `words()`. A missing key is an
error in tests (tests/test_portal_i18n.py checks that every key has both languages)."""

from __future__ import annotations

from typing import Callable

from sdmx_server.persian.numbers import Lang

#: key -> (Persian, English)
MESSAGES: dict[str, tuple[str, str]] = {
    "site.name": ("درگاه آمار رسمی سازمان تأمین اجتماعی", "Social Security Organisation official statistics"),
    "site.short": ("آمار رسمی", "Official statistics"),
    "nav.catalogue": ("فهرست آمارها", "Statistics"),
    "nav.dashboard": ("داشبورد شاخص‌ها", "Indicator dashboard"),
    "nav.api": ("رابط برنامه‌نویسی SDMX", "SDMX API"),
    "nav.signin": ("ورود", "Sign in"),
    "nav.signout": ("خروج", "Sign out"),
    "nav.language": ("English", "فارسی"),
    "nav.skip": ("پرش به محتوا", "Skip to content"),
    "nav.main": ("پیمایش اصلی", "Main navigation"),
    "signed_in_as": ("واردشده با نام", "Signed in as"),
    "footer.official": ("ارقام این درگاه آمار رسمی سازمان است؛ سامانه‌ها همین ارقام را از این نشانی می‌خوانند:",
                        "The figures on this portal are the organisation's official statistics; systems read the same figures at"),
    "error.not_found": ("این صفحه پیدا نشد.", "This page was not found."),
}


def words(more: dict[str, tuple[str, str]]) -> None:
    """Add a page module's own words (called at its import); a key defined twice is a bug."""
    clash = MESSAGES.keys() & more.keys()
    assert not clash, f"portal words defined twice: {sorted(clash)}"
    MESSAGES.update(more)


def translator(lang: Lang) -> Callable[[str], str]:
    index = 0 if lang == "fa" else 1

    def t(key: str) -> str:
        return MESSAGES[key][index]

    return t
