"""What in an SDMX-CSV file the parser cannot read as its header says, reported at its row.

Rows of the wrong width (pyarrow hands them to a handler, which collects them), quotes that
open and do not close where they should (a value that swallowed the following lines), rows
longer than the parser's block: each is an error with its row, in words a person can act on,
never pyarrow's own. Used by sdmx_csv.py, which reads the rows.

pyarrow decodes a bad row's text before it calls the handler; a row that is not UTF-8 fails
there, and pyarrow writes that failure as an "Exception ignored" message with its traceback to
stderr, before the parse error that follows (which names the row and is reported from here). On
a terminal running `load-data` that would be a Python traceback: the process's unraisable hook
drops that one failure of our own handlers, and passes everything else on.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sys
import threading
from typing import Callable, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from sdmx_server.ingest.report import ValidationReport

#: The parser's block: a row must fit in one (pyarrow cannot parse a row across two).
MAX_ROW_BYTES = 1 << 22


class RowHandler:
    """pyarrow's handler of rows of the wrong width; a subclass says what to do with them."""

    def __init__(self) -> None:
        _quiet_undecodable_rows()

    def __call__(self, row) -> str:
        return "skip"


class SkipRows(RowHandler):
    """Skips them (they were collected by an earlier pass)."""


class BadRows(RowHandler):
    """Collects them, (row number or None, text), and skips them."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[int | None, str]] = []

    def __call__(self, row) -> str:
        self.rows.append((row.number, row.text))
        return "skip"


_HOOK_LOCK = threading.Lock()


def _quiet_undecodable_rows() -> None:
    """Installs (once over whatever hook is there) the unraisable hook the docstring explains."""
    with _HOOK_LOCK:
        current = sys.unraisablehook
        if getattr(current, "sdmx_quiets_undecodable_rows", False):
            return

        def hook(unraisable) -> None:
            if isinstance(unraisable.object, RowHandler) and isinstance(unraisable.exc_value, UnicodeDecodeError):
                return  # (the parse error that follows is reported, at its row)
            current(unraisable)

        hook.sdmx_quiets_undecodable_rows = True
        sys.unraisablehook = hook


_UNHANDLED = re.compile(r"Row #(\d+): Expected \d+ columns, got (\d+): (.*)", re.S)


def report_unhandled_row(open_again: Callable[[object], Iterator], header, exc: Exception,
                         report: ValidationReport) -> bool:
    """A row with the wrong number of fields that pyarrow could not hand to the reader's
    handler (it decodes the row's text first, and a row that is not UTF-8 fails there, so it
    stops the read instead): read again in one thread (`open_again(handler)`), where pyarrow's
    own error names the row. Reported as report_bad_rows would; False when the error is another."""
    if "columns, got" not in str(exc):
        return False
    try:
        # (the rows the handler could take were collected in the first pass: skipped here)
        for _ in open_again(SkipRows()):
            pass
    except (pa.ArrowInvalid, OSError) as again:
        found = _UNHANDLED.search(str(again))
        if found is None:
            return False
        _wrong_width(report, header, f"{int(found.group(2)):,}", found.group(3), int(found.group(1)))
        return True
    return False


def report_bad_rows(bad_rows, header, separator, report: ValidationReport) -> None:
    for number, text in bad_rows[:50]:
        if "\n" in text or "\r" in text or text.count('"') % 2:
            lines = len(text.splitlines()) - 1
            what = f"the next {lines:,} line(s) were read into this row" if lines else "the row ends inside it"
            report.file_error(
                f"a quote opens in this row and does not close at its end: {what}; close the quote, or write a "
                "quote inside a value as two (\"\")", rule="csv-quote", row=number)
        else:
            _wrong_width(report, header, _fields(text, separator), text, number)
    if len(bad_rows) > 50:
        report.file_error(f"... and {len(bad_rows) - 50:,} more rows with the wrong number of fields",
                          rule="csv-fields")


def _wrong_width(report: ValidationReport, header, found: str, text: str, row: int | None) -> None:
    report.file_error(f"expected {len(header)} fields as in the header, found {found}: {text[:80]!r}",
                      rule="csv-fields", row=row)



def arrow_message(exc: Exception) -> str:
    text = str(exc)
    if "invalid UTF8" in text:
        return "it is not UTF-8 text (save it as CSV UTF-8)"
    return text.splitlines()[0]



def _fields(text: str, separator: str) -> str:
    try:
        return f"{len(next(csv.reader(io.StringIO(text), delimiter=separator))):,}"
    except (csv.Error, StopIteration):
        return "another number"


def check_rows(table: pa.Table, offset: int, suspect: "Suspect", report: ValidationReport) -> bool:
    """A row longer than a block: whether the parser takes one depends on where it falls, so it
    is refused wherever it falls (looked for only when the block's longest values say it may
    be there)."""
    if not table.num_rows:
        return True
    widest = sum(pc.max(pc.binary_length(c)).as_py() or 0 for c in table.columns)
    if widest + table.num_columns > MAX_ROW_BYTES:
        lengths = None
        for column in table.columns:
            size = pc.binary_length(column)
            lengths = size if lengths is None else pc.add(lengths, size)
        lengths = pc.add(lengths, table.num_columns)
        too_long = pc.greater(lengths, MAX_ROW_BYTES)
        if pc.any(too_long).as_py():
            position = pc.index(too_long, True).as_py()
            _too_long(report, offset + position + 2, lengths[position].as_py())
            return False
    return True


class Suspect:
    """Rows the parser read whole but that are not what the file meant: a value that swallowed
    the following lines (an unbalanced quote). Looked for only when cheap signs say they may be
    there: more line ends than rows, or an odd number of quotes in the file."""

    def __init__(self, separator: str, width: int):
        self.separator, self.width = separator, width
        self.unbalanced = False
        self.open_at: int | None = None
        self.ok = True

    def check(self, table: pa.Table, offset: int, report: ValidationReport) -> None:
        for column in table.columns:
            multiline = pc.or_(pc.match_substring(column, "\n"), pc.match_substring(column, "\r"))
            for position in pc.indices_nonzero(multiline).to_pylist()[:50]:
                value = column[position].as_py()
                lines = value.splitlines()[1:]
                swallowed = [line for line in lines if line.count(self.separator) >= self.width - 1]
                if swallowed:
                    self.ok = False
                    report.file_error(
                        f"a quote opens in this row and does not close where the value ends: {len(lines):,} "
                        f"following line(s) were read into one value, e.g. {swallowed[0][:60]!r}; close the quote, "
                        "or write a quote inside a value as two (\"\")", rule="csv-quote", row=offset + position + 2)
                elif self.open_at is None:
                    self.open_at = offset + position

    def finish(self, report: ValidationReport) -> None:
        if self.ok and self.unbalanced and self.open_at is not None:
            report.file_error("a quote opens in this row and never closes: the rest of the file was read into one "
                              "value; close the quote, or write a quote inside a value as two (\"\")",
                              rule="csv-quote", row=self.open_at + 2)


def count_marks(f) -> tuple[int, int]:
    """How many line ends and quote characters the file holds (a pass over its bytes)."""
    f.seek(0)
    line_ends = quotes = 0
    while chunk := f.read(1 << 24):
        line_ends += chunk.count(b"\n")
        quotes += chunk.count(b'"')
    return line_ends, quotes


def report_long_row(f, report: ValidationReport) -> None:
    """The parser gave up on a row longer than its block: find it (a pass over the bytes, only
    then). A record goes on over line ends while a quote is open, as the parser reads it. The
    file is read at offsets, not through its position: the parser's read-ahead threads may
    still be reading it when its error arrives."""
    read_at = _positional(f)
    number, length, quotes, offset = 0, 0, 0, 0
    while chunk := read_at(offset, 1 << 24):
        offset += len(chunk)
        parts = chunk.split(b"\n")
        for index, part in enumerate(parts):
            length += len(part)
            quotes += part.count(b'"')
            if index == len(parts) - 1:
                break  # no line end after it in this chunk: the line goes on
            length += 1
            if quotes % 2:
                continue  # inside a quoted value: the record goes on
            number += 1
            if length > MAX_ROW_BYTES:
                _too_long(report, number, length)
                return
            length, quotes = 0, 0
    if length > MAX_ROW_BYTES:  # the last line, without a line end
        _too_long(report, number + 1, length)
        return
    report.file_error(f"a row is longer than {MAX_ROW_BYTES // (1 << 20)} MB, the longest a row may be",
                      rule="row-too-long")


def _positional(f):
    """read_at(offset, size) on the file, independent of its current position where possible."""
    try:
        fd = f.fileno()
        return lambda offset, size: os.pread(fd, size, offset)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        pass
    if hasattr(f, "getbuffer"):
        buffer = f.getbuffer()
        return lambda offset, size: bytes(buffer[offset:offset + size])

    def read_at(offset: int, size: int) -> bytes:
        f.seek(offset)
        return f.read(size)

    return read_at


def _too_long(report: ValidationReport, row: int, size: int) -> None:
    report.file_error(
        f"the row is {size / (1 << 20):.1f} MB long; a row may be at most {MAX_ROW_BYTES // (1 << 20)} MB (one "
        "observation per row: a value this long is most likely a quoting mistake)", rule="row-too-long", row=row)
