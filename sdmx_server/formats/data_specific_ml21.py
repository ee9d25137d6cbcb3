"""SDMX-ML 2.1 structure-specific data, streamed batch by batch.

Each batch of sorted rows becomes, in a handful of Arrow kernels, one string per row: the
closing and opening Series tags where a series starts, then the Obs element. Components are
XML attributes named by their ids, as the DSD-specific schema (see schema_ml21.py) declares.
"""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc
from lxml import etree

from sdmx_server.formats import ml21
from sdmx_server.formats.data_layout import Batches, DataMessage
from sdmx_server.formats.schema_ml21 import namespace
from sdmx_server.formats.text import buffer_of, join, new_series, number_text, xml_attribute, xml_escape

MEDIA_TYPE = "application/vnd.sdmx.structurespecificdata+xml;version=2.1"
NS_PREFIX = "ns1"


def structure_namespace(message: DataMessage) -> str:
    """The namespace of the DSD-specific schema for this dataflow and observation dimension."""
    return namespace(message.flow_urn, message.layout.obs_dimension)


def write(message: DataMessage, batches: Batches, time_series: bool = False) -> Iterator[bytes]:
    """The message, in pieces; `time_series` writes the time-series-only variant of the format."""
    root = "StructureSpecificData" if not time_series else "StructureSpecificTimeSeriesData"
    layout = message.layout
    yield _opening(message, root)
    first = True
    previous = None
    any_series = False
    for batch in batches:
        if batch.num_rows == 0:
            continue
        if first:
            yield _dataset_open(message, batch)
            first = False
        text, previous, started = _rows(message, batch, previous, any_series)
        any_series = any_series or started
        yield buffer_of(text)
    if first:
        yield _dataset_open(message, None)
    if any_series:
        yield b"</Series>"
    yield b"</mes:DataSet></mes:" + root.encode() + b">"


def _opening(message: DataMessage, root: str) -> bytes:
    layout = message.layout
    structure = etree.Element(
        ml21.mes("Structure"),
        structureID=message.structure_id,
        namespace=structure_namespace(message),
        dimensionAtObservation=layout.dimension_at_observation,
    )
    usage = etree.SubElement(structure, ml21.com("StructureUsage"))
    agency, flow_id, version = message.flow
    etree.SubElement(usage, "Ref", agencyID=agency, id=flow_id, version=version)
    header = etree.tostring(ml21.header_element(message.header, extra=[structure]))
    # The header element carries its own namespace declarations; the root declares them again
    # for the data set, which is fine XML and keeps the header writer shared.
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<mes:' + root.encode() + b' xmlns:mes="' + ml21.NS_MESSAGE.encode()
        + b'" xmlns:ss="' + ml21.NS_SPECIFIC.encode()
        + b'" xmlns:com="' + ml21.NS_COMMON.encode()
        + b'" xmlns:xsi="' + ml21.NS_XSI.encode()
        + b'" xmlns:' + NS_PREFIX.encode() + b'="' + _attr(structure_namespace(message)).encode() + b'">'
        + header
    )


def _dataset_open(message: DataMessage, batch: pa.RecordBatch | None) -> bytes:
    attrs = ""
    if batch is not None:
        for attribute_id in message.layout.dataset_attrs:
            value = batch.column(attribute_id)[0].as_py()
            if value is not None:
                attrs += f' {attribute_id}="{_attr(str(value))}"'
    return (
        f'<mes:DataSet ss:structureRef="{message.structure_id}" ss:dataScope="Dataflow" '
        f'xsi:type="{NS_PREFIX}:DataSetType"{attrs}>'
    ).encode()


def _rows(message: DataMessage, batch: pa.RecordBatch, previous, any_series: bool):
    layout = message.layout
    shape = message.shape
    n = batch.num_rows
    pieces: list = []
    started = False
    if layout.obs_dimension is not None:
        series_cols = [batch.column(d) for d in layout.series_dims]
        starts, previous = new_series(series_cols, previous)
        opening = join(
            ["<Series", *[xml_attribute(d, _text(batch, d, shape)) for d in layout.series_dims],
             *[xml_attribute(a, _text(batch, a, shape)) for a in layout.series_attrs],
             ">" if layout.with_observations else "/>"],
            n,
        )
        if layout.with_observations:
            # Close the previous series where a new one starts (not before the very first).
            closing = pc.if_else(starts, "</Series>", "")
            if not any_series:
                closing = pa.concat_arrays([pa.array([""]), closing.slice(1)])
            pieces += [pc.if_else(starts, join([closing, opening], n), "")]
        else:
            pieces += [pc.if_else(starts, opening, "")]
        started = pc.any(starts).as_py() and layout.with_observations
    if layout.with_observations:
        measure = shape.measure.id
        obs = ["<Obs", *[xml_attribute(d, _text(batch, d, shape)) for d in layout.obs_dims]]
        if measure in batch.schema.names:
            obs.append(xml_attribute(measure, _text(batch, measure, shape)))
        obs += [xml_attribute(a, _text(batch, a, shape)) for a in layout.obs_attrs]
        obs.append("/>")
        pieces.append(join(obs, n))
    return join(pieces, n), previous, started


def _text(batch: pa.RecordBatch, component_id: str, shape) -> pa.Array:
    values = batch.column(component_id)
    component = shape.component(component_id)
    if component.role == "measure":
        values = number_text(values)
    if component.coded:
        return values  # codes are SDMX ids: nothing to escape
    return xml_escape(values)


def _attr(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )
