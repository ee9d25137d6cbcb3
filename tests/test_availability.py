"""Availability over real HTTP (v1 /rest/availableconstraint, v2 /rest/v2/availability), on
SQLite and PostgreSQL (conftest.served).

The oracle: hypothesis draws keys, c[] filters (dimensions, TIME_PERIOD, an attribute), time
ranges, modes and componentIDs; every answer, in every structure format that carries it
(validated against the official XSDs and JSON schemas), equals the same selection done in
pandas on the frame that was loaded. sdmx1 reads the SDMX-ML answers back.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

import httpx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from sdmx_server.query.periods import epoch_us, parse_period
from tests import jsonschemas, xsd
from tests.datasets import AREAS, FLOW_A, SEXES

DIMS = ["FREQ", "AREA", "SEX"]
ML21 = "application/vnd.sdmx.structure+xml;version=2.1"
JSON10 = "application/vnd.sdmx.structure+json;version=1.0.0"
ML30 = "application/vnd.sdmx.structure+xml;version=3.0.0"
ML31 = "application/vnd.sdmx.structure+xml;version=3.1.0"
JSON20 = "application/vnd.sdmx.structure+json;version=2.0.0"
JSON21 = "application/vnd.sdmx.structure+json;version=2.1.0"
V1_FORMATS = (ML21, JSON10)
V2_FORMATS = (JSON21, ML31, JSON20, ML30)
_EPOCH = datetime(1970, 1, 1)


# -- the oracle -----------------------------------------------------------------------------------


def with_bounds(df: pd.DataFrame) -> pd.DataFrame:
    bounds = {p: parse_period(p) for p in df.TIME_PERIOD.unique()}
    return df.assign(start=df.TIME_PERIOD.map(lambda p: epoch_us(bounds[p].start)),
                     end=df.TIME_PERIOD.map(lambda p: epoch_us(bounds[p].end)))


def _condition(values: pd.Series, op: str, value: str) -> pd.Series:
    text = values.astype(object)
    present = text.notna()
    s = text.fillna("").astype(str)
    return {
        "eq": present & (s == value), "ne": ~present | (s != value),
        "lt": present & (s < value), "le": present & (s <= value),
        "gt": present & (s > value), "ge": present & (s >= value),
        "co": present & s.str.contains(value, regex=False), "nc": ~present | ~s.str.contains(value, regex=False),
        "sw": present & s.str.startswith(value), "ew": present & s.str.endswith(value),
    }[op]


def _time_condition(df: pd.DataFrame, op: str, value: str) -> pd.Series:
    p = parse_period(value)
    lo, hi = epoch_us(p.start), epoch_us(p.end)
    return {"ge": df.start >= lo, "gt": df.start >= hi, "le": df.end <= hi, "lt": df.end <= lo}[op]


def expected(df: pd.DataFrame, q: dict) -> dict | None:
    """What the answer must say, computed in pandas; None when nothing matches (404)."""
    true = pd.Series(True, index=df.index)

    def keys_but(skip):
        if q["keys"] is None:
            return true
        out = ~true
        for key in q["keys"]:
            one = true
            for d, codes in zip(DIMS, key):
                if codes is not None and d != skip:
                    one = one & df[d].isin(codes)
            out = out | one
        return out

    def filters_but(skip):
        out = true
        for component, alternatives in q["filters"].items():
            if component == skip:
                continue
            any_ = ~true
            for alternative in alternatives:
                all_ = true
                for op, value in alternative:
                    all_ = all_ & (_time_condition(df, op, value) if component == "TIME_PERIOD"
                                   else _condition(df[component], op, value))
                any_ = any_ | all_
            out = out & any_
        if q.get("start"):
            out = out & (df.start >= epoch_us(parse_period(q["start"]).start))
        if q.get("end"):
            out = out & (df.end <= epoch_us(parse_period(q["end"]).end))
        return out

    exact = keys_but(None) & filters_but(None)
    if not exact.any():
        return None
    matched = df[exact]
    codes = {}
    for d in DIMS:
        if q["component"] not in (None, d):
            continue
        rows = matched if q["mode"] == "exact" else df[keys_but(d) & filters_but(d)]
        codes[d] = sorted(rows[d].unique())
    time = None
    if q["component"] in (None, "TIME_PERIOD"):
        time = (_instant(matched.start.min()), _instant(matched.end.max() - 1_000_000))
    return {"codes": codes, "time": time, "obs": int(exact.sum()),
            "series": len(matched[DIMS].drop_duplicates())}


def _instant(us: int) -> str:
    return (_EPOCH + timedelta(microseconds=int(us))).isoformat()


# -- reading answers ------------------------------------------------------------------------------


def read_answer(body: bytes, accept: str) -> dict:
    """The constraint's content, after validating the message against its official schema."""
    if "json" in accept:
        version = accept.rsplit("=", 1)[1][:3]
        doc = jsonschemas.assert_valid(body, version)  # type: ignore[arg-type]
        data = doc["data"]
        if version == "2.1":
            (constraint,) = data["availabilityConstraints"]
            region, metrics = constraint["cubeRegion"], (constraint["obsCount"], constraint["seriesCount"])
        else:
            (constraint,) = data["contentConstraints" if version == "1.0" else "dataConstraints"]
            assert constraint.get("type", constraint.get("role")) == "Actual"
            (region,) = constraint["cubeRegions"]
            notes = {a["id"]: int(a["title"]) for a in constraint["annotations"]}
            metrics = (notes["obs_count"], notes["series_count"])
        codes, time = {}, None
        for kv in region.get("keyValues", []):
            if "timeRange" in kv:
                tr = kv["timeRange"]
                time = (tr["startPeriod"]["period"], tr["endPeriod"]["period"])
            else:
                codes[kv["id"]] = [v if isinstance(v, str) else v["value"] for v in kv["values"]]
        return {"codes": codes, "time": time, "obs": metrics[0], "series": metrics[1]}
    doc = xsd.assert_valid(body)
    ns = {"s": doc.nsmap["str"], "c": doc.nsmap["com"]}
    constraint = doc.xpath("//s:ContentConstraint|//s:DataConstraint|//s:AvailabilityConstraint", namespaces=ns)
    assert len(constraint) == 1
    c = constraint[0]
    if etree.QName(c).localname == "AvailabilityConstraint":
        metrics = (int(c.get("obsCount")), int(c.get("seriesCount")))
    else:
        assert c.get("type", c.get("role")) == "Actual"
        notes = {a.get("id"): int(a.findtext("c:AnnotationTitle", namespaces=ns))
                 for a in c.xpath("c:Annotations/c:Annotation", namespaces=ns)}
        metrics = (notes["obs_count"], notes["series_count"])
    codes, time = {}, None
    for kv in c.xpath("s:CubeRegion/*[local-name()='KeyValue']", namespaces=ns):
        tr = kv.xpath("*[local-name()='TimeRange']")
        if tr:
            time = (tr[0].xpath("string(*[local-name()='StartPeriod'])"),
                    tr[0].xpath("string(*[local-name()='EndPeriod'])"))
        else:
            codes[kv.get("id")] = [v.text for v in kv.xpath("*[local-name()='Value']")]
    return {"codes": codes, "time": time, "obs": metrics[0], "series": metrics[1]}


# -- queries ----------------------------------------------------------------------------------------

_CODES = {"FREQ": ["M", "Q"], "AREA": AREAS + ["IR-99"], "SEX": SEXES}
_PERIODS = ["2020", "2020-06", "2020-Q3", "2021-01", "2021-Q2", "2022"]


@st.composite
def keys(draw, several: bool):
    if draw(st.booleans()):
        return None
    count = draw(st.integers(1, 2 if several else 1))
    out = []
    for _ in range(count):
        out.append(tuple(draw(st.one_of(st.none(), st.lists(st.sampled_from(_CODES[d]), min_size=1, max_size=3,
                                                              unique=True).map(sorted))) for d in DIMS))
    return out


_DIM_FILTER = st.tuples(st.sampled_from(["eq", "ne", "sw", "ew", "co", "nc", "lt", "ge"]),
                        st.sampled_from(["IR", "IR-", "-2", "3", "M", "Q", "_T", "F"]))
_TIME_FILTER = st.tuples(st.sampled_from(["ge", "gt", "le", "lt"]), st.sampled_from(_PERIODS))
_ATTR_FILTER = st.tuples(st.sampled_from(["eq", "ne"]), st.sampled_from(["A", "P", "E"]))


def _alternatives(atom):
    return st.lists(st.lists(atom, min_size=1, max_size=2), min_size=1, max_size=2)


@st.composite
def v2_queries(draw):
    filters = {}
    for component, atom in (("AREA", _DIM_FILTER), ("SEX", _DIM_FILTER), ("FREQ", _DIM_FILTER),
                            ("TIME_PERIOD", _TIME_FILTER), ("OBS_STATUS", _ATTR_FILTER)):
        if draw(st.integers(0, 3)) == 0:
            filters[component] = draw(_alternatives(atom))
    return {"keys": draw(keys(True)), "filters": filters, "mode": draw(st.sampled_from(["exact", "available"])),
            "component": draw(st.sampled_from([None, None, *DIMS, "TIME_PERIOD"])),
            "accept": draw(st.sampled_from(V2_FORMATS))}


@st.composite
def v1_queries(draw):
    start = draw(st.one_of(st.none(), st.sampled_from(_PERIODS)))
    end = draw(st.one_of(st.none(), st.sampled_from(_PERIODS)))
    return {"keys": draw(keys(False)), "filters": {}, "start": start, "end": end,
            "mode": draw(st.sampled_from(["exact", "available"])),
            "component": draw(st.sampled_from([None, None, *DIMS])), "accept": draw(st.sampled_from(V1_FORMATS))}


def _key_text(key, sep: str, any_: str) -> str:
    return ".".join(any_ if codes is None else sep.join(codes) for codes in key)


def v2_url(served, q: dict) -> tuple[str, dict]:
    key = "*" if q["keys"] is None else ",".join(_key_text(k, "+", "*") for k in q["keys"])
    params = {"mode": q["mode"]}
    for component, alternatives in q["filters"].items():
        params[f"c[{component}]"] = ",".join("+".join(f"{op}:{v}" for op, v in alt) for alt in alternatives)
    path = f"v2/availability/dataflow/TEST/DF_A/1.0/{key}/{q['component'] or '*'}"
    return served.rest(path), params


def v1_url(served, q: dict) -> tuple[str, dict]:
    # ("..", all three dimensions wildcarded, is a dot-segment that URL clients remove)
    key = "all" if q["keys"] is None or q["keys"][0] == (None,) * 3 else _key_text(q["keys"][0], "+", "")
    params = {"mode": q["mode"]}
    for name in ("start", "end"):
        if q.get(name):
            params[f"{name}Period"] = q[name]
    return served.rest(f"availableconstraint/TEST,DF_A,1.0/{key}/all/{q['component'] or 'all'}"), params


def check(served, q: dict, url: str, params: dict) -> None:
    want = expected(with_bounds(served.frames[FLOW_A]), q)
    # Written out: in a query string '+' is AND (c[] filters) and a client must not encode it.
    query = "&".join(f"{name}={value}" for name, value in params.items())
    r = httpx.get(f"{url}?{query}", headers={"Accept": q["accept"]}, timeout=60)
    if want is None:
        assert r.status_code == 404, (r.status_code, r.text[:500])
        return
    assert r.status_code == 200, (r.status_code, r.text[:800])
    got = read_answer(r.content, q["accept"])
    assert got == want, (url, params)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(q=v2_queries())
def test_v2_availability_equals_pandas(served, q):
    check(served, q, *v2_url(served, q))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(q=v1_queries())
def test_v1_availability_equals_pandas(served, q):
    check(served, q, *v1_url(served, q))


# -- what the examples of availability.md show ----------------------------------------------------


def answer(served, path: str, accept=JSON20, **params) -> dict:
    r = httpx.get(served.rest(path), params=params, headers={"Accept": accept}, timeout=60)
    assert r.status_code == 200, r.text[:500]
    return read_answer(r.content, accept)


def test_available_keeps_what_the_other_selections_allow(served):
    # Q has data for fewer periods, but for every area and sex: selecting M.IR leaves the other
    # areas and frequencies available, and only the series of M.IR in SEX.
    got = answer(served, "v2/availability/dataflow/TEST/DF_A/1.0/M.IR.*", mode="available")
    assert got["codes"] == {"FREQ": ["M", "Q"], "AREA": sorted(AREAS), "SEX": sorted(SEXES)}
    exact = answer(served, "v2/availability/dataflow/TEST/DF_A/1.0/M.IR.*")
    assert exact["codes"] == {"FREQ": ["M"], "AREA": ["IR"], "SEX": sorted(SEXES)}
    assert exact["series"] == 3 and exact["obs"] == 3 * 24


def test_component_id_answers_one_dimension(served):
    got = answer(served, "availableconstraint/DF_A/all/all/AREA", ML21)
    assert got["codes"] == {"AREA": sorted(AREAS)} and got["time"] is None


def test_no_default_accept_and_the_defaults(served):
    r = httpx.get(served.rest("v2/availability/dataflow/TEST/DF_A"), headers={"Accept": ""}, timeout=60)
    assert r.status_code == 200 and "version=2.1.0" in r.headers["content-type"]
    jsonschemas.assert_valid(r.content, "2.1")
    r = httpx.get(served.rest("v2/availability/dataflow/TEST/DF_A"), timeout=60)  # */*: sdmx1 reads XML
    assert r.status_code == 200 and "version=3.0.0" in r.headers["content-type"]
    xsd.assert_valid(r.content)
    r = httpx.get(served.rest("availableconstraint/DF_A"), headers={"Accept": ""}, timeout=60)
    assert r.status_code == 200 and "version=2.1" in r.headers["content-type"]
    xsd.assert_valid(r.content)


@pytest.mark.parametrize("accept", [ML21, JSON10])
def test_references_all_v1(served, accept):
    r = httpx.get(served.rest("availableconstraint/DF_A/M.IR+IR-23."), params={"references": "all"},
                  headers={"Accept": accept}, timeout=60)
    assert r.status_code == 200, r.text[:500]
    if accept == ML21:
        doc = xsd.assert_valid(r.content)
        ns = {"s": doc.nsmap["str"]}
        areas = doc.xpath("//s:Codelist[@id='CL_AREA']", namespaces=ns)[0]
        assert areas.get("isPartial") == "true"
        assert [c.get("id") for c in areas.xpath("s:Code", namespaces=ns)] == ["IR", "IR-23"]
        assert doc.xpath("//s:Dataflow[@id='DF_A']", namespaces=ns)
        assert doc.xpath("//s:DataStructure[@id='DSD_TEST']", namespaces=ns)
    else:
        data = jsonschemas.assert_valid(r.content, "1.0")["data"]
        assert {"dataflows", "dataStructures", "codelists", "conceptSchemes", "contentConstraints"} <= set(data)


@pytest.mark.parametrize("accept", V2_FORMATS)
def test_references_codelist_v2_are_partial(served, accept):
    r = httpx.get(served.rest("v2/availability/dataflow/TEST/DF_A/1.0/Q.IR-10.F"), params={"references": "codelist"},
                  headers={"Accept": accept}, timeout=60)
    assert r.status_code == 200, r.text[:500]
    if "json" in accept:
        data = jsonschemas.assert_valid(r.content, accept.rsplit("=", 1)[1][:3])["data"]
        areas = next(c for c in data["codelists"] if c["id"] == "CL_AREA")
        assert areas["isPartial"] is True
        assert [c["id"] for c in areas["codes"]] == ["IR", "IR-10"]  # with its parent
    else:
        doc = xsd.assert_valid(r.content)
        ns = {"s": doc.nsmap["str"]}
        areas = doc.xpath("//s:Codelist[@id='CL_AREA']", namespaces=ns)[0]
        assert [c.get("id") for c in areas.xpath("s:Code", namespaces=ns)] == ["IR", "IR-10"]


@pytest.mark.parametrize("path, status", [
    ("availableconstraint/DF_A/X..", 404),  # no data match
    ("availableconstraint/DF_NONE", 404),
    ("availableconstraint/DF_SECRET", 404),  # internal dataflows are invisible
    ("availableconstraint/DF_A/M.IR", 400),  # wrong key length
    ("availableconstraint/DF_A/all/all/NOPE", 400),
    ("availableconstraint/DF_A?mode=sometimes", 400),
    ("availableconstraint/DF_A?references=everything", 400),
    ("availableconstraint/DF_A?updatedAfter=2099-01-01T00:00:00", 404),  # nothing changed since
    ("v2/availability/dataflow/TEST/DF_A/1.0/*?asOf=2020-01-01T00:00:00", 400),  # not an availability parameter
    ("availableconstraint/DF_A/all/ECB", 501),
    ("v2/availability/dataflow/TEST/DF_A/1.0/*/NOPE", 422),
    ("v2/availability/dataflow/TEST/DF_A/1.0/*?c[NOPE]=1", 422),
    ("v2/availability/dataflow/TEST/DF_A/1.0/*?c[OBS_VALUE]=co:1", 422),  # text match on a number
    ("v2/availability/dataflow/TEST/DF_A/1.0/*?c[TIME_PERIOD]=ge:yesterday", 400),
    ("v2/availability/nothing/TEST/DF_A", 400),
    ("v2/availability/dataflow/TEST/DF_A/1.0/*/*/extra", 400),
])
def test_bad_and_empty_queries(served, path, status):
    r = httpx.get(served.rest(path), timeout=60)
    assert r.status_code == status, r.text[:500]


def test_sdmx1_reads_the_constraint(served):
    import sdmx

    # (sdmx1 2.x does not read an SDMX-ML 3.0 TimeRange: there the answer is asked for AREA only)
    for accept, path in ((ML21, "availableconstraint/DF_A/Q.."),
                         (ML30, "v2/availability/dataflow/TEST/DF_A/1.0/Q.IR+IR-10.*/AREA")):
        r = httpx.get(served.rest(path), headers={"Accept": accept}, timeout=60)
        assert r.status_code == 200
        message = sdmx.read_sdmx(io.BytesIO(r.content))
        (constraint,) = message.constraint.values()
        assert constraint.role.role.name == "actual"
        region = constraint.data_content_region[0]
        values = {c.id: sorted(v.value for v in ms.values if hasattr(v, "value"))
                  for c, ms in region.member.items()}
        if accept == ML21:
            assert values["FREQ"] == ["Q"] and values["AREA"] == sorted(AREAS)
        else:
            assert values == {"AREA": ["IR", "IR-10"]}


def test_answers_follow_loads(served, tmp_path):
    """Never a stale answer: a load that removes a series changes the next answer."""
    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data
    from sdmx_server.store.database import Database
    from tests.datasets import FLOW_B, write

    before = answer(served, "v2/availability/dataflow/TEST/DF_B/1.0/*.*.F")
    assert "IR-03" in before["codes"]["AREA"]
    db = Database(served.settings.database_url)
    try:
        text = "DATAFLOW,FREQ,AREA,SEX,TIME_PERIOD\nTEST:DF_B(1.0),,IR-03,F,\n"
        outcome = load_data(db, _registry(db), FLOW_B, write(tmp_path / "d.csv", text), "delete", served.settings)
        assert outcome.applied, outcome.report.text()
    finally:
        db.dispose()
    after = answer(served, "v2/availability/dataflow/TEST/DF_B/1.0/*.*.F")
    assert "IR-03" not in after["codes"]["AREA"]
    assert after["obs"] == before["obs"] - (6 + 2)


def test_no_data_may_be_204_in_v2(tmp_path):
    """settings.no_data_status=204 (status.md's "empty but healthy"): v2 only; v1 keeps 404."""
    from dataclasses import replace

    from starlette.testclient import TestClient

    from sdmx_server.api.app import create_app
    from sdmx_server.boot import create_schema
    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data
    from sdmx_server.registry.load import load_structures
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database
    from tests.datasets import CONTENT, frame, sdmx_csv, write

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'store.db'}", data_dir=tmp_path)
    db = Database(settings.database_url)
    create_schema(db)
    assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings).ok
    path = write(tmp_path / "a.csv", sdmx_csv(frame(months=2, quarters=0)))
    assert load_data(db, _registry(db), FLOW_A, path, "merge", settings).applied
    db.dispose()
    with TestClient(create_app(replace(settings, no_data_status=204))) as client:
        assert client.get("/rest/v2/availability/dataflow/TEST/DF_A/1.0/Q.*.*").status_code == 204
        assert client.get("/rest/v2/availability/dataflow/TEST/DF_A/1.0/M.*.*").status_code == 200
        assert client.get("/rest/availableconstraint/DF_A/Q..").status_code == 404
