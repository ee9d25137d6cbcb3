"""REST v2 schema queries, and what a dataflow's allowed constraints leave of its codelists.

A test registry holds the test content and an allowed constraint on DF_A (only monthly data,
only Tehran and Isfahan). The schema "for communication" of DF_A must hold the DSD, CL_AREA
cut to those two codes and their parent, the concepts the DSD uses, and the constraint; the
schema of DF_B (no constraint) the whole codelists.
"""

from __future__ import annotations

import httpx
import pytest
from lxml import etree

from sdmx_server.boot import create_schema
from sdmx_server.registry.constraints import allowed_codes
from sdmx_server.registry.index import Registry
from sdmx_server.registry.load import load_structures
from sdmx_server.registry.store import read_all
from sdmx_server.settings import Settings
from sdmx_server.store.database import Database
from tests.conftest import fresh_database, running_server
from tests.datasets import CONTENT
from tests.xsd import assert_valid

CONSTRAINT = """<?xml version="1.0" encoding="UTF-8"?>
<mes:Structure xmlns:mes="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
  xmlns:str="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure"
  xmlns:com="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common">
 <mes:Header><mes:ID>C</mes:ID><mes:Test>false</mes:Test><mes:Prepared>2026-01-01T00:00:00</mes:Prepared>
  <mes:Sender id="TEST"/></mes:Header>
 <mes:Structures><str:Constraints>
  <str:ContentConstraint id="CR_A" agencyID="TEST" version="1.0" type="Allowed">
   <com:Name xml:lang="en">Allowed content of DF_A</com:Name>
   <str:ConstraintAttachment><str:Dataflow><Ref agencyID="TEST" id="DF_A" version="1.0"/></str:Dataflow>
   </str:ConstraintAttachment>
   <str:CubeRegion include="true">
    <com:KeyValue id="FREQ"><com:Value>M</com:Value></com:KeyValue>
    <com:KeyValue id="AREA"><com:Value>IR-23</com:Value><com:Value>IR-10</com:Value></com:KeyValue>
   </str:CubeRegion>
  </str:ContentConstraint>
 </str:Constraints></mes:Structures></mes:Structure>
"""
NS = {"str": "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/structure"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("schema-v2")
    with fresh_database("sqlite", directory) as url:
        settings = Settings(database_url=url, data_dir=directory)
        db = Database(url)
        create_schema(db)
        (directory / "constraint.xml").write_text(CONSTRAINT, encoding="utf-8")
        outcome = load_structures(db, [CONTENT / "codelists", CONTENT / "dsd", directory / "constraint.xml"], settings)
        assert outcome.ok, outcome.errors
        registry = Registry.build(*read_all(db))
        db.dispose()
        with running_server(settings) as running:
            running.registry = registry
            yield running


def test_allowed_codes_of_a_dataflow(server):
    registry = server.registry
    df_a = registry.entry("dataflow", "TEST", "DF_A", "1.0")
    df_b = registry.entry("dataflow", "TEST", "DF_B", "1.0")
    assert allowed_codes(registry, df_a) == {"FREQ": {"M"}, "AREA": {"IR-23", "IR-10"}}
    assert allowed_codes(registry, df_b) == {}


def _codes(doc, codelist: str) -> list[str]:
    (cl,) = doc.findall(f".//str:Codelist[@id='{codelist}']", NS)
    return [c.get("id") for c in cl.findall("str:Code", NS)]


def test_schema_for_communication_holds_only_what_the_constraints_allow(server):
    answer = httpx.get(server.url + "/rest/v2/schema/dataflow/TEST/DF_A/1.0", timeout=60,
                       headers={"Accept": "application/vnd.sdmx.structure+xml;version=3.0.0"})
    assert answer.status_code == 200, answer.text
    doc = assert_valid(answer.content)
    assert sorted(_codes(doc, "CL_AREA")) == ["IR", "IR-10", "IR-23"]  # IR: the parent of both
    assert _codes(doc, "CL_FREQ") == ["M"]
    (cl,) = doc.findall(".//str:Codelist[@id='CL_AREA']", NS)
    assert cl.get("isPartial") == "true"
    assert len(doc.findall(".//str:DataStructure", NS)) == 1
    assert [c.get("id") for c in doc.findall(".//str:DataConstraint", NS)] == ["CR_A"]
    used = {c.get("id") for c in doc.findall(".//str:ConceptScheme/str:Concept", NS)}
    assert used == {"FREQ", "AREA", "SEX", "TIME_PERIOD", "OBS_VALUE", "OBS_STATUS", "UNIT_MULT", "TITLE", "COMMENT"}

    whole = assert_valid(httpx.get(server.url + "/rest/v2/schema/dataflow/TEST/DF_B/1.0", timeout=60).content)
    assert sorted(_codes(whole, "CL_AREA")) == ["IR", "IR-03", "IR-10", "IR-23"]
    assert not whole.findall(".//str:DataConstraint", NS)


def test_schema_as_xsd_and_errors(server):
    xsd = httpx.get(server.url + "/rest/v2/schema/dataflow/TEST/DF_A/1.0?dimensionAtObservation=AllDimensions",
                    headers={"Accept": "application/vnd.sdmx.schema+xml;version=2.1"}, timeout=60)
    assert xsd.status_code == 200
    assert etree.QName(etree.fromstring(xsd.content)).localname == "schema"
    for path, status in (("dataflow/TEST/NOPE/1.0", 404), ("dataflow/TEST/DF_A/*", 400),
                         ("metadataflow/TEST/MF/1.0", 501), ("dataflow/*/DF_A/1.0", 400)):
        r = httpx.get(server.url + "/rest/v2/schema/" + path, timeout=60)
        assert r.status_code == status, (path, r.text)


def test_referencepartial_cuts_codelists_to_the_dataflows_constraints(server):
    answer = httpx.get(server.url + "/rest/v2/structure/dataflow/TEST/DF_A/1.0",
                       params={"references": "descendants", "detail": "referencepartial"},
                       headers={"Accept": "application/vnd.sdmx.structure+xml;version=3.0.0"}, timeout=60)
    assert answer.status_code == 200, answer.text
    doc = assert_valid(answer.content)
    assert sorted(_codes(doc, "CL_AREA")) == ["IR", "IR-10", "IR-23"]
    assert _codes(doc, "CL_SEX") == ["F", "M", "_T"]  # not constrained: whole
    # The same query for a dataflow without constraints: every code.
    other = httpx.get(server.url + "/rest/v2/structure/dataflow/TEST/DF_B/1.0",
                      params={"references": "descendants", "detail": "referencepartial"}, timeout=60)
    assert sorted(_codes(assert_valid(other.content), "CL_AREA")) == ["IR", "IR-03", "IR-10", "IR-23"]


def test_schema_for_communication_in_sdmx_json_as_pysdmx_asks(server):
    """pysdmx's RegistryClient.get_schema asks for SDMX-JSON 2.0.0 and reads data.conceptSchemes."""
    from tests.jsonschemas import assert_valid as assert_valid_json

    for version in ("2.0.0", "2.1.0", None):
        # httpx sends Accept: */* unless told otherwise; an empty one is "no preference".
        headers = {"Accept": f"application/vnd.sdmx.structure+json;version={version}" if version else ""}
        r = httpx.get(server.url + "/rest/v2/schema/dataflow/TEST/DF_A/1.0", headers=headers, timeout=60)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/vnd.sdmx.structure+json")
        body = r.json()
        assert_valid_json(body, {"2.0.0": "2.0", "2.1.0": "2.1", None: "2.1"}[version], "structure")
        (cl,) = [c for c in body["data"]["codelists"] if c["id"] == "CL_AREA"]
        assert sorted(c["id"] for c in cl["codes"]) == ["IR", "IR-10", "IR-23"] and cl["isPartial"] is True
        assert body["data"]["conceptSchemes"] and body["data"]["dataStructures"]
