"""Structure maintenance over HTTP (REST maintenance.md), against a real server.

POST, PUT and DELETE on /rest/v2/structure with SDMX-ML 2.1, SDMX-ML 3.0 and SDMX-JSON bodies:
every status code of the spec's summary (annex IV) that this registry can produce, every answer
a SubmitStructureResponse valid against the SDMX-ML 3.0 schema with one result per artefact, and
every change visible to the next GET at once. Requests here are a principal that may do anything
(tests/principals.py WRITER); anonymous writes are refused (401), from any address.

Each test writes artefacts of its own (agency MAINT, ids per test), so that the tests do not
depend on one another's order.
"""

from __future__ import annotations

import json

import httpx
import pytest
from lxml import etree

from tests.principals import writes
from tests.conftest import BACKENDS, fresh_database, running_server
from tests.datasets import CONTENT
from tests.xsd import assert_valid

XML21 = "application/vnd.sdmx.structure+xml; version=2.1"
XML30 = "application/vnd.sdmx.structure+xml; version=3.0.0"
JSON20 = "application/vnd.sdmx.structure+json; version=2.0.0"
REG = "{http://www.sdmx.org/resources/sdmxml/schemas/v3_0/registry}"
_URN = "urn:sdmx:org.sdmx.infomodel."


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory):
    from sdmx_server.boot import create_schema
    from sdmx_server.registry.load import load_structures
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database

    directory = tmp_path_factory.mktemp(f"maintenance-{request.param}")
    with fresh_database(request.param, directory) as url:
        settings = Settings(database_url=url, data_dir=directory)
        db = Database(url)
        create_schema(db)
        outcome = load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings)
        assert outcome.ok, outcome.errors
        db.dispose()
        with running_server(settings, writes) as running:
            with httpx.Client(base_url=running.url + "/rest/v2", timeout=30) as client:
                client.settings = settings
                yield client


# -- messages -----------------------------------------------------------------------------------


def _codes_21(codes: dict[str, str]) -> str:
    return "".join(f'<str:Code id="{c}"><com:Name xml:lang="en">{n}</com:Name></str:Code>' for c, n in codes.items())


def ml21(artefacts: str) -> bytes:
    """An SDMX-ML 2.1 structure message around the given str:Codelists/str:Concepts..."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<mes:Structure xmlns:mes="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message" '
        'xmlns:str="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure" '
        'xmlns:com="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common">'
        '<mes:Header><mes:ID>M21</mes:ID><mes:Test>false</mes:Test><mes:Prepared>2024-01-01T00:00:00Z</mes:Prepared>'
        '<mes:Sender id="MAINT"/></mes:Header>'
        f"<mes:Structures>{artefacts}</mes:Structures></mes:Structure>"
    ).encode()


def codelist_21(cl_id: str, codes: dict[str, str], version: str = "1.0", *, partial: bool = False,
                name: str = "A codelist") -> str:
    flags = ' isPartial="true"' if partial else ""
    return (f'<str:Codelist id="{cl_id}" agencyID="MAINT" version="{version}" isFinal="false"{flags}>'
            f'<com:Name xml:lang="en">{name}</com:Name>{_codes_21(codes)}</str:Codelist>')


def ml30(artefacts: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<mes:Structure xmlns:mes="http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message" '
        'xmlns:str="http://www.sdmx.org/resources/sdmxml/schemas/v3_0/structure" '
        'xmlns:com="http://www.sdmx.org/resources/sdmxml/schemas/v3_0/common">'
        '<mes:Header><mes:ID>M30</mes:ID><mes:Test>false</mes:Test><mes:Prepared>2024-01-01T00:00:00Z</mes:Prepared>'
        '<mes:Sender id="MAINT"/></mes:Header>'
        f"<mes:Structures>{artefacts}</mes:Structures></mes:Structure>"
    ).encode()


def codelist_30(cl_id: str, codes: dict[str, str], version: str) -> str:
    return (f'<str:Codelist id="{cl_id}" agencyID="MAINT" version="{version}">'
            f'<com:Name xml:lang="en">{cl_id}</com:Name>{_codes_21(codes)}</str:Codelist>')


def json_message(**collections) -> bytes:
    return json.dumps({
        "meta": {"id": "MJSON", "prepared": "2024-01-01T00:00:00Z", "sender": {"id": "MAINT"},
                 "schema": "https://raw.githubusercontent.com/sdmx-twg/sdmx-json/v2.0.0/structure-message/tools/"
                           "schemas/2.0.0/sdmx-json-structure-schema.json"},
        "data": collections,
    }).encode()


def codelist_json(cl_id: str, codes: dict[str, str], version: str) -> dict:
    return {"id": cl_id, "agencyID": "MAINT", "version": version, "name": cl_id, "names": {"en": cl_id},
            "codes": [{"id": c, "name": n, "names": {"en": n}} for c, n in codes.items()]}


# -- answers ------------------------------------------------------------------------------------


def results(response: httpx.Response) -> list[tuple[str, str, str, int]]:
    """(URN, action, status, code) of each SubmissionResult, after checking the message."""
    assert response.headers["content-type"] == "application/vnd.sdmx.registry+xml; version=3.0.0"
    doc = assert_valid(response.content)
    out = []
    for result in doc.iter(f"{REG}SubmissionResult"):
        submitted = result.find(f"{REG}SubmittedStructure")
        status = result.find(f"{REG}StatusMessage")
        out.append((submitted.findtext(f"{REG}MaintainableObject"), submitted.get("action"), status.get("status"),
                    int(status.find(f"{REG}MessageText").get("code"))))
    return out


def codelist_urn(cl_id: str, version: str) -> str:
    return f"{_URN}codelist.Codelist=MAINT:{cl_id}({version})"


def codes_of(client: httpx.Client, cl_id: str, version: str) -> list[tuple[str, str]] | None:
    """(id, English name) of each code, in order, as a GET sees it now; None when not found."""
    response = client.get(f"/structure/codelist/MAINT/{cl_id}/{version}")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    doc = etree.fromstring(response.content)
    return [(code.get("id"), code.findtext("{*}Name")) for code in doc.iter("{*}Code")]


def post(client: httpx.Client, body: bytes, media_type: str, path: str = "/structure") -> httpx.Response:
    return client.post(path, content=body, headers={"Content-Type": media_type})


# -- POST ---------------------------------------------------------------------------------------


def test_post_sdmx_ml_21(server):
    body = ml21("<str:Codelists>" + codelist_21("CL_P21", {"R": "Red", "G": "Green"}) + "</str:Codelists>"
                '<str:Concepts><str:ConceptScheme id="CS_P21" agencyID="MAINT" version="1.0">'
                '<com:Name xml:lang="en">Concepts</com:Name><str:Concept id="COLOUR"><com:Name xml:lang="en">Colour'
                '</com:Name><str:CoreRepresentation><str:Enumeration><Ref agencyID="MAINT" id="CL_P21" version="1.0" '
                'class="Codelist" package="codelist"/></str:Enumeration></str:CoreRepresentation></str:Concept>'
                "</str:ConceptScheme></str:Concepts>")
    response = post(server, body, XML21)
    assert response.status_code == 201
    assert sorted(results(response)) == [
        (codelist_urn("CL_P21", "1.0"), "Append", "Success", 201),
        (f"{_URN}conceptscheme.ConceptScheme=MAINT:CS_P21(1.0)", "Append", "Success", 201),
    ]
    assert codes_of(server, "CL_P21", "1.0") == [("R", "Red"), ("G", "Green")]
    assert server.get("/structure/conceptscheme/MAINT/CS_P21/1.0").status_code == 200


def test_post_sdmx_ml_30_under_its_type(server):
    body = ml30("<str:Codelists>" + codelist_30("CL_P30", {"S": "Small", "L": "Large"}, "1.0.0")
                + codelist_30("CL_P30D", {"X": "Draft"}, "1.1.0-draft") + "</str:Codelists>")
    response = post(server, body, XML30, "/structure/codelist")
    assert response.status_code == 201
    assert sorted(results(response)) == [
        (codelist_urn("CL_P30", "1.0.0"), "Append", "Success", 201),
        (codelist_urn("CL_P30D", "1.1.0-draft"), "Append", "Success", 201),
    ]
    assert codes_of(server, "CL_P30", "1.0.0") == [("S", "Small"), ("L", "Large")]
    assert codes_of(server, "CL_P30D", "1.1.0-draft") == [("X", "Draft")]


def test_post_sdmx_json(server):
    flow = {"id": "DF_PJ", "agencyID": "MAINT", "version": "1.0", "name": "A flow", "names": {"en": "A flow"},
            "structure": f"{_URN}datastructure.DataStructure=TEST:DSD_TEST(1.0)"}
    body = json_message(codelists=[codelist_json("CL_PJ", {"A": "Alpha"}, "1.0")], dataflows=[flow])
    response = post(server, body, JSON20)
    assert response.status_code == 201
    assert sorted(results(response)) == [
        (codelist_urn("CL_PJ", "1.0"), "Append", "Success", 201),
        (f"{_URN}datastructure.Dataflow=MAINT:DF_PJ(1.0)", "Append", "Success", 201),
    ]
    answer = server.get("/structure/dataflow/MAINT/DF_PJ/1.0?references=children")
    assert answer.status_code == 200
    assert b'id="DSD_TEST"' in answer.content and b'id="DF_PJ"' in answer.content


def test_post_of_another_type_than_the_path_says_is_422(server):
    body = json_message(codelists=[codelist_json("CL_WRONG_TYPE", {"A": "Alpha"}, "1.0")])
    response = post(server, body, JSON20, "/structure/conceptscheme")
    assert response.status_code == 422
    assert codes_of(server, "CL_WRONG_TYPE", "1.0") is None


def test_partial_success_is_207(server):
    post(server, json_message(codelists=[codelist_json("CL_FINAL207", {"A": "Alpha"}, "1.0.0")]), JSON20)
    body = json_message(codelists=[codelist_json("CL_NEW207", {"N": "New"}, "1.0"),
                                   codelist_json("CL_FINAL207", {"A": "Changed"}, "1.0.0")])
    response = post(server, body, JSON20)
    assert response.status_code == 207
    assert sorted(results(response)) == [
        (codelist_urn("CL_FINAL207", "1.0.0"), "Append", "Failure", 409),
        (codelist_urn("CL_NEW207", "1.0"), "Append", "Success", 201),
    ]
    assert codes_of(server, "CL_NEW207", "1.0") == [("N", "New")]
    assert codes_of(server, "CL_FINAL207", "1.0.0") == [("A", "Alpha")]


def test_a_final_artefact_cannot_change_409_but_the_same_is_accepted(server):
    post(server, ml30("<str:Codelists>" + codelist_30("CL_F409", {"A": "Alpha"}, "1.0.0") + "</str:Codelists>"), XML30)
    changed = json_message(codelists=[codelist_json("CL_F409", {"A": "Alpha", "B": "Beta"}, "1.0.0")])
    response = post(server, changed, JSON20)
    assert response.status_code == 409
    assert results(response) == [(codelist_urn("CL_F409", "1.0.0"), "Append", "Failure", 409)]
    # The same meaning in another format is no change.
    same = json_message(codelists=[codelist_json("CL_F409", {"A": "Alpha"}, "1.0.0")])
    response = post(server, same, JSON20)
    assert response.status_code == 200
    assert results(response) == [(codelist_urn("CL_F409", "1.0.0"), "Information", "Success", 200)]
    assert codes_of(server, "CL_F409", "1.0.0") == [("A", "Alpha")]


def test_a_missing_reference_is_409(server):
    flow = {"id": "DF_MISSING", "agencyID": "MAINT", "version": "1.0", "name": "A flow", "names": {"en": "A flow"},
            "structure": f"{_URN}datastructure.DataStructure=MAINT:NO_SUCH_DSD(1.0)"}
    response = post(server, json_message(dataflows=[flow]), JSON20)
    assert response.status_code == 409
    assert results(response) == [(f"{_URN}datastructure.Dataflow=MAINT:DF_MISSING(1.0)", "Append", "Failure", 409)]
    assert b"NO_SUCH_DSD" in response.content
    assert server.get("/structure/dataflow/MAINT/DF_MISSING/1.0").status_code == 404


# -- PUT ----------------------------------------------------------------------------------------


def test_put_replaces_an_artefact_that_is_not_final(server):
    post(server, ml21("<str:Codelists>" + codelist_21("CL_PUT", {"R": "Red", "G": "Green"}) + "</str:Codelists>"),
         XML21)
    body = ml21("<str:Codelists>" + codelist_21("CL_PUT", {"G": "Grün", "B": "Blue"}) + "</str:Codelists>")
    response = server.put("/structure/codelist/MAINT/CL_PUT/1.0", content=body, headers={"Content-Type": XML21})
    assert response.status_code == 200
    assert results(response) == [(codelist_urn("CL_PUT", "1.0"), "Replace", "Success", 200)]
    assert codes_of(server, "CL_PUT", "1.0") == [("G", "Grün"), ("B", "Blue")]


def test_put_on_a_path_the_body_does_not_match_is_422(server):
    post(server, ml21("<str:Codelists>" + codelist_21("CL_PUT422", {"R": "Red"}) + "</str:Codelists>"), XML21)
    body = ml21("<str:Codelists>" + codelist_21("CL_PUT422", {"X": "Changed"}) + "</str:Codelists>")
    for path in ("/structure/codelist/MAINT/CL_OTHER/1.0", "/structure/codelist/MAINT/CL_PUT422/2.0",
                 "/structure/conceptscheme/MAINT/CL_PUT422/1.0"):
        response = server.put(path, content=body, headers={"Content-Type": XML21})
        assert response.status_code == 422, path
    assert codes_of(server, "CL_PUT422", "1.0") == [("R", "Red")]


def test_put_of_what_does_not_exist_is_404(server):
    body = ml21("<str:Codelists>" + codelist_21("CL_GHOST", {"R": "Red"}) + "</str:Codelists>")
    response = server.put("/structure/codelist/MAINT/CL_GHOST/1.0", content=body, headers={"Content-Type": XML21})
    assert response.status_code == 404
    assert results(response) == [(codelist_urn("CL_GHOST", "1.0"), "Replace", "Failure", 404)]
    assert codes_of(server, "CL_GHOST", "1.0") is None


def test_partial_item_scheme_update(server):
    """isPartial: submitted items replace the stored ones in place, new ones go at the end, the
    others stay; the scheme's names are replaced per language."""
    post(server, ml21("<str:Codelists>" + codelist_21("CL_PART", {"A": "A", "B": "B", "C": "C"}, name="Old")
                      + "</str:Codelists>"), XML21)
    partial = codelist_21("CL_PART", {"B": "Bee", "D": "Dee"}, partial=True, name="New")
    response = post(server, ml21("<str:Codelists>" + partial + "</str:Codelists>"), XML21)
    assert response.status_code == 200
    assert results(response) == [(codelist_urn("CL_PART", "1.0"), "Replace", "Success", 200)]
    assert codes_of(server, "CL_PART", "1.0") == [("A", "A"), ("B", "Bee"), ("C", "C"), ("D", "Dee")]
    doc = etree.fromstring(server.get("/structure/codelist/MAINT/CL_PART/1.0").content)
    codelist = next(doc.iter("{*}Codelist"))
    assert codelist.findtext("{*}Name") == "New"
    assert codelist.get("isPartial") is None  # what is stored is the whole scheme


def test_partial_update_of_nested_items(server):
    """A submitted root category replaces the stored one with all its children (annex III)."""
    def scheme(categories: list, partial: bool = False) -> bytes:
        obj = {"id": "CAT_PART", "agencyID": "MAINT", "version": "1.0", "name": "Themes", "names": {"en": "Themes"},
               "categories": categories}
        if partial:
            obj["isPartial"] = True
        return json_message(categorySchemes=[obj])

    def cat(cat_id: str, *children) -> dict:
        out = {"id": cat_id, "name": cat_id, "names": {"en": cat_id}}
        if children:
            out["categories"] = list(children)
        return out

    assert post(server, scheme([cat("A", cat("A1"), cat("A2")), cat("B")]), JSON20).status_code == 201
    assert post(server, scheme([cat("A", cat("A3"))], partial=True), JSON20).status_code == 200
    doc = etree.fromstring(server.get("/structure/categoryscheme/MAINT/CAT_PART/1.0").content)
    root = next(doc.iter("{*}CategoryScheme"))
    tree = {c.get("id"): [g.get("id") for g in c.findall("{*}Category")] for c in root.findall("{*}Category")}
    assert tree == {"A": ["A3"], "B": []}


# -- DELETE -------------------------------------------------------------------------------------


def test_delete(server):
    body = ml21("<str:Codelists>" + codelist_21("CL_DEL", {"R": "Red", "G": "Green", "B": "Blue"})
                + codelist_21("CL_DEL_FREE", {"X": "X"}) + "</str:Codelists>"
                '<str:Concepts><str:ConceptScheme id="CS_DEL" agencyID="MAINT" version="1.0">'
                '<com:Name xml:lang="en">Concepts</com:Name><str:Concept id="COLOUR"><com:Name xml:lang="en">Colour'
                '</com:Name><str:CoreRepresentation><str:Enumeration><Ref agencyID="MAINT" id="CL_DEL" version="1.0" '
                'class="Codelist" package="codelist"/></str:Enumeration></str:CoreRepresentation></str:Concept>'
                "</str:ConceptScheme></str:Concepts>")
    assert post(server, body, XML21).status_code == 201

    # referenced by CS_DEL: 409
    response = server.delete("/structure/codelist/MAINT/CL_DEL/1.0")
    assert response.status_code == 409
    assert results(response) == [(codelist_urn("CL_DEL", "1.0"), "Delete", "Failure", 409)]
    assert b"CS_DEL" in response.content

    # one item: 200, the others stay in order
    response = server.delete("/structure/codelist/MAINT/CL_DEL/1.0/G")
    assert response.status_code == 200
    assert results(response) == [(codelist_urn("CL_DEL", "1.0"), "Delete", "Success", 200)]
    assert codes_of(server, "CL_DEL", "1.0") == [("R", "Red"), ("B", "Blue")]
    assert server.delete("/structure/codelist/MAINT/CL_DEL/1.0/NO_SUCH_CODE").status_code == 404

    # unreferenced: 200, then gone (404 on GET and on a second DELETE)
    response = server.delete("/structure/codelist/MAINT/CL_DEL_FREE/1.0")
    assert response.status_code == 200
    assert results(response) == [(codelist_urn("CL_DEL_FREE", "1.0"), "Delete", "Success", 200)]
    assert codes_of(server, "CL_DEL_FREE", "1.0") is None
    assert server.delete("/structure/codelist/MAINT/CL_DEL_FREE/1.0").status_code == 404

    # once its user is gone, the codelist can go too
    assert server.delete("/structure/conceptscheme/MAINT/CS_DEL/1.0").status_code == 200
    assert server.delete("/structure/codelist/MAINT/CL_DEL/1.0").status_code == 200
    assert codes_of(server, "CL_DEL", "1.0") is None


def test_a_final_artefact_is_not_deleted(server):
    post(server, ml30("<str:Codelists>" + codelist_30("CL_KEEP", {"A": "A"}, "2.0.0") + "</str:Codelists>"), XML30)
    response = server.delete("/structure/codelist/MAINT/CL_KEEP/2.0.0")
    assert response.status_code == 409
    assert codes_of(server, "CL_KEEP", "2.0.0") == [("A", "A")]


def test_delete_of_a_nested_item_takes_its_children(server):
    categories = [{"id": "A", "name": "A", "names": {"en": "A"}, "categories": [
        {"id": "A1", "name": "A1", "names": {"en": "A1"}, "categories": [{"id": "A11", "name": "A11", "names": {"en": "A11"}}]},
        {"id": "A2", "name": "A2", "names": {"en": "A2"}}]}]
    obj = {"id": "CAT_DEL", "agencyID": "MAINT", "version": "1.0", "name": "T", "names": {"en": "T"},
           "categories": categories}
    assert post(server, json_message(categorySchemes=[obj]), JSON20).status_code == 201
    assert server.delete("/structure/categoryscheme/MAINT/CAT_DEL/1.0/A.A1").status_code == 200
    doc = etree.fromstring(server.get("/structure/categoryscheme/MAINT/CAT_DEL/1.0").content)
    assert [c.get("id") for c in doc.iter("{*}Category")] == ["A", "A2"]


# -- who may write -------------------------------------------------------------------------------


def test_anonymous_writes_are_refused_from_anywhere(server):
    """Writes need a principal granted `maintain` (access/gate.py): the anonymous is a 401,
    from this machine too (loopback is no longer special); reads stay open."""
    import asyncio

    from sdmx_server.api.app import create_app

    app = create_app(server.settings)
    body = ml21("<str:Codelists>" + codelist_21("CL_REMOTE", {"R": "Red"}) + "</str:Codelists>")
    headers = {"Content-Type": XML21}

    async def anonymous(client: tuple[str, int]) -> list[int]:
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://sdmx.example/rest/v2") as remote:
            return [
                (await remote.post("/structure", content=body, headers=headers)).status_code,
                (await remote.put("/structure/codelist/MAINT/CL_REMOTE/1.0", content=body, headers=headers)).status_code,
                (await remote.delete("/structure/codelist/TEST/CL_FREQ/1.0")).status_code,
                (await remote.get("/structure/codelist/TEST/CL_FREQ/1.0")).status_code,
            ]

    try:
        assert asyncio.run(anonymous(("10.0.0.1", 1234))) == [401, 401, 401, 200]
        assert asyncio.run(anonymous(("127.0.0.1", 1234))) == [401, 401, 401, 200]
    finally:
        app.state.server.close()
    assert codes_of(server, "CL_REMOTE", "1.0") is None
    assert server.get("/structure/codelist/TEST/CL_FREQ/1.0").status_code == 200


def test_query_parameters_are_refused_before_anything_is_written(server):
    """`?dryRun=true` is no maintenance parameter: ignored, it would write what the client meant to test."""
    body = json_message(codelists=[codelist_json("CL_DRY", {"A": "Alpha"}, "1.0")])
    response = post(server, body, JSON20, "/structure?dryRun=true")
    assert response.status_code == 400
    assert "unknown parameter(s) dryRun" in response.text
    assert server.get("/structure/codelist/MAINT/CL_DRY/1.0").status_code == 404
    put = server.put("/structure/codelist/MAINT/CL_DRY/1.0?force=1", content=body, headers={"Content-Type": JSON20})
    assert put.status_code == 400 and "force" in put.text
    assert server.delete("/structure/codelist/MAINT/CL_DRY/1.0?dryRun=true").status_code == 400
