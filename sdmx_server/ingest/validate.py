"""Validation of incoming data against its DSD, a batch at a time.

Every check runs over a batch's whole columns (see checks.py) and adds to one report; the checks
across batches (duplicates, attribute values per series) gather compact state and settle at the
end. The load is applied only when the report is clean. The output is the table the store writes: dimension and
attribute columns as text, the measure as a number where the DSD says so, and the period
bounds that let queries filter by time.
"""

from __future__ import annotations

from functools import partial
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sdmx_server.ingest.checks import (
    NUMBER, check_codes, check_facets, check_float_range, check_text, empty_to_null, report_by_value,
)
from sdmx_server.ingest.consistency import SeriesValues, check_attribute_conflicts, check_constraints
from sdmx_server.ingest.duplicates import KeyCheck
from sdmx_server.ingest.spool import Spool
from sdmx_server.ingest.context import ValidationContext
from sdmx_server.ingest.permitted import check_region
from sdmx_server.ingest.readers import ACTION, ROW, IncomingData
from sdmx_server.ingest.report import ValidationReport
from sdmx_server.query.periods import parse_period, period_bounds
from sdmx_server.registry.shape import INTEGER_TYPES, Component, DataShape
from sdmx_server.store.incoming import ValidatedData
from sdmx_server.store.tables import PERIOD_END, PERIOD_START

ACTION_CODES = {"merge": "M", "replace": "R", "delete": "D"}

#: Told each checked batch: (its validated columns, the components the load carries, whether
#: every row so far came in key order).
EarlyWrite = Callable[[pa.Table, frozenset, bool], None]

#: For the standard FREQ codes, the frequencies a period of that series may have.
_FREQ_AGREES = {"A": {"A"}, "S": {"S"}, "Q": {"Q"}, "M": {"M"}, "W": {"W"}, "D": {"D"}, "B": {"D"}}


def validate(incoming: IncomingData, shape: DataShape, default_action: str, report: ValidationReport,
             context: ValidationContext | None = None, spool_dir=None, progress=None,
             early: EarlyWrite | None = None) -> ValidatedData | None:
    """The store's input, or None when the report holds any error. `context` brings the
    dataflow's content constraints and the store's attribute values (ingest/context.py).
    `early` is handed each checked batch as well, with the components the load carries and
    whether every row so far came in key order (store/early.py writes a first load meanwhile).

    The reader's batches are checked one at a time as they come and spooled in their validated
    form (ingest/spool.py); what must be seen across batches (duplicates, key order, attribute
    values per series) is gathered in compact form and settled at the end."""
    report.row_label = incoming.row_label
    report.format = report.format or incoming.format
    default = ACTION_CODES[default_action]
    spool = Spool(spool_dir)
    keys = KeyCheck(list(shape.all_dimension_ids), report)
    series = SeriesValues(shape)
    once: set[str] = set()
    actions: set[str] = set()
    present: frozenset[str] | None = None
    try:
        for batch in incoming.batches():
            out = _validate_batch(batch, shape, default, report, context, once)
            writes = pc.not_equal(out[ACTION], "D")
            rows = out[ROW].to_numpy()
            series.add(out, writes, rows)
            keys.add(out, writes, rows)
            actions.update(pc.unique(out[ACTION]).to_pylist())
            if present is None:
                present = frozenset(c.id for c in shape.components if c.id in out)
            checked = pa.table(out)
            spool.add(checked)
            if early is not None:
                early(checked, present, keys.complete and keys.sorted)
            if progress is not None:
                progress("validate", spool.rows, None)
        spool.finish()
        report.rows_read = report.rows_read or spool.rows  # (a streaming reader counts as it goes)
        if report.file_errors:  # the file could not be read as it meant: nothing else is said
            report.only_file_errors()
            spool.close()
            return None
        rescan = partial(_rescan, spool)
        check_attribute_conflicts(report, shape, context, series, rescan)
        keys.finish(rescan)
    except BaseException:
        spool.close()
        raise
    if not report.ok:
        spool.close()
        return None
    # One action for the whole file, in key order: the rows go to the store as they are.
    in_order = keys.complete and keys.sorted and len(actions) == 1
    return ValidatedData(None, present or frozenset(), in_order, stream=spool.batches, count=spool.rows,
                         release=spool.close)


def _rescan(spool: Spool):
    """The spooled batches as the cross-batch checks read them again."""
    for batch in spool.batches():
        columns = {name: batch.column(name).combine_chunks() for name in batch.column_names}
        yield columns, pc.not_equal(columns[ACTION], "D"), columns[ROW].to_numpy()


def _validate_batch(table: pa.Table, shape: DataShape, default: str, report: ValidationReport,
                    context: ValidationContext | None, once: set[str]) -> dict[str, pa.Array]:
    """One batch's checks of each row on its own; its validated columns."""
    n = table.num_rows
    rows = table.column(ROW).to_numpy()
    action = pc.fill_null(table.column(ACTION), default).combine_chunks()
    writes = pc.not_equal(action, "D")  # rows that must be complete observations
    out: dict[str, pa.Array] = {}

    for component in shape.dimensions + ((shape.time,) if shape.time else ()):
        if component.id not in table.column_names:
            continue  # only delete rows may lack a dimension column (the reader checked)
        values = empty_to_null(table.column(component.id))
        missing = pc.and_(writes, pc.is_null(values))
        report.add(component.id, "empty: every observation needs a value for each dimension",
                   rows[pc.indices_nonzero(missing).to_numpy()], rule="missing-dimension")
        if component.role == "time":
            out[PERIOD_START], out[PERIOD_END] = _check_periods(report, component, values, rows)
        elif component.coded:
            check_codes(report, component, values, rows)
        else:
            check_text(report, component, values, rows)
        out[component.id] = values

    if shape.time is not None and shape.time.id in out:
        _check_frequency(report, shape, out, rows)

    measure = shape.measure
    if measure.id in table.column_names:
        out[measure.id] = _measure(report, measure, empty_to_null(table.column(measure.id)), rows)

    for attribute in shape.attributes:
        if attribute.id not in table.column_names:
            if attribute.mandatory and attribute.id not in once and pc.any(writes).as_py():
                once.add(attribute.id)  # (said once, at the first row that needs it)
                report.add(attribute.id, f"the mandatory attribute {attribute.id} has no column",
                           rows[pc.indices_nonzero(writes).to_numpy()][:1], rule="mandatory-attribute")
            continue
        values = empty_to_null(table.column(attribute.id))
        if attribute.mandatory:
            missing = pc.and_(writes, pc.is_null(values))
            report.add(attribute.id, f"empty, but {attribute.id} is mandatory",
                       rows[pc.indices_nonzero(missing).to_numpy()], rule="mandatory-attribute")
        if attribute.coded:
            check_codes(report, attribute, values, rows)
        else:
            check_text(report, attribute, values, rows)
        out[attribute.id] = values

    if context is not None and context.constraints:
        check_constraints(report, shape, context, out, writes, rows)
    if context is not None and context.region is not None:
        check_region(report, shape, context.region, context.scope, out, rows)
    if PERIOD_START not in out:
        out[PERIOD_START] = pa.nulls(n, pa.int64())
        out[PERIOD_END] = pa.nulls(n, pa.int64())
    out[ACTION] = action
    out[ROW] = table.column(ROW).combine_chunks().cast(pa.int64())
    return out


def _check_periods(report, component: Component, values: pa.Array, rows: np.ndarray):
    starts, ends, valid = period_bounds(values)
    bad = pc.and_(pc.is_valid(values), pc.invert(valid))

    def explain(value: str) -> str:
        try:
            parse_period(value)
        except ValueError as exc:
            return f"{value!r} is not an SDMX time period: {exc}"
        return f"{value!r} is not an SDMX time period"

    report_by_value(report, component.id, values, bad, rows, explain, rule="period")
    return starts, ends


def _check_frequency(report, shape: DataShape, out: dict, rows: np.ndarray) -> None:
    """A monthly series holds months: FREQ and the form of TIME_PERIOD must agree."""
    freq = next((d for d in shape.dimensions if d.id == "FREQ"), None)
    if freq is None or freq.id not in out:
        return
    periods = out[shape.time.id]
    frequencies = out[freq.id]
    pairs = pa.table({"f": frequencies, "p": periods}).group_by(["f", "p"]).aggregate([])
    for f, p in zip(pairs.column("f").to_pylist(), pairs.column("p").to_pylist()):
        if f not in _FREQ_AGREES or p is None:
            continue
        try:
            own = parse_period(p).frequency
        except ValueError:
            continue
        if own and own not in _FREQ_AGREES[f]:
            mask = pc.and_(pc.equal(frequencies, f), pc.equal(periods, p))
            report.add(shape.time.id, f"{p!r} is not a period of frequency {f} ({freq.id})",
                       rows[pc.indices_nonzero(mask).to_numpy()], rule="frequency", value=p)


def _measure(report, measure: Component, values: pa.Array, rows: np.ndarray) -> pa.Array:
    if not measure.numeric:
        check_text(report, measure, values, rows)
        return values
    bad = pc.and_(pc.is_valid(values), pc.invert(pc.match_substring_regex(values, NUMBER)))
    report_by_value(report, measure.id, values, bad, rows, lambda v: f"{v!r} is not a number", rule="number")
    if pc.any(bad).as_py():
        return pa.nulls(len(values), pa.float64())  # (rejected: only the column's type matters now)
    if measure.text_type in INTEGER_TYPES:
        check_text(report, measure, values, rows)  # (an integer type: the integer form too)
    else:
        # What check_text would add to the number check is its facets: a number holds no
        # control character, and its form is NUMBER's (two passes of a regex over every value).
        check_facets(report, measure, values, rows, numbers=pc.is_valid(values))
    return check_float_range(report, measure, values, rows)
