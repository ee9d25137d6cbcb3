"""Data stamps: one row per dataflow that changes exactly when the dataflow's data change.

Every load bumps its dataflow's stamp inside the load's own transaction (store/apply.py), so a
reader never sees new rows with an old stamp or the reverse. The HTTP layer builds ETag and
Last-Modified from the stamps of the dataflows an answer reads (api/conditional.py); kept
encoded answers are keyed by that ETag, so their invalidation is exact too.

A stamp is a random token rather than a counter: a store rebuilt from scratch must never
reuse the stamp of another store's data (kept answers live in files, and files outlive
databases).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel

from sdmx_server.store.database import Database, execute_compiled
from sdmx_server.store.locks import FACT_TABLES, lock_in_session

Flow = tuple[str, str, str]


class DataStamp(SQLModel, table=True):
    __tablename__ = "sdmx_data_stamp"

    flow_agency: str = Field(primary_key=True)
    flow_id: str = Field(primary_key=True)
    flow_version: str = Field(primary_key=True)
    stamp: str
    changed_at: datetime


def new_stamp() -> str:
    return uuid.uuid4().hex


def bump_stamp(db: Database, cursor, fact_table: str) -> None:
    """Give the dataflow held in `fact_table` a new stamp, on the caller's (ADBC) cursor:
    inside its transaction."""
    from sdmx_server.store.tables import FactTableRow

    table = DataStamp.__table__
    facts = FactTableRow.__table__
    # The database's clock in UTC, as the load records use it.
    now = sa.func.current_timestamp() if db.is_sqlite else sa.text("(now() AT TIME ZONE 'UTC')")
    source = sa.select(facts.c.flow_agency, facts.c.flow_id, facts.c.flow_version,
                       sa.literal(new_stamp()), now).where(facts.c.table_name == fact_table)
    insert = (sqlite.insert if db.is_sqlite else postgresql.insert)(table).from_select(
        ["flow_agency", "flow_id", "flow_version", "stamp", "changed_at"], source)
    insert = insert.on_conflict_do_update(
        index_elements=["flow_agency", "flow_id", "flow_version"],
        set_={"stamp": insert.excluded.stamp, "changed_at": insert.excluded.changed_at},
    )
    execute_compiled(cursor, insert, db.dialect)


def read_stamps(db: Database, flows: list[Flow]) -> dict[Flow, tuple[str, datetime]]:
    """(stamp, changed at, UTC) of each dataflow that has one: one indexed query, read on every
    data request (so kept as plain SQL: building and compiling a statement cost three times
    the query)."""
    if not flows:
        return {}
    wanted = " OR ".join(
        f"(flow_agency = {_quoted(a)} AND flow_id = {_quoted(i)} AND flow_version = {_quoted(v)})" for a, i, v in flows)
    sql = f"SELECT flow_agency, flow_id, flow_version, stamp, changed_at FROM sdmx_data_stamp WHERE {wanted}"
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(sql).all()
    return {(a, i, v): (stamp, _utc(changed)) for a, i, v, stamp, changed in rows}


def stamp_of(db: Database, flow: Flow) -> str | None:
    """The dataflow's stamp (None while it has no data): the key of whatever a process keeps
    derived from the dataflow's data (the series table as Arrow, the fault-7 checks), read
    before that data so that what is kept is never older than its key."""
    found = read_stamps(db, [flow]).get(flow)
    return found[0] if found else None


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def create_stamp_table(db: Database) -> None:
    """The table, and a first stamp for every dataflow that holds data from before stamps."""
    from sdmx_server.store.tables import FactTableRow

    DataStamp.__table__.create(db.engine, checkfirst=True)
    stamps = DataStamp.__table__
    facts = FactTableRow.__table__
    if not _stampless(db, stamps, facts):
        return  # the usual start: nothing to write, so no write lock to wait for
    with db.engine.begin() as conn:
        # Write first (store/locks.py): a read-then-write transaction fails on SQLite when a
        # load commits in between.
        lock_in_session(db, conn, FACT_TABLES)
        missing = conn.execute(
            sa.select(facts.c.flow_agency, facts.c.flow_id, facts.c.flow_version, facts.c.created_at).where(
                ~sa.exists().where(stamps.c.flow_agency == facts.c.flow_agency, stamps.c.flow_id == facts.c.flow_id,
                                   stamps.c.flow_version == facts.c.flow_version))
        ).all()
        for agency, flow_id, version, created in missing:
            conn.execute(stamps.insert().values(flow_agency=agency, flow_id=flow_id, flow_version=version,
                                                stamp=new_stamp(), changed_at=created or datetime.now(timezone.utc)))


def _stampless(db: Database, stamps: sa.Table, facts: sa.Table) -> bool:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(sa.literal(1)).select_from(facts).where(~sa.exists().where(
            stamps.c.flow_agency == facts.c.flow_agency, stamps.c.flow_id == facts.c.flow_id,
            stamps.c.flow_version == facts.c.flow_version)).limit(1)).first() is not None


def _utc(value) -> datetime:
    if isinstance(value, str):  # SQLite through the DB-API adapter may hand text back
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
