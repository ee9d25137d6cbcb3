"""The reference metadata samples in ../shared/samples: each loads, or is refused with its reason.

- v3/json/metadata/constructed-sample(.json): SDMX-JSON 2.0, three metadata sets about a
  category of ESTAT:DATAFLOWS_SCHEME, reported for metadataflow ESTAT:ESMS, which no sample
  defines. Loaded together with v21/xml/demography/esms.xml (which holds the category scheme)
  and --allow-missing-references (a stub for the metadataflow), then served in every format.
- constructed-sample2.json: SDMX-JSON 2.0, but two different sets IMF:STRUCTURE_REPORT(1.0):
  refused (all or nothing).
- constructed-sample2 and generated-sample (no extension): SDMX-JSON 1.0 metadata (SDMX 2.1
  reports): refused.
- generated-sample.json: SDMX-JSON 2.0 filled with generated values; a target names an Agency
  by a URN no artefact kind holds: refused.
- the SDMX-ML 2.1 metadata messages (esms_generic.xml, esms_structured.xml and their ESTAT
  copies): SDMX 2.1 metadata sets (not maintainable, reports against report structures):
  refused, saying so.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from sdmx_server.registry import codec
from tests.conftest import BACKENDS, fresh_database, running_server
from tests.test_metadata_content import ALL_FORMATS, XML_WRITERS, assert_valid_answer, pysdmx_report, read_back, same_sets
from tests.test_metadata_api import MEDIA

LOADED = "v3/json/metadata/constructed-sample.json"
ESMS = "v21/xml/demography/esms.xml"
REFUSED = {
    "v3/json/metadata/constructed-sample2.json": "metadataset IMF:STRUCTURE_REPORT(1.0): given twice, with different content",
    "v3/json/metadata/constructed-sample2": "SDMX-JSON 1.0 metadata sets (SDMX 2.1 reports) are not supported",
    "v3/json/metadata/generated-sample": "SDMX-JSON 1.0 metadata sets (SDMX 2.1 reports) are not supported",
    "v3/json/metadata/generated-sample.json": "no artefact kind holds a Agency",
    "v21/xml/demography/esms_generic.xml": "SDMX-ML 2.1 GenericMetadata is not loaded",
    "v21/xml/demography/esms_structured.xml": "SDMX-ML 2.1 StructureSpecificMetadata is not loaded",
    "ESTAT/esms.xml": "SDMX-ML 2.1 GenericMetadata is not loaded",
    "ESTAT/esms-ss.xml": "SDMX-ML 2.1 StructureSpecificMetadata is not loaded",
}


def _load(directory: Path, paths: list[Path], **options):
    from sdmx_server.boot import create_schema
    from sdmx_server.registry.load import load_structures
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database

    url = f"sqlite:///{directory / 'store.db'}"
    db = Database(url)
    try:
        create_schema(db)
        return load_structures(db, paths, Settings(database_url=url, data_dir=directory), **options)
    finally:
        db.dispose()


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_with_the_reason(samples_dir, tmp_path, name):
    outcome = _load(tmp_path, [samples_dir / name], allow_missing_references=True)
    assert not outcome.ok and not outcome.loaded
    assert any(REFUSED[name] in error for error in outcome.errors), outcome.errors


def test_missing_references_are_named(samples_dir, tmp_path):
    outcome = _load(tmp_path, [samples_dir / LOADED])
    assert not outcome.ok
    text = "\n".join(outcome.errors)
    assert "refers to metadataflow ESTAT:ESMS(1.0), which is not loaded" in text
    assert "refers to categoryscheme ESTAT:DATAFLOWS_SCHEME(1.0), which is not loaded" in text


@pytest.mark.parametrize("name", [LOADED, "v3/json/metadata/constructed-sample"])
def test_loads_beside_its_structures(samples_dir, tmp_path, name):
    outcome = _load(tmp_path, [samples_dir / ESMS, samples_dir / name], allow_missing_references=True)
    assert outcome.ok, outcome.errors
    assert outcome.stubs == ["metadataflow ESTAT:ESMS(1.0)"]  # the category scheme is in esms.xml
    assert [r for r in outcome.loaded if r.startswith("metadataset")] == [
        "metadataset ESTAT:METADATASET1(1.0)", "metadataset ESTAT:META_UPDATE(1.0)", "metadataset ESTAT:STAT_PRES(1.0)"]


@pytest.fixture(scope="module", params=BACKENDS)
def sample_server(request, samples_dir, tmp_path_factory):
    from sdmx_server.boot import create_schema
    from sdmx_server.registry.load import load_structures
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database

    directory = tmp_path_factory.mktemp(f"metadata-samples-{request.param}")
    with fresh_database(request.param, directory) as url:
        settings = Settings(database_url=url, data_dir=directory)
        db = Database(url)
        create_schema(db)
        outcome = load_structures(db, [samples_dir / ESMS, samples_dir / LOADED], settings, allow_missing_references=True)
        assert outcome.ok, outcome.errors
        db.dispose()
        with running_server(settings) as server:
            yield server


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_served_in_every_format(sample_server, samples_dir, fmt):
    expected = [obj for _, obj in codec.read_structure_message((samples_dir / LOADED).read_bytes())]
    for path in ("metadata/metadataset/ESTAT", "metadata/structure/categoryscheme/ESTAT/DATAFLOWS_SCHEME",
                 "metadata/metadataflow/ESTAT/ESMS/1.0", "metadata/structure/dataflow/*/*?detail=full"):
        response = httpx.get(f"{sample_server.url}/rest/v2/{path}", headers={"accept": MEDIA[fmt]}, timeout=30)
        if path.startswith("metadata/structure/dataflow"):  # no set is about a dataflow
            assert response.status_code == 404
            continue
        assert response.status_code == 200, response.text[:400]
        assert_valid_answer(fmt, response.content)
        same_sets(read_back(response.content), expected, xml=fmt in XML_WRITERS)


def test_pysdmx_reads_the_answer_as_it_reads_the_sample(sample_server, samples_dir, tmp_path):
    from pysdmx.io import read_sdmx

    response = httpx.get(f"{sample_server.url}/rest/v2/metadata/metadataset/ESTAT",
                         headers={"accept": MEDIA["2.0.0"]}, timeout=30)
    (tmp_path / "answer.json").write_bytes(response.content)
    served = read_sdmx(tmp_path / "answer.json", validate=False).reports
    original = read_sdmx(samples_dir / LOADED, validate=False).reports
    assert [pysdmx_report(r) for r in served] == [pysdmx_report(r) for r in original]
    assert json.loads(response.content)["data"]["metadataSets"][2]["attributes"][0]["value"]["en"].startswith(
        '<div xmlns="http://www.w3.org/1999/xhtml"><p>The tables presented here')
