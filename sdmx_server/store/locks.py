"""Loads of one dataflow queue: the second waits for the first, then runs, and succeeds.

Why a lock rather than letting the database sort it out: two loads that read the fact table,
classify their rows against it and then write would each classify against a state the other is
about to change (a duplicate-key error on PostgreSQL, a lost revision anywhere). So a load takes
its dataflow's lock as the first statement of its transaction, before it reads anything, and
holds it until commit or rollback; a killed process's lock goes with its connection.

- PostgreSQL: a transaction-level advisory lock keyed by the fact table's name. Loads of other
  dataflows run at the same time.
- SQLite: one writer per file anyway. A deferred transaction that first reads and later writes
  fails at once with "database is locked" when another writer got in between (the busy handler
  cannot help a reader whose snapshot is stale); one whose first statement writes takes the
  write lock up front, waiting in the busy handler, as BEGIN IMMEDIATE does. ADBC begins its
  transactions itself, so the first statement is a write that changes nothing, and the busy
  timeout of the load's connection is long: a queued load waits for a whole load, not 60 s.
"""

from __future__ import annotations

import hashlib

from sdmx_server.store.database import Database

#: How long a queued load waits for the load ahead of it on SQLite (ms).
SQLITE_LOAD_WAIT_MS = 6 * 3600 * 1000

#: The lock of the fact table registry (creating or widening fact tables).
FACT_TABLES = "sdmx_fact_table"


def lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for a name (PostgreSQL's bigint)."""
    digest = hashlib.sha1(f"sdmx-server lock {name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_dataflow(db: Database, cur, fact_name: str) -> None:
    """Serialise with every other load of the table's dataflow, on an ADBC cursor whose
    transaction has not read anything yet."""
    if db.is_sqlite:
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_LOAD_WAIT_MS}")
        # A write that changes nothing: it takes the database's write lock, waiting for it.
        cur.execute("UPDATE sdmx_fact_table SET table_name = table_name WHERE table_name = ?", [fact_name])
        return
    cur.execute(f"SELECT pg_advisory_xact_lock({lock_key(fact_name)})")
    cur.fetchall()


def lock_in_session(db: Database, connection, name: str) -> None:
    """The same for a SQLAlchemy connection (DDL of fact tables, the record sweep)."""
    import sqlalchemy as sa

    if db.is_sqlite:
        connection.exec_driver_sql(f"UPDATE {FACT_TABLES} SET table_name = table_name WHERE 0")
        return
    connection.execute(sa.text(f"SELECT pg_advisory_xact_lock({lock_key(name)})"))
