"""Whole resends classified in Arrow (store/aligned.py) give exactly what the SQL path gives.

The same loads run twice, in two stores: once with the Arrow path forced (any size, batches of
a few rows, so that a batch of only NULL attributes comes first) and once with it off. Counts,
the current state, the history rows and every earlier state must be the same, and the Arrow
path must really have classified the resends. Also: a resend with a key the store lacks falls
back to SQL. Runs on SQLite and PostgreSQL (conftest.database_url).
"""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from sdmx_server.boot import create_schema
from sdmx_server.cli import _registry
from sdmx_server.ingest.load import load_data
from sdmx_server.registry.load import load_structures
from sdmx_server.settings import Settings
from sdmx_server.store import aligned
from sdmx_server.store.database import Database
from sdmx_server.store.history import CHANGE, REPLACED, REPLACED_BY, UPDATED
from tests.datasets import CONTENT, DIMENSIONS, FLOW_A, frame, sdmx_csv, write
from tests.test_revisions_store import _counts, _fact, _normal, _read, as_of

_CLASSIFY = aligned.classify_aligned


def _store(url: str, tmp_path):
    settings = Settings(database_url=url, data_dir=tmp_path)
    db = Database(url)
    create_schema(db)
    assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings).ok
    return db, settings


def _loads() -> list[tuple[pd.DataFrame, str]]:
    """A first load, then whole resends: values revised, attributes emptied (merge keeps them,
    replace empties them), filled where they were empty, and one identical resend."""
    f0 = _normal(frame(seed=5, months=6, quarters=2))
    f0.loc[f0.index[:20], "COMMENT"] = None  # the first read batches: nothing but NULLs
    f0.loc[f0.index[20:], "COMMENT"] = "c"
    f1 = f0.copy()
    f1.loc[f1.index[::7], "OBS_VALUE"] = f1["OBS_VALUE"].iloc[::7] + 0.25
    f1.loc[f1.index[30:40], "COMMENT"] = None  # merge: the stored one stays
    f1.loc[f1.index[:5], "COMMENT"] = "now"  # was NULL
    f2 = f1.copy()
    f2.loc[f2.index[50:60], "COMMENT"] = None  # replace: emptied
    f2.loc[f2.index[1::9], "OBS_VALUE"] = None
    return [(f0, "merge"), (f1, "merge"), (f2, "replace"), (f2, "replace"), (f1, "merge")]


def _run(url, tmp_path, monkeypatch, forced: bool):
    monkeypatch.setattr(aligned, "MIN_ROWS", 0 if forced else 10**12)
    monkeypatch.setattr(aligned, "BATCH_ROWS", 7)
    taken = []
    original = _CLASSIFY

    def spy(*args, **kwargs):
        out = original(*args, **kwargs)
        taken.append(out is not None)
        return out

    monkeypatch.setattr(aligned, "classify_aligned", spy)
    tmp_path.mkdir()
    db, settings = _store(url, tmp_path)
    try:
        outcomes = []
        for i, (df, action) in enumerate(_loads()):
            out = load_data(db, _registry(db), FLOW_A, write(tmp_path / f"l{i}.csv", sdmx_csv(df)), action, settings)
            assert out.applied, out.report.lines()
            outcomes.append(out)
        fact = _fact(db)
        current = _normal(_read(db, fact.table, fact))
        extra = [REPLACED_BY, CHANGE]
        hist = _read(db, fact.history, fact, extra)
        hist[REPLACED_BY] = hist[REPLACED_BY].map({o.record_id: i for i, o in enumerate(outcomes)})
        hist = hist.sort_values([REPLACED_BY, *DIMENSIONS]).reset_index(drop=True)
        states = [as_of(db, o.result.tx_time) for o in outcomes]
        with db.engine.connect() as conn:
            stale = conn.execute(sa.select(sa.func.count()).select_from(fact.table).where(
                fact.table.c[UPDATED] > outcomes[-1].result.tx_time)).scalar()
        assert stale == 0
        return [_counts(o) for o in outcomes], current, hist, states, taken
    finally:
        db.dispose()


def test_arrow_classification_matches_sql(database_url, tmp_path, monkeypatch):
    fast = _run(database_url, tmp_path / "a", monkeypatch, forced=True)
    # The second store: PostgreSQL's test database emptied (one per test), a new SQLite file.
    _drop_all(database_url)
    slow = _run(database_url.replace("store.db", "store-sql.db"), tmp_path / "b", monkeypatch, forced=False)
    counts, current, hist, states, taken = fast
    assert taken == [True] * 4  # every resend went the Arrow way (the first load: nothing stored)
    assert slow[4] == [False] * 4
    assert counts == slow[0]
    assert counts[1]["changed"] > 0 and counts[2]["changed"] > 0
    assert counts[3] == {"added": 0, "changed": 0, "deleted": 0, "unchanged": counts[3]["unchanged"]}
    pd.testing.assert_frame_equal(current, slow[1])
    pd.testing.assert_frame_equal(hist, slow[2])
    for mine, theirs in zip(states, slow[3]):
        pd.testing.assert_frame_equal(mine, theirs)
    assert len(hist) == sum(c["changed"] for c in counts)


def test_a_resend_with_another_key_goes_the_sql_way(database_url, tmp_path, monkeypatch):
    monkeypatch.setattr(aligned, "MIN_ROWS", 0)
    db, settings = _store(database_url, tmp_path)
    try:
        f0 = _normal(frame(seed=6, months=3, quarters=1))
        assert load_data(db, _registry(db), FLOW_A, write(tmp_path / "a.csv", sdmx_csv(f0)), "merge", settings).applied
        # Same count, one key swapped for a new month: not aligned.
        f1 = pd.concat([f0.iloc[1:], f0.iloc[:1].assign(TIME_PERIOD="2031-01")]) if f0["FREQ"].iloc[0] == "M" else None
        if f1 is None:
            pytest.skip("the dataset's first series is not monthly")
        out = load_data(db, _registry(db), FLOW_A, write(tmp_path / "b.csv", sdmx_csv(f1)), "merge", settings)
        assert out.applied
        assert _counts(out) == {"added": 1, "changed": 0, "deleted": 0, "unchanged": len(f0) - 1}
    finally:
        db.dispose()


def _drop_all(url: str) -> None:
    """Empty the database for the second run (PostgreSQL: the test's one database)."""
    if not url.startswith("postgresql"):
        return
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    engine.dispose()


def test_joined_keys_are_equal_only_when_their_columns_are():
    """SQLite reads the stored key back as one text (its columns joined by a separator): a key
    value holding the separator must not make two different keys look alike."""
    import pyarrow as pa

    key = ["A", "B"]
    sep = aligned.SEPARATOR

    def stored(*rows):
        return pa.table({aligned._JOINED_KEY: [sep.join(r) for r in rows]})

    def new(*rows):
        return pa.table({"A": [r[0] for r in rows], "B": [r[1] for r in rows]})

    assert aligned._same_keys(stored(("a", "b"), ("a", "c")), new(("a", "b"), ("a", "c")), key)
    assert not aligned._same_keys(stored(("a", "b"), ("a", "c")), new(("a", "b"), ("a", "d")), key)
    # ("a", "b<sep>c") joined is ("a<sep>b", "c") joined: the new side's separator tells
    assert not aligned._same_keys(stored(("a", f"b{sep}c")), new((f"a{sep}b", "c")), key)
    assert not aligned._same_keys(stored((f"a{sep}b", "c")), new((f"a{sep}b", "c")), key)
