"""The catalogue (home page): dataflows grouped by the category scheme, search in both
languages with Persian normalisation, last update and next release, the fonts; over HTTP
(parsed HTML, oracles from the SDMX API and the store's own bookkeeping) and in a real
Chromium (a visitor's search, axe-core in both languages, a phone's width, the fonts in use).

The oracles are independent of the page's code: what a principal may see and how dataflows are
filed come from the REST API's answers (categorisations, dataflows) for the same principal;
the times from store/versions.py and store/embargo.py read directly.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from urllib.parse import quote

import pytest
from lxml import html as lxml_html

from sdmx_server.persian.text import fold_for_search
from tests.browser_support import axe_violations, screenshot

JSON_STRUCTURE = "application/vnd.sdmx.structure+json;version=2.0.0"
URN = re.compile(r"=(?P<agency>[^:]+):(?P<id>[^(]+)\((?P<version>[^)]+)\)(?:\.(?P<item>.+))?$")


def page_of(portal, path: str, who: str | None = None):
    r = portal.get(path, who)
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("text/html")
    return lxml_html.fromstring(r.content)


def cards(root) -> list[str]:
    """The dataflow ids of every card, in page order."""
    return [re.match(r"[^:]+:([^(]+)\(", li.get("data-flow"))[1] for li in root.xpath(".//li[@class='card']")]


def filed_on_page(root) -> dict[str, set[str]]:
    """category path (A.B) -> the dataflows its section lists itself (not its sub-themes')."""
    found = {}
    for section in root.xpath(".//section[@class='theme']"):
        path = section.get("id").removeprefix("theme-").replace("-", ".")
        own = section.xpath("./ul[@class='cards']/li[@class='card']")
        found[path] = {re.match(r"[^:]+:([^(]+)\(", li.get("data-flow"))[1] for li in own}
    return found


def api_filing(portal, who: str | None) -> tuple[set[str], dict[str, set[str]]]:
    """(dataflows the principal sees, category path -> dataflows filed there) from the API."""
    flows = portal.get("/rest/v2/structure/dataflow/*/*/*", who, headers={"Accept": JSON_STRUCTURE})
    assert flows.status_code == 200, flows.text[:300]
    visible = {f["id"] for f in flows.json()["data"]["dataflows"]}
    links = portal.get("/rest/v2/structure/categorisation/*/*/*", who, headers={"Accept": JSON_STRUCTURE})
    filed: dict[str, set[str]] = {}
    if links.status_code == 200:
        for c in links.json()["data"].get("categorisations", []):
            source, target = URN.search(c["source"]), URN.search(c["target"])
            if "Dataflow=" in c["source"] and source["id"] in visible:
                filed.setdefault(target["item"], set()).add(source["id"])
    return visible, filed


@pytest.mark.parametrize("who", [None, "office", "isfahan"])
@pytest.mark.parametrize("prefix", ["", "/en"])
def test_the_catalogue_files_what_the_api_files_for_each_principal(demo_portal, who, prefix):
    root = page_of(demo_portal, prefix + "/", who)
    visible, filed = api_filing(demo_portal, who)
    assert set(cards(root)) == visible
    on_page = filed_on_page(root)
    for path, flows in filed.items():
        assert on_page.get(path, set()) == flows, (path, on_page.get(path), flows)
    # a theme shown holds a dataflow here or below; a theme of hidden dataflows is not shown
    for path, flows in on_page.items():
        assert flows or any(p.startswith(path + ".") and f for p, f in on_page.items()), path
    assert root.get("lang") == ("en" if prefix else "fa") and root.get("dir") == ("ltr" if prefix else "rtl")


def test_the_public_does_not_learn_of_internal_flows(demo_portal):
    for prefix in ("", "/en"):
        r = demo_portal.get(prefix + "/")
        assert "DF_CONTRIBUTIONS" not in r.text and "DF_KPI_NORMS" not in r.text
        assert "CONTRIBUTIONS" not in r.text  # nor the theme that holds only it
        r = demo_portal.get(prefix + "/?q=" + quote("حق بیمه وصولی"))
        assert "DF_CONTRIBUTIONS" not in r.text


def test_staff_see_internal_flows_marked(demo_portal):
    root = page_of(demo_portal, "/en/", "isfahan")
    card = root.xpath(".//li[@data-flow='SSO:DF_CONTRIBUTIONS(1.0)']")
    assert len(card) == 1
    assert [b.text_content().strip() for b in card[0].xpath(".//span[@class='badge']")] == ["Internal"]
    assert "DF_KPI_NORMS" not in lxml_html.tostring(root, encoding="unicode")  # restricted: not theirs
    office = page_of(demo_portal, "/", "office")
    badges = {li.get("data-flow"): [b.text_content().strip() for b in li.xpath(".//span[@class='badge']")]
              for li in office.xpath(".//li[@class='card']")}
    assert badges["SSO:DF_KPI_NORMS(1.0)"] == ["محدود"] and badges["SSO:DF_INSURED(1.0)"] == []


# -- search -----------------------------------------------------------------------------------------


def found(portal, query: str, prefix: str = "", who: str | None = None) -> list[str]:
    root = page_of(portal, f"{prefix}/?q={quote(query)}", who)
    results = root.xpath(".//section[@class='results']")
    assert len(results) == 1
    return cards(results[0])


@pytest.mark.parametrize("query, flow", [
    ("بيمه‌شدگان", "DF_INSURED"),          # Arabic yeh, with the non-joiner
    ("بیمه شدگان", "DF_INSURED"),          # a space where the name has a non-joiner
    ("بيمهشدگان", "DF_INSURED"),           # nothing between the parts, Arabic yeh
    ("مستمري بگيران", "DF_PENSIONERS"),    # Arabic yeh twice
    ("كارگاه", "DF_WORKSHOPS"),            # Arabic kaf
    ("تامین اجتماعی", "DF_WORKSHOPS"),     # alef without hamza, for تأمین of the description
    ("pensioners", "DF_PENSIONERS"),
    ("WORKPLACES", "DF_WORKSHOPS"),         # the theme's English name, upper case
    ("df_kpi", "DF_KPI"),
])
def test_search_finds_a_flow_however_the_word_is_typed(demo_portal, query, flow):
    assert flow in found(demo_portal, query)
    assert flow in found(demo_portal, query, "/en")


def test_search_needs_every_word_and_says_when_nothing_is_found(demo_portal):
    assert found(demo_portal, "pensioners sex") == ["DF_PENSIONERS"]
    assert found(demo_portal, "pensioners zzzqqq") == []
    root = page_of(demo_portal, "/en/?q=zzzqqq")
    heading = root.get_element_by_id("results-h").text_content()
    assert "zzzqqq" in heading and "No statistics" in heading
    assert root.get_element_by_id("catalogue-q").get("value") == "zzzqqq"


def test_search_ranks_name_matches_first():
    from sdmx_server.portal.catalogue_index import Catalogue, FlowCard, search

    a = FlowCard("X", "DF_A", "1.0", "public", {"en": "Benefits"}, {"en": "Paid to pensioners"})
    b = FlowCard("X", "DF_B", "1.0", "public", {"fa": "مستمری‌بگیران", "en": "Pensioners"}, {})
    c = FlowCard("X", "DF_C", "1.0", "public", {"en": "Workplaces"}, {}, categories=[("X", "T", "1.0", "P")])
    catalogue = Catalogue([a, b, c], [], [a, b, c], {("X", "T", "1.0", "P"): {"en": "Pensions", "fa": "مستمری‌ها"}})
    assert [f.id for f in search(catalogue, "PENSION")] == ["DF_B", "DF_A", "DF_C"]
    assert [f.id for f in search(catalogue, "مستمري")] == ["DF_B", "DF_C"]  # Arabic yeh; C by its theme
    assert [f.id for f in search(catalogue, "pensioners paid")] == ["DF_A"]  # every word, across fields
    assert search(catalogue, "   ") == []


def test_search_with_persian_digits_matches_latin_digits():
    assert fold_for_search("۱۴۰۳") == fold_for_search("1403") == fold_for_search("١٤٠٣") == "1403"
    assert fold_for_search("بيمه\u200cشدگان") == fold_for_search("بیمه شدگان")
    assert fold_for_search("تأمين") == fold_for_search("تامین")


def test_a_long_or_odd_query_is_answered(demo_portal):
    r = demo_portal.get("/?q=" + quote("<script>" + "ی" * 300))
    assert r.status_code == 200 and "<script>ی" not in r.text
    r = demo_portal.get("/en/?q=" + quote("%00{count}"))
    assert r.status_code == 200


# -- last update and next release ------------------------------------------------------------------


def test_last_update_and_next_release_are_the_stores(demo_portal):
    """Last update: the data stamp's time. Next release: the earliest of the pending embargoed
    load's time and the calendar's first planned release not yet published (the /releases
    API), an exact time winning on the same day."""
    from sdmx_server.store.database import Database
    from sdmx_server.store.embargo import pending_loads
    from sdmx_server.store.versions import read_stamps

    db = Database(demo_portal.settings.database_url)
    try:
        root = page_of(demo_portal, "/en/", "office")
        shown = {}
        for li in root.xpath(".//li[@class='card']"):
            flow = re.match(r"([^:]+):([^(]+)\(([^)]+)\)", li.get("data-flow")).groups()
            times = [d.xpath(".//time") for d in li.xpath(".//dl[@class='meta']//dd")[:2]]
            shown[flow] = tuple(t[0].get("datetime") if t else None for t in times)
        stamps = read_stamps(db, list(shown))
        pending = {}
        for p in pending_loads(db):
            pending.setdefault(p.flow, p.release_at)
    finally:
        db.dispose()
    calendar = demo_portal.get("/releases", "office").json()["releases"]
    planned = {}
    for release in sorted(calendar, key=lambda r: r["due"]):
        if release["status"] in ("upcoming", "missing"):
            planned.setdefault(release["dataflow"], release["due"])
    utc = lambda m: m.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    for flow, (last, following) in shown.items():
        assert last == (utc(stamps[flow][1]) if flow in stamps else None), flow
        exact = utc(pending[flow]) if flow in pending else None
        day = planned.get(f"{flow[0]}:{flow[1]}({flow[2]})")
        expected = min([x for x in (exact, day) if x], key=lambda x: (x[:10], len(x) == 10), default=None)
        assert following == expected, (flow, following, exact, day)
    kpi = shown[("SSO", "DF_KPI", "1.0")]
    assert "T" in kpi[1] and datetime.fromisoformat(kpi[1].replace("Z", "+00:00")) > datetime.now(timezone.utc)
    assert sum(1 for last, _ in shown.values() if last) >= 5
    assert sum(1 for _, following in shown.values() if following and "T" not in following) >= 4  # the calendar's days


def test_next_release_combines_the_calendar_and_the_embargo(tmp_path):
    """service/releases.next_release on a store of its own: the earliest day wins; an embargo's
    exact time wins over a planned day on the same day; a missed planned day with an embargo
    to come shows the embargo's time, still flagged delayed; no announcement, no entry."""
    from datetime import date, timedelta

    from sqlmodel import Session

    from sdmx_server.boot import create_schema
    from sdmx_server.ops.calendar import Plan, add_release
    from sdmx_server.service.releases import NextRelease, next_release
    from sdmx_server.store.database import Database
    from sdmx_server.store.embargo import Embargo
    from sdmx_server.store.records import LoadRecord

    now = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    db = Database(f"sqlite:///{tmp_path / 'releases.db'}")
    try:
        create_schema(db)

        def embargo(flow: str, at: datetime) -> None:
            with Session(db.engine) as session:
                record = LoadRecord(flow=f"X:{flow}(1.0)", action="merge", source="t", status="pending", release_at=at)
                session.add(record)
                session.commit()
                session.add(Embargo(load_id=record.id, flow_agency="X", flow_id=flow, flow_version="1.0",
                                    release_at=at, present="[]"))
                session.commit()

        def plan(flow: str, due: date, period: str) -> None:
            add_release(db, Plan(f"X:{flow}(1.0)", period, due), "test")

        same_day = datetime(2027, 1, 25, 5, 30, tzinfo=timezone.utc)
        plan("SAME", date(2027, 1, 25), "2026-12")
        embargo("SAME", same_day)
        plan("EARLIER", date(2027, 1, 10), "2026-11")
        embargo("EARLIER", datetime(2027, 2, 1, tzinfo=timezone.utc))
        plan("MISSED", date(2026, 11, 20), "2026-10")  # nothing published since: missing
        embargo("MISSED", datetime(2026, 12, 20, 6, tzinfo=timezone.utc))
        plan("ONLY_PLAN", date(2026, 11, 20), "2026-10")
        embargo("PAST", now - timedelta(hours=1))  # due already: being released, not "next"
        flows = [("X", f, "1.0") for f in ("SAME", "EARLIER", "MISSED", "ONLY_PLAN", "PAST", "NONE")]
        found = next_release(db, flows, now=now)
    finally:
        db.dispose()
    assert found == {
        ("X", "SAME", "1.0"): NextRelease(date(2027, 1, 25), same_day, "2026-12", False),
        ("X", "EARLIER", "1.0"): NextRelease(date(2027, 1, 10), None, "2026-11", False),
        ("X", "MISSED", "1.0"): NextRelease(date(2026, 12, 20), datetime(2026, 12, 20, 6, tzinfo=timezone.utc),
                                            "2026-10", True),
        ("X", "ONLY_PLAN", "1.0"): NextRelease(date(2026, 11, 20), None, "2026-10", True),
    }


def test_times_are_solar_hijri_in_persian():
    from sdmx_server.portal.moments import format_moment

    moment = datetime(2026, 12, 1, 18, 45, tzinfo=timezone.utc)  # 22:15 in Tehran, 10 Azar 1405
    assert format_moment(moment, "fa") == "۱۰ آذر ۱۴۰۵، ساعت ۲۲:۱۵ (\u2066۲۰۲۶-۱۲-۰۱\u2069)"
    assert format_moment(moment, "en") == "1 Dec 2026, 22:15 Iran time"
    assert format_moment(datetime(2025, 3, 20, 21, 0, tzinfo=timezone.utc), "en", with_time=False) == "21 Mar 2025"


# -- fonts --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, sample", [
    ("noto-sans-arabic.ttf", "یکگپچژ۰۱۲۳۴۵۶۷۸۹\u200c"),
    ("noto-sans.ttf", "Statistics 0123456789"),
])
def test_the_fonts_are_served_and_draw_persian(demo_portal, name, sample):
    import io

    from fontTools.ttLib import TTFont

    r = demo_portal.get(f"/static/fonts/{name}")
    assert r.status_code == 200 and r.headers["content-type"] == "font/ttf"
    assert "max-age" in r.headers["cache-control"] and r.headers.get("etag")
    cmap = TTFont(io.BytesIO(r.content)).getBestCmap()
    missing = [c for c in sample if c != " " and ord(c) not in cmap]
    assert missing == []
    assert demo_portal.get("/static/fonts/..%2Fpyproject.toml").status_code == 404
    assert demo_portal.get("/static/fonts/nothing.ttf").status_code == 404


def test_the_stylesheet_colours_meet_aa_contrast():
    """The colour pairs portal.css uses for text: 4.5:1 at least (WCAG 2.1 AA)."""
    from sdmx_server.portal.routes import STATIC

    css = (STATIC / "portal.css").read_text(encoding="utf-8")
    colours = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6})", css))

    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    def ratio(a: str, b: str) -> float:
        la, lb = sorted((luminance(a), luminance(b)), reverse=True)
        return (la + 0.05) / (lb + 0.05)

    pairs = [("ink", "bg"), ("ink", "panel"), ("muted", "bg"), ("muted", "panel"), ("accent", "bg"),
             ("accent", "panel"), ("problem", "bg"), ("problem", "problem-bg"), ("badge", "badge-bg"),
             ("focus", "bg")]
    for fg, bg in pairs:
        assert ratio(colours[fg], colours[bg]) >= 4.5, (fg, bg, ratio(colours[fg], colours[bg]))
    assert ratio("#ffffff", colours["accent"]) >= 4.5  # button text


# -- in a browser -------------------------------------------------------------------------------------


def test_a_visitor_finds_a_flow_by_a_word_typed_with_arabic_yeh(page):
    page.goto("/")
    search = page.get_by_role("searchbox", name="جستجو در آمارها")
    search.click()
    page.keyboard.type("بيمه")  # Arabic yeh (U+064A), as an Arabic keyboard types it
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/\?q="))
    results = page.locator("section.results li.card")
    flows = results.evaluate_all("cards => cards.map(c => c.dataset.flow)")
    assert "SSO:DF_INSURED(1.0)" in flows
    link = page.locator("section.results li.card[data-flow='SSO:DF_INSURED(1.0)'] a").first
    assert link.get_attribute("href") == "/dataflow/SSO/DF_INSURED/1.0"
    assert page.get_by_role("searchbox").input_value() == "بيمه"
    assert axe_violations(page) == []
    screenshot(page, "catalogue-search-fa")


@pytest.mark.parametrize("prefix, lang", [("", "fa"), ("/en", "en")])
def test_catalogue_in_a_browser(page, prefix, lang):
    page.goto(prefix + "/")
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("section.theme").count() >= 5
    # the table of contents leads to each theme
    first = page.locator("nav.toc a").first
    target = first.get_attribute("href")
    first.click()
    assert page.evaluate("location.hash") == target
    # the fonts served by the server are the ones used
    page.evaluate("document.fonts.ready")
    families = page.evaluate("[...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)")
    assert any("Portal Sans" in f for f in families), families
    if lang == "fa":  # the Gregorian date reads left to right inside the Persian line: year first
        year_x, day_x = page.locator("li.card time").first.evaluate("""el => {
            const node = el.firstChild, text = node.textContent, range = document.createRange();
            const at = (start, end) => { range.setStart(node, start); range.setEnd(node, end);
                                         return range.getBoundingClientRect().left; };
            const open = text.indexOf('\\u2066') + 1, close = text.indexOf('\\u2069');
            return [at(open, open + 4), at(close - 2, close)];
        }""")
        assert year_x < day_x
    assert axe_violations(page) == []
    screenshot(page, f"catalogue-{lang}")


def test_keyboard_reaches_skip_link_search_and_flows_with_visible_focus(page):
    page.goto("/en/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    seen = []
    for _ in range(80):  # every control of the page, in order, until focus leaves the page
        page.keyboard.press("Tab")
        here = page.evaluate("document.activeElement.id || document.activeElement.getAttribute('href') "
                             "|| document.activeElement.tagName")
        if here == "BODY":
            break
        seen.append(here)
        assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none", here
    assert "catalogue-q" in seen
    assert any(s.startswith("/en/dataflow/") for s in seen)


def test_a_phone_sees_the_catalogue_without_sideways_scrolling(chromium, demo_portal):
    context = chromium.new_context(viewport={"width": 360, "height": 740}, base_url=demo_portal.url,
                                   device_scale_factor=2, is_mobile=True, has_touch=True)
    try:
        tab = context.new_page()
        for path, name in (("/", "catalogue-phone-fa"), ("/en/", "catalogue-phone-en")):
            tab.goto(path)
            assert tab.evaluate("document.documentElement.scrollWidth") <= 360
            # the table of contents sits above the themes, not beside them
            toc, themes = tab.locator("nav.toc").bounding_box(), tab.locator(".themes").bounding_box()
            assert toc["y"] + toc["height"] <= themes["y"] + 1
            screenshot(tab, name)
    finally:
        context.close()


def test_build_lists_latest_versions_files_by_any_version_and_hides_empty_themes():
    """The index on a registry of its own: the latest version listed with the earlier ones,
    a categorisation of an earlier version files the dataflow, a stub is not listed, a theme
    with nothing visible is not shown, a dataflow filed nowhere is 'other'."""
    import orjson

    from sdmx_server.access.gate import Gate
    from sdmx_server.access.principal import COMMAND_LINE
    from sdmx_server.portal.catalogue_index import build
    from sdmx_server.registry.index import Entry, Registry

    def entry(kind, id_, version="1.0", stub=False, **body):
        return Entry(kind, "X", id_, version, True, stub, "public", orjson.dumps({"id": id_, **body}), (), 1)

    flow = "urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=X:{}({})"
    category = "urn:sdmx:org.sdmx.infomodel.categoryscheme.Category=X:T(1.0).{}"
    registry = Registry([
        entry("dataflow", "DF_A", "1.0", names={"en": "A old"}),
        entry("dataflow", "DF_A", "1.10", names={"en": "A new"}),
        entry("dataflow", "DF_A", "1.9", names={"en": "A middle"}),
        entry("dataflow", "DF_B", names={"en": "B"}),
        entry("dataflow", "DF_S", stub=True, names={"en": "stub"}),
        entry("categoryscheme", "T", names={"en": "Themes"}, categories=[
            {"id": "P", "names": {"en": "Parent"}, "categories": [{"id": "C", "names": {"en": "Child"}}]},
            {"id": "E", "names": {"en": "Empty"}},
        ]),
        entry("categorisation", "L1", source=flow.format("DF_A", "1.0"), target=category.format("P.C")),
        entry("categorisation", "L2", source=flow.format("DF_S", "1.0"), target=category.format("E")),
    ])
    catalogue = build(Gate.of(COMMAND_LINE, [], registry))
    assert [(c.id, c.version, c.older) for c in catalogue.flows] == [("DF_A", "1.10", ["1.9", "1.0"]), ("DF_B", "1.0", [])]
    [scheme] = catalogue.schemes
    [parent] = scheme.themes
    assert (parent.ref[3], parent.flows, [c.ref[3] for c in parent.children]) == ("P", [], ["P.C"])
    assert [f.id for f in parent.children[0].flows] == ["DF_A"] and parent.count() == 1
    assert [f.id for f in catalogue.unfiled] == ["DF_B"]
