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
observation of the dataflow the load does not carry (the whole load is one revision).

Revisions (store/history.py): written rows are first classified against the fact table into
added, changed (a value differs, NULL-safe, after merge's coalescing) and unchanged. Only added
and changed rows are written; the earlier versions of changed and deleted rows go to the
history table first. A reload of the same file writes nothing, leaves no history and keeps the
dataflow's data stamp (so ETags stay valid). The dataflow's lock (store/locks.py) is taken
before anything is read: loads of one dataflow queue.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from sdmx_server.store.incoming import ACTION, ValidatedData
from sdmx_server.store.ordering import sort_order
from sdmx_server.store import aligned, history, series
from sdmx_server.store.database import Database, execute_compiled
from sdmx_server.store.history import UPDATED
from sdmx_server.store.locks import lock_dataflow
from sdmx_server.store.records import LoadRecord
from sdmx_server.store.special import keep_nan
from sdmx_server.store.tables import LOAD_ID, PERIOD_END, PERIOD_START, FactTable, refresh_statistics
from sdmx_server.store.versions import bump_stamp

log = logging.getLogger(__name__)

STAGING = "sdmx_staging"
#: The staged rows that differ from the stored ones, as they will be stored.
DIFF = "sdmx_diff"
#: replace-all: the keys the load carries.
LOAD_KEYS = "sdmx_load_keys"
IS_NEW = "sdmx_is_new"


@dataclass
class ApplyResult:
    """What a load did to the stored observations."""

    added: int = 0  # observations that were not there
    changed: int = 0  # observations with a value that differed
    deleted: int = 0  # observations removed
    unchanged: int = 0  # observations written again with the values they had
    tx_time: int | None = None  # the load's transaction time (epoch µs UTC)

    @property
    def written(self) -> int:
        return self.added + self.changed

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.deleted)


@dataclass
class _Load:
    db: Database
    cur: object
    fact: FactTable
    load_id: int
    tx_time: int
    result: ApplyResult
    replace_all: bool = False
    keys: bool = False  # replace-all over stored rows: the LOAD_KEYS table collects the load's keys
    covered: bool = False  # the load carried exactly the stored keys (store/aligned.py): none to delete


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
            _crash_point("locked")
            _load_memory(db, cur)
            result.tx_time = history.next_tx_time(db, cur, fact, load_id, at=tx_time)
            load = _Load(db, cur, fact, load_id, result.tx_time, result, replace_all)
            was_empty = _is_empty(db, cur, fact)
            if replace_all and not was_empty:
                _create_key_table(load)
            for action, parts in _runs(data):
                if action == "D":
                    _delete(load, parts, data.present)
                else:
                    _write(load, parts, data, replace=action == "R")
                _crash_point("written")
            if replace_all and not was_empty and not load.covered:
                _delete_rest(load)
            _finish_record(db, cur, load_id, data.rows, result)
            if result.touched:
                # Same transaction: readers see the new rows and the new stamp together (ETags).
                # Nothing changed, nothing bumped: the answers cached under the stamp stay right.
                bump_stamp(db, cur, fact.name)
            _crash_point("finished")
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()
    if result.touched:
        _refresh_statistics(db, fact, load_id)
    return result


def _refresh_statistics(db: Database, fact: FactTable, load_id: int) -> None:
    """After a load's commit: the planner must know the new rows (see tables.py)."""
    try:
        refresh_statistics(db, fact)
    except Exception as exc:  # committed already: stale statistics slow reads, they lose nothing
        log.warning("statistics of %s not refreshed after load %s: %s", fact.name, load_id, exc)


#: tests/test_load_crash.py: the process kills itself (SIGKILL) at this point of the apply (or,
#: "early-...", of store/early.py), as
#: a crash there would, to prove the transaction leaves nothing behind; or (PAUSE_AT,
#: "point:seconds") holds its lock that long, so that another load must queue behind it.
#: Unset in real use.
CRASH_AT = "SDMX_TEST_CRASH_AT"
PAUSE_AT = "SDMX_TEST_PAUSE_AT"


def _crash_point(name: str) -> None:
    if os.environ.get(CRASH_AT) == name:
        os.kill(os.getpid(), signal.SIGKILL)
    pause = os.environ.get(PAUSE_AT, "")
    if pause.startswith(name + ":"):
        time.sleep(float(pause.split(":", 1)[1]))


def _runs(data: ValidatedData):
    """(action, its parts) for each run of consecutive rows with the same action, in order:
    the parts (tables) are read from the batches as the run is applied, never all at once."""
    def parts():
        for batch in data.batches():
            yield from runs(batch)

    for action, group in itertools.groupby(parts(), key=lambda item: item[0]):
        yield action, (part for _, part in group)


def runs(table: pa.Table):
    """Consecutive rows with the same action, in one table (a batch, or a kept chunk of an
    embargoed load: store/preview.py)."""
    actions = table.column(ACTION).to_numpy(zero_copy_only=False)
    if len(actions) == 0:
        return
    cuts = np.flatnonzero(actions[1:] != actions[:-1]) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [len(actions)]])
    for s, e in zip(starts, ends):
        yield actions[s], table.slice(s, e - s)


def _fact_columns(load: _Load, part: pa.Table, data: ValidatedData) -> pa.Table:
    return fact_columns(load.fact, part, data, load.load_id, load.tx_time)


def fact_columns(fact: FactTable, part: pa.Table, data: ValidatedData, load_id: int, tx_time: int) -> pa.Table:
    """The part as the fact table's columns, sorted by key (rows then land in index order).
    (store/preview.py writes embargoed rows with it too.)"""
    present = data.present
    arrays, names = [], []
    for component in fact.shape.components:
        if component.id not in present:
            continue
        column = part.column(component.id)
        if pa.types.is_null(column.type):
            column = column.cast(pa.float64() if component.role == "measure" and component.numeric else pa.string())
        arrays.append(column)
        names.append(fact.columns[component.id])
    for name in (PERIOD_START, PERIOD_END):
        arrays.append(part.column(name).cast(pa.int64()))
        names.append(name)
    arrays.append(pa.array(np.full(part.num_rows, load_id, dtype=np.int64)))
    names.append(LOAD_ID)
    arrays.append(pa.array(np.full(part.num_rows, tx_time, dtype=np.int64)))
    names.append(UPDATED)
    table = pa.table(arrays, names=names)
    if data.sorted:
        return table
    return table.take(pa.array(sort_order([part.column(k) for k in fact.key_ids])))


def _is_empty(db: Database, cur, fact: FactTable) -> bool:
    execute_compiled(cur, sa.select(sa.literal(1)).select_from(fact.table).limit(1), db.dialect)
    return cur.fetchone() is None


def _run(load: _Load, statement) -> None:
    execute_compiled(load.cur, statement, load.db.dialect)


def _sql(load: _Load, statement) -> str:
    return str(statement.compile(dialect=load.db.dialect, compile_kwargs={"literal_binds": True}))


def _write(load: _Load, parts, data: ValidatedData, replace: bool) -> None:
    db, cur, fact, result = load.db, load.cur, load.fact, load.result
    rows_of = (_fact_columns(load, part, data) for part in parts)
    if _is_empty(db, cur, fact):
        # First load of the dataflow: nothing to compare with, the rows go straight in.
        result.added += _ingest_into_empty(load, rows_of, data.sorted)
        if load.keys:  # (the table was emptied by this load's deletes: its rows are all this run's)
            _record_keys(load, fact.name)
        return
    added_before, changed_before = result.added, result.changed
    # A resend of every stored observation, in key order: compared in Arrow with the rows read
    # back, only the changed ones go in (store/aligned.py). Else the rows are staged and
    # compared in SQL. (One action for the whole load: this run is all of its rows.)
    changed_rows = None
    if data.sorted:
        changed_rows = aligned.classify_aligned(
            db, cur, fact, lambda: (_fact_columns(load, part, data) for part in data.batches()), data.rows, replace,
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
            _record_keys(load, STAGING)
        if not db.is_sqlite:
            cur.execute(f"ANALYZE {STAGING}")  # (a temporary table has no statistics)
        written = _classify(load, names, staged, replace)
    if written:
        key = fact.key_columns
        f = fact.table
        names = [c.name for c in f.columns]
        old = history.stored_columns(fact.table, key)
        diff = sa.table(DIFF, *[sa.column(n) for n in names], sa.column(IS_NEW), *[sa.column(o) for o in old.values()])
        if result.changed > changed_before:
            # The versions being replaced (DIFF carries them), before they are.
            _run(load, history.stored_to_history(fact.history, fact.table, diff, old, IS_NEW, load.tx_time,
                                                 load.load_id, order_by=[] if db.is_sqlite else key))
        if db.is_sqlite:
            # (WHERE true: SQLite would read ON CONFLICT as a join constraint of the SELECT)
            stmt = sqlite.insert(f).from_select(names, sa.select(*[diff.c[n] for n in names]).where(sa.true()))
            _run(load, stmt.on_conflict_do_update(index_elements=key, set_={
                n: stmt.excluded[n] for n in names if n not in key}))
        else:
            _update_then_insert(load, diff, names, result.changed > changed_before, result.added > added_before)
        if result.added > added_before:
            series.after_write(db, cur, fact, DIFF, where=f"{IS_NEW} = 1")
    if changed_rows is None:
        cur.execute(f"DROP TABLE {DIFF}")
        cur.execute(f"DROP TABLE {STAGING}")
    elif written:
        cur.execute(f"DROP TABLE {DIFF}")


def _update_then_insert(load: _Load, diff, names: list[str], changed: bool, added: bool) -> None:
    """PostgreSQL: DIFF's changed rows by one UPDATE joined to it, then its new rows by a plain
    INSERT (classified under the lock: none of them is there). An upsert (ON CONFLICT) probes
    the key index once per row: 200,000 revisions of 2 M observations took 3.9 s that way.
    The fact table's fillfactor keeps each update on its page (tables.FACT_FILLFACTOR)."""
    f, key = load.fact.table, load.fact.key_columns
    if changed:
        _run(load, sa.update(f).where(*[f.c[k] == diff.c[k] for k in key], diff.c[IS_NEW] == 0)
             .values({n: diff.c[n] for n in names if n not in key}))
    if added:
        # In key order, the order of the table's rows: DIFF comes out of a hash join in any
        # order, and random probes of a table larger than the buffer cache cost 3x.
        select = (sa.select(*[diff.c[n] for n in names]).where(diff.c[IS_NEW] == 1)
                  .order_by(*[sa.collate(diff.c[k], "C") for k in key]))
        _run(load, sa.insert(f).from_select(names, select))


def _take_changed(load: _Load, changed: pa.Table, staged_rows: int) -> int:
    """DIFF := the changed rows store/aligned.py found (none new); counts them."""
    load.result.changed += changed.num_rows
    load.result.unchanged += staged_rows - changed.num_rows
    return aligned.write_diff(load.db, load.cur, changed, DIFF)


#: PostgreSQL: memory for each sort and hash of a load's statements (work_mem, for this
#: transaction only). The server's default (4 MB) spills the sort of 200,000 revisions to disk
#: (their history rows are written in key order) and hashes the fact table in batches:
#: bench_load's revisions of 2 M observations took 1.3x as long with it.
LOAD_WORK_MEMORY = "256MB"


def _load_memory(db: Database, cur) -> None:
    if not db.is_sqlite:
        cur.execute(f"SET LOCAL work_mem = '{LOAD_WORK_MEMORY}'")


#: PostgreSQL: memory for building a first load's primary key (a sort; more spills to disk).
INDEX_BUILD_MEMORY = "512MB"


def _ingest_into_empty(load: _Load, parts, in_order: bool) -> int:
    """COPY into the empty fact table, a part at a time; how many rows. On PostgreSQL the
    primary key is dropped for the COPY and built after it in one sort, several times faster
    than growing the index row by row; the table is empty and locked until commit, so no
    reader misses the index. SQLite's table is its key (WITHOUT ROWID): rows in key order go
    straight in; others through a staging table, inserted from it in key order."""
    db, cur, fact = load.db, load.cur, load.fact
    staged = db.is_sqlite and not in_order
    key = ", ".join(f'"{k}"' for k in fact.key_columns)
    _drop_key(db, cur, fact)
    found, count, names = [], 0, None
    for rows in parts:
        target = STAGING if staged else fact.name
        cur.adbc_ingest(target, rows, mode="create" if staged and names is None else "append", temporary=staged)
        keep_nan(db, cur, fact, rows, target)  # SQLite stores a NaN double as NULL (store/special.py)
        if in_order:
            found.append(series.series_of_part(fact, rows))
        count, names = count + rows.num_rows, rows.column_names
    if staged and names:
        columns = ", ".join(f'"{n}"' for n in names)
        cur.execute(f'INSERT INTO "{fact.name}" ({columns}) SELECT {columns} FROM {STAGING} ORDER BY {key}')
        cur.execute(f"DROP TABLE {STAGING}")
    _build_key(db, cur, fact)
    if in_order:
        series.after_first_write(db, cur, fact, found)
    else:
        series.rebuild_from_layout(db, cur, fact.name, _layout(fact))
    return count


def _drop_key(db: Database, cur, fact: FactTable) -> None:
    """PostgreSQL, a first load: the empty table's primary key goes until _build_key."""
    if not db.is_sqlite:
        cur.execute(f'ALTER TABLE "{fact.name}" DROP CONSTRAINT "{fact.name}_pk"')


def _build_key(db: Database, cur, fact: FactTable) -> None:
    """PostgreSQL: the primary key _drop_key dropped, built in one sort over the loaded rows."""
    if not db.is_sqlite:
        key = ", ".join(f'"{k}"' for k in fact.key_columns)
        cur.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'")
        cur.execute(f'ALTER TABLE "{fact.name}" ADD CONSTRAINT "{fact.name}_pk" PRIMARY KEY ({key})')


def _classify(load: _Load, staged: list[str], staged_rows: int, replace: bool) -> int:
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
    cur.execute(f"CREATE TEMPORARY TABLE {DIFF} AS {_sql(load, select)}")
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


def _create_key_table(load: _Load) -> None:
    keys = sa.Table(LOAD_KEYS, sa.MetaData(), *[sa.Column(c.name, c.type, nullable=False)
                                                 for c in load.fact.table.columns if c.name in load.fact.key_columns],
                    sa.PrimaryKeyConstraint(*load.fact.key_columns), prefixes=["TEMPORARY"])
    load.cur.execute(str(sa.schema.CreateTable(keys).compile(dialect=load.db.dialect)))
    load.keys = True


def _record_keys(load: _Load, source: str) -> None:
    """replace-all: the keys of `source` (the rows this run writes) join LOAD_KEYS, whichever
    path wrote them. A key already there (written, deleted and written again by this load) is
    skipped, not a conflict."""
    key = load.fact.key_columns
    keys = sa.table(LOAD_KEYS, *[sa.column(k) for k in key])
    rows = sa.table(source, *[sa.column(k) for k in key])
    insert_fn = sqlite.insert if load.db.is_sqlite else postgresql.insert
    # (WHERE true: SQLite would read ON CONFLICT as a join constraint of the SELECT)
    select = sa.select(*[rows.c[k] for k in key]).where(sa.true())
    _run(load, insert_fn(keys).from_select(key, select).on_conflict_do_nothing())


def _delete_rest(load: _Load) -> None:
    """replace-all: the observations the load did not carry are deleted, as one revision."""
    fact, f = load.fact, load.fact.table
    keys = sa.table(LOAD_KEYS, *[sa.column(k) for k in fact.key_columns])
    carried = sa.exists(sa.select(sa.literal(1)).select_from(keys).where(
        *[keys.c[k] == f.c[k] for k in fact.key_columns]))
    if not load.db.is_sqlite:
        load.cur.execute(f"ANALYZE {LOAD_KEYS}")
    _run(load, history.copy_to_history(fact.history, f, ~carried, load.tx_time, load.load_id, "D"))
    load.result.deleted += _delete_counted(load, sa.delete(f).where(~carried))
    # Any series may have lost observations: recount them all from the fact table.
    series.rebuild_from_layout(load.db, load.cur, fact.name, _layout(fact))
    load.cur.execute(f"DROP TABLE {LOAD_KEYS}")


def _layout(fact: FactTable) -> dict:
    import json

    return json.loads(fact.layout_json())


def _delete_counted(load: _Load, delete: sa.Delete) -> int:
    """Run the DELETE; how many rows it removed (ADBC reports no row counts)."""
    if load.db.is_sqlite:
        _run(load, delete)
        load.cur.execute("SELECT changes()")
    else:
        load.cur.execute(f"WITH gone AS ({_sql(load, delete.returning(sa.literal_column('1')))}) SELECT count(*) FROM gone")
    return int(load.cur.fetchone()[0])


def _delete(load: _Load, parts, present: frozenset[str]) -> None:
    """Delete rows: empty dimensions are wildcards; named values are emptied, else whole rows go.
    The versions deleted or emptied go to history first."""
    db, cur, fact, result = load.db, load.cur, load.fact, load.result
    names = dims = None
    for part in parts:
        staging_rows, dims = delete_staging(fact, part, present)
        cur.adbc_ingest(STAGING, staging_rows, mode="append" if names else "create", temporary=True)
        names = staging_rows.column_names
    staging = sa.table(STAGING, *[sa.column(n) for n in names]).alias("s")
    target = fact.table
    gone, hits = delete_conditions(fact, staging, target, present)
    key = fact.key_columns
    # A row this load wrote and now deletes: the version it replaced was deleted, net.
    _run(load, history.mark_deleted_in_load(fact.history, target, key, gone, load.tx_time))
    _run(load, history.copy_to_history(fact.history, target, gone, load.tx_time, load.load_id, "D"))
    result.deleted += _delete_counted(load, sa.delete(target).where(gone))
    if hits:
        # Only values that are there change anything.
        emptied = sa.or_(*[sa.and_(hit, target.c[column].is_not(None)) for column, hit in hits])
        execute_compiled(cur, sa.select(sa.func.count()).select_from(target).where(emptied), db.dialect)
        result.changed += int(cur.fetchone()[0])
        _run(load, history.copy_to_history(fact.history, target, emptied, load.tx_time, load.load_id, "U"))
        for column, hit in hits:
            _run(load, sa.update(target).where(hit, target.c[column].is_not(None)).values(
                {column: None, LOAD_ID: load.load_id, UPDATED: load.tx_time}))
    series.after_delete(db, cur, fact, staging, [fact.columns[k] for k in dims])
    cur.execute(f"DROP TABLE {STAGING}")


def delete_staging(fact: FactTable, part: pa.Table, present: frozenset[str]) -> tuple[pa.Table, list[str]]:
    """A run of delete rows as the table to stage: the dimensions the load carries (as text,
    empty = any code), and per measure or attribute it carries a flag: this row names a value
    of it (only such values are emptied). The dimensions, by id."""
    dims = [k for k in fact.key_ids if k in present]
    arrays = {fact.columns[k]: part.column(k).cast(pa.string()) for k in dims}
    for c in _valued(fact, present):
        arrays[fact.columns[c]] = pc.is_valid(part.column(c))
    staged = pa.table(arrays) if arrays else pa.table({"_all": pa.array([True] * part.num_rows)})
    return staged, dims


def delete_conditions(fact: FactTable, staging, target, present: frozenset[str]):
    """(the condition on `target` rows that a staged delete row removes whole, [(column, the
    condition that a staged row empties that column's value)]): `staging` as delete_staging
    made it, `target` any table with the fact table's columns (store/preview.py uses it on
    its overlay)."""
    dims = [k for k in fact.key_ids if k in present]
    others = _valued(fact, present)
    match = sa.and_(sa.true(), *[
        sa.or_(staging.c[fact.columns[k]].is_(None), staging.c[fact.columns[k]] == target.c[fact.columns[k]])
        for k in dims
    ])
    value_flags = [staging.c[fact.columns[c]] for c in others]
    whole_row = sa.and_(sa.true(), *[sa.not_(flag) for flag in value_flags])
    gone = sa.exists(sa.select(sa.literal(1)).select_from(staging).where(match, whole_row))
    hits = [(fact.columns[c], sa.exists(sa.select(sa.literal(1)).select_from(staging).where(match, flag)))
            for c, flag in zip(others, value_flags)]
    return gone, hits


def _valued(fact: FactTable, present: frozenset[str]) -> list[str]:
    return [c.id for c in fact.shape.components if c.role in ("measure", "attribute") and c.id in present]


def _finish_record(db: Database, cur, load_id: int, observations: int, result: ApplyResult,
                   report_json: str | None = None) -> None:
    """The record marked applied, with its counts (and its report, when it was not stored
    before: store/early.py, whose transaction holds SQLite's only write lock meanwhile)."""
    records = LoadRecord.__table__
    # In UTC, as text SQLAlchemy reads back on SQLite (current_timestamp has whole seconds
    # only); PostgreSQL's clock at the end (now() is the transaction's start).
    if db.is_sqlite:
        now = sa.literal(datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f"))
    else:
        now = sa.text("(clock_timestamp() AT TIME ZONE 'UTC')")
    stmt = sa.update(records).where(records.c.id == load_id).values(
        status="applied", finished_at=now, observations=observations, added=result.added,
        changed=result.changed, deleted=result.deleted, unchanged=result.unchanged, tx_time=result.tx_time,
    )
    if report_json is not None:
        stmt = stmt.values(report_json=report_json)
    execute_compiled(cur, stmt, db.dialect)
