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
from sdmx_server.store.sql import NULL_FLAG, build_select, render_sql
from sdmx_server.store.tables import FactTable


#: A typical fact row as PostgreSQL sends it (binary COPY), to turn batch rows into batch bytes.
BYTES_PER_ROW = 64


def render(db: Database, statement: sa.Select) -> str:
    return render_sql(statement, db.dialect)


def select_batches(db: Database, fact: FactTable, query: DataQuery, layout: DataLayout, batch_rows: int):
    """The query's rows as Arrow record batches, in series order. The connection stays open
    until the generator is exhausted or closed (a client that goes away closes it)."""
    sql = render(db, build_select(fact, query, layout, typed_for_sqlite=db.is_sqlite))
    conn = db.adbc_connect()
    cursor = conn.cursor()
    try:
        if db.is_sqlite:
            cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(batch_rows)})
        else:
            # PostgreSQL batches are sized in bytes; about the same number of rows as on SQLite.
            hint = batch_rows * BYTES_PER_ROW
            cursor.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(hint)})
        cursor.execute(sql)
        reader = cursor.fetch_record_batch()
        for batch in reader:
            if batch.num_rows:
                yield _restore_nulls(batch) if db.is_sqlite else batch
    finally:
        cursor.close()
        conn.close()


def _restore_nulls(batch: pa.RecordBatch) -> pa.RecordBatch:
    names, arrays = [], []
    flags = {n[len(NULL_FLAG):]: batch.column(n) for n in batch.schema.names if n.startswith(NULL_FLAG)}
    for name, column in zip(batch.schema.names, batch.columns):
        if name.startswith(NULL_FLAG):
            continue
        if name in flags:
            column = pc.if_else(pc.cast(flags[name], pa.bool_()), pa.scalar(None, column.type), column)
        elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            if pc.any(pc.equal(column, "")).as_py():
                column = pc.if_else(pc.equal(column, ""), pa.scalar(None, column.type), column)
        names.append(name)
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, names=names)
