"""REST v2 data and availability URLs, and REST v1 availableconstraint URLs, into the query
model: what each part means, and (hypothesis) that any string is parsed or refused with a 400
naming the parameter, never anything else."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import QueryParams

from sdmx_server.errors import NotImplemented_, SyntaxError_
from sdmx_server.query.model import ComponentFilter, Condition
from sdmx_server.query.parse_data_v2 import (
    parse_availability_query,
    parse_availability_query_v1,
    parse_data_query,
    parse_filters,
    parse_sort,
)
from sdmx_server.versions import ALL, LATEST


def q(path: str, query: str = ""):
    """As the route sees it: segments after /data/, decoded parameters and the raw string."""
    return parse_data_query(path.split("/") if path else [], QueryParams(query), query)


def test_defaults_are_any():
    query = q("")
    assert (query.context, query.agencies, query.ids, query.versions, query.keys) == ("*", None, None, ALL, None)
    assert query.api == "v2" and query.attributes == ("dsd",) and query.measures == ("all",)
    assert q("dataflow/*/*/*/*") == query.__class__(**{**query.__dict__, "context": "dataflow"})


def test_path_parts():
    query = q("dataflow/ECB,BIS/EXR/1.0.0,2.0.0/M.USD+JPY.EUR.*,A..EUR")
    assert query.agencies == ("ECB", "BIS") and query.ids == ("EXR",)
    assert query.versions.select(["1.0.0", "2.0.0", "3.0.0"]) == ["1.0.0", "2.0.0"]
    assert query.keys == ((("M",), ("USD", "JPY"), ("EUR",), None), (("A",), None, ("EUR",)))
    assert q("dataflow/ECB/EXR/~").versions is LATEST
    assert q("dataflow/ECB/EXR/+").versions.select(["1.0.0", "1.1.0", "2.0.0-draft"], ["1.0.0", "1.1.0"]) == ["1.1.0"]
    assert q("dataflow/ECB/EXR/1.0.0/M.*,*").keys is None  # one key selects everything


@pytest.mark.parametrize("path", ["cube/ECB/EXR", "dataflow/E CB", "dataflow/ECB/EX R", "dataflow/ECB/EXR/+.2.3",
                                  "dataflow/ECB/EXR/1.0/M.U SD", "dataflow/ECB/EXR/1.0/M/extra"])
def test_bad_paths_are_400(path):
    with pytest.raises(SyntaxError_):
        q(path)


def test_component_filters():
    got = q("dataflow/ECB/EXR", "c[FREQ]=A,M&c%5BTIME_PERIOD%5D=ge:2020-01+le:2020-12&c[X]=ne:A+B,co:%2B")
    assert got.filters == (
        ComponentFilter("FREQ", ((Condition("eq", "A"),), (Condition("eq", "M"),))),
        ComponentFilter("TIME_PERIOD", ((Condition("ge", "2020-01"), Condition("le", "2020-12")),)),
        ComponentFilter("X", ((Condition("ne", "A"), Condition("eq", "B")), (Condition("co", "+"),))),
    )
    # Values encoded whole, as pysdmx sends them: %2C is OR, %2B before an operator is AND,
    # and any other %2B a plus (a date-time's offset).
    got = q("dataflow/ECB/EXR", "c%5BFREQ%5D=A%2CM&c%5BTIME_PERIOD%5D=ge%3A2020-06%2Ble%3A2021-03"
                                "&c%5BX%5D=ge%3A2020-01-01T00%3A00%3A00%2B01%3A00")
    assert got.filters == (
        ComponentFilter("FREQ", ((Condition("eq", "A"),), (Condition("eq", "M"),))),
        ComponentFilter("TIME_PERIOD", ((Condition("ge", "2020-06"), Condition("le", "2021-03")),)),
        ComponentFilter("X", ((Condition("ge", "2020-01-01T00:00:00+01:00"),),)),
    )
    # a bare value may hold ':' (a date-time); without the raw string, a space is '+'
    assert parse_filters({"c[TIME_PERIOD]": "2020-01-01T10:00:00"}) == (
        ComponentFilter("TIME_PERIOD", ((Condition("eq", "2020-01-01T10:00:00"),),)),)
    assert parse_filters({"c[X]": "ge:A le:B"})[0].alternatives == ((Condition("ge", "A"), Condition("le", "B")),)


@pytest.mark.parametrize("query, name", [
    ("c[FREQ]=A&c[FREQ]=M", "c[FREQ]"),
    ("c[FR EQ]=A", "c[FR EQ]"),
    ("c[FREQ]=", "c[FREQ]"),
    ("c[FREQ]=eq:", "c[FREQ]"),
    ("c[TIME_PERIOD]=ge:2020-13", "c[TIME_PERIOD]"),
    ("c[X]=%00", "c[X]"),
    ("c[FREQ=A", "c[FREQ"),
    ("firstNObservations=0", "firstNObservations"),
    ("lastNObservations=-1", "lastNObservations"),
    ("lastNObservations=99999999999999999999999", "lastNObservations"),
    ("offset=-1", "offset"),
    ("limit=0", "limit"),
    ("limit=x", "limit"),
    ("sort=TIME_PERIOD:up", "sort"),
    ("sort=A+A", "sort"),
    ("attributes=none,OBS_STATUS", "attributes"),
    ("measures=OBS VALUE", "measures"),
    ("dimensionAtObservation=1X", "dimensionAtObservation"),
    ("reportingYearStartDay=--13-01", "reportingYearStartDay"),
    ("includeHistory=maybe", "includeHistory"),
])
def test_bad_parameters_are_400_naming_them(query, name):
    with pytest.raises(SyntaxError_) as caught:
        q("dataflow/ECB/EXR", query)
    assert name in caught.value.message


def test_revision_parameters():
    got = q("dataflow/ECB/EXR", "updatedAfter=2020-01-01T00:00:00Z&includeHistory=true&asOf=2021-01-01T01:30:00%2B01:00")
    assert got.updated_after == datetime(2020, 1, 1, tzinfo=timezone.utc)
    assert got.as_of == datetime(2021, 1, 1, 0, 30, tzinfo=timezone.utc)
    assert got.include_history is True
    assert q("dataflow/ECB/EXR", "updatedAfter=2020-01-01T00:00:00").updated_after.tzinfo is not None  # UTC
    with pytest.raises(SyntaxError_, match="updatedAfter"):
        q("dataflow/ECB/EXR", "updatedAfter=yesterday")


def test_other_parameters():
    got = q("dataflow/ECB/EXR", "firstNObservations=2&lastNObservations=1&dimensionAtObservation=AllDimensions"
                                "&attributes=dataset,OBS_STATUS&measures=none&offset=10&limit=5"
                                "&sort=series_key:asc+TIME_PERIOD:desc&reportingYearStartDay=--07-01"
                                "&includeHistory=false")
    assert (got.first_n, got.last_n, got.dimension_at_observation) == (2, 1, "AllDimensions")
    assert (got.attributes, got.measures, got.offset, got.limit) == (("dataset", "OBS_STATUS"), ("none",), 10, 5)
    assert got.sort == (("series_key", False), ("TIME_PERIOD", True))
    assert got.reporting_year_start_day == "--07-01"
    assert parse_sort("*") == (("*", False),)


def test_availability():
    query = parse_availability_query("dataflow/ECB/EXR/1.0.0/M..EUR/CURRENCY".split("/"),
                                     QueryParams("mode=available&references=codelist,conceptscheme&c[X]=A"),
                                     "mode=available&references=codelist,conceptscheme&c[X]=A")
    assert (query.component, query.mode, query.references) == ("CURRENCY", "available", ("codelist", "conceptscheme"))
    assert query.data.keys == ((("M",), None, ("EUR",)),) and query.data.filters[0].component == "X"
    default = parse_availability_query([], QueryParams(""))
    assert (default.component, default.mode, default.references) == (None, "exact", ("none",))
    with pytest.raises(SyntaxError_, match="mode"):
        parse_availability_query(["dataflow"], QueryParams("mode=all"))
    with pytest.raises(SyntaxError_, match="references"):
        parse_availability_query(["dataflow"], QueryParams("references=parents"))


def test_availability_v1():
    query = parse_availability_query_v1("ECB,EXR,1.0", "M..EUR", "all", "CURRENCY",
                                        {"mode": "available", "startPeriod": "2020", "references": "all"})
    assert query.data.ids == ("EXR",) and query.data.keys == ((("M",), None, ("EUR",)),)
    assert query.data.start.text == "2020" and query.component == "CURRENCY"
    assert (query.mode, query.references) == ("available", ("all",))
    assert parse_availability_query_v1("EXR", None, None, "all", {}).component is None
    with pytest.raises(SyntaxError_):
        parse_availability_query_v1("EXR", None, None, None, {"references": "valuelist"})  # v2 only
    # Parsed as for data; the availability service answers it 501 (tests/test_availability.py).
    assert parse_availability_query_v1("EXR", None, None, None, {"updatedAfter": "2020-01-01T00:00:00"}).data.updated_after


# -- any string ----------------------------------------------------------------------------------

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=30) | st.sampled_from(
    ["ge:2020+le:2021", "A,B+C", "ne:A,ne:B", "*", ":", "eq:", "co:%", "2020-Q5", "+", ",", "%2B", "1e999"])


@settings(max_examples=300, deadline=None)
@given(path=st.lists(TEXT, max_size=7), name=st.sampled_from(
    ["c[FREQ]", "c[TIME_PERIOD]", "c[]", "c[c[X]]", "firstNObservations", "lastNObservations", "offset", "limit",
     "sort", "attributes", "measures", "dimensionAtObservation", "reportingYearStartDay", "includeHistory", "x"]),
       value=TEXT, raw=st.booleans())
def test_any_url_is_parsed_or_refused_with_a_400(path, name, value, raw):
    from urllib.parse import quote

    query = f"{quote(name, safe='[]')}={quote(value, safe='+,:')}"
    try:
        if raw:
            parse_data_query(path, QueryParams(query), query)
        else:
            parse_data_query(path, {name: value})
    except SyntaxError_ as exc:
        assert exc.status == 400 and exc.message
    except NotImplemented_:
        assert name == "includeHistory"
