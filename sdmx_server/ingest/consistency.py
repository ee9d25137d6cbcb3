"""Checks across rows and against the store: content constraints and attribute attachment.

- Constraints (ingest/context.py says how they are read): a written row must fall inside what
  every allowed constraint of the dataflow allows. A value outside the codes that all of a
  constraint's included regions allow for one component is reported on that column, with its
  value; a row whose codes are each allowed but whose combination is not (or that falls in an
  excluded region) is reported with its key.
- Attributes attached to dimensions (series and group attributes) or to the data set hold one
  value per attachment key. In the file: two values for one series is an error on every row
  that disagrees with the series' first row. Against the store: a stored observation of the
  same series that the file does not rewrite with the new value keeps the old one, so a file
  whose series value differs from the stored one is an error unless it rewrites every stored
  observation of that series that holds the old value (it "replaces the series"); replace-all
  can never conflict. Observation-level attributes (and those attached to the time dimension)
  are free per row.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sdmx_server.ingest.checks import report_by_value
from sdmx_server.ingest.context import Constraint, Region, ValidationContext
from sdmx_server.ingest.report import ValidationReport
from sdmx_server.registry.shape import Component, DataShape

#: Series with a stored conflict whose stored observations are looked up one by one.
MAX_SERIES_CHECKED = 1000
_ROW = "__row"
_VALUE = "__value"


def _true(n: int) -> pa.Array:
    return pa.array(np.ones(n, dtype=bool))


def _region_mask(region: Region, columns: dict[str, pa.Array], n: int) -> pa.Array:
    """Rows the region selects: every selection holds (a component the row lacks holds)."""
    mask = _true(n)
    for selection in region.selections:
        column = columns.get(selection.component)
        if column is None:
            continue
        member = pc.is_in(column, value_set=pa.array(sorted(selection.values), pa.string()))
        if not selection.include:
            member = pc.invert(member)
        # is_in says false for null: an absent value must hold instead.
        mask = pc.and_(mask, pc.or_(pc.is_null(column), member))
    return mask


def check_constraints(report: ValidationReport, shape: DataShape, context: ValidationContext,
                      columns: dict[str, pa.Array], writes: pa.Array, rows: np.ndarray) -> None:
    n = len(rows)
    if not n:
        return
    # A code its codelist does not know is reported once, as such (checks.check_codes): here it
    # counts as absent, so that it is not reported again as outside the constraint.
    columns = {k: _known_codes(shape.component(k), v) for k, v in columns.items()}
    for constraint in context.constraints:
        inside, excluded = None, pa.array(np.zeros(n, dtype=bool))
        for region in constraint.regions:
            mask = _region_mask(region, columns, n)
            if region.include:
                inside = mask if inside is None else pc.or_(inside, mask)
            else:
                excluded = pc.or_(excluded, mask)
        allowed = pc.and_(inside if inside is not None else _true(n), pc.invert(excluded))
        bad = pc.and_(pc.fill_null(writes, False), pc.invert(allowed))
        if pc.any(bad).as_py():
            _report_constraint(report, shape, constraint, columns, bad, rows)


def _known_codes(component: Component | None, column):
    if component is None or not component.coded or not isinstance(column, (pa.Array, pa.ChunkedArray)):
        return column
    known = pc.is_in(column, value_set=pa.array(sorted(component.codes), pa.string()))
    return pc.if_else(known, column, pa.scalar(None, pa.string()))


def _report_constraint(report, shape: DataShape, constraint: Constraint, columns, bad, rows) -> None:
    blamed = pa.array(np.zeros(len(rows), dtype=bool))
    included = [r for r in constraint.regions if r.include]
    named = [{s.component: s.values for s in r.selections if s.include} for r in included]
    common = set.intersection(*(set(m) for m in named)) if named else set()
    # One component's value that no included region allows: the column is at fault.
    for component_id in sorted(common, key=lambda c: _position(shape, c)):
        column = columns.get(component_id)
        if column is None:
            continue
        allowed = sorted(set().union(*(m[component_id] for m in named)))
        off = pc.and_(pc.and_(bad, pc.is_valid(column)), pc.invert(pc.is_in(column, value_set=pa.array(allowed))))
        off = pc.fill_null(off, False)
        report_by_value(report, component_id, column, off, rows,
                        lambda v: f"{v!r} is outside the content constraint {constraint.ref}", rule="constraint")
        blamed = pc.or_(blamed, off)
    # One component's value that an excluded region names alone.
    for region in constraint.regions:
        if region.include or len(region.selections) != 1 or not region.selections[0].include:
            continue
        selection = region.selections[0]
        column = columns.get(selection.component)
        if column is None:
            continue
        off = pc.fill_null(pc.and_(pc.and_(bad, pc.invert(blamed)),
                                   pc.is_in(column, value_set=pa.array(sorted(selection.values)))), False)
        report_by_value(report, selection.component, column, off, rows,
                        lambda v: f"{v!r} is excluded by the content constraint {constraint.ref}", rule="constraint")
        blamed = pc.or_(blamed, off)
    rest = pc.and_(bad, pc.invert(blamed))
    if not pc.any(rest).as_py():
        return
    dims = [d for d in shape.dimension_ids if d in columns]
    keys = pc.binary_join_element_wise(*[pc.fill_null(columns[d], "") for d in dims], ".") if dims else \
        pa.array([""] * len(rows))
    report_by_value(report, "", keys, rest, rows,
                    lambda v: f"the key {v} is outside what the content constraint {constraint.ref} allows "
                              "(each code is allowed, the combination is not)", rule="constraint")


def _position(shape: DataShape, component_id: str) -> int:
    ids = [c.id for c in shape.components]
    return ids.index(component_id) if component_id in ids else len(ids)


def attachment_dims(shape: DataShape, attribute: Component) -> tuple[str, ...] | None:
    """The dimensions whose values the attribute's value depends on only; None: per observation."""
    if attribute.attachment == "dataset":
        return ()
    if attribute.attachment != "dimensions":
        return None
    if shape.time is not None and shape.time.id in attribute.attach_dims:
        return None
    return attribute.attach_dims


class SeriesValues:
    """What the attribute checks keep of the batches they have seen: per series-attached (or
    data-set) attribute, its distinct (series, value) pairs with the first row of each. Its
    memory is the number of series, not of observations; the rows of a series in conflict are
    looked up again at the end (`check_attribute_conflicts`), in the spooled batches."""

    def __init__(self, shape: DataShape):
        self.shape = shape
        self.distinct: dict[str, list[pa.Table]] = {}
        self._rows: dict[str, int] = {}

    def add(self, columns: dict[str, pa.Array], writes: pa.Array, rows: np.ndarray) -> None:
        writes = pc.fill_null(writes, False)
        for attribute, dims in self.attached(columns):
            table = _rows_holding(columns, attribute, dims, writes, rows)
            if table is None:
                continue
            parts = self.distinct.setdefault(attribute.id, [])
            parts.append(_first_rows(table, dims))
            self._rows[attribute.id] = self._rows.get(attribute.id, 0) + parts[-1].num_rows
            if len(parts) > 1 and self._rows[attribute.id] > COMPACT_ROWS:
                parts[:] = [_distinct(parts, dims)]
                self._rows[attribute.id] = parts[0].num_rows

    def attached(self, columns):
        """(attribute, attachment dims) of the attributes held per series or data set."""
        for attribute in self.shape.attributes:
            dims = attachment_dims(self.shape, attribute)
            if dims is None or attribute.id not in columns or any(d not in columns for d in dims):
                continue
            yield attribute, dims


#: Distinct (series, value) rows an attribute gathers before they are merged again.
COMPACT_ROWS = 200_000


def _distinct(parts: list[pa.Table], dims) -> pa.Table:
    return _first_rows(pa.concat_tables(parts), dims)


def _first_rows(table: pa.Table, dims) -> pa.Table:
    """(dims..., value, row): each distinct (series, value) with its first row."""
    out = table.group_by([*dims, _VALUE]).aggregate([(_ROW, "min")])
    return out.rename_columns({f"{_ROW}_min": _ROW}).select([*dims, _VALUE, _ROW])


def _rows_holding(columns, attribute: Component, dims, writes: pa.Array, rows: np.ndarray) -> pa.Table | None:
    """The written rows of a batch that give the attribute a value: (dims..., value, row)."""
    value = columns[attribute.id]
    keep = pc.and_(writes, pc.is_valid(value))
    if not pc.any(keep).as_py():
        return None
    return pa.table({**{d: columns[d] for d in dims}, _VALUE: value, _ROW: pa.array(rows)}).filter(keep)


#: Reads the validated batches again: each as {component id: column}, writes mask, rows.
Rescan = Callable[[], Iterator[tuple[dict, pa.Array, np.ndarray]]]


def check_attribute_conflicts(report: ValidationReport, shape: DataShape, context: ValidationContext | None,
                              seen: SeriesValues, rescan: Rescan) -> None:
    """Two values for one series in the file, or a value other than the store's (see above),
    from what `seen` gathered; the rows of a series in question are read again by `rescan`."""
    for attribute_id, parts in seen.distinct.items():
        attribute = shape.component(attribute_id)
        dims = attachment_dims(shape, attribute)
        distinct = _distinct(parts, dims)
        if not _in_file(report, attribute, dims, distinct, rescan):
            continue  # two values in the file already: the store is not asked
        if context is not None:
            _against_store(report, shape, attribute, dims, distinct, context, rescan)


def _series_rows(rescan: Rescan, attribute: Component, dims, series: pa.Table | None,
                 keys=()) -> pa.Table | None:
    """The written rows giving the attribute a value, in the given series (dims columns; None:
    all), read again from the batches: (dims..., value, row, and those of `keys` present)."""
    wanted = _joined(series, dims) if dims and series is not None else None
    parts = []
    for columns, writes, rows in rescan():
        value = columns[attribute.id]
        keep = pc.and_(pc.fill_null(writes, False), pc.is_valid(value))
        names = dict.fromkeys([*dims, *(k for k in keys if k in columns)])
        table = pa.table({**{k: columns[k] for k in names}, _VALUE: value, _ROW: pa.array(rows)}).filter(keep)
        if wanted is not None:
            table = table.filter(pc.is_in(_joined(table, dims), value_set=wanted))
        if table.num_rows:
            parts.append(table)
    return pa.concat_tables(parts) if parts else None


def _joined(table: pa.Table, dims) -> pa.Array:
    return pc.binary_join_element_wise(*[table.column(d) for d in dims], "\x1f")


def _series_key(dims, row: dict) -> str:
    return ".".join(str(row[d]) for d in dims) if dims else "(data set)"


def _in_file(report, attribute: Component, dims, distinct: pa.Table, rescan: Rescan) -> bool:
    if distinct.num_rows == (distinct.group_by(list(dims)).aggregate([]).num_rows if dims else 1):
        return True
    per_series = distinct.group_by(list(dims)).aggregate([(_VALUE, "count")]) if dims else \
        pa.table({f"{_VALUE}_count": [distinct.num_rows]})
    conflicting = per_series.filter(pc.greater(per_series.column(f"{_VALUE}_count"), 1))
    subset = _series_rows(rescan, attribute, dims, conflicting.select(list(dims)) if dims else None)
    subset = subset.sort_by([(_ROW, "ascending")])
    first: dict[tuple, tuple[str, int]] = {}
    against: dict[tuple, list[int]] = {}
    for row in subset.to_pylist()[:1_000_000]:
        series = tuple(row[d] for d in dims)
        if series not in first:
            first[series] = (row[_VALUE], row[_ROW])
        elif row[_VALUE] != first[series][0]:
            against.setdefault((series, row[_VALUE]), []).append(row[_ROW])
    for (series, other), bad_rows in against.items():
        value, at = first[series]
        where = f"series {'.'.join(series)}" if dims else "the data set"
        report.add(attribute.id, f"{where}: {other!r} here, {value!r} in {report.row_label} {at}; "
                                 f"{attribute.id} has one value per {'series' if dims else 'data set'}",
                   bad_rows, rule="attribute-conflict", value=other)
    return False


def _against_store(report, shape: DataShape, attribute: Component, dims, distinct: pa.Table,
                   context: ValidationContext, rescan: Rescan) -> None:
    stored = context.stored(attribute.id, dims, _narrowing(distinct, dims))
    if stored is None or not stored.num_rows:
        return
    theirs = stored.rename_columns([*dims, "stored"])
    joined = distinct.join(theirs, list(dims)) if dims else _cross(distinct, theirs)
    differing = joined.filter(pc.not_equal(joined.column(_VALUE), joined.column("stored")))
    if not differing.num_rows:
        return
    key_ids = shape.all_dimension_ids
    # The file's rows of the differing series only, read again (with their keys).
    table = _series_rows(rescan, attribute, dims, differing.select(list(dims)) if dims else None, key_ids)
    written = table.select(key_ids) if all(k in table.column_names for k in key_ids) else None
    rows_of = _rows_by_series(table, differing, dims)
    for index, row in enumerate(differing.to_pylist()):
        series = {d: row[d] for d in dims}
        mine_rows = rows_of(index)
        if index >= MAX_SERIES_CHECKED:
            example = None  # not looked up: too many series differ to check each
        else:
            mine_keys = written.take(pa.array(mine_rows)) if written is not None else None
            example = _uncovered(context, attribute, series, row["stored"], mine_keys, key_ids)
            if example is False:
                continue  # the file rewrites every stored observation that holds the old value
        where = f"series {_series_key(dims, series)}" if dims else "the data set"
        also = f" (e.g. {example})" if example else ""
        report.add(attribute.id,
                   f"{where}: {row[_VALUE]!r} here, but the store holds {row['stored']!r} for observations this "
                   f"file does not rewrite{also}; {attribute.id} has one value per "
                   f"{'series' if dims else 'data set'}: send all of them, or delete them first",
                   table.column(_ROW).take(pa.array(mine_rows)).to_numpy(), rule="attribute-stored-conflict",
                   value=row[_VALUE])


#: A dimension with at most this many distinct codes in the file narrows the store's read to them.
NARROW_CODES = 200


def _narrowing(table: pa.Table, dims) -> dict[str, list[str]]:
    """The file's codes of the attachment dimensions that have few: the store reads only the
    series the file can touch (all of them when every dimension has many codes)."""
    within = {}
    for d in dims:
        codes = pc.unique(table.column(d))
        if len(codes) <= NARROW_CODES:
            within[d] = codes.to_pylist()
    return within


def _rows_by_series(table: pa.Table, differing: pa.Table, dims):
    """A function: index of a `differing` row -> the positions in `table` of its series' rows."""
    if not dims:
        every = np.arange(table.num_rows)
        return lambda index: every
    mine = pc.binary_join_element_wise(*[table.column(d) for d in dims], "\x1f")
    theirs = pc.binary_join_element_wise(*[differing.column(d) for d in dims], "\x1f")
    distinct = pc.unique(theirs)
    position = pc.index_in(mine, value_set=distinct)
    series_of_differing = pc.index_in(theirs, value_set=distinct).to_numpy()
    hits = pc.indices_nonzero(pc.is_valid(position)).to_numpy()
    codes = pc.take(position, pa.array(hits)).to_numpy()
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(distinct) + 1))
    groups = [hits[order[bounds[k]:bounds[k + 1]]] for k in range(len(distinct))]
    return lambda index: groups[series_of_differing[index]]


def _cross(mine: pa.Table, theirs: pa.Table) -> pa.Table:
    pairs = [(m, t) for m in mine.to_pylist() for t in theirs.to_pylist()]
    return pa.Table.from_pylist([{**m, **t} for m, t in pairs])


def _uncovered(context: ValidationContext, attribute: Component, series: dict, old: str, written, key_ids):
    """A stored key holding `old` that the file does not rewrite (as text), or False if none."""
    if context.stored_keys is None:
        return None
    stored = context.stored_keys(attribute.id, series, old)
    if not stored.num_rows:
        return False
    if written is None:
        return ".".join(str(v) for v in stored.slice(0, 1).to_pylist()[0].values())
    left = stored.join(written, list(key_ids), join_type="left anti")
    if not left.num_rows:
        return False
    return ".".join(str(left.column(k)[0].as_py()) for k in key_ids)
