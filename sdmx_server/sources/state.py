"""What the server remembers of each source: its last success and failure, the fingerprint of
its last applied pull, and the scheduler's lease.

`sdmx_source_state` has one row per source id. A pull whose fingerprint equals the last applied
one changes nothing and is recorded as `unchanged`. `sdmx_source_lease` holds one row per
named lease: the scheduler of one `serve` process holds "scheduler" and renews it while it
runs, so that with `--workers N`, or two servers on one database, one scheduler runs sources.
A lease is taken by a single conditional UPDATE, which every database does atomically.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel

from sdmx_server.store.database import Database


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class SourceState(SQLModel, table=True):
    __tablename__ = "sdmx_source_state"

    id: str = Field(primary_key=True)  # the source id of loaders/
    flow: str = ""
    last_success: datetime | None = None
    last_failure: datetime | None = None
    last_failure_message: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    last_fingerprint: str | None = None
    last_load_id: int | None = None
    last_outcome: str = ""  # applied | pending | unchanged | failed | rejected


class SourceLease(SQLModel, table=True):
    __tablename__ = "sdmx_source_lease"

    name: str = Field(primary_key=True)
    holder: str = ""
    until: datetime | None = None


def ensure_state_tables(db: Database) -> None:
    for table in (SourceState.__table__, SourceLease.__table__):
        try:
            table.create(db.engine, checkfirst=True)
        except sa.exc.DBAPIError:
            # Another process (a scheduler, a `sync`) created it between the check and the
            # CREATE: fine if it is there now.
            if not sa.inspect(db.engine).has_table(table.name):
                raise


def fingerprint(spec_text: str, table: pa.Table) -> str:
    """A hash of what a pull found and of the source file that maps it (a changed mapping
    applies again even when the unit's data did not change).

    The rows' order does not count: a database may return an unsorted query's rows in another
    order from one pull to the next (PostgreSQL's parallel scans do), and the same rows are
    nothing new. Each column's values are ranked in sorted order, each row's ranks mixed into
    one 64-bit number, and those numbers sorted: all column-wise, no Python object per value.
    """
    digest = hashlib.sha256(spec_text.encode("utf-8"))
    digest.update(f"{table.num_rows}:{table.schema}".encode())
    rows = np.zeros(table.num_rows, dtype=np.uint64)
    for column in table.columns:
        encoded = pc.dictionary_encode(column.combine_chunks())
        dictionary = encoded.dictionary
        order = pc.array_sort_indices(dictionary).to_numpy()
        rank = np.empty(len(order), dtype=np.uint64)
        rank[order] = np.arange(len(order), dtype=np.uint64)
        # Nulls rank after every value; the sorted values themselves enter the digest.
        codes = encoded.indices.fill_null(len(order)).to_numpy(zero_copy_only=False).astype(np.int64)
        ranks = np.append(rank, np.uint64(len(order)))[codes]
        with np.errstate(over="ignore"):
            rows = (rows * np.uint64(0x100000001B3)) ^ (ranks + np.uint64(0x9E3779B97F4A7C15))
            rows ^= rows >> np.uint64(29)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, pa.schema([("v", dictionary.type)])) as writer:
            writer.write_batch(pa.record_batch([pc.take(dictionary, pa.array(order))], names=["v"]))
        digest.update(memoryview(sink.getvalue()))
    digest.update(np.sort(rows).tobytes())
    return digest.hexdigest()


def get_state(db: Database, source_id: str) -> SourceState | None:
    with Session(db.engine) as session:
        state = session.get(SourceState, source_id)
        if state is not None:
            session.expunge(state)
        return state


def all_states(db: Database) -> dict[str, SourceState]:
    with Session(db.engine) as session:
        states = list(session.exec(sa.select(SourceState)).scalars())
        for state in states:
            session.expunge(state)
        return {s.id: s for s in states}


def record(db: Database, source_id: str, flow: str, outcome: str, message: str = "",
           fingerprint_: str | None = None, load_id: int | None = None) -> SourceState:
    """Note a sync's outcome: success (applied, unchanged) or failure (failed, rejected)."""
    with Session(db.engine) as session:
        if db.is_sqlite:
            # Write first: a transaction that reads and then writes fails at once on SQLite when
            # another writer (a scheduler renewing its lease) committed in between; one that
            # writes first waits for the write lock (store/locks.py).
            session.execute(sa.update(SourceState.__table__).where(sa.false()).values(flow=SourceState.__table__.c.flow))
        state = session.get(SourceState, source_id) or SourceState(id=source_id)
        state.flow = flow
        state.last_outcome = outcome
        now = utcnow()
        if outcome in ("applied", "pending", "unchanged"):
            state.last_success = now
            if fingerprint_ is not None:
                state.last_fingerprint = fingerprint_
        else:
            state.last_failure = now
            state.last_failure_message = message[:4000]
        if load_id is not None:
            state.last_load_id = load_id
        session.add(state)
        session.commit()
        session.refresh(state)
        session.expunge(state)
        return state


def take_lease(db: Database, name: str, holder: str, seconds: float) -> bool:
    """Take or renew the lease `name` for `seconds`; False while another holder's is current."""
    now = utcnow()
    until = now + timedelta(seconds=seconds)
    table = SourceLease.__table__
    with db.engine.begin() as conn:
        taken = conn.execute(
            table.update()
            .where(table.c.name == name)
            .where(sa.or_(table.c.holder == holder, table.c.until.is_(None), table.c.until < now))
            .values(holder=holder, until=until)
        ).rowcount
    if taken:
        return True
    try:
        with db.engine.begin() as conn:
            conn.execute(table.insert().values(name=name, holder=holder, until=until))
        return True
    except sa.exc.IntegrityError:
        return False  # another holder has it


def release_lease(db: Database, name: str, holder: str) -> None:
    table = SourceLease.__table__
    with db.engine.begin() as conn:
        conn.execute(table.update().where(table.c.name == name).where(table.c.holder == holder).values(until=None))
