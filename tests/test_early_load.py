"""A first load written while it is validated (store/early.py) gives exactly what the ordinary
apply gives, and a file with an error found after writing began changes nothing.

Files are read in small batches so that the early path has several batches to write before
validation ends; SDMX_TEST_EARLY_ROWS=1 lets it start at the first. The same sequence of loads
(a first load in key order, then revisions, deletes and replace-all, which the ordinary apply
does) runs with the early path and without; counts, current state, history and series must be
equal. Runs on SQLite and PostgreSQL (conftest.database_url).
"""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from sdmx_server.cli import _registry
from sdmx_server.ingest.load import load_data
from sdmx_server.store import early
from sdmx_server.store.versions import stamp_of
from tests.datasets import DIMENSIONS, FLOW_A, frame, sdmx_csv, write
from tests.test_load_batches import _run, _same, _small
from tests.test_revisions_aligned import _drop_all, _store
from tests.test_revisions_store import _fact, _normal, _read


@pytest.fixture
def spied(monkeypatch):
    """The early loads that finished, and those that gave up (with why)."""
    seen = {"started": 0, "finished": 0, "given_up": []}
    start, finish, give_up = early.EarlyLoad.start, early.EarlyLoad.finish, early.EarlyLoad.give_up

    def started(self):
        began = start(self)
        seen["started"] += began
        return began

    def finished(self, *a, **k):
        seen["finished"] += 1
        return finish(self, *a, **k)

    def gave_up(self, why):
        seen["given_up"].append(why)
        return give_up(self, why)

    monkeypatch.setattr(early.EarlyLoad, "start", started)
    monkeypatch.setattr(early.EarlyLoad, "finish", finished)
    monkeypatch.setattr(early.EarlyLoad, "give_up", gave_up)
    return seen


def _early_on(monkeypatch):
    monkeypatch.setenv("SDMX_TEST_EARLY_ROWS", "1")


def test_early_first_load_and_what_follows_equal_the_ordinary_apply(database_url, tmp_path, monkeypatch, spied):
    _early_on(monkeypatch)
    with_early = _run(database_url, tmp_path / "a", monkeypatch, small=True)
    # The first load was written early; the later ones (into a dataflow holding data) were not.
    assert spied["finished"] == 1 and spied["given_up"] == []
    monkeypatch.undo()
    _drop_all(database_url)
    monkeypatch.setenv("SDMX_TEST_EARLY_ROWS", str(10**9))
    ordinary = _run(database_url.replace("store.db", "store-one.db"), tmp_path / "b", monkeypatch, small=True)
    assert spied["finished"] == 1
    _same(with_early, ordinary)


def test_an_early_load_out_of_key_order_gives_up_and_loads_all_the_same(database_url, tmp_path, monkeypatch,
                                                                         spied):
    _early_on(monkeypatch)
    with_early = _run(database_url, tmp_path / "a", monkeypatch, small=True, first_shuffled=True)
    assert spied["finished"] == 0 and spied["given_up"] == ["the rows are not in key order"]
    monkeypatch.undo()
    _drop_all(database_url)
    ordinary = _run(database_url.replace("store.db", "store-one.db"), tmp_path / "b", monkeypatch, small=True,
                    first_shuffled=True)
    _same(with_early, ordinary)


def test_an_early_load_with_deletes_gives_up_and_applies_them(database_url, tmp_path, monkeypatch, spied):
    """A delete row in a later batch of a first load deletes what earlier rows of the load wrote."""
    _early_on(monkeypatch)
    _small(monkeypatch, True)
    df = _normal(frame(seed=21, months=6, quarters=2))
    # Every observation written, then (in the file's last row) one written far earlier deleted.
    gone = df.iloc[[5]].copy()
    gone[[c for c in gone.columns if c not in DIMENSIONS]] = None  # (a delete naming no value: the whole row)
    rows = pd.concat([df, gone])
    text = sdmx_csv(rows, version="2.0", actions=["M"] * len(df) + ["D"])
    db, settings = _store(database_url, tmp_path)
    try:
        out = load_data(db, _registry(db), FLOW_A, write(tmp_path / "d.csv", text), "merge", settings)
        assert out.applied, out.report.lines()
        assert spied["finished"] == 0 and spied["given_up"] == ["the rows have more than one action, or delete"]
        fact = _fact(db)
        stored = _normal(_read(db, fact.table, fact))
        pd.testing.assert_frame_equal(stored, _normal(df.drop(index=df.index[5])))
        assert (out.result.added, out.result.deleted) == (len(df), 1)
    finally:
        db.dispose()


def test_an_error_found_after_early_writes_began_changes_nothing(database_url, tmp_path, monkeypatch, spied):
    """The error is in the file's last rows: batches before it were written already, and are
    rolled back; the record says rejected with the error; a corrected file then loads."""
    _early_on(monkeypatch)
    _small(monkeypatch, True)
    df = _normal(frame(seed=22, months=6, quarters=2))
    lines = sdmx_csv(df).splitlines()
    cells = lines[-1].split(",")
    cells[[c for c in lines[0].split(",")].index("OBS_VALUE")] = "twelve"
    lines[-1] = ",".join(cells)
    db, settings = _store(database_url, tmp_path)
    try:
        stamp = stamp_of(db, FLOW_A)
        out = load_data(db, _registry(db), FLOW_A, write(tmp_path / "bad.csv", "\n".join(lines) + "\n"), "merge",
                        settings)
        assert out.status == "rejected" and spied["started"] == 1  # (rows were written before the error)
        assert [g["rule"] for g in out.report.as_json()["errors"]] == ["number"]
        assert out.report.as_json()["errors"][0]["rows"] == [len(df) + 1]
        fact = _fact(db)
        assert len(_read(db, fact.table, fact)) == 0  # what was written early is gone
        with db.engine.connect() as conn:
            status = conn.execute(sa.text("SELECT status FROM sdmx_load WHERE id = :i"), {"i": out.record_id}).scalar()
        assert status == "rejected"
        assert stamp_of(db, FLOW_A) == stamp
        good = load_data(db, _registry(db), FLOW_A, write(tmp_path / "good.csv", sdmx_csv(df)), "merge", settings)
        assert good.applied and good.result.added == len(df)
        assert spied["finished"] == 1
        pd.testing.assert_frame_equal(_normal(_read(db, fact.table, fact)), df)
    finally:
        db.dispose()


def test_a_duplicate_in_an_early_load_is_reported_and_nothing_stays(database_url, tmp_path, monkeypatch, spied):
    """A first load whose file repeats an observation is rejected (a duplicate, which SQLite's
    key refuses inside the writer as well): nothing stays, and the error is the report's."""
    _early_on(monkeypatch)
    _small(monkeypatch, True)
    df = _normal(frame(seed=23, months=6, quarters=2))
    twice = pd.concat([df.iloc[:30], df.iloc[[29]], df.iloc[30:]])  # in key order, one key twice
    db, settings = _store(database_url, tmp_path)
    try:
        out = load_data(db, _registry(db), FLOW_A, write(tmp_path / "dup.csv", sdmx_csv(twice)), "merge", settings)
        assert out.status == "rejected"
        assert [g["rule"] for g in out.report.as_json()["errors"]] == ["duplicate"]
        fact = _fact(db)
        assert len(_read(db, fact.table, fact)) == 0
    finally:
        db.dispose()
