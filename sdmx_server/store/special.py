"""NaN kept on SQLite: an intentionally missing number (SDMX's `NaN`) stays apart from an absent one.

PostgreSQL's float8 holds NaN. SQLite does not: a NaN double bound to a statement is stored as
NULL, indistinguishable from a value nobody sent. So on SQLite a NaN measure is stored as the
text 'NaN' in the measure's REAL column (SQLite keeps text that is no number as text, whatever
the column's affinity), written by `keep_nan` right after the rows it belongs to, in the same
transaction. The read side (store/sql.py `_output`, store/select.py `restore_nulls`) turns it
back into a NaN double: the value column reads 0.0 there and the null flag says 2.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

NAN_TEXT = "NaN"
#: The flag the SQLite read gives a stored NaN (1 is NULL, 0 a number).
NAN_FLAG = 2
_KEYS = "sdmx_nan_keys"


def keep_nan(db, cur, fact, rows: pa.Table, table: str | None = None) -> int:
    """After `rows` (fact column names) were ingested into `table` (default: the fact table) on
    SQLite: their NaN measures there become the text 'NaN'. Returns how many. A no-op on
    PostgreSQL and for rows without NaN."""
    if not db.is_sqlite or not fact.measure_numeric:
        return 0
    name = fact.columns[fact.shape.measure.id]
    if name not in rows.column_names or not pa.types.is_floating(rows.column(name).type):
        return 0
    nan = pc.fill_null(pc.is_nan(rows.column(name)), False)
    if not pc.any(nan).as_py():
        return 0
    key_columns = [fact.columns[k] for k in fact.key_ids]
    keys = rows.filter(nan).select(key_columns)
    cur.adbc_ingest(_KEYS, keys, mode="create", temporary=True)
    target = table or fact.name
    match = " AND ".join(f'k."{c}" = "{target}"."{c}"' for c in key_columns)
    cur.execute(f'UPDATE "{target}" SET "{name}" = \'{NAN_TEXT}\' '
                f"WHERE EXISTS (SELECT 1 FROM {_KEYS} AS k WHERE {match})")
    cur.execute(f"DROP TABLE {_KEYS}")
    return keys.num_rows
