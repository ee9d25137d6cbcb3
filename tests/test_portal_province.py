"""Issue 9's proof of the provincial user: isfahan (group province-ir-10, allowed DF_CONTRIBUTIONS
where PROVINCE=IR-10) signs in and sees that province's internal data and nothing else, on the
catalogue, the explorer, the structure pages, the dashboard and in the downloads, in a real
Chromium.

The scenario signs in with POST /auth/login (the same session cookie as the portal's form), so
that it proves what a session sees whatever the form; the form itself is
`test_isfahan_signs_in_through_the_form`.
"""

from __future__ import annotations

import csv
import io
import re

import pandas as pd
import pytest
from lxml import html as lxml_html

from tests.browser_support import screenshot, sign_in
from tests.portal_proof import (CSV_DATA, ISFAHAN, PROVINCE_CODE, artefact_links, provinces_in, session_sign_in,
                                visible_flows)

CONTRIBUTIONS = "/dataflow/SSO/DF_CONTRIBUTIONS/1.0"
LANGUAGE = {"Accept-Language": "en-US,en;q=0.9"}  # what Chromium sends for en-US, downloads too
#: Pages isfahan's grants change nothing on: their main content is the anonymous visitor's.
SAME_AS_ANYONE = ["/dataflow/SSO/DF_INSURED/1.0", "/dataflow/SSO/DF_KPI/1.0", "/dashboard",
                  "/structure/datastructure/SSO/DSD_INSURED/1.0", "/structure/codelist/SSO/CL_PROVINCE/1.0"]


def flows_linked(page) -> set[tuple[str, str, str]]:
    hrefs = page.locator("main a[href*='/dataflow/']").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    return {(a, i, v) for kind, a, i, v in artefact_links(hrefs) if kind == "dataflow"}


def test_isfahan_signs_in_through_the_form(page):
    page.goto("/en/")
    sign_in(page, "isfahan")
    page.goto("/en/")
    header = page.locator("header.site").inner_text()
    assert "isfahan" in header.lower() or "Isfahan" in header, header
    assert ("SSO", "DF_CONTRIBUTIONS", "1.0") in flows_linked(page)


@pytest.mark.parametrize("lang, prefix", [("fa", ""), ("en", "/en")])
def test_the_catalogue_adds_the_provinces_internal_flow_and_nothing_else(page, chromium, lang, prefix):
    page.goto(prefix + "/")
    anonymous = flows_linked(page)
    session_sign_in(page, "isfahan")
    page.goto(prefix + "/")
    signed_in = flows_linked(page)
    assert signed_in - anonymous == {("SSO", "DF_CONTRIBUTIONS", "1.0")}
    assert anonymous <= signed_in
    assert signed_in == visible_flows(page.portal, "isfahan")
    assert "DF_KPI_NORMS" not in page.content()
    screenshot(page, f"isfahan-catalogue-{lang}")


@pytest.mark.parametrize("lang, prefix", [("fa", ""), ("en", "/en")])
def test_the_explorer_shows_isfahan_only(page, lang, prefix):
    session_sign_in(page, "isfahan")
    answer = page.goto(prefix + CONTRIBUTIONS)
    assert answer.status == 200
    offered = set(page.locator("main input[name='PROVINCE']").evaluate_all("xs => xs.map(x => x.value)"))
    assert {c for c in offered if PROVINCE_CODE.match(c)} == {ISFAHAN}, offered
    table = page.locator("table#pivot")
    assert table.is_visible()
    keys = table.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.key)")
    assert keys, "an empty table"
    provinces = {code for key in keys for code in re.findall(r"IR-\d\d", key)}
    assert provinces <= {ISFAHAN}, provinces
    page.locator("#chart .main-svg").first.wait_for()
    screenshot(page, f"isfahan-explorer-{lang}")
    # the same address asked for another province is the page of no data, not Tehran's figures
    other = page.goto(prefix + CONTRIBUTIONS + "?PROVINCE=IR-23")
    assert other.status in (200, 400)
    assert not page.locator("table#pivot").count()


def test_the_downloads_hold_isfahan_only_and_equal_the_api(page):
    """Each download, clicked in the browser (the session's cookie), holds isfahan's data only
    and is the API's answer to isfahan's token for the same address (but for the message's
    own id and time)."""
    page.set_extra_http_headers(LANGUAGE)  # the browser's languages, asked of the API alike
    session_sign_in(page, "isfahan")
    page.goto("/en" + CONTRIBUTIONS)
    api_url = page.locator("#api-url").get_attribute("href").removeprefix(page.portal.url)
    expected = page.portal.get(api_url, who="isfahan", headers=CSV_DATA)
    assert expected.status_code == 200
    api_rows = pd.read_csv(io.BytesIO(expected.content), dtype=str)
    assert set(api_rows["PROVINCE"]) == {ISFAHAN}
    links = page.locator("section.downloads a[download]")
    assert links.count() >= 5
    for i in range(links.count()):
        link = links.nth(i)
        href = link.get_attribute("href").removeprefix(page.portal.url)
        with page.expect_download(timeout=60_000) as info:  # a shared machine may take a while
            link.click()
        body = open(info.value.path(), "rb").read()
        assert provinces_in(body) == {ISFAHAN}, link.inner_text()
        api = page.portal.get(href, who="isfahan", headers=LANGUAGE).content
        assert _scrub(body) == _scrub(api), link.inner_text()
        if href.endswith("format=sdmx-csv-2.0"):
            downloaded = pd.read_csv(io.BytesIO(body), dtype=str)
            pd.testing.assert_frame_equal(
                downloaded.sort_values(list(downloaded.columns)).reset_index(drop=True),
                api_rows.sort_values(list(api_rows.columns)).reset_index(drop=True))


def _scrub(body: bytes) -> bytes:
    """A download without what differs in every message: its id and preparation time (an
    Excel book: its sheets, not its properties)."""
    import zipfile

    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as book:
            body = b"\n".join(book.read(n) for n in sorted(book.namelist()) if not n.startswith("docProps/"))
    body = re.sub(rb"<(\w+:)?(ID|Prepared)>[^<]*</(\w+:)?(ID|Prepared)>", b"", body)
    body = re.sub(rb'"(id|prepared|updated)"\s*:\s*"[^"]*"', b"", body)
    body = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", b"", body)  # Excel's 'Prepared' cell
    return re.sub(rb"<t>IREF[0-9A-F]+</t>", b"", body)  # Excel's message id cell


def test_structure_pages_show_the_internal_structure_and_hide_the_restricted_one(page):
    session_sign_in(page, "isfahan")
    assert page.goto("/en/structure/datastructure/SSO/DSD_CONTRIBUTIONS/1.0").status == 200
    assert "PROVINCE" in page.locator("main").inner_text()
    for path in ("/en/structure/datastructure/SSO/DSD_KPI_NORMS/1.0", "/en/dataflow/SSO/DF_KPI_NORMS/1.0"):
        answer = page.goto(path)
        assert answer.status == 404, path
        assert answer.headers["content-type"].startswith("text/html")
        assert "Indicator norms" not in page.content()


@pytest.mark.parametrize("path", SAME_AS_ANYONE)
def test_every_other_page_is_the_anonymous_visitors(demo_portal, path):
    """What isfahan's grants do not touch reads exactly as it does for anyone: the page's
    main content is the same."""
    def main(who):
        r = demo_portal.get("/en" + path, who=who)
        assert r.status_code == 200, (path, who, r.status_code)
        body = lxml_html.fromstring(r.content).xpath("//main")[0]
        return lxml_html.tostring(body, encoding="unicode")

    assert main("isfahan") == main(None)


def test_the_api_agrees_isfahan_reads_one_province_of_the_internal_flow(demo_portal):
    """The oracle the pages are held to: the API's answer to isfahan."""
    r = demo_portal.get("/rest/v2/data/dataflow/SSO/DF_CONTRIBUTIONS/1.0/*", who="isfahan", headers=CSV_DATA)
    assert r.status_code == 200
    provinces = {row["PROVINCE"] for row in csv.DictReader(io.StringIO(r.text))}
    assert provinces == {ISFAHAN}
