"""SDMX-JSON data in: 1.0, 2.0 and 2.1 messages load back as they were.

- Round trip over HTTP: the test content served (conftest `served`) as SDMX-JSON 1.0, 2.0 and
  2.1, series (by TIME_PERIOD or another dimension) and flat (AllDimensions), loaded with
  `load_data` into a fresh store: the stored observations equal the frame first loaded.
- Hypothesis: random frames through each SDMX-JSON writer function and back.
- Messages the writers never make: data set actions (several data sets, in order), group
  attributes (dimensionGroupAttributes), a message for another dataflow, unknown components,
  malformed JSON (with its line) and JSON that is no data message.
"""

from __future__ import annotations

import orjson
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdmx_server.formats import data_json
from sdmx_server.ingest.readers import ACTION, ROW
from tests.datasets import FLOW_A
from tests.test_readers_ml import (
    V1, V2, as_frame, cases, download, expected_frame, frames, load_bytes, message_bytes, plain, read, stored,
)
from tests.test_load_data import as_stored

JSON_FORMATS = {
    "json10": (V1, "application/vnd.sdmx.data+json;version=1.0.0", ("TIME_PERIOD", "AllDimensions", "AREA")),
    "json20": (V2, "application/vnd.sdmx.data+json;version=2.0.0", ("TIME_PERIOD", "AllDimensions", "SEX")),
    "json21": (V2, "application/vnd.sdmx.data+json;version=2.1.0", ("TIME_PERIOD", "AllDimensions")),
}
from tests.test_readers_ml import shape, target  # noqa: E402,F401  (fixtures)


@pytest.mark.parametrize("name, dao", cases(JSON_FORMATS))
def test_served_sdmx_json_loads_back_identical(served, target, name, dao):
    outcome = load_bytes(target, download(served, JSON_FORMATS, name, dao))
    assert outcome.applied, outcome.report.text()
    assert outcome.format == f"SDMX-JSON {name[4]}.{name[5]}"
    assert not outcome.report.warnings
    pd.testing.assert_frame_equal(stored(target), plain(as_stored(served.frames[FLOW_A])), check_dtype=False)


WRITERS = {v: (lambda version: lambda m: data_json.write(m, version))(v) for v in ("1.0.0", "2.0.0", "2.1.0")}


@pytest.mark.parametrize("version", list(WRITERS))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(df=frames(), flat=st.booleans())
def test_random_frames_read_back_through_each_writer(shape, version, df, flat):
    data = message_bytes(df, shape, WRITERS[version], "AllDimensions" if flat else None)
    incoming, report = read(data, shape)
    assert incoming is not None, report.text()
    assert report.ok and not report.warnings, report.text()
    pd.testing.assert_frame_equal(as_frame(incoming), expected_frame(df), check_dtype=False)
    assert incoming.row_label == "observation"
    assert incoming.table.column(ROW).to_pylist() == list(range(1, len(df) + 1))
    # The writers say "Information": taken as a merge, whatever --action says.
    assert set(incoming.table.column(ACTION).to_pylist()) == {"M"}


def structure(links=True) -> dict:
    def values(*ids):
        return [{"id": i} for i in ids]
    out = {
        "dimensions": {
            "series": [{"id": "FREQ", "keyPosition": 0, "values": values("M", "Q")},
                       {"id": "AREA", "keyPosition": 1, "values": values("IR", "IR-23")},
                       {"id": "SEX", "keyPosition": 2, "values": values("F", "M")}],
            "observation": [{"id": "TIME_PERIOD", "keyPosition": 3, "values": values("2020-01", "2020-02")}],
        },
        "measures": {"observation": [{"id": "OBS_VALUE"}]},
        "attributes": {
            "dataSet": [{"id": "UNIT_MULT", "values": values("3")}],
            "dimensionGroup": [{"id": "TITLE"}],
            "series": [{"id": "NOTE"}],
            "observation": [{"id": "OBS_STATUS", "values": values("A", "E")}, {"id": "COMMENT"}],
        },
        "dataSets": [0, 1],
    }
    if links:
        out["links"] = [{"rel": "dataflow", "urn": "urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=TEST:DF_A(1.0)"}]
    return out


def json20(datasets: list, links=True) -> bytes:
    return orjson.dumps({"meta": {"schema": "https://raw.githubusercontent.com/sdmx-twg/sdmx-json/master/"
                                            "data-message/tools/schemas/2.0.0/sdmx-json-data-schema.json"},
                         "data": {"dataSets": datasets, "structures": [structure(links)]}},
                        option=orjson.OPT_INDENT_2)


def test_actions_groups_and_unknown_components(shape):
    data = json20([
        {"structure": 0, "action": "Replace", "attributes": [0],
         "dimensionGroupAttributes": {"::0:": ["women"]},
         "series": {"0:0:0": {"attributes": ["x"], "observations": {"0": [1.5, 0, "c"], "1": [2, 1, None]}},
                    "0:1:1": {"observations": {"1": [-3e-5, 0]}}}},
        {"structure": 0, "action": "Delete", "series": {"0:1:0": {}}},
        {"structure": 0, "observations": {}},
    ])
    incoming, report = read(data, shape)
    assert incoming is not None, report.text()
    t = incoming.table.to_pydict()
    assert t[ACTION] == ["R", "R", "R", "D"]
    assert t["AREA"] == ["IR", "IR", "IR-23", "IR-23"]
    assert t["TIME_PERIOD"] == ["2020-01", "2020-02", "2020-02", None]
    assert t["OBS_VALUE"] == ["1.5", "2", "-3e-05", None]
    assert t["OBS_STATUS"] == ["A", "E", "A", None]
    assert t["COMMENT"] == ["c", None, None, None]
    assert t["UNIT_MULT"] == ["3", "3", "3", None]
    assert t["TITLE"] == ["women", "women", None, None]  # the group of SEX=F
    assert t[ROW] == [1, 2, 3, 4]
    assert report.warnings == ["data set 1: 'NOTE' is not a component of TEST:DSD_TEST(1.0); ignored"]


def test_a_message_for_another_dataflow_is_refused(target):
    data = json20([{"structure": 0, "action": "Append", "series": {}}]).replace(b"DF_A", b"DF_OTHER")
    outcome = load_bytes(target, data)
    assert outcome.status == "rejected"
    assert ("data set 1: the data set is for dataflow TEST:DF_OTHER(1.0), not the dataflow being loaded "
            "(TEST:DF_A(1.0)) or its data structure TEST:DSD_TEST(1.0)") in outcome.report.text()


def test_a_message_without_links_loads_with_a_warning(target):
    data = json20([{"structure": 0, "series": {"0:0:0": {"observations": {"0": [4, 0]}}}}], links=False)
    outcome = load_bytes(target, data)
    assert outcome.applied, outcome.report.text()
    assert "does not say which dataflow it is for" in "\n".join(outcome.report.warnings)
    assert stored(target)["OBS_VALUE"].tolist() == [4.0]


@pytest.mark.parametrize("data, expected", [
    (b'{"meta": {},\n "data": {"dataSets": [\n {"series": {"0": }', "line 3: not well-formed JSON (is the file complete?)"),
    (b'{"meta": {}, "data": {"dataflows": []}}', "not an SDMX-JSON data message: it has no dataSets"),
    (b'{"data": {"dataSets": [{"series": {"0:0:0": {"observations": {"0": [1]}}}}], "structures": [{"dimensions": '
     b'{"series": [{"id": "FREQ", "values": []}]}}]}}', "observation 1: not SDMX-JSON data as the structure describes it"),
], ids=["truncated", "structure-message", "index-out-of-range"])
def test_bad_json_is_rejected_with_a_clear_line(target, data, expected):
    outcome = load_bytes(target, data)
    assert outcome.status == "rejected"
    assert expected in outcome.report.text()
