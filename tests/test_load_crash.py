"""Crash safety and queued loads, with real `sdmx-server load-data` processes.

- A load killed (SIGKILL) at several points of its apply leaves the previous state intact (the
  stored observations, their history, the series table and the data stamp equal the oracle
  of before), its record is marked failed at the next start, and a repeat succeeds.
- A load killed at arbitrary moments leaves either the state before or the state after, whole,
  never a part, and its record says which.
- Two loads of one dataflow at once queue: both succeed, and the store (history included)
  equals the two applied one after the other.

Runs on SQLite and PostgreSQL (conftest.database_url).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sdmx_server.boot import create_schema
from sdmx_server.registry.load import load_structures
from sdmx_server.settings import Settings
from sdmx_server.store import series as series_module
from sdmx_server.store.steps import CRASH_AT, PAUSE_AT
from sdmx_server.store.database import Database
from sdmx_server.store.versions import stamp_of
from tests.datasets import AREAS, COLUMNS, CONTENT, DIMENSIONS, FLOW_A, SEXES, sdmx_csv, write
from tests.test_revisions_store import _fact, _history_rows, _normal, _read, as_of

FLOW = "TEST:DF_A(1.0)"
#: Forces store/early.py on for the small files here (its threshold, in rows).
EARLY_ROWS = "SDMX_TEST_EARLY_ROWS"


def big_frame(years: int, value: float, start: int = 1800) -> pd.DataFrame:
    """Monthly series of every area and sex, `years` long: 144 observations a year."""
    periods = [f"{y}-{m:02d}" for y in range(start, start + years) for m in range(1, 13)]
    rows = [
        ("M", area, sex, period, value + i, "A", "3", f"{area} {sex}", "")
        for area in AREAS for sex in SEXES for i, period in enumerate(periods)
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


@pytest.fixture
def store(database_url, tmp_path):
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    db = Database(database_url)
    create_schema(db)
    assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings).ok
    yield db, database_url, tmp_path
    db.dispose()


def _env(url: str, tmp_path: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDMX_TEST_")}
    env.update(SDMX_DATABASE_URL=url, SDMX_DATA_DIR=str(tmp_path / "var"), **extra)
    return env


def _cli(url, tmp_path, *args, **extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sdmx_server.cli", *args], cwd=tmp_path,
                            env=_env(url, tmp_path, **extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _load(url, tmp_path, path: Path, action="merge", **extra) -> subprocess.Popen:
    return _cli(url, tmp_path, "load-data", FLOW, str(path), "--action", action, **extra)


def _run(proc: subprocess.Popen, timeout=300) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def _records(url, tmp_path) -> list[dict]:
    """`sdmx-server loads --json`: a start of the command, which sweeps abandoned records."""
    code, out, err = _run(_cli(url, tmp_path, "loads", "--json", "--limit", "100"))
    assert code == 0, err
    return json.loads(out)


def _snapshot(db) -> dict:
    """Everything a load changes: observations, history, series counts, stamp."""
    fact = _fact(db)
    current = _normal(_read(db, fact.table, fact))
    counted = series_module.all_series(db, fact).to_pandas()
    return {
        "observations": current,
        "history": _history_rows(db),
        "series": dict(zip(map(tuple, counted[["FREQ", "AREA", "SEX"]].itertuples(index=False)),
                           counted[series_module.OBS_COUNT])),
        "stamp": stamp_of(db, FLOW_A),
    }


def _same(a: dict, b: dict) -> bool:
    return a["observations"].equals(b["observations"]) and all(a[k] == b[k] for k in ("history", "series", "stamp"))


def _marked_failed(url, tmp_path, record_id: int) -> dict:
    """The killed load's record after the next start. (PostgreSQL notices a dead client's
    connection a moment later; the start after that sweeps it.)"""
    deadline = time.monotonic() + 20
    while True:
        found = {r["id"]: r for r in _records(url, tmp_path)}[record_id]
        if found["status"] != "running" or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def _prepare(store, years: int = 20) -> tuple:
    db, url, tmp_path = store
    before = big_frame(years, 1.0)
    code, _, err = _run(_load(url, tmp_path, write(tmp_path / "first.csv", sdmx_csv(before))))
    assert code == 0, err
    revised = big_frame(years + 2, 2.0)  # every value changed and two years added
    path = write(tmp_path / "revised.csv", sdmx_csv(revised.iloc[len(revised) // 3:]))
    return db, url, tmp_path, path


@pytest.mark.parametrize("point,action", [("locked", "merge"), ("written", "merge"), ("finished", "merge"),
                                          ("finished", "replace-all")])
def test_killed_load_changes_nothing(store, point, action):
    db, url, tmp_path, path = _prepare(store)
    before = _snapshot(db)
    proc = _load(url, tmp_path, path, action, **{CRASH_AT: point})
    code, _, err = _run(proc)
    assert code == -signal.SIGKILL, err
    assert _same(_snapshot(db), before)
    killed = max(r["id"] for r in _records(url, tmp_path))
    record = _marked_failed(url, tmp_path, killed)
    assert record["status"] == "failed"
    # The repeat succeeds and does what the killed load would have done.
    code, _, err = _run(_load(url, tmp_path, path, action))
    assert code == 0, err
    after = _snapshot(db)
    applied = {r["id"]: r for r in _records(url, tmp_path)}[killed + 1]
    assert applied["status"] == "applied" and applied["changed"] > 0
    assert after["history"] > before["history"] and after["stamp"] != before["stamp"]
    if action == "replace-all":
        assert applied["deleted"] == len(before["observations"]) // 3


@pytest.mark.parametrize("point", ["early-locked", "early-written", "early-finished"])
def test_killed_early_first_load_changes_nothing(store, point):
    """A first load written while it is validated (store/early.py, forced on for this small
    file) killed at each point: nothing stays, its record is marked failed, a repeat loads."""
    db, url, tmp_path = store
    first = big_frame(20, 1.0).sort_values(DIMENSIONS)  # (in key order: else it gives up at once)
    path = write(tmp_path / "first.csv", sdmx_csv(first))
    stamp = stamp_of(db, FLOW_A)  # (no fact table yet: nothing else to take a snapshot of)
    code, _, err = _run(_load(url, tmp_path, path, **{CRASH_AT: point, EARLY_ROWS: "1"}))
    assert code == -signal.SIGKILL, err
    fact = _fact(db)  # (made before the kill; its series table is made by the first write)
    assert _read(db, fact.table, fact).empty and _history_rows(db) == 0 and stamp_of(db, FLOW_A) == stamp
    killed = max(r["id"] for r in _records(url, tmp_path))
    assert _marked_failed(url, tmp_path, killed)["status"] == "failed"
    code, _, err = _run(_load(url, tmp_path, path, **{EARLY_ROWS: "1"}))
    assert code == 0, err
    applied = {r["id"]: r for r in _records(url, tmp_path)}[killed + 1]
    assert applied["status"] == "applied" and applied["added"] == len(first)
    after = _snapshot(db)
    pd.testing.assert_frame_equal(after["observations"], _normal(first))
    assert sum(after["series"].values()) == len(first) and after["stamp"] != stamp


@pytest.mark.parametrize("point", ["early-locked", "early-compared", "early-finished"])
def test_killed_early_resend_changes_nothing(store, point):
    """A whole resend compared while it is validated (store/early.py; the stored table is above
    aligned.MIN_ROWS) killed at each point: the state before stays, its record is marked
    failed, and a repeat applies the revisions."""
    db, url, tmp_path = store
    first = big_frame(70, 1.0).sort_values(DIMENSIONS)  # 10,080 observations
    code, _, err = _run(_load(url, tmp_path, write(tmp_path / "first.csv", sdmx_csv(first))))
    assert code == 0, err
    resent = first.copy()
    resent.loc[resent.index[::10], "OBS_VALUE"] += 0.5
    path = write(tmp_path / "resent.csv", sdmx_csv(resent))
    before = _snapshot(db)
    code, _, err = _run(_load(url, tmp_path, path, **{CRASH_AT: point, EARLY_ROWS: "1"}))
    assert code == -signal.SIGKILL, err
    assert _same(_snapshot(db), before)
    killed = max(r["id"] for r in _records(url, tmp_path))
    assert _marked_failed(url, tmp_path, killed)["status"] == "failed"
    code, _, err = _run(_load(url, tmp_path, path, **{EARLY_ROWS: "1"}))
    assert code == 0, err
    applied = {r["id"]: r for r in _records(url, tmp_path)}[killed + 1]
    revised = len(resent.index[::10])
    assert (applied["status"], applied["added"], applied["changed"], applied["unchanged"]) == (
        "applied", 0, revised, len(first) - revised)
    after = _snapshot(db)
    pd.testing.assert_frame_equal(after["observations"], _normal(resent))
    assert after["history"] == before["history"] + revised and after["stamp"] != before["stamp"]


def test_killed_at_any_moment_leaves_before_or_after(store):
    db, url, tmp_path, path = _prepare(store, years=150)
    before = _snapshot(db)
    reference = None
    seen = max(r["id"] for r in _records(url, tmp_path))
    for delay in (1.0, 2.0, 3.0, 4.0, 5.0):
        proc = _load(url, tmp_path, path, "replace-all")
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        code, _, _ = _run(proc)
        now = _snapshot(db)
        mine = [r for r in _records(url, tmp_path) if r["id"] > seen]  # none: killed before its record
        seen = max([seen] + [r["id"] for r in mine])
        if code == 0 or any(r["status"] == "applied" for r in mine):  # it finished before the signal
            reference = now
            assert not _same(now, before)
            break
        assert _same(now, before), f"killed after {delay} s: a part of the load is visible"
    code, _, err = _run(_load(url, tmp_path, path, "replace-all"))
    assert code == 0, err
    if reference is not None:  # applied once already: the repeat changes nothing
        assert _same(_snapshot(db), reference)


@pytest.mark.parametrize("early", [False, True], ids=["applied-after-validation", "written-early"])
def test_two_loads_of_one_dataflow_queue(store, early):
    """(`early`: the first, a first load, is written while validated: store/early.py)"""
    db, url, tmp_path = store
    forced = {EARLY_ROWS: "1"} if early else {}
    first = big_frame(12, 1.0).sort_values(DIMENSIONS)
    second = big_frame(12, 5.0, start=1806)  # overlaps the last six years of the first
    a = write(tmp_path / "a.csv", sdmx_csv(first))
    b = write(tmp_path / "b.csv", sdmx_csv(second))
    # The first holds its dataflow's lock for 3 s; the second starts meanwhile and must wait.
    proc_a = _load(url, tmp_path, a, **{PAUSE_AT: "early-locked:3" if early else "locked:3"}, **forced)
    # b starts once a's record is open (a's own start may take a while on a busy machine); a
    # takes the lock right after, long before b's process gets there.
    deadline = time.monotonic() + 30
    while not _records(url, tmp_path):
        assert time.monotonic() < deadline, "the first load never opened its record"
    proc_b = _load(url, tmp_path, b, **forced)
    (code_a, _, err_a), (code_b, _, err_b) = _run(proc_a), _run(proc_b)
    assert code_a == 0, err_a
    assert code_b == 0, err_b
    records = sorted(_records(url, tmp_path), key=lambda r: r["tx_time"])
    assert [r["source"] for r in records] == [str(a), str(b)]  # a took the lock first
    ra, rb = records
    assert ra["status"] == rb["status"] == "applied"
    overlap = len(first.merge(second, on=DIMENSIONS))
    assert (ra["added"], ra["changed"]) == (len(first), 0)
    assert (rb["added"], rb["changed"], rb["unchanged"]) == (len(second) - overlap, overlap, 0)
    # One after the other: b's values win where they overlap, and a's state is a revision.
    expected = pd.concat([first, second]).drop_duplicates(DIMENSIONS, keep="last")
    pd.testing.assert_frame_equal(as_of(db, rb["tx_time"]), _normal(expected))
    pd.testing.assert_frame_equal(as_of(db, ra["tx_time"]), _normal(first))
    assert _history_rows(db) == overlap


def test_live_load_is_never_marked_failed(store):
    """A start while a load runs (queued or applying) leaves its record running."""
    db, url, tmp_path = store
    path = write(tmp_path / "a.csv", sdmx_csv(big_frame(5, 1.0)))
    proc = _load(url, tmp_path, path, **{PAUSE_AT: "locked:10"})
    deadline = time.monotonic() + 30
    seen = []
    while not seen:  # each call is a start that sweeps
        assert time.monotonic() < deadline, "the load never opened its record"
        seen = _records(url, tmp_path)
    assert [r["status"] for r in seen] == ["running"]
    assert [r["status"] for r in _records(url, tmp_path)] in (["running"], ["applied"])
    code, _, err = _run(proc)
    assert code == 0, err
    assert [r["status"] for r in _records(url, tmp_path)] == ["applied"]
