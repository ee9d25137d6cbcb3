"""The data service: a DataQuery in, a DataMessage out, for REST v1 and v2, the portal and reports.

Two steps, so that the HTTP layer can answer conditional requests before any data is read:

- `resolve(state, query)` matches the structure usages the query names (context, agencies,
  ids, version query), and gives each its shape, layout and fact table: a `DataPlan`. No
  observation is read; what a client got wrong is raised here (NoResults 404, SyntaxError_
  400, Unprocessable 422, NotImplemented_ 501).
- `execute(state, plan)` checks the layout against the data (fault 7: an attribute the layout
  writes once per data set or series must hold one value there, else it is written on each
  observation), starts the SELECTs and raises NoResults before the first byte when nothing
  matches. The message holds one data set per matching dataflow.

Data live per dataflow (one fact table each, store/tables.py): a `datastructure` context gives
one data set per dataflow of the matching DSDs; a `provisionagreement` context is a 501 until
provision agreements hold data of their own. Queries of the past (asOf, updatedAfter,
includeHistory) are planned alike and executed by service/history.py.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Protocol

import sqlalchemy as sa

from sdmx_server.access.gate import Gate, as_region, public_gate
from sdmx_server.access.rules import EVERYWHERE, Allowance
from sdmx_server.errors import NoResults, NotImplemented_, SyntaxError_, Unprocessable
from sdmx_server.formats.data_message import DataMessage, DataSetPart, Labels
from sdmx_server.formats.ml21 import Header
from sdmx_server.query.layout import DataLayout
from sdmx_server.query.model import DataQuery, Key
from sdmx_server.registry.index import artefact_key
from sdmx_server.registry.shape import DataShape
from sdmx_server.service import history, preview
from sdmx_server.service.labels import labels_for
from sdmx_server.settings import Settings
from sdmx_server.store.database import Database
from sdmx_server.store.versions import stamp_of
from sdmx_server.store.select import select_batches
from sdmx_server.store.sql import build_select, several_values, where
from sdmx_server.store.tables import FactTable

Flow = tuple[str, str, str]


class DataState(Protocol):
    """What the data service needs of a server process (api.state.ServerState has it)."""

    settings: Settings
    db: Database

    def registry(self) -> Any: ...  # registry.index.Registry

    def shape(self, dsd: Any) -> DataShape: ...

    def fact_table(self, flow: Flow, shape: DataShape) -> FactTable | None: ...


@dataclass(frozen=True)
class PlannedSet:
    """One data set to come: a dataflow with data, its shape, layout, table and the query as it
    applies to this structure (keys fitted to its dimensions)."""

    flow: Flow
    dsd: Flow
    shape: DataShape
    layout: DataLayout
    fact: FactTable
    query: DataQuery
    labels: Labels | None = field(default=None, compare=False, repr=False)
    #: The asker's read allowance on this dataflow (access/rules.py), already in `query.region`.
    read: Allowance = field(default=EVERYWHERE, compare=False)
    #: Whether the dataflow is public (its answers may be kept by shared caches).
    public: bool = True


@dataclass(frozen=True)
class DataPlan:
    query: DataQuery
    sets: tuple[PlannedSet, ...]
    #: The asker's gate (access/gate.py), for what the execution asks of it (embargoed values).
    gate: Any = field(default=None, compare=False, repr=False)

    @property
    def regions(self) -> dict[Flow, str]:
        """Per dataflow read within cube regions only, the allowance's fingerprint: what
        validators and kept answers are keyed by (api/conditional.py)."""
        return {s.flow: s.read.fingerprint for s in self.sets if not s.read.whole}

    @property
    def private(self) -> bool:
        """Whether the answer is for this asker only (a non-public dataflow, or a part of one)."""
        return any(not s.public or not s.read.whole for s in self.sets)

    @property
    def flows(self) -> tuple[Flow, ...]:
        """(agency, id, version) of each data set: with `structures`, what the HTTP layer
        derives validators (ETag, Last-Modified) from."""
        return tuple(s.flow for s in self.sets)

    @property
    def structures(self) -> tuple[Flow, ...]:
        return tuple(dict.fromkeys(s.dsd for s in self.sets))


# -- resolve -------------------------------------------------------------------------------------


def resolve(state: DataState, query: DataQuery, *, time_series: bool = False, labels: bool = False,
            gate: Gate | None = None) -> DataPlan:
    """The plan for a query; `time_series`: the writer puts the time dimension at the
    observation level; `labels`: the writer shows names (DataSetPart.labels is filled);
    `gate`: the asker's (None: the anonymous public's): dataflows it may not read are not
    found, exactly as dataflows that do not exist, and those it may read in part are read in
    that part only (DataQuery.region, a condition of the SQL)."""
    history.check(query)
    if query.providers is not None:
        raise NotImplemented_("data providers are not modelled yet: use providerRef 'all' (v1) or no provider")
    if query.context == "provisionagreement":
        raise NotImplemented_(
            "data are stored per dataflow: provision agreements hold no data of their own yet; "
            "ask /data/dataflow/{agencyID}/{resourceID}/{version} for the dataflow's data"
        )
    # The gate's registry: the one its view was made of, even if a newer one came meanwhile.
    registry = gate.registry if gate is not None else state.registry()
    gate = gate if gate is not None else public_gate(registry)
    flows = _matching_flows(registry, query, gate.view)
    wanted = (f"{query.context} {'+'.join(query.agencies or ('*',))}:{'+'.join(query.ids or ('*',))}"
              f"({query.versions})")
    if not flows:
        raise NoResults(f"{wanted} not found")
    if query.api == "v1" and len({(artefact_key(f)[0], artefact_key(f)[1]) for f in flows}) > 1:
        agencies = ", ".join(sorted({artefact_key(f)[0] for f in flows}))
        raise SyntaxError_(f"dataflow {wanted} exists for several agencies ({agencies}); name the agency")
    sets: list[PlannedSet] = []
    refusals: list[Exception] = []
    for dataflow in flows:
        flow = artefact_key(dataflow)
        if dataflow.structure is None or not registry.contains(dataflow.structure, "datastructure"):
            refusals.append(NoResults(f"dataflow {_ref(flow)} has no data structure definition"))
            continue
        shape = state.shape(dataflow.structure)
        try:
            planned = _plan(state, registry, dataflow, flow, shape, _within(query, gate.read(flow)), time_series,
                            labels)
        except (SyntaxError_, Unprocessable, NoResults) as exc:
            if len(flows) == 1:
                raise
            refusals.append(exc)  # a structure the query does not fit: the others still answer
            continue
        if planned is not None:
            entry = registry.entry("dataflow", *flow)
            sets.append(replace(planned, read=gate.read(flow), public=entry is not None and entry.access == "public"))
    if not sets:
        faults = [r for r in refusals if not isinstance(r, NoResults)]
        if faults:
            raise faults[0]
        if len(flows) == 1:
            raise NoResults(f"dataflow {_ref(artefact_key(flows[0]))} has no data yet")
        raise NoResults(f"no data for {wanted}")
    return DataPlan(query, tuple(sets), gate)


def _within(query: DataQuery, read: Allowance) -> DataQuery:
    """The query narrowed to where the asker may read."""
    return query if read.whole else replace(query, region=as_region(read))


def _matching_flows(registry, query: DataQuery, view) -> list:
    if query.context == "dataflow":
        return registry.select("dataflow", query.agencies, query.ids, query.versions, view)
    by_dsd = []
    for dsd in registry.select("datastructure", query.agencies, query.ids, query.versions, view):
        key = artefact_key(dsd)
        by_dsd += [f for f in registry.select("dataflow", None, None, "all", view)
                   if f.structure is not None and artefact_key(f.structure) == key]
    if query.context == "datastructure":
        return by_dsd
    direct = registry.select("dataflow", query.agencies, query.ids, query.versions, view)  # context `*`
    unique = {artefact_key(f): f for f in direct + by_dsd}
    return [unique[k] for k in sorted(unique)]


def _plan(state, registry, dataflow, flow: Flow, shape: DataShape, query: DataQuery, time_series: bool,
          with_labels: bool) -> PlannedSet | None:
    requested = query.dimension_at_observation
    if time_series:
        if shape.time is None:
            raise SyntaxError_("this dataflow has no time dimension: time series formats do not apply")
        if requested not in (None, shape.time.id):
            raise SyntaxError_("time series formats put the time dimension at the observation level")
    fitted = replace(query, keys=_fit_keys(query, shape))
    layout = layout_for(shape, fitted)
    fact = state.fact_table(flow, shape)
    if fact is None:
        return None
    if fitted.filters or fitted.sort:  # a filter or sort the structure cannot answer fails now, before
        build_select(fact, fitted, layout)  # any data (keys and periods always fit: the parser checked them)
    labels = _labels(registry, dataflow, shape, flow) if with_labels else None
    return PlannedSet(flow, shape.dsd, shape, layout, fact, fitted, labels)


def _fit_keys(query: DataQuery, shape: DataShape) -> tuple[Key, ...] | None:
    """Keys fitted to the structure's dimensions: REST v2 takes missing trailing dimensions as
    wildcards and answers a longer key with 422; REST v1 wants every dimension (400)."""
    if query.keys is None:
        return None
    width = len(shape.dimension_ids)
    fitted = []
    for key in query.keys:
        if len(key) != width:
            message = (f"the key {'.'.join('+'.join(p) if p else '*' for p in key)} has {len(key)} dimension(s) "
                       f"but {shape.dsd_ref} has {width}: {'.'.join(shape.dimension_ids)}")
            if query.api == "v1":
                raise SyntaxError_(message)
            if len(key) > width:
                raise Unprocessable(message)
            key = tuple(key) + (None,) * (width - len(key))
        if all(part is None for part in key):
            return None  # one key selects everything: the others cannot narrow it
        fitted.append(key)
    return tuple(fitted)


def layout_for(shape: DataShape, query: DataQuery) -> DataLayout:
    """The layout of a data set: v1 `detail`, or v2 `attributes` and `measures` (which say
    the same in more words: no measure and no attribute is serieskeysonly, and so on)."""
    if query.attributes == ("dsd",) and query.measures == ("all",):
        return DataLayout.build(shape, query.dimension_at_observation, query.detail)
    measure = _measure_wanted(shape, query.measures)
    probe = DataLayout.build(shape, query.dimension_at_observation, "full")
    attributes = _attributes_wanted(shape, probe, query.attributes)
    detail = query.detail
    if detail == "full":
        detail = {(True, True): "full", (True, False): "dataonly",
                  (False, True): "nodata", (False, False): "serieskeysonly"}[(measure, bool(attributes))]
    return DataLayout.build(shape, query.dimension_at_observation, detail, attributes)


def _measure_wanted(shape: DataShape, measures: tuple[str, ...]) -> bool:
    if "all" in measures:
        return True
    if measures == ("none",):
        return False
    unknown = [m for m in measures if m not in ("none", shape.measure.id)]
    if unknown:
        raise Unprocessable(f"measures={','.join(measures)}: {shape.dsd_ref} has no measure "
                            f"{', '.join(unknown)} (its measure is {shape.measure.id})")
    return shape.measure.id in measures


def _attributes_wanted(shape: DataShape, layout: DataLayout, wanted: tuple[str, ...]) -> frozenset[str]:
    every = {a.id for a in shape.attributes}
    chosen: set[str] = set()
    levels = {"dataset": layout.dataset_attrs, "series": layout.series_attrs, "obs": layout.obs_attrs}
    for word in wanted:
        if word in ("dsd", "all"):
            chosen |= every
        elif word in ("none", "msd"):
            continue  # msd: reference metadata attributes, which data sets here do not carry
        elif word in levels:
            chosen |= set(levels[word])
        elif word in every:
            chosen.add(word)
        else:
            raise Unprocessable(f"attributes={','.join(wanted)}: {shape.dsd_ref} has no attribute {word} "
                                f"({', '.join(sorted(every)) or 'none'})")
    return frozenset(chosen)


# -- labels, kept per registry generation ---------------------------------------------------------

_LABELS: "weakref.WeakKeyDictionary[Any, dict[Flow, Labels]]" = weakref.WeakKeyDictionary()
_LABELS_LOCK = threading.Lock()


def _labels(registry, dataflow, shape: DataShape, flow: Flow) -> Labels:
    """Labels of a dataflow, built once per registry (a registry object is one generation)."""
    with _LABELS_LOCK:
        cached = _LABELS.setdefault(registry, {}).get(flow)
    if cached is None:
        cached = labels_for(registry, dataflow, dataflow.structure, shape)
        with _LABELS_LOCK:
            _LABELS.setdefault(registry, {})[flow] = cached
    return cached


# -- execute -------------------------------------------------------------------------------------


def execute(state: DataState, plan: DataPlan, reads_embargoed: Callable[[Flow], bool] | None = None) -> DataMessage:
    """The message: one data set per planned set that has matching data. NoResults when
    none has, raised before any byte is written. Queries of the past (asOf, updatedAfter,
    includeHistory) are answered by service/history.py. `reads_embargoed` (the access gate's):
    whether the principal reads a dataflow's embargoed values, which service/preview.py
    overlays on its data then."""
    if history.is_history(plan.query):
        return history.execute_history(state, plan)
    parts: list[DataSetPart] = []
    found = False
    embargoed = preview.previewed(state.db, plan.flows, reads_embargoed)
    for planned in plan.sets:
        if planned.flow in embargoed:
            part = preview.overlay_part(state, planned)
            found = found or part is not None
            parts += [part] if part is not None else []
            continue
        layout = truthful_layout(state, planned)
        if not found:
            batches = select_batches(state.db, planned.fact, planned.query, layout, state.settings.batch_rows)
            first = next(batches, None)
            if first is None:
                batches.close()  # gives the database connection back now, not at garbage collection
                continue
            found = True
            rows: Iterator = _Rows(first, batches)
        else:
            if not _any_row(state.db, planned):
                continue
            rows = _lazy(state, planned, layout)
        parts.append(DataSetPart(planned.flow, planned.shape, layout, rows, labels=planned.labels))
    if not parts:
        raise NoResults("no data match the query")
    return DataMessage(Header(sender=state.settings.sender_id), parts)


class _Rows:
    """The first batch, then the rest; `close` gives the connection back even before the
    writer started reading (a 406 from the writer, a client that left)."""

    def __init__(self, first, rest):
        self._first, self._rest = first, rest

    def __iter__(self):
        return self

    def __next__(self):
        if self._first is not None:
            first, self._first = self._first, None
            return first
        return next(self._rest)

    def close(self) -> None:
        self._first = None
        self._rest.close()


def _lazy(state: DataState, planned: PlannedSet, layout: DataLayout) -> Iterator:
    # Opened when the writer reaches this data set: one database connection at a time.
    yield from select_batches(state.db, planned.fact, planned.query, layout, state.settings.batch_rows)


def _any_row(db: Database, planned: PlannedSet) -> bool:
    statement = sa.select(sa.literal(1)).select_from(planned.fact.table).where(*where(planned.fact, planned.query))
    with db.engine.connect() as conn:
        return conn.execute(statement.limit(1)).first() is not None


# -- fault 7: one value where the layout writes one ------------------------------------------------

#: (table, data stamp, series dimensions, attributes[, the query's selection]) -> attributes with
#: several values in the whole table (or the selection). Data change only by loads, and every
#: load changes the stamp.
_SEVERAL: dict[tuple, frozenset[str]] = {}
_SEVERAL_LOCK = threading.Lock()
_SEVERAL_MAX = 4096


def truthful_layout(state: DataState, planned: PlannedSet) -> DataLayout:
    """The planned layout with every data-set or series level attribute that holds several
    values in the selected rows (or in one series) moved to the observations."""
    layout = planned.layout
    demote: set[str] = set()
    for attrs, group in ((layout.dataset_attrs, ()), (layout.series_attrs, layout.series_dims)):
        if not attrs:
            continue
        stamp = (state.db.url.render_as_string(hide_password=True), stamp_of(state.db, planned.flow))
        several = _cached(("table", planned.fact.name, stamp, tuple(group), attrs),
                          lambda: _several(state.db, planned.fact, DataQuery(), attrs, group))
        if several and _narrower(planned.query):
            # Only for data that already hold conflicting values (loads refuse them later):
            # each slice asked for is checked once per data stamp.
            q = planned.query
            key = ("slice", planned.fact.name, stamp, tuple(group), tuple(several), q.keys, q.filters, q.start,
                   q.end, q.reporting_year_start_day, q.region)
            several = _cached(key, lambda: _several(state.db, planned.fact, q, tuple(several), group))
        demote |= several
    return layout.demote(demote) if demote else layout


def _narrower(query: DataQuery) -> bool:
    # first/lastN and paging narrow further, but a check on the rows before them only errs
    # towards writing values on each observation, which is always true.
    return bool(query.keys or query.filters or query.start or query.end or query.region is not None)


def _cached(key: tuple, compute) -> frozenset[str]:
    with _SEVERAL_LOCK:
        found = _SEVERAL.get(key)
    if found is None:
        found = compute()
        with _SEVERAL_LOCK:
            if len(_SEVERAL) >= _SEVERAL_MAX:
                _SEVERAL.clear()
            _SEVERAL[key] = found
    return found


def _several(db: Database, fact: FactTable, query: DataQuery, attrs: tuple[str, ...], group) -> frozenset[str]:
    statement = several_values(fact, replace(query, offset=0, limit=None, first_n=None, last_n=None), attrs, group)
    with db.engine.connect() as conn:
        row = conn.execute(statement).one()
    return frozenset(a for a, flag in zip(attrs, row) if flag)


def _ref(flow: Flow) -> str:
    return f"{flow[0]}:{flow[1]}({flow[2]})"
