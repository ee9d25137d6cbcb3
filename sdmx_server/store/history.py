"""Revisions: every earlier value of every observation, with its transaction time.

The fact table holds the current state, as before (queries of the current state read only
it), plus `UPDATED`: the transaction time of the load that last wrote the row (its valid-from).
When a load changes or deletes an observation, the row as it was goes to the dataflow's
history table first, with `REPLACED` (the load's transaction time: the old row's valid-to),
`REPLACED_BY` (that load's id) and `CHANGE` ('U' replaced by a newer value, 'D' deleted).
A write that carries the values already stored changes nothing and leaves no history.

So the state as of time T is: current rows with UPDATED <= T, and history rows with
UPDATED <= T < REPLACED. What changed after T (updatedAfter) is: current rows with
UPDATED > T, and deletions: history rows with CHANGE = 'D' and REPLACED > T whose key has no
current row. Transaction times are epoch microseconds UTC, one per load, increasing within a
dataflow (loads of one dataflow are serialised). Rows written before revisions existed have
UPDATED null: older than any time.
"""

from __future__ import annotations

import sqlalchemy as sa

#: Fact and history tables: the transaction time of the load that wrote the row (valid from).
UPDATED = "sdmx_updated"
#: History tables: when the row stopped being current (valid to), by which load, and how.
REPLACED = "sdmx_replaced"
REPLACED_BY = "sdmx_replaced_by"
CHANGE = "sdmx_change"  # 'U' (replaced by a newer value) or 'D' (deleted)


def history_table_name(fact_name: str) -> str:
    return f"{fact_name}_h"


def history_table(fact_name: str, fact_columns, key: list[str]) -> sa.Table:
    """The history table of a fact table: its columns (as `fact_columns`, a fact table's
    sa.Columns) plus REPLACED, REPLACED_BY and CHANGE. No primary key: a key may be replaced
    many times. Indexes: REPLACED ("as of T" and "changed after T" start from it) and the key
    (the versions of the series a query selects)."""
    name = history_table_name(fact_name)
    cols = [sa.Column(c.name, c.type, nullable=c.nullable) for c in fact_columns if c.name != UPDATED]
    cols += [
        sa.Column(UPDATED, sa.BigInteger, nullable=True),
        sa.Column(REPLACED, sa.BigInteger, nullable=False),
        sa.Column(REPLACED_BY, sa.BigInteger, nullable=True),
        sa.Column(CHANGE, sa.String(1), nullable=False),
    ]
    table = sa.Table(name, sa.MetaData(), *cols)
    sa.Index(f"{name}_replaced", table.c[REPLACED])
    sa.Index(f"{name}_key", *[table.c[k] for k in key], table.c[REPLACED])
    return table


def create_ddl(table: sa.Table, dialect: sa.Dialect) -> list[str]:
    statements = [str(sa.schema.CreateTable(table, if_not_exists=True).compile(dialect=dialect))]
    for index in sorted(table.indexes, key=lambda i: i.name):
        statements.append(str(sa.schema.CreateIndex(index, if_not_exists=True).compile(dialect=dialect)))
    return statements


def copy_to_history(history: sa.Table, fact: sa.Table, where, tx_time: int, load_id: int, change: str) -> sa.Insert:
    """INSERT INTO history SELECT <the fact rows `where` selects>, as replaced by this load.
    A row this same load wrote (UPDATED = tx_time) is an intermediate state of one revision,
    never a version of its own: it is skipped."""
    names = [c.name for c in fact.columns]
    select = sa.select(*[fact.c[n] for n in names], sa.literal(tx_time, sa.BigInteger),
                       sa.literal(load_id, sa.BigInteger), sa.literal(change, sa.String)).where(
        where, sa.or_(fact.c[UPDATED].is_(None), fact.c[UPDATED] != tx_time))
    return sa.insert(history).from_select([*names, REPLACED, REPLACED_BY, CHANGE], select)


def next_tx_time(db, cur, fact, load_id: int, at: int | None = None) -> int:
    """`at` (an embargo's release time), else now, in epoch µs UTC; but always after the
    dataflow's last transaction time (clocks step back; two loads within a microsecond; a load
    that committed while a release waited for the lock): read under the dataflow's lock
    (store/locks.py), on the load's ADBC cursor."""
    import time

    from sdmx_server.store.database import execute_compiled
    from sdmx_server.store.records import LoadRecord

    records = LoadRecord.__table__
    flow = sa.select(records.c.flow).where(records.c.id == load_id).scalar_subquery()
    last_load = sa.select(sa.func.max(records.c.tx_time)).where(records.c.flow == flow, records.c.id != load_id)
    execute_compiled(cur, last_load, db.dialect)
    last = cur.fetchone()[0]
    execute_compiled(cur, sa.select(sa.func.max(fact.history.c[REPLACED])), db.dialect)
    replaced = cur.fetchone()[0]
    return max(time.time_ns() // 1000 if at is None else at, (last or 0) + 1, (replaced or 0) + 1)


def stored_columns(fact: sa.Table, key: list[str]) -> dict[str, str]:
    """Names for the stored values that a load's comparison carries beside the new ones:
    fact column -> a short name (PostgreSQL identifiers have 63 bytes at most: a prefix to a
    long column name would not fit)."""
    return {c.name: f"sdmx_o{i}" for i, c in enumerate(fact.columns) if c.name not in key}


def stored_to_history(history: sa.Table, fact: sa.Table, diff, stored: dict[str, str], is_new: str, tx_time: int,
                      load_id: int, order_by: list[str] = ()) -> sa.Insert:
    """INSERT INTO history the stored versions that `diff` (the rows a load changes, with
    their stored values under `stored` names) carries, as replaced by this load: written from
    the comparison's own result, without another pass over the fact table. A row this same
    load wrote is an intermediate state, not a version (see copy_to_history)."""
    names = [c.name for c in fact.columns]
    updated = diff.c[stored[UPDATED]]
    select = sa.select(*[diff.c[stored.get(n, n)] for n in names], sa.literal(tx_time, sa.BigInteger),
                       sa.literal(load_id, sa.BigInteger), sa.literal("U", sa.String)).where(
        diff.c[is_new] == 0, sa.or_(updated.is_(None), updated != tx_time))
    if order_by:  # the key index grows at one end rather than at random places
        # (byte order, the key's: DIFF may come from Arrow, in the database's default collation)
        select = select.order_by(*[sa.collate(diff.c[k], "C") for k in order_by])
    return sa.insert(history).from_select([*names, REPLACED, REPLACED_BY, CHANGE], select)


def mark_deleted_in_load(history: sa.Table, fact: sa.Table, key: list[str], where, tx_time: int) -> sa.Update:
    """A row this load changed and then deleted (two runs of one file): the version it replaced
    is in history as 'U'; the load's net effect is a deletion, so it becomes 'D'."""
    same_key = sa.and_(*[fact.c[k] == history.c[k] for k in key])
    written_here = sa.exists(sa.select(sa.literal(1)).select_from(fact).where(
        same_key, fact.c[UPDATED] == tx_time, where))
    return sa.update(history).where(history.c[REPLACED] == tx_time, written_here).values({CHANGE: "D"})


def migrate(db) -> None:
    """Stores from before revisions: fact tables get UPDATED (null: older than any time) and a
    history table."""
    import json

    from sqlmodel import Session, select

    from sdmx_server.store.tables import FactTableRow

    with Session(db.engine) as session:
        facts = [(row.table_name, json.loads(row.layout)) for row in session.exec(select(FactTableRow)).all()]
    if not facts:
        return
    inspector = sa.inspect(db.engine)
    existing = set(inspector.get_table_names())
    todo = []
    for name, layout in facts:
        if name not in existing:
            continue
        has_updated = any(c["name"] == UPDATED for c in inspector.get_columns(name))
        if not has_updated or history_table_name(name) not in existing:
            todo.append((name, layout, has_updated))
    if not todo:
        return
    from sdmx_server.store.locks import FACT_TABLES, lock_in_session

    with db.engine.begin() as conn:
        lock_in_session(db, conn, FACT_TABLES)  # two starts at once: one migrates, the other waits
        for name, layout, has_updated in todo:
            if not has_updated and any(c["name"] == UPDATED for c in sa.inspect(conn).get_columns(name)):
                has_updated = True  # the other start did it
            if not has_updated:
                conn.exec_driver_sql(f'ALTER TABLE "{name}" ADD COLUMN {UPDATED} BIGINT')
            fact = sa.Table(name, sa.MetaData(), autoload_with=conn)
            key = [column for _, column in layout["dimensions"]] + ([layout["time"][1]] if layout["time"] else [])
            for statement in create_ddl(history_table(name, fact.columns, key), conn.dialect):
                conn.exec_driver_sql(statement)
