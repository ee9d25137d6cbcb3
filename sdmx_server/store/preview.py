"""A dataflow as it will be after its pending embargoed loads: what a `read-embargoed` principal reads.

Until its release an embargoed load is kept in store/embargo.py, and the fact table holds the
data without it. A principal who may read embargoed values gets the data as they will be once
the pending loads are applied, in release order. The overlay is made in the database, on a
connection of its own, in temporary tables that vanish with it (nothing else ever sees them):

1. OVERLAY gets the dataflow's current rows that the query's keys and periods select (both
   depend on the key alone, which no load changes; `c[]` filters on values do not narrow it,
   since values change);
2. each pending load, oldest release first, is applied to it one kept chunk at a time, its
   runs of rows with one action in load order, as store/apply.py applies them: merge (a
   component the row leaves empty keeps its value), replace (components the load does not
   carry are emptied), delete (apply.py's own conditions: empty dimensions are wildcards, named
   values are emptied, else whole rows go), and for `replace-all` the rows that no merge or
   replace row of the load carries are deleted at its end. The same key selection applies to
   the pending rows, so a key is in OVERLAY exactly when it would be selected after release;
3. `Overlay` stands where a FactTable stands in store/sql.py (as store/history_sql.View
   does), so the one SQL builder adds `c[]` filters, first/lastN, sorting and paging, and the
   rows come out as the same Arrow batches as any answer's: every writer works unchanged.

Applying a load twice gives what applying it once gives (each run sets values or keeps them),
so a release that commits while an overlay is being made cannot double it; a load whose kept
rows vanish meanwhile (released) makes the overlay start again, from the new current rows.

Bounds: Python holds one chunk of one pending load at a time (embargo.CHUNK_ROWS rows as
Arrow) and the answer's batches; the overlaid rows live in a temporary table of the database
(SQLite's temporary store, PostgreSQL's temp buffers and then disk): as many rows as the
query's keys and periods select (the whole dataflow for a query without key, and for
availability). It is a preview for the few who may read embargoed values, not the hot path.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Callable

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from sdmx_server.errors import ServiceUnavailable
from sdmx_server.query.model import DataQuery
from sdmx_server.query.periods import epoch_us
from sdmx_server.store.rows import delete_conditions, delete_staging, fact_columns, runs
from sdmx_server.store.database import Database
from sdmx_server.store.embargo import Released, kept_chunks, pending_loads
from sdmx_server.store.history_sql import epoch_us as moment_us
from sdmx_server.store.pool import discard
from sdmx_server.store.special import keep_nan
from sdmx_server.store.sql import dimension_where, render_sql
from sdmx_server.store.tables import PERIOD_END, PERIOD_START, FactStandIn, FactTable

Flow = tuple[str, str, str]

OVERLAY = "sdmx_preview"
STAGE = "sdmx_preview_stage"
KEYS = "sdmx_preview_keys"
#: Attempts at an overlay while its loads are being released under it.
ATTEMPTS = 3
#: PostgreSQL: memory of one preview's temporary tables and index builds (then disk).
TEMP_MEMORY = "64MB"


@dataclass(frozen=True, eq=False)
class Overlay(FactStandIn):
    """The overlaid rows, a FactTable's stand-in for store/sql.py."""

    fact: FactTable

    @property
    def name(self) -> str:
        return f"{self.fact.name}@preview"

    @cached_property
    def table(self) -> sa.Table:
        return _temporary(OVERLAY, self.fact, [c.name for c in self.fact.table.columns])


def _temporary(name: str, fact: FactTable, columns: list[str]) -> sa.Table:
    """A temporary table with some of the fact table's columns (their types: byte-order text
    on PostgreSQL, as the fact table sorts), and a unique index on its key (`_create` builds it
    after the first rows are in: one sort rather than an index grown row by row)."""
    source = fact.table
    table = sa.Table(name, sa.MetaData(), *[sa.Column(n, source.c[n].type, nullable=source.c[n].nullable)
                                            for n in columns], prefixes=["TEMPORARY"])
    sa.Index(f"{name}_key", *[table.c[k] for k in fact.key_columns], unique=True)
    return table


class Preview:
    """An overlay on its own ADBC connection: statements run on `cursor` see it. `close` drops
    it with the connection (rolled back: nothing of it is ever committed)."""

    def __init__(self, db: Database, conn, cursor, overlay: Overlay):
        self.db, self.conn, self.cursor, self.overlay = db, conn, cursor, overlay

    def run(self, statement):
        # Values inlined (store/sql.py render_sql): a key's IN list has no positional form.
        self.cursor.execute(render_sql(statement, self.db.dialect))
        return self.cursor

    def close(self) -> None:
        try:
            self.cursor.close()
        except Exception:  # a cancelled or failed statement: the connection goes anyway
            pass
        discard(self.conn)


def open_preview(db: Database, flow: Flow, fact: FactTable, query: DataQuery | None = None) -> Preview:
    """The dataflow after its pending loads, restricted to what `query`'s keys and periods
    select (None: all of it)."""
    for _ in range(ATTEMPTS):
        conn = db.adbc_connect()
        try:
            preview = Preview(db, conn, conn.cursor(), Overlay(fact))
            _build(preview, flow, query or DataQuery())
            return preview
        except Released:
            discard(conn)  # released under us: its rows are in the fact table now
        except BaseException:
            discard(conn)
            raise
    raise ServiceUnavailable("the embargoed loads of this dataflow are being released: try again in a few seconds")


# -- making the overlay ----------------------------------------------------------------------------


def _selection(fact: FactTable, query: DataQuery) -> Callable[[object], list]:
    """The query's conditions that depend on the key alone (keys and periods), on any table
    with the fact table's column names. Equality and integer comparisons only: they hold alike
    on the fact table and on staged rows whatever their text collation."""
    keys_only = replace(query, filters=())

    def conditions(table) -> list:
        found = dimension_where(lambda d: table.c[fact.columns[d]], fact.shape, keys_only)
        if query.start is not None:
            found.append(table.c[PERIOD_START] >= epoch_us(query.start.start))
        if query.end is not None:
            found.append(table.c[PERIOD_END] <= epoch_us(query.end.end))
        return found

    return conditions


def _build(preview: Preview, flow: Flow, query: DataQuery) -> None:
    db, cur, overlay = preview.db, preview.cursor, preview.overlay
    fact = overlay.fact
    selected = _selection(fact, query)
    if not db.is_sqlite:
        # Memory for the temporary tables of this connection (before it first uses one) and
        # for its index build; beyond, PostgreSQL writes them to disk.
        cur.execute(f"SET temp_buffers = '{TEMP_MEMORY}'")
        cur.execute(f"SET LOCAL maintenance_work_mem = '{TEMP_MEMORY}'")
    names = [c.name for c in fact.table.columns]
    _create(preview, overlay.table, sa.insert(overlay.table).from_select(
        names, sa.select(*[fact.table.c[n] for n in names]).where(sa.true(), *selected(fact.table))))
    for load in pending_loads(db, flow):
        present, replace_all, chunks = kept_chunks(db, load.load_id)
        keys = _temporary(KEYS, fact, fact.key_columns) if replace_all else None
        if keys is not None:
            _create(preview, keys)
        for chunk in chunks:
            for action, part in runs(chunk):
                if action == "D":
                    _delete(preview, part, present)
                else:
                    # Bookkeeping columns are written as a release would, with the release
                    # time for the transaction time it will at least have; answers never show them.
                    rows = fact_columns(fact, part, present, True, load.load_id, moment_us(load.release_at))
                    _write(preview, rows, action == "R", selected, keys)
        if keys is not None:
            carried = sa.exists(sa.select(sa.literal(1)).select_from(keys).where(
                *[keys.c[k] == overlay.table.c[k] for k in fact.key_columns]))
            preview.run(sa.delete(overlay.table).where(~carried))
            cur.execute(f"DROP TABLE {KEYS}")
    if not db.is_sqlite:
        cur.execute(f"ANALYZE {OVERLAY}")  # a temporary table has no statistics


def _create(preview: Preview, table: sa.Table, fill: sa.Insert | None = None) -> None:
    """CREATE the table, run `fill`, then index the key."""
    dialect = preview.db.dialect
    preview.cursor.execute(str(sa.schema.CreateTable(table).compile(dialect=dialect)))
    if fill is not None:
        preview.run(fill)
    for index in table.indexes:
        preview.cursor.execute(str(sa.schema.CreateIndex(index).compile(dialect=dialect)))


def _write(preview: Preview, rows: pa.Table, replace_values: bool, selected, keys: sa.Table | None) -> None:
    """Merge or replace staged rows into the overlay (apply.py's semantics, its _classify)."""
    db, cur, overlay = preview.db, preview.cursor, preview.overlay
    fact = overlay.fact
    cur.adbc_ingest(STAGE, rows, mode="create", temporary=True)
    keep_nan(db, cur, fact, rows, STAGE)  # SQLite stores a NaN double as NULL (store/special.py)
    stage = sa.table(STAGE, *[sa.column(n) for n in rows.column_names])
    chosen = sa.and_(sa.true(), *selected(stage))
    upsert = sqlite.insert if db.is_sqlite else postgresql.insert
    if keys is not None:  # replace-all: the keys it carries (several runs may carry one)
        preview.run(upsert(keys).from_select(fact.key_columns, sa.select(
            *[stage.c[k] for k in fact.key_columns]).where(chosen)).on_conflict_do_nothing())
    target = overlay.table
    names = rows.column_names
    insert = upsert(target).from_select(names, sa.select(*[stage.c[n] for n in names]).where(chosen))
    key = fact.key_columns
    values = {}
    for column in target.columns:
        name = column.name
        if name in key:
            continue
        if name in names:
            # (bookkeeping and period bounds follow the key: always the staged ones)
            merged = name not in fact.columns.values() or replace_values
            values[name] = insert.excluded[name] if merged else sa.func.coalesce(insert.excluded[name], target.c[name])
        elif replace_values:
            values[name] = sa.null()  # replace: what the load does not carry is emptied
    preview.run(insert.on_conflict_do_update(index_elements=key, set_=values) if values
                else insert.on_conflict_do_nothing(index_elements=key))
    cur.execute(f"DROP TABLE {STAGE}")


def _delete(preview: Preview, part: pa.Table, present: frozenset[str]) -> None:
    cur, overlay = preview.cursor, preview.overlay
    staged, _ = delete_staging(overlay.fact, part, present)
    cur.adbc_ingest(STAGE, staged, mode="create", temporary=True)
    staging = sa.table(STAGE, *[sa.column(n) for n in staged.column_names]).alias("s")
    gone, hits = delete_conditions(overlay.fact, staging, overlay.table, present)
    preview.run(sa.delete(overlay.table).where(gone))
    for column, hit in hits:
        preview.run(sa.update(overlay.table).where(hit).values({column: None}))
    cur.execute(f"DROP TABLE {STAGE}")


# -- reading it ------------------------------------------------------------------------------------


class PreviewRows:
    """The rows of a statement over the overlay as Arrow record batches; `close` (or the
    end) drops the overlay with its connection."""

    def __init__(self, preview: Preview, statement: sa.Select, batch_rows: int):
        self.preview, self.statement, self.batch_rows = preview, statement, batch_rows
        self._reader = None
        self._first: pa.RecordBatch | None = None

    def started(self) -> bool:
        """Run the statement and read its first batch: whether there is one (else closed)."""
        from sdmx_server.store.select import BYTES_PER_ROW

        cur, db = self.preview.cursor, self.preview.db
        if db.is_sqlite:
            cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(self.batch_rows)})
        else:
            hint = self.batch_rows * BYTES_PER_ROW
            cur.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(hint)})
        cur.execute(render_sql(self.statement, db.dialect))
        self._reader = iter(cur.fetch_record_batch())
        self._first = self._next_batch()
        return self._first is not None

    def _next_batch(self) -> pa.RecordBatch | None:
        from sdmx_server.store.select import restore_nulls

        for batch in self._reader or ():
            if batch.num_rows:
                return restore_nulls(batch) if self.preview.db.is_sqlite else batch
        self.close()
        return None

    def __iter__(self):
        return self

    def __next__(self) -> pa.RecordBatch:
        batch, self._first = self._first, None
        if batch is None:
            batch = self._next_batch()
        if batch is None:
            raise StopIteration
        return batch

    def close(self) -> None:
        self._reader = None
        self.preview.close()
