"""Stored values of attributes attached above the observation: what validation compares an
incoming file with, so that a series or data-set attribute never holds two values at once.

Two reads, both narrow: the distinct values per attachment key (one aggregate over the fact
table, returning a row per series, not per observation), and, for the rare series whose stored
value differs from the file's, the full keys of the observations that hold the other value
(bounded by `limit`), so that validation can tell whether the file rewrites all of them.
"""

from __future__ import annotations

import pyarrow as pa
import sqlalchemy as sa

from sdmx_server.store.database import Database
from sdmx_server.store.tables import FactTable

VALUE = "value"


def stored_attribute_values(db: Database, fact: FactTable, attribute_id: str,
                            attach_dims: tuple[str, ...], within: dict[str, list[str]] | None = None) -> pa.Table:
    """Per attachment key (the `attach_dims` columns) the distinct stored non-null values of
    the attribute: columns `attach_dims...`, `value`. No attachment dimensions: the data set.
    `within` (dimension id -> codes) narrows the read to those codes (the key's index serves a
    narrow one: a small revision of a large dataflow reads its own series only)."""
    column = fact.column(attribute_id)
    keys = [fact.column(d).label(d) for d in attach_dims]
    conditions = [fact.column(d).in_(codes) for d, codes in (within or {}).items()]
    stmt = sa.select(*keys, column.label(VALUE)).where(column.is_not(None), *conditions).distinct()
    with db.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    names = [*attach_dims, VALUE]
    return pa.table({n: pa.array([r[i] for r in rows], pa.string()) for i, n in enumerate(names)})


def stored_keys_holding(db: Database, fact: FactTable, attribute_id: str, where: dict[str, str], value: str,
                        limit: int = 1_000_000) -> pa.Table:
    """The full keys (dimension columns, time included) of stored observations that match
    `where` (dimension id -> code) and hold `value` for the attribute; at most `limit` + 1 rows,
    so that a caller can tell "more than limit"."""
    keys = [fact.column(k).label(k) for k in fact.key_ids]
    conditions = [fact.column(d) == code for d, code in where.items()]
    stmt = sa.select(*keys).where(fact.column(attribute_id) == value, *conditions).limit(limit + 1)
    with db.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return pa.table({k: pa.array([r[i] for r in rows], pa.string()) for i, k in enumerate(fact.key_ids)})
