"""SDMX-ML structure-specific data streamed chunk by chunk (ingest/readers/sdmx_ml_stream.py):
the same rows as a message read whole, the same columns in every chunk, and the same load,
also where the scan of the file foresees a component that no row then takes."""

from __future__ import annotations

import io
import mmap
from contextlib import contextmanager

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdmx_server.boot import create_schema
from sdmx_server.ingest.readers import ACTION, ROW, reader_for
from sdmx_server.ingest.readers import sdmx_ml, sdmx_ml_stream
from sdmx_server.ingest.readers.xml_safe import OpenXML
from sdmx_server.ingest.report import ValidationReport
from sdmx_server.registry.load import load_structures
from sdmx_server.settings import Settings as StoreSettings
from sdmx_server.store import aligned
from sdmx_server.store.database import Database
from tests.datasets import COLUMNS, CONTENT, FLOW_A, frame, sdmx_csv
from tests.test_readers_ml import WRITERS, load_bytes, message_bytes, read, shape, ss_message, stored  # noqa: F401

KEYS = [("IR", "F"), ("IR", "M"), ("IR-03", "F"), ("IR-03", "M"), ("IR-10", "F"), ("IR-10", "_T"), ("IR-23", "M")]
MONTHS = ["2020-01", "2020-02", "2020-03"]


def series(area: str, sex: str, title: str | None, obs: list[str]) -> str:
    title_attr = f' TITLE="{title}"' if title is not None else ""
    return f'<Series FREQ="M" AREA="{area}" SEX="{sex}"{title_attr}>{"".join(obs)}</Series>\n'


def mixed_message(group: bool = False) -> bytes:
    """Series in key order; observations of several layouts (OBS_STATUS on some, COMMENT on a
    few, attributes in another order), the series' TITLE on one observation."""
    body = []
    for i, (area, sex) in enumerate(KEYS):
        obs = []
        for j, month in enumerate(MONTHS):
            extra = ' OBS_STATUS="A"' if (i + j) % 2 else ""
            extra += ' COMMENT="c"' if (i * 3 + j) % 5 == 0 else ""
            if (i, j) == (2, 1):
                obs.append(f'<Obs OBS_STATUS="E" TIME_PERIOD="{month}" TITLE="on an Obs" OBS_VALUE="{i}.{j}"/>')
            else:
                obs.append(f'<Obs TIME_PERIOD="{month}" OBS_VALUE="{i}.{j}"{extra}/>')
        body.append(series(area, sex, f"t{i}" if i % 3 else None, obs))
    if group:
        body.append('<Group AREA="IR" TITLE="from a group"/>\n')
    return ss_message('<mes:DataSet ss:structureRef="S1">\n' + "".join(body) + "</mes:DataSet>")


def read_whole(data: bytes, shape, monkeypatch):  # noqa: F811
    """The message read whole, as a message with a Group is (no scan)."""
    with monkeypatch.context() as m:
        m.setattr(sdmx_ml_stream, "foretell", lambda xml, shape, style: None)
        incoming, report = read(data, shape)
    assert incoming.table is not None
    return incoming, report


@pytest.mark.parametrize("source", ["file", "path"])
def test_a_message_is_handed_over_chunk_by_chunk_with_the_rows_of_one_read_whole(shape, monkeypatch, tmp_path,  # noqa: F811
                                                                              source):
    monkeypatch.setattr(sdmx_ml, "CHUNK", 4)
    data = mixed_message()
    report = ValidationReport()
    path = tmp_path / "message.xml"
    path.write_bytes(data)
    incoming = reader_for("sdmx-ml-2.1-specific")(io.BytesIO(data) if source == "file" else path, shape, FLOW_A,
                                                  report)
    assert incoming.table is None and incoming.stream is not None
    batches = list(incoming.batches())
    assert len(batches) == 6 and [b.num_rows for b in batches] == [4, 4, 4, 4, 4, 1]
    names = ["FREQ", "AREA", "SEX", "TIME_PERIOD", "OBS_VALUE", "OBS_STATUS", "TITLE", "COMMENT", ROW, ACTION]
    assert all(b.column_names == names for b in batches), [b.column_names for b in batches]
    assert all(b.schema.field(name).type == pa.string() for b in batches for name in names[:-2])
    assert report.ok and not report.warnings, report.text()
    whole, whole_report = read_whole(data, shape, monkeypatch)
    assert whole_report.ok
    streamed = pa.concat_tables(batches)
    assert streamed.to_pylist() == whole.table.select(names).to_pylist()
    rows = streamed.to_pylist()
    assert len(rows) == len(KEYS) * len(MONTHS)
    assert [(r["AREA"], r["SEX"], r["TIME_PERIOD"]) for r in rows] == [(a, s, m) for a, s in KEYS for m in MONTHS]
    assert rows[7]["TITLE"] == "on an Obs" and rows[7]["OBS_STATUS"] == "E" and rows[6]["TITLE"] == "t2"
    assert rows[0]["TITLE"] is None
    assert rows[3]["TITLE"] == "t1" and rows[3]["OBS_STATUS"] == "A" and rows[4]["OBS_STATUS"] is None


def test_a_message_with_a_group_is_read_whole(shape):  # noqa: F811
    incoming, report = read(mixed_message(group=True), shape)
    assert report.ok, report.text()
    assert incoming.table is not None and incoming.stream is None
    t = incoming.table
    titles = dict(zip(zip(t["AREA"].to_pylist(), t["SEX"].to_pylist(), t["TIME_PERIOD"].to_pylist()),
                      t["TITLE"].to_pylist()))
    assert titles[("IR", "F", "2020-01")] == "from a group"  # (the group's, where the series has none)
    assert titles[("IR", "M", "2020-01")] == "t1" and titles[("IR-03", "M", "2020-01")] is None


def test_a_message_cut_short_gives_its_first_chunks_then_says_it_is_not_well_formed(shape, monkeypatch):  # noqa: F811
    monkeypatch.setattr(sdmx_ml, "CHUNK", 4)
    data = mixed_message()
    cut = data[: data.index(b"<Series", len(data) // 2) + 10]
    report = ValidationReport()
    incoming = reader_for("sdmx-ml-2.1-specific")(io.BytesIO(cut), shape, FLOW_A, report)
    batches = iter(incoming.batches())
    assert next(batches).num_rows == 4 and report.ok
    rest = list(batches)
    assert sum(b.num_rows for b in rest) < len(KEYS) * len(MONTHS) - 4
    assert len(report.file_errors) == 1 and "not well-formed XML" in report.file_errors[0], report.text()


def resend(revised: dict, decoys: str) -> bytes:
    """Every key of `KEYS` x `MONTHS` again, no TITLE on any series or observation; `revised`
    (key -> value) changes some values; `decoys` names TITLE where no row takes it."""
    body = []
    for area, sex in KEYS:
        obs = [f'<Obs TIME_PERIOD="{m}" OBS_VALUE="{revised.get((area, sex, m), 100)}" OBS_STATUS="A"/>' for m in MONTHS]
        body.append(series(area, sex, None, obs))
    return ss_message('<mes:DataSet ss:structureRef="S1">\n' + decoys + "".join(body) + "</mes:DataSet>")


DECOYS = {
    "comment": '<!-- TITLE="only in a comment" -->\n',
    "series without observations": '<Series FREQ="M" AREA="IR" SEX="_T" TITLE="no observations"/>\n',
}


@pytest.mark.parametrize("action", ["merge", "replace"])
@pytest.mark.parametrize("early", [False, True], ids=["applied-after", "compared-early"])
@pytest.mark.parametrize("decoy", list(DECOYS))
def test_a_component_foreseen_but_given_to_no_row_is_loaded_as_if_read_whole(tmp_path, shape, monkeypatch,  # noqa: F811
                                                                            decoy, early, action):
    """The scan foresees TITLE, which no row takes: its column is empty, and the load is the
    one of the message read whole, which has no TITLE column (a merge keeps the stored titles,
    a replace empties them)."""
    if early:
        monkeypatch.setenv("SDMX_TEST_EARLY_ROWS", "1")
        monkeypatch.setattr(aligned, "MIN_ROWS", 0)
    else:
        monkeypatch.setenv("SDMX_TEST_EARLY_ROWS", str(10**9))
    first = pd.DataFrame([{"FREQ": "M", "AREA": a, "SEX": s, "TIME_PERIOD": m, "OBS_VALUE": 100.0, "OBS_STATUS": "A",
                           "UNIT_MULT": "3", "TITLE": f"title {a} {s}", "COMMENT": ""}
                          for a, s in KEYS for m in MONTHS], columns=COLUMNS)
    revised = {("IR", "M", "2020-02"): 7, ("IR-10", "_T", "2020-03"): 8}
    data = resend(revised, DECOYS[decoy])

    incoming, report = read(data, shape)
    assert incoming.table is None  # (streamed: TITLE foreseen by the scan)
    whole = incoming.whole()
    assert whole.num_rows == len(first) and whole["TITLE"].null_count == len(first), report.text()

    results = []
    for streamed in (True, False):
        with monkeypatch.context() as m:
            if not streamed:
                m.setattr(sdmx_ml_stream, "foretell", lambda xml, shape, style: None)
            with store(tmp_path / ("streamed" if streamed else "whole")) as target_:
                assert load_bytes(target_, sdmx_csv(first).encode(), "first.csv").applied
                outcome = load_bytes(target_, data, action=action)
                assert outcome.applied, outcome.report.text()
                assert outcome.result.changed == (2 if action == "merge" else len(first))
                results.append(stored(target_))
    pd.testing.assert_frame_equal(results[0], results[1])
    expected = first.copy()
    for (a, s, m), value in revised.items():
        expected.loc[(expected.AREA == a) & (expected.SEX == s) & (expected.TIME_PERIOD == m), "OBS_VALUE"] = value
    if action == "replace":
        expected[["TITLE", "UNIT_MULT"]] = None
    got = results[0].sort_values(["AREA", "SEX", "TIME_PERIOD"]).reset_index(drop=True)
    assert got["TITLE"].tolist() == expected["TITLE"].tolist()
    assert got["OBS_VALUE"].astype(float).tolist() == expected["OBS_VALUE"].astype(float).tolist()


@contextmanager
def store(directory):
    """A fresh SQLite store of the test structures (as test_readers_ml's `target`)."""
    directory.mkdir()
    url = f"sqlite:///{directory / 'target.db'}"
    settings_ = StoreSettings(database_url=url, data_dir=directory)
    db = Database(url)
    create_schema(db)
    assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings_).ok
    try:
        yield db, settings_, directory
    finally:
        db.dispose()


CANDIDATES = ["A", "AB", "B_A", "OBS_STATUS", "STATUS", "TITLE"]


@settings(max_examples=200, deadline=None)
@given(given_names=st.lists(st.sampled_from(CANDIDATES), unique=True),
       before=st.lists(st.sampled_from([" ", "\n", "\t", "\r\n  "]), min_size=len(CANDIDATES), max_size=len(CANDIDATES)),
       around=st.lists(st.sampled_from(["", " ", "\n "]), min_size=len(CANDIDATES), max_size=len(CANDIDATES)),
       padding=st.integers(0, 3 * mmap.PAGESIZE), generic=st.booleans())
def test_the_scan_finds_exactly_the_components_a_message_gives(given_names, before, around, padding, generic):
    """Structure-specific data gives a component as an attribute (white space before its
    name, `=` after it, white space allowed around the `=`), generic data as a Value whose id
    it is; not the end of a longer name, nor a value. Wherever the name falls against the
    windows the file is scanned in (here a page each)."""
    if generic:
        values = "".join(f'<g:Value{b}id{a}={a}"{name}" value="STATUS A"/>' for name, b, a in zip(given_names, before, around))
        data = f'<!--{"x" * padding}--><g:Series><g:SeriesKey><g:Value id="B_A_AB" value=\'AB"\'/>{values}</g:SeriesKey>'
    else:
        attributes = "".join(f'{b}{name}{a}={a}"STATUS A"' for name, b, a in zip(given_names, before, around))
        data = f'<!--{"x" * padding}--><Series KEY="B_A AB"><Obs{attributes}/></Series>'
    patterns = sdmx_ml_stream.patterns_of(CANDIDATES, "generic" if generic else "specific")
    with pytest.MonkeyPatch.context() as m:
        m.setattr(sdmx_ml_stream, "WINDOW", mmap.PAGESIZE)
        m.setattr(sdmx_ml_stream, "OVERLAP", 16)
        found = sdmx_ml_stream.scan(data.encode(), patterns)
        assert {name for name in found if name in CANDIDATES} == set(given_names), data
        assert sdmx_ml_stream.scan(data.encode() + b'<g:Group><g:GroupKey/></g:Group>', patterns) is None


def test_a_name_the_scan_did_not_see_stops_the_stream_with_a_file_error(shape, monkeypatch):  # noqa: F811
    monkeypatch.setattr(sdmx_ml_stream, "scan", lambda data, patterns: {"FREQ", "AREA", "SEX", "TIME_PERIOD", "OBS_VALUE"})
    incoming, report = read(mixed_message(), shape)
    assert incoming.table is None
    batches = list(incoming.batches())
    assert sum(b.num_rows for b in batches) == 0
    assert report.file_errors == ["line 10 or after: OBS_STATUS, TITLE, COMMENT is given where a first look at the "
                                  "message did not see it"], report.text()


@pytest.mark.parametrize("change, streamed", [
    ("", True),
    ('<Group AREA="IR" TITLE="g"/>', False),
    ('<ss:Group AREA="IR" TITLE="g"/>', False),
    ('<GroupKey AREA="IR"/>', True),  # (an element that is not a Group)
])
def test_a_message_is_streamed_unless_it_has_a_group(shape, change, streamed):  # noqa: F811
    data = mixed_message().replace(b"</mes:DataSet>", change.encode() + b"</mes:DataSet>")
    incoming, report = read(data, shape)
    assert (incoming.table is None) == streamed, report.text()


@pytest.mark.parametrize("encoding, scanned", [("UTF-8", True), ("ISO-8859-1", True), ("windows-1256", True),
                                                ("UTF-16", False), ("EBCDIC-US", False)])
def test_only_a_file_whose_names_are_their_ascii_bytes_is_scanned(shape, encoding, scanned):  # noqa: F811
    data = mixed_message().replace(b'encoding="UTF-8"', f'encoding="{encoding}"'.encode())
    with OpenXML(io.BytesIO(data)) as xml:
        given = sdmx_ml_stream.foretell(xml, shape)
    assert (given is not None) == scanned
    if scanned:
        assert given == ["FREQ", "AREA", "SEX", "TIME_PERIOD", "OBS_VALUE", "OBS_STATUS", "TITLE", "COMMENT"]


@pytest.mark.parametrize("writer, dao", [(w, d) for w in WRITERS for d in (None, "AllDimensions") if not
                                         (d and w.endswith("-ts"))])
def test_each_writers_message_is_streamed_with_the_rows_and_columns_of_one_read_whole(shape, monkeypatch,  # noqa: F811
                                                                                      writer, dao):
    monkeypatch.setattr(sdmx_ml, "CHUNK", 5)
    data = message_bytes(frame(seed=3, months=4, quarters=0), shape, WRITERS[writer], dao)
    incoming, report = read(data, shape)
    assert incoming.table is None, report.text()
    batches = list(incoming.batches())
    assert len(batches) > 1 and len({tuple(b.column_names) for b in batches}) == 1
    whole, _ = read_whole(data, shape, monkeypatch)
    assert whole.table.column_names == batches[0].column_names
    assert pa.concat_tables(batches).to_pylist() == whole.table.to_pylist()
    assert report.ok and not report.warnings, report.text()
