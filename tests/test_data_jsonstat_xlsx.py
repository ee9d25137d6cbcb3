"""JSON-stat 2.0 and Excel answers written from hand-built data messages: read back (JSON-stat by
its cube arithmetic, the workbook by openpyxl in read-only mode) equal to the oracle."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from sdmx_server.errors import NotAcceptable
from sdmx_server.formats import data_jsonstat, data_xlsx
from sdmx_server.formats.data_message import DataMessage
from sdmx_server.formats.ml21 import Header
from sdmx_server.registry.shape import Component
from tests.data_messages import COLUMNS, canonical, message, oracle, part, read_jsonstat, read_xlsx
from tests.datasets import DIMENSIONS, FLOW_B, frame

DF = frame()
STAT_COLUMNS = DIMENSIONS + ["OBS_VALUE", "OBS_STATUS"]


def jsonstat(msg: DataMessage) -> dict:
    doc = json.loads(b"".join(data_jsonstat.write(msg)))
    for ds in [doc] if doc["class"] == "dataset" else doc["link"]["item"]:
        assert ds["class"] == "dataset"
        assert len(ds["id"]) == len(ds["size"]) == len(ds["dimension"])
        cells = int(np.prod(ds["size"]))
        assert all(0 <= int(k) < cells for k in ds["value"])  # every index inside the cube
        assert set(ds.get("status", {})) <= set(ds["value"])
    return doc


# -- JSON-stat ------------------------------------------------------------------------------------


@pytest.mark.parametrize("dimension", [None, "AllDimensions", "AREA"])
@pytest.mark.parametrize("batch_rows", [7, 1000])
def test_jsonstat_reads_back(dimension, batch_rows):
    doc = jsonstat(message(DF, dimension_at_observation=dimension, batch_rows=batch_rows))
    assert doc["version"] == "2.0"
    assert doc["id"][0] == "TIME_PERIOD" and doc["role"] == {"time": ["TIME_PERIOD"]}
    pd.testing.assert_frame_equal(canonical(read_jsonstat(doc), STAT_COLUMNS), oracle(DF, STAT_COLUMNS))


def test_jsonstat_labels_in_the_clients_language():
    doc = jsonstat(message(DF, languages=("fa",)))
    assert doc["label"] == "جریان الف"
    area = doc["dimension"]["AREA"]
    assert area["label"] == "منطقه"
    assert area["category"]["label"]["IR-23"] == "تهران"
    # Codes in code list order, every code the DSD allows (the cube is known before any row).
    assert doc["dimension"]["FREQ"]["category"]["index"] == ["A", "Q", "M"]
    english = jsonstat(message(DF, languages=("en",)))
    assert english["dimension"]["AREA"]["category"]["label"]["IR-23"] != "تهران"


def test_jsonstat_sparse_slice_and_missing_values():
    df = DF[(DF.AREA == "IR-10") & (DF.SEX == "F")].copy()
    df.loc[df.index[0], "OBS_VALUE"] = np.nan
    doc = jsonstat(message(df, labels=False))
    assert isinstance(doc["value"], dict) and len(doc["value"]) == len(df)
    assert doc["value"][min(doc["value"], key=int)] is None or None in doc["value"].values()
    pd.testing.assert_frame_equal(canonical(read_jsonstat(doc), STAT_COLUMNS), oracle(df, STAT_COLUMNS))


def test_jsonstat_several_data_sets_make_a_collection():
    other = frame(seed=2, months=6, quarters=2)
    doc = jsonstat(DataMessage(Header(), [part(DF), part(other, flow=FLOW_B)]))
    assert doc["class"] == "collection" and len(doc["link"]["item"]) == 2
    both = pd.concat([DF, other])
    got = canonical(read_jsonstat(doc), STAT_COLUMNS).sort_values(DIMENSIONS + ["OBS_VALUE"]).reset_index(drop=True)
    expected = oracle(both, STAT_COLUMNS).sort_values(DIMENSIONS + ["OBS_VALUE"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)


def test_jsonstat_refuses_two_uncoded_dimensions_before_the_first_byte():
    p = part(DF)
    dims = tuple(Component(d.id, d.role, d.position) if d.id == "SEX" else d for d in p.shape.dimensions)
    shape = type(p.shape)(p.shape.dsd, dims, p.shape.time, p.shape.measure, p.shape.attributes)
    bad = DataMessage(Header(), [type(p)(p.flow, shape, p.layout, p.batches)])
    with pytest.raises(NotAcceptable):
        data_jsonstat.write(bad)


# -- Excel ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("dimension", [None, "AllDimensions"])
@pytest.mark.parametrize("languages", [None, ("en",), ("fa",)])
def test_xlsx_reads_back(dimension, languages):
    body = b"".join(data_xlsx.write(message(DF, dimension_at_observation=dimension, languages=languages,
                                            batch_rows=50)))
    got, sheets = read_xlsx(body)
    pd.testing.assert_frame_equal(canonical(got), oracle(DF))
    assert list(sheets) == ["1", "About"]
    header = sheets["1"][0]
    if languages == ("fa",):
        assert "AREA: منطقه" in header
        assert any(v == "IR-23: تهران" for row in sheets["1"][1:] for v in row)
    rtl = b'rightToLeft="1"' in zipfile.ZipFile(io.BytesIO(body)).read("xl/worksheets/sheet1.xml")
    assert rtl == (languages == ("fa",))


def test_xlsx_numbers_are_numbers():
    df = DF.head(5).copy()
    df.loc[df.index[1], "OBS_VALUE"] = np.nan
    body = b"".join(data_xlsx.write(message(df, labels=False)))
    _, sheets = read_xlsx(body)
    column = sheets["1"][0].index("OBS_VALUE")
    values = [row[column] for row in sheets["1"][1:]]
    assert sum(isinstance(v, float) for v in values) == 4 and "NaN" in values


def test_xlsx_rows_beyond_the_sheet_limit_continue_on_the_next_sheet(monkeypatch):
    monkeypatch.setattr(data_xlsx, "MAX_ROWS", 101)
    body = b"".join(data_xlsx.write(message(DF, batch_rows=64)))
    got, sheets = read_xlsx(body)
    assert [len(rows) for name, rows in sheets.items() if name != "About"] == [101, 101, 101, 85]  # 384 rows: 100 a sheet under each header
    pd.testing.assert_frame_equal(canonical(got), oracle(DF))


def test_xlsx_several_data_sets_each_on_its_sheet():
    other = frame(seed=2, months=6, quarters=2)
    body = b"".join(data_xlsx.write(DataMessage(Header(), [part(DF), part(other, flow=FLOW_B)])))
    got, sheets = read_xlsx(body)
    assert list(sheets) == ["1", "2", "About"]
    assert len(sheets["2"]) == len(other) + 1
    both = canonical(got).sort_values(COLUMNS).reset_index(drop=True)
    pd.testing.assert_frame_equal(both, oracle(pd.concat([DF, other])).sort_values(COLUMNS).reset_index(drop=True))
