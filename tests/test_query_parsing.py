"""REST v1 URL parsing: keys, flow references, parameters, content negotiation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdmx_server.versions import ALL, LATEST
from sdmx_server.errors import NotAcceptable, NotImplemented_, SyntaxError_
from sdmx_server.query.keys import fit_key, format_key, parse_key
from sdmx_server.query.parse_v1 import parse_data_query, parse_flow_ref, parse_structure_query

codes = st.from_regex(r"[A-Za-z0-9_@$\-]{1,8}", fullmatch=True)
key_parts = st.lists(st.one_of(st.none(), st.lists(codes, min_size=1, max_size=3, unique=True)), min_size=1, max_size=7)


@given(key_parts)
def test_key_round_trip(parts):
    text = ".".join("" if p is None else "+".join(p) for p in parts)
    key = parse_key(text)
    if all(p is None for p in parts):
        assert key is None or all(k is None for k in key)
        return
    assert key == tuple(None if p is None else tuple(p) for p in parts)
    assert format_key(key, len(parts)) == text


@pytest.mark.parametrize("text", ["M.US D", "M.<x>", "M.a'b", "M.a;b"])
def test_key_rejects_what_is_not_a_code(text):
    with pytest.raises(SyntaxError_):
        parse_key(text)


def test_key_wildcards_and_length():
    assert parse_key("all") is None
    assert parse_key("M..EUR") == (("M",), None, ("EUR",))
    assert parse_key("M.*.EUR") == (("M",), None, ("EUR",))
    assert fit_key(parse_key("..."), ("A", "B", "C", "D")) is None
    with pytest.raises(SyntaxError_, match="2 dimension"):
        fit_key(parse_key("M.X"), ("A", "B", "C"))


def test_flow_refs():
    assert parse_flow_ref("EXR").agency is None
    ref = parse_flow_ref("ECB,EXR,1.0")
    assert (ref.agency, ref.id, ref.version) == ("ECB", "EXR", "1.0")
    assert parse_flow_ref("all,EXR,latest").agency is None
    assert parse_flow_ref("ECB,EXR").version == "latest"
    for bad in ("ECB,EXR,1.0,x", "EC B,EXR", "ECB,E/X", "ECB,EXR,one"):
        with pytest.raises(SyntaxError_):
            parse_flow_ref(bad)


def test_data_parameters():
    q = parse_data_query("EXR", "M.USD", None, {"startPeriod": "2020-01", "ENDPERIOD": "2020-Q4",
                                                 "lastNObservations": "3", "detail": "dataonly"})
    assert q.start.text == "2020-01" and q.end.text == "2020-Q4" and q.last_n == 3 and q.detail == "dataonly"
    with pytest.raises(SyntaxError_):
        parse_data_query("EXR", None, None, {"startPeriod": "2020-13"})
    with pytest.raises(SyntaxError_):
        parse_data_query("EXR", None, None, {"firstNObservations": "0"})
    with pytest.raises(SyntaxError_):
        parse_data_query("EXR", None, None, {"detail": "everything"})
    with pytest.raises(NotImplemented_):
        parse_data_query("EXR", None, None, {"updatedAfter": "2020-01-01T00:00:00"})
    assert parse_data_query("EXR", None, None, {"includeHistory": "false"}).detail == "full"


def test_structure_parameters():
    q = parse_structure_query("codelist", "BIS+ECB", "CL_FREQ", None, "A+M", {"detail": "allstubs"})
    assert q.agencies == ("BIS", "ECB") and q.ids == ("CL_FREQ",) and q.versions == LATEST
    assert q.items == ("A", "M") and q.detail == "allstubs"
    assert parse_structure_query("dataflow", "all", "all", "all", None, {}).versions == ALL
    with pytest.raises(SyntaxError_):
        parse_structure_query("codelists", None, None, None, None, {})
    with pytest.raises(SyntaxError_):
        parse_structure_query("codelist", None, None, None, None, {"references": "cousins"})


