"""The registry's storage and index: stored forms, finality, stubs, history, incremental refresh,
deletion rules and the migration of stores that held SDMX-ML fragments."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from sdmx_server.api.state import ServerState
from sdmx_server.boot import create_schema
from sdmx_server.registry.change import delete_artefact
from sdmx_server.registry.index import Registry
from sdmx_server.registry.load import load_structures
from sdmx_server.registry.store import read_all, read_as_of
from sdmx_server.settings import Settings
from sdmx_server.store.database import Database
from tests.datasets import CONTENT

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

MES = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
HEADER = (
    '<mes:Header><mes:ID>T</mes:ID><mes:Test>false</mes:Test><mes:Prepared>2026-01-01T00:00:00</mes:Prepared>'
    '<mes:Sender id="T"/></mes:Header>'
)


def message(structures: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><mes:Structure xmlns:mes="{MES}" '
        'xmlns:str="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure" '
        'xmlns:com="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common">'
        f"{HEADER}<mes:Structures>{structures}</mes:Structures></mes:Structure>"
    )


def codelist(cl_id: str, codes: list[str], version: str = "1.0", final: bool = False, agency: str = "T") -> str:
    items = "".join(f'<str:Code id="{c}"><com:Name xml:lang="en">{c}</com:Name></str:Code>' for c in codes)
    return (
        f'<str:Codelists><str:Codelist id="{cl_id}" agencyID="{agency}" version="{version}" '
        f'isFinal="{"true" if final else "false"}"><com:Name xml:lang="en">{cl_id}</com:Name>{items}'
        "</str:Codelist></str:Codelists>"
    )


def concept_scheme(codelist_ref: tuple[str, str, str] | None = None) -> str:
    rep = ""
    if codelist_ref:
        agency, cl_id, version = codelist_ref
        rep = (f'<str:CoreRepresentation><str:Enumeration><Ref agencyID="{agency}" id="{cl_id}" version="{version}" '
               'package="codelist" class="Codelist"/></str:Enumeration></str:CoreRepresentation>')
    return (
        '<str:Concepts><str:ConceptScheme id="CS" agencyID="T" version="1.0"><com:Name xml:lang="en">CS</com:Name>'
        f'<str:Concept id="C1"><com:Name xml:lang="en">C1</com:Name>{rep}</str:Concept>'
        "</str:ConceptScheme></str:Concepts>"
    )


def _load(db, tmp_path: Path, name: str, xml: str, **options):
    path = tmp_path / name
    path.write_text(xml, encoding="utf-8")
    return load_structures(db, [path], Settings(database_url=str(db.url)), **options)


def _registry(db) -> Registry:
    return Registry.build(*read_all(db))


def test_authored_content_is_stored_and_builds_back(db):
    outcome = load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"])
    assert outcome.ok, outcome.errors
    registry = _registry(db)
    flow = registry.get("dataflow", "TEST", "DF_A", "1.0")
    assert flow is not None and flow.structure.id == "DSD_TEST"
    # The DSD's codelists are the registry's own objects, with their codes.
    area = registry.get("codelist", "TEST", "CL_AREA", "1.0")
    dim = flow.structure.dimensions.get("AREA")
    assert dim.local_representation.enumerated is area or dim.concept_identity.core_representation.enumerated is area
    # Loading the same again changes nothing and says so.
    again = load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"])
    assert again.ok and not again.loaded and again.unchanged


def test_a_final_artefact_is_immutable_by_meaning_not_bytes(db, tmp_path):
    assert _load(db, tmp_path, "a.xml", message(codelist("CL_X", ["A", "B"], final=True))).ok
    # Same meaning, other bytes (attribute order, whitespace): unchanged.
    same = message(codelist("CL_X", ["A", "B"], final=True)).replace('agencyID="T" version="1.0"', 'version="1.0" agencyID="T"')
    result = _load(db, tmp_path, "b.xml", same.replace("><", ">\n  <"))
    assert result.ok, result.errors
    assert result.unchanged == ["codelist T:CL_X(1.0)"]
    changed = _load(db, tmp_path, "c.xml", message(codelist("CL_X", ["A", "B", "C"], final=True)))
    assert not changed.ok
    assert any("final and cannot change" in e for e in changed.errors)
    assert sorted(_registry(db).get("codelist", "T", "CL_X", "1.0").items) == ["A", "B"]
    # A non-final artefact may change.
    assert _load(db, tmp_path, "d.xml", message(codelist("CL_Y", ["A"]))).ok
    assert _load(db, tmp_path, "e.xml", message(codelist("CL_Y", ["A", "B"]))).ok
    assert sorted(_registry(db).get("codelist", "T", "CL_Y", "1.0").items) == ["A", "B"]


def test_missing_references_are_listed_or_recorded_as_stubs(db, tmp_path):
    xml = message(concept_scheme(("SDMX", "CL_FREQ", "2.0")))
    refused = _load(db, tmp_path, "cs.xml", xml)
    assert not refused.ok
    assert any("refers to codelist SDMX:CL_FREQ(2.0), which is not loaded" in e for e in refused.errors), refused.errors
    assert not read_all(db)[0]

    allowed = _load(db, tmp_path, "cs.xml", xml, allow_missing_references=True)
    assert allowed.ok, allowed.errors
    assert allowed.stubs == ["codelist SDMX:CL_FREQ(2.0)"]
    registry = _registry(db)
    stub = registry.entry("codelist", "SDMX", "CL_FREQ", "2.0")
    assert stub.is_stub and registry.model(stub).is_external_reference

    # The full artefact replaces the stub, and the concept now points at its codes.
    assert _load(db, tmp_path, "freq.xml", message(codelist("CL_FREQ", ["A", "M"], "2.0", agency="SDMX"))).ok
    registry = _registry(db)
    assert not registry.entry("codelist", "SDMX", "CL_FREQ", "2.0").is_stub
    concept = registry.get("conceptscheme", "T", "CS", "1.0").items["C1"]
    assert sorted(concept.core_representation.enumerated.items) == ["A", "M"]
    # A stub given later never erases the full artefact.
    stub_again = message(
        '<str:Codelists><str:Codelist id="CL_FREQ" agencyID="SDMX" version="2.0" isExternalReference="true">'
        '<com:Name xml:lang="en">CL_FREQ</com:Name></str:Codelist></str:Codelists>'
    )
    assert _load(db, tmp_path, "stub.xml", stub_again).ok
    assert not _registry(db).entry("codelist", "SDMX", "CL_FREQ", "2.0").is_stub


def test_each_process_sees_changes_without_rereading_everything(db, tmp_path):
    settings = Settings(database_url=str(db.url), data_dir=tmp_path)
    a, b = ServerState(settings), ServerState(settings)
    try:
        assert _load(db, tmp_path, "cl.xml", message(codelist("CL_Z", ["A"]))).ok
        assert _load(db, tmp_path, "cs.xml", message(concept_scheme(("T", "CL_Z", "1.0")))).ok
        before = b.registry()
        cs_before = before.get("conceptscheme", "T", "CS", "1.0")
        unrelated_before = before.get("codelist", "T", "CL_Z", "1.0")
        assert _load(db, tmp_path, "cl2.xml", message(codelist("CL_Z", ["A", "B"]))).ok
        b.invalidate()
        after = b.registry()
        assert after is not before and after.generation > before.generation
        cs_after = after.get("conceptscheme", "T", "CS", "1.0")
        # The scheme that uses the changed codelist was rebuilt and sees the new code.
        assert cs_after is not cs_before
        assert sorted(cs_after.items["C1"].core_representation.enumerated.items) == ["A", "B"]
        assert sorted(unrelated_before.items) == ["A"]  # the old view stays consistent
        a.invalidate()
        assert a.registry().generation == after.generation
    finally:
        a.close()
        b.close()


def test_deletion_rules(db, tmp_path):
    assert _load(db, tmp_path, "cl.xml", message(codelist("CL_Z", ["A"]))).ok
    assert _load(db, tmp_path, "cs.xml", message(concept_scheme(("T", "CL_Z", "1.0")))).ok
    assert _load(db, tmp_path, "f.xml", message(codelist("CL_F", ["A"], final=True))).ok
    refused = delete_artefact(db, ("codelist", "T", "CL_Z", "1.0"))
    assert refused.results[0].code == 409 and "referenced by conceptscheme T:CS(1.0)" in refused.results[0].message
    assert delete_artefact(db, ("codelist", "T", "CL_F", "1.0")).results[0].code == 409
    assert delete_artefact(db, ("codelist", "T", "NOPE", "1.0")).results[0].code == 404
    assert delete_artefact(db, ("conceptscheme", "T", "CS", "1.0")).results[0].code == 200
    assert delete_artefact(db, ("codelist", "T", "CL_Z", "1.0")).results[0].code == 200
    assert _registry(db).entry("codelist", "T", "CL_Z", "1.0") is None


def test_history_answers_as_of(db, tmp_path):
    assert _load(db, tmp_path, "v1.xml", message(codelist("CL_H", ["A"]))).ok
    between = datetime.now(timezone.utc)
    assert _load(db, tmp_path, "v2.xml", message(codelist("CL_H", ["A", "B"]))).ok
    old = Registry.build(read_as_of(db, between), 0)
    assert sorted(old.get("codelist", "T", "CL_H", "1.0").items) == ["A"]
    assert read_as_of(db, datetime(2000, 1, 1, tzinfo=timezone.utc)) == []


def test_stores_of_sdmx_ml_fragments_are_migrated_on_start(database_url, samples_dir):
    """A store made by the spine (fragments in `xml`, no stored JSON) serves the same artefacts."""
    from lxml import etree

    db = Database(database_url)
    with db.engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE sdmx_artefact (pk INTEGER PRIMARY KEY, kind VARCHAR NOT NULL, agency VARCHAR NOT NULL, "
            "artefact_id VARCHAR NOT NULL, version VARCHAR NOT NULL, is_final BOOLEAN NOT NULL, access VARCHAR NOT NULL, "
            "origin VARCHAR NOT NULL, xml BYTEA NOT NULL, updated_at TIMESTAMP NOT NULL)".replace(
                "BYTEA", "BLOB" if db.is_sqlite else "BYTEA")
        ))
        conn.execute(sa.text("CREATE TABLE sdmx_registry_state (id INTEGER PRIMARY KEY, generation INTEGER NOT NULL)"))
        conn.execute(sa.text("INSERT INTO sdmx_registry_state VALUES (1, 1)"))
        root = etree.parse(str(samples_dir / "ECB_EXR" / "1" / "structure-full.xml")).getroot()
        kinds = {"Codelist": "codelist", "ConceptScheme": "conceptscheme", "DataStructure": "datastructure", "Dataflow": "dataflow"}
        pk = 0
        for element in root.iter():
            name = etree.QName(element).localname if isinstance(element.tag, str) else ""
            if name in kinds and element.get("agencyID"):
                pk += 1
                conn.execute(sa.text(
                    "INSERT INTO sdmx_artefact VALUES (:pk, :kind, :agency, :id, :version, :final, 'public', 'old', :xml, :at)"
                ), dict(pk=pk, kind=kinds[name], agency=element.get("agencyID"), id=element.get("id"),
                        version=element.get("version", "1.0"), final=element.get("isFinal") == "true",
                        xml=etree.tostring(element), at=datetime.now(timezone.utc)))
    create_schema(db)
    registry = _registry(db)
    assert len(registry) == pk
    dsd = registry.get("datastructure", "ECB", "ECB_EXR1", "1.0")
    assert [d.id for d in dsd.dimensions.components][:2] == ["FREQ", "CURRENCY"]
    assert "USD" in dsd.dimensions.get("CURRENCY").local_representation.enumerated.items
    create_schema(db)  # a second start changes nothing
    assert len(_registry(db)) == pk
    db.dispose()


def test_data_for_a_structure_with_stub_codelists_is_refused(db, tmp_path, samples_dir):
    """ECB_EXR/1/structure.xml holds the DSD and dataflow without their codelists: loaded with
    stubs for them, its data cannot be checked, and a load says which stubs stand in the way."""
    from sdmx_server.ingest.load import LoadError, load_data

    settings = Settings(database_url=str(db.url), data_dir=tmp_path)
    outcome = load_structures(db, [samples_dir / "ECB_EXR/1/structure.xml"], settings, allow_missing_references=True)
    assert outcome.ok, outcome.errors
    assert "codelist ECB:CL_CURRENCY(1.0)" in outcome.stubs
    dataflow = message(
        '<str:Dataflows><str:Dataflow id="EXR" agencyID="ECB" version="1.0"><com:Name xml:lang="en">EXR</com:Name>'
        '<str:Structure><Ref agencyID="ECB" id="ECB_EXR1" version="1.0" class="DataStructure" package="datastructure"/>'
        "</str:Structure></str:Dataflow></str:Dataflows>"
    )
    assert _load(db, tmp_path, "flow.xml", dataflow).ok
    registry = _registry(db)
    flow = registry.entry("dataflow", "ECB", "EXR", "1.0")
    csv = tmp_path / "data.csv"
    csv.write_text("DATAFLOW,FREQ\nECB:EXR(1.0),M\n", encoding="utf-8")
    with pytest.raises(LoadError) as info:
        load_data(db, registry, flow.artefact_key, csv, "merge", settings)
    assert "Codelist ECB:CL_CURRENCY(1.0)" in str(info.value) and "stubs" in str(info.value)
