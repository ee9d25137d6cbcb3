"""The explorer's state (portal/explorer_query.py): the page's URL parameters as a selection,
the REST v2 URL of that selection, and the DataQuery the API's own parser makes of it."""

from __future__ import annotations

import pytest
from starlette.datastructures import QueryParams

from sdmx_server.errors import SyntaxError_
from sdmx_server.portal.explorer_query import FORMATS, selection_of

FLOW = ("SSO", "DF_INSURED", "1.0")
DIMS = ("FREQ", "PROVINCE", "SEX")
KNOWN = {"FREQ": {"M", "A"}, "PROVINCE": {"IR", "IR-10", "IR-23"}, "SEX": {"F", "M", "_T"}}


def test_the_selection_is_the_api_url_and_its_query():
    s = selection_of(FLOW, DIMS, QueryParams("PROVINCE=IR-10&PROVINCE=IR-23&SEX=F&start=2024-01&end=2024-12"), KNOWN)
    assert s.chosen and s.key == "*.IR-10+IR-23.F"
    assert s.api_path() == "/rest/v2/data/dataflow/SSO/DF_INSURED/1.0/*.IR-10+IR-23.F?c[TIME_PERIOD]=ge:2024-01+le:2024-12"
    q = s.data_query()
    assert q.api == "v2" and q.ids == ("DF_INSURED",) and q.agencies == ("SSO",)
    assert q.keys == ((None, ("IR-10", "IR-23"), ("F",)),)
    [time] = q.filters
    assert time.component == "TIME_PERIOD"
    assert [(c.operator, c.value) for c in time.alternatives[0]] == [("ge", "2024-01"), ("le", "2024-12")]
    a = s.availability_query()
    assert a.mode == "available" and a.data.keys == q.keys
    assert s.download("csv").endswith("?c[TIME_PERIOD]=ge:2024-01+le:2024-12&format=csv")
    assert s.page_query(labels="id") == "PROVINCE=IR-10&PROVINCE=IR-23&SEX=F&start=2024-01&end=2024-12&labels=id&chart=line"


def test_no_choice_is_every_series_and_no_period_no_filter():
    s = selection_of(FLOW, DIMS, QueryParams(""), KNOWN)
    assert not s.chosen and s.key == "*.*.*"
    assert s.api_path() == "/rest/v2/data/dataflow/SSO/DF_INSURED/1.0/*.*.*"
    assert s.data_query().keys is None and s.data_query().filters == ()
    assert s.download("xlsx").endswith("/*.*.*?format=xlsx")


def test_a_series_key_chooses_the_codes():
    s = selection_of(FLOW, DIMS, QueryParams("key=M.IR-10%2BIR-23&start=2024"), KNOWN)
    assert s.chosen and s.codes == {"FREQ": ("M",), "PROVINCE": ("IR-10", "IR-23")} and s.key == "M.IR-10+IR-23.*"
    assert selection_of(FLOW, DIMS, QueryParams("key=M.IR-10+IR-23"), KNOWN).key == "M.IR-10+IR-23.*"
    with pytest.raises(SyntaxError_):
        selection_of(FLOW, DIMS, QueryParams("key=M.IR.F.X"), KNOWN)
    with pytest.raises(SyntaxError_):
        selection_of(FLOW, DIMS, QueryParams("key=M.XX"), KNOWN)


@pytest.mark.parametrize("query, names", [
    ("PROVINCE=XX", "PROVINCE"), ("PROVINCE=IR%20X", "PROVINCE"), ("start=2024-13", "start"),
    ("end=soon", "end"), ("start=2025&end=2024", "start"), ("labels=all", "labels"), ("chart=pie", "chart"),
])
def test_bad_parameters_are_refused_by_name(query, names):
    with pytest.raises(SyntaxError_) as caught:
        selection_of(FLOW, DIMS, QueryParams(query), KNOWN)
    assert names in str(caught.value)


def test_every_format_name_is_one_the_api_negotiates():
    from sdmx_server.formats.media import negotiate

    rows = {negotiate("data", "v2", None, name).row for _, name, _ in FORMATS}  # NotAcceptable if unknown
    assert len(rows) == len(FORMATS)  # each download is a format of its own
