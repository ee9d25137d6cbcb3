"""Availability: which codes the data hold (mode exact), or which codes a user may still add
to a query (mode available), computed from the data as they are now.

The series table of each dataflow (store/series.py), kept exact by every load, answers
selections on dimensions without touching the observations; selections on time, attributes or
the measure are counted from the fact table, grouped by series (store.series.matching_series).
What comes back is one row per matching series; the codes per dimension, the observation and
series counts and the time range are taken from those rows with Arrow kernels.

- exact: per dimension, the codes of the series that match every selection;
- available: per dimension D, the codes of the series that match every selection on the
  other dimensions (and on time, attributes and measure): the values D can still take so that
  the query returns data. Several keys are alternatives: D's codes are those of the series
  that match some key on every dimension but D.
The counts and the time range are always those of the data the query itself would return.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from sdmx_server.errors import NoResults, NotImplemented_, SyntaxError_, Unprocessable
from sdmx_server.query.keys import fit_key
from sdmx_server.query.model import AvailabilityQuery, DataQuery
from sdmx_server.registry.index import artefact_key
from sdmx_server.registry.shape import DataShape
from sdmx_server.store.series import FILTER_FLAG, KEY_FLAG, OBS_COUNT, matching_series
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
    rows = matching_series(state.db, fact, data, relax)
    dims = shape.dimension_ids
    n_keys = len(data.keys) if data.keys is not None else 0
    exact = _all_flags(rows, dims, None, n_keys) if relax else None
    matched = rows.filter(exact) if exact is not None else rows
    if matched.num_rows == 0:
        return None
    answered = dims if query.component is None else tuple(d for d in dims if d == query.component)
    codes = {}
    for d in answered:
        column = rows.column(d) if relax else matched.column(d)
        if relax:
            column = column.filter(_all_flags(rows, dims, d, n_keys))
        codes[d] = sorted(pc.unique(column).to_pylist())
    time_range = None
    if time_id is not None and query.component in (None, time_id):
        start, end = pc.min(matched.column(PERIOD_START)).as_py(), pc.max(matched.column(PERIOD_END)).as_py()
        if start is not None and end is not None:
            time_range = (int(start), int(end))
    obs = pc.sum(matched.column(OBS_COUNT)).as_py() or 0
    return FlowAvailability(flow, dataflow, shape, codes, time_range, int(obs), matched.num_rows)


def _fitted(data: DataQuery, shape: DataShape) -> DataQuery:
    if data.keys is None:
        return data
    keys = tuple(fit_key(k, shape.dimension_ids) for k in data.keys)
    return replace(data, keys=None if any(k is None for k in keys) else keys)


def _all_flags(rows: pa.Table, dims: tuple[str, ...], skip: str | None, keys: int) -> pa.Array:
    """Rows that meet every dimension selection but `skip`'s (None: every one): some key on
    every other dimension, and every other dimension's filter. `keys`: how many keys the query
    has (0: none, every series)."""
    names = set(rows.column_names)
    true = pa.array([True] * rows.num_rows, pa.bool_())

    def flag(name: str):
        return pc.equal(rows.column(name), 1)

    mask = true
    if keys:
        mask = None
        for k in range(keys):
            one = true
            for d in dims:
                name = KEY_FLAG.format(key=k, dim=d)
                if d != skip and name in names:
                    one = pc.and_(one, flag(name))
            mask = one if mask is None else pc.or_(mask, one)
    for d in dims:
        name = FILTER_FLAG.format(dim=d)
        if d != skip and name in names:
            mask = pc.and_(mask, flag(name))
    return mask
