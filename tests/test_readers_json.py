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


# -- streamed reading (messages above sdmx_json.STREAM_ABOVE) ------------------------------------


def read_both(data: bytes, shape, tmp_path):
    """The message read whole and streamed (from a file, and from an open file as uploads pass)."""
    from sdmx_server.ingest.readers.sdmx_json import read_whole
    from sdmx_server.ingest.readers.sdmx_json_stream import read_streamed
    from sdmx_server.ingest.report import ValidationReport

    path = tmp_path / "message.json"
    path.write_bytes(data)
    out = []
    for read_with, source in ((read_whole, path), (read_streamed, path)):
        report = ValidationReport()
        out.append((read_with(source, shape, FLOW_A, report), report))
    return out


@pytest.mark.parametrize("version", list(WRITERS))
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(df=frames(), flat=st.booleans())
def test_streamed_and_whole_reads_agree_on_the_writers_messages(shape, tmp_path, version, df, flat):
    data = message_bytes(df, shape, WRITERS[version], "AllDimensions" if flat else None)
    (whole, whole_report), (streamed, streamed_report) = read_both(data, shape, tmp_path)
    assert whole is not None and streamed is not None, streamed_report.text()
    assert streamed.table is None  # (handed over chunk by chunk)
    assert_same_rows(streamed.whole(), whole.table)
    assert streamed.format == whole.format and streamed.row_label == "observation"
    assert streamed_report.lines() == whole_report.lines()


def assert_same_rows(streamed, whole) -> None:
    """The same rows; a streamed message has a column for every component its structure
    names, which the whole read leaves out where no observation has a value of it."""
    names = whole.column_names
    assert [n for n in streamed.column_names if n in names] == names
    assert all(streamed[n].null_count == streamed.num_rows for n in streamed.column_names if n not in names)
    assert streamed.select(names).equals(whole)


def test_streamed_data_sets_keep_their_own_members(shape, tmp_path, monkeypatch):
    """Several data sets, series and flat ones, actions and attributes after the series: each
    series and observation is read in its own data set. From an open file that cannot give two
    streams at once, the message is read whole (same result)."""
    from sdmx_server.ingest.readers import sdmx_json

    datasets = [
        {"structure": 0, "series": {"0:0:0": {"observations": {"0": [1.5, 0, "c"], "1": [2, 1, None]}},
                                    "0:1:1": {"observations": {"1": [-3e-5, 0]}}},
         "action": "Replace", "attributes": [0], "dimensionGroupAttributes": {"::0:": ["women"]}},
        {"structure": 0, "action": "Delete", "series": {"0:1:0": {}}},
        {"structure": 0, "series": {"1:0:1": {"observations": {"0": [7, 1]}}}, "action": "Append"},
    ]
    data = json20(datasets)
    (whole, _), (streamed, report) = read_both(data, shape, tmp_path)
    assert streamed is not None, report.text()
    assert streamed.stream is None  # (group attributes: read whole)
    assert streamed.table.equals(whole.table)
    t = streamed.table.to_pydict()
    assert t[ACTION] == ["R", "R", "R", "D", "M"]  # Append: a merge
    assert t["TITLE"] == ["women", "women", None, None, None]
    assert t["UNIT_MULT"] == ["3", "3", "3", None, None]
    monkeypatch.setattr(sdmx_json, "STREAM_ABOVE", 0)
    import io

    from sdmx_server.ingest.report import ValidationReport

    mixed = json20(datasets + [{"structure": 0, "observations": {"1:1:1:0": [9, 0]}}])
    path = tmp_path / "mixed.json"
    path.write_bytes(mixed)
    from_file = sdmx_json.read_sdmx_json(path, shape, FLOW_A, ValidationReport())
    from_upload = sdmx_json.read_sdmx_json(io.BytesIO(mixed), shape, FLOW_A, ValidationReport())
    assert from_file.table.equals(from_upload.table)
    assert from_file.table.num_rows == 6 and from_file.table.column("OBS_VALUE").to_pylist()[-1] == "9"


@pytest.mark.parametrize("damage", [lambda d: d[: len(d) // 2], lambda d: d + b" }"], ids=["truncated", "trailing"])
def test_a_broken_streamed_message_is_rejected(shape, tmp_path, damage):
    data = damage(json20([{"structure": 0, "series": {"0:0:0": {"observations": {"0": [1, 0]}}}}]))
    (whole, _), (streamed, report) = read_both(data, shape, tmp_path)
    assert whole is None and streamed is None
    assert "not well-formed JSON (is the file complete?)" in report.text()


def big_message(path, series: int, per_series: int) -> int:
    """An SDMX-JSON 2.0 message of series x per_series observations, structure last (as this
    server writes it), written a series at a time."""
    s = structure()
    s["dimensions"]["series"][1]["values"] = [{"id": f"A{i}"} for i in range(series)]
    s["dimensions"]["series"][0]["values"] = [{"id": "M"}]
    s["dimensions"]["observation"][0]["values"] = [{"id": f"{1900 + i // 12}-{i % 12 + 1:02d}"}
                                                   for i in range(per_series)]
    with open(path, "wb") as f:
        f.write(b'{"meta":{},"data":{"dataSets":[{"structure":0,"action":"Information","series":{')
        for i in range(series):
            obs = {str(t): [t * 0.5 + i, t % 2, None] for t in range(per_series)}
            f.write((b"," if i else b"") + orjson.dumps({f"0:{i}:0": {"observations": obs}})[1:-1])
        f.write(b"}}],\"structures\":[" + orjson.dumps(s) + b"]}}")
    return series * per_series


def test_streamed_reading_keeps_memory_bounded(shape, tmp_path):
    """~500k observations: the reader's peak memory (Python allocations, tracemalloc) read as
    a stream stays a small fraction of what the whole parse costs (~200 MB)."""
    import tracemalloc

    from sdmx_server.ingest.readers import sdmx_json
    from sdmx_server.ingest.report import ValidationReport

    path = tmp_path / "big.json"
    n = big_message(path, 1000, 500)
    assert path.stat().st_size > sdmx_json.STREAM_ABOVE  # read_sdmx_json streams it
    peaks = {}
    for name, read_with in (("whole", sdmx_json.read_whole), ("streamed", sdmx_json.read_sdmx_json)):
        tracemalloc.start()
        try:
            incoming = read_with(path, shape, FLOW_A, ValidationReport())
            rows, last = 0, None
            for batch in incoming.batches():  # (as validation takes them: one at a time)
                rows += batch.num_rows
                last = batch if batch.num_rows else last
            peaks[name] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert (incoming.stream is not None) == (name == "streamed")
        assert rows == n and last.column("AREA")[last.num_rows - 1].as_py() == "A999"
        del incoming, last
    assert peaks["whole"] > 150e6, peaks  # what a whole parse costs: the bound below means something
    assert peaks["streamed"] < 40e6 and peaks["streamed"] * 5 < peaks["whole"], peaks


@pytest.mark.parametrize("action", ["merge", "replace"])
def test_a_streamed_message_loads_as_the_same_message_read_whole(shape, tmp_path, monkeypatch, action):  # noqa: F811
    """The structure names TITLE (a group attribute no data set uses) and COMMENT, which no
    observation gives: streamed, their columns are empty; the load is the one of the message
    read whole, which has no such columns (a merge keeps what is stored, a replace empties it)."""
    from sdmx_server.ingest.readers import sdmx_json
    from sdmx_server.ingest.report import ValidationReport
    from tests.datasets import COLUMNS, sdmx_csv
    from tests.test_readers_ml import load_bytes, stored
    from tests.test_readers_ml_stream import store

    first = pd.DataFrame([{"FREQ": "M", "AREA": a, "SEX": s, "TIME_PERIOD": m, "OBS_VALUE": 1.0, "OBS_STATUS": "A",
                           "UNIT_MULT": "3", "TITLE": f"t {a} {s}", "COMMENT": "kept?"}
                          for a in ("IR", "IR-23") for s in ("F", "M") for m in ("2020-01", "2020-02")], columns=COLUMNS)
    data = json20([{"structure": 0, "attributes": [0],
                    "series": {f"0:{a}:{s}": {"attributes": [None],
                                              "observations": {"0": [a + s + 2.5, 1], "1": [7, 0, None]}}
                               for a in (0, 1) for s in (0, 1)}}])
    monkeypatch.setattr(sdmx_json, "STREAM_ABOVE", 0)
    (tmp_path / "message.json").write_bytes(data)
    incoming = sdmx_json.read_sdmx_json(tmp_path / "message.json", shape, FLOW_A, ValidationReport())
    assert incoming.stream is not None
    whole = incoming.whole()
    assert whole["COMMENT"].null_count == whole["TITLE"].null_count == whole.num_rows == 8
    results = []
    for streamed in (True, False):
        monkeypatch.setattr(sdmx_json, "STREAM_ABOVE", 0 if streamed else 1 << 40)
        with store(tmp_path / ("streamed" if streamed else "whole")) as target_:
            assert load_bytes(target_, sdmx_csv(first).encode(), "first.csv").applied
            outcome = load_bytes(target_, data, action=action)
            assert outcome.applied, outcome.report.text()
            assert outcome.format == "SDMX-JSON 2.0"
            results.append(stored(target_))
    pd.testing.assert_frame_equal(results[0], results[1])
    got = results[0]
    assert got["OBS_VALUE"].astype(float).tolist() == [2.5, 7, 3.5, 7, 3.5, 7, 4.5, 7]
    assert got["COMMENT"].tolist() == (["kept?"] * 8 if action == "merge" else [None] * 8)
