"""Who sees what, over real HTTP, on SQLite and PostgreSQL: data, availability, structures and
their references, schemas, ETags and 304s, errors, uploads (access/gate.py).

The test content (tests/content: DF_A and DF_B public, DF_SECRET internal, all on DSD_TEST)
and a staff-only part: DSD_CONTRIB "Contributions collected", with its own concept scheme
CS_STAFF and codelist CL_CONTRIB, used by DF_CONTRIB (internal) and DF_PAYROLL (restricted)
only. Principals (set per request by tests/principals.py, test-only; grants through
access/store.py `current_grants`):

- anonymous: the public;
- `tabriz` (group province-03): reads and uploads DF_CONTRIB for AREA=IR-03 only;
- `office` (group office): reads TEST:* (internal flows, never the restricted one);
- `root`: admin;
- `keeper`: maintains TEST:* and reads only what the public reads.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil

import httpx
import pytest
from lxml import etree

from sdmx_server.access.principal import Principal
from sdmx_server.access.rules import Grant, Scope, parse_where
from tests.conftest import BACKENDS, fresh_database, running_server
from tests.principals import by_header, granting

CSV = "application/vnd.sdmx.data+csv;version=2.0.0"
JSON20 = "application/vnd.sdmx.structure+json;version=2.0.0"
FLOW = ("TEST", "DF_CONTRIB", "1.0")
PAYROLL = ("TEST", "DF_PAYROLL", "1.0")
PRINCIPALS = {
    "tabriz": Principal(name="tabriz", groups=frozenset({"province-03"}), method="token"),
    "office": Principal(name="office", groups=frozenset({"office"}), method="token"),
    "root": Principal(name="root", method="token"),
    "nobody": Principal(name="nobody", method="token"),  # authenticated, granted nothing
    "keeper": Principal(name="keeper", method="token"),  # maintains TEST:*, reads as the public
}


def grant(subject: str, action: str, scope: str, *where: str) -> Grant:
    return Grant(subject, action, Scope.parse(scope), parse_where(where))  # type: ignore[arg-type]


GRANTS = (
    grant("group:province-03", "read", "TEST:DF_CONTRIB", "AREA=IR-03"),
    grant("group:province-03", "upload", "TEST:DF_CONTRIB", "AREA=IR-03"),
    grant("group:office", "read", "TEST:*"),
    grant("user:root", "admin", "*"),
    grant("user:keeper", "maintain", "TEST:*"),
)

STAFF_CODELISTS = """\
codelists:
  - id: CL_CONTRIB
    agency: TEST
    version: "1.0"
    name: {fa: نوع مشارکت, en: Contribution type}
    codes:
      - id: EMP
        name: {fa: کارفرما, en: Employer}
      - id: INS
        name: {fa: بیمه‌شده, en: Insured}
"""
STAFF_CONCEPTS = """\
conceptscheme:
  id: CS_STAFF
  agency: TEST
  version: "1.0"
  name: {fa: مفاهیم کارکنان, en: Staff concepts}
  concepts:
    - id: FREQ
      name: {fa: تناوب, en: Frequency}
      codelist: CL_FREQ
    - id: AREA
      name: {fa: منطقه, en: Area}
      codelist: CL_AREA
    - id: CONTRIB_TYPE
      name: {fa: نوع مشارکت, en: Contribution type}
      codelist: CL_CONTRIB
    - id: TIME_PERIOD
      name: {fa: دوره زمانی, en: Time period}
    - id: OBS_VALUE
      name: {fa: مقدار, en: Observation value}
      text_format: {type: Double}
"""
STAFF_DSD = """\
datastructure:
  id: DSD_CONTRIB
  agency: TEST
  version: "1.0"
  name: {fa: مشارکت‌های وصول‌شده, en: Contributions collected}
  concepts: CS_STAFF
  dimensions:
    - id: FREQ
    - id: AREA
    - id: CONTRIB_TYPE
  time_dimension: TIME_PERIOD
  measure:
    id: OBS_VALUE
dataflows:
  - id: DF_CONTRIB
    agency: TEST
    version: "1.0"
    name: {fa: مشارکت‌ها, en: Contributions}
    structure: DSD_CONTRIB
    access: internal
  - id: DF_PAYROLL
    agency: TEST
    version: "1.0"
    name: {fa: حقوق, en: Payroll}
    structure: DSD_CONTRIB
    access: restricted
"""
AREAS = ("IR-03", "IR-10", "IR-23")
MONTHS = ("2024-01", "2024-02", "2024-03")


def staff_rows(scale: float) -> list[dict]:
    return [{"FREQ": "M", "AREA": area, "CONTRIB_TYPE": kind, "TIME_PERIOD": month,
             "OBS_VALUE": f"{scale * (i + 1):.1f}"}
            for i, (area, kind, month) in enumerate((a, k, m) for a in AREAS for k in ("EMP", "INS") for m in MONTHS)]


def staff_csv(rows: list[dict], flow=FLOW) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["DATAFLOW", "FREQ", "AREA", "CONTRIB_TYPE", "TIME_PERIOD", "OBS_VALUE"])
    for r in rows:
        writer.writerow([f"{flow[0]}:{flow[1]}({flow[2]})", *r.values()])
    return out.getvalue()


class Served:
    def __init__(self, url: str, settings, rows: dict):
        self.url, self.settings, self.rows = url, settings, rows

    def get(self, path: str, who: str | None = None, accept: str | None = CSV, **headers) -> httpx.Response:
        if who:
            headers["X-Test-Principal"] = who
        if accept:
            headers["Accept"] = accept
        return httpx.get(self.url + path, headers=headers, timeout=60)

    def upload(self, flow, body: str, who: str | None, action: str | None = None) -> httpx.Response:
        headers = {"Content-Type": "text/csv"}
        if who:
            headers["X-Test-Principal"] = who
        return httpx.post(f"{self.url}/rest/v2/data/dataflow/{flow[0]}/{flow[1]}/{flow[2]}", content=body.encode(),
                          headers=headers, params={"action": action} if action else None, timeout=120)


@pytest.fixture(scope="module", params=BACKENDS)
def served(request, tmp_path_factory):
    from sdmx_server.boot import create_schema
    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data
    from sdmx_server.registry.load import load_structures
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database
    from tests.datasets import CONTENT, FLOW_A, FLOW_SECRET, frame, sdmx_csv

    directory = tmp_path_factory.mktemp(f"access-{request.param}")
    content = directory / "content"
    shutil.copytree(CONTENT, content)
    (content / "codelists" / "contrib.yaml").write_text(STAFF_CODELISTS, encoding="utf-8")
    (content / "dsd" / "staff_concepts.yaml").write_text(STAFF_CONCEPTS, encoding="utf-8")
    (content / "dsd" / "staff.yaml").write_text(STAFF_DSD, encoding="utf-8")
    with fresh_database(request.param, directory) as url:
        settings = Settings(database_url=url, data_dir=directory)
        db = Database(url)
        create_schema(db)
        outcome = load_structures(db, [content / "codelists", content / "dsd"], settings)
        assert outcome.ok, outcome.errors
        rows = {FLOW: staff_rows(1.0), PAYROLL: staff_rows(10.0)}
        for flow, body in ((FLOW, staff_csv(rows[FLOW])), (PAYROLL, staff_csv(rows[PAYROLL], PAYROLL)),
                           (FLOW_A, sdmx_csv(frame(seed=1, months=2, quarters=0), FLOW_A)),
                           (FLOW_SECRET, sdmx_csv(frame(seed=3, months=2, quarters=0), FLOW_SECRET))):
            path = directory / f"{flow[1]}.csv"
            path.write_text(body, encoding="utf-8")
            loaded = load_data(db, _registry(db), flow, path, "merge", settings)
            assert loaded.applied, loaded.report.text()
        db.dispose()
        with granting(GRANTS), running_server(settings, by_header(PRINCIPALS)) as server:
            yield Served(server.url, settings, rows)


def csv_rows(response: httpx.Response) -> list[dict]:
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text)))


def ids(response: httpx.Response, element: str) -> set[str]:
    assert response.status_code == 200, response.text
    doc = etree.fromstring(response.content)
    return {e.get("id") for e in doc.iter(f"{{*}}{element}") if e.get("id") and e.getparent().tag.endswith("s")}


def error_text(response: httpx.Response) -> str:
    """The texts of an error message, but the request's id (which each request has its own)."""
    doc = etree.fromstring(response.content)
    return " ".join(t.strip() for t in doc.itertext() if t.strip() and not t.startswith("request id: "))


def texts(response: httpx.Response) -> str:
    """The messages of a SubmitStructureResponse (not its header, whose id and time differ)."""
    doc = etree.fromstring(response.content)
    return " ".join(e.text.strip() for e in doc.iter("{*}Text") if e.text)


# -- listings and structures ---------------------------------------------------------------------


@pytest.mark.parametrize("who, flows", [
    (None, {"DF_A", "DF_B"}),
    ("tabriz", {"DF_A", "DF_B", "DF_CONTRIB"}),
    ("office", {"DF_A", "DF_B", "DF_SECRET", "DF_CONTRIB"}),
    ("root", {"DF_A", "DF_B", "DF_SECRET", "DF_CONTRIB", "DF_PAYROLL"}),
])
def test_dataflows_listed_are_those_the_principal_reads(served, who, flows):
    assert ids(served.get("/rest/dataflow/TEST", who, None), "Dataflow") == flows
    structures = ids(served.get("/rest/datastructure/TEST", who, None), "DataStructure")
    assert structures == ({"DSD_TEST", "DSD_CONTRIB"} if flows & {"DF_CONTRIB", "DF_PAYROLL"} else {"DSD_TEST"})
    schemes = ids(served.get("/rest/conceptscheme/TEST", who, None), "ConceptScheme")
    assert ("CS_STAFF" in schemes) == ("DSD_CONTRIB" in structures)
    codelists = ids(served.get("/rest/codelist/TEST", who, None), "Codelist")
    assert ("CL_CONTRIB" in codelists) == ("DSD_CONTRIB" in structures)
    assert {"CL_AREA", "CL_FREQ"} <= codelists  # used by public structures too


def test_structures_used_only_by_hidden_flows_are_not_found_as_if_they_did_not_exist(served):
    for kind, hidden, missing in (("datastructure", "DSD_CONTRIB", "DSD_NOPE"), ("codelist", "CL_CONTRIB", "CL_NOPE"),
                                  ("conceptscheme", "CS_STAFF", "CS_NOPE"), ("dataflow", "DF_PAYROLL", "DF_NOPE")):
        a = served.get(f"/rest/{kind}/TEST/{hidden}/1.0", None, None)
        b = served.get(f"/rest/{kind}/TEST/{missing}/1.0", None, None)
        assert a.status_code == b.status_code == 404
        assert error_text(a).replace(hidden, "X") == error_text(b).replace(missing, "X")
        assert "Contributions" not in a.text
    assert served.get("/rest/datastructure/TEST/DSD_CONTRIB/1.0", "tabriz", None).status_code == 200
    assert served.get("/rest/dataflow/TEST/DF_PAYROLL/1.0", "office", None).status_code == 404
    assert served.get("/rest/dataflow/TEST/DF_PAYROLL/1.0", "root", None).status_code == 200


def test_references_never_reach_what_is_hidden(served):
    every = ids(served.get("/rest/codelist/TEST/CL_AREA/1.0?references=all", None, None), "Codelist") | \
        ids(served.get("/rest/codelist/TEST/CL_AREA/1.0?references=all", None, None), "ConceptScheme")
    assert "CS_STAFF" not in every and "CL_CONTRIB" not in every and "CS_TEST" in every
    parents = served.get("/rest/v2/structure/codelist/TEST/CL_AREA/1.0?references=ancestors",
                         None, "application/vnd.sdmx.structure+xml;version=3.0.0")
    assert ids(parents, "Dataflow") == {"DF_A", "DF_B"}
    assert ids(parents, "DataStructure") == {"DSD_TEST"}
    staff = served.get("/rest/v2/structure/codelist/TEST/CL_AREA/1.0?references=ancestors",
                       "tabriz", "application/vnd.sdmx.structure+xml;version=3.0.0")
    assert ids(staff, "Dataflow") == {"DF_A", "DF_B", "DF_CONTRIB"}
    assert ids(staff, "DataStructure") == {"DSD_TEST", "DSD_CONTRIB"}
    dsd = served.get("/rest/datastructure/TEST/DSD_CONTRIB/1.0?references=parents", "office", None)
    assert ids(dsd, "Dataflow") == {"DF_CONTRIB"}


def test_schemas_of_hidden_structures_are_not_found(served):
    for path in ("/rest/schema/dataflow/TEST/DF_CONTRIB/1.0", "/rest/schema/datastructure/TEST/DSD_CONTRIB/1.0",
                 "/rest/v2/schema/dataflow/TEST/DF_PAYROLL/1.0"):
        assert served.get(path, None, None).status_code == 404, path
    assert served.get("/rest/schema/dataflow/TEST/DF_CONTRIB/1.0", "tabriz", None).status_code == 200
    assert served.get("/rest/v2/schema/dataflow/TEST/DF_PAYROLL/1.0", "tabriz", None).status_code == 404


def test_structure_answers_differ_by_view_and_are_private_when_not_public(served):
    public = served.get("/rest/dataflow/TEST", None, None)
    staff = served.get("/rest/dataflow/TEST", "tabriz", None)
    assert public.headers["cache-control"].startswith("public")
    assert staff.headers["cache-control"].startswith("private")
    assert public.headers["etag"] != staff.headers["etag"]
    # the public's tag gives the staff member the full answer, not a 304 of the public one
    assert served.get("/rest/dataflow/TEST", "tabriz", None, **{"If-None-Match": public.headers["etag"]}
                      ).status_code == 200
    assert served.get("/rest/dataflow/TEST", "tabriz", None, **{"If-None-Match": staff.headers["etag"]}
                      ).status_code == 304


def key_values(constraint: dict) -> dict[str, list[str]]:
    return {kv["id"]: [v if isinstance(v, str) else v["value"] for v in kv.get("values", [])]
            for kv in constraint["cubeRegions"][0]["keyValues"]}


# -- data ----------------------------------------------------------------------------------------


def test_data_is_cut_to_the_region_in_every_context(served):
    want = {(r["AREA"], r["CONTRIB_TYPE"], r["TIME_PERIOD"], float(r["OBS_VALUE"])) for r in served.rows[FLOW]}
    for path in ("/rest/data/TEST,DF_CONTRIB,1.0/all", "/rest/v2/data/dataflow/TEST/DF_CONTRIB/1.0",
                 "/rest/v2/data/datastructure/TEST/DSD_CONTRIB/1.0", "/rest/v2/data/*/TEST/DF_CONTRIB/1.0",
                 "/rest/v2/data/dataflow/TEST/DF_CONTRIB/1.0/M.IR-03+IR-10.EMP"):
        got = {(r["AREA"], r["CONTRIB_TYPE"], r["TIME_PERIOD"], float(r["OBS_VALUE"]))
               for r in csv_rows(served.get(path, "tabriz"))}
        expected = {w for w in want if w[0] == "IR-03"}
        if path.endswith("EMP"):
            expected = {w for w in expected if w[1] == "EMP"}
        assert got == expected, path
    # the past and what changed are cut alike (service/history.py reads through the same SQL)
    for past in ("updatedAfter=2000-01-01T00:00:00Z", "includeHistory=true", "asOf=2999-01-01T00:00:00Z"):
        areas = {r["AREA"] for r in csv_rows(served.get(f"/rest/v2/data/dataflow/TEST/DF_CONTRIB/1.0?{past}", "tabriz"))}
        assert areas == {"IR-03"}, past
    office = {(r["AREA"], r["CONTRIB_TYPE"], r["TIME_PERIOD"], float(r["OBS_VALUE"]))
              for r in csv_rows(served.get("/rest/v2/data/dataflow/TEST/DF_CONTRIB/1.0", "office"))}
    assert office == want
    # a key outside the region: no data, as for a key nothing matches
    outside = served.get("/rest/v2/data/dataflow/TEST/DF_CONTRIB/1.0/M.IR-10", "tabriz")
    nothing = served.get("/rest/v2/data/dataflow/TEST/DF_CONTRIB/1.0/M.IR", "tabriz")
    assert outside.status_code == nothing.status_code == 404


def without_request_id(text: str) -> str:
    """An error message but the request's id (api/observe.py), which each request has its own."""
    return re.sub(r"request id: [^<)]+", "", text)


def test_hidden_dataflows_answer_as_dataflows_that_do_not_exist(served):
    for who, flow in ((None, "DF_CONTRIB"), (None, "DF_SECRET"), ("tabriz", "DF_PAYROLL"), ("office", "DF_PAYROLL")):
        hidden = served.get(f"/rest/v2/data/dataflow/TEST/{flow}/1.0", who)
        missing = served.get("/rest/v2/data/dataflow/TEST/DF_NOPE/1.0", who)
        assert hidden.status_code == missing.status_code == 404
        assert without_request_id(hidden.text.replace(flow, "X")) == without_request_id(missing.text.replace("DF_NOPE", "X"))
        for path in (f"/rest/data/TEST,{flow},1.0/all", f"/rest/availableconstraint/TEST,{flow},1.0"):
            assert served.get(path, who, None).status_code == 404, (who, path)
    # listings with wildcards leave them out
    sets = {r["STRUCTURE_ID"] for r in csv_rows(served.get("/rest/v2/data/dataflow/TEST/*/1.0?lastNObservations=1"))}
    assert sets == {"TEST:DF_A(1.0)"}
    by_dsd = served.get("/rest/v2/data/datastructure/TEST/DSD_CONTRIB/1.0")
    assert by_dsd.status_code == 404
    assert {r["STRUCTURE_ID"] for r in csv_rows(served.get("/rest/v2/data/datastructure/TEST/DSD_CONTRIB/1.0",
                                                           "root"))} == {"TEST:DF_CONTRIB(1.0)", "TEST:DF_PAYROLL(1.0)"}
    assert len(csv_rows(served.get("/rest/v2/data/dataflow/TEST/DF_PAYROLL/1.0", "root"))) == len(served.rows[PAYROLL])


def test_etags_and_kept_answers_are_keyed_by_the_allowance(served):
    path = "/rest/v2/data/dataflow/TEST/DF_CONTRIB/1.0"
    provincial, office, admin = (served.get(path, who) for who in ("tabriz", "office", "root"))
    assert provincial.headers["etag"] != office.headers["etag"]
    # whole reads share the tag (same bytes); both are for staff only
    assert office.headers["etag"] == admin.headers["etag"] and office.text == admin.text
    for answer in (provincial, office):
        assert answer.headers["cache-control"].startswith("private")
    assert served.get("/rest/v2/data/dataflow/TEST/DF_A/1.0").headers["cache-control"].startswith("public")
    # the provincial tag is the provincial's only: the office gets its own answer, not a 304
    assert served.get(path, "office", **{"If-None-Match": provincial.headers["etag"]}).status_code == 200
    assert served.get(path, "tabriz", **{"If-None-Match": provincial.headers["etag"]}).status_code == 304
    # asked again (a kept answer may serve it), each still gets its own rows
    again = served.get(path, "tabriz")
    assert csv_rows(again) == csv_rows(provincial)
    assert {r["AREA"] for r in csv_rows(served.get(path, "office"))} == set(AREAS)
    # the anonymous with the office's tag: not found, never a 304
    assert served.get(path, None, **{"If-None-Match": office.headers["etag"]}).status_code == 404


def test_availability_counts_only_the_region(served):
    answer = served.get("/rest/v2/availability/dataflow/TEST/DF_CONTRIB/1.0", "tabriz", JSON20)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"].startswith("private")
    (constraint,) = answer.json()["data"]["dataConstraints"]
    values = key_values(constraint)
    notes = {a["id"]: int(a["title"]) for a in constraint["annotations"]}
    inside = [r for r in served.rows[FLOW] if r["AREA"] == "IR-03"]
    assert values["AREA"] == ["IR-03"]
    assert notes["obs_count"] == len(inside) and notes["series_count"] == 2
    # mode available: still only the region
    available = served.get("/rest/v2/availability/dataflow/TEST/DF_CONTRIB/1.0/M.IR-10?mode=available", "tabriz",
                           JSON20)
    if available.status_code == 200:
        (c,) = available.json()["data"]["dataConstraints"]
        assert key_values(c)["AREA"] == ["IR-03"]
    else:
        assert available.status_code == 404
    whole = served.get("/rest/v2/availability/dataflow/TEST/DF_CONTRIB/1.0", "office", JSON20)
    (c,) = whole.json()["data"]["dataConstraints"]
    assert {a["id"]: int(a["title"]) for a in c["annotations"]}["obs_count"] == len(served.rows[FLOW])
    assert whole.headers["etag"] != answer.headers["etag"]


# -- uploads -------------------------------------------------------------------------------------


def test_uploads_need_a_grant_and_stay_inside_its_region(served):
    from sdmx_server.store.database import Database
    from sdmx_server.store.records import list_records

    inside = [r for r in served.rows[FLOW] if r["AREA"] == "IR-03"]
    one_outside = inside + [dict(inside[0], AREA="IR-10", OBS_VALUE="99.0")]
    assert served.upload(FLOW, staff_csv(inside), None).status_code == 401
    refused = served.upload(FLOW, staff_csv(one_outside), "tabriz")
    assert refused.status_code == 422, refused.text
    lines = refused.text
    assert "no rule grants upload on TEST:DF_CONTRIB(1.0) for AREA=IR-10" in lines
    answer = refused.json()
    assert answer["status"] == "rejected"
    # one error: the row outside (the header is row 1), its column and value
    (error,) = answer["report"]["errors"]
    assert (error["rows"], error["column"], error["value"], error["rule"]) == (
        [len(one_outside) + 1], "AREA", "IR-10", "permission")
    # nothing changed: the value of the IR-10 row is still the stored one
    rows = csv_rows(served.get("/rest/v2/data/dataflow/TEST/DF_CONTRIB/1.0/M.IR-10.EMP", "office"))
    assert "99.0" not in {r["OBS_VALUE"] for r in rows} and "99" not in {r["OBS_VALUE"] for r in rows}

    # replace-all would empty the other regions' rows, which the file does not carry
    whole = served.upload(FLOW, staff_csv(inside), "tabriz", action="replace-all")
    assert whole.status_code == 403, whole.text
    assert "replace-all replaces the whole dataflow" in error_text(whole)
    rows = csv_rows(served.get("/rest/v2/data/dataflow/TEST/DF_CONTRIB/1.0/M.IR-10.EMP", "office"))
    assert rows, "the other regions' rows are still there"

    accepted = served.upload(FLOW, staff_csv(inside), "tabriz")
    assert accepted.status_code == 200, accepted.text
    db = Database(served.settings.database_url)
    try:
        records = list_records(db, FLOW)
    finally:
        db.dispose()
    assert records[0].submitted_by == "user:tabriz" and records[0].origin == "upload"

    forbidden = served.upload(("TEST", "DF_A", "1.0"), "x", "tabriz")
    assert forbidden.status_code == 403
    assert "no rule grants upload on TEST:DF_A(1.0)" in error_text(forbidden)
    hidden, missing = served.upload(PAYROLL, "x", "tabriz"), served.upload(("TEST", "DF_NOPE", "1.0"), "x", "tabriz")
    assert hidden.status_code == missing.status_code == 404
    assert error_text(hidden).replace("DF_PAYROLL", "X") == error_text(missing).replace("DF_NOPE", "X")
    assert served.upload(PAYROLL, staff_csv(served.rows[PAYROLL], PAYROLL), "root").status_code == 200


def test_structure_maintenance_needs_maintain(served):
    def delete(who, path):
        return httpx.delete(served.url + "/rest/v2/structure/" + path,
                            headers={"X-Test-Principal": who} if who else {}, timeout=60)

    assert delete(None, "codelist/TEST/CL_FREQ/1.0").status_code == 401
    assert delete(None, "datastructure/TEST/DSD_CONTRIB/1.0").status_code == 401
    refused = delete("office", "codelist/TEST/CL_FREQ/1.0")
    assert refused.status_code == 403 and "no rule grants maintain on TEST:CL_FREQ(1.0)" in error_text(refused)
    assert delete("office", "codelist/TEST/CL_CONTRIB/1.0").status_code == 403  # seen, not maintained
    # what the principal cannot see answers as what does not exist
    hidden, missing = (delete("nobody", f"datastructure/TEST/{i}/1.0") for i in ("DSD_CONTRIB", "DSD_NOPE"))
    assert hidden.status_code == missing.status_code == 404
    assert texts(hidden).replace("DSD_CONTRIB", "X") == texts(missing).replace("DSD_NOPE", "X")
    assert "not found" in texts(hidden)
    assert served.get("/rest/codelist/TEST/CL_FREQ/1.0", None, None).status_code == 200  # still there


def test_a_maintainer_cannot_reach_hidden_structures_by_reference(served):
    """A new public dataflow on an internal flow's DSD would make the DSD and its codelists
    public (visibility follows the visible dataflows): the reference is to nothing, for the
    maintainer who cannot see the DSD, and answers as a reference to a DSD that does not exist."""
    urn = "urn:sdmx:org.sdmx.infomodel.datastructure."

    def post(flow_id, dsd):
        flow = {"id": flow_id, "agencyID": "TEST", "version": "1.0", "name": "Leak", "names": {"en": "Leak"},
                "structure": f"{urn}DataStructure=TEST:{dsd}(1.0)"}
        body = json.dumps({"meta": {"id": "M", "prepared": "2024-01-01T00:00:00Z", "sender": {"id": "T"}},
                           "data": {"dataflows": [flow]}}).encode()
        return httpx.post(served.url + "/rest/v2/structure", content=body, timeout=60,
                          headers={"X-Test-Principal": "keeper", "Content-Type": JSON20})

    hidden, missing = post("DF_LEAK", "DSD_CONTRIB"), post("DF_LEAK2", "DSD_NOPE")
    assert hidden.status_code == missing.status_code == 409, hidden.text
    assert texts(hidden).replace("DF_LEAK", "X").replace("DSD_CONTRIB", "Y") == \
        texts(missing).replace("DF_LEAK2", "X").replace("DSD_NOPE", "Y")
    assert "which is not loaded" in texts(hidden)
    assert served.get("/rest/dataflow/TEST/DF_LEAK/1.0", "root", None).status_code == 404  # nothing saved
    assert served.get("/rest/datastructure/TEST/DSD_CONTRIB/1.0", None, None).status_code == 404
    assert served.get("/rest/codelist/TEST/CL_CONTRIB/1.0", None, None).status_code == 404
    # what the maintainer sees it may refer to
    seen = post("DF_SEEN", "DSD_TEST")
    assert seen.status_code == 201, seen.text
    assert served.get("/rest/dataflow/TEST/DF_SEEN/1.0", None, None).status_code == 200
