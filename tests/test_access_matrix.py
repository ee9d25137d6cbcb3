"""The permission matrix of issue 8: every route of the app × every kind of principal × every
access level of dataflow, over HTTP against `sdmx-server serve` (tests/access_world.py).

The routes come from the app itself (`app.routes`, into every Mount): a route that is not in
MATRIX fails `test_every_route_is_in_the_matrix`, so that a route added later cannot escape the
gate unnoticed. Each cell asserts exactly what the principal sees: the rows of data (the
provincial user gets its province's rows of the internal flow only), the artefacts of lists and
of `references`, availability counts, the answers to writes; and, for what a principal may not
see, an answer identical to the one about something that does not exist.

Routes of parts not merged yet have their cells here already (the admin audit log,
/openapi.json, /health); a cell is made for each route the app has.
"""

from __future__ import annotations

import io
import re
from typing import Callable

import pandas as pd
import pytest
from lxml import etree
from lxml import html as lxml_html

from tests.access_world import (AGENCY, BAD, CODELIST, CONSTRAINT, DSD, EXTRA, FLOW, LEVELS, OWN_PROVINCE,
                                PRINCIPALS, USERS, World, build_world)
from tests.conftest import fresh_database

CSV1 = "application/vnd.sdmx.data+csv;version=1.0.0"
CSV2 = "application/vnd.sdmx.data+csv;version=2.0.0"
JSON_STRUCTURE = "application/vnd.sdmx.structure+json;version=2.0.0"
#: What names a level's artefacts: none may appear in an answer to someone who may not read it.
SECRETS = {
    "internal": ("DF_INTERNAL", "DSD_INTERNAL", "CL_SCHEME", "CR_INTERNAL", "Contributions collected", "Internal flow"),
    "restricted": ("DF_RESTRICTED", "DSD_RESTRICTED", "CL_SECRET_TOPIC", "CR_RESTRICTED", "Restricted structure"),
}


# -- who may do what (the expectations) --------------------------------------------------------


def reads(who: str, level: str) -> bool:
    if who in BAD:
        return False
    if level in ("public", "embargoed"):
        return True
    return who in USERS if level == "internal" else who in ("office", "admin")


def reads_pending(who: str, level: str) -> bool:
    return level == "embargoed" and who in ("office", "admin")


def uploads(who: str, level: str) -> bool:
    return who == "admin" or (who == "office" and level != "restricted") or (who == "provincial" and level == "internal")


def maintains(who: str) -> bool:
    return who in ("office", "admin")


def expected_rows(world: World, who: str, level: str) -> set[tuple] | None:
    if not reads(who, level):
        return None
    df = world.frames[level]
    if reads_pending(who, level):
        keys = ["FREQ", "PROVINCE", "TIME_PERIOD"]
        df = pd.concat([df, world.pending]).drop_duplicates(keys, keep="last")
    if who == "provincial" and level == "internal":
        df = df[df.PROVINCE == OWN_PROVINCE]
    return rows_of(df, level)


def rows_of(df: pd.DataFrame, level: str) -> set[tuple]:
    dims = ["FREQ", "PROVINCE"] + ([EXTRA[level][0]] if level in EXTRA else []) + ["TIME_PERIOD"]
    return {(*(str(v) for v in r[:-1]), float(r[-1])) for r in df[dims + ["OBS_VALUE"]].itertuples(index=False)}


# -- what answers say ---------------------------------------------------------------------------


def csv_rows(content: bytes, level: str) -> set[tuple]:
    df = pd.read_csv(io.BytesIO(content), dtype=str)
    df["OBS_VALUE"] = df["OBS_VALUE"].astype(float)
    return rows_of(df, level)


def artefact_ids(content: bytes) -> set[str]:
    """The ids of the maintainable artefacts (and categorisations) an SDMX-ML or -JSON structure
    message holds."""
    if content.lstrip().startswith(b"{"):
        import orjson

        data = orjson.loads(content).get("data", {})
        return {a["id"] for kind in data.values() if isinstance(kind, list) for a in kind if "agencyID" in a}
    doc = etree.fromstring(content)
    return {e.get("id") for e in doc.iter() if e.get("agencyID") is not None and e.get("id") is not None
            and etree.QName(e).namespace and "structure" in etree.QName(e).namespace}


def leaks(text: str, who: str) -> list[str]:
    """The names of artefacts the principal may not see that the text mentions."""
    return [w for level, words in SECRETS.items() if not reads(who, level) for w in words if w in text]


def same_as_nothing(answer, nothing, secret: str, nope: str) -> None:
    """The answer about something hidden is the answer about something that does not exist."""
    assert answer.status_code == nothing.status_code, (answer.status_code, answer.text[:300], nothing.text[:300])
    assert answer.headers.get("content-type") == nothing.headers.get("content-type")
    assert _scrub(answer.text).replace(secret, nope) == _scrub(nothing.text), (answer.text[:500], nothing.text[:500])


def _scrub(text: str) -> str:
    """Without what differs in every message (its id and time, the request's id)."""
    text = re.sub(r"<mes:ID>[^<]*</mes:ID>|<mes:Prepared>[^<]*</mes:Prepared>|request id: [^<)]+", "", text)
    text = re.sub(r'<p class="error-request">.*?</p>', "", text)  # portal error pages show it too
    return re.sub(r'"(id|prepared)"\s*:\s*"[^"]*"', "", text)


def refused_credentials(r) -> None:
    assert r.status_code == 401, (r.status_code, r.text[:300])
    assert r.headers.get("www-authenticate", "").lower().startswith("bearer"), r.headers
    if r.headers.get("content-type", "").startswith("text/html"):
        # a portal page: the error page in its language (portal/errors.py), offering sign-in
        from sdmx_server.portal.errors import is_page

        assert is_page(r.request.url.path), r.request.url
        page = lxml_html.fromstring(r.content)
        assert page.xpath("//section[@class='error-page']"), r.text[:300]
        assert any("/signin" in (a.get("href") or "") for a in page.xpath("//ul[@class='error-links']//a"))
    elif r.content.lstrip().startswith(b"{"):
        assert r.json()["errors"][0]["code"] == 110, r.text[:300]
    else:
        doc = etree.fromstring(r.content)
        assert etree.QName(doc).localname == "Error", r.text[:300]
        assert [e.get("code") for e in doc.iter("{*}ErrorMessage")] == ["110"], r.text[:300]
    assert not leaks(r.text, "wrong")


# -- the families of routes ---------------------------------------------------------------------
#
# A family is called for one cell (who, level) and asserts everything that principal may see
# through its routes about the level's dataflow.


def index(world: World, who: str, level: str) -> None:
    r = world.get(who, "/api")
    assert r.status_code == 200 and r.json()["service"] == "sdmx-server"


#: Each flow's Persian name as a visitor with an Arabic keyboard types it (ي for ی).
NAME_TYPED = {"public": "عمومي", "internal": "داخلي", "restricted": "محرمانه", "embargoed": "با انتشار آينده"}


def _portal_catalogue(prefix: str):
    """The portal's home lists exactly the dataflows its visitor may read: a link to the
    dataflow's page, never its name or id otherwise."""
    def family(world: World, who: str, level: str) -> None:
        r = world.get(who, prefix + "/")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        html = lxml_html.fromstring(r.content)
        linked = {a.get("href").rstrip("/").split("/")[-2] for a in html.iter("a")
                  if "/dataflow/" in (a.get("href") or "")}
        assert (FLOW[level] in linked) == reads(who, level), (who, level, sorted(linked))
        if not reads(who, level):
            assert FLOW[level] not in r.text
        # a search finds it by its id or name only for whoever may read it
        for query in (FLOW[level], NAME_TYPED[level]):
            r = world.get(who, prefix + "/", params={"q": query})
            found = {a.get("href").rstrip("/").split("/")[-2] for a in lxml_html.fromstring(r.content).iter("a")
                     if "/dataflow/" in (a.get("href") or "")}
            assert (FLOW[level] in found) == reads(who, level), (who, level, query, sorted(found))
            if not reads(who, level):
                assert not leaks(r.text.replace(query, ""), who)
    return family


def _sees_structure(who: str, level: str, used: dict[str, str | None]) -> bool:
    """A structure is visible when a dataflow the principal reads uses it (DSD_PUBLIC and the
    shared codelists: every flow's)."""
    return any(reads(who, lv) for lv in LEVELS if used[lv] == used[level])


#: The codes of each level's own codelist, as tests/content_access has them.
_CODES = {"CL_FREQ": ["M"], "CL_SCHEME": ["S1", "S2"], "CL_SECRET_TOPIC": ["T1", "T2"], "CL_OBS_STATUS": ["A", "P"]}
_COMPONENTS = {"public": ["FREQ", "PROVINCE"], "internal": ["FREQ", "PROVINCE", "SCHEME"],
               "restricted": ["FREQ", "PROVINCE", "TOPIC"], "embargoed": ["FREQ", "PROVINCE"]}


def _portal_page(world: World, who: str, path: str, secret: str, visible: bool, nope: str | None = None):
    """A structure page: 200 and its document when visible, else the same 404 page as for an
    artefact that does not exist; never a name the principal may not see."""
    r = world.get(who, path)
    assert r.headers["content-type"].startswith("text/html"), r.headers
    if not visible:
        nope = nope or secret.split("_")[0] + "_NOPE"
        same_as_nothing(r, world.get(who, path.replace(secret, nope)), secret, nope)
        assert r.status_code == 404
        return None
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    assert not leaks(r.text, who), leaks(r.text, who)
    return lxml_html.fromstring(r.content)


def _row_ids(html, table: str) -> list[str]:
    return [row.get("id").removeprefix("item-").removeprefix("component-")
            for row in html.xpath(f"//table[contains(concat(' ', @class, ' '), ' {table} ')]/tbody/tr")]


def _portal_structures(prefix: str, kind: str):
    """The structure pages (portal/structure_pages.py) show what the principal's API shows."""
    def family(world: World, who: str, level: str) -> None:
        base = f"{prefix}/structure"
        if kind == "index":
            r = world.get(who, base)
            assert r.status_code == 200 and not leaks(r.text, who), (r.status_code, leaks(r.text, who))
            html = lxml_html.fromstring(r.content)
            linked = {a.get("href").split("/")[-2] for a in html.iter("a") if "/structure/" in (a.get("href") or "")}
            assert (DSD[level] in linked) == _sees_structure(who, level, DSD), (who, level, sorted(linked))
            assert (CODELIST[level] in linked) == _sees_structure(who, level, CODELIST), (who, level, sorted(linked))
        elif kind == "datastructure":
            html = _portal_page(world, who, f"{base}/datastructure/{AGENCY}/{DSD[level]}/1.0", DSD[level],
                                _sees_structure(who, level, DSD))
            if html is not None:
                assert _row_ids(html, "components") == [*_COMPONENTS[level], "TIME_PERIOD", "OBS_VALUE", "OBS_STATUS"]
        elif kind == "codelist":
            html = _portal_page(world, who, f"{base}/codelist/{AGENCY}/{CODELIST[level]}/1.0", CODELIST[level],
                                _sees_structure(who, level, CODELIST))
            if html is not None:
                assert _row_ids(html, "codes") == _CODES[CODELIST[level]]
        elif kind == "conceptscheme":  # shared by every flow: the same for all
            html = _portal_page(world, who, f"{base}/conceptscheme/{AGENCY}/CS_ACCESS/1.0", "CS_ACCESS", True)
            assert "FREQ" in _row_ids(html, "concepts")
        elif kind == "categoryscheme":
            html = _portal_page(world, who, f"{base}/categoryscheme/{AGENCY}/THEMES/1.0", "THEMES", True)
            linked = {a.get("href").split("/")[-2] for a in html.iter("a") if "/dataflow/" in (a.get("href") or "")}
            assert (FLOW[level] in linked) == reads(who, level), (who, level, sorted(linked))
        elif kind == "metadata-dataflow":
            html = _portal_page(world, who, f"{prefix}/metadata/dataflow/{AGENCY}/{FLOW[level]}/1.0", FLOW[level],
                                reads(who, level))
            if html is not None:
                assert html.xpath("//article[@class='definition']") == []  # none is loaded in this world
        elif kind in ("metadataset", "metadataflow"):  # none is loaded: "not found", saying nothing
            r = world.get(who, f"{prefix}/metadata/{kind}/{AGENCY}/M_ANY/1.0")
            assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
            assert not leaks(r.text, who)
        else:  # pragma: no cover
            raise AssertionError(kind)
    return family


def _portal_explorer(prefix: str):
    """The data explorer shows exactly the rows the principal may read (every code it offers
    chosen, every period): the same as the API's; a dataflow it may not see is the 404 page of
    one that does not exist."""
    import json

    def family(world: World, who: str, level: str) -> None:
        path = f"{prefix}/dataflow/{AGENCY}/{FLOW[level]}/1.0"
        r = world.get(who, path)
        expected = expected_rows(world, who, level)
        if expected is None:
            nothing = world.get(who, f"{prefix}/dataflow/{AGENCY}/DF_NOPE/1.0")
            assert r.status_code == nothing.status_code == 404, (r.status_code, nothing.status_code)
            assert r.text.replace(FLOW[level], "DF_NOPE") == nothing.text
            return
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), r.text[:300]
        offered = [(i.get("name"), i.get("value")) for i in lxml_html.fromstring(r.content).iter("input")
                   if i.get("type") == "checkbox"]
        r = world.get(who, path + "?" + "&".join(f"{n}={v}" for n, v in offered))
        assert r.status_code == 200, r.text[:300]
        doc = lxml_html.fromstring(r.content)
        periods = [th.get("data-period") for th in doc.xpath("//table[@id='pivot']/thead//th[@data-period]")]
        dims = ["FREQ", "PROVINCE"] + ([EXTRA[level][0]] if level in EXTRA else [])
        shown = set()
        for tr in doc.xpath("//table[@id='pivot']/tbody/tr"):
            key = json.loads(tr.get("data-key"))
            for period, td in zip(periods, tr.xpath("td")):
                if td.get("data-value") is not None:
                    shown.add((*(key[d] for d in dims), period, float(td.get("data-value"))))
        assert shown == expected, (who, level, sorted(shown ^ expected)[:5])
    return family


def _portal_dashboard(prefix: str):
    """The dashboard reads DF_KPI and DF_KPI_STATUS through the visitor's gate: this world has
    neither, so every principal gets the page without figures, and nothing of a dataflow it may
    not read (what each demo principal sees of the KPI flows: tests/test_portal_dashboard.py)."""
    def family(world: World, who: str, level: str) -> None:
        r = world.get(who, prefix + "/dashboard")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), r.text[:300]
        html = lxml_html.fromstring(r.content)
        assert html.get("lang") == ("en" if prefix else "fa")
        assert not html.xpath("//table"), "no figures without DF_KPI"
        assert not leaks(r.text, who)
        unknown = world.get(who, prefix + "/dashboard?indicator=NOPE")
        assert unknown.status_code == 200 and not lxml_html.fromstring(unknown.content).xpath("//table")
    family.levels = False
    return family


def _portal_signin(prefix: str):
    """Anyone gets the sign-in form; a post without the form's token is refused (403 page, no
    session); with it, the office user's password opens a session like /auth/login's."""
    def family(world: World, who: str, level: str) -> None:
        from tests.access_world import PASSWORDS, USER_NAMES

        form = world.get(who, prefix + "/signin")
        assert form.status_code == 200 and form.headers["content-type"].startswith("text/html"), form.text[:300]
        token = lxml_html.fromstring(form.content).xpath("//input[@name='form_token']/@value")
        assert len(token) == 1
        right = {"name": USER_NAMES["office"], "password": PASSWORDS["office"]}
        forged = world.request("POST", who, prefix + "/signin", data={**right, "form_token": "forged"})
        assert forged.status_code == 403 and "sdmx_session=" not in forged.headers.get("set-cookie", "")
        r = world.request("POST", who, prefix + "/signin", data={**right, "form_token": token[0]},
                          cookies=dict(form.cookies))
        assert r.status_code == 303 and r.headers["location"] == (prefix or "") + "/", r.text[:300]
        assert "sdmx_session=" in r.headers.get("set-cookie", "")
    family.levels = False
    return family


def _portal_signout(prefix: str):
    """Without a session there is nothing to end: the form says so, a post only clears the cookie."""
    def family(world: World, who: str, level: str) -> None:
        page = world.get(who, prefix + "/signout")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert not lxml_html.fromstring(page.content).xpath("//main//input[@name='csrf_token']")
        r = world.request("POST", who, prefix + "/signout")
        assert r.status_code == 303 and r.headers["location"] == prefix + "/signin?signed_out=1"
    family.levels = False
    return family


def portal_fonts(world: World, who: str, level: str) -> None:
    """The same fonts for everyone; only the fonts the portal names."""
    r = world.get(who, "/static/fonts/noto-sans-arabic.ttf")
    assert r.status_code == 200 and r.headers["content-type"] == "font/ttf"
    assert world.get(who, "/static/fonts/secret.ttf").status_code == 404


portal_fonts.levels = False


def portal_en_bare(world: World, who: str, level: str) -> None:
    r = world.get(who, "/en", follow_redirects=False)
    assert r.status_code == 308 and r.headers["location"] == "/en/"


def not_built(world: World, who: str, level: str) -> None:
    r = world.get(who, "/rest/v2/registration/provider/TEST")
    assert r.status_code == 501 and not leaks(r.text, who)


def _data(path_of: Callable[[str], str], accept: str):
    def family(world: World, who: str, level: str) -> None:
        r = world.get(who, path_of(FLOW[level]), headers={"Accept": accept})
        expected = expected_rows(world, who, level)
        if expected is None:
            same_as_nothing(r, world.get(who, path_of("DF_NOPE"), headers={"Accept": accept}), FLOW[level], "DF_NOPE")
            return
        assert r.status_code == 200, r.text[:500]
        assert csv_rows(r.content, level) == expected
    return family


def data_all(world: World, who: str, level: str) -> None:
    """/rest/v2/data: every dataflow's data at once (SDMX-ML 3.0, as dataflows of several DSDs
    share no CSV); the level's flow is there as the principal reads it, or not at all."""
    r = world.get(who, "/rest/v2/data")
    assert r.status_code == 200, r.text[:300]
    expected = expected_rows(world, who, level)
    got = structure_specific_rows(r.content).get(FLOW[level])
    if expected is None:
        assert got is None and not leaks(r.text, who)
    else:
        assert got is not None, f"no data set of {FLOW[level]}"
        assert rows_of(got, level) == expected


def structure_specific_rows(content: bytes) -> dict[str, pd.DataFrame]:
    """dataflow id → its observations, from an SDMX-ML 3.0 structure-specific message."""
    doc = etree.fromstring(content)
    flows = {}
    for structure in doc.iter("{*}Structure"):
        found = re.search(r"Dataflow=[^:]+:([^(]+)\(", structure.get("namespace", ""))
        if found and structure.get("structureID"):
            flows[structure.get("structureID")] = found[1]
    out: dict[str, list[dict]] = {}
    for dataset in doc.iter("{*}DataSet"):
        ref = next(v for k, v in dataset.attrib.items() if etree.QName(k).localname == "structureRef")
        rows = out.setdefault(flows[ref], [])
        for obs in dataset.iter("{*}Obs"):
            row: dict = {}
            for element in (obs.getparent(), obs):
                row.update({k: v for k, v in element.attrib.items() if "}" not in k})
            rows.append(row)
    return {flow: pd.DataFrame(rows).assign(OBS_VALUE=lambda d: d.OBS_VALUE.astype(float)) for flow, rows in out.items()}


def _availability_counts(world: World, who: str, level: str, content: bytes) -> None:
    import orjson

    found = [c for c in orjson.loads(content)["data"]["dataConstraints"] if c["id"] == f"AVAILABILITY_{FLOW[level]}"]
    assert len(found) == 1, f"no availability of {FLOW[level]}"
    constraint = found[0]
    counts = {a["id"]: int(a["title"]) for a in constraint["annotations"]}
    values = {kv["id"]: {v["value"] for v in kv.get("values", [])} for kv in constraint["cubeRegions"][0]["keyValues"]}
    published = rows_of(world.frames[level], level)
    provinces = {OWN_PROVINCE} if (who, level) == ("provincial", "internal") else {"IR-07", "IR-10", "IR-23"}
    assert values["PROVINCE"] == provinces
    mine = {r for r in published if r[1] in provinces}
    if reads_pending(who, level):  # the counts may include the pending values, never for others
        assert counts["obs_count"] in (len(mine), len(expected_rows(world, who, level)))
    else:
        assert counts["obs_count"] == len(mine)
    assert counts["series_count"] == len({r[:-2] for r in mine})


def availability_v2(world: World, who: str, level: str) -> None:
    path = lambda flow: f"/rest/v2/availability/dataflow/{AGENCY}/{flow}/1.0/*"  # noqa: E731
    r = world.get(who, path(FLOW[level]), headers={"Accept": JSON_STRUCTURE})
    if not reads(who, level):
        same_as_nothing(r, world.get(who, path("DF_NOPE"), headers={"Accept": JSON_STRUCTURE}), FLOW[level], "DF_NOPE")
        return
    assert r.status_code == 200, r.text[:300]
    _availability_counts(world, who, level, r.content)


def availability_all(world: World, who: str, level: str) -> None:
    r = world.get(who, "/rest/v2/availability", headers={"Accept": JSON_STRUCTURE})
    assert r.status_code == 200, r.text[:300]
    if reads(who, level):
        _availability_counts(world, who, level, r.content)
    else:
        assert not leaks(r.text, who)


def availability_v1(world: World, who: str, level: str) -> None:
    path = lambda flow: f"/rest/availableconstraint/{AGENCY},{flow},1.0/all/all/PROVINCE"  # noqa: E731
    r = world.get(who, path(FLOW[level]))
    if not reads(who, level):
        same_as_nothing(r, world.get(who, path("DF_NOPE")), FLOW[level], "DF_NOPE")
        return
    assert r.status_code == 200, r.text[:300]
    values = {e.text for e in etree.fromstring(r.content).iter("{*}Value")}
    assert values == ({OWN_PROVINCE} if (who, level) == ("provincial", "internal") else {"IR-07", "IR-10", "IR-23"})


def availability_v1_bare(world: World, who: str, level: str) -> None:
    r = world.get(who, "/rest/availableconstraint")
    assert r.status_code == 400 and not leaks(r.text, who)


def _structures(base: str, kinds: dict[str, str], accept: str | None):
    """Structure queries of one API version: one artefact, lists, references, constraints."""
    headers = {"Accept": accept} if accept else {}

    def get(world, who, path):
        return world.get(who, f"{base}/{path}", headers=headers)

    def family(world: World, who: str, level: str) -> None:
        visible = reads(who, level)
        for kind, ident in (("dataflow", FLOW[level]), ("datastructure", DSD[level]), ("codelist", CODELIST[level]),
                            ("constraint", CONSTRAINT[level])):
            if ident is None:
                continue
            r = get(world, who, f"{kinds[kind]}/{AGENCY}/{ident}/1.0")
            if visible:
                assert r.status_code == 200 and ident in artefact_ids(r.content), (kind, r.status_code, r.text[:300])
            else:
                nope = ident.split("_")[0] + "_NOPE"
                same_as_nothing(r, get(world, who, f"{kinds[kind]}/{AGENCY}/{nope}/1.0"), ident, nope)
        # references: a DSD's parents, the shared codelist's parents, the category scheme's all
        if visible:
            r = get(world, who, f"{kinds['datastructure']}/{AGENCY}/{DSD[level]}/1.0?references=parents")
            assert r.status_code == 200
            flows = {f for f in artefact_ids(r.content) if f.startswith("DF_")}
            assert flows == {FLOW[lv] for lv in LEVELS if DSD[lv] == DSD[level] and reads(who, lv)}
        for path in (f"{kinds['codelist']}/{AGENCY}/CL_PROVINCE/1.0?references=parents",
                     f"{kinds['categoryscheme']}/{AGENCY}/THEMES/1.0?references=all",
                     f"{kinds['codelist']}/{AGENCY}/CL_OBS_STATUS/1.0?references=all"):
            r = get(world, who, path)
            assert r.status_code == 200, (path, r.text[:300])
            ids = artefact_ids(r.content)
            assert (DSD[level] in ids or FLOW[level] in ids) == visible, (path, ids)
            assert not leaks(r.text, who), (path, leaks(r.text, who))
    return family


def _structure_lists(path: str, accept: str | None):
    def family(world: World, who: str, level: str) -> None:
        r = world.get(who, path, headers={"Accept": accept} if accept else {})
        assert r.status_code == 200, r.text[:300]
        assert (FLOW[level] in artefact_ids(r.content)) == reads(who, level)
        assert not leaks(r.text, who), leaks(r.text, who)
    return family


def _schema(path_of: Callable[[str], str], names: dict[str, str]):
    """v1: the XML schema (its namespace names the dataflow); v2: the structures (the DSD...)."""
    def family(world: World, who: str, level: str) -> None:
        r = world.get(who, path_of(FLOW[level]))
        if reads(who, level):
            assert r.status_code == 200 and names[level] in r.text, r.text[:300]
        else:
            same_as_nothing(r, world.get(who, path_of("DF_NOPE")), FLOW[level], "DF_NOPE")
    return family


def metadata(world: World, who: str, level: str) -> None:
    path = lambda flow: f"/rest/v2/metadata/structure/dataflow/{AGENCY}/{flow}/1.0"  # noqa: E731
    r = world.get(who, path(FLOW[level]))
    nothing = world.get(who, path("DF_NOPE"))
    if reads(who, level):
        assert r.status_code == 404 and "no metadata set targets" in r.text, r.text[:300]  # none is loaded
    else:
        same_as_nothing(r, nothing, FLOW[level], "DF_NOPE")


def metadata_bare(world: World, who: str, level: str) -> None:
    r = world.get(who, "/rest/v2/metadata")
    assert r.status_code == 400 and not leaks(r.text, who)


# -- writes ----------------------------------------------------------------------------------


def _write_expectation(world: World, who: str, visible: bool, allowed: bool, r, nothing, secret: str, nope: str,
                       success: tuple[int, ...]) -> None:
    if not visible:
        same_as_nothing(r, nothing, secret, nope)
    elif who == "anonymous":
        assert r.status_code == 401, (r.status_code, r.text[:300])
    elif not allowed:
        assert r.status_code == 403, (r.status_code, r.text[:300])
        assert not leaks(r.text, who)
    else:
        assert r.status_code in success, (r.status_code, r.text[:500])


def upload(world: World, who: str, level: str) -> None:
    from tests.access_world import sdmx_csv

    path = lambda flow: f"/rest/v2/data/dataflow/{AGENCY}/{flow}/1.0?dryRun=true"  # noqa: E731
    df = world.frames[level]
    own = df[df.PROVINCE == OWN_PROVINCE] if who == "provincial" else df
    r = world.request("POST", who, path(FLOW[level]), content=sdmx_csv(own, FLOW[level]).encode(),
                      headers={"Content-Type": "text/csv"})
    nothing = world.request("POST", who, path("DF_NOPE"), content=sdmx_csv(own, "DF_NOPE").encode(),
                            headers={"Content-Type": "text/csv"})
    _write_expectation(world, who, reads(who, level), uploads(who, level), r, nothing, FLOW[level], "DF_NOPE", (200,))
    if r.status_code == 200:
        assert r.json()["status"] == "validated"
    if who == "provincial" and level == "internal":
        # one row of another province refuses the whole file, naming the row
        other = pd.concat([own.head(2), df[df.PROVINCE == "IR-10"].head(1), own.tail(1)])
        r = world.request("POST", who, path(FLOW[level]), content=sdmx_csv(other, FLOW[level]).encode(),
                          headers={"Content-Type": "text/csv"})
        assert r.status_code == 422, r.text[:500]
        assert r.json()["status"] == "rejected"
        (error,) = r.json()["report"]["errors"]
        assert (error["row"], error["column"], error["value"]) == (4, "PROVINCE", "IR-10"), error
        assert error["message"] == "no rule grants upload on TEST:DF_INTERNAL(1.0) for PROVINCE=IR-10"


def _maintenance(method: str, path_of: Callable[[str], str], body: bool, success: tuple[int, ...]):
    def family(world: World, who: str, level: str) -> None:
        codelist = CODELIST[level]
        visible = reads(who, level) if level in SECRETS else True

        def send(ident: str):
            content = world.codelists[codelist].replace(codelist.encode(), ident.encode()) if body else None
            return world.request(method, who, path_of(ident), content=content,
                                 headers={"Content-Type": "application/vnd.sdmx.structure+xml;version=2.1"})

        r = send(codelist)
        nothing = send("CL_NOPE") if not visible else None
        _write_expectation(world, who, visible, maintains(who), r, nothing, codelist, "CL_NOPE", success)
        if r.status_code in success:
            assert not leaks(r.text, who), leaks(r.text, who)
    return family


def _release_calendar(suffix: str):
    """A planned release of the level's dataflow is listed (JSON and iCalendar) exactly to those
    who may read the dataflow; naming a hidden one answers like naming one that does not exist."""
    def family(world: World, who: str, level: str) -> None:
        flow = f"{AGENCY}:{FLOW[level]}(1.0)"
        made = world.request("POST", "admin", "/admin/api/releases", json={"dataflow": flow, "due": "2031-03-01"})
        assert made.status_code == 201, made.text[:300]
        r = world.get(who, f"/releases{suffix}")
        assert r.status_code == 200
        if suffix:
            from icalendar import Calendar

            listed = {str(e.get("x-sdmx-dataflow")) for e in Calendar.from_ical(r.content).walk("VEVENT")}
        else:
            listed = {x["dataflow"] for x in r.json()["releases"]}
        assert (flow in listed) == reads(who, level), (who, level, sorted(listed))
        one = world.get(who, f"/releases{suffix}?dataflow={flow}")
        nope = world.get(who, f"/releases{suffix}?dataflow={AGENCY}:DF_NOPE(1.0)")
        assert one.status_code == (200 if reads(who, level) else 404)
        if not reads(who, level):
            assert _scrub(one.text).replace(FLOW[level], "DF_NOPE") == _scrub(nope.text)
    return family


# -- the admin API, sign-in, the service's own documents (one cell per principal) --------------


def _admin(method: str, path: str, body: dict | None, success: int, check: Callable | None = None):
    """Administrators only: 401 anonymous, 403 for other users (identity's api/admin.py)."""
    def family(world: World, who: str, level: str) -> None:
        r = world.request(method, who, path, json=body)
        if who == "anonymous":
            assert r.status_code == 401, (r.status_code, r.text[:300])
        elif who != "admin":
            assert r.status_code == 403, (r.status_code, r.text[:300])
        else:
            assert r.status_code == success, (r.status_code, r.text[:300])
            if check:
                check(world, r)
        assert not any(token in r.text for token in world.tokens.values()), "a token is shown again"
    family.levels = False
    return family


def _listed_users(world: World, r) -> None:
    users = r.json()["users"] if isinstance(r.json(), dict) else r.json()
    assert {"fars", "office-user", "root-admin"} <= {u["name"] for u in users}


def _metrics_text(world: World, r) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    assert r.headers["content-type"].startswith("text/plain; version=")
    assert "sdmx_http_requests" in {f.name for f in text_string_to_metric_families(r.text)}


def _audit_entries(world: World, r) -> None:
    body = r.json()
    entries = body["entries"] if isinstance(body, dict) else body
    assert any(e["action"] == "grant.add" for e in entries), entries[:3]


def _usage_report(world: World, r) -> None:
    """The report's shape: every breakdown, each adding up to the totals (what the world's
    requests counted depends on when the server last flushed)."""
    body = r.json()
    assert set(body) == {"from", "to", "totals", "by", "latency", "addresses"}, sorted(body)
    assert set(body["by"]) == {"dataflow", "format", "consumer", "consumer_type", "status", "surface", "resource"}
    for name, rows in body["by"].items():
        assert sum(row["requests"] for row in rows) == body["totals"]["requests"], name


def me(world: World, who: str, level: str) -> None:
    r = world.get(who, "/auth/me")
    assert r.status_code == 200, r.text[:300]
    answer = r.json()
    from tests.access_world import USER_NAMES

    assert (answer["authenticated"], answer["name"], answer["is_admin"]) == (
        who != "anonymous", USER_NAMES.get(who), who == "admin")


def login(world: World, who: str, level: str) -> None:
    """Whoever asks, a wrong password is a 401 and the right one opens a session of that user."""
    from tests.access_world import PASSWORDS, USER_NAMES

    name = USER_NAMES["office"]
    wrong = world.request("POST", who, "/auth/login", json={"name": name, "password": "not-it"})
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
    right = world.request("POST", who, "/auth/login", json={"name": name, "password": PASSWORDS["office"]})
    assert right.status_code == 200, right.text[:300]
    cookie = right.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")


def logout(world: World, who: str, level: str) -> None:
    r = world.request("POST", who, "/auth/logout")
    assert r.status_code == 200 and r.json() == {"signed_out": True}


def public_document(path: str, key: str):
    def family(world: World, who: str, level: str) -> None:
        r = world.get(who, path)
        assert r.status_code == 200 and key in r.json(), r.text[:300]
        assert not leaks(r.text, who)
    family.levels = False
    return family


for _family in (index, not_built, availability_v1_bare, metadata_bare, me, login, logout):
    _family.levels = False


# -- the matrix ---------------------------------------------------------------------------------

_V1 = {"dataflow": "dataflow", "datastructure": "datastructure", "codelist": "codelist",
       "categoryscheme": "categoryscheme", "constraint": "contentconstraint"}
_V2 = {"dataflow": "dataflow", "datastructure": "datastructure", "codelist": "codelist",
       "categoryscheme": "categoryscheme", "constraint": "dataconstraint"}
_CL = f"/rest/v2/structure/codelist/{AGENCY}"
ITEM = {"CL_FREQ": "M", "CL_SCHEME": "S1", "CL_SECRET_TOPIC": "T1", "CL_OBS_STATUS": "A"}

#: (path, method) of every route → the family that checks it
MATRIX: dict[tuple[str, str], Callable] = {
    ("/api", "GET"): index,
    ("/", "GET"): _portal_catalogue(""),
    ("/en/", "GET"): _portal_catalogue("/en"),
    ("/en", "GET"): portal_en_bare,
    ("/structure", "GET"): _portal_structures("", "index"),
    ("/en/structure", "GET"): _portal_structures("/en", "index"),
    ("/structure/datastructure/{agency}/{id}/{version}", "GET"): _portal_structures("", "datastructure"),
    ("/en/structure/datastructure/{agency}/{id}/{version}", "GET"): _portal_structures("/en", "datastructure"),
    ("/structure/codelist/{agency}/{id}/{version}", "GET"): _portal_structures("", "codelist"),
    ("/en/structure/codelist/{agency}/{id}/{version}", "GET"): _portal_structures("/en", "codelist"),
    ("/structure/conceptscheme/{agency}/{id}/{version}", "GET"): _portal_structures("", "conceptscheme"),
    ("/en/structure/conceptscheme/{agency}/{id}/{version}", "GET"): _portal_structures("/en", "conceptscheme"),
    ("/structure/categoryscheme/{agency}/{id}/{version}", "GET"): _portal_structures("", "categoryscheme"),
    ("/en/structure/categoryscheme/{agency}/{id}/{version}", "GET"): _portal_structures("/en", "categoryscheme"),
    ("/metadata/dataflow/{agency}/{id}/{version}", "GET"): _portal_structures("", "metadata-dataflow"),
    ("/en/metadata/dataflow/{agency}/{id}/{version}", "GET"): _portal_structures("/en", "metadata-dataflow"),
    ("/metadata/metadataset/{agency}/{id}/{version}", "GET"): _portal_structures("", "metadataset"),
    ("/metadata/metadataflow/{agency}/{id}/{version}", "GET"): _portal_structures("", "metadataflow"),
    ("/en/metadata/metadataset/{agency}/{id}/{version}", "GET"): _portal_structures("/en", "metadataset"),
    ("/en/metadata/metadataflow/{agency}/{id}/{version}", "GET"): _portal_structures("/en", "metadataflow"),
    ("/dataflow/{agency}/{id}/{version}", "GET"): _portal_explorer(""),
    ("/en/dataflow/{agency}/{id}/{version}", "GET"): _portal_explorer("/en"),
    ("/dashboard", "GET"): _portal_dashboard(""),
    ("/en/dashboard", "GET"): _portal_dashboard("/en"),
    ("/signin", "GET"): _portal_signin(""),
    ("/signin", "POST"): _portal_signin(""),
    ("/en/signin", "GET"): _portal_signin("/en"),
    ("/en/signin", "POST"): _portal_signin("/en"),
    ("/signout", "GET"): _portal_signout(""),
    ("/signout", "POST"): _portal_signout(""),
    ("/en/signout", "GET"): _portal_signout("/en"),
    ("/en/signout", "POST"): _portal_signout("/en"),
    ("/static/fonts/{name}", "GET"): portal_fonts,
    ("/rest/v2/{path:path}", "GET"): not_built,
    ("/rest/data/{path:path}", "GET"): _data(lambda f: f"/rest/data/{AGENCY},{f},1.0/all", CSV1),
    ("/rest/v2/data/{path:path}", "GET"): _data(lambda f: f"/rest/v2/data/dataflow/{AGENCY}/{f}/1.0/*", CSV2),
    ("/rest/v2/data", "GET"): data_all,
    ("/rest/availableconstraint", "GET"): availability_v1_bare,
    ("/rest/availableconstraint/{path:path}", "GET"): availability_v1,
    ("/rest/v2/availability", "GET"): availability_all,
    ("/rest/v2/availability/{path:path}", "GET"): availability_v2,
    ("/rest/{resource}", "GET"): _structure_lists("/rest/dataflow", None),
    ("/rest/{resource}/{path:path}", "GET"): _structures("/rest", _V1, None),
    ("/rest/v2/structure", "GET"): _structure_lists("/rest/v2/structure", JSON_STRUCTURE),
    ("/rest/v2/structure/{path:path}", "GET"): _structures("/rest/v2/structure", _V2, JSON_STRUCTURE),
    ("/rest/schema/{path:path}", "GET"): _schema(lambda f: f"/rest/schema/dataflow/{AGENCY}/{f}/1.0", FLOW),
    ("/rest/v2/schema/{path:path}", "GET"): _schema(lambda f: f"/rest/v2/schema/dataflow/{AGENCY}/{f}/1.0", DSD),
    ("/rest/v2/metadata", "GET"): metadata_bare,
    ("/rest/v2/metadata/{path:path}", "GET"): metadata,
    ("/rest/v2/data/dataflow/{agency}/{id}/{version}", "POST"): upload,
    ("/rest/v2/structure", "POST"): _maintenance("POST", lambda i: "/rest/v2/structure", True, (200, 201)),
    ("/rest/v2/structure/", "POST"): _maintenance("POST", lambda i: "/rest/v2/structure/", True, (200, 201)),
    ("/rest/v2/structure/{type}", "POST"):
        _maintenance("POST", lambda i: "/rest/v2/structure/codelist", True, (200, 201)),
    ("/rest/v2/structure/{type}/", "POST"):
        _maintenance("POST", lambda i: "/rest/v2/structure/codelist/", True, (200, 201)),
    ("/rest/v2/structure/{type}/{agency}/{id}/{version}", "PUT"):
        _maintenance("PUT", lambda i: f"{_CL}/{i}/1.0", True, (200, 201)),
    # final and referenced: a maintainer is told 409, and nothing is deleted
    ("/rest/v2/structure/{type}/{agency}/{id}/{version}", "DELETE"):
        _maintenance("DELETE", lambda i: f"{_CL}/{i}/1.0", False, (409,)),
    ("/rest/v2/structure/{type}/{agency}/{id}/{version}/{item}", "DELETE"):
        _maintenance("DELETE", lambda i: f"{_CL}/{i}/1.0/{ITEM.get(i, 'S1')}", False, (409,)),
    ("/admin/api/users", "GET"): _admin("GET", "/admin/api/users", None, 200, _listed_users),
    ("/admin/api/users", "POST"): _admin("POST", "/admin/api/users", {"name": "made-by-admin"}, 201),
    ("/admin/api/users/{name}", "PATCH"): _admin("PATCH", "/admin/api/users/fars", {"display_name": "Fars"}, 200),
    ("/admin/api/tokens", "GET"): _admin("GET", "/admin/api/tokens", None, 200),
    ("/admin/api/tokens", "POST"): _admin("POST", "/admin/api/tokens", {"user": "fars"}, 201),
    ("/admin/api/tokens/{id:int}", "DELETE"): _admin("DELETE", "/admin/api/tokens/999999", None, 404),
    ("/admin/api/grants", "GET"): _admin("GET", "/admin/api/grants", None, 200),
    ("/admin/api/grants", "POST"): _admin(
        "POST", "/admin/api/grants", {"subject": "group:nobody", "action": "read", "scope": "TEST:DF_PUBLIC"}, 201),
    ("/admin/api/grants/{id:int}", "DELETE"): _admin("DELETE", "/admin/api/grants/999999", None, 404),
    ("/admin/api/audit", "GET"): _admin("GET", "/admin/api/audit", None, 200, _audit_entries),
    ("/admin/api/usage", "GET"): _admin("GET", "/admin/api/usage", None, 200, _usage_report),
    ("/auth/login", "POST"): login,
    ("/auth/logout", "POST"): logout,
    ("/auth/me", "GET"): me,
    ("/openapi.json", "GET"): public_document("/openapi.json", "paths"),
    ("/health", "GET"): public_document("/health", "status"),
    ("/ready", "GET"): public_document("/ready", "status"),
    # The world's server reads SDMX_METRICS_ACCESS=admin (tests/access_world.py): on loopback,
    # the default, everyone on the machine may read them.
    ("/metrics", "GET"): _admin("GET", "/metrics", None, 200, _metrics_text),
    ("/releases", "GET"): _release_calendar(""),
    ("/releases.ics", "GET"): _release_calendar(".ics"),
    ("/admin/api/releases", "POST"): _admin(
        "POST", "/admin/api/releases", {"dataflow": f"{AGENCY}:{FLOW['public']}(1.0)", "due": "2031-01-01"}, 201),
    ("/admin/api/releases/{id:int}", "PATCH"): _admin("PATCH", "/admin/api/releases/999999", {"due": "2031-02-01"}, 404),
    ("/admin/api/releases/{id:int}", "DELETE"): _admin("DELETE", "/admin/api/releases/999999", None, 404),
}
#: The routes checked on PostgreSQL too: what reads the store with the principal's region.
POSTGRES_SUBSET = {("/rest/data/{path:path}", "GET"), ("/rest/v2/data", "GET"),
                   ("/rest/v2/availability/{path:path}", "GET"), ("/rest/v2/structure/{path:path}", "GET"),
                   ("/rest/v2/data/dataflow/{agency}/{id}/{version}", "POST")}


def app_routes() -> set[tuple[str, str]]:
    """(path, method) of every route the app serves, Mounts walked into (HEAD goes with GET)."""
    from starlette.routing import Mount, Route

    from sdmx_server.api.app import create_app
    from sdmx_server.boot import create_schema
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database

    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'routes.db'}"
        db = Database(url)
        create_schema(db)
        db.dispose()
        app = create_app(Settings(database_url=url, data_dir=Path(directory)))
        found: set[tuple[str, str]] = set()

        def walk(routes, prefix: str) -> None:
            for route in routes:
                if isinstance(route, Mount):
                    walk(route.routes, prefix + route.path)
                elif isinstance(route, Route):
                    for method in route.methods or {"GET"}:
                        if method != "HEAD":
                            found.add((prefix + route.path, method))
                else:
                    found.add((prefix + getattr(route, "path", repr(route)), "*"))

        walk(app.routes, "")
        app.state.release_db.dispose()
        app.state.server.close()
    return found


def test_every_route_is_in_the_matrix():
    routes = app_routes()
    assert not routes - MATRIX.keys(), f"routes the permission matrix does not check: {sorted(routes - MATRIX.keys())}"


# -- the world, on SQLite and PostgreSQL -------------------------------------------------------


@pytest.fixture(scope="module")
def world(request, tmp_path_factory):
    backend = request.param
    directory = tmp_path_factory.mktemp(f"access-{backend}")
    with fresh_database(backend, directory) as url:
        with build_world(url, directory) as w:
            w.codelists = {}
            for codelist in CODELIST.values():  # the bodies of maintenance, as the admin reads them
                r = w.get("admin", f"/rest/codelist/{AGENCY}/{codelist}/1.0")
                assert r.status_code == 200, r.text[:300]
                w.codelists[codelist] = r.content
            yield w


def _cells(routes) -> list:
    """Every principal × every level; one level for what is the same whatever the dataflow."""
    return [pytest.param(route, who, level, id=f"{route[1]} {route[0]}-{who}-{level}")
            for route in routes for who in PRINCIPALS
            for level in (LEVELS if getattr(MATRIX[route], "levels", True) else LEVELS[:1])]


#: The routes of the app that the matrix checks: all of them, or test_every_route_is_in_the_matrix fails.
ROUTES = sorted(app_routes() & MATRIX.keys())


@pytest.mark.parametrize("world", ["sqlite"], indirect=True)
@pytest.mark.parametrize("route, who, level", _cells(ROUTES))
def test_cell(world: World, route, who: str, level: str):
    check_cell(world, route, who, level)


@pytest.mark.parametrize("world", ["postgresql"], indirect=True)
@pytest.mark.parametrize("route, who, level", _cells(sorted(POSTGRES_SUBSET & set(ROUTES))))
def test_cell_on_postgresql(world: World, route, who: str, level: str):
    check_cell(world, route, who, level)


def check_cell(world: World, route, who: str, level: str) -> None:
    if who in BAD:
        _refused(world, route, who)
    else:
        MATRIX[route](world, who, level)


def _refused(world: World, route, who: str) -> None:
    """A wrong, expired or revoked token is a 401 on every route, never the public's answer."""
    path, method = route
    concrete = re.sub(r"\{path:path\}", "dataflow", path)
    concrete = concrete.replace("{type}", "codelist").replace("{agency}", AGENCY)
    concrete = concrete.replace("{id}", "CL_FREQ").replace("{version}", "1.0").replace("{item}", "M")
    concrete = concrete.replace("{resource}", "dataflow").replace("{name}", "fars").replace("{id:int}", "1")
    content = world.codelists["CL_FREQ"] if method in ("POST", "PUT") else None
    refused_credentials(world.request(method, who, concrete, content=content))


# -- ETags and kept answers never cross principals ----------------------------------------------


@pytest.mark.parametrize("world", ["sqlite"], indirect=True)
@pytest.mark.parametrize("level", LEVELS)
def test_an_etag_validates_only_the_answer_it_was_made_for(world: World, level: str):
    path = f"/rest/v2/data/dataflow/{AGENCY}/{FLOW[level]}/1.0/*"
    got = {}
    for who in ("anonymous", *USERS):
        r = world.get(who, path, headers={"Accept": CSV2})
        if r.status_code == 200:
            got[who] = (r.headers.get("etag"), r.content)
    failures = []
    for owner, (etag, body) in got.items():
        assert etag, f"no ETag for {owner}"
        for who in ("anonymous", *USERS):
            r = world.get(who, path, headers={"Accept": CSV2, "If-None-Match": etag})
            if r.status_code == 304 and got.get(who, (None, None))[1] != body:
                failures.append(f"{owner}'s ETag validated for {who}, whose answer differs")
            if who not in got and r.status_code != 404:
                failures.append(f"{owner}'s ETag answered {r.status_code} to {who}, who may not read {FLOW[level]}")
    assert not failures, failures
