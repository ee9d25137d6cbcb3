"""SQLite for SQLAlchemy through ADBC's SQLite, so that one process opens a database file with
one SQLite library only.

Why: bulk reads and writes go through ADBC, which carries its own copy of SQLite. Two copies of
SQLite in one process must never open the same file: POSIX locks are per process, so each copy
releases the other's locks and deletes a WAL the other still uses (SQLite's "how to corrupt"
notes, section 2.2; seen here as "disk I/O error"). Python's sqlite3 module is therefore never
used on the store; SQLAlchemy talks to the file through this thin DB-API 2.0 adapter instead.

Only what SQLAlchemy's pysqlite dialect uses is provided. Row counts and the last rowid come
from SQLite's own changes() and last_insert_rowid(), which ADBC does not report.
"""

from __future__ import annotations

import re
import weakref

import adbc_driver_manager.dbapi as _dbapi
import adbc_driver_sqlite.dbapi as _adbc_sqlite

paramstyle = "qmark"
threadsafety = 1
apilevel = "2.0"
Binary = bytes

Error = _dbapi.Error
Warning = _dbapi.Warning
InterfaceError = _dbapi.InterfaceError
DatabaseError = _dbapi.DatabaseError
DataError = _dbapi.DataError
OperationalError = _dbapi.OperationalError
IntegrityError = _dbapi.IntegrityError
InternalError = _dbapi.InternalError
ProgrammingError = _dbapi.ProgrammingError
NotSupportedError = _dbapi.NotSupportedError

#: Rows per result batch: large, because ADBC infers each result column's type from the first
#: batch, and a column that is all NULL there gets the wrong type.
BATCH_ROWS = 1 << 20
BUSY_TIMEOUT_MS = 60_000

_WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def _bundled_version() -> tuple[int, ...]:
    conn = _adbc_sqlite.connect(":memory:")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT sqlite_version()")
            return tuple(int(p) for p in cur.fetchone()[0].split("."))
    finally:
        conn.close()


sqlite_version_info = _bundled_version()
sqlite_version = ".".join(map(str, sqlite_version_info))
version_info = (2, 6, 0)
version = "2.6.0"


def connect(database: str = "", *args, **kwargs) -> "Connection":
    return Connection(database or kwargs.get("database", ""))


class Connection:
    def __init__(self, path: str):
        conn = self._conn = _adbc_sqlite.connect(path)
        self._cursors: list[Cursor] = []
        # A pooled connection dropped without close() (its engine collected) must close its
        # statements before itself, or ADBC raises "Cannot close AdbcConnection with open
        # AdbcStatement" from a finalizer. Not a __del__: the collector finalizes a cycle's
        # objects in any order, the ADBC connection maybe first. The finalizer holds the ADBC
        # objects, so they outlive this one and close in order.
        self._finalizer = weakref.finalize(self, _close_dropped, conn, self._cursors)
        with conn.cursor() as cur:
            cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    def cursor(self) -> "Cursor":
        self._cursors[:] = [c for c in self._cursors if not c.closed]
        cursor = Cursor(self._conn)
        self._cursors.append(cursor)
        return cursor

    def commit(self) -> None:
        self._conn.commit()

    def rollback(self) -> None:
        self._conn.rollback()

    def close(self) -> None:
        if self._finalizer.detach() is not None:  # (the first close only; its errors are the caller's)
            _close(self._conn, self._cursors)
        self._conn = None

    def create_function(self, *args, **kwargs) -> None:
        """SQLAlchemy registers a REGEXP function; the store never uses it."""


def _close_dropped(conn, cursors: list["Cursor"]) -> None:
    """A dropped connection closed by the collector (or at exit): nobody to tell of an error."""
    try:
        _close(conn, cursors)
    except Exception:
        pass


def _close(conn, cursors: list["Cursor"]) -> None:
    try:
        for cursor in cursors:
            cursor.close()
        cursors.clear()
    finally:
        conn.close()


class Cursor:
    arraysize = 1

    def __init__(self, connection):
        self._connection = connection
        self._cursor = connection.cursor()
        self._cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
        self.rowcount = -1
        self.lastrowid = None
        self.closed = False

    @property
    def description(self):
        # ADBC says [] for a statement without a result (DDL, INSERT...); DB-API says None. With
        # [], SQLAlchemy waits for rows that never come and leaves the statement open.
        return self._cursor.description or None

    def execute(self, operation: str, parameters=None) -> "Cursor":
        self._cursor.execute(operation, list(parameters) if parameters else None)
        self._after(operation)
        return self

    def executemany(self, operation: str, seq_of_parameters) -> "Cursor":
        before = self._total_changes()
        self._cursor.executemany(operation, [list(p) for p in seq_of_parameters])
        self._after(operation)
        if _WRITES.match(operation):
            # changes() counts the last statement only; SQLAlchemy checks the whole batch.
            self.rowcount = self._total_changes() - before
        return self

    def _total_changes(self) -> int:
        probe = self._connection.cursor()
        try:
            probe.execute("SELECT total_changes()")
            return probe.fetchone()[0]
        finally:
            probe.close()

    def _after(self, operation: str) -> None:
        if _WRITES.match(operation) and not self._cursor.description:
            probe = self._connection.cursor()
            try:
                probe.execute("SELECT changes(), last_insert_rowid()")
                self.rowcount, self.lastrowid = probe.fetchone()
            finally:
                probe.close()
        else:
            self.rowcount = -1

    def fetchone(self):
        return self._cursor.fetchone()

    def fetchmany(self, size: int | None = None):
        return self._cursor.fetchmany(size or self.arraysize)

    def fetchall(self):
        return self._cursor.fetchall()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._cursor.close()

    def setinputsizes(self, *args) -> None:
        pass

    def setoutputsize(self, *args) -> None:
        pass
