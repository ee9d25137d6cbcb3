"""SDMX-CSV 1.0 and 2.0 in: a file becomes one string column per component.

The version is told by the first header field: DATAFLOW (1.0) or STRUCTURE (2.0); the
separator is the character that follows it. Values stay text here; the validator decides what
they mean. Columns that name no component of the DSD (custom columns, which both versions
allow) are set aside with a warning. The rows are handed over a batch at a time: the file is
never held whole.

Nothing is read silently wrong: a quote that opens and does not close where it should swallows
the following lines into one value, which is reported at the row where it opened; a row longer
than the parser's block (MAX_ROW_BYTES) is reported with its row, never with the parser's own
words (csv_faults.py finds and words them). The source is a path or an open binary file (an
upload's body), read twice at most.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from sdmx_server.ingest.readers import ACTION, BATCH_ROWS, ROW, IncomingData, Source, closing
from sdmx_server.ingest.readers.csv_faults import (
    MAX_ROW_BYTES, BadRows, RowHandler, Suspect, arrow_message, check_rows, count_marks, report_bad_rows,
    report_long_row, report_unhandled_row,
)
from sdmx_server.ingest.report import ValidationReport
from sdmx_server.registry.shape import DataShape

_HEADER_V1 = re.compile(r"^DATAFLOW(?P<sep>[^A-Za-z0-9_\[])")
_HEADER_V2 = re.compile(r"^STRUCTURE(\[(?P<sub>[^\]]*)\])?(?P<sep>[^A-Za-z0-9_\[])")
_ACTIONS = {"I": "M", "A": "M", "M": "M", "R": "R", "D": "D"}
#: The block the parser reads rows in while they are shorter (it reads up to 32 ahead).
READ_BLOCK = 1 << 20


def read_sdmx_csv(
    source: Source,
    shape: DataShape,
    flow: tuple[str, str, str],
    report: ValidationReport,
) -> IncomingData | None:
    """Read the file; None when it cannot be read at all (the report says why)."""
    if isinstance(source, (str, Path)):
        f = open(source, "rb")
        return closing(_read_source(f, shape, flow, report), f)
    source.seek(0)
    return _read_source(source, shape, flow, report)


def _read_source(f, shape: DataShape, flow, report: ValidationReport) -> IncomingData | None:
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
            "not SDMX-CSV: the first column must be DATAFLOW (SDMX-CSV 1.0) or STRUCTURE (SDMX-CSV 2.0)",
            rule="not-data", row=1,
        )
        return None
    separator = m.group("sep")
    header = next(csv.reader(io.StringIO(first_line), delimiter=separator))
    plan = _plan(header, version, shape, report)
    if plan is None:
        return None
    counts = count_marks(f)
    if counts[1] % 2:
        # A quote left open somewhere (an odd count): found before any row is handed over, so
        # that the file is refused as unreadable, its rows unread.
        first_look = ValidationReport(max_groups=report.max_groups)
        for _ in _stream(f, header, version, plan, separator, counts, flow, shape, first_look):
            pass
        if first_look.file_errors:
            for group in first_look.groups:
                if group.message in first_look.file_errors:
                    report.file_error(group.message, rule=group.rule, column=group.column,
                                      row=group.rows[0] if group.rows else None, value=group.value)
            return None
    stream = _stream(f, header, version, plan, separator, counts, flow, shape, report)
    return IncomingData(None, f"SDMX-CSV {version}", stream=stream)


def _plan(header: list[str], version: str, shape: DataShape, report: ValidationReport):
    """From the header: (component id -> column index, whether labelled, the ACTION column's
    index or None); None when the header alone makes the file unreadable (the report says why)."""
    action = None
    start = 1
    if version == "2.0":
        start = 2
        if len(header) > 2 and header[2].strip() == "ACTION":
            action = 2
            start = 3
    labelled = any(": " in h for h in header[start:])
    columns: dict[str, int] = {}
    for index in range(start, len(header)):
        name = header[index].split(": ", 1)[0].strip()
        component = shape.component(name)
        if name in ("SERIES_KEY", "OBS_KEY") or component is None:
            report.warn(f"column {header[index]!r} is not a component of {shape.dsd_ref}; ignored")
            continue
        if name in columns:
            report.file_error(f"column {name} appears twice", rule="csv-header", column=name, row=1)
            continue
        columns[name] = index
    missing = [dim for dim in shape.all_dimension_ids if dim not in columns]
    if action is None:  # (with an ACTION column, a file of deletes only may leave them out)
        for dim in missing:
            report.file_error(f"the dimension column {dim} is missing", rule="missing-column", column=dim, row=1)
    if report.file_errors:
        return None
    return columns, labelled, action, missing


def _stream(f, header, version, plan, separator, counts, flow, shape: DataShape, report: ValidationReport):
    """The file's rows a batch at a time (`_tables`), each as the columns validation
    reads; the problems of the whole file (bad rows, open quotes) reported at the end."""
    names = [f"c{i}" for i in range(len(header))]
    bad = BadRows()
    offset = 0
    suspect = Suspect(separator, len(header))
    try:
        for table in _tables(f, names, separator, bad):
            if not check_rows(table, offset, suspect, report):
                break
            yield _to_incoming(table, offset, header, version, plan, flow, shape, report)
            offset += table.num_rows
    except (pa.ArrowInvalid, OSError) as exc:
        if "straddl" in str(exc):
            report_long_row(f, report)
        elif not report_unhandled_row(lambda handler: _open(f, names, separator, handler, threads=False), header,
                                      exc, report):
            report.file_error(f"the file cannot be read as CSV: {arrow_message(exc)}", rule="csv")
    if offset == 0:
        yield _to_incoming(_empty(names), 0, header, version, plan, flow, shape, report)
    report.rows_read = offset
    if bad.rows:
        # Threads cannot tell where a bad row was: read again, in one thread, to say.
        bad.rows.clear()
        try:
            for _ in _open(f, names, separator, bad, threads=False):
                pass
        except (pa.ArrowInvalid, OSError):
            pass
        report_bad_rows(bad.rows, header, separator, report)
        return
    line_ends, quotes = counts
    if report.ok and (line_ends > offset + 1 or quotes % 2 == 1):
        # Cheap signs that a value swallowed lines: look at the values again, only then.
        suspect.unbalanced = quotes % 2 == 1
        seen = 0
        for batch in _open(f, names, separator, bad, threads=True):
            suspect.check(pa.Table.from_batches([batch]), seen, report)
            seen += batch.num_rows
        suspect.finish(report)


def _tables(f, names, separator, bad: BadRows):
    """The file's rows in tables of about BATCH_ROWS, parsed in blocks of READ_BLOCK (the parser
    reads up to 32 blocks ahead: memory is bounded by the block). A row longer than a block
    cannot be parsed across two: then the file is read again, on from the rows already handed
    over, in blocks of MAX_ROW_BYTES, the longest a row may be."""
    done, block = 0, READ_BLOCK
    while True:
        skip, pending, count = done, [], 0
        try:
            for batch in _open(f, names, separator, bad, threads=True, block=block):
                if skip:
                    if batch.num_rows <= skip:
                        skip -= batch.num_rows
                        continue
                    batch, skip = batch.slice(skip), 0
                pending.append(batch)
                count += batch.num_rows
                if count >= BATCH_ROWS:
                    yield pa.Table.from_batches(pending)
                    done, pending, count = done + count, [], 0
            if pending:
                yield pa.Table.from_batches(pending)
            return
        except pa.ArrowInvalid as exc:
            if "straddl" not in str(exc) or block >= MAX_ROW_BYTES:
                raise
            block = MAX_ROW_BYTES
            bad.rows.clear()  # (read again from the start: said again)


def _empty(names) -> pa.Table:
    return pa.table({n: pa.array([], pa.string()) for n in names})


def _open(f, names, separator, handler: RowHandler, threads: bool, block: int | None = None):
    f.seek(0)
    return pacsv.open_csv(
        f,
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, use_threads=threads,
                                       block_size=block or MAX_ROW_BYTES),
        parse_options=pacsv.ParseOptions(
            delimiter=separator, newlines_in_values=True, invalid_row_handler=handler
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _to_incoming(table, offset, header, version, plan, flow, shape, report) -> pa.Table:
    """One block of the file as validation reads it: component columns, ROW, ACTION."""
    columns_at, labelled, action_at, missing = plan
    n = table.num_rows
    rows = pa.array(np.arange(offset + 2, offset + n + 2, dtype=np.int64))
    action = None
    if version == "1.0":
        _check_structure_ids(table.column(0), "DATAFLOW", flow, shape, report, offset)
    else:
        _check_structure_kind(table.column(0), report, offset)
        if len(header) > 1:
            _check_structure_ids(table.column(1), "STRUCTURE_ID", flow, shape, report, offset)
        if action_at is not None:
            action = _actions(table.column(action_at), report, offset)
    if missing and action is not None and not _all_delete(action):
        for dim in missing:
            if f"the dimension column {dim} is missing" not in report.file_errors:
                report.file_error(f"the dimension column {dim} is missing", rule="missing-column", column=dim, row=1)
    arrays: dict[str, pa.Array] = {}
    for name, index in columns_at.items():
        column = table.column(index)
        if labelled and shape.component(name).coded:
            column = _strip_labels(column)
        arrays[name] = column
    arrays[ROW] = rows
    arrays[ACTION] = action if action is not None else pa.nulls(n, pa.string())
    return pa.table(arrays)


def _strip_labels(column: pa.ChunkedArray) -> pa.Array:
    """'A: Annual' -> 'A' (SDMX-CSV labels=both)."""
    return pc.replace_substring_regex(column, pattern=r": .*$", replacement="")


def _check_structure_kind(column, report: ValidationReport, offset: int) -> None:
    allowed = {"dataflow", "datastructure"}
    for value in pc.unique(column).to_pylist():
        if value.strip().lower() not in allowed:
            rows = pc.indices_nonzero(pc.equal(column, value)).to_numpy() + offset + 2
            report.add("STRUCTURE", f"{value!r}: only dataflow and datastructure rows can be loaded here", rows,
                       rule="structure", value=value)


def _check_structure_ids(column, name: str, flow, shape: DataShape, report: ValidationReport, offset: int) -> None:
    agency, flow_id, version = flow
    accepted = {
        f"{agency}:{flow_id}({version})", f"{agency}:{flow_id}",
        shape.dsd_ref, f"{shape.dsd[0]}:{shape.dsd[1]}",
    }
    for value in pc.unique(column).to_pylist():
        if value.strip() in accepted:
            continue
        rows = pc.indices_nonzero(pc.equal(column, value)).to_numpy() + offset + 2
        report.add(name, f"{value!r} is not the dataflow being loaded ({agency}:{flow_id}({version}))", rows,
                   rule="structure", value=value)


def _actions(column, report: ValidationReport, offset: int) -> pa.Array:
    upper = pc.utf8_upper(pc.utf8_trim_whitespace(column.combine_chunks()))
    for value in pc.unique(upper).to_pylist():
        if value and value not in _ACTIONS:
            bad = pc.indices_nonzero(pc.equal(upper, value)).to_numpy() + offset + 2
            report.add("ACTION", f"{value!r} is not an action (I, A, M, R or D)", bad, rule="action", value=value)
    keys = pa.array(list(_ACTIONS))
    mapped = pa.array(list(_ACTIONS.values()))
    return pc.take(mapped, pc.index_in(upper, value_set=keys))


def _all_delete(action: pa.Array) -> bool:
    return pc.all(pc.equal(pc.fill_null(action, ""), "D")).as_py() is True


