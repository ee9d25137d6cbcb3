"""SDMX-ML 2.1 structure-specific data, streamed batch by batch.

Each batch of sorted rows becomes, in a handful of Arrow kernels, one string per row: the
closing and opening Series tags where a series starts, then the Obs element. Components are
XML attributes named by their ids, as the DSD-specific schema (see schema_ml21.py) declares.
"""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc
from sdmx_server.formats import data_ml21, ml21
from sdmx_server.formats.data_message import DataMessage, DataSetPart
from sdmx_server.formats.schema_ml21 import namespace
from sdmx_server.formats.text import join, new_series, number_text, xml_attribute, xml_escape

MEDIA_TYPE = "application/vnd.sdmx.structurespecificdata+xml;version=2.1"
NS_PREFIX = "ns1"


def structure_namespace(part: DataSetPart) -> str:
    """The namespace of the DSD-specific schema for this data set's structure usage and
    observation dimension."""
    return namespace(part.flow_urn, part.layout.obs_dimension)


def write(message: DataMessage, time_series: bool = False) -> Iterator[bytes]:
    """The message, in pieces; `time_series` writes the time-series-only variant of the format."""
    root = "StructureSpecificTimeSeriesData" if time_series else "StructureSpecificData"
    spaces = [structure_namespace(part) for part in message.datasets]
    namespaces = {"mes": ml21.NS_MESSAGE, "ss": ml21.NS_SPECIFIC, "com": ml21.NS_COMMON, "xsi": ml21.NS_XSI}
    # One prefix per data set's schema (ns1, ns2, ...): its DataSet's xsi:type names it.
    namespaces |= {_prefix(position): space for position, space in enumerate(spaces)}
    head = data_ml21.opening(message, root, namespaces, spaces)
    return data_ml21.stream(root, head, message, _dataset_open, _rows, series_close=b"</Series>")


def _prefix(position: int) -> str:
    return f"{NS_PREFIX[:-1]}{position + 1}"


def _dataset_open(position: int, part: DataSetPart, batch: pa.RecordBatch | None) -> bytes:
    attrs = "".join(f' {i}="{v}"' for i, v in data_ml21.dataset_attribute_values(part, batch))
    return (
        f'<mes:DataSet ss:structureRef="{part.structure_id}" ss:dataScope="Dataflow" '
        f'xsi:type="{_prefix(position)}:DataSetType"{attrs}>'
    ).encode()


def _rows(message: DataSetPart, batch: pa.RecordBatch, previous, open_series: bool):
    layout = message.layout
    shape = message.shape
    n = batch.num_rows
    pieces: list = []
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
            pieces.append(data_ml21.series_starts(starts, opening, "</Series>", open_series, n))
            open_series = True
        else:
            pieces.append(pc.if_else(starts, opening, ""))
    if layout.with_observations:
        measure = shape.measure.id
        obs = ["<Obs", *[xml_attribute(d, _text(batch, d, shape)) for d in layout.obs_dims]]
        if measure in batch.schema.names:
            obs.append(xml_attribute(measure, _text(batch, measure, shape)))
        obs += [xml_attribute(a, _text(batch, a, shape)) for a in layout.obs_attrs]
        obs.append("/>")
        pieces.append(join(obs, n))
    return join(pieces, n), previous, open_series


def _text(batch: pa.RecordBatch, component_id: str, shape) -> pa.Array:
    values = batch.column(component_id)
    component = shape.component(component_id)
    if component.role == "measure":
        values = number_text(values)
    if component.coded:
        return values  # codes are SDMX ids: nothing to escape
    return xml_escape(values)

