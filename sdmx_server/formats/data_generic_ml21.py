"""SDMX-ML 2.1 generic data (the v1 default), streamed batch by batch.

Same technique as the structure-specific writer: per batch, a few Arrow kernels build one string
per row; only the element shapes differ (components are generic:Value elements).
"""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc
from lxml import etree

from sdmx_server.formats import ml21
from sdmx_server.formats.data_layout import Batches, DataMessage
from sdmx_server.formats.text import buffer_of, join, new_series, number_text, xml_escape

MEDIA_TYPE = "application/vnd.sdmx.genericdata+xml;version=2.1"


def write(message: DataMessage, batches: Batches, time_series: bool = False) -> Iterator[bytes]:
    """The message, in pieces; `time_series` writes the time-series-only variant of the format."""
    root = "GenericData" if not time_series else "GenericTimeSeriesData"
    yield _opening(message, root)
    first = True
    previous = None
    open_series = False
    for batch in batches:
        if batch.num_rows == 0:
            continue
        if first:
            yield _dataset_open(message, batch)
            first = False
        text, previous, open_series = _rows(message, batch, previous, open_series)
        yield buffer_of(text)
    if first:
        yield _dataset_open(message, None)
    if open_series:
        yield b"</g:Series>"
    yield b"</mes:DataSet></mes:" + root.encode() + b">"


def _opening(message: DataMessage, root: str) -> bytes:
    structure = etree.Element(
        ml21.mes("Structure"),
        structureID=message.structure_id,
        dimensionAtObservation=message.layout.dimension_at_observation,
    )
    usage = etree.SubElement(structure, ml21.com("StructureUsage"))
    agency, flow_id, version = message.flow
    etree.SubElement(usage, "Ref", agencyID=agency, id=flow_id, version=version)
    header = etree.tostring(ml21.header_element(message.header, extra=[structure]))
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<mes:' + root.encode() + b' xmlns:mes="' + ml21.NS_MESSAGE.encode()
        + b'" xmlns:g="' + ml21.NS_GENERIC.encode()
        + b'" xmlns:com="' + ml21.NS_COMMON.encode() + b'">'
        + header
    )


def _dataset_open(message: DataMessage, batch: pa.RecordBatch | None) -> bytes:
    values = ""
    if batch is not None:
        for attribute_id in message.layout.dataset_attrs:
            value = batch.column(attribute_id)[0].as_py()
            if value is not None:
                values += _value_element(attribute_id, _escape(str(value)))
    attributes = f"<g:Attributes>{values}</g:Attributes>" if values else ""
    return f'<mes:DataSet structureRef="{message.structure_id}">{attributes}'.encode()


def _rows(message: DataMessage, batch: pa.RecordBatch, previous, open_series: bool):
    layout = message.layout
    n = batch.num_rows
    pieces: list = []
    if layout.obs_dimension is not None:
        starts, previous = new_series([batch.column(d) for d in layout.series_dims], previous)
        head = join(
            ["<g:Series><g:SeriesKey>", *_values(batch, layout.series_dims, message), "</g:SeriesKey>",
             _attributes(batch, layout.series_attrs, message, n)],
            n,
        )
        if layout.with_observations:
            closing = pc.if_else(starts, "</g:Series>", "")
            if not open_series:
                closing = pa.concat_arrays([pa.array([""]), closing.slice(1)])
            pieces.append(pc.if_else(starts, join([closing, head], n), ""))
            open_series = True
        else:
            pieces.append(pc.if_else(starts, join([head, "</g:Series>"], n), ""))
    if layout.with_observations:
        if layout.obs_dimension is not None:
            key = join(['<g:ObsDimension value="', _text(batch, layout.obs_dimension, message), '"/>'], n)
        else:
            key = join(["<g:ObsKey>", *_values(batch, layout.obs_dims, message), "</g:ObsKey>"], n)
        measure = message.shape.measure.id
        value = ""
        if measure in batch.schema.names:
            value = pc.fill_null(
                pc.binary_join_element_wise('<g:ObsValue value="', _text(batch, measure, message), '"/>', ""), ""
            )
        pieces.append(join(["<g:Obs>", key, value, _attributes(batch, layout.obs_attrs, message, n), "</g:Obs>"], n))
    return join(pieces, n), previous, open_series


def _values(batch, ids, message) -> list:
    """One '<g:Value id=.. value=../>' column per component (dimension values are never missing)."""
    return [
        pc.fill_null(pc.binary_join_element_wise(f'<g:Value id="{i}" value="', _text(batch, i, message), '"/>', ""), "")
        for i in ids
    ]


def _attributes(batch, ids, message, n):
    """'<g:Attributes>...</g:Attributes>' per row, or '' where the row has no attribute value."""
    if not ids:
        return ""
    inner = join(_values(batch, ids, message), n)
    return pc.if_else(pc.equal(inner, ""), "", join(["<g:Attributes>", inner, "</g:Attributes>"], n))


def _text(batch, component_id: str, message) -> pa.Array:
    values = batch.column(component_id)
    component = message.shape.component(component_id)
    if component.role == "measure":
        values = number_text(values)
    return values if component.coded else xml_escape(values)


def _value_element(component_id: str, value: str) -> str:
    return f'<g:Value id="{component_id}" value="{value}"/>'


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
