"""The portal's home in a real browser: both languages, right to left in Persian, and what the
axe-core audit finds."""

from __future__ import annotations

from tests.browser_support import axe_violations


def test_home_in_both_languages(page):
    page.goto("/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("html").get_attribute("lang") == "fa"
    links = page.locator("main a[href*='/dataflow/SSO/DF_INSURED/']")
    assert links.count() == 1
    page.goto("/en/")
    assert page.locator("html").get_attribute("dir") == "ltr"
    assert "DF_CONTRIBUTIONS" not in page.content()  # internal: not for the public
    assert axe_violations(page) == []
