"""SDMX-JSON, JSON-stat and Excel data through REST v1 on a real server (SQLite and PostgreSQL):
negotiated by the media table, valid against the official SDMX-JSON 1.0 data schema, and read
back equal to the frame that was loaded, filtered as the query says."""

from __future__ import annotations

import json

import httpx
import pandas as pd
import pytest

from tests.data_messages import canonical, oracle, read_jsonstat, read_sdmx_json, read_xlsx
from tests.datasets import DIMENSIONS, FLOW_A
from tests.jsonschemas import assert_valid

JSON10 = "application/vnd.sdmx.data+json;version=1.0.0"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def get(served, path: str, accept: str | None = None, **params) -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    return httpx.get(served.rest(path), headers=headers, params=params or None, timeout=120)


def selected(df: pd.DataFrame, **where) -> pd.DataFrame:
    for column, values in where.items():
        df = df[df[column].isin(values if isinstance(values, list) else [values])]
    return df


@pytest.mark.parametrize("accept", ["application/json", JSON10, None])
def test_sdmx_json_10_of_a_whole_dataflow(served, accept):
    params = {"format": "sdmx-json"} if accept is None else {}
    r = get(served, "data/TEST,DF_A,1.0/all", accept, **params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.sdmx.data+json; version=1.0.0")
    doc = assert_valid(r.content, "1.0", "data")
    pd.testing.assert_frame_equal(canonical(read_sdmx_json(doc)), oracle(served.frames[FLOW_A]))


@pytest.mark.parametrize("dimension", ["AllDimensions", "AREA", "TIME_PERIOD"])
def test_sdmx_json_10_of_a_key(served, dimension):
    r = get(served, "data/DF_A/M.IR+IR-03.", JSON10, dimensionAtObservation=dimension)
    assert r.status_code == 200, r.text
    doc = assert_valid(r.content, "1.0", "data")
    expected = oracle(selected(served.frames[FLOW_A], FREQ="M", AREA=["IR", "IR-03"]))
    pd.testing.assert_frame_equal(canonical(read_sdmx_json(doc)), expected)


def test_sdmx_json_of_sdmx_3_is_not_offered_on_v1(served):
    r = get(served, "data/DF_A/all", "application/vnd.sdmx.data+json;version=2.0.0")
    assert r.status_code == 406


def test_jsonstat(served):
    for request in ({"accept": "application/vnd.jsonstat+json"}, {"format": "jsonstat"}):
        accept = request.get("accept")
        params = {"format": request["format"]} if "format" in request else {}
        r = get(served, "data/DF_A/Q..", accept, **params)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/vnd.jsonstat+json")
        columns = DIMENSIONS + ["OBS_VALUE", "OBS_STATUS"]
        got = canonical(read_jsonstat(json.loads(r.content)), columns)
        pd.testing.assert_frame_equal(got, oracle(selected(served.frames[FLOW_A], FREQ="Q"), columns))


def test_xlsx(served):
    r = get(served, "data/DF_A/all", XLSX)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(XLSX)
    got, sheets = read_xlsx(r.content)
    pd.testing.assert_frame_equal(canonical(got), oracle(served.frames[FLOW_A]))
    assert get(served, "data/DF_A/all", format="xlsx").content[:2] == b"PK"
