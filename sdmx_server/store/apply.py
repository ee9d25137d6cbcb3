"""Applying a validated load to a fact table, all of it or none of it.

Everything happens in one database transaction on one ADBC connection: Arrow columns go into
the database without becoming Python rows; merge, replace and delete are set operations in SQL
between a staging table and the fact table. A crash or an error at any point rolls back to the
state before the load.

Actions, as SDMX-CSV 2.0 defines them:
- merge (M): observations are inserted or updated; a component the file leaves empty keeps its
  stored value;
- replace (R): observations are inserted or replaced whole; a component the file leaves empty
  is emptied;
- delete (D): observations matching the row are deleted (empty dimensions match anything);
  when the row names measure or attribute values, only those values are emptied.
Runs of rows with the same action are applied in file order; `replace_all` then deletes every
observation of the dataflow the load does not carry (the whole load is one revision). Deletes,
both kinds, are in store/deletes.py; the steps the early apply shares (store/early.py), in
store/steps.py.

Revisions (store/history.py): written rows are first classified against the fact table into
added, changed (a value differs, NULL-safe, after merge's coalescing) and unchanged. Only added
and changed rows are written; the earlier versions of changed and deleted rows go to the
history table first. A reload of the same file writes nothing, leaves no history and keeps the
dataflow's data stamp (so ETags stay valid). The dataflow's lock (store/locks.py) is taken
before anything is read: loads of one dataflow queue.
"""

from __future__ import annotations

import itertools

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from sdmx_server.store import aligned, history, series
from sdmx_server.store.database import Database
from sdmx_server.store.history import UPDATED
from sdmx_server.store.incoming import ValidatedData
from sdmx_server.store.locks import lock_dataflow
from sdmx_server.store.deletes import create_key_table, delete_rest, delete_rows, record_keys
from sdmx_server.store.rows import fact_columns, runs
from sdmx_server.store.special import keep_nan
from sdmx_server.store.steps import (
    STAGING, ApplyResult, LoadState, build_key, crash_point, drop_key, finish_record, is_empty, load_memory,
    refresh_after_commit,
)
from sdmx_server.store.tables import LOAD_ID, PERIOD_END, PERIOD_START, FactTable
from sdmx_server.store.versions import bump_stamp

#: The staged rows that differ from the stored ones, as they will be stored.
DIFF = "sdmx_diff"
#: A batch of them (store/early.py's comparison, SQLite).
DIFF_BATCH = "sdmx_diff_batch"
IS_NEW = "sdmx_is_new"


def apply_load(db: Database, fact: FactTable, data: ValidatedData, load_id: int, *, tx_time: int | None = None,
               replace_all: bool = False) -> ApplyResult:
    """Apply the load in one transaction and mark its record applied (with its counts and
    transaction time) in the same transaction. `tx_time`: the earliest transaction time the
    load may take (an embargo's release time); it is taken under the dataflow's lock, after
    every load that committed before, so transaction times keep increasing (store/history.py)."""
    result = ApplyResult()
    conn = db.adbc_connect()
    try:
        with conn.cursor() as cur:
            # First statement: a load queued behind another of this dataflow waits here.
            lock_dataflow(db, cur, fact.name)
            crash_point("locked")
            load_memory(db, cur)
            result.tx_time = history.next_tx_time(db, cur, fact, load_id, at=tx_time)
            load = LoadState(db, cur, fact, load_id, result.tx_time, result, replace_all)
            was_empty = is_empty(db, cur, fact)
            if replace_all and not was_empty:
                create_key_table(load)
            for action, parts in _runs(data):
                if action == "D":
                    delete_rows(load, parts, data.present)
                else:
                    _write(load, parts, data, replace=action == "R")
                crash_point("written")
            if replace_all and not was_empty and not load.covered:
                delete_rest(load)
            finish_record(db, cur, load_id, data.rows, result)
            if result.touched:
                # Same transaction: readers see the new rows and the new stamp together (ETags).
                # Nothing changed, nothing bumped: the answers cached under the stamp stay right.
                bump_stamp(db, cur, fact.name)
            crash_point("finished")
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()
    if result.touched:
        refresh_after_commit(db, fact, load_id)
    return result


def _runs(data: ValidatedData):
    """(action, its parts) for each run of consecutive rows with the same action, in order:
    the parts (tables) are read from the batches as the run is applied, never all at once."""
    def parts():
        for batch in data.batches():
            yield from runs(batch)

    for action, group in itertools.groupby(parts(), key=lambda item: item[0]):
        yield action, (part for _, part in group)


def _write(load: LoadState, parts, data: ValidatedData, replace: bool) -> None:
    db, cur, fact, result = load.db, load.cur, load.fact, load.result
    rows_of = (fact_columns(load.fact, part, data.present, data.sorted, load.load_id, load.tx_time) for part in parts)
    if is_empty(db, cur, fact):
        # First load of the dataflow: nothing to compare with, the rows go straight in.
        result.added += _ingest_into_empty(load, rows_of, data.sorted)
        if load.keys:  # (the table was emptied by this load's deletes: its rows are all this run's)
            record_keys(load, fact.name)
        return
    added_before, changed_before = result.added, result.changed
    # A resend of every stored observation, in key order: compared in Arrow with the rows read
    # back, only the changed ones go in (store/aligned.py). Else the rows are staged and
    # compared in SQL. (One action for the whole load: this run is all of its rows.)
    changed_rows = None
    if data.sorted:
        changed_rows = aligned.classify_aligned(
            db, cur, fact,
            lambda: (fact_columns(fact, part, data.present, data.sorted, load.load_id, load.tx_time)
                     for part in data.batches()),
            data.rows, replace,
            history.stored_columns(fact.table, fact.key_columns), IS_NEW)
    if changed_rows is not None:
        load.covered = True
        written = _take_changed(load, changed_rows, data.rows)
    else:
        staged, names = 0, None
        for rows in rows_of:
            cur.adbc_ingest(STAGING, rows, mode="append" if names else "create", temporary=True)
            keep_nan(db, cur, fact, rows, STAGING)  # SQLite stores a NaN double as NULL (store/special.py)
            staged, names = staged + rows.num_rows, rows.column_names
        if load.keys:
            record_keys(load, STAGING)
        if not db.is_sqlite:
            cur.execute(f"ANALYZE {STAGING}")  # (a temporary table has no statistics)
        written = _classify(load, names, staged, replace)
    _store_diff(load, written, added_before, changed_before)
    if changed_rows is None:
        cur.execute(f"DROP TABLE {DIFF}")
        cur.execute(f"DROP TABLE {STAGING}")
    elif written:
        cur.execute(f"DROP TABLE {DIFF}")


class ComparedWriter:
    """A load found to carry exactly the stored keys, its changed rows found by store/aligned.py
    while it was validated (store/early.py), stored in the load's transaction as `_write` stores
    them on its aligned path. (A replace-all that carries every stored key deletes nothing.)

    Called with the changed rows, a batch at a time, then `finish`. `streamed` (SQLite, where the
    stored rows are read on another connection, from the snapshot taken before this load wrote
    anything): each batch is stored at once, its replaced versions into history and its rows
    into the fact table, so memory stays one batch and nothing is left for after validation.
    Not streamed: one call with all of them, stored in `finish` as `_write` stores them."""

    def __init__(self, db: Database, cur, fact: FactTable, load_id: int, tx_time: int, result: ApplyResult,
                 streamed: bool):
        self.load = LoadState(db, cur, fact, load_id, tx_time, result, covered=True)
        self.streamed = streamed
        self._made = False  # DIFF (streamed: DIFF_BATCH) made

    def __call__(self, changed: pa.Table) -> None:
        load = self.load
        before = load.result.changed
        load.result.changed += changed.num_rows
        if not self.streamed:
            self._made = bool(aligned.write_diff(load.db, load.cur, changed, DIFF)) or self._made
            return
        if self._made:
            load.cur.execute(f"DELETE FROM {DIFF_BATCH}")
        self._made = bool(aligned.write_diff(load.db, load.cur, changed, DIFF_BATCH, append=self._made)) or self._made
        _store_diff(load, changed.num_rows, load.result.added, before, table=DIFF_BATCH)

    def finish(self, rows: int) -> None:
        load = self.load
        load.result.unchanged = rows - load.result.changed
        if not self._made:
            return
        if self.streamed:
            load.cur.execute(f"DROP TABLE {DIFF_BATCH}")
            return
        _store_diff(load, load.result.changed, load.result.added, 0)
        load.cur.execute(f"DROP TABLE {DIFF}")


def _diff_table(load: LoadState, name: str):
    names = [c.name for c in load.fact.table.columns]
    old = history.stored_columns(load.fact.table, load.fact.key_columns)
    return sa.table(name, *[sa.column(n) for n in names], sa.column(IS_NEW), *[sa.column(o) for o in old.values()])


def _versions(load: LoadState, table: str) -> sa.Insert:
    """INSERT INTO history the stored versions that the changed rows in `table` replace."""
    fact = load.fact
    return history.stored_to_history(fact.history, fact.table, _diff_table(load, table),
                                     history.stored_columns(fact.table, fact.key_columns), IS_NEW, load.tx_time,
                                     load.load_id, order_by=[] if load.db.is_sqlite else fact.key_columns)


def _store_diff(load: LoadState, written: int, added_before: int, changed_before: int, table: str = DIFF) -> None:
    """The rows of `table` (DIFF, or a batch of them) into the fact table: the versions they
    replace into history first, then the rows themselves; the series of new ones counted."""
    db, cur, fact, result = load.db, load.cur, load.fact, load.result
    if not written:
        return
    key = fact.key_columns
    f = fact.table
    names = [c.name for c in f.columns]
    diff = _diff_table(load, table)
    if result.changed > changed_before:
        # The versions being replaced (the table carries them), before they are.
        load.run(_versions(load, table))
    if db.is_sqlite:
        # (WHERE true: SQLite would read ON CONFLICT as a join constraint of the SELECT)
        stmt = sqlite.insert(f).from_select(names, sa.select(*[diff.c[n] for n in names]).where(sa.true()))
        load.run(stmt.on_conflict_do_update(index_elements=key, set_={
            n: stmt.excluded[n] for n in names if n not in key}))
    else:
        _update_then_insert(load, diff, names, result.changed - changed_before, result.added > added_before)
    if result.added > added_before:
        series.after_write(db, cur, fact, table, where=f"{IS_NEW} = 1")


#: PostgreSQL: revisions of at least this share of a fact table's rows are updated by a merge
#: join that walks its primary key once; fewer, by a lookup per revised row (the planner's
#: choice, which it makes whatever the share). 500,000 revisions of 5 M observations: 3.6 s of
#: lookups, most of them reading pages from disk, against about 1 s of the merge.
MERGE_SHARE = 1 / 30


def _update_then_insert(load: LoadState, diff, names: list[str], changed: int, added: bool) -> None:
    """PostgreSQL: DIFF's `changed` rows by one UPDATE joined to it, then its new rows by a
    plain INSERT (classified under the lock: none of them is there). An upsert (ON CONFLICT)
    probes the key index once per row: 200,000 revisions of 2 M observations took 3.9 s that
    way. The fact table's fillfactor keeps each update on its page (tables.FACT_FILLFACTOR)."""
    f, key = load.fact.table, load.fact.key_columns
    if changed:
        merge = changed >= MERGE_SHARE * _estimated_rows(load)
        if merge:
            load.cur.execute("SET LOCAL enable_nestloop = off")
            load.cur.execute("SET LOCAL enable_hashjoin = off")
        load.run(sa.update(f).where(*[f.c[k] == diff.c[k] for k in key], diff.c[IS_NEW] == 0)
             .values({n: diff.c[n] for n in names if n not in key}))
        if merge:
            load.cur.execute("RESET enable_nestloop")
            load.cur.execute("RESET enable_hashjoin")
    if added:
        # In key order, the order of the table's rows: DIFF comes out of a hash join in any
        # order, and random probes of a table larger than the buffer cache cost 3x.
        select = (sa.select(*[diff.c[n] for n in names]).where(diff.c[IS_NEW] == 1)
                  .order_by(*[sa.collate(diff.c[k], "C") for k in key]))
        load.run(sa.insert(f).from_select(names, select))


def _estimated_rows(load: LoadState) -> float:
    """The fact table's rows as the planner's statistics count them (refreshed after every
    load: tables.refresh_statistics); infinite when never counted, so nothing is forced."""
    load.cur.execute(f"SELECT reltuples FROM pg_class WHERE oid = '\"{load.fact.name}\"'::regclass")
    rows = float(load.cur.fetchone()[0])
    return rows if rows >= 0 else float("inf")


def _take_changed(load: LoadState, changed: pa.Table, staged_rows: int) -> int:
    """DIFF := the changed rows store/aligned.py found (none new); counts them."""
    load.result.changed += changed.num_rows
    load.result.unchanged += staged_rows - changed.num_rows
    return aligned.write_diff(load.db, load.cur, changed, DIFF)


def _ingest_into_empty(load: LoadState, parts, in_order: bool) -> int:
    """COPY into the empty fact table, a part at a time; how many rows. On PostgreSQL the
    primary key is dropped for the COPY and built after it in one sort, several times faster
    than growing the index row by row; the table is empty and locked until commit, so no
    reader misses the index. SQLite's table is its key (WITHOUT ROWID): rows in key order go
    straight in; others through a staging table, inserted from it in key order."""
    db, cur, fact = load.db, load.cur, load.fact
    staged = db.is_sqlite and not in_order
    key = ", ".join(f'"{k}"' for k in fact.key_columns)
    drop_key(db, cur, fact)
    found = series.FirstWrite(db, cur, fact) if in_order else None
    count, names = 0, None
    for rows in parts:
        target = STAGING if staged else fact.name
        cur.adbc_ingest(target, rows, mode="create" if staged and names is None else "append", temporary=staged)
        keep_nan(db, cur, fact, rows, target)  # SQLite stores a NaN double as NULL (store/special.py)
        if found is not None:
            found.add(rows)
        count, names = count + rows.num_rows, rows.column_names
    if staged and names:
        columns = ", ".join(f'"{n}"' for n in names)
        cur.execute(f'INSERT INTO "{fact.name}" ({columns}) SELECT {columns} FROM {STAGING} ORDER BY {key}')
        cur.execute(f"DROP TABLE {STAGING}")
    build_key(db, cur, fact)
    if found is not None:
        found.finish()
    else:
        series.rebuild(db, cur, fact)
    return count


def _classify(load: LoadState, staged: list[str], staged_rows: int, replace: bool) -> int:
    """DIFF := the staged rows that are new or differ from the stored ones, with the values
    they will have (merge: an empty value keeps the stored one; replace: components the
    file does not carry are emptied). Counts them; returns how many rows to write."""
    db, cur, fact, result = load.db, load.cur, load.fact, load.result
    s = sa.table(STAGING, *[sa.column(n) for n in staged])
    f = fact.table
    key = fact.key_columns
    values = []
    compared = []
    for column in f.columns:
        name = column.name
        if name in key:
            values.append(s.c[name].label(name))
        elif name in (LOAD_ID, UPDATED, PERIOD_START, PERIOD_END):
            values.append(s.c[name].label(name))  # bookkeeping and bounds that follow the key
        else:
            if name in staged:
                new = s.c[name] if replace else sa.func.coalesce(s.c[name], f.c[name])
            else:
                new = sa.null() if replace else f.c[name]
            if isinstance(new, sa.sql.elements.Null):  # CREATE TABLE AS needs its type
                new = sa.cast(new, sa.Float(precision=53) if isinstance(column.type, sa.Float) else sa.Text())
            values.append(new.label(name))
            compared.append(new.is_distinct_from(f.c[name]))
    missing = f.c[key[0]].is_(None)
    is_new = sa.case((missing, 1), else_=0).label(IS_NEW)
    # The stored row too, for history: one pass over the fact table rather than two.
    stored = [f.c[name].label(o) for name, o in history.stored_columns(f, key).items()]
    select = (sa.select(*values, is_new, *stored).select_from(s.outerjoin(f, sa.and_(*[f.c[k] == s.c[k] for k in key])))
              .where(sa.or_(missing, *compared)))
    if not db.is_sqlite:
        # Both sides are in key order: a merge join walks the primary key once. The planner
        # prefers to hash the whole fact table, which on 5 M rows spills to disk in batches
        # (200,000 revised rows of 2 M: 1.07 s hashed, 0.58 s merged).
        cur.execute("SET LOCAL enable_hashjoin = off")
    cur.execute(f"CREATE TEMPORARY TABLE {DIFF} AS {load.sql(select)}")
    if not db.is_sqlite:
        cur.execute("RESET enable_hashjoin")
    cur.execute(f"SELECT count(*), coalesce(sum({IS_NEW}), 0) FROM {DIFF}")
    written, added = (int(v) for v in cur.fetchone())
    result.added += added
    result.changed += written - added
    result.unchanged += staged_rows - written
    if written and not db.is_sqlite:
        cur.execute(f"ANALYZE {DIFF}")  # a temporary table has no statistics: the joins need them
    return written
