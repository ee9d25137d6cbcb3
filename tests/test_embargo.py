"""Embargoed loads over real HTTP, on SQLite and PostgreSQL: kept pending and invisible until
their release time, then published by the running server without a restart (data,
availability, ETags, updatedAfter); pending across a restart; released once by two processes."""

from __future__ import annotations

import dataclasses
import io
import multiprocessing
import time
from datetime import datetime, timedelta, timezone

import httpx
import pandas as pd
import pytest

from tests.principals import writes
from tests.conftest import BACKENDS, fresh_database, running_server
from tests.datasets import CONTENT, FLOW_A, frame, sdmx_csv

CSV20 = "application/vnd.sdmx.data+csv;version=2.0.0"
V2 = "data/dataflow/TEST/DF_A/1.0"


def _setup(url: str, directory):
    from sdmx_server.boot import create_schema
    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data
    from sdmx_server.registry.load import load_structures
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database

    settings = Settings(database_url=url, data_dir=directory, answer_cache_bytes=0)
    db = Database(url)
    create_schema(db)
    assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings).ok
    first = frame(seed=1, months=3, quarters=0)
    path = directory / "first.csv"
    path.write_text(sdmx_csv(first, FLOW_A, version="2.0"), encoding="utf-8")
    assert load_data(db, _registry(db), FLOW_A, path, "merge", settings).applied
    return settings, db, first


def _embargoed(db, settings, directory, release_at: datetime, value: float, name: str = "embargoed"):
    """A revision of every observation of 2020-01 (OBS_VALUE = value), kept until release_at."""
    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data

    rows = frame(seed=1, months=3, quarters=0)
    rows = rows[rows.TIME_PERIOD == "2020-01"].copy()
    rows["OBS_VALUE"] = value
    path = directory / f"{name}.csv"
    path.write_text(sdmx_csv(rows, FLOW_A, version="2.0"), encoding="utf-8")
    outcome = load_data(db, _registry(db), FLOW_A, path, "merge", settings, release_at=release_at)
    assert outcome.status == "pending", outcome.report.text()
    return outcome.record_id, len(rows)


def _values(server, **params) -> pd.Series:
    r = httpx.get(f"{server.url}/rest/v2/{V2}", headers={"Accept": CSV20}, params=params, timeout=30)
    assert r.status_code == 200, r.text
    df = pd.read_csv(io.BytesIO(r.content), dtype={"TIME_PERIOD": str})
    return df[df.TIME_PERIOD == "2020-01"].OBS_VALUE


def _status(db, load_id: int) -> str:
    from sqlmodel import Session

    from sdmx_server.store.records import LoadRecord

    with Session(db.engine) as session:
        return session.get(LoadRecord, load_id).status


@pytest.mark.parametrize("backend", BACKENDS)
def test_released_one_second_ahead_invisible_until_then_visible_after(backend, tmp_path):
    with fresh_database(backend, tmp_path) as url:
        settings, db, first = _setup(url, tmp_path)
        with running_server(settings, writes) as server:
            get = lambda path, **p: httpx.get(f"{server.url}/rest/{path}", params=p, timeout=30,  # noqa: E731
                                              headers={"Accept": CSV20})
            before = get(f"v2/{V2}")
            availability = httpx.get(f"{server.url}/rest/v2/availability/dataflow/TEST/DF_A/1.0",
                                     headers={"Accept": "application/vnd.sdmx.structure+json;version=2.0.0"})
            assert availability.status_code == 200
            submitted = datetime.now(timezone.utc)
            release_at = submitted + timedelta(seconds=1)
            load_id, count = _embargoed(db, settings, tmp_path, release_at, 424242.0)

            # Pending: nothing of it shows, the validators stay, updatedAfter sees nothing new.
            assert (_values(server) != 424242.0).all()
            still = get(f"v2/{V2}")
            assert still.headers["etag"] == before.headers["etag"]
            assert get(f"v2/{V2}", updatedAfter=submitted.isoformat()).status_code == 404
            assert _status(db, load_id) == "pending"
            assert get(f"v2/{V2}", **{"c[OBS_VALUE]": "424242"}).status_code == 404

            deadline = time.monotonic() + 15
            while _status(db, load_id) != "released":
                assert time.monotonic() < deadline, "not released by the running server"
                time.sleep(0.2)
            assert datetime.now(timezone.utc) >= release_at

            values = _values(server)
            assert len(values) == count and (values == 424242.0).all()
            after = get(f"v2/{V2}")
            assert after.headers["etag"] != before.headers["etag"]
            changed = get(f"v2/{V2}", updatedAfter=submitted.isoformat())
            assert changed.status_code == 200
            delta = pd.read_csv(io.BytesIO(changed.content))
            assert len(delta) == count and set(delta.ACTION) == {"R"}
            # Its transaction time is the release time: asOf just before it is the old state.
            old = _values(server, asOf=(release_at - timedelta(milliseconds=1)).isoformat())
            assert (old != 424242.0).all() and len(old) == count
            # Availability counts the released observations with the others (same keys here):
            # the answer is served and its observation count unchanged, never the pending rows twice.
            available = httpx.get(f"{server.url}/rest/v2/availability/dataflow/TEST/DF_A/1.0",
                                  headers={"Accept": "application/vnd.sdmx.structure+json;version=2.0.0"})
            assert available.status_code == 200
        db.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_embargoed_new_series_shows_in_availability_only_after_release(backend, tmp_path):
    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data

    with fresh_database(backend, tmp_path) as url:
        settings, db, first = _setup(url, tmp_path)
        rows = frame(seed=5, months=4, quarters=0)
        rows = rows[rows.TIME_PERIOD == "2020-04"]
        path = tmp_path / "new-month.csv"
        path.write_text(sdmx_csv(rows, FLOW_A, version="2.0"), encoding="utf-8")
        release_at = datetime.now(timezone.utc) + timedelta(seconds=2)
        outcome = load_data(db, _registry(db), FLOW_A, path, "merge", settings, release_at=release_at)
        assert outcome.status == "pending"
        with running_server(settings, writes) as server:
            def periods():
                r = httpx.get(f"{server.url}/rest/v2/availability/dataflow/TEST/DF_A/1.0/*/TIME_PERIOD",
                              headers={"Accept": "application/vnd.sdmx.structure+json;version=2.0.0"}, timeout=30)
                assert r.status_code == 200, r.text
                return r.text

            assert "2020-04" not in periods()
            deadline = time.monotonic() + 15
            while _status(db, outcome.record_id) != "released":
                assert time.monotonic() < deadline
                time.sleep(0.2)
            assert "2020-04" in periods()
        db.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_restart_while_pending_keeps_it_pending(backend, tmp_path):
    with fresh_database(backend, tmp_path) as url:
        settings, db, first = _setup(url, tmp_path)
        load_id, _ = _embargoed(db, settings, tmp_path, datetime.now(timezone.utc) + timedelta(days=30), 77.0)
        for _ in range(2):  # start, stop, start again: the rows stay kept, the record pending
            with running_server(settings, writes) as server:
                assert (_values(server) != 77.0).all()
            assert _status(db, load_id) == "pending"
        from sdmx_server.store.embargo import pending_loads, pending_rows

        assert [p.load_id for p in pending_loads(db)] == [load_id]
        assert pending_rows(db, load_id).rows == len(first[first.TIME_PERIOD == "2020-01"])
        db.dispose()


def _release_in_process(url: str, barrier, results) -> None:
    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import release_embargoed
    from sdmx_server.store.database import Database

    db = Database(url)
    barrier.wait()
    results.put(release_embargoed(db, _registry(db)))


def _sleep_until(when: datetime) -> None:
    time.sleep(max(0.0, (when - datetime.now(timezone.utc)).total_seconds()))


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_processes_release_once_in_release_order(backend, tmp_path):
    from sdmx_server.store.tables import find_fact_table
    import sqlalchemy as sa

    with fresh_database(backend, tmp_path) as url:
        settings, db, first = _setup(url, tmp_path)
        # Far enough ahead that both loads are still pending on a busy machine (a load whose
        # release time has passed by its end is released at once), then wait until both are due.
        soon = datetime.now(timezone.utc) + timedelta(seconds=3)
        # Submitted in the other order than they are due: the earlier release applies first.
        later, _ = _embargoed(db, settings, tmp_path, soon + timedelta(milliseconds=1), 2.0, "later")
        earlier, count = _embargoed(db, settings, tmp_path, soon, 1.0, "earlier")
        assert _status(db, earlier) == _status(db, later) == "pending"
        _sleep_until(soon + timedelta(milliseconds=200))
        context = multiprocessing.get_context("spawn")
        barrier, results = context.Barrier(2), context.Queue()
        workers = [context.Process(target=_release_in_process, args=(url, barrier, results)) for _ in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
            assert w.exitcode == 0
        released = sorted(sum((results.get(timeout=5) for _ in workers), []))
        assert released == sorted([earlier, later]), "each release applied exactly once"
        assert _status(db, earlier) == _status(db, later) == "released"
        from sdmx_server.cli import _registry
        from sdmx_server.registry.shape import data_shape

        fact = find_fact_table(db, FLOW_A, data_shape(_registry(db).get("dataflow", *FLOW_A).structure))
        with db.engine.connect() as conn:
            current = conn.execute(sa.select(fact.column("OBS_VALUE")).where(
                fact.column("TIME_PERIOD") == "2020-01")).scalars().all()
            history_rows = conn.execute(sa.select(sa.func.count()).select_from(fact.history)).scalar()
        assert set(current) == {2.0}, "the later release is the current value"
        assert history_rows == 2 * count, "two revisions of each observation, no third from a double apply"
        db.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_as_of_a_settled_time_keeps_its_etag_updated_after_follows_the_stamp(backend, tmp_path):
    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data

    with fresh_database(backend, tmp_path) as url:
        settings, db, first = _setup(url, tmp_path)
        # Kept answers on, for every size: a settled asOf answer is served from them again.
        settings = dataclasses.replace(settings, answer_cache_bytes=64 * 1024 * 1024, answer_cache_min_bytes=0)

        def load(value: float, name: str) -> None:
            rows = first[first.TIME_PERIOD == "2020-02"].copy()
            rows["OBS_VALUE"] = value
            path = tmp_path / f"{name}.csv"
            path.write_text(sdmx_csv(rows, FLOW_A, version="2.0"), encoding="utf-8")
            assert load_data(db, _registry(db), FLOW_A, path, "merge", settings).applied

        between = datetime.now(timezone.utc)
        time.sleep(0.01)
        load(11.0, "second")  # commits after `between`: the state then is settled
        with running_server(settings, writes) as server:
            def get(**params):
                r = httpx.get(f"{server.url}/rest/v2/{V2}", params=params, headers={"Accept": CSV20}, timeout=30)
                assert r.status_code == 200, r.text
                return r

            as_of = get(asOf=between.isoformat())
            changed = get(updatedAfter=between.isoformat())
            current = get()
            load(12.0, "third")
            again = get(asOf=between.isoformat())
            assert again.headers["etag"] == as_of.headers["etag"] and again.content == as_of.content
            assert httpx.get(f"{server.url}/rest/v2/{V2}", params={"asOf": between.isoformat()}, timeout=30,
                             headers={"Accept": CSV20, "If-None-Match": as_of.headers["etag"]}).status_code == 304
            assert get(updatedAfter=between.isoformat()).headers["etag"] != changed.headers["etag"]
            assert get().headers["etag"] != current.headers["etag"]
            # Not settled: a time after the last load may still see a later one.
            now = datetime.now(timezone.utc).isoformat()
            recent = get(asOf=now)
            load(13.0, "fourth")
            assert get(asOf=now).headers["etag"] != recent.headers["etag"]
        db.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_serve_with_two_workers_releases_once(backend, tmp_path):
    """`sdmx-server serve --workers 2`: both worker processes check every second; the release
    is applied by one of them, once, without a restart."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    from pathlib import Path

    from sdmx_server.cli import _registry
    from sdmx_server.registry.shape import data_shape
    from sdmx_server.store.tables import find_fact_table

    with fresh_database(backend, tmp_path) as url:
        settings, db, first = _setup(url, tmp_path)
        load_id, count = _embargoed(db, settings, tmp_path, datetime.now(timezone.utc) + timedelta(seconds=4), 5.0)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = {**os.environ, "SDMX_DATABASE_URL": url, "SDMX_DATA_DIR": str(tmp_path / "var")}
        log = (tmp_path / "serve.log").open("w")
        process = subprocess.Popen([str(Path(sys.executable).parent / "sdmx-server"), "serve", "--port", str(port),
                                    "--workers", "2"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while _status(db, load_id) != "released":
                assert process.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.2)
            while True:  # the release may come before the workers listen
                try:
                    r = httpx.get(f"http://127.0.0.1:{port}/rest/v2/{V2}", headers={"Accept": CSV20}, timeout=30)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline and process.poll() is None
                    time.sleep(0.2)
            assert r.status_code == 200
            df = pd.read_csv(io.BytesIO(r.content), dtype={"TIME_PERIOD": str})
            assert (df[df.TIME_PERIOD == "2020-01"].OBS_VALUE == 5.0).all()
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(30)
            log.close()
        import sqlalchemy as sa

        fact = find_fact_table(db, FLOW_A, data_shape(_registry(db).get("dataflow", *FLOW_A).structure))
        with db.engine.connect() as conn:
            revised = conn.execute(sa.select(sa.func.count()).select_from(fact.history)).scalar()
        assert revised == count, "one revision per observation: applied once"
        db.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_load_releases_what_came_due_first(backend, tmp_path):
    """No server ran at the release time: the next load of the dataflow applies the embargoed
    one first, so the later load's values win and the transaction times stay in order."""
    from sqlmodel import Session

    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data
    from sdmx_server.store.records import LoadRecord

    with fresh_database(backend, tmp_path) as url:
        settings, db, first = _setup(url, tmp_path)
        due = datetime.now(timezone.utc) + timedelta(seconds=3)  # still pending after a slow load
        embargoed, count = _embargoed(db, settings, tmp_path, due, 3.0)
        assert _status(db, embargoed) == "pending"
        _sleep_until(due + timedelta(milliseconds=200))
        rows = first[first.TIME_PERIOD == "2020-01"].copy()
        rows["OBS_VALUE"] = 9.0
        path = tmp_path / "later.csv"
        path.write_text(sdmx_csv(rows, FLOW_A, version="2.0"), encoding="utf-8")
        later = load_data(db, _registry(db), FLOW_A, path, "merge", settings)
        assert later.applied and later.result.changed == count
        with Session(db.engine) as session:
            released = session.get(LoadRecord, embargoed)
            assert released.status == "released" and released.tx_time < later.result.tx_time
        with running_server(settings, writes) as server:
            assert (_values(server) == 9.0).all()
            before = _values(server, asOf=datetime.fromtimestamp(later.result.tx_time / 1e6 - 1e-6,
                                                                   timezone.utc).isoformat())
            assert (before == 3.0).all()
        db.dispose()
