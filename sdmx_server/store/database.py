"""Connections to the one database, through two doors.

- SQLAlchemy (sqlmodel) for tables, small queries and transactions on structures and records;
- ADBC for bulk reads and writes: Arrow columns go in and come out of the database without
  becoming Python rows.

Both are opened from the same SQLAlchemy URL, so `SDMX_DATABASE_URL` is the only thing an
operator configures. On SQLite, SQLAlchemy too goes through ADBC's SQLite (see sqlite_dbapi.py):
one SQLite library per process, never two on one file. SQLite runs in WAL mode so that readers
never wait for a load.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from urllib.parse import quote, urlencode

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

#: How long a SQLite writer waits for another writer before giving up, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 60_000


class Database:
    """One store, identified by its SQLAlchemy URL."""

    def __init__(self, url: str, application_name: str | None = None, statement_timeout_seconds: float = 0,
                 read_connections: int = 0):
        """`application_name` and `statement_timeout_seconds` apply to ADBC connections on
        PostgreSQL: a server's reads show up in pg_stat_activity under that name, and a
        runaway query ends by itself. `read_connections`: how many ADBC connections of
        finished data reads are kept open for the next (store/pool.py); 0 keeps none."""
        self.url = make_url(url)
        self.read_connections = read_connections
        self.application_name = application_name
        self.statement_timeout_seconds = statement_timeout_seconds
        if self.url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(
                f"unsupported database {self.url.get_backend_name()!r}: use sqlite:/// or postgresql+psycopg://"
            )
        if self.is_sqlite:
            if not self.sqlite_path:
                raise ValueError("an in-memory SQLite database cannot be shared: give a file path")
            Path(self.sqlite_path).parent.mkdir(parents=True, exist_ok=True)
            _enable_wal(self.sqlite_path)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def sqlite_path(self) -> str:
        return self.url.database or ""

    @cached_property
    def engine(self) -> sa.Engine:
        if self.is_sqlite:
            from sdmx_server.store import sqlite_dbapi

            return sa.create_engine(self.url.set(drivername="sqlite+pysqlite"), module=sqlite_dbapi)
        url = self.url
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        return sa.create_engine(url, pool_pre_ping=True)

    @cached_property
    def dialect(self) -> sa.Dialect:
        """The dialect used to compile statements run through ADBC."""
        if self.is_sqlite:
            return sqlite.dialect()
        # ADBC's PostgreSQL driver takes $1-style parameters.
        return postgresql.psycopg.dialect(paramstyle="numeric_dollar")

    def libpq_uri(self) -> str:
        """postgresql://user:password@host:port/db, as libpq-based drivers want it."""
        return self.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def adbc_connect(self):
        """A DB-API connection for bulk writes; a transaction is open until commit/rollback."""
        if self.is_sqlite:
            import adbc_driver_sqlite.dbapi as adbc_sqlite

            conn = adbc_sqlite.connect(self.sqlite_path)
            with conn.cursor() as cur:
                cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            return conn
        import adbc_driver_postgresql.dbapi as adbc_pg

        uri = self.libpq_uri()
        extra = {}
        if self.application_name:
            extra["application_name"] = self.application_name
        if self.statement_timeout_seconds:
            extra["options"] = f"-c statement_timeout={int(self.statement_timeout_seconds * 1000)}"
        if extra:
            # libpq reads %20 as a space, not "+" (which SQLAlchemy would write).
            uri += ("&" if "?" in uri else "?") + urlencode(extra, quote_via=quote)
        return adbc_pg.connect(uri)

    @cached_property
    def read_pool(self):
        """ADBC connections for data reads, kept between reads (store/pool.py)."""
        from sdmx_server.store.pool import ReadConnections

        return ReadConnections(lambda: self.adbc_connect(), self.read_connections)

    def dispose(self) -> None:
        if "read_pool" in self.__dict__:
            self.read_pool.close()
        if "engine" in self.__dict__:
            self.engine.dispose()


def _enable_wal(path: str) -> None:
    """WAL is a property of the file: set once, outside any transaction."""
    import adbc_driver_sqlite.dbapi as adbc_sqlite

    conn = adbc_sqlite.connect(path, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.fetchall()
    finally:
        conn.close()


def execute_compiled(cursor, statement: sa.sql.ClauseElement, dialect: sa.Dialect):
    """Run a SQLAlchemy statement on a DB-API cursor of another driver (ADBC)."""
    compiled = statement.compile(dialect=dialect)
    params = compiled.params
    if compiled.positiontup is not None:
        args = [params[name] for name in compiled.positiontup]
        cursor.execute(compiled.string, args)
    else:
        cursor.execute(compiled.string)
    return cursor
