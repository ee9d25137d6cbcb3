"""The portal's error pages (portal/errors.py): a failure on a page's path is an HTML page in
the page's language with the site's header, never an SDMX error message; the machine
interfaces keep their SDMX errors; a page about something hidden is the page about something
that does not exist.

The hidden-equals-missing cells use the pages of the page families (the explorer at
/dataflow/..., the structure pages at /structure/...): they need those pages merged."""

from __future__ import annotations

import re
import tempfile
import urllib.parse
from pathlib import Path

import httpx
import pytest
from lxml import etree
from lxml import html as lxml_html

from sdmx_server.api.security import CSP_HTML
from sdmx_server.portal.i18n import MESSAGES



def has(name: str) -> str:
    """XPath: the element has the class `name` (lxml's CSS selectors need a package the
    project does not install)."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


LANGS = {"fa": ("", "rtl", 0), "en": ("/en", "ltr", 1)}


def words(key: str, lang: str) -> str:
    return MESSAGES[key][LANGS[lang][2]]


def assert_error_page(r: httpx.Response, status: int, lang: str, ours: bool = True) -> lxml_html.HtmlElement:
    """`r` is an error page for `status` in `lang`: HTML with the site's chrome, a heading and a
    way home. `ours`: the page of portal/errors.py (its words, not kept by caches); a page
    family's own 404 page (a missing artefact) has the rest."""
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("text/html"), r.headers["content-type"]
    assert r.headers["content-security-policy"] == CSP_HTML
    assert "no-store" in r.headers["cache-control"] or "private" in r.headers["cache-control"]
    assert r.headers["content-language"] == lang
    doc = lxml_html.fromstring(r.content)
    assert doc.tag == "html" and doc.get("lang") == lang and doc.get("dir") == LANGS[lang][1]
    # the site's header: the brand linking home in this language, the main navigation
    prefix = LANGS[lang][0]
    brand = doc.xpath(f"//header[{has('site')}]//a[{has('brand')}]")
    assert [a.get("href") for a in brand] == [prefix + "/"], [a.get("href") for a in brand]
    assert doc.xpath(f"//header[{has('site')}]//nav//li/a"), "no navigation on the error page"
    headings = [h.text_content().strip() for h in doc.xpath("//main//h1")]
    assert len(headings) == 1 and headings[0], headings
    assert re.search("[\u0600-\u06ff]", headings[0]) if lang == "fa" else not re.search("[\u0600-\u06ff]", headings[0])
    home = [a.get("href") for a in doc.xpath("//main//a")]
    assert home, "an error page without a way on"
    if ours:
        assert r.headers["cache-control"] == "no-store"
        key = str(status) if f"error.{status}.title" in MESSAGES else ("5xx" if status >= 500 else "4xx")
        assert headings == [words(f"error.{key}.title", lang)], headings
        assert words(f"error.{key}.title", lang) in doc.findtext(".//title")
        assert prefix + "/" in home, home
    return doc


# -- pages that do not exist ---------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_an_unknown_page_is_a_page_in_its_language(demo_portal, lang):
    r = demo_portal.get(LANGS[lang][0] + "/no/such/page")
    doc = assert_error_page(r, 404, lang)
    assert not r.content.lstrip().startswith(b"<?xml")
    persian = re.compile("[\u0600-\u06ff]")
    text = doc.xpath("//main")[0].text_content()
    assert bool(persian.search(text)) == (lang == "fa")
    assert words("error.code", lang).replace("{code}", "۴۰۴" if lang == "fa" else "404") in text


@pytest.mark.parametrize("lang", LANGS)
def test_a_signed_in_visitor_keeps_the_header_on_an_error_page(demo_portal, lang):
    with httpx.Client(base_url=demo_portal.url, timeout=30) as browser:  # a session, as a browser has
        signed = browser.post("/auth/login", json={"name": "isfahan", "password": demo_portal.users["isfahan"]["password"]})
        assert signed.status_code == 200
        r = browser.get(LANGS[lang][0] + "/no/such/page")
    doc = assert_error_page(r, 404, lang)
    header = doc.xpath(f"//header[{has('site')}]")[0]
    signout = header.xpath(".//a/@href | .//form/@action")
    assert LANGS[lang][0] + "/signout" in signout, "the error page forgets who is signed in"


def test_head_of_an_unknown_page_is_404_without_a_body(demo_portal):
    r = httpx.head(demo_portal.url + "/en/no/such/page", timeout=30)
    assert r.status_code == 404 and r.content == b""
    assert r.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("lang", LANGS)
def test_a_method_a_page_does_not_take_is_a_405_page(demo_portal, lang):
    r = httpx.delete(demo_portal.url + LANGS[lang][0] + "/", timeout=30)
    assert_error_page(r, 405, lang)
    assert {m.strip() for m in r.headers["allow"].split(",")} >= {"GET", "HEAD"}


def test_a_missing_static_file_is_a_page(demo_portal):
    assert_error_page(demo_portal.get("/static/portal/no-such.css"), 404, "fa")


@pytest.mark.parametrize("lang", LANGS)
def test_an_ended_session_sends_a_page_view_to_the_sign_in_form(demo_portal, lang):
    """(The sign-in family's answer: the form, saying the session ended, then back.)"""
    prefix = LANGS[lang][0]
    r = httpx.get(demo_portal.url + prefix + "/dashboard", cookies={"sdmx_session": "no-such-session"}, timeout=30)
    assert r.status_code == 303, (r.status_code, r.text[:200])
    assert r.headers["location"].startswith(prefix + "/signin?"), r.headers["location"]
    assert "/dashboard" in urllib.parse.unquote(r.headers["location"])
    cleared = [c for c in r.headers.get_list("set-cookie") if c.startswith("sdmx_session=")]
    assert cleared and ("max-age=0" in cleared[0].lower() or "expires=" in cleared[0].lower()), cleared


@pytest.mark.parametrize("lang", LANGS)
def test_an_ended_session_changing_something_is_a_401_page_that_offers_to_sign_in_again(demo_portal, lang):
    prefix = LANGS[lang][0]
    r = httpx.delete(demo_portal.url + prefix + "/no/such/page", cookies={"sdmx_session": "no-such-session"}, timeout=30)
    doc = assert_error_page(r, 401, lang)
    assert prefix + "/signin" in [a.get("href") for a in doc.xpath("//main//a")]
    cleared = [c for c in r.headers.get_list("set-cookie") if c.startswith("sdmx_session=")]
    assert cleared and ("max-age=0" in cleared[0].lower() or "expires=" in cleared[0].lower()), cleared


# -- the machine interfaces keep SDMX errors ------------------------------------------------------


@pytest.mark.parametrize("path, kind", [
    ("/rest/dataflow/SSO/DF_NOPE/1.0", "xml"),
    ("/rest/data/SSO,DF_NOPE,1.0/all", "xml"),
    ("/rest/v2/structure/dataflow/SSO/DF_NOPE/1.0", "json"),
    ("/auth/no-such-thing", "json"),
    ("/admin/api/no-such-thing", "json"),
])
def test_the_api_keeps_sdmx_errors(demo_portal, path, kind):
    accept = {"Accept": "application/vnd.sdmx.structure+json;version=2.0.0"} if path.startswith("/rest/v2") else {}
    r = demo_portal.get(path, headers=accept)
    assert r.status_code in (401, 404), (r.status_code, r.text[:300])
    assert not r.headers["content-type"].startswith("text/html")
    if kind == "xml":
        doc = etree.fromstring(r.content)
        assert etree.QName(doc).localname == "Error"
    else:
        assert r.json()["errors"][0]["code"] in (100, 110)


# -- hidden is missing -----------------------------------------------------------------------------

#: (who, address of something that principal may not see, the same address of nothing). The
#: demo: DF_CONTRIBUTIONS is internal (staff), DF_KPI_NORMS restricted (a named grant only;
#: the provincial user isfahan has none).
HIDDEN = [
    (None, "/dataflow/SSO/DF_CONTRIBUTIONS/1.0", "DF_CONTRIBUTIONS", "DF_NOPE"),
    (None, "/structure/datastructure/SSO/DSD_CONTRIBUTIONS/1.0", "DSD_CONTRIBUTIONS", "DSD_NOPE"),
    ("isfahan", "/dataflow/SSO/DF_KPI_NORMS/1.0", "DF_KPI_NORMS", "DF_NOPE"),
    ("isfahan", "/structure/datastructure/SSO/DSD_KPI_NORMS/1.0", "DSD_KPI_NORMS", "DSD_NOPE"),
]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("who, path, secret, nope", HIDDEN)
def test_a_hidden_page_is_the_page_of_nothing(demo_portal, lang, who, path, secret, nope):
    prefix = LANGS[lang][0]
    hidden = demo_portal.get(prefix + path, who=who)
    nothing = demo_portal.get(prefix + path.replace(secret, nope), who=who)
    assert_error_page(nothing, 404, lang, ours=False)
    assert_error_page(hidden, 404, lang, ours=False)
    assert hidden.text.replace(secret, nope) == nothing.text
    assert {k: v for k, v in hidden.headers.items() if k not in ("date", "content-length", "x-request-id")} == \
        {k: v for k, v in nothing.headers.items() if k not in ("date", "content-length", "x-request-id")}


def test_the_hidden_pages_exist_for_those_who_may_see_them(demo_portal):
    """The other half of the cells above: the same addresses are pages for office staff, so
    the 404s are the gate's, not pages that are missing altogether."""
    for _, path, _, _ in HIDDEN:
        r = demo_portal.get(path, who="office")
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        assert r.headers["content-type"].startswith("text/html")


# -- the server's own failure and the limits, from the one dispatch point ---------------------------


@pytest.fixture(scope="module")
def failing_app():
    """The real app with one page that fails: the last-resort handler answers for it."""
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from sdmx_server.api.app import create_app
    from sdmx_server.boot import create_schema
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database

    def boom(request):
        raise RuntimeError("secret-internal-detail")

    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'errors.db'}"
        db = Database(url)
        create_schema(db)
        db.dispose()
        app = create_app(Settings(database_url=url, data_dir=Path(directory)))
        app.router.routes.insert(0, Route("/boom", boom))
        app.router.routes.insert(0, Route("/en/boom", boom))
        app.router.routes.insert(0, Route("/rest/boom", boom))
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client


@pytest.mark.parametrize("lang", LANGS)
def test_a_server_failure_on_a_page_is_a_500_page_that_hides_its_cause(failing_app, lang):
    r = failing_app.get(LANGS[lang][0] + "/boom")
    doc = assert_error_page(r, 500, lang)
    assert "secret-internal-detail" not in r.text and "Traceback" not in r.text
    assert not doc.xpath(f"//*[{has('error-detail')}]")
    for name in ("x-content-type-options", "x-frame-options", "referrer-policy"):
        assert name in r.headers, name


def test_a_server_failure_on_the_api_stays_an_sdmx_error(failing_app):
    r = failing_app.get("/rest/boom")
    assert r.status_code == 500
    assert etree.QName(etree.fromstring(r.content)).localname == "Error"
    assert "secret-internal-detail" not in r.text


@pytest.mark.parametrize("lang", LANGS)
def test_too_many_requests_on_a_page_says_when_to_try_again(lang):
    from starlette.requests import Request

    from sdmx_server.api.errors import error_response
    from sdmx_server.errors import TooManyRequests

    path = LANGS[lang][0] + "/"
    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [(b"host", b"portal.example")], "scheme": "http", "server": ("portal.example", 80)}
    r = error_response(Request(scope), TooManyRequests("over the limit of 10 requests a second", 7))
    assert r.status_code == 429 and r.headers["retry-after"] == "7"
    doc = lxml_html.fromstring(r.body)
    assert doc.get("lang") == lang
    said = doc.xpath("//main")[0].text_content()
    assert words("error.retry", lang).replace("{seconds}", "۷" if lang == "fa" else "7") in said
    assert [h.text_content() for h in doc.xpath("//main//h1")] == [words("error.429.title", lang)]


def test_an_unknown_page_says_no_empty_detail(demo_portal):
    """Starlette's 404 says only 'Not Found': the page's own words are enough."""
    doc = lxml_html.fromstring(demo_portal.get("/en/no/such/page").content)
    assert not doc.xpath(f"//*[{has('error-detail')}]")


def test_an_error_page_shows_the_request_id_the_log_carries(demo_portal):
    r = httpx.get(demo_portal.url + "/en/no-such-page", headers={"X-Request-ID": "visitor-report-42"}, timeout=30)
    assert r.status_code == 404 and r.headers["x-request-id"] == "visitor-report-42"
    page = lxml_html.fromstring(r.content)
    assert [c.text for c in page.xpath("//p[@class='error-request']/code")] == ["visitor-report-42"]
    r = httpx.get(demo_portal.url + "/no-such-page", timeout=30)
    shown = lxml_html.fromstring(r.content).xpath("//p[@class='error-request']/code")[0].text
    assert shown == r.headers["x-request-id"] and len(shown) == 32


@pytest.mark.parametrize("path", ["/en//evil.example", "/en/%2F%2Fevil.example", "//evil.example/x"])
def test_no_link_of_a_page_leaves_the_site(demo_portal, path):
    r = httpx.get(demo_portal.url + path, timeout=30)
    page = lxml_html.fromstring(r.content)
    hrefs = [e.get("href") for e in page.iter("a", "link", "form") if e.get("href")] + \
        [e.get("action") for e in page.iter("form") if e.get("action")]
    assert hrefs and not [h for h in hrefs if h.startswith("//") or "evil.example" in urllib.parse.urlsplit(h).netloc]
