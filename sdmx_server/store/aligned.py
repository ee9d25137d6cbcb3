"""Classifying a load that resends every stored observation, in Arrow rather than in SQL.

A unit that resends its whole cube with a few values revised is the common revision: the load
carries exactly the keys the fact table holds. The SQL classification (store/apply.py
`_classify`) copies all of them into a staging table and joins it with the fact table: on
5 M observations that is most of the load's time (COPY of rows that mostly did not change, a
join the size of the table). Here the stored rows are read back in key order, in batches (the
fact table's rows live in key order; the load's rows are sorted by key), so the two sequences
line up row for row: one comparison per column tells what changed, and only the changed rows
go into the database, as the same DIFF table the SQL path makes. The rest of the apply
(history, upsert) is the same for both.

The fast path applies only when the stored count (the series table, exact in the load's
transaction) equals the load's row count and every key matches at its position; anything else
(a new key, a missing one) returns None and the caller classifies in SQL. SQLite keeps a NaN
measure as text (store/special.py, when present): such rows also go the SQL way, which
compares them as stored.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from sdmx_server.store.database import Database, execute_compiled
from sdmx_server.store.history import UPDATED
from sdmx_server.store.series import OBS_COUNT, SeriesTable
from sdmx_server.store.tables import LOAD_ID, PERIOD_END, PERIOD_START, FactTable

#: Rows per batch of the read-back (memory: the stored rows are never all in memory at once).
BATCH_ROWS = 65_536
#: Smaller loads are classified in SQL: the read-back pays off on large resends only, and one
#: path is enough for a handful of rows. (Tests set it to 0 to run this path on small data.)
MIN_ROWS = 10_000
#: Columns that follow the key (bookkeeping and period bounds): written as the load has them.
_FOLLOW_KEY = (LOAD_ID, UPDATED, PERIOD_START, PERIOD_END)
_NAN_FLAG = "sdmx_stored_nan"


def stored_count(db: Database, cur, fact: FactTable) -> int:
    """How many observations the fact table holds, from its series table (no scan)."""
    t = SeriesTable.of(fact).table
    execute_compiled(cur, sa.select(sa.func.coalesce(sa.func.sum(t.c[OBS_COUNT]), 0)), db.dialect)
    return int(cur.fetchone()[0])


def classify_aligned(db: Database, cur, fact: FactTable, parts: Callable[[], Iterator[pa.Table]], count: int,
                     replace: bool, stored_names: dict[str, str], is_new: str) -> pa.Table | None:
    """The DIFF rows (as apply.py's `_classify` makes them: the values to store, IS_NEW = 0,
    the stored values under `stored_names`) when the `count` rows that `parts()` yields (fact
    columns, in key order, a table at a time) carry exactly the stored keys; None when they do
    not, or when SQLite holds a NaN among them. Memory: a batch of each side, and the changed
    rows (they cannot go into the database while the stored rows stream out of it)."""
    if count < MIN_ROWS or stored_count(db, cur, fact) != count:
        return None
    return compare(db, cur, fact, parts(), replace, stored_names, is_new, drain=True)


def compare(db: Database, cur, fact: FactTable, incoming: Iterator[pa.Table], replace: bool,
            stored_names: dict[str, str], is_new: str, *, drain: bool,
            on_changed: Callable[[pa.Table], None] | None = None) -> pa.Table | None:
    """classify_aligned's comparison, for rows whose count is not known beforehand (store/early.py
    compares them as they are validated): None as soon as a key differs, a row is missing or one
    is left over. `drain`: then the stored rows are still read to their end, so the transaction
    can go on (the caller classifies in SQL); else the read is cancelled, and the caller rolls
    the transaction back. `on_changed`: each batch's changed rows are handed to it as they are
    found, rather than kept (then the table returned is empty); what it did before a mismatch is
    the caller's to roll back."""
    f = fact.table
    key = fact.key_columns
    measure = fact.columns[fact.shape.measure.id]
    nan_text = db.is_sqlite and fact.measure_numeric
    select = _read_expressions(db, f, key, measure, nan_text)
    if nan_text:
        # A NaN is stored as the text 'NaN' in the REAL column (store/special.py): such loads
        # go the SQL way, which compares them as stored.
        select.append(f"typeof(\"{measure}\") = 'text' AS {_NAN_FLAG}")
    order = ", ".join(f'"{k}"' for k in key)
    sql = f'SELECT {", ".join(select)} FROM "{fact.name}" ORDER BY {order}'
    if db.is_sqlite:
        cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
    else:
        # Walk the primary key (the rows stream in order) rather than sort the whole table;
        # no JIT for a plain scan. Transaction-local, and set back after the read.
        cur.execute("SELECT current_setting('enable_sort'), current_setting('jit'), "
                    "set_config('enable_sort', 'off', true), set_config('jit', 'off', true)")
        sort_was, jit_was = cur.fetchone()[:2]
        cur.fetchall()
    rows = _Rows(incoming)
    changed: list[pa.Table] = []
    aligned = True
    cancelled = False
    try:
        cur.execute(sql)
        for batch in cur.fetch_record_batch():
            if not aligned or batch.num_rows == 0:
                continue  # (drain: the reader is read to its end either way)
            stored = _restore(db, f, key, pa.Table.from_batches([batch]))
            new = rows.take(batch.num_rows)
            if (new is None
                    or nan_text and (_has_nan(new.column(measure))
                                     or pc.any(stored.column(_NAN_FLAG).cast(pa.bool_())).as_py())
                    or not _same_keys(stored, new, key)):
                aligned = False
                if drain:
                    continue
                if not db.is_sqlite:
                    cur.adbc_cancel()  # (PostgreSQL would send the rest first, even to a closed reader)
                    cancelled = True
                break
            diff = _changed(f, key, stored, new, replace, stored_names, is_new)
            if diff.num_rows:
                if on_changed is None:
                    changed.append(diff)
                else:
                    on_changed(diff)
        aligned = aligned and rows.at_end()
    finally:
        if not db.is_sqlite and not cancelled:
            cur.execute(f"SELECT set_config('enable_sort', '{sort_was}', true), set_config('jit', '{jit_was}', true)")
            cur.fetchall()
    if not aligned:
        return None
    return pa.concat_tables(changed) if changed else pa.table({})


class _Rows:
    """The load's rows as a stream of tables, taken n at a time (n: a stored batch's size)."""

    def __init__(self, parts: Iterator[pa.Table]):
        self._parts = parts
        self._head: pa.Table | None = None

    def take(self, n: int) -> pa.Table | None:
        """The next n rows; None when fewer are left."""
        pieces, wanted = [], n
        while wanted:
            if self._head is None or not self._head.num_rows:
                self._head = next(self._parts, None)
                if self._head is None:
                    return None
                continue
            piece = self._head.slice(0, wanted)
            self._head = self._head.slice(piece.num_rows)
            pieces.append(piece)
            wanted -= piece.num_rows
        return pieces[0] if len(pieces) == 1 else pa.concat_tables(pieces).combine_chunks()

    def at_end(self) -> bool:
        """No row left (the rest of the stream is read to tell)."""
        if self._head is not None and self._head.num_rows:
            return False
        return all(part.num_rows == 0 for part in self._parts)


#: SQLite: the NULLs of the read-back, one bit per nullable column, 62 columns per mask column.
_MASK = "sdmx_nulls"
_BITS = 62
#: SQLite: the key read back as one text, its columns joined by SEPARATOR (a text per column
#: costs ADBC's SQLite about twice as much to read: 1.0 against 0.6 s per million rows here).
_JOINED_KEY = "sdmx_key"
SEPARATOR = "\x1f"


def _nullable(f: sa.Table) -> list[sa.Column]:
    return [c for c in f.columns if c.nullable]


def null_placeholder(column: sa.Column) -> str:
    """What a NULL of `column` is read as, beside a flag saying it was NULL: ADBC's SQLite
    driver takes a column's type from its first batch, so no NULL may stand where a value types
    the column (store/select.py)."""
    if isinstance(column.type, sa.Float):
        return "0.0"
    if isinstance(column.type, (sa.BigInteger, sa.Integer)):
        return "0"
    return "''"


def _read_expressions(db: Database, f: sa.Table, key: list[str], measure: str, nan_text: bool) -> list[str]:
    """The columns as read back. SQLite: the key as one text (_JOINED_KEY); and ADBC types each
    column from its first batch, and a batch of NULLs would type it wrongly for the next: a
    nullable column reads as a value of its type (a placeholder for NULL), and bit masks (one
    value per row, fewer values to read than a flag per column) say which were NULL."""
    if not db.is_sqlite:
        return [f'"{c.name}"' for c in f.columns]
    joined = len(key) > 1
    out, flags = [], []
    if joined:
        out.append(" || char(31) || ".join(f'"{k}"' for k in key) + f" AS {_JOINED_KEY}")
    for column in f.columns:
        name = f'"{column.name}"'
        if joined and column.name in key:
            continue
        if not column.nullable:
            out.append(name)
            continue
        # A NaN is stored as the text 'NaN' in the REAL column (store/special.py): read apart.
        value = f"CASE WHEN typeof({name}) = 'text' THEN NULL ELSE {name} END" if nan_text and column.name == measure else name
        out.append(f"coalesce({value}, {null_placeholder(column)}) AS {name}")
        flags.append(f"(({value}) IS NULL)")
    for start in range(0, len(flags), _BITS):
        bits = " + ".join(f"{flag} * {1 << i}" for i, flag in enumerate(flags[start:start + _BITS]))
        out.append(f"{bits} AS {_MASK}{start // _BITS}")
    return out


def _restore(db: Database, f: sa.Table, key: list[str], stored: pa.Table) -> pa.Table:
    """SQLite: the NULLs the masks mark, back in their columns (the key stays joined)."""
    if not db.is_sqlite:
        return stored
    columns = {c.name: stored.column(c.name) for c in f.columns if c.name in stored.column_names}
    if _JOINED_KEY in stored.column_names:
        columns[_JOINED_KEY] = stored.column(_JOINED_KEY)
    for i, column in enumerate(_nullable(f)):
        mask = stored.column(f"{_MASK}{i // _BITS}").to_numpy(zero_copy_only=False) & (1 << (i % _BITS)) != 0
        if mask.any():
            values = columns[column.name]
            columns[column.name] = pc.if_else(pa.array(mask), pa.nulls(len(mask), values.type), values)
    if _NAN_FLAG in stored.column_names:
        columns[_NAN_FLAG] = stored.column(_NAN_FLAG)
    return pa.table(columns)


def write_diff(db: Database, cur, changed: pa.Table, table: str, append: bool = False) -> int:
    """The changed rows into a temporary table, made or (`append`) there already; none: no
    table made. How many."""
    if changed.num_rows:
        cur.adbc_ingest(table, changed, mode="append" if append else "create", temporary=True)
        if not db.is_sqlite:
            cur.execute(f"ANALYZE {table}")  # a temporary table has no statistics: the joins need them
    return changed.num_rows


def _has_nan(column) -> bool:
    return pa.types.is_floating(column.type) and bool(pc.any(pc.fill_null(pc.is_nan(column), False)).as_py())


def _same_keys(stored: pa.Table, new: pa.Table, key: list[str]) -> bool:
    if _JOINED_KEY in stored.column_names:
        parts = [new.column(k).cast(pa.string()) for k in key]
        joined = pc.binary_join_element_wise(*parts, SEPARATOR)
        # Joined, two keys are equal only when their columns are, provided no value holds the
        # separator: then each side holds exactly len(key) - 1 of them (the stored side as
        # many as the new one, when the texts are equal). A load with one goes the SQL way.
        separators = pc.sum(pc.count_substring(joined, SEPARATOR)).as_py() or 0
        if separators != (len(key) - 1) * new.num_rows:
            return False
        return bool(pc.all(pc.equal(stored.column(_JOINED_KEY).cast(pa.string()), joined)).as_py())
    for k in key:
        if not pc.all(pc.equal(stored.column(k).cast(pa.string()), new.column(k).cast(pa.string()))).as_py():
            return False
    return True


def _distinct(a, b) -> np.ndarray:
    """NULL-safe `a IS DISTINCT FROM b`, per row; NaN equals NaN, as PostgreSQL has it."""
    a_valid = pc.is_valid(a).to_numpy(zero_copy_only=False)
    b_valid = pc.is_valid(b).to_numpy(zero_copy_only=False)
    equal = pc.fill_null(pc.equal(a, b), False).to_numpy(zero_copy_only=False)
    if pa.types.is_floating(a.type):
        equal |= pc.fill_null(pc.and_(pc.is_nan(a), pc.is_nan(b)), False).to_numpy(zero_copy_only=False)
    return (a_valid != b_valid) | (a_valid & b_valid & ~equal)


def _changed(f: sa.Table, key: list[str], stored: pa.Table, new: pa.Table, replace: bool,
             stored_names: dict[str, str], is_new: str) -> pa.Table:
    """The rows of `new` whose values to store differ from `stored` (same keys, same order)."""
    n = new.num_rows
    changed = np.zeros(n, dtype=bool)
    values: dict[str, pa.ChunkedArray | pa.Array] = {}
    for column in f.columns:
        name = column.name
        if name in key:
            values[name] = new.column(name).cast(pa.string())  # (the same as stored: _same_keys)
            continue
        old = stored.column(name)
        if name in _FOLLOW_KEY:
            values[name] = new.column(name).cast(old.type) if name in new.column_names else old
            continue
        if name in new.column_names:
            incoming = new.column(name).cast(old.type)
            value = incoming if replace else pc.coalesce(incoming, old)
        else:
            value = pa.nulls(n, old.type) if replace else old
        values[name] = value
        changed |= _distinct(value, old)
    take = pa.array(np.flatnonzero(changed))
    out = {name: value.take(take) for name, value in values.items()}
    out[is_new] = pa.array(np.zeros(len(take), dtype=np.int32))
    for name, short in stored_names.items():
        out[short] = stored.column(name).take(take)
    return pa.table(out)
