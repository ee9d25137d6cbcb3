"""A data query's rows as one Arrow table, for the server's own readers of small dataflows (the
derived dataflows of processing/, the dashboard): the same resolve and execute as the API, so
they see exactly what the asker's gate lets the API answer, embargoed values only when it reads
them."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from sdmx_server.access.gate import Gate
from sdmx_server.errors import NoResults
from sdmx_server.formats.data_message import Labels
from sdmx_server.query.parse_data_v2 import parse_data_query
from sdmx_server.service.data import DataState, execute, resolve

Flow = tuple[str, str, str]


@dataclass(frozen=True)
class FlowTable:
    rows: pa.Table  # a column per component (ids), in series order
    labels: Labels | None


def read_table(state: DataState, flow: Flow, gate: Gate, *, key: str = "*", params: dict[str, str] | None = None,
               labels: bool = False, embargoed: bool | None = None) -> FlowTable | None:
    """The rows of `flow` that the REST v2 URL `/data/dataflow/{flow}/{key}?{params}` answers
    `gate`'s principal; None when there are none (or the dataflow is hidden from it).
    `embargoed`: read pending values (None: as the gate allows; False: published only)."""
    query = parse_data_query(["dataflow", *flow, key], params or {})
    try:
        plan = resolve(state, query, labels=labels, gate=gate)
        reads = (lambda _flow: False) if embargoed is False else gate.reads_embargoed
        message = execute(state, plan, reads)
    except NoResults:
        return None
    tables, found_labels = [], None
    for part in message.datasets:
        found_labels = found_labels or part.labels
        batches = list(part.batches)
        if batches:
            tables.append(pa.Table.from_batches(batches))
    if not tables:
        return None
    return FlowTable(pa.concat_tables(tables, promote_options="permissive"), found_labels)
