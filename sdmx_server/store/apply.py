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
Runs of rows with the same action are applied in file order.
"""

from __future__ import annotations

from dataclasses import dataclass
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from sdmx_server.store.incoming import ACTION, ValidatedData
from sdmx_server.store.ordering import sort_order
from sdmx_server.store import series
from sdmx_server.store.database import Database, execute_compiled
from sdmx_server.store.records import LoadRecord
from sdmx_server.store.special import keep_nan
from sdmx_server.store.tables import LOAD_ID, PERIOD_END, PERIOD_START, FactTable, refresh_statistics
from sdmx_server.store.versions import bump_stamp

STAGING = "sdmx_staging"


@dataclass
class ApplyResult:
    """What a load did to the stored observations."""

    added: int = 0  # observations that were not there
    changed: int = 0  # observations with a value that differed
    deleted: int = 0  # observations removed
    unchanged: int = 0  # observations written again with the values they had

    @property
    def written(self) -> int:
        return self.added + self.changed


def apply_load(db: Database, fact: FactTable, data: ValidatedData, load_id: int) -> ApplyResult:
    """Apply the load in one transaction and mark its record applied in the same transaction."""
    result = ApplyResult()
    conn = db.adbc_connect()
    try:
        with conn.cursor() as cur:
            for action, part in _runs(data.table):
                if action == "D":
                    result.deleted += _delete(db, cur, fact, part, data.present)
                else:
                    # Until revisions tell them apart (store/history.py): all counted as changes.
                    result.changed += _write(db, cur, fact, part, data, load_id, replace=action == "R")
            _finish_record(db, cur, load_id, data.rows)
            # Same transaction: readers see the new rows and the new stamp together (ETags).
            bump_stamp(db, cur, fact.name)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()
    refresh_statistics(db, fact)  # the planner must know the new rows (see tables.py)
    return result


def _runs(table: pa.Table):
    """Consecutive rows with the same action."""
    actions = table.column(ACTION).to_numpy(zero_copy_only=False)
    if len(actions) == 0:
        return
    cuts = np.flatnonzero(actions[1:] != actions[:-1]) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [len(actions)]])
    for s, e in zip(starts, ends):
        yield actions[s], table.slice(s, e - s)


def _fact_columns(fact: FactTable, part: pa.Table, data: ValidatedData, load_id: int) -> pa.Table:
    """The part as the fact table's columns, sorted by key (rows then land in index order)."""
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
    table = pa.table(arrays, names=names)
    if data.sorted:
        return table
    return table.take(pa.array(sort_order([part.column(k) for k in fact.key_ids])))


def _is_empty(db: Database, cur, fact: FactTable) -> bool:
    execute_compiled(cur, sa.select(sa.literal(1)).select_from(fact.table).limit(1), db.dialect)
    return cur.fetchone() is None


def _write(db, cur, fact: FactTable, part, data: ValidatedData, load_id: int, replace: bool) -> int:
    rows = _fact_columns(fact, part, data, load_id)
    if _is_empty(db, cur, fact):
        # First load of the dataflow: nothing to merge with, the rows go straight in.
        cur.adbc_ingest(fact.name, rows, mode="append")
        keep_nan(db, cur, fact, rows)  # SQLite stores a NaN double as NULL (store/special.py)
        series.after_first_write(db, cur, fact, rows)
        return rows.num_rows
    cur.adbc_ingest(STAGING, rows, mode="create", temporary=True)
    keep_nan(db, cur, fact, rows, STAGING)  # SQLite stores a NaN double as NULL (store/special.py)
    staging = sa.table(STAGING, *[sa.column(n) for n in rows.column_names])
    key = [fact.columns[k] for k in fact.key_ids]
    values = [n for n in rows.column_names if n not in key]
    select = sa.select(*[staging.c[n] for n in rows.column_names]).where(sa.true())
    insert_fn = sqlite.insert if db.is_sqlite else postgresql.insert
    stmt = insert_fn(fact.table).from_select(rows.column_names, select)
    target = fact.table.c
    if replace:
        # Components absent from the file are emptied too: the observation is replaced whole.
        absent = [c.name for c in fact.table.columns if c.name not in rows.column_names and c.name not in key]
        updates = {n: stmt.excluded[n] for n in values} | {n: sa.null() for n in absent}
    else:
        updates = {n: sa.func.coalesce(stmt.excluded[n], target[n]) for n in values}
        updates[LOAD_ID] = stmt.excluded[LOAD_ID]
    stmt = stmt.on_conflict_do_update(index_elements=key, set_=updates)
    execute_compiled(cur, stmt, db.dialect)
    series.after_write(db, cur, fact, STAGING)
    cur.execute(f"DROP TABLE {STAGING}")
    return rows.num_rows


def _delete(db, cur, fact: FactTable, part: pa.Table, present: frozenset[str]) -> int:
    """Delete rows: empty dimensions are wildcards; named values are emptied, else whole rows go."""
    dims = [k for k in fact.key_ids if k in present]
    others = [c.id for c in fact.shape.components if c.role in ("measure", "attribute") and c.id in present]
    arrays = {fact.columns[k]: part.column(k).cast(pa.string()) for k in dims}
    for c in others:
        arrays[fact.columns[c]] = pc.is_valid(part.column(c))
    staging_rows = pa.table(arrays) if arrays else pa.table({"_all": pa.array([True] * part.num_rows)})
    cur.adbc_ingest(STAGING, staging_rows, mode="create", temporary=True)
    staging = sa.table(STAGING, *[sa.column(n) for n in staging_rows.column_names]).alias("s")
    target = fact.table
    match = sa.and_(sa.true(), *[
        sa.or_(staging.c[fact.columns[k]].is_(None), staging.c[fact.columns[k]] == target.c[fact.columns[k]])
        for k in dims
    ])
    value_flags = [staging.c[fact.columns[c]] for c in others]
    whole_row = sa.and_(sa.true(), *[sa.not_(flag) for flag in value_flags])
    deleted = 0
    stmt = sa.delete(target).where(sa.exists(sa.select(sa.literal(1)).select_from(staging).where(match, whole_row)))
    execute_compiled(cur, stmt, db.dialect)
    deleted += max(cur.rowcount, 0)
    for c, flag in zip(others, value_flags):
        column = fact.columns[c]
        hit = sa.exists(sa.select(sa.literal(1)).select_from(staging).where(match, flag))
        execute_compiled(cur, sa.update(target).where(hit).values({column: None}), db.dialect)
    series.after_delete(db, cur, fact, staging, [fact.columns[k] for k in dims])
    cur.execute(f"DROP TABLE {STAGING}")
    return deleted


def _finish_record(db: Database, cur, load_id: int, observations: int) -> None:
    records = LoadRecord.__table__
    # The database's clock, in UTC: a parameter would need the driver to agree on timestamp types.
    now = sa.func.current_timestamp() if db.is_sqlite else sa.text("(now() AT TIME ZONE 'UTC')")
    stmt = sa.update(records).where(records.c.id == load_id).values(
        status="applied", finished_at=now, observations=observations
    )
    execute_compiled(cur, stmt, db.dialect)

