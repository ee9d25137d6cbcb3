"""SDMX-CSV data, 1.0 and 2.0, streamed batch by batch.

One record per observation: the structure columns, every dimension, the measure, every
attribute of the DSD (empty where there is no value), as both versions ask of a streaming
service. Fields that need quotes get them (RFC 4180); the others are written as they are.
"""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from sdmx_server.formats.data_message import DataMessage, DataSetPart
from sdmx_server.errors import NotAcceptable
from sdmx_server.formats.text import buffer_of, csv_escape, join, number_text

MEDIA_TYPE_10 = "application/vnd.sdmx.data+csv;version=1.0.0"
MEDIA_TYPE_20 = "application/vnd.sdmx.data+csv;version=2.0.0"


def columns(part: DataSetPart) -> list[str]:
    shape = part.shape
    ids = list(shape.all_dimension_ids)
    if part.layout.with_observations:
        ids.append(shape.measure.id)
    if part.layout.detail != "dataonly":
        ids += [a.id for a in shape.attributes]
    return ids


def write(message: DataMessage, version: str = "1.0") -> Iterator[bytes]:
    """One header row for the message: data sets of one structure follow each other; data sets
    of different structures cannot share one SDMX-CSV header."""
    parts = list(message.datasets)
    ids = columns(parts[0]) if parts else []
    for part in parts[1:]:
        if columns(part) != ids:  # checked before the first byte goes out: a 406, not a cut answer
            raise NotAcceptable(
                f"{parts[0].flow_ref} and {part.flow_ref} have different structures, which one SDMX-CSV "
                f"{version} file cannot hold; ask for each alone or for SDMX-ML", [])
    if version == "1.0":
        header = ["DATAFLOW", *ids]
    else:
        header = ["STRUCTURE", "STRUCTURE_ID", "ACTION", *ids]
    return _stream(parts, ids, header, version)


def _stream(parts: list[DataSetPart], ids: list[str], header: list[str], version: str) -> Iterator[bytes]:
    yield (",".join(header) + "\n").encode()
    for part in parts:
        yield from _rows(part, ids, version)


def _rows(part: DataSetPart, ids: list[str], version: str) -> Iterator[bytes]:
    prefix = f"{part.flow_ref}," if version == "1.0" else f"{part.context},{part.flow_ref},I,"
    for batch in part.batches:
        if batch.num_rows == 0:
            continue
        n = batch.num_rows
        fields = [_field(part, batch, i) for i in ids]
        pieces: list = [prefix]
        for position, field in enumerate(fields):
            if position:
                pieces.append(",")
            pieces.append(field)
        pieces.append("\n")
        yield buffer_of(join(pieces, n))


def _field(message: DataSetPart, batch: pa.RecordBatch, component_id: str) -> pa.Array:
    if component_id not in batch.schema.names:
        return ""
    values = batch.column(component_id)
    component = message.shape.component(component_id)
    if component.role == "measure":
        values = number_text(values)
    if not component.coded:
        values = csv_escape(values)
    return pc.fill_null(values, "")
