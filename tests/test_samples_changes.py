"""Loading real messages over what the registry holds: stubs replaced by the full artefacts,
nothing changed by loading the same again, final artefacts unchanged by meaning, one artefact
given twice in one load.

ECB_EXR/1/structure.xml is the DSD of ECB_EXR/1/structure-full.xml without its codelists and
concepts; ECB_EXR/ng-structure.xml is the DSD of ng-structure-full.xml with external-reference
stubs of what it uses; ESTAT/apro_mk_cola-structure.xml is final throughout; SGR's CL_FREQ has
a French annotation text the SDMX common.xml one lacks.
"""

from __future__ import annotations

import re
import time

import httpx
import pytest
from lxml import etree

from sdmx_server.boot import create_schema
from sdmx_server.cli import main
from sdmx_server.registry.index import Registry
from sdmx_server.registry.load import load_structures
from sdmx_server.registry.store import read_all
from sdmx_server.settings import Settings
from sdmx_server.store.database import Database
from tests.conftest import running_server
from tests.model_compare import differences
from tests.samples_compare import parse_ref, xml_digest
from tests.xsd import assert_valid

FULL, DSD_ONLY = "ECB_EXR/1/structure-full.xml", "ECB_EXR/1/structure.xml"
DSD = ("datastructure", "ECB", "ECB_EXR1", "1.0")


@pytest.fixture
def store(database_url, tmp_path):
    """(db, settings) on a fresh database of the backend the test is parametrized with."""
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    db = Database(database_url)
    create_schema(db)
    yield db, settings
    db.dispose()


def rows(db) -> dict[tuple, tuple]:
    """Every stored artefact: key -> (is_stub, is_final, stored JSON)."""
    return {(s.kind, s.agency, s.id, s.version): (s.is_stub, s.is_final, s.body) for s in read_all(db)[0]}


def children_of_dsd(server) -> dict[tuple, dict]:
    response = httpx.get(server.rest("datastructure/ECB/ECB_EXR1/1.0"), params={"references": "children"}, timeout=60)
    assert response.status_code == 200, response.text[:300]
    assert_valid(response.content)
    return xml_digest(response.content)


def test_stubs_are_replaced_by_the_full_artefacts(samples_dir, store):
    """The DSD alone loads beside stubs of its twelve codelists and concept scheme, served as
    stubs with their URN; the full file then replaces every stub, the DSD links the full
    codelists, and the running server serves them without a restart."""
    db, settings = store
    alone = load_structures(db, [samples_dir / DSD_ONLY], settings, allow_missing_references=True)
    assert alone.ok and alone.loaded == ["datastructure ECB:ECB_EXR1(1.0)"], alone.errors
    stubs = {parse_ref(r) for r in alone.stubs}
    assert len(stubs) == 12 and {k[0] for k in stubs} == {"codelist", "conceptscheme"}
    assert {k for k, (stub, _, _) in rows(db).items() if stub} == stubs
    full = xml_digest((samples_dir / FULL).read_bytes())

    with running_server(settings) as server:
        served = children_of_dsd(server)
        assert set(served) == stubs | {DSD}
        assert all(served[k]["external"] for k in stubs)
        body = httpx.get(server.rest("codelist/ECB/CL_FREQ/1.0"), timeout=60).content
        element = etree.fromstring(body).find(".//{*}Codelist")
        assert element.get("isExternalReference") == "true"
        assert element.get("urn") == "urn:sdmx:org.sdmx.infomodel.codelist.Codelist=ECB:CL_FREQ(1.0)"
        assert element.find("{*}Code") is None

        outcome = load_structures(db, [samples_dir / FULL], settings, allow_missing_references=True)
        assert outcome.ok, outcome.errors
        assert stubs <= {parse_ref(r) for r in outcome.loaded}
        # (the full file's DSD says more: text formats of its enumerated attributes)
        assert "datastructure ECB:ECB_EXR1(1.0)" in outcome.loaded
        assert outcome.stubs == ["categoryscheme ECB:MOBILE_NAVI(1.0)"]  # the categorisation's
        assert not any(rows(db)[k][0] for k in stubs)

        # The same server sees the change by itself (it looks at most once a second).
        deadline = time.monotonic() + 5
        while any(served[k]["external"] for k in stubs) and time.monotonic() < deadline:
            time.sleep(0.2)
            served = children_of_dsd(server)
        assert set(served) == stubs | {DSD}
        for key in stubs:
            assert not differences(full[key], served[key]), key

    registry = Registry.build(*read_all(db))
    dsd = registry.model(registry.entry(*DSD))
    freq = dsd.dimensions.get("FREQ").local_representation.enumerated
    assert not freq.is_external_reference and "M" in freq.items


def test_a_stub_never_replaces_what_the_registry_holds_in_full(samples_dir, store):
    """ng-structure.xml's stubs name what ng-structure-full.xml defines: loaded after it, or with
    it in either order, they leave the full artefacts as they are; and a DSD whose codelists
    are held makes no stubs even when stubs are allowed."""
    db, settings = store
    full, stubs = samples_dir / "ECB_EXR/ng-structure-full.xml", samples_dir / "ECB_EXR/ng-structure.xml"
    assert load_structures(db, [full], settings).ok
    before = rows(db)
    outcome = load_structures(db, [stubs], settings)
    assert outcome.ok and outcome.loaded == [], outcome.errors
    assert len(outcome.unchanged) == 11
    assert rows(db) == before
    for order in ([stubs, full], [full, stubs]):
        outcome = load_structures(db, order, settings)
        assert outcome.ok and outcome.loaded == [], outcome.errors
        assert rows(db) == before

    assert load_structures(db, [samples_dir / FULL], settings, allow_missing_references=True).ok
    again = load_structures(db, [samples_dir / DSD_ONLY], settings, allow_missing_references=True)
    assert again.ok and again.stubs == [], again  # (its DSD, which says less, replaces the full file's)
    assert [k for k, (stub, _, _) in rows(db).items() if stub] == [("categoryscheme", "ECB", "MOBILE_NAVI", "1.0")]


@pytest.mark.parametrize("name", [
    "ESTAT/apro_mk_cola-structure.xml",  # final (isFinal="true")
    "ECB_EXR/common.xml",  # not final
    "ECB_EXR/ng-structure-full.xml",  # partial codelists and concept schemes
    "v3/xml/VTL_Sample_1.xml",  # SDMX-ML 3.0
    "v3/json/structure/constructed-sample.json",  # SDMX-JSON 2.0
])
def test_loading_the_same_again_is_unchanged(samples_dir, tmp_path, name):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    settings = Settings(database_url=url, data_dir=tmp_path)
    db = Database(url)
    create_schema(db)
    first = load_structures(db, [samples_dir / name], settings)
    assert first.ok and first.loaded, first.errors
    before, generation = rows(db), read_all(db)[1]
    again = load_structures(db, [samples_dir / name], settings)
    assert again.ok, again.errors
    assert again.loaded == [] and again.unchanged == first.loaded
    assert rows(db) == before and read_all(db)[1] == generation
    db.dispose()


def _in_other_clothes(text: str) -> str:
    """The same message as another tool writes it: other namespace prefixes, an unused
    namespace declaration, no indentation."""
    text = re.sub(r"\bstr:", "s:", text).replace("xmlns:str=", "xmlns:s=")
    text = re.sub(r"\bcom:", "c:", text).replace("xmlns:com=", "xmlns:c=")
    text = text.replace("<mes:Structure ", '<mes:Structure xmlns:x="urn:example:unused" ', 1)
    return re.sub(r">\s+<", "><", text)


@pytest.mark.parametrize("name, final, name_of_a_code", [
    # final by isFinal="true"
    ("ESTAT/apro_mk_cola-structure.xml", "codelist ESTAT:CL_FREQ(1.0)", '<com:Name xml:lang="en">Annual</com:Name>'),
    # SDMX-ML 3.0, final by its (stable, semantic) version
    ("v3/xml/codelist.xml", "codelist SDMX:CL_AGE(1.0.0)", '<com:Name xml:lang="en">Year(s)</com:Name>'),
])
def test_a_final_artefact_never_changes_and_is_the_same_in_other_bytes(samples_dir, tmp_path, name, final,
                                                                       name_of_a_code):
    text = (samples_dir / name).read_text(encoding="utf-8")
    if name.startswith("v3/"):
        text = text.replace('version="1.0"', 'version="1.0.0"').replace("CL_AGE(1.0)", "CL_AGE(1.0.0)")
    original = tmp_path / "original.xml"
    original.write_text(text, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    settings = Settings(database_url=url, data_dir=tmp_path)
    db = Database(url)
    create_schema(db)
    first = load_structures(db, [original], settings)
    assert first.ok and final in first.loaded, first.errors
    before = rows(db)
    assert before[parse_ref(final)][1], "not stored as final"

    other = tmp_path / "other.xml"
    other.write_text(_in_other_clothes(text), encoding="utf-8")
    outcome = load_structures(db, [other], settings)
    assert outcome.ok and outcome.loaded == [] and outcome.unchanged == first.loaded, outcome

    with running_server(settings) as server:  # the server's own serialisation, in 2.1 and 3.0
        kind, agency, artefact_id, version = parse_ref(final)
        for path, accept in ((f"codelist/{agency}/{artefact_id}/{version}", None),
                             (f"v2/structure/codelist/{agency}/{artefact_id}/{version}",
                              "application/vnd.sdmx.structure+xml; version=3.0.0")):
            answer = httpx.get(server.rest(path), headers={"Accept": accept} if accept else {}, timeout=60)
            served = tmp_path / "served.xml"
            served.write_bytes(answer.content)
            outcome = load_structures(db, [served], settings)
            assert outcome.ok and outcome.loaded == [] and outcome.unchanged == [final], (path, outcome)

    assert text.count(name_of_a_code) == 1
    changed = tmp_path / "changed.xml"
    changed.write_text(text.replace(name_of_a_code, name_of_a_code.replace('">', '">Changed ')), encoding="utf-8")
    outcome = load_structures(db, [changed], settings)
    assert outcome.errors == [f"{final}: is final and cannot change; publish the change under a new version"]
    assert rows(db) == before
    db.dispose()


def test_one_artefact_in_two_files_of_one_load(samples_dir, store):
    """The ECB_EXR full structure files share SDMX's codelists and concepts: one artefact each.
    SGR's CL_FREQ says more than common.xml's: refused, and nothing of the load is saved."""
    db, settings = store
    same = [samples_dir / f"ECB_EXR/{g}-structure-full.xml" for g in ("ng", "sg", "rg")]
    outcome = load_structures(db, same, settings)
    assert outcome.ok, outcome.errors
    assert {"datastructure ECB:ECB_EXR_NG(1.0)", "datastructure ECB:ECB_EXR_SG(1.0)",
            "datastructure ECB:ECB_EXR_CG(1.0)", "codelist SDMX:CL_FREQ(1.0)"} <= set(outcome.loaded)
    before = rows(db)
    different = [samples_dir / "v21/xml/common/common.xml", samples_dir / "SGR/common-structure.xml"]
    outcome = load_structures(db, different, settings)
    assert len(outcome.errors) == 1
    assert outcome.errors[0].startswith("codelist SDMX:CL_FREQ(1.0): given twice, with different content")
    assert all(str(path) in outcome.errors[0] for path in different)  # where, in both files
    assert outcome.loaded == [] and rows(db) == before


def test_the_command_line_records_stubs_and_names_what_is_missing(samples_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SDMX_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("SDMX_DATA_DIR", str(tmp_path / "var"))
    assert main(["load-structures", str(samples_dir / DSD_ONLY)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("datastructure ECB:ECB_EXR1(1.0): refers to ")
    assert "; refers to codelist ECB:CL_FREQ(1.0), which is not loaded;" in out
    assert out.count("which is not loaded") == 12
    assert main(["load-structures", "--allow-missing-references", str(samples_dir / DSD_ONLY)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "loaded datastructure ECB:ECB_EXR1(1.0)" in out
    assert "recorded codelist ECB:CL_FREQ(1.0) as an external-reference stub" in out
    assert len([line for line in out if line.startswith("recorded ")]) == 12
