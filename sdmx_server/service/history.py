"""Answers of the past: `asOf`, `updatedAfter` and `includeHistory` (REST v1 and v2).

The data service (service/data.py) hands a plan here when the query has one of these
parameters; queries of the current state never come here. Each dataflow of the plan becomes
one or more data sets, read through the views of store/history_sql.py with the same SQL
builder (keys, `c[]` filters, periods, firstN/lastN, paging and sorting apply within each data
set):

- `asOf=T` alone: one data set, the state as of T, written as a plain answer.
- `updatedAfter=A` (with or without `asOf=T`): what changed in (A, T]: a `Delete` data set of
  the observations deleted (keys alone: a Delete data set without values deletes whole
  observations), then a `Replace` data set of the observations written, as they are now (or
  at T). Either is left out when empty. REST (data.md) and the SDMX-CSV field guide
  ("Recommended dataset actions ... With the updatedAfter URL parameter") ask for exactly
  this pair.
- `includeHistory=true`: per load (transaction) that touched the matching data, oldest first,
  a `Delete` data set (what it deleted, `validToDate` = its time) and a `Replace` data set
  (what it wrote, `validFromDate` = its time), as in the REST v1.5 example "How to handle
  the includeHistory parameter". Data older than revisions form a first Replace data set
  without validFromDate. With `updatedAfter` only loads after A; with `asOf` only loads up to T.

Every data set of one dataflow shares one layout (writers of one-structure formats need it):
attributes that ever held several values where the layout writes one are written on each
observation instead (fault 7, checked over the rows the answer reads).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Iterator

import pyarrow as pa
import sqlalchemy as sa

from sdmx_server.errors import NoResults, SyntaxError_
from sdmx_server.formats.data_message import DataMessage, DataSetPart
from sdmx_server.formats.ml21 import Header
from sdmx_server.query.layout import DataLayout
from sdmx_server.query.model import DataQuery
from sdmx_server.store.history_sql import NOW, View, epoch_us, versions
from sdmx_server.store.select import select_view_batches
from sdmx_server.store.sql import several_values, where


def is_history(query: DataQuery) -> bool:
    return query.updated_after is not None or query.include_history or query.as_of is not None


def check(query: DataQuery) -> None:
    """What is wrong with the parameters themselves (400)."""
    if query.updated_after is not None and query.as_of is not None and query.updated_after >= query.as_of:
        # data.md: "the service is expected to return a client error if updatedAfter is more
        # recent than asOf".
        raise SyntaxError_(f"updatedAfter={query.updated_after.isoformat()} is not before "
                           f"asOf={query.as_of.isoformat()}: nothing can have changed in between")


def execute_history(state, plan) -> DataMessage:
    """The message of a plan whose query reads the past; NoResults when no data set has rows."""
    query = plan.query
    as_of = epoch_us(query.as_of) if query.as_of is not None else NOW
    after = epoch_us(query.updated_after) if query.updated_after is not None else None
    parts: list[DataSetPart] = []
    for planned in plan.sets:
        pieces = _pieces(state, planned, after, as_of)
        if not pieces:
            continue
        layout = _layout(state, planned, [view for view, *_ in pieces])
        for view, action, valid_from, valid_to in pieces:
            rows = _rows(state, view, planned.query, layout, keys_only=action == "Delete")
            parts.append(DataSetPart(planned.flow, planned.shape, layout, rows, labels=planned.labels,
                                     action=action, valid_from=valid_from, valid_to=valid_to))
    if not parts:
        raise NoResults("no data match the query")
    return DataMessage(Header(sender=state.settings.sender_id), parts)


Piece = tuple[View, "str | None", "datetime | None", "datetime | None"]


def _pieces(state, planned, after: int | None, as_of: int) -> list[Piece]:
    """(view, action, validFrom, validTo) of each data set this dataflow contributes."""
    fact, query = planned.fact, planned.query
    if query.include_history:
        found: list[Piece] = []
        for version in versions(state.db, fact, lambda v: where(v, query), after, as_of):
            if version.deleted:
                found.append((View(fact, "removed", version=version.tx_time), "Delete", None, version.when))
            if version.wrote:
                found.append((View(fact, "written", version=version.tx_time), "Replace", version.when, None))
        return found
    if after is None:  # asOf alone: the state then
        view = View(fact, "state", as_of=as_of)
        return [(view, None, None, None)] if _any_row(state.db, view, query) else []
    deleted = View(fact, "deleted", as_of=as_of, after=after)
    changed = View(fact, "changed", as_of=as_of, after=after)
    return [(v, action, None, None) for v, action in ((deleted, "Delete"), (changed, "Replace"))
            if _any_row(state.db, v, query)]


def _any_row(db, view: View, query: DataQuery) -> bool:
    statement = sa.select(sa.literal(1)).select_from(view.table).where(*where(view, query)).limit(1)
    with db.engine.connect() as conn:
        return conn.execute(statement).first() is not None


def _layout(state, planned, views: list[View]) -> DataLayout:
    """The planned layout, with the data-set and series attributes that hold several values
    in the rows of any of the data sets (or in one series there) written on each observation."""
    layout = planned.layout
    query = replace(planned.query, offset=0, limit=None, first_n=None, last_n=None)
    demote: set[str] = set()
    for attrs, group in ((layout.dataset_attrs, ()), (layout.series_attrs, layout.series_dims)):
        if not attrs:
            continue
        for view in views:
            if view.kind in ("removed", "deleted"):
                continue  # written as keys alone: no attribute values
            statement = several_values(view, query, attrs, group)
            with state.db.engine.connect() as conn:
                row = conn.execute(statement).one()
            demote |= {a for a, flag in zip(attrs, row) if flag}
    return layout.demote(demote) if demote else layout


def _rows(state, view: View, query: DataQuery, layout: DataLayout, keys_only: bool) -> Iterator[pa.RecordBatch]:
    """The data set's batches, read when the writer reaches it (one connection at a time)."""
    batches = select_view_batches(state.db, view, query, layout, state.settings.batch_rows)
    try:
        for batch in batches:
            yield _keys_only(batch, view) if keys_only else batch
    finally:
        batches.close()


def _keys_only(batch: pa.RecordBatch, view: View) -> pa.RecordBatch:
    """Deleted observations as their keys: measure and attributes empty."""
    keys = set(view.key_ids)
    arrays = [column if name in keys else pa.nulls(len(column), column.type)
              for name, column in zip(batch.schema.names, batch.columns)]
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)
