"""Load records of live loads and of killed ones: telling them apart at the next start.

A load's record says `running` from before anything is read until the load ends. A process
killed mid-way (SIGKILL, power loss) never closes its record; the next start of the server or
of any command marks such a record failed (its transaction died with it: nothing was applied).
It must never mark a live load failed, which a rule such as "running for more than an hour"
would (a queued load, a large file). So:

- PostgreSQL (loads may run on several hosts): the loading process holds a session-level
  advisory lock named by the record's id for as long as the load runs, taken before the record
  is committed, so no other process ever sees the record without the lock. The lock dies with
  the process's connection. A start that can take a running record's lock knows its owner is
  gone.
- SQLite (one host, one file): the record holds the host and pid of its process; a running
  record whose process no longer exists on this host is abandoned.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlmodel import Session, select

from sdmx_server.store.database import Database
from sdmx_server.store.locks import FACT_TABLES, lock_in_session, patient
from sdmx_server.store.records import LoadRecord

#: First key of the records' advisory locks (the two-int key space of PostgreSQL's advisory
#: locks does not overlap the bigint one of store/locks.py).
RECORD_LOCKS = 0x5D3C

ABANDONED = "the load ended without finishing (its process {host}:{pid} was stopped or killed); nothing was applied"


@dataclass
class OpenRecord:
    """A running load's record, and (PostgreSQL) the connection that holds its lock."""

    id: int
    _connection: object = field(default=None, repr=False)

    def release(self) -> None:
        """The load is over (its record closed): let go of the lock."""
        if self._connection is not None:
            try:
                self._connection.close()  # the session's advisory lock goes with it
            finally:
                self._connection = None


def _record_lock(record_id: int) -> str:
    return f"{RECORD_LOCKS}, {record_id & 0x7FFFFFFF}"


def open_record(db: Database, **fields) -> OpenRecord:
    """Write a `running` record for this process; release() once it is closed."""
    record = LoadRecord(host=socket.gethostname(), pid=os.getpid(), **fields)
    if db.is_sqlite:
        with db.engine.connect() as conn, patient(db, conn), Session(bind=conn) as session:
            session.add(record)
            session.commit()  # (waits while another load applies: it holds the write lock)
            return OpenRecord(record.id)
    conn = db.engine.connect()
    try:
        with Session(bind=conn) as session:
            session.add(record)
            session.flush()
            record_id = record.id
            # Before the commit: nobody sees the record without its lock.
            conn.execute(sa.text(f"SELECT pg_advisory_lock({_record_lock(record_id)})"))
            session.commit()
    except BaseException:
        conn.close()
        raise
    return OpenRecord(record_id, conn)


def mark_abandoned(db: Database) -> list[int]:
    """Mark failed every `running` record whose load is no longer running; their ids."""
    with Session(db.engine) as session:
        running = session.exec(select(LoadRecord.id, LoadRecord.host, LoadRecord.pid).where(
            LoadRecord.status == "running")).all()
    if not running:
        return []
    if db.is_sqlite:
        here = socket.gethostname()
        dead = [(i, h, p) for i, h, p in running if h is None or p is None or (h == here and not alive(p))]
        return _mark(db, dead)
    done = []
    with db.engine.connect() as conn:
        for record_id, host, pid in running:
            got = conn.execute(sa.text(f"SELECT pg_try_advisory_lock({_record_lock(record_id)})")).scalar()
            if not got:
                continue  # its process still holds it: a live load
            try:
                done += _mark(db, [(record_id, host, pid)])
            finally:
                conn.execute(sa.text(f"SELECT pg_advisory_unlock({_record_lock(record_id)})"))
        conn.commit()
    return done


def fail_running(db: Database, record_id: int, note: str) -> None:
    """The load stopped on an error of its own before it closed its record: failed."""
    with db.engine.connect() as conn, patient(db, conn), Session(bind=conn) as session:
        lock_in_session(db, session.connection(), FACT_TABLES)  # write first: see store/locks.py
        record = session.get(LoadRecord, record_id)
        if record is not None and record.status == "running":
            record.status = "failed"
            record.finished_at = datetime.now(timezone.utc)
            record.report = f"{record.report}\n{note}".strip()
            session.add(record)
        session.commit()


def _mark(db: Database, dead: list[tuple]) -> list[int]:
    marked = []
    if not dead:
        return marked
    with Session(db.engine) as session:
        lock_in_session(db, session.connection(), FACT_TABLES)  # write first: see store/locks.py
        for record_id, host, pid in dead:
            record = session.get(LoadRecord, record_id)
            if record is None or record.status != "running":
                continue
            record.status = "failed"
            record.finished_at = datetime.now(timezone.utc)
            note = ABANDONED.format(host=host or "?", pid=pid or "?")
            record.report = f"{record.report}\n{note}".strip()
            session.add(record)
            marked.append(record_id)
        session.commit()
    return marked


def alive(pid: int) -> bool:
    """Whether process `pid` of this host still runs (ingest/spool.py asks it too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    try:  # a killed process not yet reaped by its parent is a zombie: as good as gone
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True
