"""A load's deletes, in its transaction (store/apply.py runs them in file order).

- Delete rows (action D): empty dimensions are wildcards; a row that names measure or attribute
  values empties only those, else the matching observations go. The versions deleted or
  emptied go to history first.
- replace-all: the keys the load carries are collected in LOAD_KEYS as its rows are written,
  and at the end every stored observation not among them is deleted, as one revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from sdmx_server.store import history, series
from sdmx_server.store.database import execute_compiled
from sdmx_server.store.history import UPDATED
from sdmx_server.store.rows import delete_conditions, delete_staging
from sdmx_server.store.steps import STAGING, LoadState
from sdmx_server.store.tables import LOAD_ID

#: replace-all: the keys the load carries.
LOAD_KEYS = "sdmx_load_keys"


def create_key_table(load: LoadState) -> None:
    keys = sa.Table(LOAD_KEYS, sa.MetaData(), *[sa.Column(c.name, c.type, nullable=False)
                                                 for c in load.fact.table.columns if c.name in load.fact.key_columns],
                    sa.PrimaryKeyConstraint(*load.fact.key_columns), prefixes=["TEMPORARY"])
    load.cur.execute(str(sa.schema.CreateTable(keys).compile(dialect=load.db.dialect)))
    load.keys = True


def record_keys(load: LoadState, source: str) -> None:
    """replace-all: the keys of `source` (the rows this run writes) join LOAD_KEYS, whichever
    path wrote them. A key already there (written, deleted and written again by this load) is
    skipped, not a conflict."""
    key = load.fact.key_columns
    keys = sa.table(LOAD_KEYS, *[sa.column(k) for k in key])
    rows = sa.table(source, *[sa.column(k) for k in key])
    insert_fn = sqlite.insert if load.db.is_sqlite else postgresql.insert
    # (WHERE true: SQLite would read ON CONFLICT as a join constraint of the SELECT)
    select = sa.select(*[rows.c[k] for k in key]).where(sa.true())
    load.run(insert_fn(keys).from_select(key, select).on_conflict_do_nothing())


def delete_rest(load: LoadState) -> None:
    """replace-all: the observations the load did not carry are deleted, as one revision."""
    fact, f = load.fact, load.fact.table
    keys = sa.table(LOAD_KEYS, *[sa.column(k) for k in fact.key_columns])
    carried = sa.exists(sa.select(sa.literal(1)).select_from(keys).where(
        *[keys.c[k] == f.c[k] for k in fact.key_columns]))
    if not load.db.is_sqlite:
        load.cur.execute(f"ANALYZE {LOAD_KEYS}")
    load.run(history.copy_to_history(fact.history, f, ~carried, load.tx_time, load.load_id, "D"))
    load.result.deleted += _delete_counted(load, sa.delete(f).where(~carried))
    # Any series may have lost observations: recount them all from the fact table.
    series.rebuild(load.db, load.cur, fact)
    load.cur.execute(f"DROP TABLE {LOAD_KEYS}")


def _delete_counted(load: LoadState, delete: sa.Delete) -> int:
    """Run the DELETE; how many rows it removed (ADBC reports no row counts)."""
    if load.db.is_sqlite:
        load.run(delete)
        load.cur.execute("SELECT changes()")
    else:
        load.cur.execute(f"WITH gone AS ({load.sql(delete.returning(sa.literal_column('1')))}) SELECT count(*) FROM gone")
    return int(load.cur.fetchone()[0])


def delete_rows(load: LoadState, parts, present: frozenset[str]) -> None:
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
    load.run(history.mark_deleted_in_load(fact.history, target, key, gone, load.tx_time))
    load.run(history.copy_to_history(fact.history, target, gone, load.tx_time, load.load_id, "D"))
    result.deleted += _delete_counted(load, sa.delete(target).where(gone))
    if hits:
        # Only values that are there change anything.
        emptied = sa.or_(*[sa.and_(hit, target.c[column].is_not(None)) for column, hit in hits])
        execute_compiled(cur, sa.select(sa.func.count()).select_from(target).where(emptied), db.dialect)
        result.changed += int(cur.fetchone()[0])
        load.run(history.copy_to_history(fact.history, target, emptied, load.tx_time, load.load_id, "U"))
        for column, hit in hits:
            load.run(sa.update(target).where(hit, target.c[column].is_not(None)).values(
                {column: None, LOAD_ID: load.load_id, UPDATED: load.tx_time}))
    series.after_delete(db, cur, fact, staging, [fact.columns[k] for k in dims])
    cur.execute(f"DROP TABLE {STAGING}")
