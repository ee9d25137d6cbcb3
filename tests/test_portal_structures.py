"""The structure pages and the reference metadata in a real browser (portal/structure_pages.py):
each page says what the SDMX API says about the same artefact, to the same visitor (the API's
SDMX-JSON is the oracle), in both languages; hierarchies are trees a keyboard can fold; the
definitions and counting rules stand next to the dataflow they describe; what the visitor may
not see is the same 404 page as what does not exist. axe-core audits every page family in both
languages, and the screenshots go to docs/portal/.
"""

from __future__ import annotations

import re

import pytest
from lxml import html as lxml_html

from tests.browser_support import axe_violations, screenshot

LANGS = (("fa", ""), ("en", "/en"))
DSD_KPI = "/structure/datastructure/SSO/DSD_KPI/1.0"
CL_PROVINCE = "/structure/codelist/SSO/CL_PROVINCE/1.0"
KPI_METADATA = "/metadata/dataflow/SSO/DF_KPI/1.0"


def api(portal, path: str, who: str | None = None) -> dict:
    r = portal.get(path + ("&" if "?" in path else "?") + "format=sdmx-json", who=who)
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    return r.json()["data"]


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def row_ids(page, table: str) -> list[str]:
    return [re.sub(r"^(item|component)-", "", i)
            for i in page.locator(f"table.{table} tbody tr").evaluate_all("rows => rows.map(r => r.id)")]


# -- a DSD --------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang, prefix", LANGS)
def test_a_dsd_page_lists_the_components_the_api_has(page, lang, prefix):
    dsd = api(page.portal, "/rest/v2/structure/datastructure/SSO/DSD_KPI/1.0")["dataStructures"][0]
    parts = dsd["dataStructureComponents"]
    expected = ([d["id"] for d in sorted(parts["dimensionList"]["dimensions"], key=lambda d: d["position"])]
                + [parts["dimensionList"]["timeDimension"]["id"]]
                + [m["id"] for m in parts["measureList"]["measures"]]
                + [a["id"] for a in parts["attributeList"]["attributes"]])
    page.goto(prefix + DSD_KPI)
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "fa" else "ltr")
    assert page.locator("h1").inner_text() == dsd["names"][lang]
    assert row_ids(page, "components") == expected
    # each coded component links its codelist's page: the one its API representation names
    for d in parts["dimensionList"]["dimensions"]:
        codelist = re.search(r"Codelist=SSO:(\w+)\(", d["localRepresentation"]["enumeration"])[1]
        cell = page.locator(f"#component-{d['id']} td").nth(2)
        assert cell.locator("a").get_attribute("href") == f"{prefix}/structure/codelist/SSO/{codelist}/1.0"
    # UNIT_MEASURE attaches to INDICATOR here (not to the dataflow), as the API says
    assert "INDICATOR" in page.locator("#component-UNIT_MEASURE td").nth(3).inner_text()
    assert axe_violations(page) == []
    screenshot(page, f"structures-dsd-{lang}")
    # the API links answer the same artefact
    for href in page.locator(".api-links a").evaluate_all("links => links.map(a => a.getAttribute('href'))"):
        r = page.portal.get(href)
        assert r.status_code == 200 and "DSD_KPI" in r.text, href
    # and the codelist link leads to its page
    page.locator("#component-INDICATOR td").nth(2).locator("a").click()
    page.wait_for_url(re.compile(r"/structure/codelist/SSO/CL_INDICATOR/1\.0$"))


# -- a codelist as a tree -------------------------------------------------------------------------


@pytest.mark.parametrize("lang, prefix", LANGS)
def test_a_codelist_shows_every_code_in_both_languages_and_its_hierarchy(page, lang, prefix):
    codes = api(page.portal, "/rest/v2/structure/codelist/SSO/CL_PROVINCE/1.0")["codelists"][0]["codes"]
    other = "en" if lang == "fa" else "fa"
    page.goto(prefix + CL_PROVINCE)
    assert row_ids(page, "codes") == [c["id"] for c in codes]
    for c in codes[:5]:
        cells = page.locator(f"#item-{c['id']} td")
        assert cells.nth(0).inner_text() == c["names"][lang]
        assert cells.nth(1).inner_text() == c["names"][other]
        parent = cells.nth(3)
        assert parent.inner_text() == c.get("parent", "")
    # the tree: IR at the root, the 31 provinces under it
    roots = page.locator("section.tree > ul > li")
    assert roots.count() == 1 and roots.locator("> details > summary code").inner_text() == "IR"
    children = roots.locator("> details > ul > li")
    assert children.count() == sum(1 for c in codes if c.get("parent") == "IR") == 31
    # a parent link goes to the parent's row
    page.locator("#item-IR-10 td").nth(3).locator("a").click()
    assert page.evaluate("location.hash") == "#item-IR"
    # the keyboard folds the tree
    summary = roots.locator("> details > summary")
    summary.focus()
    page.keyboard.press("Enter")
    assert roots.locator("> details").get_attribute("open") is None
    assert not children.first.is_visible()
    page.keyboard.press("Enter")
    assert children.first.is_visible()
    assert axe_violations(page) == []
    screenshot(page, f"structures-codelist-{lang}")


def test_a_codelist_fits_a_phone(chromium, demo_portal):
    context = chromium.new_context(viewport={"width": 360, "height": 740}, base_url=demo_portal.url)
    try:
        phone = context.new_page()
        for path in (CL_PROVINCE, DSD_KPI, KPI_METADATA):
            phone.goto(path)
            assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
    finally:
        context.close()


# -- reference metadata next to the data ---------------------------------------------------------


@pytest.mark.parametrize("lang, prefix", LANGS)
def test_definitions_and_counting_rules_stand_next_to_the_dataflow(page, lang, prefix):
    sets = api(page.portal, "/rest/v2/metadata/structure/codelist/SSO/CL_INDICATOR/1.0")["metadataSets"]
    page.goto(prefix + KPI_METADATA)
    shown = page.locator("article.definition h3 a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert sorted(h.rsplit("/", 2)[-2] for h in shown) == sorted(s["id"] for s in sets)
    support = next(s for s in sets if s["id"] == "MDS_INDICATOR_SUPPORT_RATIO")
    values = {a["id"]: a for a in support["attributes"]}
    article = page.locator("article.definition", has=page.locator("#set-MDS_INDICATOR_SUPPORT_RATIO"))
    terms = article.locator("dl.attributes > div")
    by_heading = {squash(terms.nth(i).locator("> dt").inner_text()): terms.nth(i).locator("> dd")
                  for i in range(terms.count())}
    definition = by_heading[{"fa": "تعریف", "en": "Definition"}[lang]]
    assert squash(definition.inner_text()) == squash(values["DEFINITION"]["value"][lang])
    rules = by_heading[{"fa": "قواعد شمارش", "en": "Counting rules"}[lang]]
    included = {squash(p["value"][lang]) for p in values["COUNTING_RULES"]["attributes"]}
    assert {squash(rules.locator("dl.parts dd").nth(i).inner_text())
            for i in range(rules.locator("dl.parts dd").count())} == included
    # the formula is XHTML, kept as markup (italics) and nothing more
    formula = by_heading[{"fa": "فرمول محاسبه", "en": "Formula"}[lang]]
    assert formula.locator(".xhtml p").count() == 2
    # a coded value shows its code's name: the good direction UP
    assert "UP" in by_heading[{"fa": "جهت مطلوب", "en": "Good direction"}[lang]].inner_text()
    # what each set defines: the indicator code, in the dimension INDICATOR
    assert "INDICATOR" in article.locator(".defines").inner_text()
    assert article.locator(".defines a").get_attribute("href") == \
        f"{prefix}/structure/codelist/SSO/CL_INDICATOR/1.0#item-SUPPORT_RATIO"
    assert axe_violations(page) == []
    screenshot(page, f"structures-metadata-{lang}")
    for href in page.locator(".api-links a").evaluate_all("links => links.map(a => a.getAttribute('href'))"):
        r = page.portal.get(href)
        assert r.status_code == 200 and "MDS_INDICATOR_SUPPORT_RATIO" in r.text, href
        assert "/codelist/SSO/CL_INDICATOR/1.0" in href  # the query answering the same sets


@pytest.mark.parametrize("lang, prefix", LANGS)
def test_concepts_and_themes(page, lang, prefix):
    # CS_DOMAIN's concepts, each with its definition (MDF_CONCEPTS)
    sets = api(page.portal, "/rest/v2/metadata/structure/conceptscheme/SSO/CS_DOMAIN/1.0")["metadataSets"]
    page.goto(prefix + "/structure/conceptscheme/SSO/CS_DOMAIN/1.0")
    defined = {s["targets"][0].rsplit(".", 1)[-1]: s["id"] for s in sets}
    for concept, set_id in defined.items():
        link = page.locator(f"#item-{concept} td").last.locator("a")
        assert link.get_attribute("href") == f"{prefix}/metadata/metadataset/SSO/{set_id}/1.0"
    assert axe_violations(page) == []
    page.locator("#item-PENSIONER td").last.locator("a").click()
    page.wait_for_url(re.compile(r"MDS_CONCEPT_PENSIONER/1\.0$"))
    assert axe_violations(page) == []
    # the category scheme: every dataflow the public reads, under its theme
    public = {f["id"] for f in api(page.portal, "/rest/v2/structure/dataflow/SSO/*/*")["dataflows"]}
    page.goto(prefix + "/structure/categoryscheme/SSO/THEMES/1.0")
    hrefs = page.locator(".filed a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    linked = {h.split("/")[-2] for h in hrefs if "/dataflow/" in h}  # metadataflows are filed there too
    assert linked == public and "DF_CONTRIBUTIONS" not in linked
    assert page.locator("#item-FINANCE\\.CONTRIBUTIONS .filed a").count() == 0  # internal only
    assert axe_violations(page) == []
    screenshot(page, f"structures-themes-{lang}")
    # the concept definitions' metadataflow, filed under METHODS: its sets are the API's
    sets = api(page.portal, "/rest/v2/metadata/metadataflow/SSO/MDF_CONCEPTS/1.0")["metadataSets"]
    page.locator("#item-METHODS .filed a").click()
    page.wait_for_url(re.compile(r"/metadata/metadataflow/SSO/MDF_CONCEPTS/1\.0$"))
    assert sorted(page.locator("ul.sets > li").evaluate_all("items => items.map(i => i.id)")) == \
        sorted(f"set-{s['id']}" for s in sets)
    assert axe_violations(page) == []
    page.goto(prefix + "/structure")
    assert axe_violations(page) == []


# -- visibility -------------------------------------------------------------------------------------


def test_hidden_structures_answer_like_missing_ones(demo_portal):
    dsd = "/structure/datastructure/SSO/DSD_CONTRIBUTIONS/1.0"
    for prefix in ("", "/en"):
        hidden = demo_portal.get(prefix + dsd)
        missing = demo_portal.get(prefix + dsd.replace("DSD_CONTRIBUTIONS", "DSD_NOPE"))
        assert hidden.status_code == missing.status_code == 404
        assert hidden.headers["content-type"].startswith("text/html")
        assert hidden.text.replace("DSD_CONTRIBUTIONS", "DSD_NOPE") == missing.text
        about = demo_portal.get(prefix + "/metadata/dataflow/SSO/DF_CONTRIBUTIONS/1.0")
        assert about.status_code == 404 and "Contributions" not in about.text
    index = lxml_html.fromstring(demo_portal.get("/en/structure").content)
    assert "DSD_CONTRIBUTIONS" not in index.text_content()
    for who in ("office", "isfahan"):  # staff, and the provincial user who reads DF_CONTRIBUTIONS for IR-10
        seen = demo_portal.get("/en" + dsd, who=who)
        assert seen.status_code == 200, (who, seen.text[:300])
        flows = [a.get("href") for a in lxml_html.fromstring(seen.content).xpath("//section[@aria-labelledby='flows-heading']//a")]
        assert "/en/dataflow/SSO/DF_CONTRIBUTIONS/1.0" in flows
        assert "DSD_CONTRIBUTIONS" in lxml_html.fromstring(demo_portal.get("/en/structure", who=who).content).text_content()


def test_a_signed_in_visitor_sees_the_internal_structure_in_the_browser(chromium, demo_portal):
    token = demo_portal.users["isfahan"]["token"]
    context = chromium.new_context(base_url=demo_portal.url, extra_http_headers={"Authorization": f"Bearer {token}"})
    try:
        tab = context.new_page()
        tab.goto("/structure/datastructure/SSO/DSD_CONTRIBUTIONS/1.0")
        assert row_ids(tab, "components")[:3] == ["FREQ", "PROVINCE", "SCHEME"]
        assert axe_violations(tab) == []
    finally:
        context.close()


@pytest.mark.parametrize("path", [
    "/structure/datastructure/SSO/%3Cscript%3Ealert(1)%3C%2Fscript%3E/1.0".replace("%2F", ""),
    "/en/structure/codelist/SSO/CL_FREQ/9.9",
    "/structure/conceptscheme/NOPE/CS_DOMAIN/1.0",
    "/en/metadata/metadataset/SSO/MDS_INDICATOR_SUPPORT_RATIO/2.0",
    "/metadata/dataflow/SSO/DF_KPI/latest",
])
def test_bad_paths_are_a_404_page(demo_portal, path):
    r = demo_portal.get(path)
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    doc = lxml_html.fromstring(r.content)
    assert doc.xpath("//script") == []
    assert doc.get("lang") == ("en" if path.startswith("/en/") else "fa")


# -- the partial the explorer includes ---------------------------------------------------------------


def test_about_flow_is_what_the_explorer_includes(demo_portal):
    from sdmx_server.access.gate import public_gate
    from sdmx_server.portal.reference_metadata import about_flow
    from sdmx_server.portal.render import environment
    from sdmx_server.portal.i18n import translator
    from sdmx_server.registry.index import Registry
    from sdmx_server.registry.store import read_all
    from sdmx_server.store.database import Database

    db = Database(demo_portal.settings.database_url)
    try:
        registry = Registry.build(*read_all(db))
    finally:
        db.dispose()
    gate = public_gate(registry)
    assert about_flow(gate, ("SSO", "DF_CONTRIBUTIONS", "1.0"), "en") is None  # internal: as not found
    about = about_flow(gate, ("SSO", "DF_KPI", "1.0"), "fa")
    sets = api(demo_portal, "/rest/v2/metadata/structure/codelist/SSO/CL_INDICATOR/1.0")["metadataSets"]
    assert sorted(d["id"] for d in about["definitions"]) == sorted(s["id"] for s in sets)
    html = environment().get_template("_about_flow.html").render(about=about, lang="fa", t=translator("fa"))
    doc = lxml_html.fromstring(html)
    assert doc.xpath("//h2/text()") == ["درباره این داده‌ها"]
    assert len(doc.xpath("//details[@class='definition-summary']")) == len(sets)
    assert doc.xpath("//a[text()='همه تعریف‌ها و قواعد شمارش']/@href") == [KPI_METADATA]
    # a flow with no definition says so
    none = about_flow(gate, ("SSO", "DF_INSURED", "1.0"), "en")
    assert none is not None and none["definitions"] == []
    doc = lxml_html.fromstring(environment().get_template("_about_flow.html").render(about=none, lang="en",
                                                                                    t=translator("en")))
    assert "No definition is recorded for these data." in doc.text_content()


def test_metadata_xhtml_is_sanitised():
    from sdmx_server.portal.reference_metadata import sanitise_xhtml

    out = sanitise_xhtml('<p onclick="x()">a <i>b</i><script>alert(1)</script><a href="javascript:x">c</a><ul><li>d')
    assert str(out) == "<p>a <i>b</i>c<ul><li>d</li></ul></p>"
    assert str(sanitise_xhtml("1 &lt; 2 <b>&amp;</b>")) == "1 &lt; 2 <b>&amp;</b>"
