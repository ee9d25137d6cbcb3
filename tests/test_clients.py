"""Real SDMX clients against a real server: sdmx1 as an HTTP client, pysdmx as a reader.

What comes back must be exactly the observations that were loaded (the pandas oracle).
"""

from __future__ import annotations

import io

import httpx
import pandas as pd
import pytest
import sdmx

from tests.datasets import FLOW_A, FLOW_B


@pytest.fixture(scope="module")
def client(served):
    # The source's id is the agency: sdmx1 puts it in structure URLs.
    sdmx.add_source({"id": "TEST", "url": served.url + "/rest", "name": "sdmx-server under test"}, override=True)
    return sdmx.Client("TEST")


def observations(message) -> pd.DataFrame:
    """An sdmx1 data message as a frame with one row per observation."""
    series = sdmx.to_pandas(message.data[0], attributes="")
    frame = series.reset_index()
    frame.columns = [*frame.columns[:-1], "OBS_VALUE"]
    return frame


def expected(served, flow, **where) -> pd.DataFrame:
    df = served.frames[flow]
    for column, value in where.items():
        df = df[df[column] == value]
    return df


def test_sdmx1_lists_the_dataflows(client):
    message = client.dataflow()
    assert sorted(message.dataflow) == ["DF_A", "DF_B"]
    assert str(message.dataflow["DF_A"].name) in ("Flow A", "جریان الف")
    assert message.dataflow["DF_A"].name.localizations["fa"] == "جریان الف"


def test_sdmx1_fetches_a_dsd_with_its_codelists(client):
    message = client.dataflow("DF_A")  # sdmx1 asks references=all for a single dataflow
    dsd = message.dataflow["DF_A"].structure
    assert not dsd.is_external_reference
    assert [d.id for d in dsd.dimensions] == ["FREQ", "AREA", "SEX", "TIME_PERIOD"]
    area = dsd.dimensions.get("AREA").local_representation.enumerated
    assert sorted(area.items) == ["IR", "IR-03", "IR-10", "IR-23"]
    assert area["IR-23"].parent.id == "IR"
    assert area["IR-23"].name.localizations == {"fa": "تهران", "en": "Tehran"}
    message = client.datastructure("DSD_TEST")
    assert "DSD_TEST" in message.structure
    assert {"CL_AREA", "CL_FREQ", "CL_SEX"} <= set(message.codelist)


@pytest.mark.parametrize("flow", [FLOW_A, FLOW_B])
def test_sdmx1_fetches_exactly_the_loaded_observations(served, client, flow):
    message = client.data(flow[1], key="M.IR-23.")
    got = observations(message)
    want = expected(served, flow, FREQ="M", AREA="IR-23")
    assert len(got) == len(want)
    merged = got.merge(want, on=["FREQ", "AREA", "SEX", "TIME_PERIOD"], suffixes=("_got", "_want"))
    assert len(merged) == len(want)
    assert (merged.OBS_VALUE_got.astype(float) == merged.OBS_VALUE_want).all()


def test_sdmx1_reads_structure_specific_data_with_the_dsd(served, client):
    dsd = client.datastructure("DSD_TEST").structure["DSD_TEST"]
    message = client.data("DF_A", key="Q.IR.F", dsd=dsd, params={"startPeriod": "2021-Q1"})
    got = observations(message)
    want = expected(served, FLOW_A, FREQ="Q", AREA="IR", SEX="F")
    want = want[want.TIME_PERIOD >= "2021-Q1"]
    assert sorted(got.OBS_VALUE.astype(float)) == sorted(want.OBS_VALUE)
    # sdmx1's Client does not hand the DSD to its reader (it warns so); read the same answer
    # with it to check where each attribute is attached.
    body = httpx.get(served.rest("data/DF_A/Q.IR.F"), timeout=60,
                     headers={"Accept": "application/vnd.sdmx.structurespecificdata+xml;version=2.1"}).content
    dataset = sdmx.read_sdmx(io.BytesIO(body), structure=dsd).data[0]
    series_key, observations_ = next(iter(dataset.series.items()))
    assert [kv.id for kv in series_key] == ["FREQ", "AREA", "SEX"]
    assert series_key.attrib["TITLE"].value == want.TITLE.iloc[0]
    assert dataset.attrib["UNIT_MULT"].value == "3"
    assert {o.attached_attribute["OBS_STATUS"].value for o in observations_} <= {"A", "P", "E"}


def test_sdmx1_series_keys(client):
    keys = client.series_keys("DF_A")
    assert len(keys) == 2 * 4 * 3  # FREQ x AREA x SEX


def test_pysdmx_reads_data_and_structures(served, tmp_path):
    from pysdmx.io import read_sdmx

    for name, path, accept in (
        ("generic.xml", "data/DF_A/M.IR.F", "application/vnd.sdmx.genericdata+xml;version=2.1"),
        ("ss.xml", "data/DF_A/M.IR.F", "application/vnd.sdmx.structurespecificdata+xml;version=2.1"),
        ("data.csv", "data/DF_A/M.IR.F", "application/vnd.sdmx.data+csv;version=1.0.0"),
        ("structure.xml", "datastructure/TEST/DSD_TEST/1.0?references=children", None),
    ):
        body = httpx.get(served.rest(path), headers={"Accept": accept} if accept else {}, timeout=60).content
        target = tmp_path / name
        target.write_bytes(body)
        message = read_sdmx(target)
        if name == "structure.xml":
            codelists = {c.id: c for c in message.get_codelists()}
            assert sorted(c.id for c in codelists["CL_AREA"].codes) == ["IR", "IR-03", "IR-10", "IR-23"]
            dsd = message.get_data_structure_definitions()[0]
            assert [d.id for d in dsd.components.dimensions] == ["FREQ", "AREA", "SEX", "TIME_PERIOD"]
        else:
            (dataset,) = message.data
            frame = dataset.data
            want = expected(served, FLOW_A, FREQ="M", AREA="IR", SEX="F")
            assert len(frame) == len(want)
            assert sorted(frame["OBS_VALUE"].astype(float)) == sorted(want.OBS_VALUE)


def test_csv_reads_back_into_pandas_as_loaded(served):
    body = httpx.get(served.rest("data/DF_B/all"), headers={"Accept": "text/csv"}, timeout=60).content
    df = pd.read_csv(io.BytesIO(body), dtype={"OBS_VALUE": float}, keep_default_na=False)
    assert len(df) == len(served.frames[FLOW_B])
