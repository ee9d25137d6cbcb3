"""DataQuery in, sorted Arrow record batches out, streamed from the database by connectorx.

The SQL is built with SQLAlchemy Core and rendered with literal values (connectorx takes SQL
text only); every value in it has passed the query parser's id and period checks first, and
SQLAlchemy quotes it as the dialect requires.
"""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa
import sqlalchemy as sa

from sdmx_server.formats.data_layout import DataLayout
from sdmx_server.query.model import DataQuery
from sdmx_server.query.periods import iso
from sdmx_server.store.database import Database
from sdmx_server.store.tables import PERIOD_END, PERIOD_START, FactTable


def build_select(fact: FactTable, query: DataQuery, layout: DataLayout) -> sa.Select:
    shape = fact.shape
    table = fact.table
    conditions = []
    if query.key is not None:
        for dim_id, codes in zip(shape.dimension_ids, query.key):
            if codes is not None:
                conditions.append(fact.column(dim_id).in_(codes))
    if query.start is not None:
        conditions.append(table.c[PERIOD_START] >= iso(query.start.start))
    if query.end is not None:
        conditions.append(table.c[PERIOD_END] <= iso(query.end.end))

    if layout.detail == "serieskeysonly":
        ids = list(layout.series_dims)
        return (
            sa.select(*[fact.column(i).label(i) for i in ids])
            .where(*conditions)
            .distinct()
            .order_by(*[fact.column(i) for i in ids])
        )

    ids = list(shape.all_dimension_ids)
    if layout.with_observations:
        ids.append(shape.measure.id)
    ids += [a for a in layout.dataset_attrs + layout.series_attrs + layout.obs_attrs]
    order = list(layout.sort_columns())

    if query.first_n is None and query.last_n is None:
        return (
            sa.select(*[fact.column(i).label(i) for i in ids])
            .where(*conditions)
            .order_by(*[fact.column(i) for i in order])
        )

    # first/lastNObservations: number the observations of each series in time order.
    time_id = shape.time.id if shape.time is not None else order[-1]
    series = [fact.column(d) for d in shape.dimension_ids]
    inner_cols = [fact.column(i).label(i) for i in ids]
    ranks = []
    if query.first_n is not None:
        ranks.append(sa.func.row_number().over(partition_by=series, order_by=fact.column(time_id).asc()).label("sdmx_first"))
    if query.last_n is not None:
        ranks.append(sa.func.row_number().over(partition_by=series, order_by=fact.column(time_id).desc()).label("sdmx_last"))
    inner = sa.select(*inner_cols, *ranks).where(*conditions).subquery("numbered")
    keep = []
    if query.first_n is not None and query.last_n is not None:
        keep.append(sa.or_(inner.c.sdmx_first <= query.first_n, inner.c.sdmx_last <= query.last_n))
    elif query.first_n is not None:
        keep.append(inner.c.sdmx_first <= query.first_n)
    else:
        keep.append(inner.c.sdmx_last <= query.last_n)
    return sa.select(*[inner.c[i] for i in ids]).where(*keep).order_by(*[inner.c[i] for i in order])


def render(db: Database, statement: sa.Select) -> str:
    return str(statement.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))


def stream(db: Database, sql: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
    import connectorx as cx

    reader = cx.read_sql(db.connectorx_uri(), sql, return_type="arrow_stream", batch_size=batch_rows)
    for batch in reader:
        if batch.num_rows:
            yield batch
