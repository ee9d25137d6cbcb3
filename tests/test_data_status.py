"""Status codes of data answers (status.md for REST v2, v1.5.0 for REST v1), over real HTTP:
400 for a query that is not the API's syntax, 422 (v2) for one the structure cannot answer,
404 (or 204, as configured) for no data, 501 for what is not built, never a 500."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import running_server
from tests.xsd import assert_valid

CSV2 = "application/vnd.sdmx.data+csv;version=2.0.0"


def status(served, path, accept=CSV2):
    r = httpx.get(served.url + path, headers={"Accept": accept} if accept else {}, timeout=60)
    if r.status_code >= 400:
        assert_valid(r.content)  # an SDMX error message, of the API's version
    return r.status_code


@pytest.mark.parametrize("path, code", [
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0/M.IR.F", 200),
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0/M.IR", 200),  # missing trailing dimensions are wildcards
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0/M.IR.F.X", 422),  # one dimension too many
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0?c%5BNOPE%5D=1", 422),
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0?c%5BOBS_VALUE%5D=co:1", 422),
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0?c%5BOBS_VALUE%5D=ge:many", 422),
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0?c%5BOBS_VALUE%5D=ge:1e999", 422),
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0?measures=VALUE", 422),
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0?attributes=NOPE", 422),
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0?sort=NOPE", 422),
    ("/rest/v2/data/cube/TEST/DF_A", 400),
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0?c%5BTIME_PERIOD%5D=ge:2020-13", 400),
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0?limit=-1", 400),
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0?dimensionAtObservation=NOPE", 400),
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0/Q.XX", 404),
    ("/rest/v2/data/dataflow/TEST/NOPE", 404),
    ("/rest/v2/data/dataflow/TEST/DF_SECRET/1.0", 404),  # internal dataflows are invisible
    ("/rest/v2/data/dataflow/TEST/DF_A/2.0", 404),
    ("/rest/v2/data/provisionagreement/TEST/PA_A/1.0", 501),
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0?updatedAfter=2020-01-01T00:00:00Z", 200),  # every load came after
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0?includeHistory=true", 200),
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0?updatedAfter=2999-01-01T00:00:00Z", 404),  # nothing changed since
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0?asOf=2000-01-01T00:00:00Z", 404),  # before any load
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0?asOf=2021-01-01&updatedAfter=2022-01-01", 400),
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0?asOf=soon", 400),
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0?asOf=0001-01-01T00:00:00Z", 404),
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0?asOf=0001-01-01T00:00:00%2B01:00", 400),  # before the year 1 in UTC
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0?asOf=9999-12-31T23:59:59Z", 200),
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0?asOf=2999-01-01T00:00:00%2B03:30&updatedAfter=0001-01-01", 200),
    ("/rest/data/TEST,DF_A,1.0/M.IR.F?updatedAfter=2020-01-01T00:00:00Z&includeHistory=true", 200),
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0?includeHistory=maybe", 400),
    ("/rest/v2/availability/dataflow/TEST/DF_A/1.0", 406),  # availability is a structure message: no SDMX-CSV
    ("/rest/data/TEST,DF_A,1.0/M.IR", 400),  # REST v1 wants every dimension
    ("/rest/data/TEST,DF_A,1.0/M.IR.F?startPeriod=9999", 404),  # fault 2: a query, no data
    ("/rest/data/TEST,DF_A,1.0/M.IR.F?endPeriod=9999-12-31", 200),
])
def test_status(served, path, code):
    assert status(served, path) == code


def test_unknown_formats_are_406(served):
    assert status(served, "/rest/v2/data/dataflow/TEST/DF_A/1.0", "application/vnd.sdmx.data+csv;version=2.0.0;"
                                                                    "keys=nonsense") == 406
    assert status(served, "/rest/v2/data/dataflow/TEST/DF_A/1.0?format=nope", None) == 406


def test_fault_3_end_at_the_last_second_includes_the_day(served):
    r = httpx.get(served.url + "/rest/data/TEST,DF_A,1.0/M.IR.F?startPeriod=2021-04&endPeriod=2021-04-30T23:59:59",
                  headers={"Accept": CSV2}, timeout=60)
    assert r.status_code == 200
    assert [line.split(",")[6] for line in r.text.splitlines()[1:]] == ["2021-04"]
    r = httpx.get(served.url + "/rest/v2/data/dataflow/TEST/DF_A/1.0/M.IR.F?"
                  "c%5BTIME_PERIOD%5D=ge:2021-04+le:2021-04-30T23:59:59", headers={"Accept": CSV2}, timeout=60)
    assert [line.split(",")[6] for line in r.text.splitlines()[1:]] == ["2021-04"]


def test_no_data_may_be_204(served):
    with running_server(replace(served.settings, no_data_status=204)) as other:
        r = httpx.get(other.url + "/rest/v2/data/dataflow/TEST/DF_A/1.0/Q.XX", headers={"Accept": CSV2}, timeout=60)
        assert r.status_code == 204 and r.content == b""
        # REST v1 keeps its 404
        assert httpx.get(other.url + "/rest/data/TEST,DF_A,1.0/Q.XX.F", timeout=60).status_code == 404


def test_the_v2_answer_without_accept(served):
    r = httpx.get(served.url + "/rest/v2/data/dataflow/TEST/DF_A/1.0/M.IR.F", timeout=60)
    assert r.status_code == 200
    # Until the spec's default (SDMX-JSON 2.1.0) is offered, the first v2 row answers.
    assert r.headers["content-type"].startswith("application/vnd.sdmx.")


ANY = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(component=st.sampled_from(["FREQ", "TITLE", "OBS_VALUE", "TIME_PERIOD", "COMMENT", "X"]),
       op=st.sampled_from(["", "eq:", "ne:", "lt:", "ge:", "co:", "nc:", "sw:", "ew:", "zz:"]),
       value=ANY, key=st.sampled_from(["*", "M.IR", "M..F", "M.IR.F,Q", "%2A", ".."]))
def test_no_filter_is_a_500(served, component, op, value, key):
    path = f"/rest/v2/data/dataflow/TEST/DF_A/1.0/{key}?c%5B{component}%5D={op}{quote(value, safe='')}"
    assert status(served, path) in (200, 400, 404, 422)
