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

`updatedAfter=A` (availability.md, and v1.5 availableconstraint: "only include the dimension
values for the data that have changed since that point in time ... INSERT ... UPDATE ...
DELETE"): the same answer over the observations written or deleted after A instead of all of
them: the `changed` and `deleted` views of store/history_sql.py (current rows written after A;
the latest deletion after A of each key with no current row), through the same SQL builder,
counted per series and merged. The counts are those of the changed observations (a deletion
counts as one), the time range theirs. Neither spec defines `asOf` or `includeHistory` for
availability: they are a 400 that points to data queries.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import sqlalchemy as sa

from sdmx_server.errors import NoResults, SyntaxError_, Unprocessable
from sdmx_server.query.model import AvailabilityQuery, DataQuery, Region
from sdmx_server.registry.shape import DataShape
from sdmx_server.service import preview
from sdmx_server.service.data import DataPlan, DataState, resolve
from sdmx_server.store.history_sql import View, epoch_us
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
    #: dimension -> code -> observations the query would return with that code chosen on
    #: that dimension (mode available; asked for with `per_code`, as the portal does to say
    #: how much each choice holds); empty when not asked.
    per_code: dict[str, dict[str, int]] = field(default_factory=dict)


def plan_of(state: DataState, query: AvailabilityQuery, gate=None) -> DataPlan:
    """The dataflows the query reads (service/data.py `resolve`, as `gate`'s principal may read
    them: None the public), after refusing what availability does not define: the HTTP layer
    derives validators from it before answering."""
    data = query.data
    for name, given in (("asOf", data.as_of is not None), ("includeHistory", data.include_history)):
        if given:
            raise SyntaxError_(f"{name} is not a parameter of availability queries (availability.md and REST v1.5 "
                               f"availableconstraint define updatedAfter only): ask data queries for the data as "
                               f"of a time or for every version")
    return resolve(state, data, gate=gate)


def availability(state: DataState, query: AvailabilityQuery, plan: DataPlan | None = None,
                 reads_embargoed: Callable[[tuple[str, str, str]], bool] | None = None, *,
                 per_code: bool = False) -> list[FlowAvailability]:
    """One answer per matching dataflow that has matching data; NoResults when none has.
    Dataflows, structures and keys are resolved as for data (service/data.py `resolve`).
    `reads_embargoed` (the access gate's): a dataflow whose embargoed values the principal
    reads is counted as it will be after its pending loads (service/preview.py)."""
    plan = plan_of(state, query) if plan is None else plan
    registry = state.registry()
    found = []
    embargoed = {} if query.data.updated_after is not None else preview.previewed(state.db, plan.flows,
                                                                                   reads_embargoed)
    for planned in plan.sets:
        dataflow = registry.get("dataflow", *planned.flow)
        answer = (_one(state, query, planned, dataflow, planned.flow in embargoed, per_code)
                  if dataflow is not None else None)
        if answer is not None:
            found.append(answer)
    if not found:
        raise NoResults("no data match the query" if query.data.updated_after is None
                        else "no data matching the query changed after updatedAfter")
    return found


def _one(state: DataState, query: AvailabilityQuery, planned, dataflow, embargoed: bool = False,
         per_code: bool = False) -> FlowAvailability | None:
    shape, fact, data = planned.shape, planned.fact, planned.query
    time_id = shape.time.id if shape.time is not None else None
    if query.component is not None and query.component not in (*shape.dimension_ids, time_id):
        wrong = Unprocessable if data.api == "v2" else SyntaxError_
        raise wrong(f"componentID {query.component}: {shape.dsd_ref} has no such dimension "
                    f"({', '.join((*shape.dimension_ids, *([time_id] if time_id else [])))})")
    relax = query.mode == "available"
    dims = shape.dimension_ids
    if data.updated_after is not None:
        rows = changed_series(state.db, fact, data, relax)
        if rows.num_rows == 0:
            return None
    elif embargoed:
        rows = preview.series_counts(state, planned, lambda overlay: _where(overlay, data, relax))
        if rows.num_rows == 0:
            return None
    elif _needs_observations(shape, data):
        rows = matching_observations(state.db, fact, _where(fact, data, relax))
        if rows.num_rows == 0:
            return None
    else:
        # The series table, cut in SQL to the part the asker may read (DataQuery.region).
        rows = SERIES.get(state.db, fact, planned.flow, data.region)
    keys, filters = dimension_masks(shape, data, rows)
    matched = rows.filter(_meets(rows, keys, filters, None))
    if matched.num_rows == 0:
        return None
    answered = dims if query.component is None else tuple(d for d in dims if d == query.component)
    codes = {}
    counts: dict[str, dict[str, int]] = {}
    for d in answered:
        among = rows.filter(_meets(rows, keys, filters, d)) if relax else matched
        codes[d] = sorted(pc.unique(among.column(d)).to_pylist())
        if per_code:
            summed = among.group_by(d).aggregate([(OBS_COUNT, "sum")])
            counts[d] = dict(zip(summed.column(d).to_pylist(), summed.column(f"{OBS_COUNT}_sum").to_pylist()))
    time_range = None
    if time_id is not None and query.component in (None, time_id):
        start, end = pc.min(matched.column(PERIOD_START)).as_py(), pc.max(matched.column(PERIOD_END)).as_py()
        if start is not None and end is not None:
            time_range = (int(start), int(end))
    obs = pc.sum(matched.column(OBS_COUNT)).as_py() or 0
    return FlowAvailability(planned.flow, dataflow, shape, codes, time_range, int(obs), matched.num_rows, counts)


def changed_series(db, fact: FactTable, data: DataQuery, relax: bool) -> pa.Table:
    """The observations written or deleted after `data.updated_after` that meet the query
    (relaxed: see `_where`), counted per series: the columns of store.series.all_series. The
    two views never hold one key twice (a deleted key written again is a current row), so
    their counts add up."""
    after = epoch_us(data.updated_after)
    dims = list(fact.shape.dimension_ids)
    parts = []
    for kind in ("changed", "deleted"):
        view = View(fact, kind, after=after)
        part = matching_observations(db, view, _where(view, data, relax))
        if part.num_rows:  # SQLite types no column of an empty answer: such a part cannot join
            parts.append(part.select([*dims, OBS_COUNT, PERIOD_START, PERIOD_END]))
    if not parts:
        return pa.table({**{d: pa.array([], pa.string()) for d in dims},
                         **{c: pa.array([], pa.int64()) for c in (OBS_COUNT, PERIOD_START, PERIOD_END)}})
    if len(parts) == 1:
        return parts[0]
    both = pa.concat_tables([parts[0], parts[1].cast(parts[0].schema)])
    merged = both.group_by(dims).aggregate([(OBS_COUNT, "sum"), (PERIOD_START, "min"), (PERIOD_END, "max")])
    return pa.table({**{d: merged.column(d) for d in dims}, OBS_COUNT: merged.column(f"{OBS_COUNT}_sum"),
                     PERIOD_START: merged.column(f"{PERIOD_START}_min"),
                     PERIOD_END: merged.column(f"{PERIOD_END}_max")}).combine_chunks()


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

    def get(self, db, fact: FactTable, flow: tuple[str, str, str], region: Region | None = None) -> pa.Table:
        """The series of the dataflow; `region`: only those inside these cube regions (kept
        apart from the whole table: what one principal may read never answers another)."""
        key = f"{db.url}|{fact.name}|{','.join(fact.shape.dimension_ids)}|{region!r}"
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
            rows = all_series(db, fact, conn, region)
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

