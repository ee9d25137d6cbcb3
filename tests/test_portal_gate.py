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

from tests.portal_proof import (CSV_DATA, JSON_STRUCTURE, PROVINCE_CODE, ISFAHAN, artefact_links, crawl, secrets,
                                visible_flows)

WHO = [None, "isfahan", "office"]
PORTAL = Path(__file__).parents[1] / "sdmx_server" / "portal"


@pytest.fixture(scope="module")
def walks(demo_portal):
    return {who: crawl(demo_portal, who, limit=90) for who in WHO}


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
    reached = {p.path.removeprefix("/en").split("/")[1] for p in pages.values() if p.path.strip("/") not in ("", "en")}
    assert {"dataflow", "structure"} <= reached, sorted(reached)


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


def test_the_provincial_users_downloads_are_the_apis(demo_portal):
    """Every data download a dataflow page offers the provincial user, fetched as them, is
    what the API answers them for the same query, and holds their province only."""
    page = demo_portal.get("/en/dataflow/SSO/DF_CONTRIBUTIONS/1.0", who="isfahan")
    assert page.status_code == 200
    doc = lxml_html.fromstring(page.content)
    downloads = [h for h in doc.xpath("//main//a/@href") if "/data/" in h and h.startswith(("/rest/", demo_portal.url))]
    assert downloads, "the dataflow page offers no download of its data"
    for href in downloads:
        path = href.removeprefix(demo_portal.url)
        got = demo_portal.get(path, who="isfahan")
        assert got.status_code == 200, (path, got.status_code)
        assert not any(PROVINCE_CODE.match(w) and w != ISFAHAN for w in _words(got)), path
    csv = [h for h in downloads if "csv" in h.lower()]
    assert csv, f"no SDMX-CSV download among {downloads}"
    import io

    import pandas as pd

    for href in csv:
        path = href.removeprefix(demo_portal.url)
        frame = pd.read_csv(io.BytesIO(demo_portal.get(path, who="isfahan").content), dtype=str)
        assert set(frame["PROVINCE"]) == {ISFAHAN}, path
        base = path.split("?")[0]
        api = demo_portal.get(base, who="isfahan", headers=CSV_DATA)
        assert len(pd.read_csv(io.BytesIO(api.content), dtype=str)) >= len(frame)


def _words(response) -> set[str]:
    import re
    import zipfile
    import io

    content = response.content
    if content[:2] == b"PK":  # Excel: its sheets' XML
        with zipfile.ZipFile(io.BytesIO(content)) as book:
            content = b" ".join(book.read(n) for n in book.namelist() if n.endswith(".xml"))
    return set(re.findall(r"IR-\d\d", content.decode("utf-8", "replace")))


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
