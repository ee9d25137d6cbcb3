"""Availability with `updatedAfter` over real HTTP (v1 /rest/availableconstraint, v2
/rest/v2/availability), on SQLite and PostgreSQL.

The three loads of tests/test_history_api.py (a first load; one that changes, adds and deletes
observations; one that changes again, deletes an observation changed before and brings back one
deleted before) go through `load_data`. The oracle: the observations written or deleted after a
time are those of the loads after it, in pandas (a key written and later deleted, or deleted and
later written again, is one changed observation); tests/test_availability.py's `expected` then
computes the codes (mode exact and available), the time range and the counts of that frame, and
its `read_answer` reads each answer after validating it against the official XSD or JSON schema.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import httpx
import pandas as pd
import pytest

from tests.conftest import BACKENDS, fresh_database, running_server
from tests.datasets import COLUMNS, CONTENT, DIMENSIONS, FLOW_A
from tests.test_availability import JSON20, JSON21, ML21, ML30, ML31, expected, read_answer, with_bounds
from tests.test_history_api import apply, csv_for, iso, loads

V2 = "v2/availability/dataflow/TEST/DF_A/1.0"
V1 = "availableconstraint/TEST,DF_A,1.0"


class Loaded:
    """The served store and, per load so far, its time and the keys it wrote or deleted."""

    def __init__(self, server, settings, directory):
        self.server, self.settings, self.directory = server, settings, directory
        self.times: list[datetime] = []
        self.touched: list[pd.DataFrame] = []  # DIMENSIONS of the observations each load changed
        self.state = pd.DataFrame(columns=COLUMNS)

    def load(self, rows: pd.DataFrame, actions: list[str]) -> None:
        from sdmx_server.cli import _registry
        from sdmx_server.ingest.load import load_data
        from sdmx_server.store.database import Database

        path = self.directory / f"load{len(self.times)}.csv"
        path.write_text(csv_for(rows, actions), encoding="utf-8")
        db = Database(self.settings.database_url)
        try:
            outcome = load_data(db, _registry(db), FLOW_A, path, "merge", self.settings)
        finally:
            db.dispose()
        assert outcome.applied, outcome.report.text()
        self.state, wrote, gone = apply(self.state, rows, actions)
        self.touched.append(pd.concat([wrote[DIMENSIONS], gone[DIMENSIONS]], ignore_index=True))
        self.times.append(datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=outcome.result.tx_time))
        time.sleep(0.01)

    def after(self, i: int) -> str:
        """updatedAfter just after load i (-1: before the first)."""
        if i < 0:
            return iso(self.times[0] - timedelta(seconds=1))
        return iso(self.times[i] + timedelta(microseconds=1))

    def changed(self, i: int) -> pd.DataFrame:
        """The observations written or deleted after load i: one row per key."""
        later = self.touched[i + 1:]
        if not later:
            return pd.DataFrame(columns=DIMENSIONS)
        return with_bounds(pd.concat(later, ignore_index=True).drop_duplicates(ignore_index=True))

    def get(self, path: str, accept: str, headers: dict | None = None, **params) -> httpx.Response:
        # Written out: in a query string '+' is AND (c[] filters) and a client must not encode it.
        query = "&".join(f"{name}={value}" for name, value in params.items())
        return httpx.get(f"{self.server.url}/rest/{path}?{query}", headers={"Accept": accept, **(headers or {})},
                         timeout=60)


@pytest.fixture(scope="module", params=BACKENDS)
def loaded(request, tmp_path_factory):
    from sdmx_server.boot import create_schema
    from sdmx_server.registry.load import load_structures
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database

    directory = tmp_path_factory.mktemp(f"avail-history-{request.param}")
    with fresh_database(request.param, directory) as url:
        settings = Settings(database_url=url, data_dir=directory, answer_cache_bytes=0)
        db = Database(url)
        create_schema(db)
        assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings).ok
        db.dispose()
        with running_server(settings) as server:
            store = Loaded(server, settings, directory)
            for rows, actions in loads():
                store.load(rows, actions)
            yield store


# Queries as tests/test_availability.py's oracle reads them (componentID None: every dimension).
QUERIES = {
    "all": {"keys": None, "filters": {}},
    "key": {"keys": [(["M"], ["IR", "IR-23"], None)], "filters": {}},
    "c[]": {"keys": None, "filters": {"AREA": [[("ne", "IR-03")]], "SEX": [[("eq", "F")], [("eq", "M")]],
                                      "TIME_PERIOD": [[("ge", "2020-02")]]}},
    "key and c[]": {"keys": [(None, ["IR", "IR-10"], None)], "filters": {"SEX": [[("ne", "_T")]]}},
}


def v2_params(q: dict) -> tuple[str, dict]:
    key = "*" if q["keys"] is None else ".".join("*" if c is None else "+".join(c) for c in q["keys"][0])
    params = {f"c[{component}]": ",".join("+".join(f"{op}:{v}" for op, v in alt) for alt in alternatives)
              for component, alternatives in q["filters"].items()}
    return f"{V2}/{key}/{q['component'] or '*'}", params


def check(loaded: Loaded, i: int, q: dict, path: str, params: dict, accept: str) -> None:
    want = expected(loaded.changed(i), q)
    r = loaded.get(path, accept, updatedAfter=loaded.after(i), mode=q["mode"], **params)
    if want is None:
        assert r.status_code == 404, (r.status_code, r.text[:500])
        return
    assert r.status_code == 200, (r.status_code, r.text[:800])
    assert read_answer(r.content, accept) == want, (path, params, q["mode"], i)


@pytest.mark.parametrize("mode", ["exact", "available"])
@pytest.mark.parametrize("name", list(QUERIES))
@pytest.mark.parametrize("i", [-1, 0, 1])
def test_v2_updated_after_equals_the_changed_observations(loaded, i, name, mode):
    q = {**QUERIES[name], "mode": mode, "component": None}
    path, params = v2_params(q)
    for accept in (JSON21, ML31, ML30, JSON20):  # obsCount/seriesCount, and the metrics as annotations
        check(loaded, i, q, path, params, accept)


@pytest.mark.parametrize("mode", ["exact", "available"])
@pytest.mark.parametrize("i", [-1, 0, 1])
def test_v1_updated_after_with_a_key_and_a_component(loaded, i, mode):
    q = {"keys": [(None, ["IR", "IR-23"], None)], "filters": {}, "mode": mode, "component": "SEX"}
    check(loaded, i, q, f"{V1}/.IR+IR-23./all/SEX", {}, ML21)
    q = {**q, "keys": None, "component": None}
    check(loaded, i, q, f"{V1}/all/all/all", {}, ML21)


def test_the_oracle_sees_changes_deletions_and_returns(loaded):
    """The loads give the oracle what the test must tell apart: after load 1 the changes hold
    a key deleted then (not written again) and one written again after its deletion."""
    after_first = loaded.changed(0)
    keys = set(map(tuple, after_first[DIMENSIONS].itertuples(index=False)))
    final = set(map(tuple, loaded.state[DIMENSIONS].itertuples(index=False)))
    assert keys - final, "a deletion that stays"
    assert keys & final, "changes that stay"
    assert len(loaded.changed(1)) < len(after_first) < len(loaded.state)


def test_nothing_changed_after_the_last_load_is_no_data(loaded):
    """As a query that matches no data: 404 (v2 may be configured to 204: test_availability)."""
    last = len(loaded.times) - 1
    for path, accept in ((f"{V2}/*/*", JSON21), (f"{V1}/all/all/all", ML21)):
        r = loaded.get(path, accept, updatedAfter=loaded.after(last))
        assert r.status_code == 404, r.text[:300]
        assert "changed after updatedAfter" in r.text
    current = loaded.get(f"{V2}/X.*.*", JSON21)  # the current answer for no data
    assert current.status_code == 404


@pytest.mark.parametrize("params, word", [({"asOf": "2020-01-01T00:00:00Z"}, "asOf"),
                                          ({"includeHistory": "true"}, "includeHistory")])
def test_parameters_availability_does_not_define_are_400(loaded, params, word):
    r = loaded.get(f"{V2}/*/*", JSON21, **params)
    assert r.status_code == 400, r.text[:300]
    assert word in r.text and "data queries" in r.text


def test_etags_follow_loads(loaded):
    """The answer carries the validators of the data it reads: unchanged data, a 304; a load
    of the dataflow, a new tag and the new change in the answer. (Ends with a fourth load: the
    oracle above reads every load there is, so the order of the tests does not matter.)"""
    path, accept = f"{V2}/*/*", JSON21
    since = loaded.after(len(loaded.times) - 2)
    first = loaded.get(path, accept, updatedAfter=since)
    assert first.status_code == 200 and first.headers.get("etag")
    tag = first.headers["etag"]
    assert loaded.get(path, accept, updatedAfter=since).headers["etag"] == tag
    same = loaded.get(path, accept, {"If-None-Match": tag}, updatedAfter=since)
    assert same.status_code == 304 and same.content == b""
    other = loaded.get(path, accept, updatedAfter=loaded.after(-1))
    assert other.headers["etag"] != tag  # another query, another tag
    current = loaded.get(path, accept)
    assert current.status_code == 200 and current.headers.get("etag") not in (None, tag)

    one = loaded.state.iloc[[3]].copy()
    one["OBS_VALUE"] = one["OBS_VALUE"].astype(float) + 0.25
    last = len(loaded.times) - 1
    loaded.load(one, ["M"])
    again = loaded.get(path, accept, {"If-None-Match": tag}, updatedAfter=since)
    assert again.status_code == 200 and again.headers["etag"] != tag
    assert loaded.get(path, accept, {"If-None-Match": current.headers["etag"]}).status_code == 200
    got = read_answer(loaded.get(path, accept, updatedAfter=loaded.after(last)).content, accept)
    want = expected(loaded.changed(last), {"keys": None, "filters": {}, "mode": "exact", "component": None})
    assert got == want and got["obs"] == 1 and got["series"] == 1
