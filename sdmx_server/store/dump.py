"""Whole fact and history tables out and in, every column as stored: what export and restore
(ops/backup) read and write, a batch at a time.

Reading: one statement per table (a consistent state of that table), in the order given, as
Arrow record batches of about `batch_rows` rows. On SQLite, ADBC types a column from its first
batch, so nullable columns are read as a value of their type with a NULL flag beside them and
put back to NULL here (store/select.py does the same for queries); a NaN measure, stored on
SQLite as the text 'NaN' (store/special.py), comes back as a NaN double.

Writing: a batch of rows with the table's own column names, appended through ADBC on the
caller's cursor (inside its transaction); on SQLite NaN measures are then turned into the text
'NaN' again, matched on the row's key (and, in a history table, on REPLACED too: one key has
many versions there).
"""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from sdmx_server.store.aligned import null_placeholder
from sdmx_server.store.database import Database
from sdmx_server.store.special import NAN_TEXT

_FLAG = "sdmx_isnull_"
_NAN = "sdmx_isnan"
_KEYS = "sdmx_restore_nan"


def read_rows(db: Database, table: sa.Table, order_by: list[str], measure: str | None,
              batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
    """Every row of `table` in `order_by` order; `measure`: the numeric measure's column
    (None: the measure is text), whose NaN values SQLite keeps as text."""
    order = ", ".join(f'"{c}"' for c in order_by)
    if db.is_sqlite:
        columns = _sqlite_expressions(table, measure)
    else:
        columns = [f'"{c.name}"' for c in table.columns]
    sql = f'SELECT {", ".join(columns)} FROM "{table.name}"' + (f" ORDER BY {order}" if order else "")
    conn = db.adbc_connect()
    try:
        with conn.cursor() as cur:
            if db.is_sqlite:
                cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(batch_rows)})
            else:
                cur.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(batch_rows * 64)})
            cur.execute(sql)
            for batch in cur.fetch_record_batch():
                if batch.num_rows:
                    yield _restore(batch, table) if db.is_sqlite else batch
    finally:
        conn.rollback()
        conn.close()


def _sqlite_expressions(table: sa.Table, measure: str | None) -> list[str]:
    out = []
    for i, column in enumerate(table.columns):
        name = f'"{column.name}"'
        if not column.nullable:
            out.append(name)
            continue
        value = name
        if column.name == measure:
            value = f"CASE WHEN typeof({name}) = 'text' THEN NULL ELSE {name} END"
            out.append(f"(typeof({name}) = 'text') AS {_NAN}")
        out.append(f"coalesce({value}, {null_placeholder(column)}) AS {name}")
        out.append(f"(({value}) IS NULL) AS {_FLAG}{i}")
    return out


def _restore(batch: pa.RecordBatch, table: sa.Table) -> pa.RecordBatch:
    arrays, names = [], []
    for i, column in enumerate(table.columns):
        values = batch.column(column.name)
        if column.nullable:
            flag = pc.equal(batch.column(f"{_FLAG}{i}"), 1)
            if _NAN in batch.schema.names and isinstance(column.type, sa.Float):
                nan = pc.equal(batch.column(_NAN), 1)
                if pc.any(nan).as_py():
                    values = pc.if_else(nan, pa.scalar(float("nan"), values.type), values)
                    flag = pc.and_(flag, pc.invert(nan))
            if pc.any(flag).as_py():
                values = pc.if_else(flag, pa.nulls(len(values), values.type), values)
        arrays.append(values)
        names.append(column.name)
    return pa.RecordBatch.from_arrays(arrays, names=names)


def append_rows(db: Database, cur, table: sa.Table, rows: pa.Table, key: list[str], measure: str | None) -> int:
    """Append `rows` (named as `table`'s columns) to `table` on the ADBC cursor `cur`; on
    SQLite with a numeric `measure`, keep its NaN values as the text 'NaN'. How many rows."""
    if not rows.num_rows:
        return 0
    cur.adbc_ingest(table.name, rows, mode="append")
    if db.is_sqlite and measure is not None and pa.types.is_floating(rows.column(measure).type):
        nan = pc.fill_null(pc.is_nan(rows.column(measure)), False)
        if pc.any(nan).as_py():
            match = [c for c in key if c in rows.column_names]
            cur.adbc_ingest(_KEYS, rows.filter(nan).select(match), mode="create", temporary=True)
            where = " AND ".join(f'k."{c}" = "{table.name}"."{c}"' for c in match)
            cur.execute(f'UPDATE "{table.name}" SET "{measure}" = \'{NAN_TEXT}\' '
                        f"WHERE EXISTS (SELECT 1 FROM {_KEYS} AS k WHERE {where})")
            cur.execute(f"DROP TABLE {_KEYS}")
    return rows.num_rows


def layout_tables(name: str, layout: dict) -> tuple[sa.Table, sa.Table, list[str], str | None]:
    """A fact table as its recorded layout (sdmx_fact_table) describes it, without its DSD:
    (fact table, history table, key columns, the numeric measure's column or None). The same
    columns and types as store/tables.py FactTable.table makes, so a restore creates the table
    the loads made."""
    from sdmx_server.store.history import UPDATED, history_table
    from sdmx_server.store.tables import LOAD_ID, PERIOD_END, PERIOD_START, _text

    dims = [column for _, column in layout["dimensions"]]
    key = dims + ([layout["time"][1]] if layout["time"] else [])
    _, measure, numeric = layout["measure"]
    cols = [sa.Column(c, _text(), nullable=False) for c in key]
    cols.append(sa.Column(measure, sa.Float(precision=53) if numeric else _text(), nullable=True))
    cols += [sa.Column(column, _text(), nullable=True) for _, column in layout["attributes"]]
    cols += [sa.Column(c, sa.BigInteger, nullable=True) for c in (PERIOD_START, PERIOD_END, LOAD_ID, UPDATED)]
    fact = sa.Table(name, sa.MetaData(), *cols, sa.PrimaryKeyConstraint(*key, name=f"{name}_pk"),
                    sqlite_with_rowid=False)
    return fact, history_table(name, fact.columns, key), key, measure if numeric else None
