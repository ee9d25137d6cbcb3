"""The mapping: a unit's rows, in its own column names and values, as the DSD's components.

Each mapped column becomes a component column of text (the unit's value through the value
map, numbers scaled), fixed values fill components the unit does not send, and the period
columns become TIME_PERIOD. ROW keeps the unit's own row number, so that validation's report
names the row the unit can find. Values are handled per column and, for value maps and periods,
per distinct value: no Python work per row.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from sdmx_server.ingest.checks import NUMBER
from sdmx_server.ingest.readers import ACTION, ROW, IncomingData
from sdmx_server.ingest.report import ValidationReport
from sdmx_server.registry.shape import DataShape
from sdmx_server.sources.periods import period_column
from sdmx_server.sources.raw import RawData
from sdmx_server.sources.spec import ColumnMap, SourceSpec
from sdmx_server.persian.text import normalise_text

_INTEGER = r"^[+-]?[0-9]+$"


def check_against_dsd(spec: SourceSpec, shape: DataShape) -> list[str]:
    """Targets that are no component of the dataflow's DSD, as `file:line: message`."""
    problems = []
    targets = [(c.target, c.line) for c in spec.columns] + list(spec.fixed_lines.items())
    if spec.period is not None:
        targets.append((spec.period_target, spec.period_line))
    for target, line in targets:
        if shape.component(target) is None:
            known = ", ".join(c.id for c in shape.components)
            problems.append(f"{spec.path}:{line}: {target} is not a component of {shape.dsd_ref} ({known})")
    if shape.time is not None and spec.period is None and shape.time.id not in [c.target for c in spec.columns] \
            and shape.time.id not in spec.fixed:
        problems.append(f"{spec.path}:1: nothing feeds {shape.time.id}: add a period block or map a column to it")
    return problems


def check_against_structures(spec: SourceSpec, artefacts) -> list[str]:
    """`check_against_dsd` for `sdmx-server check`, against the DSDs of the authoring files;
    [] when the dataflow is not among them (it may come from elsewhere)."""
    from sdmx_server.registry.shape import data_shape

    for artefact in artefacts:
        maintainer = getattr(getattr(artefact, "maintainer", None), "id", None)
        if type(artefact).__name__ == "DataflowDefinition" and \
                (maintainer, artefact.id, artefact.version and str(artefact.version)) == spec.dataflow:
            structure = artefact.structure
            if structure is None or getattr(structure, "dimensions", None) is None:
                return []
            return check_against_dsd(spec, data_shape(structure))
    return []


def map_rows(spec: SourceSpec, raw: RawData, shape: DataShape, report: ValidationReport) -> IncomingData | None:
    """The unit's rows as IncomingData, or None when the columns do not fit the mapping (the
    report says which)."""
    for problem in check_against_dsd(spec, shape):
        report.file_error(problem)
    # Headers compare as value maps do: a zero-width non-joiner or an Arabic yeh typed in the
    # unit's header, or in the source file, is no reason to miss a column.
    table = raw.table.rename_columns([normalise_text(n) for n in raw.table.column_names])
    raw = RawData(table, raw.rows, raw.where, raw.parts, raw.strict_columns)
    spec = _normalised(spec)
    names = raw.table.column_names
    missing = [c for c in spec.expected_columns if c not in names]
    if missing:
        report.file_error(
            f"{raw.where}: the mapping of {spec.path.name} expects the column(s) {', '.join(missing)}, "
            f"which the data lacks (it has: {', '.join(names) or 'no columns'})")
    extra = [n for n in names if n not in spec.expected_columns and n not in spec.ignore]
    if extra and raw.strict_columns:
        report.file_error(
            f"{raw.where}: returns the column(s) {', '.join(extra)}, which the mapping of {spec.path.name} "
            "does not expect: map them, or leave them out of the query")
    elif extra:
        report.warn(f"{raw.where}: column(s) {', '.join(extra)} not in the mapping of {spec.path.name}; ignored")
    for part in raw.parts:
        report.warn(part)
    if report.file_errors:
        return None
    n = raw.table.num_rows
    report.rows_read = n
    out: dict[str, pa.Array] = {}
    for column in spec.columns:
        out[column.target] = _mapped(column, raw.table.column(column.source), raw.rows, report)
    for target, value in spec.fixed.items():
        out[target] = pa.repeat(pa.scalar(value, pa.string()), n)
    if spec.period is not None:
        out[spec.period_target] = _period(spec, raw, report)
    out[ROW] = raw.rows
    out[ACTION] = pa.nulls(n, pa.string())
    if not report.ok:
        return None
    return IncomingData(pa.table(out), f"{spec.kind} source {spec.id} ({raw.where})", row_label="row",
                        notes={"source": spec.id, "source_file": str(spec.path)})


def _normalised(spec: SourceSpec) -> SourceSpec:
    from dataclasses import replace

    columns = [replace(c, source=normalise_text(c.source)) for c in spec.columns]
    period = spec.period
    if period is not None:
        period = replace(period, **{k: normalise_text(getattr(period, k)) for k in ("column", "year", "month", "quarter")
                                    if getattr(period, k)})
    return replace(spec, columns=columns, period=period, ignore=tuple(normalise_text(i) for i in spec.ignore))


def as_text(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A column of any type as text, as the unit would write it (whole floats without '.0')."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_floating(array.type):
        whole = pc.equal(array, pc.floor(array))
        if pc.all(pc.fill_null(whole, True)).as_py():
            array = array.cast(pa.int64())
    elif pa.types.is_timestamp(array.type) or pa.types.is_date(array.type):
        array = array.cast(pa.date32()) if pa.types.is_timestamp(array.type) else array
    elif pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), pa.string())
    text = array if pa.types.is_string(array.type) else array.cast(pa.string())
    return pc.fill_null(text, "")


def normalise(text: pa.Array) -> pa.Array:
    """Persian digits as ASCII, Arabic yeh/kaf as Persian, spaces trimmed: only where needed."""
    text = pc.utf8_trim_whitespace(text)
    if not pc.any(pc.match_substring_regex(text, "[\u0600-\u06ff\u200c]")).as_py():
        return text
    distinct = pc.unique(text)
    cleaned = pa.array([normalise_text(v) for v in distinct.to_pylist()], pa.string())
    return pc.take(cleaned, pc.index_in(text, value_set=distinct))


def _mapped(column: ColumnMap, values, rows: pa.Array, report: ValidationReport) -> pa.Array:
    text = normalise(as_text(values))
    if column.values:
        keys = pa.array(list(column.values), pa.string())
        codes = pa.array(list(column.values.values()), pa.string())
        found = pc.index_in(text, value_set=keys)
        # A value the map does not name passes as it is: validation then names it and its rows.
        text = pc.if_else(pc.is_valid(found), pc.take(codes, found), text)
    if column.scale is not None:
        text = _scaled(column, text, rows, report)
    return text


def _scaled(column: ColumnMap, text: pa.Array, rows: pa.Array, report: ValidationReport) -> pa.Array:
    plain = pc.replace_substring(text, ",", "")  # 12,500: thousands separators as units type them
    numeric = pc.match_substring_regex(plain, NUMBER)
    empty = pc.equal(plain, "")
    bad = pc.and_(pc.invert(numeric), pc.invert(empty))
    if pc.any(bad).as_py():
        positions = pc.indices_nonzero(bad).to_numpy()
        for value in pc.unique(pc.take(text, positions)).to_pylist()[:100]:
            where = pc.indices_nonzero(pc.equal(text, value)).to_numpy()
            report.add(column.target, f"{value!r} (column {column.source}) is not a number to scale",
                       rows.to_numpy()[where])
    filled = pc.if_else(numeric, plain, "0")
    if isinstance(column.scale, int) and pc.all(pc.or_(pc.match_substring_regex(plain, _INTEGER), empty)).as_py():
        scaled = pc.multiply_checked(pc.if_else(empty, "0", filled).cast(pa.int64()), column.scale).cast(pa.string())
    else:
        scaled = pc.multiply(filled.cast(pa.float64()), float(column.scale)).cast(pa.string())
    return pc.if_else(numeric, scaled, text)


def _period(spec: SourceSpec, raw: RawData, report: ValidationReport) -> pa.Array:
    rule = spec.period
    table = raw.table
    if rule.column:
        texts = normalise(as_text(table.column(rule.column)))
        shown = rule.column
    else:
        parts = [normalise(as_text(table.column(c))) for c in (rule.year, rule.month or rule.quarter) if c]
        texts = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "|")
        shown = " + ".join(c for c in (rule.year, rule.month or rule.quarter) if c)
    periods, problems = period_column(rule, texts)
    row_numbers = raw.rows.to_numpy()
    for value, why in problems.items():
        where = pc.indices_nonzero(pc.equal(texts, value)).to_numpy()
        report.add(spec.period_target, f"{value.replace('|', ' ')!r} (column {shown}): {why}", row_numbers[where])
    empty = pc.is_null(periods)
    blank = pc.and_(empty, pc.invert(pc.is_in(texts, value_set=pa.array(list(problems), pa.string()))))
    if pc.any(blank).as_py():
        report.add(spec.period_target, f"empty (column {shown}): every row needs its period",
                   row_numbers[pc.indices_nonzero(blank).to_numpy()])
    return periods
