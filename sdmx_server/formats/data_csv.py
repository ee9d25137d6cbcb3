"""SDMX-CSV data, 1.0 and 2.0, streamed batch by batch.

One record per observation: the structure columns, every dimension, the measure, every
attribute of the DSD (empty where there is no value), as both versions ask of a streaming
service. Fields that need quotes get them (RFC 4180); the others are written as they are.
"""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from sdmx_server.formats.data_message import Batches, DataMessage
from sdmx_server.formats.text import buffer_of, csv_escape, join, number_text

MEDIA_TYPE_10 = "application/vnd.sdmx.data+csv;version=1.0.0"
MEDIA_TYPE_20 = "application/vnd.sdmx.data+csv;version=2.0.0"


def columns(message: DataMessage) -> list[str]:
    shape = message.shape
    ids = list(shape.all_dimension_ids)
    if message.layout.with_observations:
        ids.append(shape.measure.id)
    if message.layout.detail != "dataonly":
        ids += [a.id for a in shape.attributes]
    return ids


def write(message: DataMessage, batches: Batches, version: str = "1.0") -> Iterator[bytes]:
    ids = columns(message)
    if version == "1.0":
        header = ["DATAFLOW", *ids]
        prefix = f"{message.flow_ref},"
    else:
        header = ["STRUCTURE", "STRUCTURE_ID", "ACTION", *ids]
        prefix = f"dataflow,{message.flow_ref},I,"
    yield (",".join(header) + "\n").encode()
    for batch in batches:
        if batch.num_rows == 0:
            continue
        n = batch.num_rows
        fields = [_field(message, batch, i) for i in ids]
        pieces: list = [prefix]
        for position, field in enumerate(fields):
            if position:
                pieces.append(",")
            pieces.append(field)
        pieces.append("\n")
        yield buffer_of(join(pieces, n))


def _field(message: DataMessage, batch: pa.RecordBatch, component_id: str) -> pa.Array:
    if component_id not in batch.schema.names:
        return ""
    values = batch.column(component_id)
    component = message.shape.component(component_id)
    if component.role == "measure":
        values = number_text(values)
    if not component.coded:
        values = csv_escape(values)
    return pc.fill_null(values, "")
