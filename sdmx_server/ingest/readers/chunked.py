"""Rows handed over chunk by chunk as a reader reads them, each chunk with the same columns.

The readers that build `sdmx_ml.Columns` (SDMX-ML, SDMX-JSON) read a message in a loop that
pauses each time a chunk is flushed (`pauses`). Where the reader knows before it starts which
components the message gives (`given`: for SDMX-ML a scan of the file, sdmx_ml_stream.py; for
SDMX-JSON its structure), `chunked` hands each chunk over as it is made, with every column of
`given` (empty where the chunk has none), ROW and ACTION, so that validation sees the same
columns in every batch. A chunk that carries a component outside `given` stops the stream
with a file error: a value is never dropped because it was not foreseen.

What a reader's loop raises for a message it cannot read goes through `errors` (the file error
to report, or None to let it through); ReadFailed means the report already says why. At least
one batch is handed over, empty if need be (IncomingData's contract), and `close` is called at
the end, however it ends.
"""

from __future__ import annotations

from typing import Callable, Iterator

import pyarrow as pa

from sdmx_server.ingest.readers import ACTION, ROW
from sdmx_server.ingest.readers.sdmx_ml import Columns, ReadFailed


def chunked(pauses: Iterator[None], columns: Columns, given: list[str], errors: Callable[[Exception], str | None],
            close: Callable[[], None], row_label: str) -> Iterator[pa.Table]:
    report = columns.report
    sent = 0
    try:
        for _ in pauses:
            for table in _taken(columns, given, row_label):
                sent += table.num_rows
                yield table
        columns.flush()
        if columns.groups:  # (a reader streams only messages without groups)
            raise RuntimeError("group attributes were read in a message streamed as having none")
        for table in _taken(columns, given, row_label):
            sent += table.num_rows
            yield table
    except ReadFailed:
        pass  # (the report says why)
    except Exception as exc:
        message = errors(exc)
        if message is None:
            raise
        report.file_error(message)
    finally:
        close()
    if sent == 0:
        if not report.file_errors:
            report.warn("the message holds no observations")
        yield uniform(pa.table({ROW: pa.array([], pa.int64())}), given)


def _taken(columns: Columns, given: list[str], row_label: str) -> list[pa.Table]:
    """The chunks made so far, each with the columns of `given`; taken from `columns`."""
    tables, columns.tables = columns.tables, []
    out = []
    for table in tables:
        if missed := [c.id for c in columns.shape.components if c.id in table.column_names and c.id not in given]:
            first = table.column(ROW)[0].as_py()
            columns.report.file_error(f"{row_label} {first} or after: {', '.join(missed)} is given where a first look "
                                      "at the message did not see it")
            raise ReadFailed
        out.append(uniform(table, given))
    return out


def uniform(table: pa.Table, given: list[str]) -> pa.Table:
    """The chunk with the columns of every chunk: `given`'s (empty where it has none), ROW, ACTION."""
    n = table.num_rows
    names = table.column_names
    arrays = {name: table.column(name) if name in names else pa.nulls(n, pa.string()) for name in given}
    arrays[ROW] = table.column(ROW)
    arrays[ACTION] = table.column(ACTION) if ACTION in names else pa.nulls(n, pa.string())
    return pa.table(arrays)
