"""A load applied while it is validated (store/early.py: a first load written, a whole resend
compared) gives exactly what the ordinary apply gives, and a file with an error found after
the work began changes nothing.

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
from sdmx_server.store import aligned, early
from sdmx_server.store.versions import stamp_of
from tests.datasets import DIMENSIONS, FLOW_A, frame, sdmx_csv, write
from tests.test_load_batches import _run, _same, _small
from tests.test_revisions_aligned import _drop_all, _store
from tests.test_revisions_store import _counts, _fact, _history_rows, _normal, _read


@pytest.fixture
def spied(monkeypatch):
    """The early loads that finished, and those that gave up (with why)."""
    seen = {"started": 0, "finished": 0, "given_up": [], "modes": []}
    start, finish, give_up = early.EarlyLoad.start, early.EarlyLoad.finish, early.EarlyLoad.give_up

    def started(self):
        began = start(self)
        seen["started"] += began
        return began

    def finished(self, *a, **k):
        out = finish(self, *a, **k)
        if out is not None:
            seen["finished"] += 1
            seen["modes"].append(self.mode)
        return out

    def gave_up(self, why):
        seen["given_up"].append(why)
        return give_up(self, why)

    monkeypatch.setattr(early.EarlyLoad, "start", started)
    monkeypatch.setattr(early.EarlyLoad, "finish", finished)
    monkeypatch.setattr(early.EarlyLoad, "give_up", gave_up)
    return seen


def _early_on(monkeypatch):
    monkeypatch.setenv("SDMX_TEST_EARLY_ROWS", "1")
    # Stored rows read back a few at a time: a compared resend stores its changed rows in many
    # batches (on SQLite as it reads, through one DIFF table emptied between them).
    monkeypatch.setattr(aligned, "BATCH_ROWS", 7)


def test_early_first_load_and_what_follows_equal_the_ordinary_apply(database_url, tmp_path, monkeypatch, spied):
    _early_on(monkeypatch)
    with_early = _run(database_url, tmp_path / "a", monkeypatch, small=True)
    # The first load was written early and the whole resend that revises it compared early; the
    # later ones are not what the early path does (new keys out of order, deletes).
    assert spied["modes"] == ["write", "compare"]
    assert spied["given_up"] == ["the rows are not in key order", "the rows have more than one action, or delete",
                                 "the rows are not in key order", "the rows are not in key order"]
    monkeypatch.undo()
    _drop_all(database_url)
    monkeypatch.setenv("SDMX_TEST_EARLY_ROWS", str(10**9))
    ordinary = _run(database_url.replace("store.db", "store-one.db"), tmp_path / "b", monkeypatch, small=True)
    assert spied["finished"] == 2
    _same(with_early, ordinary)


def test_an_early_load_out_of_key_order_gives_up_and_loads_all_the_same(database_url, tmp_path, monkeypatch,
                                                                         spied):
    _early_on(monkeypatch)
    with_early = _run(database_url, tmp_path / "a", monkeypatch, small=True, first_shuffled=True)
    # The first load gave up; the resend that follows (in key order) was compared early.
    assert spied["given_up"][0] == "the rows are not in key order" and spied["modes"] == ["compare"]
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


def _first(db, settings, tmp_path, df) -> None:
    out = load_data(db, _registry(db), FLOW_A, write(tmp_path / "first.csv", sdmx_csv(df)), "merge", settings)
    assert out.applied, out.report.lines()


def test_an_error_found_after_the_early_comparison_began_changes_nothing(database_url, tmp_path, monkeypatch,
                                                                          spied):
    """A whole resend compared while validated, with an error in its last row: rejected, the
    stored state, history and stamp as before; the corrected resend then applies compared."""
    _early_on(monkeypatch)
    _small(monkeypatch, True)
    df = _normal(frame(seed=24, months=6, quarters=2))
    resent = df.copy()
    resent.loc[resent.index[::6], "OBS_VALUE"] += 1.0
    lines = sdmx_csv(resent).splitlines()
    cells = lines[-1].split(",")
    cells[lines[0].split(",").index("OBS_VALUE")] = "twelve"
    lines[-1] = ",".join(cells)
    db, settings = _store(database_url, tmp_path)
    try:
        _first(db, settings, tmp_path, df)
        fact = _fact(db)
        stamp, history = stamp_of(db, FLOW_A), _history_rows(db)
        out = load_data(db, _registry(db), FLOW_A, write(tmp_path / "bad.csv", "\n".join(lines) + "\n"), "merge",
                        settings)
        assert out.status == "rejected" and spied["started"] == 2
        assert [g["rule"] for g in out.report.as_json()["errors"]] == ["number"]
        pd.testing.assert_frame_equal(_normal(_read(db, fact.table, fact)), df)
        assert (stamp_of(db, FLOW_A), _history_rows(db)) == (stamp, history)
        good = load_data(db, _registry(db), FLOW_A, write(tmp_path / "good.csv", sdmx_csv(resent)), "merge", settings)
        revised = len(resent.index[::6])
        assert _counts(good) == {"added": 0, "changed": revised, "deleted": 0, "unchanged": len(df) - revised}
        assert spied["modes"] == ["write", "compare"] and spied["given_up"] == []
        pd.testing.assert_frame_equal(_normal(_read(db, fact.table, fact)), resent)
        assert _history_rows(db) == history + revised
    finally:
        db.dispose()


@pytest.mark.parametrize("case", ["new key", "one fewer", "replace-all without one"])
def test_a_load_of_other_keys_gives_up_its_comparison_and_applies_all_the_same(database_url, tmp_path, monkeypatch,
                                                                              spied, case):
    """Rows in key order over a stored table that are not exactly its keys: a key the store
    lacks (found where it comes), a stored row missing at the end (found when the rows run out):
    the comparison gives up, and the ordinary apply does the load."""
    _early_on(monkeypatch)
    _small(monkeypatch, True)
    df = _normal(frame(seed=25, months=6, quarters=2))
    resent = df.copy()
    resent.loc[resent.index[::5], "OBS_VALUE"] += 2.0
    revised = len(resent.index[::5])
    action = "merge"
    if case == "new key":  # a month after the first series' last, in key order
        extra = resent.iloc[[5]].assign(TIME_PERIOD="2020-07")
        assert resent.iloc[5]["TIME_PERIOD"] == "2020-06" and resent.iloc[6]["TIME_PERIOD"] != "2020-07"
        resent = pd.concat([resent.iloc[:6], extra, resent.iloc[6:]]).reset_index(drop=True)
        expected = {"added": 1, "changed": revised, "deleted": 0, "unchanged": len(df) - revised}
        stored = resent
    else:
        resent = resent.iloc[:-1]
        gone = (len(df) - 1) % 5 == 0  # (was the last row one of the revised?)
        expected = {"added": 0, "changed": revised - gone, "deleted": 0, "unchanged": len(df) - 1 - revised + gone}
        stored = pd.concat([resent, df.iloc[-1:]]).reset_index(drop=True)
        if case == "replace-all without one":
            action, expected["deleted"], stored = "replace-all", 1, resent
    db, settings = _store(database_url, tmp_path)
    try:
        _first(db, settings, tmp_path, df)
        out = load_data(db, _registry(db), FLOW_A, write(tmp_path / "r.csv", sdmx_csv(resent)), action, settings)
        assert out.applied, out.report.lines()
        assert _counts(out) == expected
        assert spied["modes"] == ["write"]
        assert spied["given_up"] == ["the load does not carry exactly the stored keys"]
        fact = _fact(db)
        pd.testing.assert_frame_equal(_normal(_read(db, fact.table, fact)), _normal(stored))
    finally:
        db.dispose()
