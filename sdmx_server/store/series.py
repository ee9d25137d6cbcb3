"""The series table of a dataflow: one row per series key, kept exact by every load.

Availability (which codes the data hold, how many observations, from when to when) is asked
many times a second by the portal's cascading filters; counting a ten-million-row fact table
each time would take seconds. So each fact table has a companion with one row per series: the
dimension codes (the time dimension excluded), the number of observations and the first
period start and last period end (epoch microseconds, as in the fact table).

It is never a cache: store/apply.py changes it in the same transaction that changes the fact
table (`after_write`, `after_delete`), recounting from the fact table exactly the series the
load touched, so that a reader sees both tables at the same state or neither. Fact tables
that existed before this table did get theirs on start (`migrate`), built from the fact table.

Columns: the dimensions keep the fact table's column names; the primary key is the series key,
and each other dimension has its own index, for the distinct-values and filter queries of
service/availability.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from sdmx_server.store.database import Database, execute_compiled
from sdmx_server.store.sql import region_condition
from sdmx_server.store.tables import PERIOD_END, PERIOD_START, FactTable, FactTableRow, _text

OBS_COUNT = "sdmx_obs_count"
TOUCHED = "sdmx_touched_series"


@dataclass(frozen=True)
class SeriesTable:
    name: str
    #: The fact table's column names of the dimensions (time excluded), in DSD order.
    dimension_columns: tuple[str, ...]

    @classmethod
    def of(cls, fact: FactTable) -> "SeriesTable":
        return cls(series_table_name(fact.name), tuple(fact.columns[d] for d in fact.shape.dimension_ids))

    @cached_property
    def table(self) -> sa.Table:
        cols = [sa.Column(c, _text(), nullable=False) for c in self.dimension_columns]
        cols += [
            sa.Column(OBS_COUNT, sa.BigInteger, nullable=False),
            sa.Column(PERIOD_START, sa.BigInteger, nullable=True),
            sa.Column(PERIOD_END, sa.BigInteger, nullable=True),
        ]
        args: list = []
        if self.dimension_columns:
            args.append(sa.PrimaryKeyConstraint(*self.dimension_columns, name=f"{self.name}_pk"))
        table = sa.Table(self.name, sa.MetaData(), *cols, *args, sqlite_with_rowid=not self.dimension_columns)
        # The primary key serves the first dimension; each other one gets an index of its own,
        # so that a selection on any dimension finds its series without a scan.
        for i, column in enumerate(self.dimension_columns[1:], start=1):
            sa.Index(f"{self.name}_d{i}", table.c[column])
        return table


def series_table_name(fact_name: str) -> str:
    return "ser_" + (fact_name[4:] if fact_name.startswith("obs_") else fact_name)


# -- DDL ----------------------------------------------------------------------------------------


def create_ddl(series: SeriesTable, dialect: sa.Dialect) -> list[str]:
    statements = [str(sa.schema.CreateTable(series.table, if_not_exists=True).compile(dialect=dialect))]
    for index in series.table.indexes:
        statements.append(str(sa.schema.CreateIndex(index, if_not_exists=True).compile(dialect=dialect)))
    return statements


def ensure(db: Database, cur, series: SeriesTable) -> None:
    """Create the table (inside the caller's transaction) if it is not there yet."""
    for statement in create_ddl(series, db.dialect):
        cur.execute(statement)


# -- maintenance inside a load's transaction ------------------------------------------------------


def _aggregate(fact: FactTable, series: SeriesTable, source) -> sa.Select:
    """Per series key of the fact rows `source` selects: count, first start, last end."""
    f = fact.table
    dims = [f.c[c] for c in series.dimension_columns]
    # (without dimensions, the one series exists only if it has an observation)
    return sa.select(*dims, sa.func.count().label(OBS_COUNT), sa.func.min(f.c[PERIOD_START]).label(PERIOD_START),
                     sa.func.max(f.c[PERIOD_END]).label(PERIOD_END)).select_from(source).group_by(*dims).having(
        sa.func.count() > 0)


def _insert_aggregate(db: Database, cur, fact: FactTable, series: SeriesTable, source, where=None) -> None:
    select = _aggregate(fact, series, source)
    if where is not None:
        select = select.where(where)
    names = [*series.dimension_columns, OBS_COUNT, PERIOD_START, PERIOD_END]
    execute_compiled(cur, sa.insert(series.table).from_select(names, select), db.dialect)


class FirstWrite:
    """The series of a first load, written as its parts are (the fact table was empty, the
    parts come in key order, one after the other): from the rows themselves, in Arrow, without
    reading the table back. Each part's series go into the series table at once, but for its
    last, which may go on in the next part: that one is held, and counted once with the next
    part's first when they are one series. Made in the load's transaction, before the first
    part; `finish` writes the one held."""

    def __init__(self, db: Database, cur, fact: FactTable):
        self.db, self.cur = db, cur
        self.series = SeriesTable.of(fact)
        self.dims = list(self.series.dimension_columns)
        self.held: pa.Table | None = None  # the last series so far, one row
        ensure(db, cur, self.series)
        execute_compiled(cur, sa.delete(self.series.table), db.dialect)

    def add(self, rows: pa.Table) -> None:
        """A part of the load's rows (fact columns, in key order), written to the fact table."""
        if not rows.num_rows:
            return
        found = series_of_sorted(rows, self.dims)
        if self.held is not None:
            first = found.slice(0, 1)
            if all(first.column(d)[0].as_py() == self.held.column(d)[0].as_py() for d in self.dims):
                found = pa.concat_tables([_merged(self.held, first), found.slice(1)])
            else:
                found = pa.concat_tables([self.held, found])
        self.held = found.slice(found.num_rows - 1)
        if found.num_rows > 1:
            self.cur.adbc_ingest(self.series.name, found.slice(0, found.num_rows - 1), mode="append")

    def finish(self) -> None:
        if self.held is not None:
            self.cur.adbc_ingest(self.series.name, self.held, mode="append")
            self.held = None


def _merged(a: pa.Table, b: pa.Table) -> pa.Table:
    """Two one-row counts of the same series as one (a bound that is NULL never wins)."""
    def bound(pick, name):
        values = [v for v in (a.column(name)[0].as_py(), b.column(name)[0].as_py()) if v is not None]
        return pa.array([pick(values) if values else None], pa.int64())

    count = a.column(OBS_COUNT)[0].as_py() + b.column(OBS_COUNT)[0].as_py()
    return pa.table({**{name: a.column(name) for name in a.column_names},
                     OBS_COUNT: pa.array([count], pa.int64()),
                     PERIOD_START: bound(min, PERIOD_START), PERIOD_END: bound(max, PERIOD_END)}).select(a.column_names)


def series_of_sorted(rows: pa.Table, dims: list[str]) -> pa.Table:
    """One row per series of rows sorted by key: a series is a run of equal dimension values,
    so its bounds come from comparing neighbours (a hash aggregation of five text columns
    costs several times more on millions of rows)."""
    n = rows.num_rows
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for name in dims:
        column = rows.column(name).combine_chunks()
        if n > 1:
            differs = pc.not_equal(column.slice(1), column.slice(0, n - 1))
            change[1:] |= differs.to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(change)
    counts = np.diff(np.append(starts, n))

    def reduce(name: str, ufunc) -> pa.Array:
        values = rows.column(name).combine_chunks()
        valid = values.is_valid().to_numpy(zero_copy_only=False)
        # NULL bounds (periods without one) must neither win a min nor a max.
        fill = np.iinfo(np.int64).max if ufunc is np.minimum else np.iinfo(np.int64).min
        data = np.where(valid, values.fill_null(0).to_numpy(), fill)
        out = ufunc.reduceat(data, starts)
        return pa.array(out, pa.int64(), mask=out == fill)

    return pa.table({
        **{c: rows.column(c).take(pa.array(starts)) for c in dims},
        OBS_COUNT: pa.array(counts, pa.int64()),
        PERIOD_START: reduce(PERIOD_START, np.minimum),
        PERIOD_END: reduce(PERIOD_END, np.maximum),
    })


def after_write(db: Database, cur, fact: FactTable, staging: str, where: str | None = None) -> None:
    """Merge or replace rows (in the `staging` table, dimensions all given) were written: the
    series they name are recounted. `where` (SQL on the staging table) keeps the rows that
    may change a series: new observations (a changed value moves no count and no bound)."""
    series = SeriesTable.of(fact)
    ensure(db, cur, series)
    dims = series.dimension_columns
    s = sa.table(staging, *[sa.column(c) for c in dims])
    select = sa.select(*[s.c[c] for c in dims]).distinct()
    if where is not None:
        select = select.where(sa.text(where))
    _touched(db, cur, select, dims)
    _recount_touched(db, cur, fact, series)


def after_delete(db: Database, cur, fact: FactTable, staging: sa.sql.FromClause, present: list[str]) -> None:
    """Delete rows were applied (`staging`: the fact column names of the dimensions they give,
    NULL matching anything): every series they may have touched is recounted."""
    series = SeriesTable.of(fact)
    ensure(db, cur, series)
    dims = series.dimension_columns
    t = series.table
    match = sa.and_(sa.true(), *[
        sa.or_(staging.c[c].is_(None), staging.c[c] == t.c[c]) for c in dims if c in present
    ])
    hit = sa.exists(sa.select(sa.literal(1)).select_from(staging).where(match))
    _touched(db, cur, sa.select(*[t.c[c] for c in dims]).where(hit), dims)
    _recount_touched(db, cur, fact, series)


def _touched(db: Database, cur, select: sa.Select, dims: tuple[str, ...]) -> None:
    cur.execute(f"DROP TABLE IF EXISTS {TOUCHED}")
    sql = str(select.compile(dialect=db.dialect, compile_kwargs={"literal_binds": True}))
    cur.execute(f"CREATE TEMPORARY TABLE {TOUCHED} AS {sql}")
    if not db.is_sqlite:
        cur.execute(f"ANALYZE {TOUCHED}")  # a temporary table has no statistics: the join needs them


def _recount_touched(db: Database, cur, fact: FactTable, series: SeriesTable) -> None:
    dims = series.dimension_columns
    touched = sa.table(TOUCHED, *[sa.column(c) for c in dims])
    t = series.table
    if dims:
        gone = sa.tuple_(*[t.c[c] for c in dims]).in_(sa.select(*[touched.c[c] for c in dims]))
        execute_compiled(cur, sa.delete(t).where(gone), db.dialect)
        f = fact.table
        join = touched.join(f, sa.and_(*[f.c[c] == touched.c[c] for c in dims]))
        _insert_aggregate(db, cur, fact, series, join)
    else:
        execute_compiled(cur, sa.delete(t), db.dialect)
        _insert_aggregate(db, cur, fact, series, fact.table)
    cur.execute(f"DROP TABLE {TOUCHED}")


# -- migration ------------------------------------------------------------------------------------


def migrate(db: Database) -> None:
    """Series tables for fact tables that have none (data loaded before they existed)."""
    from sqlmodel import Session, select

    with Session(db.engine) as session:
        rows = session.exec(select(FactTableRow)).all()
        facts = [(row.table_name, json.loads(row.layout)) for row in rows]
    inspector = sa.inspect(db.engine)
    existing = set(inspector.get_table_names())
    missing = [(name, layout) for name, layout in facts
               if series_table_name(name) not in existing and name in existing and _has_rows(db, name)]
    if not missing:
        # (an empty fact table may be in its first load, which makes the series table: a start
        # must not wait for that load's write lock)
        return
    conn = db.adbc_connect()
    try:
        with conn.cursor() as cur:
            for name, layout in missing:
                if name not in existing:
                    continue  # a fact table recorded but never created: nothing to count
                rebuild_from_layout(db, cur, name, layout)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


def _has_rows(db: Database, table: str) -> bool:
    with db.engine.connect() as conn:
        return conn.exec_driver_sql(f'SELECT 1 FROM "{table}" LIMIT 1').first() is not None


def rebuild(db: Database, cur, fact: FactTable) -> None:
    """The fact table's series table counted again from all of its rows."""
    _rebuild(db, cur, fact.name, SeriesTable.of(fact).dimension_columns)


def rebuild_from_layout(db: Database, cur, fact_name: str, layout: dict) -> None:
    """As `rebuild`, for a fact table known by its stored layout (FactTable.layout_json)."""
    _rebuild(db, cur, fact_name, tuple(column for _, column in layout["dimensions"]))


def _rebuild(db: Database, cur, fact_name: str, dims: tuple[str, ...]) -> None:
    series = SeriesTable(series_table_name(fact_name), dims)
    ensure(db, cur, series)
    f = sa.table(fact_name, *[sa.column(c) for c in (*dims, PERIOD_START, PERIOD_END)])
    cols = [f.c[c] for c in dims]
    select = sa.select(*cols, sa.func.count().label(OBS_COUNT), sa.func.min(f.c[PERIOD_START]),
                       sa.func.max(f.c[PERIOD_END])).select_from(f)
    select = select.group_by(*cols).having(sa.func.count() > 0)
    execute_compiled(cur, sa.delete(series.table), db.dialect)
    names = [*dims, OBS_COUNT, PERIOD_START, PERIOD_END]
    execute_compiled(cur, sa.insert(series.table).from_select(names, select), db.dialect)


# -- reading ------------------------------------------------------------------------------------


def all_series(db: Database, fact: FactTable, conn=None, region=None) -> pa.Table:
    """The whole series table: a column per dimension (by id), OBS_COUNT, PERIOD_START,
    PERIOD_END, in one chunk per column; `region` (DataQuery.region): only the series inside it."""
    t = SeriesTable.of(fact).table
    dims = fact.shape.dimension_ids
    statement = sa.select(*[t.c[fact.columns[d]].label(d) for d in dims], t.c[OBS_COUNT],
                          sa.func.coalesce(t.c[PERIOD_START], 0).label(PERIOD_START),
                          sa.func.coalesce(t.c[PERIOD_END], 0).label(PERIOD_END))
    if region is not None:
        statement = statement.where(region_condition(lambda d: t.c[fact.columns[d]], fact.shape, region))
    table = _fetch(db, statement, conn)
    if table.num_rows == 0:  # SQLite gives no types to an empty answer
        table = pa.table({**{d: pa.array([], pa.string()) for d in dims},
                          **{c: pa.array([], pa.int64()) for c in (OBS_COUNT, PERIOD_START, PERIOD_END)}})
    return table.combine_chunks()


def matching_observations(db: Database, fact: FactTable, where, conn=None) -> pa.Table:
    """The fact table's observations that meet `where` (a condition, see store/sql.py),
    counted per series: the same columns as `all_series`."""
    shape, f = fact.shape, fact.table
    dims = shape.dimension_ids
    statement = sa.select(
        *[fact.column(d).label(d) for d in dims], sa.func.count().label(OBS_COUNT),
        sa.func.coalesce(sa.func.min(f.c[PERIOD_START]), 0).label(PERIOD_START),
        sa.func.coalesce(sa.func.max(f.c[PERIOD_END]), 0).label(PERIOD_END),
    ).where(where)
    statement = statement.group_by(*[fact.column(d) for d in dims]).having(sa.func.count() > 0)
    return _fetch(db, statement, conn).combine_chunks()


def _fetch(db: Database, statement: sa.Select, conn=None) -> pa.Table:
    sql = str(statement.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
    own = conn is None
    conn = db.adbc_connect() if own else conn
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetch_arrow_table()
    finally:
        if own:
            conn.close()
