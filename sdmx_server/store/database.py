"""Connections to the one database, through three doors.

- SQLAlchemy (sqlmodel) for tables, small queries and transactions on structures and records;
- ADBC for bulk writes: Arrow columns go into the database without becoming Python rows;
- connectorx for bulk reads: query results arrive as Arrow record batches, streamed.

All three are opened from the same SQLAlchemy URL, so `SDMX_DATABASE_URL` is the only thing an
operator configures. SQLite runs in WAL mode so that readers never wait for a load.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

#: How long a SQLite writer waits for another writer before giving up, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 60_000


class Database:
    """One store, identified by its SQLAlchemy URL."""

    def __init__(self, url: str):
        self.url = make_url(url)
        if self.url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(
                f"unsupported database {self.url.get_backend_name()!r}: use sqlite:/// or postgresql+psycopg://"
            )
        if self.is_sqlite:
            if not self.sqlite_path:
                raise ValueError("an in-memory SQLite database cannot be shared: give a file path")
            Path(self.sqlite_path).parent.mkdir(parents=True, exist_ok=True)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def sqlite_path(self) -> str:
        return self.url.database or ""

    @cached_property
    def engine(self) -> sa.Engine:
        if self.is_sqlite:
            engine = sa.create_engine(self.url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
            sa.event.listen(engine, "connect", _sqlite_pragmas)
            return engine
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

        return adbc_pg.connect(self.libpq_uri())

    def connectorx_uri(self) -> str:
        if self.is_sqlite:
            return f"sqlite://{Path(self.sqlite_path).absolute()}"
        return self.libpq_uri()

    def dispose(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


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
