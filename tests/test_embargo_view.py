"""The embargo view over real HTTP, on SQLite and PostgreSQL: a principal with `read-embargoed`
reads a dataflow as it will be after its pending loads, everyone else as it is; after the
release both read the same.

The oracle: load A is applied, load B (merge, replace and delete rows, wildcards, emptied
values, a row written again after its deletion) is kept pending; pandas applies B to A with
the semantics of store/apply.py, and the data query oracle (tests/data_oracle.py) selects from
it. Data (SDMX-CSV 2.0, SDMX-JSON 2.0) and availability answers equal the oracle of A∘B for
the viewer and of A for the anonymous public; their ETags differ and never validate across
the two. After the release (moved to the past: the running server publishes it) both get
A∘B. A `replace-all` pending load is overlaid too.

The principals are real users with real bearer tokens and grants in the store (access/).
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import httpx
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from tests import data_oracle
from tests.conftest import BACKENDS, fresh_database, running_server
from tests.data_messages import canonical, oracle, read_sdmx_json
from tests.datasets import ATTRIBUTES, COLUMNS, CONTENT, DIMENSIONS, FLOW_A, frame, sdmx_csv
from tests.test_availability import JSON20, expected, read_answer, with_bounds

CSV20 = "application/vnd.sdmx.data+csv;version=2.0.0"
SDMX_JSON20 = "application/vnd.sdmx.data+json;version=2.0.0"
PATH = "/rest/v2/data/dataflow/TEST/DF_A/1.0"
AVAILABILITY = "/rest/v2/availability/dataflow/TEST/DF_A/1.0"
VALUES = ["OBS_VALUE"] + ATTRIBUTES
STAFF = "staff"


# -- the principals: real users, tokens and grants (access/) --------------------------------------

#: Bearer tokens of the principals, by user name (filled by server_with_principals).
TOKENS: dict[str, str] = {}


@contextmanager
def server_with_principals(settings, monkeypatch):
    from sdmx_server.access.accounts import add_user
    from sdmx_server.access.grants import add_grant
    from sdmx_server.access.rules import Grant, Scope
    from sdmx_server.access.tokens import create_token
    from sdmx_server.store.database import Database

    db = Database(settings.database_url)
    grants = (
        Grant(f"user:{STAFF}", "read-embargoed", Scope.parse("TEST:*")),
        Grant("user:reader", "read", Scope.parse("TEST:*")),  # reads, but no embargoed values
        # Embargoed values of one region only: previews are not built for regions (the overlay
        # would show every region's), so this principal reads what is published.
        Grant("user:provincial", "read-embargoed", Scope.parse("TEST:*"), where=(("AREA", ("IR-23",)),)),
    )
    try:
        for grant in grants:
            name = grant.subject.removeprefix("user:")
            add_user(db, name)
            TOKENS[name] = create_token(db, name)[0]
            add_grant(db, grant, "test")
    finally:
        db.dispose()
    with running_server(settings) as server:
        yield server


def get(server, path: str, who: str | None = None, accept: str = CSV20, etag: str | None = None, **params):
    headers = {"Accept": accept}
    if who:
        headers["Authorization"] = f"Bearer {TOKENS[who]}"
    if etag:
        headers["If-None-Match"] = etag
    query = "&".join(f"{k}={v}" for k, v in params.items())  # c[] filters: '+' and ',' written as they are
    return httpx.get(f"{server.url}{path}" + (f"?{query}" if query else ""), headers=headers, timeout=60)


# -- the oracle of apply.py ---------------------------------------------------------------------------


def _empty(value) -> bool:
    return value is None or value == "" or (isinstance(value, float) and np.isnan(value))


def applied(state: pd.DataFrame, load: pd.DataFrame, actions: list[str], replace_all: bool = False) -> pd.DataFrame:
    """What store/apply.py makes of `state` after `load`, in pandas: merge keeps what a row
    leaves empty, replace empties it, delete matches empty dimensions as wildcards and empties
    the values a row names (else removes the observation); replace-all then removes what no
    merge or replace row carried."""
    rows = {tuple(r[k] for k in DIMENSIONS): {c: r[c] for c in VALUES} for r in state.to_dict("records")}
    carried = set()
    for action, r in zip(actions, load.to_dict("records")):
        key = tuple(r[k] for k in DIMENSIONS)
        values = {c: None if _empty(r[c]) else r[c] for c in VALUES}
        if action in "MR":
            carried.add(key)
            old = rows.get(key, dict.fromkeys(VALUES))
            rows[key] = values if action == "R" else {c: old[c] if values[c] is None else values[c] for c in VALUES}
            continue
        named = [c for c in VALUES if values[c] is not None]
        for stored in list(rows):
            if all(_empty(r[d]) or r[d] == stored[i] for i, d in enumerate(DIMENSIONS)):
                if named:
                    rows[stored].update(dict.fromkeys(named))
                else:
                    del rows[stored]
    if replace_all:
        rows = {k: v for k, v in rows.items() if k in carried}
    out = pd.DataFrame([{**dict(zip(DIMENSIONS, k)), **v} for k, v in rows.items()], columns=COLUMNS)
    out["OBS_VALUE"] = out["OBS_VALUE"].astype(float)
    return out.fillna({c: "" for c in ATTRIBUTES})


def load_a() -> pd.DataFrame:
    return frame(seed=1, months=3, quarters=2)


def load_b(a: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Merge, replace and delete rows of every kind, in runs whose order matters."""
    at = lambda area, sex, period: a[(a.AREA == area) & (a.SEX == sex) & (a.TIME_PERIOD == period)]  # noqa: E731
    merged = a[(a.AREA == "IR") & (a.TIME_PERIOD == "2020-01")].copy()
    merged["OBS_VALUE"] = [9001.0, 9002.0, 9003.0]
    merged["OBS_STATUS"] = "E"
    merged[["TITLE", "UNIT_MULT"]] = ""  # merge: kept as stored
    new = frame(seed=3, months=4, quarters=0)
    new = new[(new.AREA == "IR-10") & (new.TIME_PERIOD == "2020-04")]  # new observations
    replaced = a[(a.AREA == "IR-23") & (a.TIME_PERIOD == "2020-02")].copy()
    replaced["OBS_VALUE"] = 7000.5
    replaced["TITLE"] = ""  # replace: emptied
    gone = at("IR-10", "F", "2020-03").copy()  # one observation, whole
    gone["OBS_VALUE"] = float("nan")
    gone[ATTRIBUTES] = ""
    wildcard = pd.DataFrame([{"FREQ": "Q", "AREA": "IR-03", "SEX": "", "TIME_PERIOD": "", "OBS_VALUE": float("nan"),
                              **dict.fromkeys(ATTRIBUTES, "")}])  # every quarter of IR-03
    emptied = at("IR", "M", "2020-02").copy()  # a value emptied, the observation kept
    emptied["OBS_VALUE"] = float("nan")
    emptied[ATTRIBUTES] = ""
    emptied[["TITLE", "COMMENT"]] = "-"
    again = at("IR-03", "F", "2020-Q1").copy()  # deleted by the wildcard above, then written again
    again["OBS_VALUE"] = 1234.0
    rows = pd.concat([merged, new, replaced, gone, wildcard, emptied, again], ignore_index=True)
    actions = ["M"] * (len(merged) + len(new)) + ["R"] * len(replaced) + ["D"] * (len(gone) + 1 + len(emptied)) + ["M"]
    return rows, actions


# -- the store ---------------------------------------------------------------------------------------


def _setup(url: str, directory):
    from sdmx_server.boot import create_schema
    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data
    from sdmx_server.registry.load import load_structures
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database

    settings = Settings(database_url=url, data_dir=directory, answer_cache_bytes=64 * 1024 * 1024,
                        answer_cache_min_bytes=0)
    db = Database(url)
    create_schema(db)
    assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings).ok
    a = load_a()
    path = directory / "a.csv"
    path.write_text(sdmx_csv(a, FLOW_A, version="2.0"), encoding="utf-8")
    assert load_data(db, _registry(db), FLOW_A, path, "merge", settings).applied
    return settings, db, a


def _embargo(db, settings, directory, rows: pd.DataFrame, actions: list[str], action: str = "merge",
             name: str = "b") -> int:
    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data

    path = directory / f"{name}.csv"
    path.write_text(sdmx_csv(rows, FLOW_A, version="2.0", actions=actions), encoding="utf-8")
    outcome = load_data(db, _registry(db), FLOW_A, path, action, settings,
                        release_at=datetime.now(timezone.utc) + timedelta(days=30))
    assert outcome.status == "pending", outcome.report.text()
    return outcome.record_id


def _due(db, load_id: int, release_at: datetime) -> None:
    from sdmx_server.store.embargo import Embargo

    with db.engine.begin() as conn:
        conn.execute(sa.update(Embargo.__table__).where(Embargo.__table__.c.load_id == load_id)
                     .values(release_at=release_at))


def _release_now(db, load_id: int) -> None:
    """Bring the release time to now: the running server publishes it within a second."""
    from sqlmodel import Session

    from sdmx_server.store.records import LoadRecord

    _due(db, load_id, datetime.now(timezone.utc) - timedelta(seconds=1))
    deadline = time.monotonic() + 20
    while True:
        with Session(db.engine) as session:
            if session.get(LoadRecord, load_id).status == "released":
                return
        assert time.monotonic() < deadline, "not released by the running server"
        time.sleep(0.2)


# -- reading answers ---------------------------------------------------------------------------------


def csv_rows(response) -> pd.DataFrame:
    assert response.status_code == 200, response.text[:500]
    return oracle(data_oracle.csv_frame(response.content))


def json_rows(response) -> pd.DataFrame:
    assert response.status_code == 200, response.text[:500]
    return canonical(read_sdmx_json(json.loads(response.content)))


V1_PATH = "/rest/data/TEST,DF_A,1.0"
CSV10 = "application/vnd.sdmx.data+csv;version=1.0.0"
#: (path, the selection for the oracle, query parameters): REST v2 but for the last, v1 (periods)
QUERIES = [
    (PATH, {}, {}),
    (PATH + "/M.IR+IR-10+IR-23.*", {"keys": [(["M"], ["IR", "IR-10", "IR-23"], None)]}, {}),
    (PATH, {"filters": [("TIME_PERIOD", [[("ge", "2020-02"), ("le", "2020-04")]])]},
     {"c[TIME_PERIOD]": "ge:2020-02+le:2020-04"}),
    # Filters on values: the overlay's values decide, not the stored ones.
    (PATH, {"filters": [("OBS_VALUE", [[("gt", "5000")]])]}, {"c[OBS_VALUE]": "gt:5000"}),
    (PATH, {"filters": [("OBS_STATUS", [[("eq", "E")]]), ("COMMENT", [[("ne", "x")]])]},
     {"c[OBS_STATUS]": "E", "c[COMMENT]": "ne:x"}),
    (PATH + "/Q.IR-03.*", {"keys": [(["Q"], ["IR-03"], None)]}, {}),
    (PATH, {"last_n": 1}, {"lastNObservations": "1"}),
    (V1_PATH + "/M.IR+IR-10.", {"keys": [(["M"], ["IR", "IR-10"], None)], "start": "2020-02", "end": "2020-04"},
     {"startPeriod": "2020-02", "endPeriod": "2020-04"}),
]


def expected_rows(state: pd.DataFrame, selection: dict) -> pd.DataFrame | None:
    chosen = data_oracle.select(state, **selection)
    return None if chosen.empty else oracle(chosen)


def check_data(server, state: pd.DataFrame, who: str | None) -> dict[str, str]:
    """Every query of QUERIES in SDMX-CSV 2.0 (and the whole dataflow in SDMX-JSON 2.0) equals
    the oracle of `state`; the ETags, by query."""
    tags = {}
    for path, selection, params in QUERIES:
        want = expected_rows(state, selection)
        response = get(server, path, who, accept=CSV10 if path.startswith(V1_PATH) else CSV20, **params)
        if want is None:
            assert response.status_code == 404, (path, params, response.text[:300])
            continue
        got = csv_rows(response)
        pd.testing.assert_frame_equal(got[COLUMNS], want[COLUMNS], check_dtype=False, obj=f"{who} {path} {params}")
        tags[path + repr(params)] = response.headers["etag"]
    whole = json_rows(get(server, PATH, who, accept=SDMX_JSON20))
    pd.testing.assert_frame_equal(whole[COLUMNS], oracle(state)[COLUMNS], check_dtype=False)
    return tags


def check_availability(server, state: pd.DataFrame, who: str | None, **params) -> str:
    """The availability answer (codes, time range, observation and series counts) equals the
    oracle's (tests/test_availability.py) of `state`; its ETag."""
    query = {"keys": None, "filters": {}, "mode": params.pop("mode", "exact"), "component": None}
    if "c[OBS_STATUS]" in params:
        op, _, value = params["c[OBS_STATUS]"].rpartition(":")
        query["filters"]["OBS_STATUS"] = [[(op or "eq", value)]]
    bounded = with_bounds(state.replace({c: {"": None} for c in ATTRIBUTES}))
    response = get(server, AVAILABILITY, who, accept=JSON20, mode=query["mode"], **params)
    assert response.status_code == 200, response.text[:500]
    assert read_answer(response.content, JSON20) == expected(bounded, query)
    return response.headers["etag"]


# -- the tests -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_viewer_reads_a_then_b_others_read_a_until_the_release(backend, tmp_path, monkeypatch):
    with fresh_database(backend, tmp_path) as url:
        settings, db, a = _setup(url, tmp_path)
        b, actions = load_b(a)
        after = applied(a, b, actions)
        # The oracle itself: B changes what it should (else the test could not fail).
        assert len(after) == len(a) + 3 - 1 - 6 + 1
        load_id = _embargo(db, settings, tmp_path, b, actions)
        with server_with_principals(settings, monkeypatch) as server:
            public = check_data(server, a, None)
            reader = check_data(server, a, "reader")  # reads, but no embargoed values
            assert check_data(server, a, "provincial") == public
            staff = check_data(server, after, STAFF)
            # (values over 5000 exist only in B: the public's answer to that query is a 404)
            assert set(public) < set(staff) and set(reader) == set(public)
            for query, tag in public.items():
                assert staff[query] != tag and reader[query] == tag
            # Availability counts what each may see.
            for params in ({}, {"c[OBS_STATUS]": "E"}, {"mode": "available", "c[OBS_STATUS]": "E"}):
                assert check_availability(server, a, None, **params) != check_availability(server, after, STAFF,
                                                                                             **params)

            # Validators never cross: each one's tag is a 304 for itself only; the viewer's
            # answers are private, everyone else's public.
            mine = get(server, PATH, STAFF)
            theirs = get(server, PATH)
            assert mine.headers["cache-control"].startswith("private")
            assert theirs.headers["cache-control"].startswith("public")
            assert get(server, PATH, STAFF, etag=mine.headers["etag"]).status_code == 304
            assert get(server, PATH, etag=theirs.headers["etag"]).status_code == 304
            crossed = get(server, PATH, etag=mine.headers["etag"])
            assert crossed.status_code == 200 and crossed.content == theirs.content
            crossed = get(server, PATH, STAFF, etag=theirs.headers["etag"])
            assert crossed.status_code == 200 and crossed.content == mine.content
            # Kept answers (on for every size here) are keyed apart: asked again, each gets its own.
            assert get(server, PATH).content == theirs.content
            assert get(server, PATH, STAFF).content == mine.content
            # A query of the past shows committed revisions only, for everyone.
            past = {"asOf": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")}
            assert csv_rows(get(server, PATH, STAFF, **past)).equals(csv_rows(get(server, PATH, **past)))

            _release_now(db, load_id)
            released = check_data(server, after, None)
            assert check_data(server, after, STAFF) == released
            for query, tag in released.items():
                assert tag not in (public.get(query), staff[query]), "the tags move at the release"
            assert check_availability(server, after, None) == check_availability(server, after, STAFF)
            assert get(server, PATH, STAFF, etag=mine.headers["etag"]).status_code == 200
            assert get(server, PATH, STAFF).headers["cache-control"].startswith("public")
        db.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_pending_replace_all_and_two_loads_in_release_order(backend, tmp_path, monkeypatch):
    with fresh_database(backend, tmp_path) as url:
        settings, db, a = _setup(url, tmp_path)
        b, actions = load_b(a)
        _embargo(db, settings, tmp_path, b, actions)
        # Released after B: every monthly IR-23 observation again, with new values; all else goes.
        kept = a[(a.FREQ == "M") & (a.AREA == "IR-23")].copy()
        kept["OBS_VALUE"] = kept["OBS_VALUE"] + 1
        c_id = _embargo(db, settings, tmp_path, kept, ["M"] * len(kept), action="replace-all", name="c")
        _due(db, c_id, datetime.now(timezone.utc) + timedelta(days=31))  # after B
        both = applied(applied(a, b, actions), kept, ["M"] * len(kept), replace_all=True)
        assert len(both) == len(kept)
        with server_with_principals(settings, monkeypatch) as server:
            check_data(server, a, None)
            check_data(server, both, STAFF)
            check_availability(server, both, STAFF)
        db.dispose()


def _fact(db):
    from sdmx_server.cli import _registry
    from sdmx_server.registry.shape import data_shape
    from sdmx_server.store.tables import find_fact_table

    return find_fact_table(db, FLOW_A, data_shape(_registry(db).get("dataflow", *FLOW_A).structure))


def _overlaid(db, fact) -> pd.DataFrame:
    from sdmx_server.query.model import DataQuery
    from sdmx_server.store.preview import open_preview

    columns = ", ".join(f'"{fact.columns[c]}"' for c in COLUMNS)
    preview = open_preview(db, FLOW_A, fact, DataQuery())
    try:
        preview.cursor.execute(f"SELECT {columns} FROM {preview.overlay.table.name} ORDER BY {columns}")
        return preview.cursor.fetch_arrow_table().to_pandas()
    finally:
        preview.close()


def _stored(db, fact) -> pd.DataFrame:
    columns = [fact.table.c[fact.columns[c]] for c in COLUMNS]
    with db.engine.connect() as conn:
        return pd.read_sql(sa.select(*columns).order_by(*columns), conn)


def _release_offline(db, load_id: int) -> None:
    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import release_embargoed

    _due(db, load_id, datetime.now(timezone.utc) - timedelta(seconds=1))
    assert release_embargoed(db, _registry(db)) == [load_id]


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_overlay_is_the_released_state_in_the_store(backend, tmp_path):
    """The store level, without HTTP: the preview of B equals the fact table after B's release,
    row for row, bookkeeping aside (the same apply semantics, not only the same answers)."""
    with fresh_database(backend, tmp_path) as url:
        settings, db, a = _setup(url, tmp_path)
        b, actions = load_b(a)
        load_id = _embargo(db, settings, tmp_path, b, actions)
        fact = _fact(db)
        overlaid = _overlaid(db, fact)
        _release_offline(db, load_id)
        pd.testing.assert_frame_equal(overlaid, _stored(db, fact), check_dtype=False)
        db.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_release_under_a_preview_makes_it_start_again(backend, tmp_path, monkeypatch):
    """A load released after the preview listed it as pending (its kept rows gone): the
    preview starts again from the new current rows, and shows the load once."""
    from sdmx_server.store import preview
    from sdmx_server.store.embargo import pending_loads

    with fresh_database(backend, tmp_path) as url:
        settings, db, a = _setup(url, tmp_path)
        b, actions = load_b(a)
        load_id = _embargo(db, settings, tmp_path, b, actions)
        stale = pending_loads(db, FLOW_A)
        _release_offline(db, load_id)
        calls = []

        def listed(db, flow):
            calls.append(flow)
            return stale if len(calls) == 1 else pending_loads(db, flow)

        monkeypatch.setattr(preview, "pending_loads", listed)
        fact = _fact(db)
        pd.testing.assert_frame_equal(_overlaid(db, fact), _stored(db, fact), check_dtype=False)
        assert len(calls) == 2
        db.dispose()
