"""Real data messages of the shared samples load, and what is served equals what sdmx1 reads.

Each SDMX-ML and SDMX-JSON data sample whose structures are in the samples is loaded into a
fresh store: its structures (load_structures, as `load-structures` does), then the message with
`load_data`; the observations are then asked for over the real API (SDMX-CSV) and compared with
what sdmx1 (`sdmx.read_sdmx`) reads from the same message. The ECB samples name only their DSD:
a dataflow of that DSD is defined for them (a message for a DSD loads into its dataflows).

Load and compare equal: ECB_EXR/1/M.USD.EUR.SP00.A.xml (SDMX-ML 2.1 generic),
v3/xml/ECB_EXR0.xml (SDMX-ML 3.0 structure-specific), and ECB's DSDs without groups and with a
sibling group, ECB_EXR/{ng,sg}-*.xml, in every SDMX-ML 2.1 form (generic and structure-specific;
time series, with group attributes, flat, cross-sectional) but one. Their structures hold
SDMX:CROSS_DOMAIN_CONCEPTS as a partial scheme or as an external-reference stub
({ng,sg}-structure.xml, common.xml); the full one replaces the stub (STUB_ROUTE proves it on
the stub structures; tests/test_registry_stubs.py the registry rules that made this work).

Refused, with the reason the report gives (the server is right): the ECB SDMX-JSON samples
(ECB_EXR/{ts,xs,flat,action-delete}.json, v3/json/data/exr-{time-series,cross-section,flat}.json,
constructed-sample-full.json) leave out attributes DSD ECB:ECB_EXR1 makes mandatory;
v3/json/data/exr-action-delete.json gives OBS_STATUS a value index its structure does not list;
v3/xml/ECB_EXR_CA.xml (complex attributes) lacks the mandatory OBS_STATUS; ECB_EXR/sg-xs.xml
gives its third cross-section the TIME_PERIOD of its first (two values for each observation).

Skipped (see SKIPPED): samples whose DSD the samples do not define (ECB_EXR/rg-*.xml name
ECB_EXR_RG, rg-structure*.xml define ECB_EXR_CG), or that the server cannot hold (measure
dimensions). The readers' generic, time-series, flat, cross-sectional and group paths are
also proven on the server's own messages and hand-written ones (test_readers_ml.py).
"""

from __future__ import annotations

import io

import httpx
import pandas as pd
import pytest

from sdmx_server.boot import create_schema
from sdmx_server.cli import _registry
from sdmx_server.ingest.load import load_data
from sdmx_server.registry.load import load_structures
from sdmx_server.settings import Settings
from sdmx_server.store.database import Database
from tests.conftest import running_server

pytestmark = pytest.mark.samples

EXR = "ECB_EXR/1/structure-full.xml"
#: data sample -> (structure files, the DSD (agency, id) when the message names only it, else the dataflow)
_GROUPS = {g: [f"ECB_EXR/{g}-{kind}.xml" for kind in (
    "flat", "flat-ss", "ts", "ts-ss", "ts-gf", "ts-gf-ss", "xs", "xs-ss")] for g in ("ng", "sg", "rg")}
_GROUPS["sg"][1] = "ECB_EXR/sg-ts-gf-flat-ss.xml"  # sg's flat structure-specific sample
LOADS: dict[str, tuple[list[str], tuple[str, str, str]]] = {
    "ECB_EXR/1/M.USD.EUR.SP00.A.xml": ([EXR], ("ECB", "EXR", "1.0")),
    "v3/xml/ECB_EXR0.xml": ([EXR], ("ECB", "EXR", "1.0")),
    # ECB's DSDs without groups (ng) and with a sibling group (sg), each in every SDMX-ML 2.1
    # data form. Their structures hold SDMX:CROSS_DOMAIN_CONCEPTS as a partial scheme (the full
    # one, v21/xml/common/common.xml, is loaded after it and adds to it).
    **{f: ([f"ECB_EXR/{g}-structure-full.xml"], ("ECB", f"ECB_EXR_{g.upper()}", "1.0"))
       for g in ("ng", "sg") for f in _GROUPS[g] if f != "ECB_EXR/sg-xs.xml"},  # refused: see REFUSED
}
_MANDATORY = "the mandatory attribute"
REFUSED: dict[str, tuple[list[str], tuple[str, str, str], str]] = {
    **{f: ([EXR], ("ECB", "EXR", "1.0"), _MANDATORY) for f in (
        "ECB_EXR/ts.json", "ECB_EXR/xs.json", "ECB_EXR/flat.json", "ECB_EXR/action-delete.json",
        "v3/json/data/exr-time-series.json", "v3/json/data/exr-cross-section.json", "v3/json/data/exr-flat.json",
        "v3/json/data/constructed-sample-full.json")},
    "v3/json/data/exr-action-delete.json": (
        [EXR], ("ECB", "EXR", "1.0"), "OBS_STATUS: value 1 is not among the 1 values the structure lists for it"),
    "v3/xml/ECB_EXR_CA.xml": ([EXR], ("ECB", "EXR", "1.0"), "the mandatory attribute OBS_STATUS has no column"),
    # The sample's third cross-section holds the 2010-10 rates (as in ng-xs.xml and sg-xs-ss.xml)
    # under TIME_PERIOD 2010-08 again: two values for one observation.
    "ECB_EXR/sg-xs.xml": (["ECB_EXR/sg-structure-full.xml"], ("ECB", "ECB_EXR_SG", "1.0"),
                          "duplicate observation M.CHF.EUR.SP00.E.2010-08"),
}
#: data sample -> structures that hold what its DSD uses only as external-reference stubs
#: (isExternalReference="true"), then the files that hold them in full: the full artefacts
#: replace the stubs (SDMX:CROSS_DOMAIN_CONCEPTS, partial, last: prepare adds it).
STUB_ROUTE: dict[str, tuple[list[str], tuple[str, str, str]]] = {
    f"ECB_EXR/{g}-ts.xml": ([f"ECB_EXR/{g}-structure.xml", "ECB_EXR/common.xml"], ("ECB", f"ECB_EXR_{g.upper()}", "1.0"))
    for g in ("ng", "sg")
}
SKIPPED = {
    **{f: "it names DSD ECB:ECB_EXR_RG(1.0), which no sample defines (rg-structure*.xml define ECB_EXR_CG)"
       for f in _GROUPS["rg"]},
    "ESTAT/NAMA_10_GDP-ss.xml": "its DSD ESTAT:NAMA_10_GDP(32.1) is not in the samples",
    "ESTAT/demography-xs.xml": "DSD ESTAT:DEMOGRAPHY has a measure dimension, which the server's stores do not hold",
    "v21/xml/demography/demography_xs.xml": "DSD ESTAT:DEMOGRAPHY has a measure dimension, as above",
    "constructed/gh-218.xml": "its DSD ESTAT:ISOC_CI_ID_H is not in the samples",
    "ESTAT/footer.xml": "an error footer, with no structure in the samples",
    "ESTAT/footer2.xml": "an error footer, with no structure in the samples",
    "v3/json/data/agri.json": "its DSD MA_545:AGRI_DSD is not in the samples",
    "v3/json/data/generated-sample.json": "its structure is not in the samples",
}


def dataflow_message(agency: str, dsd_id: str, version: str) -> bytes:
    """An SDMX-ML 2.1 structure message defining a dataflow of the DSD (ECB's samples have none)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<mes:Structure xmlns:mes="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
  xmlns:str="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure"
  xmlns:com="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common">
<mes:Header><mes:ID>DF</mes:ID><mes:Test>false</mes:Test><mes:Prepared>2024-01-01T00:00:00</mes:Prepared>
<mes:Sender id="TEST"/></mes:Header>
<mes:Structures><str:Dataflows><str:Dataflow agencyID="{agency}" id="DF_{dsd_id}" version="{version}">
<com:Name xml:lang="en">Data of {dsd_id}</com:Name>
<str:Structure><Ref agencyID="{agency}" id="{dsd_id}" version="{version}" package="datastructure" class="DataStructure"/></str:Structure>
</str:Dataflow></str:Dataflows></mes:Structures></mes:Structure>""".encode()


def prepare(samples_dir, tmp_path, structures: list[str], ref: tuple[str, str, str]):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    settings = Settings(database_url=url, data_dir=tmp_path)
    db = Database(url)
    create_schema(db)
    # The full SDMX cross-domain concepts last: the ECB files carry only a stub of them.
    paths = [*(samples_dir / s for s in structures), samples_dir / "v21/xml/common/common.xml"]
    flow = ref
    if _registry_after(db, paths, settings).get("dataflow", *ref) is None:
        extra = tmp_path / "dataflow.xml"
        extra.write_bytes(dataflow_message(*ref))
        flow = (ref[0], f"DF_{ref[1]}", ref[2])
        outcome = load_structures(db, [extra], settings)
        assert outcome.ok, outcome.errors
    return db, settings, flow


def _registry_after(db, paths, settings):
    for path in paths:  # one at a time: a later stub of an artefact loaded in full is no conflict
        outcome = load_structures(db, [path], settings, allow_missing_references=True)
        assert outcome.ok, outcome.errors
    return _registry(db)


@pytest.mark.parametrize("name", list(LOADS))
def test_sample_loads_and_is_served_as_sdmx1_reads_it(samples_dir, tmp_path, name):
    load_and_compare(samples_dir, tmp_path, name, *LOADS[name])


@pytest.mark.parametrize("name", list(STUB_ROUTE))
def test_sample_loads_once_the_full_artefacts_replace_the_stubs(samples_dir, tmp_path, name):
    structures, ref = STUB_ROUTE[name]
    load_and_compare(samples_dir, tmp_path, name, structures, ref)
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    registry = _registry(db)
    assert [e.ref for e in registry.entries() if e.is_stub] == []
    db.dispose()


def load_and_compare(samples_dir, tmp_path, name, structures, ref):
    db, settings, flow = prepare(samples_dir, tmp_path, structures, ref)
    path = samples_dir / name
    outcome = load_data(db, _registry(db), flow, path, "merge", settings)
    assert outcome.applied, outcome.report.text()
    db.dispose()
    expected = sdmx1_observations(samples_dir, path, structures, ref)
    assert outcome.report.rows_read == len(expected)
    with running_server(settings) as server:
        r = httpx.get(server.rest(f"data/{','.join(flow)}/all"), timeout=60,
                      headers={"Accept": "application/vnd.sdmx.data+csv;version=1.0.0"})
        assert r.status_code == 200, r.text
    served = pd.read_csv(io.StringIO(r.text), dtype=str, keep_default_na=False)
    dims = [c for c in expected.columns if c != "value"]
    got = served[dims + ["OBS_VALUE"]].rename(columns={"OBS_VALUE": "value"})
    got["value"] = pd.to_numeric(got["value"])
    pd.testing.assert_frame_equal(
        got.sort_values(dims).reset_index(drop=True), expected.sort_values(dims).reset_index(drop=True),
        check_dtype=False)


def sdmx1_observations(samples_dir, path, structures, ref) -> pd.DataFrame:
    """(dimension columns..., value) of every observation, as sdmx1 reads the message."""
    import sdmx

    structure = sdmx.read_sdmx(samples_dir / structures[0])
    dsd = next((d for d in structure.structure.values() if d.id == ref[1]), None)
    if dsd is None:  # a dataflow was named: its DSD
        dsd = structure.dataflow[ref[1]].structure
    message = sdmx.read_sdmx(path, structure=dsd)
    frames = []
    for dataset in message.data:
        series = sdmx.to_pandas(dataset)
        frame = series.reset_index()
        frame.columns = [*frame.columns[:-1], "value"]
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out["value"] = pd.to_numeric(out["value"])
    return out.astype({c: str for c in out.columns if c != "value"})


@pytest.mark.parametrize("name", list(REFUSED))
def test_sample_refused_with_its_reason(samples_dir, tmp_path, name):
    structures, ref, reason = REFUSED[name]
    db, settings, flow = prepare(samples_dir, tmp_path, structures, ref)
    outcome = load_data(db, _registry(db), flow, samples_dir / name, "merge", settings)
    db.dispose()
    assert outcome.status == "rejected"
    assert reason in outcome.report.text()


@pytest.mark.parametrize("name", list(SKIPPED))
def test_sample_without_its_structures(samples_dir, name):
    assert (samples_dir / name).is_file()
    pytest.skip(SKIPPED[name])
