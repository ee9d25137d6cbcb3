"""A load read, validated and applied a batch at a time gives exactly what one batch gives.

The same loads run in two stores: once with SDMX-CSV read in blocks of a few rows, every
validated batch spooled to a file and whole resends compared in Arrow batch by batch, and once
with the defaults (these small files are one block, held in memory). Counts, the current state,
the history, the series table and every report must be the same: the first load in key order
and out of it, a whole resend (store/aligned.py across batches), a resend out of order with new
rows (staged in SQL), a file of merges and deletes, a replace-all. Rejected files: duplicates
and attribute conflicts whose rows fall in different blocks, out of key order, are reported
with the same rows. Runs on SQLite and PostgreSQL (conftest.database_url).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pandas as pd
import sqlalchemy as sa

from sdmx_server.cli import _registry
from sdmx_server.ingest import spool
from sdmx_server.ingest.duplicates import KeyCheck
from sdmx_server.ingest.load import load_data
from sdmx_server.ingest.report import ValidationReport
from sdmx_server.ingest.readers import sdmx_csv as csv_reader
from sdmx_server.store import aligned
from sdmx_server.store.series import SeriesTable
from tests.datasets import DIMENSIONS, FLOW_A, frame, sdmx_csv, write
from tests.test_revisions_aligned import _drop_all, _store
from tests.test_revisions_store import _counts, _fact, _normal, _read

#: A parser block this size holds a few rows of these files; a batch, a few blocks.
SMALL_BLOCK = 700
SMALL_BATCH = 15


def _small(monkeypatch, small: bool) -> list:
    """Small blocks and a spool in a file (or the defaults); the spool files made, to check."""
    made = []
    if small:
        monkeypatch.setattr(csv_reader, "READ_BLOCK", SMALL_BLOCK)
        monkeypatch.setattr(csv_reader, "BATCH_ROWS", SMALL_BATCH)
        monkeypatch.setattr(spool, "MEMORY_BYTES", 0)
        original = spool.Spool._to_file

        def to_file(self):
            original(self)
            made.append(self._path)

        monkeypatch.setattr(spool.Spool, "_to_file", to_file)
    monkeypatch.setattr(aligned, "MIN_ROWS", 0)
    return made


def _shuffled(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    return df.iloc[np.random.default_rng(seed).permutation(len(df))].reset_index(drop=True)


def _loads() -> list[tuple[str, str]]:
    """(SDMX-CSV text, action) of each load, in order."""
    f0 = _normal(frame(seed=11, months=6, quarters=2))
    f1 = f0.copy()
    f1.loc[f1.index[::5], "OBS_VALUE"] = f1["OBS_VALUE"].iloc[::5] + 1.5
    f1.loc[f1.index[3::11], "OBS_STATUS"] = "E"
    extra = f1[f1.FREQ == "M"].groupby(["AREA", "SEX"]).head(1).assign(TIME_PERIOD="2031-01")
    f2 = _shuffled(pd.concat([f1, extra]), 3)
    f2.loc[f2.index[::4], "OBS_VALUE"] = f2["OBS_VALUE"].iloc[::4] * 2
    mixed = f2.iloc[:30]
    actions = ["D" if i % 3 == 0 else "M" for i in range(len(mixed))]
    subset = _shuffled(f2.iloc[40:], 4)
    return [(sdmx_csv(f0), "merge"), (sdmx_csv(f1), "merge"), (sdmx_csv(f2), "replace"),
            (sdmx_csv(mixed, version="2.0", actions=actions), "merge"), (sdmx_csv(subset), "replace-all"),
            (sdmx_csv(_shuffled(f0, 5)), "replace-all")]


def _state(db):
    fact = _fact(db)
    current = _normal(_read(db, fact.table, fact))
    history = _read(db, fact.history, fact)
    history = history.sort_values([*DIMENSIONS, "OBS_VALUE"]).reset_index(drop=True)
    series = SeriesTable.of(fact).table
    with db.engine.connect() as conn:
        rows = sorted(tuple(r) for r in conn.execute(sa.select(series)).all())
    return current, history, rows


def _run(url, tmp_path, monkeypatch, small: bool, loads=None, first_shuffled=False):
    made = _small(monkeypatch, small)
    tmp_path.mkdir()
    db, settings = _store(url, tmp_path)
    try:
        counts, states = [], []
        loads = loads or _loads()
        if first_shuffled:
            loads = [(sdmx_csv(_shuffled(_normal(frame(seed=11, months=6, quarters=2)), 8)), "merge"), *loads[1:]]
        for i, (text, action) in enumerate(loads):
            out = load_data(db, _registry(db), FLOW_A, write(tmp_path / f"l{i}.csv", text), action, settings)
            assert out.applied, out.report.lines()
            counts.append(_counts(out))
            states.append(_state(db))
        return counts, states, made
    finally:
        db.dispose()


def _same(a, b) -> None:
    assert a[0] == b[0]
    for (cur_a, hist_a, series_a), (cur_b, hist_b, series_b) in zip(a[1], b[1]):
        pd.testing.assert_frame_equal(cur_a, cur_b)
        pd.testing.assert_frame_equal(hist_a, hist_b)
        assert series_a == series_b


def test_loads_in_small_batches_equal_loads_in_one(database_url, tmp_path, monkeypatch):
    small = _run(database_url, tmp_path / "a", monkeypatch, small=True)
    assert len(small[2]) == len(_loads())  # every load went through a spool file
    monkeypatch.undo()
    _drop_all(database_url)
    whole = _run(database_url.replace("store.db", "store-one.db"), tmp_path / "b", monkeypatch, small=False)
    assert whole[2] == []
    _same(small, whole)
    counts = small[0]
    # (the deletes of load 3 name values: they empty them)
    assert counts[1]["changed"] > 0 and counts[2]["added"] == 12 and counts[3]["changed"] >= 10
    assert counts[4]["deleted"] > 0


def test_a_first_load_out_of_key_order_in_small_batches(database_url, tmp_path, monkeypatch):
    small = _run(database_url, tmp_path / "a", monkeypatch, small=True, first_shuffled=True)
    monkeypatch.undo()
    _drop_all(database_url)
    whole = _run(database_url.replace("store.db", "store-one.db"), tmp_path / "b", monkeypatch, small=False,
                 first_shuffled=True)
    _same(small, whole)


def _rejected_report(url, tmp_path, monkeypatch, small: bool, text: str) -> list:
    _small(monkeypatch, small)
    tmp_path.mkdir()
    db, settings = _store(url, tmp_path)
    try:
        out = load_data(db, _registry(db), FLOW_A, write(tmp_path / "bad.csv", text), "merge", settings)
        assert out.status == "rejected"
        return sorted(((g["rule"], g["column"], g["message"], tuple(g["rows"]), g["count"])
                       for g in out.report.as_json()["errors"]), key=str)
    finally:
        db.dispose()


def test_duplicates_and_conflicts_across_batches_are_reported_as_in_one(database_url, tmp_path, monkeypatch):
    df = _normal(frame(seed=12, months=6, quarters=2))
    again = df.iloc[[2, 40, 41, 77]].copy()  # duplicates of rows far apart
    again.loc[again.index[1], "OBS_VALUE"] = 1.0
    bad = _shuffled(pd.concat([df, again]), 6)
    series = (bad.FREQ == "M") & (bad.AREA == "IR") & (bad.SEX == "F")
    bad.loc[bad.index[series][-1], "TITLE"] = "another title"  # a series attribute with two values
    text = sdmx_csv(bad)
    small = _rejected_report(database_url, tmp_path / "a", monkeypatch, True, text)
    monkeypatch.undo()
    _drop_all(database_url)
    whole = _rejected_report(database_url.replace("store.db", "store-one.db"), tmp_path / "b", monkeypatch, False,
                             text)
    assert small == whole
    rules = [p[0] for p in small]
    assert rules.count("duplicate") == 4 and rules.count("attribute-conflict") == 1


def test_a_row_longer_than_a_read_block_is_read_on_in_longer_blocks(database_url, tmp_path, monkeypatch):
    """Rows after it, and before it, are all read once: the file is read on from where it was."""
    longest = []
    original = csv_reader._open
    monkeypatch.setattr(csv_reader, "_open", lambda *a, **k: longest.append(k.get("block")) or original(*a, **k))
    _small(monkeypatch, True)
    monkeypatch.setattr(csv_reader, "READ_BLOCK", 100)
    df = _normal(frame(seed=13, months=6, quarters=2))
    df.loc[df.index[50], "COMMENT"] = "x" * 100  # (the longest COMMENT the DSD allows)
    db, settings = _store(database_url, tmp_path)
    try:
        out = load_data(db, _registry(db), FLOW_A, write(tmp_path / "long.csv", sdmx_csv(df)), "merge", settings)
        assert out.applied, out.report.lines()
        assert out.result.added == len(df) == out.report.rows_read
        assert longest == [100, csv_reader.MAX_ROW_BYTES]
        fact = _fact(db)
        pd.testing.assert_frame_equal(_normal(_read(db, fact.table, fact)), df)
    finally:
        db.dispose()


def _outcomes(url, tmp_path, loads) -> tuple[list, int]:
    """(status, counts) of each load, and how many observations are stored after them."""
    tmp_path.mkdir()
    db, settings = _store(url, tmp_path)
    try:
        outs = []
        for i, (text, action) in enumerate(loads):
            out = load_data(db, _registry(db), FLOW_A, write(tmp_path / f"l{i}.csv", text), action, settings)
            outs.append((out.status, _counts(out) if out.result else out.report.lines()))
        fact = _fact(db)
        return outs, len(_read(db, fact.table, fact))
    finally:
        db.dispose()


def _deletes_of(df: pd.DataFrame) -> pd.DataFrame:
    """Delete rows for df's keys (no values named: whole observations go)."""
    return df.assign(**{c: None for c in df.columns if c not in DIMENSIONS})


def test_a_replace_all_starting_with_deletes_keeps_the_rows_it_writes_after(database_url, tmp_path):
    """The deletes empty the table; the writes after them are the load's keys all the same."""
    f0 = _normal(frame(seed=11, months=2, quarters=1)).sort_values(DIMENSIONS).reset_index(drop=True)
    both = pd.concat([_deletes_of(f0), f0])
    actions = ["D"] * len(f0) + ["M"] * len(f0)
    outs, stored = _outcomes(database_url, tmp_path / "s", [
        (sdmx_csv(f0), "merge"), (sdmx_csv(both, version="2.0", actions=actions), "replace-all")])
    assert outs[1][0] == "applied", outs
    assert stored == len(f0)
    assert (outs[1][1]["deleted"], outs[1][1]["added"]) == (len(f0), len(f0))


def test_a_replace_all_writing_deleting_and_writing_one_key_applies(database_url, tmp_path):
    f0 = _normal(frame(seed=11, months=2, quarters=1)).sort_values(DIMENSIONS).reset_index(drop=True)
    k = f0.iloc[[0]]
    body = pd.concat([k, _deletes_of(k), f0])
    actions = ["M", "D"] + ["M"] * len(f0)
    outs, stored = _outcomes(database_url, tmp_path / "s", [
        (sdmx_csv(f0), "merge"), (sdmx_csv(body, version="2.0", actions=actions), "replace-all")])
    assert outs[1][0] == "applied", outs
    assert stored == len(f0)


def test_a_write_delete_write_of_one_key_is_no_duplicate_in_a_file_out_of_key_order(database_url, tmp_path):
    """Out of key order the check runs over hashes at the end: it must still see the delete
    between the two writes (as the store applies them: equal keys in file order)."""
    f0 = _normal(frame(seed=11, months=2, quarters=1)).sort_values(DIMENSIONS).reset_index(drop=True)
    k = f0.iloc[[0]]
    body = pd.concat([k, _deletes_of(k), k, _shuffled(f0.iloc[1:], 1)])
    actions = ["M", "D", "M"] + ["M"] * (len(f0) - 1)
    outs, stored = _outcomes(database_url, tmp_path / "s", [
        (sdmx_csv(f0), "merge"), (sdmx_csv(body, version="2.0", actions=actions), "merge")])
    assert outs[1][0] == "applied", outs
    assert stored == len(f0)
    # and a second write after it is one, with the row it repeats named
    body = pd.concat([k, _deletes_of(k), k, k, _shuffled(f0.iloc[1:], 1)])
    actions = ["M", "D", "M", "M"] + ["M"] * (len(f0) - 1)
    outs, _ = _outcomes(database_url, tmp_path / "t", [(sdmx_csv(body, version="2.0", actions=actions), "merge")])
    assert outs[0][0] == "rejected"
    assert outs[0][1] == ["row 5: duplicate observation M.IR.F.2020-01: also in row 4"]


def test_a_duplicate_starting_a_batch_names_the_row_just_before_it():
    """The row a duplicate repeats is the one just before it (after a delete, not the first
    row of the key), whether or not a batch ends between them."""
    def report(batches) -> list:
        found = ValidationReport()
        check = KeyCheck(["K"], found)
        for keys, writes, rows in batches:
            check.add({"K": pa.array(keys)}, pa.array(writes), np.array(rows))
        check.finish(lambda: iter(()))
        return [(g.message, list(g.rows)) for g in found.groups]

    one = report([(["a"] * 4, [True, False, True, True], [2, 3, 4, 5])])
    two = report([(["a"] * 3, [True, False, True], [2, 3, 4]), (["a"], [True], [5])])
    assert one == two == [("duplicate observation a: also in row 4", [5])]
    # a run of duplicates a batch end cuts is one group still
    one = report([(["a"] * 5, [True, False, True, True, True], [2, 3, 4, 5, 6])])
    cut = report([(["a"] * 4, [True, False, True, True], [2, 3, 4, 5]), (["a", "b"], [True, True], [6, 7])])
    assert one == cut == [("duplicate observation a: also in row 4", [5, 6])]


def test_spool_files_live_in_the_data_directory_and_a_killed_loads_file_is_swept(tmp_path, monkeypatch):
    """Not in $TMPDIR (often a tmpfs: memory); a load killed mid-way leaves its spool file, the
    next load removes it; a finished load removes its own at once."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from sdmx_server.store.steps import CRASH_AT

    tmpdir, data = tmp_path / "tmp", tmp_path / "data"
    tmpdir.mkdir()
    data.mkdir()
    url = f"sqlite:///{tmp_path}/store.db"
    text = sdmx_csv(_normal(frame(seed=1, months=3, quarters=1)))
    script = f"""
from pathlib import Path
from sdmx_server.ingest import spool
spool.MEMORY_BYTES = 0
from sdmx_server.cli import _registry
from sdmx_server.ingest.load import load_data
from tests.datasets import FLOW_A, write
from tests.test_revisions_aligned import _store
db, settings = _store({url!r}, Path({str(data)!r}))
load_data(db, _registry(db), FLOW_A, write(Path({str(tmp_path)!r}) / "x.csv", {text!r}), "merge", settings)
"""
    proc = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parent.parent, capture_output=True,
                          env=dict(os.environ, TMPDIR=str(tmpdir), **{CRASH_AT: "written"}), timeout=300)
    assert proc.returncode == -9, proc.stderr
    assert list(tmpdir.glob("sdmx-load-*")) == []
    left = list((data / "spool").glob("sdmx-load-*"))
    assert len(left) == 1
    made = _small(monkeypatch, True)
    db, settings = _store(url, data)  # (the schema and structures again: as a start finds them)
    try:
        out = load_data(db, _registry(db), FLOW_A, write(tmp_path / "y.csv", text), "merge", settings)
        assert out.applied, out.report.lines()
        assert [Path(p).parent for p in made] == [data / "spool"]
        assert list((data / "spool").iterdir()) == []  # the killed load's and this one's
    finally:
        db.dispose()
