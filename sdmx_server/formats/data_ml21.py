"""What the two SDMX-ML 2.1 data writers share: the message opening and the streaming loop.

Each writer supplies only its element shapes: how the data set opens and how a batch of rows
becomes text.
"""

from __future__ import annotations

from typing import Callable, Iterator

import pyarrow as pa
import pyarrow.compute as pc
from lxml import etree

from sdmx_server.formats import ml21
from sdmx_server.formats.data_message import Batches, DataMessage, DataSetPart
from sdmx_server.formats.text import buffer_of, join

#: (data set, batch, last series key of the previous batch, a series is open)
#: -> (text, last key, open)
RowsWriter = Callable[[DataSetPart, pa.RecordBatch, tuple | None, bool], tuple[pa.Array, tuple | None, bool]]


def opening(message: DataMessage, root: str, namespaces: dict[str, str],
            structure_namespaces: list[str | None] | None = None) -> bytes:
    """The XML declaration, the root element with its namespaces, and the header with one
    mes:Structure per data set (structure-specific data give each its schema's namespace)."""
    structures = []
    for position, part in enumerate(message.datasets):
        attributes = {"structureID": part.structure_id}
        namespace = structure_namespaces[position] if structure_namespaces else None
        if namespace is not None:
            attributes["namespace"] = namespace
        attributes["dimensionAtObservation"] = part.layout.dimension_at_observation
        structure = etree.Element(ml21.mes("Structure"), attributes)
        tag = {"dataflow": "StructureUsage", "provisionagreement": "ProvisionAgrement"}.get(part.context, "Structure")
        usage = etree.SubElement(structure, ml21.com(tag))
        agency, flow_id, version = part.flow
        etree.SubElement(usage, "Ref", agencyID=agency, id=flow_id, version=version)
        if any(s.get("structureID") == part.structure_id for s in structures):
            continue  # two data sets of one dataflow share its header entry
        structures.append(structure)
    # The header element carries its own namespace declarations; the root declares what the
    # data set needs. Redundant declarations are fine XML and keep the header writer shared.
    header = etree.tostring(ml21.header_element(message.header, extra=structures))
    declarations = "".join(f' xmlns:{prefix}="{escape_attribute(uri)}"' for prefix, uri in namespaces.items())
    return f'<?xml version="1.0" encoding="UTF-8"?><mes:{root}{declarations}>'.encode() + header


def stream(
    root: str,
    head: bytes,
    message: DataMessage,
    dataset_open: Callable[[int, DataSetPart, pa.RecordBatch | None], bytes],
    rows: RowsWriter,
    series_close: bytes,
) -> Iterator[bytes]:
    """The message: the head, then each data set opened, its rows, closed; then the root closed."""
    yield head
    for position, part in enumerate(message.datasets):
        opened = False
        previous = None
        open_series = False
        for batch in part.batches:
            if batch.num_rows == 0:
                continue
            if not opened:
                yield dataset_open(position, part, batch)  # data set attributes are read off the first row
                opened = True
            text, previous, open_series = rows(part, batch, previous, open_series)
            yield buffer_of(text)
        if not opened:
            yield dataset_open(position, part, None)
        if open_series:
            yield series_close
        yield b"</mes:DataSet>"
    yield f"</mes:{root}>".encode()


def series_starts(starts: pa.Array, opening: pa.Array, close_tag: str, open_series: bool, n: int) -> pa.Array:
    """Per row: '' inside a series; where a series starts, the previous series' closing tag
    (unless none is open yet) followed by the new series' opening."""
    closing = pc.if_else(starts, close_tag, "")
    if not open_series:
        closing = pa.concat_arrays([pa.array([""]), closing.slice(1)])
    return pc.if_else(starts, join([closing, opening], n), "")


def escape_attribute(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def dataset_attribute_values(part: DataSetPart, batch: pa.RecordBatch | None) -> list[tuple[str, str]]:
    """(id, escaped value) of the data-set-level attributes, from the first row."""
    if batch is None:
        return []
    values = []
    for attribute_id in part.layout.dataset_attrs:
        value = batch.column(attribute_id)[0].as_py()
        if value is not None:
            values.append((attribute_id, escape_attribute(str(value))))
    return values
