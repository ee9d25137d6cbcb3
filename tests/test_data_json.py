"""SDMX-JSON data 1.0.0, 2.0.0 and 2.1.0 written from hand-built data messages (the real shape,
layout and labels of the test content): every answer valid against the official schema of its
version, and decoded back through its indices into the frame the oracle holds; sdmx1 reads the
1.0 answers too."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from sdmx_server.errors import NotAcceptable
from sdmx_server.formats.data_json import write
from sdmx_server.formats.data_message import DataMessage
from sdmx_server.formats.ml21 import Header
from tests.data_messages import COLUMNS, canonical, message, oracle, part, read_sdmx_json
from tests.datasets import ATTRIBUTES, DIMENSIONS, FLOW_B, frame
from tests.jsonschemas import assert_valid

VERSIONS = [("1.0.0", "1.0"), ("2.0.0", "2.0"), ("2.1.0", "2.1")]
DF = frame()


def answer(msg: DataMessage, version: str) -> dict:
    body = b"".join(write(msg, version=version))
    return assert_valid(body, dict(VERSIONS)[version], "data")


def expected_columns(detail: str, dimension: str | None) -> list[str]:
    series = [d for d in DIMENSIONS if d != (dimension or "TIME_PERIOD")]
    if detail == "dataonly":
        return DIMENSIONS + ["OBS_VALUE"]
    if detail == "serieskeysonly":
        return series
    if detail == "nodata":  # attributes of the series and the data set
        return series + (["UNIT_MULT", "TITLE"] if dimension is None else ["UNIT_MULT"])
    return COLUMNS


#: Every (dimension at the observation level, detail) that has a meaning: without a dimension
#: at the observation level (AllDimensions) there are no series, so no series keys to list.
LAYOUTS = [(dimension, detail)
           for dimension in (None, "AllDimensions", "AREA")
           for detail in ("full", "dataonly", "serieskeysonly", "nodata")
           if not (dimension == "AllDimensions" and detail in ("serieskeysonly", "nodata"))]


@pytest.mark.parametrize("version", [v for v, _ in VERSIONS])
@pytest.mark.parametrize("dimension, detail", LAYOUTS)
def test_every_layout_is_valid_and_reads_back(version, dimension, detail):
    doc = answer(message(DF, dimension_at_observation=dimension, detail=detail, batch_rows=37), version)
    columns = expected_columns(detail, dimension)
    expected = oracle(DF, columns)
    if detail in ("serieskeysonly", "nodata"):
        expected = expected.drop_duplicates().reset_index(drop=True)
    got = canonical(read_sdmx_json(doc), columns)
    pd.testing.assert_frame_equal(got, expected)


@pytest.mark.parametrize("version", [v for v, _ in VERSIONS])
def test_names_in_the_clients_language(version):
    doc = answer(message(DF, languages=("fa",)), version)
    assert doc["meta"]["contentLanguages"] == ["fa"]
    data = doc["data"]
    structure = data["structure"] if version == "1.0.0" else data["structures"][0]
    assert structure["name"] == "جریان الف"
    area = next(d for d in structure["dimensions"]["series"] if d["id"] == "AREA")
    assert area["name"] == "منطقه" and area["names"] == {"fa": "منطقه"}
    tehran = next(v for v in area["values"] if v["id"] == "IR-23")
    assert tehran["name"] == "تهران" and set(tehran["names"]) == {"fa"}
    # English when asked, every language without Accept-Language.
    english = answer(message(DF, languages=("en",)), version)["data"]
    structure = english["structure"] if version == "1.0.0" else english["structures"][0]
    assert structure["name"] == "Flow A"
    every = answer(message(DF), version)["data"]
    structure = every["structure"] if version == "1.0.0" else every["structures"][0]
    assert set(structure["names"]) == {"en", "fa"}


@pytest.mark.parametrize("version", [v for v, _ in VERSIONS])
def test_without_labels_the_ids_are_the_names(version):
    doc = answer(message(DF, labels=False), version)
    data = doc["data"]
    structure = data["structure"] if version == "1.0.0" else data["structures"][0]
    assert structure["name"] == "DF_A"
    assert canonical(read_sdmx_json(doc)).equals(oracle(DF))


@pytest.mark.parametrize("version", [v for v, _ in VERSIONS])
def test_values_list_only_what_the_message_uses_in_key_order(version):
    df = DF[(DF.AREA == "IR-03") & (DF.FREQ == "Q")]
    doc = answer(message(df), version)
    data = doc["data"]
    structure = data["structure"] if version == "1.0.0" else data["structures"][0]
    series = {d["id"]: [v["id"] for v in d["values"]] for d in structure["dimensions"]["series"]}
    assert series == {"FREQ": ["Q"], "AREA": ["IR-03"], "SEX": ["F", "M", "_T"]}
    assert set(doc["data"]["dataSets"][0]["series"]) == {"0:0:0", "0:0:1", "0:0:2"}


@pytest.mark.parametrize("version", [v for v, _ in VERSIONS])
def test_text_that_needs_escaping_and_missing_numbers(version):
    df = DF.head(6).copy()
    df["TITLE"] = ['back\\slash "q" \n tab\t \x01 bell', "ok"] * 3
    df.loc[df.index[1], "OBS_VALUE"] = np.nan
    df.loc[df.index[2], "OBS_VALUE"] = np.inf
    df.loc[df.index[3], "OBS_VALUE"] = -np.inf
    # TITLE is a series attribute: one value per series.
    df["TITLE"] = df["TITLE"].iloc[0]
    doc = answer(message(df, dimension_at_observation="AllDimensions"), version)
    got = canonical(read_sdmx_json(doc).replace({"INF": np.inf, "-INF": -np.inf, "NaN": np.nan}))
    pd.testing.assert_frame_equal(got, oracle(df))


@pytest.mark.parametrize("version", ["2.0.0", "2.1.0"])
def test_several_data_sets_each_with_its_structure(version):
    frames = [DF, frame(seed=2, months=6, quarters=2)]
    msg = DataMessage(Header(), [part(frames[0]), part(frames[1], flow=FLOW_B)])
    doc = answer(msg, version)
    data = doc["data"]
    assert [s["dataSets"] for s in data["structures"]] == [[0], [1]]
    assert [d["structure"] for d in data["dataSets"]] == [0, 1]
    assert data["structures"][1]["links"][0]["urn"].endswith("Dataflow=TEST:DF_B(1.0)")
    for position, expected in enumerate(frames):
        alone = dict(doc, data={"structures": [data["structures"][position]],
                                "dataSets": [dict(data["dataSets"][position], structure=0)]})
        assert canonical(read_sdmx_json(alone)).equals(oracle(expected))


def test_sdmx_json_10_shares_one_structure_between_data_sets_of_one_layout():
    frames = [DF[DF.FREQ == "M"], DF[DF.FREQ == "Q"]]
    doc = answer(DataMessage(Header(), [part(frames[0]), part(frames[1])]), "1.0.0")
    assert len(doc["data"]["dataSets"]) == 2
    assert canonical(read_sdmx_json(doc)).equals(oracle(DF))
    with pytest.raises(NotAcceptable):
        write(DataMessage(Header(), [part(DF), part(DF, dimension_at_observation="AREA")]), version="1.0.0")


def test_sdmx1_reads_sdmx_json_10():
    """sdmx1's reader knows the SDMX-JSON of before 1.0 (structure and dataSets at the top):
    the same members, moved up, are read through its own index handling."""
    import sdmx

    doc = answer(message(DF, dimension_at_observation=None), "1.0.0")
    structure = doc["data"]["structure"]
    for level in structure["attributes"].values():  # its values become Codes, which take no `names`
        for attribute in level:
            for value in attribute["values"]:
                value.pop("names", None)
    tree = {"meta": doc["meta"], "structure": structure, "dataSets": doc["data"]["dataSets"]}
    msg = sdmx.read_sdmx(io.BytesIO(json.dumps(tree).encode()), format="JSON")
    (dataset,) = msg.data
    rows = []
    for key, observations in dataset.series.items():
        for obs in observations:
            row = {kv.id: kv.value for kv in obs.key.values.values()}
            row["OBS_VALUE"] = obs.value
            row |= {k: getattr(v.value, "id", v.value) for k, v in obs.attrib.items()}
            row |= {k: getattr(v.value, "id", v.value) for k, v in key.attrib.items()}
            rows.append(row)
    columns = DIMENSIONS + ["OBS_VALUE", "OBS_STATUS", "COMMENT"]
    pd.testing.assert_frame_equal(canonical(pd.DataFrame(rows), columns), oracle(DF, columns))


SERIES = DF[DIMENSIONS[:-1]].drop_duplicates().apply(tuple, axis=1).tolist()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    series=st.sets(st.sampled_from(SERIES), min_size=1),
    periods=st.tuples(st.integers(0, 23), st.integers(0, 23)),
    batch_rows=st.integers(5, 200),
    dimension=st.sampled_from([None, "AllDimensions", "SEX", "TIME_PERIOD"]),
    version=st.sampled_from([v for v, _ in VERSIONS]),
)
def test_any_selection_in_any_batching_reads_back(series, periods, batch_rows, dimension, version):
    keys = DF[DIMENSIONS[:-1]].apply(tuple, axis=1)
    position = DF.groupby(DIMENSIONS[:-1]).cumcount()
    df = DF[keys.isin(series) & position.between(min(periods), max(periods))]
    if df.empty:
        return
    doc = answer(message(df, dimension_at_observation=dimension, batch_rows=batch_rows), version)
    pd.testing.assert_frame_equal(canonical(read_sdmx_json(doc)), oracle(df))


def test_the_reader_catches_a_wrong_index():
    """The read-back can fail: one series key pointing elsewhere is a different frame."""
    doc = answer(message(DF), "2.1.0")
    series = doc["data"]["dataSets"][0]["series"]
    first = next(iter(series))
    series["0:0:2" if first != "0:0:2" else "0:0:1"] = series.pop(first)
    assert not canonical(read_sdmx_json(doc)).equals(oracle(DF))


def test_dataset_attributes_at_dataset_level():
    doc = answer(message(DF), "2.1.0")
    structure = doc["data"]["structures"][0]
    assert [a["id"] for a in structure["attributes"]["dataSet"]] == ["UNIT_MULT"]
    assert doc["data"]["dataSets"][0]["attributes"] == [0]
    assert structure["attributes"]["dataSet"][0]["values"][0]["id"] == "3"
    assert ATTRIBUTES  # the test content's attributes, at every level
