"""Readers: each turns one kind of source into IncomingData, the one hand-over to validation.

A reader is a `Reader`: given the file, the DSD's shape, the dataflow and the report, it
returns the data as string columns named by component id, plus ROW (where each record is in
the source, for the report) and ACTION (the record's own action, or null for the load's
default), or None when the file cannot be read at all (the report says why). Values stay text:
validation decides what they mean, the same way for every format. A reader hands its rows over
as one table or as a stream of batches (SDMX-CSV: the file is never held whole);
`IncomingData.batches` is what validation reads either way.

`READERS` is the one table of formats that `load-data`, uploads and sources read; `detect`
tells a file's format from its first bytes, never from its name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Callable, Iterable, Iterator, Literal, Union

import pyarrow as pa

from sdmx_server.store.incoming import ACTION, BATCH_ROWS, ROW  # noqa: F401  (the column names readers write)

if TYPE_CHECKING:
    from sdmx_server.ingest.report import ValidationReport
    from sdmx_server.registry.shape import DataShape

#: The data formats a load reads.
DataFormat = Literal[
    "sdmx-csv",  # SDMX-CSV 1.0 and 2.0 (the reader tells them apart)
    "sdmx-ml-2.1-generic",  # GenericData and GenericTimeSeriesData
    "sdmx-ml-2.1-specific",  # StructureSpecificData and StructureSpecificTimeSeriesData
    "sdmx-ml-3.0",  # StructureSpecificData of SDMX-ML 3.0 and 3.1
    "sdmx-json-1.0",
    "sdmx-json-2.0",  # and 2.1
]

#: A file as a reader takes it: a path, or an open binary file (an upload's body).
Source = Union[Path, BinaryIO]


@dataclass
class IncomingData:
    #: One string column per component present, ROW, ACTION: all rows at once, or None when
    #: the reader hands them over as `stream`.
    table: pa.Table | None
    format: str  # as a person reads it: "SDMX-CSV 2.0", "SDMX-ML 2.1 generic", ...
    #: What ROW counts, as the report names it: "row" (CSV: as a spreadsheet shows it, the
    #: header is row 1), "line" (SDMX-ML: the line of the observation's element),
    #: "observation" (SDMX-JSON: the observation's place in the message, from 1).
    row_label: str = "row"
    #: Data sets' or messages' own facts a load may need: e.g. a release time a message carries.
    notes: dict[str, str] = field(default_factory=dict)
    #: The rows a batch at a time, as a reader that streams yields them (read once); the
    #: columns as `table` would have them, the same in every batch, at least one batch.
    stream: Iterable[pa.Table] | None = None

    def whole(self) -> pa.Table:
        """All rows as one table (a stream is read to its end for it, and kept as `table`)."""
        if self.table is None:
            batches = list(self.stream)
            self.table = pa.concat_tables(batches) if len(batches) > 1 else batches[0]
            self.stream = None
        return self.table

    def batches(self, rows: int = BATCH_ROWS) -> Iterator[pa.Table]:
        """The rows a batch at a time: the one place where a reader that returns a whole table
        is handed over in batches (validation takes nothing else)."""
        if self.stream is not None:
            yield from self.stream
            return
        yield from _slices(self.table, rows)


def closing(incoming: "IncomingData | None", f) -> "IncomingData | None":
    """`incoming`, with the file `f` it reads closed once its rows are read (at once when it
    has no stream left to read, or none at all)."""
    if incoming is None or incoming.stream is None:
        f.close()
        return incoming

    def stream(rows):
        try:
            yield from rows
        finally:
            f.close()

    incoming.stream = stream(incoming.stream)
    return incoming


def _slices(table: pa.Table, rows: int) -> Iterator[pa.Table]:
    yield table.slice(0, rows)  # (at least one, empty or not: it carries the columns)
    for start in range(rows, table.num_rows, rows):
        yield table.slice(start, rows)


Reader = Callable[[Source, "DataShape", tuple[str, str, str], "ValidationReport"], "IncomingData | None"]


def _readers() -> dict[str, Reader]:
    # Imported on use: each reader pulls in its own parser (lxml, json, pyarrow.csv).
    from sdmx_server.ingest.readers.sdmx_csv import read_sdmx_csv
    from sdmx_server.ingest.readers.sdmx_json import read_sdmx_json
    from sdmx_server.ingest.readers.sdmx_ml_generic import read_generic
    from sdmx_server.ingest.readers.sdmx_ml_specific import read_structure_specific

    table: dict[str, Reader] = {
        "sdmx-csv": read_sdmx_csv,
        "sdmx-ml-2.1-generic": read_generic,
        "sdmx-ml-2.1-specific": read_structure_specific,
        "sdmx-ml-3.0": read_structure_specific,
        # One reader for every SDMX-JSON version: the message itself says which it is.
        "sdmx-json-1.0": read_sdmx_json,
        "sdmx-json-2.0": read_sdmx_json,
    }
    return table


READERS: dict[str, Reader] = {}


def reader_for(fmt: str) -> Reader | None:
    if not READERS:
        READERS.update(_readers())
    return READERS.get(fmt)


def detect(head: bytes) -> str | None:
    """The data format of a file from its first bytes (at least 64 KiB, or all of it); None
    when it is no data format the server reads."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith((b"DATAFLOW", b"STRUCTURE", b'"DATAFLOW"', b'"STRUCTURE"')):
        return "sdmx-csv"
    if text.startswith(b"<"):
        from sdmx_server.ingest.readers.sniff import xml_format

        return xml_format(text)
    if text.startswith(b"{"):
        from sdmx_server.ingest.readers.sniff import json_format

        return json_format(text)
    return None
