"""Availability: which codes the data hold (mode exact), or which codes a user may still add
to a query (mode available), computed from the data as they are now.

The series table of each dataflow (store/series.py), kept exact by every load, answers
selections on dimensions without touching the observations: it is held as Arrow and used again
while the dataflow's data stamp (its applied loads) is unchanged, read before every answer.
Selections on time, attributes or the measure are counted from the fact table, grouped by
series (store.series.matching_observations). Either way there is one row per series; the
selections on dimensions, the codes per dimension, the observation and series counts and the
time range are taken from those rows with Arrow kernels.

- exact: per dimension, the codes of the series that match every selection;
- available: per dimension D, the codes of the series that match every selection on the
  other dimensions (and on time, attributes and measure): the values D can still take so that
  the query returns data. Several keys are alternatives: D's codes are those of the series
  that match some key on every dimension but D.
The counts and the time range are always those of the data the query itself would return.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import sqlalchemy as sa

from sdmx_server.errors import NoResults, NotImplemented_, SyntaxError_, Unprocessable
from sdmx_server.query.model import AvailabilityQuery, DataQuery
from sdmx_server.registry.shape import DataShape
from sdmx_server.service.data import DataState, resolve
from sdmx_server.store.series import OBS_COUNT, all_series, matching_observations
from sdmx_server.store.versions import stamp_of
from sdmx_server.store.sql import where
from sdmx_server.store.tables import PERIOD_END, PERIOD_START, FactTable


@dataclass(frozen=True)
class FlowAvailability:
    """What one dataflow's data hold for the query."""

    flow: tuple[str, str, str]
    dataflow: Any  # the sdmx.model dataflow
    shape: DataShape
    #: dimension id -> codes, sorted; only the dimensions answered (componentID: one).
    codes: dict[str, list[str]]
    #: (first period start, last period end), epoch microseconds, end exclusive; None when the
    #: time dimension is not answered or there is none.
    time_range: tuple[int, int] | None
    obs_count: int
    series_count: int


def availability(state: DataState, query: AvailabilityQuery) -> list[FlowAvailability]:
    """One answer per matching dataflow that has matching data; NoResults when none has.
    Dataflows, structures and keys are resolved as for data (service/data.py `resolve`)."""
    data = query.data
    if data.updated_after is not None or data.include_history or data.as_of is not None:
        raise NotImplemented_("availability answers the data as they are now: updatedAfter, includeHistory and asOf "
                              "are answered by data queries")
    plan = resolve(state, data)
    registry = state.registry()
    found = []
    for planned in plan.sets:
        dataflow = registry.get("dataflow", *planned.flow)
        answer = _one(state, query, planned, dataflow) if dataflow is not None else None
        if answer is not None:
            found.append(answer)
    if not found:
        raise NoResults("no data match the query")
    return found


def _one(state: DataState, query: AvailabilityQuery, planned, dataflow) -> FlowAvailability | None:
    shape, fact, data = planned.shape, planned.fact, planned.query
    time_id = shape.time.id if shape.time is not None else None
    if query.component is not None and query.component not in (*shape.dimension_ids, time_id):
        wrong = Unprocessable if data.api == "v2" else SyntaxError_
        raise wrong(f"componentID {query.component}: {shape.dsd_ref} has no such dimension "
                    f"({', '.join((*shape.dimension_ids, *([time_id] if time_id else [])))})")
    relax = query.mode == "available"
    dims = shape.dimension_ids
    if _needs_observations(shape, data):
        rows = matching_observations(state.db, fact, _where(fact, data, relax))
        if rows.num_rows == 0:
            return None
    else:
        rows = SERIES.get(state.db, fact, planned.flow)
    keys, filters = dimension_masks(shape, data, rows)
    matched = rows.filter(_meets(rows, keys, filters, None))
    if matched.num_rows == 0:
        return None
    answered = dims if query.component is None else tuple(d for d in dims if d == query.component)
    codes = {}
    for d in answered:
        column = rows.column(d).filter(_meets(rows, keys, filters, d)) if relax else matched.column(d)
        codes[d] = sorted(pc.unique(column).to_pylist())
    time_range = None
    if time_id is not None and query.component in (None, time_id):
        start, end = pc.min(matched.column(PERIOD_START)).as_py(), pc.max(matched.column(PERIOD_END)).as_py()
        if start is not None and end is not None:
            time_range = (int(start), int(end))
    obs = pc.sum(matched.column(OBS_COUNT)).as_py() or 0
    return FlowAvailability(planned.flow, dataflow, shape, codes, time_range, int(obs), matched.num_rows)


def _needs_observations(shape: DataShape, data: DataQuery) -> bool:
    """Whether the query selects on what only observations have (time, attributes, measure)."""
    return (data.start is not None or data.end is not None
            or any(f.component not in shape.dimension_ids for f in data.filters))


def _without(data: DataQuery, dimension: str, dims: tuple[str, ...]) -> DataQuery:
    """The query with no selection on one dimension."""
    i = dims.index(dimension)
    keys = None if data.keys is None else tuple(k[:i] + (None,) + k[i + 1:] for k in data.keys)
    return replace(data, keys=keys, filters=tuple(f for f in data.filters if f.component != dimension))


def _where(fact: FactTable, data: DataQuery, relax: bool):
    """The fact rows of the query (store/sql.py `where`); relaxed: those that meet every
    selection but (at most) one dimension's."""
    if not relax:
        return sa.and_(sa.true(), *where(fact, data))
    dims = fact.shape.dimension_ids
    restricted = [d for d in dims if any(f.component == d for f in data.filters)
                  or any(k[dims.index(d)] is not None for k in data.keys or ())]
    if not restricted:
        return sa.and_(sa.true(), *where(fact, data))
    return sa.or_(*[sa.and_(sa.true(), *where(fact, _without(data, d, dims))) for d in restricted])


def dimension_masks(shape: DataShape, data: DataQuery, rows: pa.Table):
    """The query's selections on dimensions, on rows with a column per dimension (by id):
    (per key, {dimension: mask}), {dimension: mask of its c[] filter}. The same rules as
    store/sql.py's SQL: text in byte order, numbers as numbers, case-sensitive matches."""
    keys = []
    for key in data.keys or ():
        keys.append({d: pc.is_in(rows.column(d), value_set=pa.array(sorted(set(codes)), pa.string()))
                     for d, codes in zip(shape.dimension_ids, key) if codes is not None})
    filters = {}
    for f in data.filters:
        if f.component not in shape.dimension_ids:
            continue
        component = shape.component(f.component)
        column = rows.column(f.component)
        mask = None
        for alternative in f.alternatives:
            every = None
            for c in alternative:
                one = _arrow_condition(c.operator, c.value, column, component.numeric)
                every = one if every is None else pc.and_(every, one)
            mask = every if mask is None else pc.or_(mask, every)
        filters[f.component] = mask
    return keys, filters


_COMPARE = {"eq": pc.equal, "ne": pc.not_equal, "lt": pc.less, "le": pc.less_equal, "gt": pc.greater,
            "ge": pc.greater_equal}


def _arrow_condition(op: str, value: str, column, numeric: bool):
    if op in _COMPARE:
        if numeric:
            return pc.fill_null(_COMPARE[op](pc.cast(column, pa.float64(), safe=False), float(value)), False)
        return _COMPARE[op](column, pa.scalar(value, pa.string()))
    if op in ("co", "nc"):
        found = pc.match_substring(column, value)
        return found if op == "co" else pc.invert(found)
    if op == "sw":
        return pc.starts_with(column, value)
    return pc.ends_with(column, value)


def _meets(rows: pa.Table, keys: list[dict], filters: dict, skip: str | None) -> pa.Array:
    """Rows that meet every dimension selection but `skip`'s (None: every one): some key on
    every other dimension, and every other dimension's filter."""
    everything = pa.array(np.ones(rows.num_rows, dtype=bool))
    mask = everything
    if keys:
        some = None
        for key in keys:
            every = everything
            for d, m in key.items():
                if d != skip:
                    every = pc.and_(every, m)
            some = every if some is None else pc.or_(some, every)
        mask = some
    for d, m in filters.items():
        if d != skip:
            mask = pc.and_(mask, m)
    return mask


class SeriesCache:
    """Series tables held as Arrow, each with the data stamp it was read at; every use first
    reads the dataflow's data stamp (store/versions.py, one indexed row), so an answer never comes from data a load changed
    since: reading twenty thousand series through ADBC takes longer than answering."""

    def __init__(self, size: int = 16):
        self.size = size
        self._held: OrderedDict[str, tuple[str | None, pa.Table]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, db, fact: FactTable, flow: tuple[str, str, str]) -> pa.Table:
        key = f"{db.url}|{fact.name}|{','.join(fact.shape.dimension_ids)}"
        # The stamp goes through SQLAlchemy's pool; on PostgreSQL ADBC connects only when the
        # rows must be read (opening it takes longer than a whole answer), on SQLite at once.
        conn = db.adbc_connect() if db.is_sqlite else None
        try:
            stamp = stamp_of(db, flow)  # before the rows: never newer
            with self._lock:
                held = self._held.get(key)
                if held is not None and held[0] == stamp:
                    self._held.move_to_end(key)
                    return held[1]
            rows = all_series(db, fact, conn)
        finally:
            if conn is not None:
                conn.rollback()  # a read: nothing to keep, and no snapshot held open
                conn.close()
        with self._lock:
            self._held[key] = (stamp, rows)
            self._held.move_to_end(key)
            while len(self._held) > self.size:
                self._held.popitem(last=False)
        return rows


SERIES = SeriesCache()

