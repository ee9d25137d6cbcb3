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
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sdmx_server.errors import NoResults, NotImplemented_, SyntaxError_, Unprocessable
from sdmx_server.query.keys import fit_key
from sdmx_server.query.model import AvailabilityQuery, DataQuery
from sdmx_server.registry.index import artefact_key
from sdmx_server.registry.shape import DataShape
from sdmx_server.store import conditions as cond
from sdmx_server.store.series import OBS_COUNT, all_series, data_stamp, matching_observations
from sdmx_server.store.tables import PERIOD_END, PERIOD_START, FactTable


class State(Protocol):
    """What availability needs of the server (api.state.ServerState has it)."""

    db: Any
    settings: Any

    def registry(self): ...

    def shape(self, dsd) -> DataShape: ...

    def fact_table(self, flow: tuple[str, str, str], shape: DataShape) -> FactTable | None: ...


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


def availability(state: State, query: AvailabilityQuery) -> list[FlowAvailability]:
    """One answer per matching dataflow that has matching data; NoResults when none has."""
    data = query.data
    if data.updated_after is not None or data.include_history or data.as_of is not None:
        raise NotImplemented_("updatedAfter, includeHistory and asOf come with data revisions")
    if data.providers is not None:
        raise NotImplemented_("data providers are not modelled yet: ask for every provider")
    if data.context not in ("dataflow", "*"):
        raise NotImplemented_(f"availability of a {data.context} is not built yet: ask by dataflow")
    registry = state.registry()
    flows = registry.select("dataflow", data.agencies, data.ids, data.versions)
    if not flows:
        raise NoResults(f"no dataflow {_wanted(data)}")
    found = []
    for dataflow in flows:
        if dataflow.structure is None or not registry.contains(dataflow.structure, "datastructure"):
            continue
        answer = _one(state, query, dataflow)
        if answer is not None:
            found.append(answer)
    if not found:
        raise NoResults(f"no data of dataflow {_wanted(data)} match the query")
    return found


def _wanted(data: DataQuery) -> str:
    return f"{'+'.join(data.agencies or ('*',))}:{'+'.join(data.ids or ('*',))}({data.versions})"


def _one(state: State, query: AvailabilityQuery, dataflow) -> FlowAvailability | None:
    shape = state.shape(dataflow.structure)
    data = _fitted(query.data, shape)
    wrong = Unprocessable if data.api == "v2" else SyntaxError_
    time_id = shape.time.id if shape.time is not None else None
    if query.component is not None and query.component not in (*shape.dimension_ids, time_id):
        raise wrong(f"{query.component} is not a dimension of {shape.dsd_ref}")
    for f in data.filters:
        if shape.component(f.component) is None:
            raise wrong(f"c[{f.component}]: {shape.dsd_ref} has no such component")
    flow = artefact_key(dataflow)
    fact = state.fact_table(flow, shape)
    if fact is None:
        return None
    relax = query.mode == "available"
    if cond.needs_observations(shape, data):
        where = cond.dimensions_where(shape, data, fact.column, relax)
        rows = matching_observations(state.db, fact, data, where)
        if rows.num_rows == 0:
            return None
    else:
        rows = SERIES.get(state.db, fact, flow)
    dims = shape.dimension_ids
    keys, filters = cond.arrow_masks(shape, data, rows)
    matched = rows.filter(_meets(rows, dims, keys, filters, None))
    if matched.num_rows == 0:
        return None
    answered = dims if query.component is None else tuple(d for d in dims if d == query.component)
    codes = {}
    for d in answered:
        column = rows.column(d).filter(_meets(rows, dims, keys, filters, d)) if relax else matched.column(d)
        codes[d] = sorted(pc.unique(column).to_pylist())
    time_range = None
    if time_id is not None and query.component in (None, time_id):
        start, end = pc.min(matched.column(PERIOD_START)).as_py(), pc.max(matched.column(PERIOD_END)).as_py()
        if start is not None and end is not None:
            time_range = (int(start), int(end))
    obs = pc.sum(matched.column(OBS_COUNT)).as_py() or 0
    return FlowAvailability(flow, dataflow, shape, codes, time_range, int(obs), matched.num_rows)


def _meets(rows: pa.Table, dims, keys: list[dict], filters: dict, skip: str | None) -> pa.Array:
    """Rows that meet every dimension selection but `skip`'s (None: every one): some key on
    every other dimension, and every other dimension's filter."""
    mask = pa.array(np.ones(rows.num_rows, dtype=bool))
    if keys:
        some = None
        for key in keys:
            every = pa.array(np.ones(rows.num_rows, dtype=bool))
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
    reads the stamp (one indexed count), so an answer never comes from data a load changed
    since: reading twenty thousand series through ADBC takes longer than answering."""

    def __init__(self, size: int = 16):
        self.size = size
        self._held: OrderedDict[str, tuple[tuple[int, int], pa.Table]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, db, fact: FactTable, flow: tuple[str, str, str]) -> pa.Table:
        key = f"{db.url}|{fact.name}|{','.join(fact.shape.dimension_ids)}"
        conn = db.adbc_connect()
        try:
            stamp = data_stamp(db, f"{flow[0]}:{flow[1]}({flow[2]})", conn)  # before the rows: never newer
            with self._lock:
                held = self._held.get(key)
                if held is not None and held[0] == stamp:
                    self._held.move_to_end(key)
                    return held[1]
            rows = all_series(db, fact, conn)
        finally:
            conn.rollback()  # a read: nothing to keep, and no snapshot held open
            conn.close()
        with self._lock:
            self._held[key] = (stamp, rows)
            self._held.move_to_end(key)
            while len(self._held) > self.size:
                self._held.popitem(last=False)
        return rows


SERIES = SeriesCache()


def _fitted(data: DataQuery, shape: DataShape) -> DataQuery:
    if data.keys is None:
        return data
    keys = tuple(fit_key(k, shape.dimension_ids) for k in data.keys)
    return replace(data, keys=None if any(k is None for k in keys) else keys)
