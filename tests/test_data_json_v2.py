"""SDMX-JSON 2.0.0/2.1.0, JSON-stat and Excel through REST v2 on a real server (SQLite and
PostgreSQL): SDMX-JSON 2.1.0 without Accept (data.md's default), valid against the official
schema of its version, names in the language of Accept-Language, one data set per matching
dataflow, read back equal to the frame that was loaded, filtered as the query says."""

from __future__ import annotations

import json

import httpx
import pandas as pd
import pytest

from tests.data_messages import canonical, oracle, read_jsonstat, read_sdmx_json, read_xlsx
from tests.datasets import DIMENSIONS, FLOW_A, FLOW_B
from tests.jsonschemas import assert_valid

JSON = "application/vnd.sdmx.data+json"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def get(served, path: str, headers: dict | None = None, **params) -> httpx.Response:
    return httpx.get(f"{served.url}/rest/v2/{path}", headers=headers or {}, params=params or None, timeout=120)


def selected(df: pd.DataFrame, **where) -> pd.DataFrame:
    for column, values in where.items():
        df = df[df[column].isin(values if isinstance(values, list) else [values])]
    return df


def test_sdmx_json_21_is_the_default(served):
    # Without any Accept header (httpx sends `*/*` unless told not to, which gets SDMX-ML 3.0).
    with httpx.Client(timeout=120) as client:
        del client.headers["accept"]
        r = client.get(f"{served.url}/rest/v2/data/dataflow/TEST/DF_A/1.0/*")
        assert "accept" not in r.request.headers
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(f"{JSON}; version=2.1.0")
    doc = assert_valid(r.content, "2.1", "data")
    pd.testing.assert_frame_equal(canonical(read_sdmx_json(doc)), oracle(served.frames[FLOW_A]))


@pytest.mark.parametrize("version", ["2.0.0", "2.1.0", "1.0.0"])
@pytest.mark.parametrize("dimension", [None, "AllDimensions", "AREA"])
def test_sdmx_json_of_a_key(served, version, dimension):
    params = {"dimensionAtObservation": dimension} if dimension else {}
    r = get(served, "data/dataflow/TEST/DF_A/1.0/M.IR+IR-03.*", {"Accept": f"{JSON};version={version}"}, **params)
    assert r.status_code == 200, r.text
    doc = assert_valid(r.content, version[:3], "data")
    expected = oracle(selected(served.frames[FLOW_A], FREQ="M", AREA=["IR", "IR-03"]))
    pd.testing.assert_frame_equal(canonical(read_sdmx_json(doc)), expected)


def test_names_in_persian(served):
    r = get(served, "data/dataflow/TEST/DF_A/1.0/Q.IR-23.F", {"Accept": JSON, "Accept-Language": "fa"})
    doc = assert_valid(r.content, "2.1", "data")
    structure = doc["data"]["structures"][0]
    assert structure["name"] == "جریان الف"
    area = next(d for level in structure["dimensions"].values() for d in level if d["id"] == "AREA")
    assert area["values"] == [{"id": "IR-23", "name": "تهران", "names": {"fa": "تهران"}}]


@pytest.mark.parametrize("version", ["2.0.0", "2.1.0"])
def test_one_data_set_per_dataflow_of_a_dsd(served, version):
    r = get(served, "data/datastructure/TEST/DSD_TEST/1.0/A+Q.IR.", {"Accept": f"{JSON};version={version}"})
    assert r.status_code == 200, r.text
    doc = assert_valid(r.content, version[:3], "data")
    data = doc["data"]
    flows = [s["links"][0]["urn"] for s in data["structures"]]
    assert len(flows) == len(data["dataSets"]) >= 2
    for position, urn in enumerate(flows):
        flow = FLOW_A if "DF_A" in urn else FLOW_B
        alone = dict(doc, data={"structures": [data["structures"][position]],
                                "dataSets": [dict(data["dataSets"][position], structure=0)]})
        expected = oracle(selected(served.frames[flow], FREQ=["A", "Q"], AREA="IR"))
        pd.testing.assert_frame_equal(canonical(read_sdmx_json(alone)), expected)


def test_sdmx_json_10_refuses_several_structures_only_when_they_differ(served):
    # DF_A and DF_B share DSD_TEST and the layout: one SDMX-JSON 1.0 structure holds both.
    r = get(served, "data/datastructure/TEST/DSD_TEST/1.0/Q.IR.", {"Accept": f"{JSON};version=1.0.0"})
    assert r.status_code == 200, r.text
    assert len(assert_valid(r.content, "1.0", "data")["data"]["dataSets"]) >= 2


def test_jsonstat_and_xlsx(served):
    r = get(served, "data/dataflow/TEST/DF_A/1.0/*", {"Accept-Language": "fa"}, format="jsonstat")
    assert r.status_code == 200, r.text
    doc = json.loads(r.content)
    assert doc["dimension"]["AREA"]["category"]["label"]["IR-23"] == "تهران"
    columns = DIMENSIONS + ["OBS_VALUE", "OBS_STATUS"]
    pd.testing.assert_frame_equal(canonical(read_jsonstat(doc), columns), oracle(served.frames[FLOW_A], columns))
    r = get(served, "data/dataflow/TEST/DF_A/1.0/*", {"Accept": XLSX, "Accept-Language": "fa"})
    assert r.status_code == 200, r.text
    got, sheets = read_xlsx(r.content)
    pd.testing.assert_frame_equal(canonical(got), oracle(served.frames[FLOW_A]))
    assert "AREA: منطقه" in sheets["1"][0]
