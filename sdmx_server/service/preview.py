"""Answers that show embargoed values to those who may read them (`read-embargoed`).

Who may is the access gate's decision (`reads_embargoed(flow)`, access/gate.py), handed to the
data and availability services as a predicate on dataflows; which dataflows have pending loads
is store/embargo.py's. For a dataflow with both, the data set is read from the dataflow as it
will be after its pending loads (store/preview.py), with the same layout rules as any answer
(fault 7: a data-set or series attribute holding several values in the rows read is written
on each observation); everyone else, and every dataflow without pending loads, is answered
as before. Queries of the past (asOf, updatedAfter, includeHistory) show committed revisions
only: a pending load has no transaction time yet.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Iterable

import pyarrow as pa

from sdmx_server.formats.data_message import DataSetPart
from sdmx_server.query.layout import DataLayout
from sdmx_server.store.embargo import pending_stamps
from sdmx_server.store.preview import Preview, PreviewRows, open_preview
from sdmx_server.store.series import matching_observations
from sdmx_server.store.sql import build_select, several_values

Flow = tuple[str, str, str]
#: The gate's answer: whether the request's principal reads this dataflow's embargoed values.
ReadsEmbargoed = Callable[[Flow], bool]


def previewed(db, flows: Iterable[Flow], reads_embargoed: ReadsEmbargoed | None) -> dict[Flow, str]:
    """The dataflows among `flows` whose answers show pending loads to this principal, each
    with its pending stamp (the ids of the loads: part of ETags and kept answers' keys).
    Empty for a principal who reads no embargoed values, without a database read."""
    if reads_embargoed is None:
        return {}
    readable = [f for f in dict.fromkeys(flows) if reads_embargoed(f)]
    return pending_stamps(db, readable) if readable else {}


def overlay_part(state, planned) -> DataSetPart | None:
    """The data set of a planned set (service/data.py PlannedSet) from its dataflow after its
    pending loads, or None when no row matches. The overlay's connection stays open until the
    writer has read the rows (or the part's batches are closed)."""
    preview = open_preview(state.db, planned.flow, planned.fact, planned.query)
    try:
        layout = _truthful(preview, planned.layout, planned.query)
        statement = build_select(preview.overlay, planned.query, layout, typed_for_sqlite=state.db.is_sqlite)
        rows = PreviewRows(preview, statement, state.settings.batch_rows)
        if not rows.started():
            return None  # (closed: nothing to read)
    except BaseException:
        preview.close()
        raise
    return DataSetPart(planned.flow, planned.shape, layout, rows, labels=planned.labels)


def _truthful(preview: Preview, layout: DataLayout, query) -> DataLayout:
    """Fault 7 over the overlaid rows the query selects (service/data.py truthful_layout does
    it for the fact table, kept per data stamp; an overlay is made per answer)."""
    query = replace(query, offset=0, limit=None, first_n=None, last_n=None)
    demote: set[str] = set()
    for attrs, group in ((layout.dataset_attrs, ()), (layout.series_attrs, layout.series_dims)):
        if attrs:
            row = preview.run(several_values(preview.overlay, query, attrs, group)).fetchone()
            demote |= {a for a, flag in zip(attrs, row) if flag}
    return layout.demote(demote) if demote else layout


def series_counts(state, planned, condition_of: Callable[[object], object]) -> pa.Table:
    """Availability: the observations of the dataflow after its pending loads that meet
    `condition_of(table)` (service/availability.py's `where`, on the overlay), counted per
    series: the columns of store.series.all_series."""
    preview = open_preview(state.db, planned.flow, planned.fact)
    try:
        return matching_observations(state.db, preview.overlay, condition_of(preview.overlay), preview.conn)
    finally:
        preview.close()

