"""The shared text kernels (formats/text.py) against plain, row-by-row Python: their shortcuts
(one scan for characters that need escaping, text per run or per distinct value, series starts
on zero-copy slices) must never change a byte."""

from __future__ import annotations

import html

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from sdmx_server.formats import text

CODES = st.sampled_from(["A", "B", "R01", "_T", "x&y", 'say "hi"', "a,b", "line\nbreak", "é"])


def columns(min_size=0):
    """Columns shaped like stored data: long runs (series keys), few codes, or anything."""
    runs = st.lists(st.tuples(CODES, st.integers(1, 3000)), min_size=1, max_size=12).map(
        lambda pairs: [v for v, k in pairs for _ in range(k)])
    few = st.lists(CODES, min_size=min_size, max_size=9000)
    anything = st.lists(st.text(max_size=6), min_size=min_size, max_size=300)
    with_nulls = st.lists(st.one_of(st.none(), CODES), min_size=min_size, max_size=6000)
    return st.one_of(runs, few, anything, with_nulls)


def attribute(name, value):
    return "" if value is None else f' {name}="{value}"'


@settings(max_examples=60, deadline=None)
@given(columns())
def test_xml_attribute_is_row_by_row(values):
    result = text.xml_attribute("OBS_STATUS", pa.array(values, pa.string()))
    assert result.type == pa.string()
    assert result.to_pylist() == [attribute("OBS_STATUS", v) for v in values]


@settings(max_examples=60, deadline=None)
@given(columns())
def test_per_value_spreads_back_every_row(values):
    array = pa.array(values, pa.string())
    result = text.per_value(array, lambda v: pc.utf8_upper(v))
    assert result.to_pylist() == [None if v is None else v.upper() for v in values]


@settings(max_examples=60, deadline=None)
@given(columns())
def test_escapes_are_row_by_row(values):
    array = pa.array(values, pa.string())
    xml = [None if v is None else html.escape(v, quote=True).replace("&#x27;", "'")
           .replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;") for v in values]
    assert text.xml_escape(array).to_pylist() == xml

    def csv(v):
        if v is None:
            return None
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\n\r') else v

    assert text.csv_escape(array).to_pylist() == [csv(v) for v in values]


def plain_starts(rows, previous):
    starts = []
    for row in rows:
        starts.append(previous is None or row != previous)
        previous = row
    return starts


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["M", "Q"]), st.sampled_from(["R01", "R02"])), min_size=1, max_size=400),
       st.one_of(st.none(), st.tuples(st.sampled_from(["M", "Q"]), st.sampled_from(["R01", "R02"]))))
def test_new_series_is_row_by_row(rows, previous):
    """Series keys (dimensions are never missing) against the previous batch's last key."""
    cols = [pa.array([r[0] for r in rows], pa.string()), pa.array([r[1] for r in rows], pa.string())]
    starts, last = text.new_series(cols, previous)
    assert starts.to_pylist() == plain_starts(rows, previous)
    assert last == rows[-1]
