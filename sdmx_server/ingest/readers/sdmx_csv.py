"""SDMX-CSV 1.0 and 2.0 in: a file becomes one string column per component.

The version is told by the first header field: DATAFLOW (1.0) or STRUCTURE (2.0); the
separator is the character that follows it. Values stay text here; the validator decides what
they mean. Columns that name no component of the DSD (custom columns, which both versions
allow) are set aside with a warning.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from sdmx_server.ingest.readers import ACTION, ROW, IncomingData
from sdmx_server.ingest.report import ValidationReport
from sdmx_server.registry.shape import DataShape

_HEADER_V1 = re.compile(r"^DATAFLOW(?P<sep>[^A-Za-z0-9_\[])")
_HEADER_V2 = re.compile(r"^STRUCTURE(\[(?P<sub>[^\]]*)\])?(?P<sep>[^A-Za-z0-9_\[])")
_ACTIONS = {"I": "M", "A": "M", "M": "M", "R": "R", "D": "D"}


def read_sdmx_csv(
    path: Path,
    shape: DataShape,
    flow: tuple[str, str, str],
    report: ValidationReport,
) -> IncomingData | None:
    """Read the file; None when it cannot be read at all (the report says why)."""
    with open(path, "rb") as f:
        head = f.read(64 * 1024)
    text_head = head.decode("utf-8-sig", errors="replace")
    first_line = text_head.splitlines()[0] if text_head else ""
    # Spreadsheets may quote the header fields: look at the first field without its quotes.
    unquoted = re.sub(r'^"([^"]*)"', r"\1", first_line)
    if m := _HEADER_V1.match(unquoted):
        version = "1.0"
    elif m := _HEADER_V2.match(unquoted):
        version = "2.0"
    else:
        report.file_error(
            "row 1: not SDMX-CSV: the first column must be DATAFLOW (SDMX-CSV 1.0) or STRUCTURE (SDMX-CSV 2.0)"
        )
        return None
    separator = m.group("sep")
    header = next(csv.reader(io.StringIO(first_line), delimiter=separator))
    names = [f"c{i}" for i in range(len(header))]

    bad_rows: list[tuple[int | None, str]] = []

    def on_invalid_row(row) -> str:
        bad_rows.append((row.number, row.text))
        return "skip"

    try:
        table = _read(path, names, separator, on_invalid_row, threads=True)
        if bad_rows:
            # Threads cannot tell where a bad row was: read again, in one thread, to say.
            bad_rows.clear()
            table = _read(path, names, separator, on_invalid_row, threads=False)
    except (pa.ArrowInvalid, OSError) as exc:
        report.file_error(f"the file cannot be read as CSV: {_arrow_message(exc)}")
        return None
    for number, text in bad_rows[:50]:
        where = f"row {number}" if number else "a row"
        report.file_error(f"{where}: expected {len(header)} fields as in the header, found another number: {text[:80]!r}")
    if bad_rows:
        if len(bad_rows) > 50:
            report.file_error(f"... and {len(bad_rows) - 50:,} more rows with the wrong number of fields")
        return None
    report.rows_read = table.num_rows
    return _to_incoming(table, header, version, shape, flow, report)


def _read(path, names, separator, on_invalid_row, threads: bool) -> pa.Table:
    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, use_threads=threads, block_size=1 << 22),
        parse_options=pacsv.ParseOptions(
            delimiter=separator, newlines_in_values=True, invalid_row_handler=on_invalid_row
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _to_incoming(table, header, version, shape, flow, report) -> IncomingData | None:
    n = table.num_rows
    rows = pa.array(range(2, n + 2), pa.int64())
    columns: dict[str, pa.ChunkedArray] = {}
    action = None
    start = 1
    if version == "1.0":
        _check_structure_ids(table.column(0), "DATAFLOW", flow, shape, report)
    else:
        start = 2
        _check_structure_kind(table.column(0), report)
        if len(header) > 1:
            _check_structure_ids(table.column(1), "STRUCTURE_ID", flow, shape, report)
        if len(header) > 2 and header[2].strip() == "ACTION":
            action = _actions(table.column(2), rows, report)
            start = 3
    labelled = any(": " in h for h in header[start:])
    seen: set[str] = set()
    for index in range(start, len(header)):
        name = header[index].split(": ", 1)[0].strip()
        component = shape.component(name)
        if name in ("SERIES_KEY", "OBS_KEY") or component is None:
            report.warn(f"column {header[index]!r} is not a component of {shape.dsd_ref}; ignored")
            continue
        if name in seen:
            report.file_error(f"row 1: column {name} appears twice")
            continue
        seen.add(name)
        column = table.column(index)
        if labelled and component.coded:
            column = _strip_labels(column)
        columns[name] = column
    for dim in shape.all_dimension_ids:
        if dim not in columns and (action is None or not _all_delete(action)):
            report.file_error(f"row 1: the dimension column {dim} is missing")
    if report.file_errors:
        return None
    arrays = dict(columns)
    arrays[ROW] = rows
    arrays[ACTION] = action if action is not None else pa.nulls(n, pa.string())
    return IncomingData(pa.table(arrays), f"SDMX-CSV {version}")


def _strip_labels(column: pa.ChunkedArray) -> pa.Array:
    """'A: Annual' -> 'A' (SDMX-CSV labels=both)."""
    return pc.replace_substring_regex(column, pattern=r": .*$", replacement="")


def _check_structure_kind(column, report: ValidationReport) -> None:
    allowed = {"dataflow", "datastructure"}
    for value in pc.unique(column).to_pylist():
        if value.strip().lower() not in allowed:
            rows = pc.indices_nonzero(pc.equal(column, value)).to_numpy() + 2
            report.add("STRUCTURE", f"{value!r}: only dataflow and datastructure rows can be loaded here", rows)


def _check_structure_ids(column, name: str, flow, shape: DataShape, report: ValidationReport) -> None:
    agency, flow_id, version = flow
    accepted = {
        f"{agency}:{flow_id}({version})", f"{agency}:{flow_id}",
        shape.dsd_ref, f"{shape.dsd[0]}:{shape.dsd[1]}",
    }
    for value in pc.unique(column).to_pylist():
        if value.strip() in accepted:
            continue
        rows = pc.indices_nonzero(pc.equal(column, value)).to_numpy() + 2
        report.add(name, f"{value!r} is not the dataflow being loaded ({agency}:{flow_id}({version}))", rows)


def _actions(column, rows, report: ValidationReport) -> pa.Array:
    upper = pc.utf8_upper(pc.utf8_trim_whitespace(column.combine_chunks()))
    for value in pc.unique(upper).to_pylist():
        if value and value not in _ACTIONS:
            bad = pc.indices_nonzero(pc.equal(upper, value)).to_numpy() + 2
            report.add("ACTION", f"{value!r} is not an action (I, A, M, R or D)", bad)
    keys = pa.array(list(_ACTIONS))
    mapped = pa.array(list(_ACTIONS.values()))
    return pc.take(mapped, pc.index_in(upper, value_set=keys))


def _all_delete(action: pa.Array) -> bool:
    return pc.all(pc.equal(pc.fill_null(action, ""), "D")).as_py() is True


def _arrow_message(exc: Exception) -> str:
    text = str(exc)
    if "invalid UTF8" in text:
        return "it is not UTF-8 text (save it as CSV UTF-8)"
    return text.splitlines()[0]
