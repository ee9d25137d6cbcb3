"""A load's rows as what the store writes: runs of one action, a part as the fact table's
columns, and delete rows as the staging table whose conditions match the rows they remove.
Shared by the apply (store/apply.py), the early write of a first load (store/early.py) and the
preview of embargoed loads (store/preview.py)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from sdmx_server.store.history import UPDATED
from sdmx_server.store.incoming import ACTION
from sdmx_server.store.ordering import sort_order
from sdmx_server.store.tables import LOAD_ID, PERIOD_END, PERIOD_START, FactTable


def runs(table: pa.Table):
    """Consecutive rows with the same action, in one table (a batch, or a kept chunk of an
    embargoed load: store/preview.py)."""
    actions = table.column(ACTION).to_numpy(zero_copy_only=False)
    if len(actions) == 0:
        return
    cuts = np.flatnonzero(actions[1:] != actions[:-1]) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [len(actions)]])
    for s, e in zip(starts, ends):
        yield actions[s], table.slice(s, e - s)


def fact_columns(fact: FactTable, part: pa.Table, present: frozenset[str], in_order: bool, load_id: int,
                 tx_time: int) -> pa.Table:
    """The part as the fact table's columns (those of the components in `present`), sorted by
    key unless `in_order` (rows then land in index order). (store/early.py and
    store/preview.py write with it too.)"""
    arrays, names = [], []
    for component in fact.shape.components:
        if component.id not in present:
            continue
        column = part.column(component.id)
        if pa.types.is_null(column.type):
            column = column.cast(pa.float64() if component.role == "measure" and component.numeric else pa.string())
        arrays.append(column)
        names.append(fact.columns[component.id])
    for name in (PERIOD_START, PERIOD_END):
        arrays.append(part.column(name).cast(pa.int64()))
        names.append(name)
    arrays.append(pa.array(np.full(part.num_rows, load_id, dtype=np.int64)))
    names.append(LOAD_ID)
    arrays.append(pa.array(np.full(part.num_rows, tx_time, dtype=np.int64)))
    names.append(UPDATED)
    table = pa.table(arrays, names=names)
    if in_order:
        return table
    return table.take(pa.array(sort_order([part.column(k) for k in fact.key_ids])))


def delete_staging(fact: FactTable, part: pa.Table, present: frozenset[str]) -> tuple[pa.Table, list[str]]:
    """A run of delete rows as the table to stage: the dimensions the load carries (as text,
    empty = any code), and per measure or attribute it carries a flag: this row names a value
    of it (only such values are emptied). The dimensions, by id."""
    dims = [k for k in fact.key_ids if k in present]
    arrays = {fact.columns[k]: part.column(k).cast(pa.string()) for k in dims}
    for c in valued(fact, present):
        arrays[fact.columns[c]] = pc.is_valid(part.column(c))
    staged = pa.table(arrays) if arrays else pa.table({"_all": pa.array([True] * part.num_rows)})
    return staged, dims


def delete_conditions(fact: FactTable, staging, target, present: frozenset[str]):
    """(the condition on `target` rows that a staged delete row removes whole, [(column, the
    condition that a staged row empties that column's value)]): `staging` as delete_staging
    made it, `target` any table with the fact table's columns (store/preview.py uses it on
    its overlay)."""
    dims = [k for k in fact.key_ids if k in present]
    others = valued(fact, present)
    match = sa.and_(sa.true(), *[
        sa.or_(staging.c[fact.columns[k]].is_(None), staging.c[fact.columns[k]] == target.c[fact.columns[k]])
        for k in dims
    ])
    value_flags = [staging.c[fact.columns[c]] for c in others]
    whole_row = sa.and_(sa.true(), *[sa.not_(flag) for flag in value_flags])
    gone = sa.exists(sa.select(sa.literal(1)).select_from(staging).where(match, whole_row))
    hits = [(fact.columns[c], sa.exists(sa.select(sa.literal(1)).select_from(staging).where(match, flag)))
            for c, flag in zip(others, value_flags)]
    return gone, hits


def valued(fact: FactTable, present: frozenset[str]) -> list[str]:
    return [c.id for c in fact.shape.components if c.role in ("measure", "attribute") and c.id in present]
