"""Revisions in the store: after a series of loads, the fact table and its history table give
back every earlier state exactly (store/history.py's rules, against a pandas oracle of each
state); the counts of each load are exact; a reload changes nothing, writes no history and
keeps the data stamp.

Runs on SQLite and PostgreSQL (conftest.database_url).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import sqlalchemy as sa

from sdmx_server.boot import create_schema
from sdmx_server.cli import _registry
from sdmx_server.ingest.load import load_data
from sdmx_server.registry.load import load_structures
from sdmx_server.registry.shape import data_shape
from sdmx_server.settings import Settings
from sdmx_server.store import series as series_module
from sdmx_server.store.database import Database
from sdmx_server.store.history import CHANGE, REPLACED, REPLACED_BY, UPDATED
from sdmx_server.store.records import LoadRecord
from sdmx_server.store.tables import find_fact_table
from sdmx_server.store.versions import stamp_of
from tests.datasets import COLUMNS, CONTENT, DIMENSIONS, FLOW_A, frame, sdmx_csv, write

VALUES = [c for c in COLUMNS if c not in DIMENSIONS]


@pytest.fixture
def store(database_url, tmp_path):
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    db = Database(database_url)
    create_schema(db)
    assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings).ok
    yield db, settings, tmp_path
    db.dispose()


def _load(store, text: str, action: str, name: str):
    db, settings, tmp_path = store
    outcome = load_data(db, _registry(db), FLOW_A, write(tmp_path / name, text), action, settings)
    assert outcome.applied, outcome.report.lines()
    return outcome


def _fact(db):
    shape = data_shape(_registry(db).get("dataflow", *FLOW_A).structure)
    return find_fact_table(db, FLOW_A, shape)


def _normal(df: pd.DataFrame) -> pd.DataFrame:
    """Same order, same empties (None), for comparing states."""
    df = df[COLUMNS].copy()
    for c in COLUMNS:
        if c != "OBS_VALUE":
            df[c] = df[c].map(lambda v: None if v is None or v == "" or (isinstance(v, float) and pd.isna(v)) else str(v))
    df["OBS_VALUE"] = df["OBS_VALUE"].astype(float)
    return df.sort_values(DIMENSIONS).reset_index(drop=True)


def _read(db, table: sa.Table, fact, extra=()) -> pd.DataFrame:
    cols = [table.c[fact.columns[c]].label(c) for c in COLUMNS] + [table.c[e] for e in extra]
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(*cols)).all()
    return pd.DataFrame(rows, columns=[*COLUMNS, *extra])


def as_of(db, t: int) -> pd.DataFrame:
    """The state as of t, by store/history.py's rule: current rows with UPDATED <= t, and
    history rows with UPDATED <= t < REPLACED (UPDATED null: older than any time)."""
    fact = _fact(db)
    current = _read(db, fact.table, fact, [UPDATED])
    hist = _read(db, fact.history, fact, [UPDATED, REPLACED])
    valid = lambda d: d[UPDATED].isna() | (d[UPDATED] <= t)  # noqa: E731
    state = pd.concat([current[valid(current)], hist[valid(hist) & (hist[REPLACED] > t)]])
    return _normal(state)


def changed_after(db, t: int) -> tuple[set, set]:
    """(keys written after t that are current, keys deleted after t that are not)."""
    fact = _fact(db)
    current = _read(db, fact.table, fact, [UPDATED])
    hist = _read(db, fact.history, fact, [REPLACED, CHANGE])
    keys = lambda d: set(map(tuple, d[DIMENSIONS].itertuples(index=False)))  # noqa: E731
    live = keys(current)
    written = keys(current[current[UPDATED].notna() & (current[UPDATED] > t)])
    deleted = keys(hist[(hist[CHANGE] == "D") & (hist[REPLACED] > t)]) - live
    return written, deleted


def _history_rows(db) -> int:
    fact = _fact(db)
    with db.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(fact.history)).scalar()


def _oracle_counts(before: pd.DataFrame, after: pd.DataFrame, written_keys: set) -> dict:
    b = before.set_index(DIMENSIONS)
    a = after.set_index(DIMENSIONS)
    added = a.index.difference(b.index)
    deleted = b.index.difference(a.index)
    common = a.index.intersection(b.index)
    differs = ~(a.loc[common, VALUES].fillna("\0").astype(str) == b.loc[common, VALUES].fillna("\0").astype(str)).all(axis=1)
    changed = set(common[differs.to_numpy()])
    return {"added": len(added), "changed": len(changed), "deleted": len(deleted),
            "unchanged": len(written_keys - set(added) - changed)}


def _keys(df: pd.DataFrame) -> set:
    return set(map(tuple, df[DIMENSIONS].itertuples(index=False)))


def _counts(outcome) -> dict:
    r = outcome.result
    return {"added": r.added, "changed": r.changed, "deleted": r.deleted, "unchanged": r.unchanged}


def test_states_counts_and_reloads(store):
    db = store[0]
    f0 = frame(seed=1)
    s1 = _normal(f0)
    out1 = _load(store, sdmx_csv(f0), "merge", "l1.csv")
    assert _counts(out1) == {"added": len(f0), "changed": 0, "deleted": 0, "unchanged": 0}
    assert _history_rows(db) == 0

    # Load 2, merge: 40 values changed, 20 rows sent again with an empty COMMENT (merge keeps
    # the stored one: unchanged), and two new months of every monthly series.
    l2 = s1.iloc[:60].copy()
    l2.loc[l2.index[:40], "OBS_VALUE"] = l2["OBS_VALUE"].iloc[:40] * 2 + 1
    l2.loc[l2.index[40:], "COMMENT"] = None
    longer = _normal(frame(seed=1, months=26))
    new = longer[~longer.set_index(DIMENSIONS).index.isin(s1.set_index(DIMENSIONS).index)]
    assert len(new) > 0
    l2 = pd.concat([l2, new])
    s2 = s1.copy().set_index(DIMENSIONS)
    s2.loc[l2.iloc[:40].set_index(DIMENSIONS).index, "OBS_VALUE"] = l2["OBS_VALUE"].iloc[:40].to_numpy()
    s2 = _normal(pd.concat([s2.reset_index(), new]))
    out2 = _load(store, sdmx_csv(l2), "merge", "l2.csv")
    assert _counts(out2) == _oracle_counts(s1, s2, _keys(l2)) == {
        "added": len(new), "changed": 40, "deleted": 0, "unchanged": 20}

    # Load 3, SDMX-CSV 2.0 with actions: replace 30 rows (20 with another status and COMMENT
    # emptied, 10 exactly as stored), delete 15 whole observations and one COMMENT value.
    replaced = s2.iloc[100:130].copy()
    flip = {"A": "P", "P": "E", "E": "A"}
    replaced.loc[replaced.index[:20], "OBS_STATUS"] = replaced["OBS_STATUS"].iloc[:20].map(flip)
    replaced.loc[replaced.index[:20], "COMMENT"] = None
    gone = s2.iloc[200:215].copy()
    commented = s2[s2["COMMENT"].notna()]
    commented = commented[~commented.index.isin(range(100, 130)) & ~commented.index.isin(range(200, 215))]
    target = commented.iloc[:1].copy()
    assert len(target) == 1
    deletes = gone.copy()
    deletes[[c for c in VALUES]] = None
    value_delete = target.copy()
    value_delete[[c for c in VALUES if c != "COMMENT"]] = None
    l3 = pd.concat([replaced, deletes, value_delete])
    actions = ["R"] * len(replaced) + ["D"] * (len(deletes) + 1)
    s3 = s2.set_index(DIMENSIONS)
    s3.loc[replaced.set_index(DIMENSIONS).index, VALUES] = replaced[VALUES].to_numpy()
    s3.loc[target.set_index(DIMENSIONS).index, "COMMENT"] = None
    s3 = _normal(s3.drop(index=gone.set_index(DIMENSIONS).index).reset_index())
    out3 = _load(store, sdmx_csv(l3, version="2.0", actions=actions), "merge", "l3.csv")
    expected3 = _oracle_counts(s2, s3, _keys(replaced))
    assert expected3 == {"added": 0, "changed": 21, "deleted": 15, "unchanged": 10}
    assert _counts(out3) == expected3

    # Load 4, replace-all: 50 observations left out (deleted), 10 values revised.
    l4 = s3.drop(index=range(300, 350)).reset_index(drop=True)
    l4.loc[:9, "OBS_VALUE"] = l4["OBS_VALUE"].iloc[:10] + 0.5
    s4 = _normal(l4)
    stamp_before = stamp_of(db, FLOW_A)
    out4 = _load(store, sdmx_csv(l4), "replace-all", "l4.csv")
    assert _counts(out4) == _oracle_counts(s3, s4, _keys(l4)) == {
        "added": 0, "changed": 10, "deleted": 50, "unchanged": len(l4) - 10}
    assert stamp_of(db, FLOW_A) != stamp_before

    # Every earlier state, exactly, from the two tables.
    outcomes = [out1, out2, out3, out4]
    times = [o.result.tx_time for o in outcomes]
    assert times == sorted(times) and len(set(times)) == 4
    for t, state in zip(times, [s1, s2, s3, s4]):
        pd.testing.assert_frame_equal(as_of(db, t), state)
    for t, state in zip(times, [s1, s2, s3]):  # between two loads: the earlier state
        pd.testing.assert_frame_equal(as_of(db, t + 1), state)
    assert as_of(db, times[0] - 1).empty

    # What changed after each load: written keys still current, deletions not re-added.
    steps = [(s1, s2, l2), (s2, s3, replaced), (s3, s4, l4)]
    for i, t in enumerate(times[:3]):
        written, deleted = set(), set()
        for before, after, _ in steps[i:]:
            b, a = before.set_index(DIMENSIONS), after.set_index(DIMENSIONS)
            common = a.index.intersection(b.index)
            differs = ~(a.loc[common, VALUES].fillna("\0").astype(str)
                        == b.loc[common, VALUES].fillna("\0").astype(str)).all(axis=1)
            written |= set(a.index.difference(b.index)) | set(common[differs.to_numpy()])
            deleted |= set(b.index.difference(a.index))
        live = _keys(s4)
        assert changed_after(db, t) == (written & live, deleted - live), f"after load {i + 1}"

    # The records carry the same counts and times.
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(LoadRecord.__table__).order_by(LoadRecord.__table__.c.id)).mappings().all()
    for row, outcome in zip(rows, outcomes):
        assert row["status"] == "applied"
        assert (row["added"], row["changed"], row["deleted"], row["unchanged"]) == tuple(_counts(outcome).values())
        assert row["tx_time"] == outcome.result.tx_time
    fact = _fact(db)
    with db.engine.connect() as conn:
        by = conn.execute(sa.select(fact.history.c[REPLACED_BY], sa.func.count()).group_by(
            fact.history.c[REPLACED_BY])).all()
    assert dict(by) == {out2.record_id: 40, out3.record_id: 36, out4.record_id: 60}

    # The series table agrees with the final state.
    counted = series_module.all_series(db, fact).to_pandas()
    expected = s4.groupby(["FREQ", "AREA", "SEX"]).size()
    got = counted.set_index(["FREQ", "AREA", "SEX"])[series_module.OBS_COUNT]
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False, check_dtype=False)

    # Reloads: nothing changes, no history, the stamp stays (ETags stay valid).
    history_rows, stamp = _history_rows(db), stamp_of(db, FLOW_A)
    for text, action, name in ((sdmx_csv(l4), "replace-all", "l4.csv"), (sdmx_csv(l4), "merge", "l4.csv"),
                               (sdmx_csv(l4.iloc[:30]), "replace", "part.csv")):
        again = _load(store, text, action, name)
        rows_sent = len(l4) if name == "l4.csv" else 30
        assert _counts(again) == {"added": 0, "changed": 0, "deleted": 0, "unchanged": rows_sent}
        assert _history_rows(db) == history_rows
        assert stamp_of(db, FLOW_A) == stamp
    pd.testing.assert_frame_equal(as_of(db, times[3]), s4)  # unchanged rows kept their UPDATED


def test_merge_of_empty_values_and_nulls(store):
    """NULL-safe comparison: a value that becomes empty is a change; merge's empty is not."""
    db = store[0]
    f0 = _normal(frame(seed=2, months=2, quarters=1))
    f0["COMMENT"] = "x"
    _load(store, sdmx_csv(f0), "merge", "a.csv")
    emptied = f0.iloc[:5].copy()
    emptied["COMMENT"] = None
    assert _counts(_load(store, sdmx_csv(emptied), "merge", "b.csv"))["unchanged"] == 5
    out = _load(store, sdmx_csv(emptied), "replace", "c.csv")
    assert _counts(out) == {"added": 0, "changed": 5, "deleted": 0, "unchanged": 0}
    back = _load(store, sdmx_csv(f0.iloc[:5]), "merge", "d.csv")
    assert _counts(back) == {"added": 0, "changed": 5, "deleted": 0, "unchanged": 0}
    assert _history_rows(db) == 10
    pd.testing.assert_frame_equal(as_of(db, out.result.tx_time), _normal(pd.concat([emptied, f0.iloc[5:]])))
    pd.testing.assert_frame_equal(as_of(db, back.result.tx_time), f0)


def test_changed_then_deleted_in_one_load_is_a_deletion(store):
    """Two runs of one file touch the same observation: one revision, net a deletion."""
    db = store[0]
    f0 = _normal(frame(seed=3, months=2, quarters=1))
    first = _load(store, sdmx_csv(f0), "merge", "a.csv")
    row = f0.iloc[:1].copy()
    changed = row.copy()
    changed["OBS_VALUE"] = 1.5
    delete = row.copy()
    delete[VALUES] = None
    out = _load(store, sdmx_csv(pd.concat([changed, delete]), version="2.0", actions=["M", "D"]), "merge", "b.csv")
    assert out.result.deleted == 1
    key = tuple(row[DIMENSIONS].iloc[0])
    assert changed_after(db, first.result.tx_time) == (set(), {key})
    pd.testing.assert_frame_equal(as_of(db, first.result.tx_time), f0)
    pd.testing.assert_frame_equal(as_of(db, out.result.tx_time), _normal(f0.iloc[1:]))
    assert _history_rows(db) == 1  # the intermediate value never was a version


def test_loads_command_lists_the_records(store, monkeypatch, capsys):
    from sdmx_server.cli import main

    db, settings, tmp_path = store
    f0 = _normal(frame(seed=4, months=2, quarters=1))
    _load(store, sdmx_csv(f0), "merge", "a.csv")
    gone = f0.iloc[:3].copy()
    gone[VALUES] = None  # no values named: whole observations go
    _load(store, sdmx_csv(gone), "delete", "gone.csv")
    monkeypatch.setenv("SDMX_DATABASE_URL", str(db.url.render_as_string(hide_password=False)))
    monkeypatch.setenv("SDMX_DATA_DIR", str(tmp_path))
    assert main(["loads", "--flow", "TEST:DF_A"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["id", "when", "(UTC)"]
    latest = lines[1].split()
    assert latest[0] == "2" and "delete" in latest and "applied" in latest
    assert latest[-6:-1] == ["0", "0", "3", "0", "0"]  # added changed deleted unchanged errors
    assert main(["loads", "--json", "--limit", "1"]) == 0
    (only,) = json.loads(capsys.readouterr().out)
    assert (only["id"], only["deleted"], only["source"].endswith("gone.csv")) == (2, 3, True)
    assert main(["loads", "--flow", "TEST:DF_B(1.0)", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
