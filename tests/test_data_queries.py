"""Data queries of REST v1 and v2 against a real server, on SQLite and PostgreSQL: every answer
equals what pandas selects from the frame that was loaded (tests/data_oracle.py).

Hypothesis writes the queries: keys (several, with wildcards), c[] filters with every
operator on dimensions, attributes, the measure and TIME_PERIOD, periods, first/last N
observations, offset/limit, attribute and measure selection.
"""

from __future__ import annotations

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.data_oracle import DIMS, csv_frame, filter_param, same_rows, select, v2_key
from tests.datasets import AREAS, ATTRIBUTES, FLOW_A, SEXES
from tests.xsd import assert_valid

CSV1 = "application/vnd.sdmx.data+csv;version=1.0.0"
CSV2 = "application/vnd.sdmx.data+csv;version=2.0.0"
SS = "application/vnd.sdmx.structurespecificdata+xml;version=2.1"
GENERIC = "application/vnd.sdmx.genericdata+xml;version=2.1"
OPS = ("eq", "ne", "lt", "le", "gt", "ge", "co", "nc", "sw", "ew")
ALL_COLUMNS = DIMS + ["TIME_PERIOD", "OBS_VALUE", *ATTRIBUTES]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- strategies -----------------------------------------------------------------------------------

codes = {"FREQ": ["M", "Q", "A"], "AREA": AREAS + ["XX"], "SEX": SEXES}
keys = st.lists(
    st.tuples(*[st.one_of(st.none(), st.lists(st.sampled_from(codes[d]), min_size=1, max_size=2, unique=True))
                for d in DIMS]),
    min_size=1, max_size=3,
)
#: Filter values drawn (a comma cannot be one: `,` and its encoding `%2C` are the OR of c[]).
VALUES = {
    "FREQ": ["M", "Q", "A", "m"],
    "AREA": ["IR", "IR-0", "IR-1", "-", "IR-23", "3"],
    "SEX": ["F", "M", "_T", "_"],
    "OBS_STATUS": ["A", "P", "E", "B"],
    "UNIT_MULT": ["3", "0", "30"],
    "TITLE": ["IR", "quoted", '"quoted"', "(M)", "(Q) ", "& <", "IR-03 F", "escaped>", "%", "_T", "i"],
    "COMMENT": ["توضیح", "ویرگول", "، ", "x"],
    "OBS_VALUE": ["500", "1000.5", "0", "-1", "1e3", "2500"],
    "TIME_PERIOD": ["2020", "2020-06", "2021-Q2", "2020-03-15", "2020-S2", "2021-12-31T23:59:59", "2021"],
}
TIME_TEXT = ["Q", "2020", "-0", "-Q1", "12"]


@st.composite
def component_filters(draw):
    chosen = draw(st.lists(st.sampled_from(sorted(VALUES)), min_size=1, max_size=2, unique=True))
    found = []
    for component in chosen:
        alternatives = []
        for _ in range(draw(st.integers(1, 2))):
            terms = []
            for _ in range(draw(st.integers(1, 2))):
                op = draw(st.sampled_from(OPS))
                if component == "OBS_VALUE" and op in ("co", "nc", "sw", "ew"):
                    op = "ge"  # text operators on a number are a 422, tested on their own
                pool = TIME_TEXT if component == "TIME_PERIOD" and op in ("co", "nc", "sw", "ew") else VALUES[component]
                terms.append((op, draw(st.sampled_from(pool))))
            alternatives.append(terms)
        found.append((component, alternatives))
    return found


def get(served, path: str, accept: str) -> httpx.Response:
    return httpx.get(served.url + path, headers={"Accept": accept}, timeout=60)


def check(served, path: str, accept: str, expected, columns=ALL_COLUMNS):
    r = get(served, path, accept)
    if expected.empty:
        assert r.status_code == 404, (path, r.status_code, r.text[:300])
        return
    assert r.status_code == 200, (path, r.text[:500])
    same_rows(csv_frame(r.content), expected, columns)


# -- REST v2 --------------------------------------------------------------------------------------


@SETTINGS
@given(keys=st.one_of(st.none(), keys), filters=component_filters(),
       n=st.sampled_from([(None, None), (2, None), (None, 1), (1, 3)]),
       page=st.sampled_from([(0, None), (5, None), (0, 7), (3, 10)]))
def test_v2_queries_select_what_pandas_selects(served, keys, filters, n, page):
    first_n, last_n = n
    offset, limit = page
    key = "*" if keys is None else ",".join(v2_key(k) for k in keys)
    params = [filter_param(c, alts) for c, alts in filters]
    for name, value in (("firstNObservations", first_n), ("lastNObservations", last_n),
                        ("offset", offset or None), ("limit", limit)):
        if value is not None:
            params.append(f"{name}={value}")
    path = f"/rest/v2/data/dataflow/TEST/DF_A/1.0/{key}?{'&'.join(params)}"
    expected = select(served.frames[FLOW_A], keys=keys, filters=filters, first_n=first_n, last_n=last_n,
                      offset=offset, limit=limit)
    check(served, path, CSV2, expected)


@SETTINGS
@given(key=st.tuples(*[st.one_of(st.none(), st.lists(st.sampled_from(codes[d]), min_size=1, max_size=2,
                                                       unique=True)) for d in DIMS]),
       start=st.sampled_from([None, "2020", "2020-07", "2021-Q1", "2020-03-15", "2021-06-30T23:59:59"]),
       end=st.sampled_from([None, "2021", "2020-06", "2021-Q2", "2021-04-30T23:59:59", "2020-W20"]),
       n=st.sampled_from([(None, None), (3, None), (None, 2)]))
def test_v1_queries_select_what_pandas_selects(served, key, start, end, n):
    first_n, last_n = n
    text = ".".join("" if codes is None else "+".join(codes) for codes in key)
    if text == "..":
        text = "all"  # '..' is a dot segment that clients remove from URLs
    params = {"startPeriod": start, "endPeriod": end, "firstNObservations": first_n, "lastNObservations": last_n}
    query = "&".join(f"{k}={v}" for k, v in params.items() if v is not None)
    expected = select(served.frames[FLOW_A], keys=[key], start=start, end=end, first_n=first_n, last_n=last_n)
    check(served, f"/rest/data/TEST,DF_A,1.0/{text}?{query}", CSV1, expected)


@pytest.mark.parametrize("attributes, kept", [
    ("none", []),
    ("dsd", ATTRIBUTES),
    ("all", ATTRIBUTES),
    ("msd", []),
    ("obs", ["OBS_STATUS", "COMMENT"]),
    ("series", ["TITLE"]),
    ("dataset", ["UNIT_MULT"]),
    ("OBS_STATUS,TITLE", ["OBS_STATUS", "TITLE"]),
    ("dataset,obs", ["OBS_STATUS", "UNIT_MULT", "COMMENT"]),
])
def test_attributes_choose_the_columns(served, attributes, kept):
    r = get(served, f"/rest/v2/data/dataflow/TEST/DF_A/1.0/Q.IR.*?attributes={attributes}", CSV2)
    assert r.status_code == 200, r.text
    got = csv_frame(r.content)
    # The other attributes are left out, or (SDMX-CSV writers that keep every DSD column) empty.
    assert all((got[c] == "").all() for c in got.columns if c in ATTRIBUTES and c not in kept)
    expected = select(served.frames[FLOW_A], keys=[(["Q"], ["IR"], None)])
    same_rows(got, expected, DIMS + ["TIME_PERIOD", "OBS_VALUE", *kept])
    # SDMX-ML writes exactly the layout's attributes, each at its level.
    r = get(served, f"/rest/v2/data/dataflow/TEST/DF_A/1.0/Q.IR.*?attributes={attributes}", SS)
    doc = assert_valid(r.content, get(served, "/rest/schema/dataflow/TEST/DF_A/1.0", "").content)
    written = set()
    for element in [doc.find("{*}DataSet"), *doc.iterfind(".//Series"), *doc.iterfind(".//Obs")]:
        written |= {name for name in element.attrib if name in ATTRIBUTES}
    expected_written = {a for a in kept if a != "COMMENT" or (expected.COMMENT != "").any()}
    assert written == expected_written


def test_measures_none_gives_series_without_observations(served):
    r = get(served, "/rest/v2/data/dataflow/TEST/DF_A/1.0/Q.IR.*?measures=none", SS)
    assert r.status_code == 200, r.text
    doc = assert_valid(r.content, get(served, "/rest/schema/dataflow/TEST/DF_A/1.0", "").content)
    assert not doc.findall(".//Obs") and len(doc.findall(".//Series")) == 3
    r = get(served, "/rest/v2/data/dataflow/TEST/DF_A/1.0/Q.IR.*?measures=OBS_VALUE&attributes=none", SS)
    doc = assert_valid(r.content, get(served, "/rest/schema/dataflow/TEST/DF_A/1.0", "").content)
    assert len(doc.findall(".//Obs")) == 24 and all(o.get("OBS_STATUS") is None for o in doc.iterfind(".//Obs"))


def test_sort(served):
    r = get(served, "/rest/v2/data/dataflow/TEST/DF_A/1.0/Q.IR.F+M?sort=TIME_PERIOD:desc+SEX", CSV2)
    got = csv_frame(r.content)
    expected = select(served.frames[FLOW_A], keys=[(["Q"], ["IR"], ["F", "M"])])
    expected = expected.sort_values(["TIME_PERIOD", "SEX"], ascending=[False, True]).reset_index(drop=True)
    same_rows(got, expected, ALL_COLUMNS)
    r = get(served, "/rest/v2/data/dataflow/TEST/DF_A/1.0/Q.IR.*?sort=OBS_VALUE:desc&limit=4", CSV2)
    got = csv_frame(r.content)
    expected = select(served.frames[FLOW_A], keys=[(["Q"], ["IR"], None)])
    assert list(got.OBS_VALUE) == sorted(expected.OBS_VALUE, reverse=True)[:4]
    # series keys only: offset and limit count series, not observations
    r = get(served, "/rest/v2/data/dataflow/TEST/DF_A/1.0/M.*.*?measures=none&attributes=none&offset=2&limit=3",
            SS)
    doc = assert_valid(r.content, get(served, "/rest/schema/dataflow/TEST/DF_A/1.0", "").content)
    series = [(s.get("AREA"), s.get("SEX")) for s in doc.iterfind(".//Series")]
    everything = sorted({(a, s) for a in AREAS for s in SEXES})
    assert series == everything[2:5]


def test_contexts_and_versions(served):
    one = csv_frame(get(served, "/rest/v2/data/dataflow/TEST/DF_A/1.0/M.IR.F", CSV2).content)
    for path in ("/rest/v2/data/dataflow/TEST/DF_A/~/M.IR.F", "/rest/v2/data/dataflow/TEST/DF_A/*/M.IR.F",
                 "/rest/v2/data/dataflow/*/DF_A/1~.0/M.IR.F", "/rest/v2/data/dataflow/TEST/DF_A/1.0/M.IR.F"):
        r = get(served, path, CSV2)
        assert r.status_code == 200, (path, r.text)
        same_rows(csv_frame(r.content), one, ["STRUCTURE_ID", *ALL_COLUMNS])
    # a DSD: one data set per dataflow that uses it (DF_A and DF_B; never the internal one)
    r = get(served, "/rest/v2/data/datastructure/TEST/DSD_TEST/1.0/M.IR.F", CSV2)
    got = csv_frame(r.content)
    assert sorted(set(got.STRUCTURE_ID)) == ["TEST:DF_A(1.0)", "TEST:DF_B(1.0)"]
    # any context, with a filter only
    r = get(served, "/rest/v2/data/?c%5BAREA%5D=IR-03&c%5BSEX%5D=F&lastNObservations=1", CSV2)
    assert sorted(set(csv_frame(r.content).STRUCTURE_ID)) == ["TEST:DF_A(1.0)", "TEST:DF_B(1.0)"]
    r = get(served, "/rest/v2/data/dataflow/TEST/DF_SECRET/1.0", CSV2)
    assert r.status_code == 404


def test_several_data_sets_in_sdmx_ml(served):
    for accept in (SS, GENERIC):
        r = get(served, "/rest/v2/data/datastructure/TEST/DSD_TEST/1.0/Q.IR.F", accept)
        assert r.status_code == 200
        doc = assert_valid(r.content) if accept == GENERIC else None
        if doc is not None:
            assert len(doc.findall("{*}DataSet")) == 2


def test_a_plus_inside_a_value_is_written_as_2B(served):
    # '+' in a query string is the spec's AND; %2B is a plus sign inside a value.
    r = get(served, "/rest/v2/data/dataflow/TEST/DF_A/1.0/*?c%5BTITLE%5D=co:%2B", CSV2)
    assert r.status_code == 404
    r = get(served, "/rest/v2/data/dataflow/TEST/DF_A/1.0/*?c%5BTITLE%5D=sw:IR-03+ew:escaped>&c%5BFREQ%5D=Q", CSV2)
    expected = select(served.frames[FLOW_A], filters=[("TITLE", [[("sw", "IR-03"), ("ew", "escaped>")]]),
                                                      ("FREQ", [[("eq", "Q")]])])
    same_rows(csv_frame(r.content), expected, ALL_COLUMNS)
