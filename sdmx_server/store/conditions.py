"""SQL conditions of a DataQuery's selections, one per dimension and one per other component.

Availability needs the selections apart (mode `available` leaves out one dimension's at a
time), so they are built here per component, on any table that has the fact table's column
names (the fact table itself, or its series table).

(Interim: the data query's one module that turns a query into SQL, store/sql.py, is being
written on another branch; once it is merged, these conditions come from its `where`.)
"""

from __future__ import annotations

from typing import Callable

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles

from sdmx_server.errors import SyntaxError_
from sdmx_server.query.model import ComponentFilter, Condition, DataQuery
from sdmx_server.query.periods import PeriodError, epoch_us, parse_query_period
from sdmx_server.registry.shape import DataShape
from sdmx_server.store.tables import PERIOD_END, PERIOD_START

Column = Callable[[str], sa.ColumnElement]


def key_atoms(shape: DataShape, query: DataQuery, column: Column) -> list[dict[str, sa.ColumnElement]]:
    """Per key of the query (keys are alternatives), the condition of each dimension it
    restricts; [] when the query has no keys (every series)."""
    if query.keys is None:
        return []
    out = []
    for key in query.keys:
        parts = {}
        for dimension, codes in zip(shape.dimension_ids, key):
            if codes is not None:
                parts[dimension] = column(dimension).in_(sorted(set(codes)))
        out.append(parts)
    return out


def dimension_filters(shape: DataShape, query: DataQuery, column: Column) -> dict[str, sa.ColumnElement]:
    """c[DIM] filters on the dimensions (the time dimension excluded)."""
    dims = set(shape.dimension_ids)
    return {f.component: _filter(f, column(f.component), text=True)
            for f in query.filters if f.component in dims}


def observation_conditions(shape: DataShape, query: DataQuery, fact_column: Column, table) -> list:
    """Conditions only the fact table can answer: the time range (startPeriod/endPeriod,
    c[TIME_PERIOD]) and filters on attributes and the measure."""
    out = []
    if query.start is not None:
        out.append(table.c[PERIOD_START] >= epoch_us(query.start.start))
    if query.end is not None:
        out.append(table.c[PERIOD_END] <= epoch_us(query.end.end))
    time_id = shape.time.id if shape.time is not None else None
    for f in query.filters:
        if f.component == time_id:
            out.append(_time_filter(f, table))
        elif f.component not in shape.dimension_ids:
            component = shape.component(f.component)
            numeric = component is not None and component.role == "measure" and component.numeric
            out.append(_filter(f, fact_column(f.component), text=not numeric))
    return out


def needs_observations(shape: DataShape, query: DataQuery) -> bool:
    return (query.start is not None or query.end is not None
            or any(f.component not in shape.dimension_ids for f in query.filters))


def _filter(f: ComponentFilter, column, text: bool):
    return sa.or_(*[sa.and_(*[_condition(c, column, text) for c in alternative]) for alternative in f.alternatives])


def _condition(c: Condition, column, text: bool):
    value: object = c.value
    if not text:
        try:
            value = float(c.value)
        except ValueError:
            if c.operator in ("lt", "le", "gt", "ge", "eq", "ne"):
                raise SyntaxError_(f"{c.value!r} is not a number") from None
    op = c.operator
    if op == "eq":
        return column == value
    if op == "ne":
        return sa.or_(column != value, column.is_(None))
    if op == "lt":
        return column < value
    if op == "le":
        return column <= value
    if op == "gt":
        return column > value
    if op == "ge":
        return column >= value
    text_column = column if text else sa.cast(column, sa.Text)
    # Case-sensitive on both databases (SQLite's LIKE is not): position and substrings.
    if op in ("co", "nc"):
        found = _position(text_column, c.value) > 0
        return found if op == "co" else sa.or_(sa.not_(found), column.is_(None))
    n = len(c.value)
    if op == "sw":
        return sa.func.substr(text_column, 1, n) == c.value
    if op == "ew":
        return sa.and_(sa.func.length(text_column) >= n,
                       sa.func.substr(text_column, sa.func.length(text_column) - n + 1, n) == c.value)
    raise SyntaxError_(f"unknown operator {op!r}")


class _position(sa.sql.functions.GenericFunction):
    """Where a substring starts (1-based, 0 when absent): instr on SQLite, strpos on PostgreSQL."""

    type = sa.Integer()
    inherit_cache = True
    name = "instr"


@compiles(_position, "postgresql")
def _position_pg(element, compiler, **kw):
    return f"strpos({compiler.process(element.clauses, **kw)})"


def _time_filter(f: ComponentFilter, table):
    start, end = table.c[PERIOD_START], table.c[PERIOD_END]

    def bound(c: Condition):
        try:
            period = parse_query_period(c.value)
        except PeriodError as exc:
            raise SyntaxError_(f"c[{f.component}]: {exc}") from None
        lo, hi = epoch_us(period.start), epoch_us(period.end)
        return {
            "ge": start >= lo, "gt": start >= hi, "le": end <= hi, "lt": end <= lo,
            "eq": sa.and_(start >= lo, end <= hi), "ne": sa.or_(start >= hi, end <= lo),
        }.get(c.operator)

    alternatives = []
    for alternative in f.alternatives:
        parts = [bound(c) for c in alternative]
        if any(p is None for p in parts):
            raise SyntaxError_(f"c[{f.component}]: periods take eq, ne, lt, le, gt and ge")
        alternatives.append(sa.and_(*parts))
    return sa.or_(*alternatives)


def dimensions_where(shape: DataShape, query: DataQuery, column: Column, relax: bool):
    """The selections on dimensions as one SQL condition; relaxed: the rows that meet all of
    them but (at most) one dimension's (what mode `available` starts from)."""
    keys = key_atoms(shape, query, column)
    filters = dimension_filters(shape, query, column)

    def without(skip: str | None):
        parts = []
        if keys:
            parts.append(sa.or_(*[sa.and_(sa.true(), *[c for d, c in key.items() if d != skip]) for key in keys]))
        parts += [c for d, c in filters.items() if d != skip]
        return sa.and_(sa.true(), *parts)

    if not relax:
        return without(None)
    restricted = [d for d in shape.dimension_ids if d in filters or any(d in key for key in keys)]
    if not restricted:
        return sa.true()
    return sa.or_(*[without(d) for d in restricted])


# -- the same selections on Arrow columns (rows of the series table) ---------------------------------


def arrow_masks(shape: DataShape, query: DataQuery, rows: pa.Table):
    """(per key, {dimension: mask}), {dimension: mask of its c[] filter}) for rows with a
    column per dimension, by id. Byte-wise comparisons, as the store's collation."""
    keys = []
    for key in query.keys or ():
        parts = {}
        for dimension, codes in zip(shape.dimension_ids, key):
            if codes is not None:
                parts[dimension] = pc.is_in(rows.column(dimension), value_set=pa.array(sorted(set(codes)), pa.string()))
        keys.append(parts)
    filters = {}
    dims = set(shape.dimension_ids)
    for f in query.filters:
        if f.component in dims:
            column = rows.column(f.component)
            mask = None
            for alternative in f.alternatives:
                every = None
                for c in alternative:
                    one = _arrow_condition(c, column)
                    every = one if every is None else pc.and_(every, one)
                mask = every if mask is None else pc.or_(mask, every)
            filters[f.component] = mask
    return keys, filters


def _arrow_condition(c: Condition, column):
    op, v = c.operator, c.value
    if op in ("eq", "ne", "lt", "le", "gt", "ge"):
        fn = {"eq": pc.equal, "ne": pc.not_equal, "lt": pc.less, "le": pc.less_equal, "gt": pc.greater,
              "ge": pc.greater_equal}[op]
        return fn(column, pa.scalar(v, pa.string()))
    if op in ("co", "nc"):
        found = pc.match_substring(column, v)
        return found if op == "co" else pc.invert(found)
    if op == "sw":
        return pc.starts_with(column, v)
    if op == "ew":
        return pc.ends_with(column, v)
    raise SyntaxError_(f"unknown operator {op!r}")
