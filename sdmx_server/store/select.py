"""DataQuery in, sorted Arrow record batches out, streamed from the database through ADBC.

The SQL is built by store/sql.py (SQLAlchemy Core) and rendered here with literal values, so
that PostgreSQL can answer with a binary COPY; every value in it has passed the query parser's
checks first, and SQLAlchemy quotes it as the dialect requires.

SQLite gives no column types to ADBC, which guesses them from the first batch of rows; a column
that is all NULL there would be guessed wrong. So on SQLite nullable text comes out as '' (the
store never holds empty strings) and a nullable number with a companion NULL flag, and the
NULLs are put back here, on whole columns.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from sdmx_server.query.layout import DataLayout
from sdmx_server.query.model import DataQuery
from sdmx_server.store.database import Database
from sdmx_server.store.prefetch import PrefetchedBatches
from sdmx_server.store.sql import NULL_FLAG, build_select, render_select, render_sql
from sdmx_server.store.tables import FactTable


#: A typical fact row as PostgreSQL sends it (binary COPY), to turn batch rows into batch bytes.
BYTES_PER_ROW = 64
#: Batches read ahead of the writer: two keep both cores busy; more only hold memory.
PREFETCH_BATCHES = 2


def render(db: Database, statement: sa.Select) -> str:
    return render_sql(statement, db.dialect)


def select_batches(db: Database, fact: FactTable, query: DataQuery, layout: DataLayout, batch_rows: int,
                   prefetch: int = PREFETCH_BATCHES):
    """The query's rows as Arrow record batches, in series order. The connection stays open
    until the iterator is exhausted or closed (a client that goes away closes it).

    With `prefetch` > 0 a thread reads up to that many batches ahead of the consumer (see
    store/prefetch.py), so that the database and the writer work at the same time."""
    sql = render_select(fact, query, layout, db.dialect, typed_for_sqlite=db.is_sqlite)
    in_key_order = (tuple(layout.sort_columns()) == tuple(fact.key_ids) and query.sort is None
                    and query.first_n is None and query.last_n is None)
    return _batches(db, sql, batch_rows, prefetch, in_key_order)


def select_view_batches(db: Database, view, query: DataQuery, layout: DataLayout, batch_rows: int,
                        prefetch: int = PREFETCH_BATCHES):
    """The same for a read of the past (store/history_sql.View): its SQL is built each time
    (no template: the times in it differ from query to query) and the rows come from a union
    of two tables, which PostgreSQL may sort."""
    sql = render_sql(build_select(view, query, layout, typed_for_sqlite=db.is_sqlite), db.dialect)
    return _batches(db, sql, batch_rows, prefetch, False)


def _batches(db: Database, sql: str, batch_rows: int, prefetch: int, in_key_order: bool):
    def source(set_cancel=lambda cancel: None):
        return _read(db, sql, batch_rows, set_cancel, in_key_order)

    if prefetch <= 0:
        return source()
    return PrefetchedBatches(source, depth=prefetch)


def _read(db: Database, sql: str, batch_rows: int, set_cancel, in_key_order: bool = False):
    conn, cursor = _begin(db, batch_rows, in_key_order)
    finished = stopped = False
    try:
        set_cancel(cursor.adbc_cancel)
        cursor.execute(sql)
        reader = cursor.fetch_record_batch()
        for batch in reader:
            if batch.num_rows:
                yield restore_nulls(batch) if db.is_sqlite else batch
        finished = True
    finally:
        # set_cancel(None) says (prefetch.py) whether the consumer stopped: then a cancel may
        # be on its way to this connection, which must not reach the next read on it.
        stopped = bool(set_cancel(None))
        _close(cursor)
        db.read_pool.release(conn, reusable=finished and not stopped)


def _begin(db: Database, batch_rows: int, in_key_order: bool):
    """A connection from the process's pool and a cursor on it, set up for one read. A kept
    PostgreSQL connection the server has dropped meanwhile (restart, idle timeout) fails at its
    first statement: it is closed and a new one opened."""
    for attempt in (1, 2):
        conn, kept = db.read_pool.acquire()
        cursor = conn.cursor()
        try:
            if db.is_sqlite:
                cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(batch_rows)})
            else:
                # Settings local to this read's transaction (ADBC opens one; its COPY path runs
                # only SELECTs, hence set_config; the pool's rollback ends them). No JIT: on a
                # large table the planner's costs call for it, and compiling takes 0.2-0.4 s
                # before the first row, for a plain scan that it hardly speeds up. Rows in
                # primary-key order: walk the key's index, which streams from the first row on,
                # rather than sort the whole table first (seconds before the first byte, and
                # temporary files), as the planner does on a table not yet analysed after its load.
                settings = "set_config('jit', 'off', true)"
                if in_key_order:
                    settings += ", set_config('enable_sort', 'off', true)"
                cursor.execute(f"SELECT {settings}")
                cursor.fetchall()
                # PostgreSQL batches are sized in bytes; about the same number of rows as on SQLite.
                hint = batch_rows * BYTES_PER_ROW
                cursor.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(hint)})
            return conn, cursor
        except Exception:
            _close(cursor)
            db.read_pool.release(conn, reusable=False)
            if not kept or attempt == 2:
                raise
    raise AssertionError("unreachable")


def _close(cursor) -> None:
    try:
        cursor.close()
    except Exception:  # the statement failed or was cancelled: the connection is closed anyway
        pass


def restore_nulls(batch: pa.RecordBatch) -> pa.RecordBatch:
    names, arrays = [], []
    flags = {n[len(NULL_FLAG):]: batch.column(n) for n in batch.schema.names if n.startswith(NULL_FLAG)}
    for name, column in zip(batch.schema.names, batch.columns):
        if name.startswith(NULL_FLAG):
            continue
        if name in flags:
            flag = flags[name]
            if pc.any(pc.equal(flag, 2)).as_py():  # a stored NaN (store/special.py)
                column = pc.if_else(pc.equal(flag, 2), pa.scalar(float("nan"), column.type), column)
            column = pc.if_else(pc.equal(flag, 1), pa.scalar(None, column.type), column)
        elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            if pc.any(pc.equal(column, "")).as_py():
                column = pc.if_else(pc.equal(column, ""), pa.scalar(None, column.type), column)
        names.append(name)
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, names=names)
