"""The schedule: due times, the background scheduler running a due source and trying again after
a failure, one scheduler per database (the lease), and `serve` starting it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from sdmx_server.sources.schedule import Scheduler, next_run
from sdmx_server.sources.spec import Schedule
from sdmx_server.sources.state import SourceState, get_state, take_lease
from tests.conftest import fresh_database
from tests.sources_support import loads, make_store, write_spec

NOW = datetime(2026, 3, 21, 8, 0, tzinfo=timezone.utc)

SOURCE = """
dataflow: TEST:DF_A(1.0)
kind: sql
url: sqlite:///{db}
query: SELECT ostan, sal, mah, tedad FROM tbl_bimeh
schedule: {{every: {every}}}
columns:
  ostan: {{to: AREA, values: {{تهران: IR-23}}}}
  tedad: OBS_VALUE
fixed: {{FREQ: M, OBS_STATUS: A, SEX: _T}}
period: {{year: sal, month: mah, calendar: solar-hijri}}
"""


def unit_db(path: Path, months=range(1, 4)) -> Path:
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS tbl_bimeh (ostan TEXT, sal INT, mah INT, tedad INT)")
        for month in months:
            conn.exec_driver_sql("INSERT INTO tbl_bimeh VALUES ('تهران', 1403, ?, ?)", (month, 100 + month))
    engine.dispose()
    return path


def test_due_times():
    hourly = Schedule(every=3600)
    assert next_run(hourly, None, NOW) == NOW  # never tried: at once
    tried = SourceState(id="s", last_success=NOW - timedelta(minutes=10))
    assert next_run(hourly, tried, NOW) == NOW + timedelta(minutes=50)
    failed_later = SourceState(id="s", last_success=NOW - timedelta(hours=5), last_failure=NOW - timedelta(minutes=1))
    assert next_run(hourly, failed_later, NOW) == NOW + timedelta(minutes=59)  # retried at the next due time
    nightly = Schedule(cron="30 2 * * *")
    assert next_run(nightly, None, NOW) == datetime(2026, 3, 22, 2, 30, tzinfo=timezone.utc)
    assert next_run(nightly, tried, NOW) == datetime(2026, 3, 22, 2, 30, tzinfo=timezone.utc)
    assert next_run(None, tried, NOW) is None  # by hand only


def wait_for(condition, seconds=30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("the scheduler did not get there in time")


def test_the_scheduler_runs_a_due_source_and_retries_after_a_failure(tmp_path):
    store = make_store(f"sqlite:///{tmp_path / 'store.db'}", tmp_path)
    folder = tmp_path / "loaders"
    database = unit_db(tmp_path / "unit.db")
    write_spec(folder, "tehran", SOURCE.format(db=database, every="1s"))
    scheduler = Scheduler(store.settings, folder, tick=0.2).start()
    try:
        first = wait_for(lambda: (s := get_state(store.db, "tehran")) and s.last_success and s)
        assert first.last_outcome == "applied"
        assert [r["status"] for r in loads(store.db) if r["source"] == "tehran"] == ["applied"]
        # The unit's database goes away: the next due run fails and says why ...
        hidden = database.rename(tmp_path / "unit.db.away")
        failed = wait_for(lambda: (s := get_state(store.db, "tehran")) and s.last_failure and s)
        assert "there is no database file" in failed.last_failure_message
        assert loads(store.db)[-1]["status"] == "failed"
        # ... and it is tried again at the next due time, which succeeds once it is back, with
        # a new month to apply.
        hidden.rename(database)
        unit_db(database, months=[4])
        back = wait_for(lambda: (s := get_state(store.db, "tehran")) and s.last_success > s.last_failure
                        and s.last_outcome == "applied" and s)
        assert back.last_load_id == loads(store.db)[-1]["id"]
    finally:
        scheduler.stop()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_one_scheduler_per_database(tmp_path, backend):
    with fresh_database(backend, tmp_path) as url:
        _one_scheduler(make_store(url, tmp_path), tmp_path)


def _one_scheduler(store, tmp_path):
    folder = tmp_path / "loaders"
    write_spec(folder, "tehran", SOURCE.format(db=unit_db(tmp_path / "unit.db"), every="1s"))
    first = Scheduler(store.settings, folder, tick=0.2, lease_seconds=30)
    second = Scheduler(store.settings, folder, tick=0.2, lease_seconds=30)
    try:
        assert [o.status for o in first.run_once()] == ["applied"]
        assert second.run_once() == []  # the first holds the lease
        assert not take_lease(second.db, "scheduler", second.holder, 30)
        first.stop()  # releases it
        assert take_lease(second.db, "scheduler", second.holder, 30)
    finally:
        first.stop()
        second.stop()


def test_a_long_sync_keeps_the_lease(tmp_path, monkeypatch):
    """A pull that outlasts the lease keeps it: no second worker starts the same source."""
    from sdmx_server.sources import sync

    store = make_store(f"sqlite:///{tmp_path / 'store.db'}", tmp_path)
    folder = tmp_path / "loaders"
    write_spec(folder, "tehran", SOURCE.format(db=unit_db(tmp_path / "unit.db"), every="1s"))
    first = Scheduler(store.settings, folder, tick=0.2, lease_seconds=0.6)
    second = Scheduler(store.settings, folder, tick=0.2, lease_seconds=0.6)
    real = sync.sync_source
    taken_meanwhile = []

    def slow_sync(*args, **kwargs):
        for _ in range(8):  # 1.6 s: well past the 0.6 s lease
            time.sleep(0.2)
            taken_meanwhile.append(take_lease(second.db, "scheduler", second.holder, 0.6))
        return real(*args, **kwargs)

    monkeypatch.setattr(sync, "sync_source", slow_sync)
    try:
        assert [o.status for o in first.run_once()] == ["applied"]
        assert taken_meanwhile and not any(taken_meanwhile)
        time.sleep(0.7)  # no sync running: the lease runs out as before
        assert take_lease(second.db, "scheduler", second.holder, 0.6)
    finally:
        first.stop()
        second.stop()


def test_serve_runs_the_scheduler(tmp_path):
    store = make_store(f"sqlite:///{tmp_path / 'store.db'}", tmp_path)
    folder = tmp_path / "loaders"
    write_spec(folder, "tehran", SOURCE.format(db=unit_db(tmp_path / "unit.db"), every="1s"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "SDMX_DATABASE_URL": store.settings.database_url, "SDMX_DATA_DIR": str(tmp_path),
           "SDMX_LOADERS_DIR": str(folder)}
    script = Path(sys.executable).parent / "sdmx-server"
    process = subprocess.Popen([str(script), "serve", "--port", str(port)], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        state = wait_for(lambda: (s := get_state(store.db, "tehran")) and s.last_success and s, seconds=60)
        assert state.last_outcome == "applied"
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert f"syncing the sources of {folder}" in output
    logged = [json.loads(line) for line in output.splitlines() if line.startswith("{")]  # JSON log lines
    assert any(entry["level"] == "INFO" and entry["message"].startswith("source tehran: applied: 3 rows applied")
               for entry in logged), output
    assert "Traceback" not in output


def test_recording_a_sync_is_not_undone_by_a_writer_getting_in_between(tmp_path, monkeypatch):
    """Recording a sync's outcome reads the source's state, then writes it. On SQLite a writer
    that commits in between (another scheduler renewing its lease) made the write fail with
    "database is locked" (seen in CI); the record now takes the write lock first, so that
    writer waits for it instead."""
    import threading

    from sdmx_server.sources import state as states

    store = make_store(f"sqlite:///{tmp_path / 'store.db'}", tmp_path)
    original = states.Session.get
    other: list[threading.Thread] = []

    def get_then_another_writer(self, *args, **kwargs):
        found = original(self, *args, **kwargs)
        if not other:
            other.append(threading.Thread(target=take_lease, args=(store.db, "scheduler", "other", 5)))
            other[0].start()
            other[0].join(0.5)  # it commits now, unless the record holds the write lock
        return found

    monkeypatch.setattr(states.Session, "get", get_then_another_writer)
    recorded = states.record(store.db, "tehran", "TEST:DF_A(1.0)", "applied", load_id=1)
    other[0].join(30)
    assert recorded.last_outcome == "applied" and not other[0].is_alive()
    assert get_state(store.db, "tehran").last_load_id == 1
