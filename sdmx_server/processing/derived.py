"""Dataflows the server derives from others, and their recompute.

`DERIVED` says which dataflow is computed from which. When a load of a source dataflow is
applied or released (ingest/load.py calls `refresh_after` once, after the apply), each dataflow
derived from it is recomputed whole from the sources' published state and loaded with
`replace-all` through the normal load pipeline (record, validation, apply, audit), as the
server itself (`SYSTEM`, origin `derived`): what the portal, reports and other systems read is
then one answer, kept like any other data (history, ETags, availability). `refresh_stale` does
the same at server start for a derived dataflow older than its sources (a recompute that a
crash or an older server version missed).

Only published values count: an embargoed load changes the statuses when it is released, not
before (a derived value computed from it would publish it early).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import pyarrow as pa
import sqlalchemy as sa

from sdmx_server.access.gate import command_line_gate
from sdmx_server.access.principal import SYSTEM
from sdmx_server.registry.index import Registry
from sdmx_server.registry.shape import DataShape, data_shape
from sdmx_server.settings import Settings
from sdmx_server.store.database import Database
from sdmx_server.store.incoming import ACTION, ROW
from sdmx_server.store.records import LoadRecord
from sdmx_server.store.tables import FactTable, find_fact_table

log = logging.getLogger(__name__)

Flow = tuple[str, str, str]
#: Reads a source dataflow's published rows as one Arrow table (component ids as columns).
Read = Callable[[Flow], "pa.Table | None"]


@dataclass(frozen=True)
class Derivation:
    target: Flow
    sources: tuple[Flow, ...]
    #: The derived rows (string columns, as a reader hands them over) from the sources' rows.
    compute: Callable[[Read], pa.Table]


def _kpi_status(read: Read) -> pa.Table:
    from sdmx_server.processing.kpi_table import status_rows

    return status_rows(read(KPI), read(KPI_NORMS))


KPI: Flow = ("SSO", "DF_KPI", "1.0")
KPI_NORMS: Flow = ("SSO", "DF_KPI_NORMS", "1.0")
KPI_STATUS: Flow = ("SSO", "DF_KPI_STATUS", "1.0")

DERIVED: tuple[Derivation, ...] = (
    Derivation(KPI_STATUS, (KPI, KPI_NORMS), _kpi_status),
)


def _ref(flow: Flow) -> str:
    return f"{flow[0]}:{flow[1]}({flow[2]})"


class _State:
    """What the data service needs (service/data.DataState), for a load's registry and database."""

    def __init__(self, db: Database, registry: Registry, settings: Settings):
        self.db, self._registry, self.settings = db, registry, settings

    def registry(self) -> Registry:
        return self._registry

    def shape(self, dsd) -> DataShape:
        return data_shape(dsd)

    def fact_table(self, flow: Flow, shape: DataShape) -> FactTable | None:
        return find_fact_table(self.db, flow, shape)


def read_published(db: Database, registry: Registry, settings: Settings) -> Read:
    """A reader of a dataflow's whole published state through the data service (the server reads
    every source whole: the command line's gate), without embargoed values."""
    from sdmx_server.service.tables import read_table

    state = _State(db, registry, settings)
    gate = command_line_gate(registry)

    def read(flow: Flow) -> pa.Table | None:
        found = read_table(state, flow, gate, embargoed=False)
        return found.rows if found is not None else None

    return read


def derived_from(flow: Flow) -> list[Derivation]:
    return [d for d in DERIVED if flow in d.sources]


def refresh_after(db: Database, registry: Registry, flows, settings: Settings | None = None) -> list:
    """Recompute every dataflow derived from one of `flows` (loads just applied or released);
    the outcomes of the loads it made. A failure is logged, never raised: the source's load
    stands, and the next change or start recomputes."""
    settings = settings or Settings()
    wanted = {d.target: d for flow in flows for d in derived_from(tuple(flow))}
    outcomes = []
    for derivation in wanted.values():
        if registry.get("dataflow", *derivation.target) is None:
            continue  # its structures are not loaded (yet): nothing to derive into
        try:
            outcome = recompute(db, registry, derivation, settings)
        except Exception:
            log.exception("recomputing %s failed", _ref(derivation.target))
            continue
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def recompute(db: Database, registry: Registry, derivation: Derivation, settings: Settings):
    """Compute the derived rows and load them, replacing all, as the server itself; the load's
    outcome, or None when there is nothing to derive and nothing derived before."""
    from sdmx_server.ingest.load import LoadRequest, load_incoming
    from sdmx_server.ingest.readers import IncomingData

    rows = derivation.compute(read_published(db, registry, settings))
    n = rows.num_rows
    if n == 0 and not _has_data(db, registry, derivation.target):
        return None  # nothing to derive yet (a source still empty) and nothing to empty
    rows = rows.append_column(ROW, pa.array(range(2, n + 2), pa.int64())).append_column(ACTION, pa.nulls(n, pa.string()))
    sources = " + ".join(_ref(s) for s in derivation.sources)
    request = LoadRequest(derivation.target, f"derived from {sources}", action="replace-all", origin="derived",
                          submitted_by="system", principal=SYSTEM)  # as the audit names it

    def read(shape, report):
        report.rows_read = n
        return IncomingData(rows, f"derived by {derivation.compute.__module__}", row_label="row")

    outcome = load_incoming(db, registry, request, read, settings)
    if not outcome.applied:
        log.error("recomputing %s: the load was %s: %s", _ref(derivation.target), outcome.status,
                  outcome.report.as_json())
    return outcome


def _has_data(db: Database, registry: Registry, flow: Flow) -> bool:
    dataflow = registry.get("dataflow", *flow)
    return dataflow is not None and dataflow.structure is not None and \
        find_fact_table(db, flow, data_shape(dataflow.structure)) is not None


def _newest(db: Database, flow: Flow) -> int:
    table = LoadRecord.__table__
    with db.engine.connect() as conn:
        value = conn.execute(sa.select(sa.func.max(table.c.tx_time)).where(
            table.c.flow == _ref(flow), table.c.status.in_(("applied", "released")))).scalar()
    return value or 0


def refresh_stale(db: Database, registry: Registry, settings: Settings | None = None) -> list:
    """At start: recompute each derived dataflow whose sources changed after its last load."""
    outcomes = []
    for derivation in DERIVED:
        if registry.get("dataflow", *derivation.target) is None:
            continue
        newest_source = max(_newest(db, s) for s in derivation.sources)
        if newest_source and newest_source > _newest(db, derivation.target):
            try:
                outcome = recompute(db, registry, derivation, settings or Settings())
            except Exception:
                log.exception("recomputing %s at start failed", _ref(derivation.target))
                continue
            if outcome is not None:
                outcomes.append(outcome)
    return outcomes
