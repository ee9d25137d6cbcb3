"""SDMX REST v1 against a real server (uvicorn, real HTTP), on SQLite and PostgreSQL.

Every XML answer is validated against the official SDMX-ML 2.1 schemas; data answers are
compared with a pandas oracle: the frame that was loaded, filtered the way the query says.
"""

from __future__ import annotations

import io

import httpx
import pandas as pd
import pytest

from tests.datasets import ATTRIBUTES, FLOW_A, FLOW_B
from tests.xsd import assert_valid

CSV = "application/vnd.sdmx.data+csv;version=1.0.0"
CSV2 = "application/vnd.sdmx.data+csv;version=2.0.0"
SS = "application/vnd.sdmx.structurespecificdata+xml;version=2.1"
GENERIC = "application/vnd.sdmx.genericdata+xml;version=2.1"
NS = {
    "mes": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message",
    "str": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure",
    "com": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common",
    "g": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/generic",
}


def get(served, path: str, accept: str | None = None, **params) -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    return httpx.get(served.rest(path), headers=headers, params=params or None, timeout=60)


def csv_frame(body: bytes) -> pd.DataFrame:
    df = pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False)
    df["OBS_VALUE"] = df["OBS_VALUE"].astype(float)
    return df


def oracle(df: pd.DataFrame, **where) -> pd.DataFrame:
    for column, values in where.items():
        df = df[df[column].isin(values if isinstance(values, list) else [values])]
    return df.sort_values(["FREQ", "AREA", "SEX", "TIME_PERIOD"]).reset_index(drop=True)


def same_rows(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    columns = ["FREQ", "AREA", "SEX", "TIME_PERIOD", "OBS_VALUE", *ATTRIBUTES]
    got = got[columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected[columns].reset_index(drop=True), check_dtype=False)


def _error_text(response: httpx.Response) -> list[str]:
    """The texts of an error message, but the request's id (which every request has its own)."""
    return [t.text for t in assert_valid(response.content).iterfind(".//com:Text", NS)
            if not t.text.startswith("request id: ")]


# -- structures -----------------------------------------------------------------------------------


def test_dataflows_are_listed_without_the_internal_one(served):
    r = get(served, "dataflow")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.sdmx.structure+xml")
    doc = assert_valid(r.content)
    ids = sorted(e.get("id") for e in doc.iterfind(".//str:Dataflow", NS))
    assert ids == ["DF_A", "DF_B"]


def test_a_dsd_with_its_children(served):
    r = get(served, "datastructure/TEST/DSD_TEST/1.0", references="children")
    doc = assert_valid(r.content)
    assert [e.get("id") for e in doc.iterfind(".//str:DataStructure", NS)] == ["DSD_TEST"]
    codelists = sorted(e.get("id") for e in doc.iterfind(".//str:Codelist", NS))
    assert codelists == ["CL_AREA", "CL_FREQ", "CL_OBS_STATUS", "CL_SEX", "CL_UNIT_MULT"]
    assert doc.find(".//str:ConceptScheme", NS).get("id") == "CS_TEST"
    names = {e.get("{http://www.w3.org/XML/1998/namespace}lang"): e.text
             for e in doc.find(".//str:Codelist[@id='CL_AREA']", NS).iterfind("com:Name", NS)}
    assert names == {"fa": "منطقه", "en": "Area"}


def test_parents_never_show_the_internal_dataflow(served):
    doc = assert_valid(get(served, "datastructure/TEST/DSD_TEST", references="parents").content)
    assert sorted(e.get("id") for e in doc.iterfind(".//str:Dataflow", NS)) == ["DF_A", "DF_B"]
    for path in ("dataflow/TEST/DF_SECRET", "dataflow/TEST/DF_SECRET/1.0", "data/TEST,DF_SECRET,1.0"):
        secret = get(served, path)
        absent = get(served, path.replace("DF_SECRET", "DF_NOTHING"))
        assert secret.status_code == absent.status_code == 404, path
        # Word for word the answer about a dataflow that does not exist: nothing tells it apart.
        assert _error_text(secret) == [t.replace("DF_NOTHING", "DF_SECRET") for t in _error_text(absent)]


@pytest.mark.parametrize(
    "path, params, check",
    [
        ("codelist", {"detail": "allstubs"}, lambda d: not d.findall(".//str:Code", NS)),
        ("codelist/TEST/CL_AREA/latest/IR-23", {}, lambda d: [c.get("id") for c in d.iterfind(".//str:Code", NS)] == ["IR", "IR-23"]),
        ("codelist/TEST/CL_AREA/1.0/IR-23+IR-10", {}, lambda d: d.find(".//str:Codelist", NS).get("isPartial") == "true"),
        ("codelist/all/all/all", {}, lambda d: len(d.findall(".//str:Codelist", NS)) == 5),
        ("conceptscheme/TEST", {}, lambda d: len(d.findall(".//str:Concept", NS)) == 9),
        ("dataflow/TEST/DF_A/1.0", {"references": "all", "detail": "referencestubs"},
         lambda d: d.find(".//str:DataStructure", NS).get("isExternalReference") == "true"),
        ("structure/TEST", {"detail": "allstubs"}, lambda d: len(d.findall(".//str:Dataflow", NS)) == 2),
        ("datastructure/TEST/DSD_TEST", {"references": "descendants", "detail": "referencepartial"},
         lambda d: len(d.findall(".//str:Concept", NS)) == 9),
        ("dataflow/TEST/DF_A", {"references": "codelist"},
         lambda d: len(d.findall(".//str:Codelist", NS)) == 5 and not d.findall(".//str:DataStructure", NS)),
    ],
)
def test_structure_queries(served, path, params, check):
    r = get(served, path, **params)
    assert r.status_code == 200, r.text
    assert check(assert_valid(r.content))


# -- data -----------------------------------------------------------------------------------------


def test_all_data_as_csv_equals_what_was_loaded(served):
    r = get(served, "data/TEST,DF_A,1.0/all", CSV)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.sdmx.data+csv")
    df = csv_frame(r.content)
    assert list(df.columns) == ["DATAFLOW", "FREQ", "AREA", "SEX", "TIME_PERIOD", "OBS_VALUE", *ATTRIBUTES]
    assert set(df.DATAFLOW) == {"TEST:DF_A(1.0)"}
    same_rows(df, oracle(served.frames[FLOW_A]))


def test_two_dataflows_on_one_dsd_answer_their_own_data(served):
    df = csv_frame(get(served, "data/DF_B", CSV).content)
    same_rows(df, oracle(served.frames[FLOW_B]))


@pytest.mark.parametrize(
    "key, params, where",
    [
        ("M.IR-23.F", {}, {"FREQ": "M", "AREA": "IR-23", "SEX": "F"}),
        ("M.IR-23+IR-10.", {}, {"FREQ": "M", "AREA": ["IR-23", "IR-10"]}),
        (".IR.", {"startPeriod": "2021-01"}, {"AREA": "IR"}),
        ("Q..", {"startPeriod": "2020-Q3", "endPeriod": "2021-Q2"}, {"FREQ": "Q"}),
        ("M..M", {"endPeriod": "2020-03"}, {"FREQ": "M", "SEX": "M"}),
        ("", {"startPeriod": "2021"}, {}),
    ],
)
def test_keys_and_periods_select_what_pandas_selects(served, key, params, where):
    r = get(served, f"data/TEST,DF_A,1.0/{key}", CSV, **params)
    assert r.status_code == 200, r.text
    expected = oracle(served.frames[FLOW_A], **where)
    if "startPeriod" in params or "endPeriod" in params:
        from sdmx_server.query.periods import parse_period, parse_query_period

        start = parse_query_period(params["startPeriod"]).start if "startPeriod" in params else None
        end = parse_query_period(params["endPeriod"]).end if "endPeriod" in params else None
        keep = [
            (start is None or parse_period(p).start >= start) and (end is None or parse_period(p).end <= end)
            for p in expected.TIME_PERIOD
        ]
        expected = expected[keep].reset_index(drop=True)
    same_rows(csv_frame(r.content), expected)


def test_first_and_last_observations(served):
    last = csv_frame(get(served, "data/DF_A/M.IR.F", CSV, lastNObservations="2").content)
    assert list(last.TIME_PERIOD) == ["2021-11", "2021-12"]
    first = csv_frame(get(served, "data/DF_A/M.IR.F", CSV, firstNObservations="3").content)
    assert list(first.TIME_PERIOD) == ["2020-01", "2020-02", "2020-03"]


@pytest.mark.parametrize(
    "dimension, detail",
    [(d, x) for d in ("TIME_PERIOD", "AREA", "AllDimensions") for x in ("full", "dataonly", "serieskeysonly", "nodata")
     if not (d == "AllDimensions" and x in ("serieskeysonly", "nodata"))],  # a flat view has no series
)
def test_structure_specific_data_validates_against_its_schema(served, dimension, detail):
    schema = get(served, "schema/dataflow/TEST/DF_A/1.0", dimensionAtObservation=dimension)
    assert schema.status_code == 200
    r = get(served, "data/DF_A/M.IR+IR-03.", SS, dimensionAtObservation=dimension, detail=detail)
    assert r.status_code == 200, r.text
    doc = assert_valid(r.content, schema.content)
    obs = doc.findall(".//Obs")
    if detail in ("full", "dataonly"):
        assert len(obs) == len(oracle(served.frames[FLOW_A], FREQ="M", AREA=["IR", "IR-03"]))
    else:
        assert not obs and doc.findall(".//Series")
    if detail == "dataonly":
        assert all(o.get("OBS_STATUS") is None for o in obs)


@pytest.mark.parametrize("dimension", ["TIME_PERIOD", "SEX", "AllDimensions"])
def test_generic_data_validates_and_holds_the_values(served, dimension):
    r = get(served, "data/DF_A/Q.IR-10.", GENERIC, dimensionAtObservation=dimension)
    doc = assert_valid(r.content)
    expected = oracle(served.frames[FLOW_A], FREQ="Q", AREA="IR-10")
    values = sorted(float(v.get("value")) for v in doc.iterfind(".//g:ObsValue", NS))
    assert values == sorted(expected.OBS_VALUE)
    titles = {v.get("value") for v in doc.iterfind(".//g:Value[@id='TITLE']", NS)}
    assert titles == set(expected.TITLE)  # quotes, & and < survive escaping


def test_the_default_is_generic_data(served):
    r = get(served, "data/DF_A/M.IR.F")
    assert r.headers["content-type"].startswith("application/vnd.sdmx.genericdata+xml")
    assert_valid(r.content)


def test_series_details_need_series(served):
    r = get(served, "data/DF_A/M.IR.F", SS, dimensionAtObservation="AllDimensions", detail="serieskeysonly")
    assert r.status_code == 400


def test_time_series_formats_validate_against_their_schemas(served):
    # Fault 1: the time-series variants validate against the official schemas; the
    # structure-specific one only with the TimeSeries* types of the served DSD-specific schema.
    schema = get(served, "schema/dataflow/TEST/DF_A/1.0", dimensionAtObservation="TIME_PERIOD").content
    assert b'name="TimeSeriesDataSetType"' in schema
    expected = oracle(served.frames[FLOW_A], FREQ="M", AREA="IR", SEX="F")
    for accept, dsd_schema in (("application/vnd.sdmx.generictimeseriesdata+xml;version=2.1", None),
                               ("application/vnd.sdmx.structurespecifictimeseriesdata+xml;version=2.1", schema)):
        r = get(served, "data/DF_A/M.IR.F", accept)
        assert r.status_code == 200
        doc = assert_valid(r.content, dsd_schema)
        assert doc.tag.endswith("TimeSeriesData")
        values = [float(v) for v in doc.xpath("//*[local-name()='Obs']/@OBS_VALUE | //g:ObsValue/@value", namespaces=NS)]
        assert values == list(expected.OBS_VALUE)
    r = get(served, "data/DF_A/M.IR.F", "application/vnd.sdmx.generictimeseriesdata+xml;version=2.1",
            dimensionAtObservation="AREA")
    assert r.status_code == 400


def test_the_schema_without_time_series_types_fails_time_series_data(served):
    # The check above can fail: the same answer against a schema without the TimeSeries* types.
    schema = get(served, "schema/dataflow/TEST/DF_A/1.0", dimensionAtObservation="AREA").content
    schema = schema.replace(b"ObsLevelDim:AREA", b"ObsLevelDim:TIME_PERIOD")
    r = get(served, "data/DF_A/M.IR.F", "application/vnd.sdmx.structurespecifictimeseriesdata+xml;version=2.1")
    with pytest.raises(AssertionError, match="not valid"):
        assert_valid(r.content, schema)


def test_sdmx_csv_2(served):
    df = pd.read_csv(io.BytesIO(get(served, "data/DF_A/M.IR.F", CSV2).content), dtype=str, keep_default_na=False)
    assert list(df.columns[:3]) == ["STRUCTURE", "STRUCTURE_ID", "ACTION"]
    assert set(df.STRUCTURE) == {"dataflow"} and set(df.STRUCTURE_ID) == {"TEST:DF_A(1.0)"}


@pytest.mark.parametrize(
    "path",
    ["data/DF_A/M.IR.F/", "data/TEST%2CDF_A%2C1.0/M.IR%2BIR-10.F", "data/TEST,DF_A,latest/M.IR.F/all",
     "data/all,DF_A/M.IR.F", "data/DF_A/M.IR.F?startperiod=2020-01"],
)
def test_what_real_clients_send(served, path):
    r = httpx.get(served.rest(path), headers={"Accept": CSV}, timeout=60)
    assert r.status_code == 200, (path, r.text)
    assert len(csv_frame(r.content)) > 0


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, accept, status, code",
    [
        ("data/DF_A/M.IR-99.F", None, 404, "100"),
        ("data/NOPE", None, 404, "100"),
        ("data/DF_A/M.IR", None, 400, "140"),
        ("data/DF_A/M.IR.F?startPeriod=2020-13", None, 400, "140"),
        ("data/DF_A/M.IR.F?detail=everything", None, 400, "140"),
        ("data/DF_A/M.IR.F?dimensionAtObservation=NOPE", None, 400, "140"),
        ("data/DF_A/M.IR.F?updatedAfter=2099-01-01T00:00:00Z", None, 404, "100"),  # nothing changed since
        ("data/DF_A/M.IR.F?updatedAfter=yesterday", None, 400, "140"),
        ("data/DF_A/M.IR.F/ECB", None, 501, "501"),
        ("data/DF_A/M.IR.F", "application/vnd.sdmx.data+json;version=2.0.0", 406, "406"),
        ("availableconstraint/DF_A/X..", None, 404, "100"),  # no data match (api/availability.py)
        ("hierarchicalcodelist", None, 404, "100"),  # none loaded
        ("codelist/TEST/CL_AREA/1.0?references=cousins", None, 400, "140"),
        ("dataflow/TEST/DF_A/1.0/X", None, 400, "140"),  # a dataflow has no items
        ("codelist/TEST/NOPE", None, 404, "100"),
        ("codelists", None, 400, "140"),
        ("codelist/TE ST", None, 400, "140"),
        ("v2/data/dataflow/TEST/DF_A/1.0?asOf=2020-01-01T00:00:00Z", None, 404, "100"),  # before any load
    ],
)
def test_errors_are_sdmx_error_messages(served, path, accept, status, code):
    r = httpx.get(served.rest(path), headers={"Accept": accept} if accept else {}, timeout=60)
    assert r.status_code == status, r.text
    doc = assert_valid(r.content)
    assert doc.find("{*}ErrorMessage").get("code") == code
    if status == 406:
        assert "genericdata" in r.text  # the answer lists what is offered


def test_unknown_paths_are_sdmx_errors_too(served):
    """Under the API; elsewhere an unknown path is the portal's (an HTML page, tests/test_portal_errors.py)."""
    r = httpx.get(served.url + "/api/nothing/here", timeout=60)
    assert r.status_code == 404
    assert_valid(r.content)
