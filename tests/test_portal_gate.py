"""The portal never bypasses the gate: every page a principal reaches shows what the SDMX API
answers the same principal, and nothing the API hides from them.

- a walk over the portal (every page linked from home, both languages) as a visitor, the
  provincial user and office staff: no page names an artefact the API hides from its reader
  (ids and names), every link to a dataflow's or a structure's page is to something the API
  lists for them, and every page linked answers (no link leads to a hidden page's 404);
- the catalogue links exactly the dataflows the API lists for each of them;
- each dataflow page's choices of provinces are the availability API's for its reader;
- the portal's code reads data through the services and the gate, never the database: no page
  module imports the store, SQL or the ingest pipeline.

The pages are those of main plus the families of issue 9 as they merge (explorer, structure
pages, dashboard, sign-in); a link to a family not merged yet fails the walk, as it should.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from lxml import html as lxml_html

from tests.portal_proof import (CSV_DATA, ISFAHAN, JSON_STRUCTURE, PROVINCE_CODE, artefact_links, crawl, provinces_in,
                                secrets, visible_flows)

WHO = [None, "isfahan", "office"]
PORTAL = Path(__file__).parents[1] / "sdmx_server" / "portal"


@pytest.fixture(scope="module")
def walks(demo_portal):
    starts = ("/", "/en/", "/structure", "/en/structure")  # the structure pages' index, not in the menu
    return {who: crawl(demo_portal, who, starts=starts, limit=100) for who in WHO}


@pytest.mark.parametrize("who", WHO, ids=lambda w: w or "anonymous")
def test_no_page_shows_what_the_api_hides(demo_portal, walks, who):
    hidden = secrets(demo_portal, who)
    if who != "office":
        assert hidden.ids, "the demo hides something from everyone but staff"
    for page in walks[who].values():
        assert not hidden.found_in(page.text), (who, page.path, hidden.found_in(page.text))


@pytest.mark.parametrize("who", WHO, ids=lambda w: w or "anonymous")
def test_every_page_linked_answers_and_links_only_to_what_the_api_lists(demo_portal, walks, who):
    from tests.portal_proof import api_view

    view = api_view(demo_portal, who)
    listed = {(kind, a.agency, a.id, a.version) for kind, found in view.items() for a in found}
    pages = walks[who]
    broken = {p.path: (p.status, p.found_on) for p in pages.values() if p.status != 200}
    assert not broken, f"links that do not answer 200 for {who}: {broken}"
    for page in pages.values():
        for kind, agency, id_, version in artefact_links(page.links):
            if version in ("latest", "~", "+", "*"):
                continue
            assert (kind, agency, id_, version) in listed, (who, page.path, kind, id_)
    # the walk reached the families' pages, not only home
    reached = {p.path.removeprefix("/en").split("/")[1].split("?")[0] for p in pages.values()}
    assert {"dataflow", "structure", "dashboard"} <= reached, sorted(reached)


@pytest.mark.parametrize("who", WHO, ids=lambda w: w or "anonymous")
def test_a_dataflow_page_links_the_structure_and_metadata_that_describe_it(walks, who):
    """Issue 9: the reference metadata next to the data they describe; the explorer includes
    the structure pages' `about_flow` (its DSD, codelists, definitions)."""
    flows = [p for p in walks[who].values() if p.path.removeprefix("/en").startswith("/dataflow/") and p.status == 200]
    assert flows
    for page in flows:
        described = [x for x in page.links if x.removeprefix("/en").startswith(("/structure/", "/metadata/"))]
        assert described, f"{page.path} links no structure or metadata page"


@pytest.mark.parametrize("who", WHO, ids=lambda w: w or "anonymous")
@pytest.mark.parametrize("prefix", ["", "/en"])
def test_the_catalogue_lists_what_the_api_lists(demo_portal, who, prefix):
    r = demo_portal.get(prefix + "/", who=who)
    assert r.status_code == 200
    linked = {(a, i, v) for kind, a, i, v in artefact_links(
        [x.get("href") for x in lxml_html.fromstring(r.content).xpath("//main//a[@href]")]) if kind == "dataflow"}
    assert linked == visible_flows(demo_portal, who)


def province_choices(text: str) -> set[str]:
    """The province codes a dataflow page offers: values of its controls (checkboxes, options,
    radios), whatever their markup."""
    doc = lxml_html.fromstring(text)
    values = doc.xpath("//main//input/@value | //main//option/@value | //main//*/@data-code")
    return {v for value in values for v in str(value).replace("+", ",").split(",") if PROVINCE_CODE.match(v)}


@pytest.mark.parametrize("who", WHO, ids=lambda w: w or "anonymous")
def test_a_dataflow_page_offers_the_provinces_the_availability_api_gives(demo_portal, who):
    for agency, flow, version in sorted(visible_flows(demo_portal, who)):
        if flow not in ("DF_CONTRIBUTIONS", "DF_INSURED"):
            continue
        api = demo_portal.get(f"/rest/v2/availability/dataflow/{agency}/{flow}/{version}/*", who=who,
                              headers=JSON_STRUCTURE)
        assert api.status_code == 200, api.text[:300]
        regions = api.json()["data"]["dataConstraints"][0]["cubeRegions"][0]["keyValues"]
        available = {v["value"] for kv in regions if kv["id"] == "PROVINCE" for v in kv["values"]
                     if PROVINCE_CODE.match(v["value"])}
        assert available, (flow, regions)
        page = demo_portal.get(f"/en/dataflow/{agency}/{flow}/{version}", who=who)
        assert page.status_code == 200, (flow, page.status_code)
        assert province_choices(page.text) == available, (who, flow)
        if who == "isfahan" and flow == "DF_CONTRIBUTIONS":
            assert available == {ISFAHAN}


def test_the_provincial_users_downloads_hold_their_province_only(demo_portal):
    """Every data download a dataflow page offers the provincial user, fetched as them, holds
    their province's data only, and its SDMX-CSV is the API's answer to the page's API URL."""
    import io

    import pandas as pd

    page = demo_portal.get("/en/dataflow/SSO/DF_CONTRIBUTIONS/1.0", who="isfahan")
    assert page.status_code == 200
    doc = lxml_html.fromstring(page.content)
    downloads = [h for h in doc.xpath("//main//a[@download]/@href")]
    assert len(downloads) >= 5, downloads
    for href in downloads:
        got = demo_portal.get(href.removeprefix(demo_portal.url), who="isfahan")
        assert got.status_code == 200, (href, got.status_code)
        assert provinces_in(got.content) == {ISFAHAN}, href
    api_url = doc.xpath("//*[@id='api-url']/@href")[0].removeprefix(demo_portal.url)
    api = pd.read_csv(io.BytesIO(demo_portal.get(api_url, who="isfahan", headers=CSV_DATA).content), dtype=str)
    csv = [h for h in downloads if h.endswith("format=sdmx-csv-2.0")]
    assert csv, downloads
    mine = pd.read_csv(io.BytesIO(demo_portal.get(csv[0].removeprefix(demo_portal.url), who="isfahan").content), dtype=str)
    pd.testing.assert_frame_equal(mine.sort_values(list(mine.columns)).reset_index(drop=True),
                                  api.sort_values(list(api.columns)).reset_index(drop=True))


# -- the code itself ----------------------------------------------------------------------------

#: What a page module may not import: the database, SQL, the load pipeline, the raw store.
FORBIDDEN = ("sqlalchemy", "sqlmodel", "sqlite3", "psycopg", "pymysql", "adbc_driver", "sdmx_server.store",
             "sdmx_server.ingest")


def test_no_page_module_reaches_past_the_services():
    offending = []
    for module in sorted(PORTAL.rglob("*.py")):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offending += [f"{module.relative_to(PORTAL)}: {n}" for n in names if n.startswith(FORBIDDEN)]
    assert not offending, offending
    assert len(list(PORTAL.rglob("*.py"))) >= 5
