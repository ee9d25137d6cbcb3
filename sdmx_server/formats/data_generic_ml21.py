"""SDMX-ML 2.1 generic data (the v1 default), streamed batch by batch.

Same technique as the structure-specific writer: per batch, a few Arrow kernels build one string
per row; only the element shapes differ (components are generic:Value elements).
"""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc
from sdmx_server.errors import NotAcceptable
from sdmx_server.formats import data_ml21, ml21
from sdmx_server.formats.data_message import DataMessage, DataSetPart
from sdmx_server.formats.text import join, new_series, number_text, xml_escape

MEDIA_TYPE = "application/vnd.sdmx.genericdata+xml;version=2.1"


class GenericWriter(data_ml21.MLDataWriter):
    namespaces = {"mes": ml21.NS_MESSAGE, "g": ml21.NS_GENERIC, "com": ml21.NS_COMMON}
    series_close = b"</g:Series>"

    def root_name(self) -> str:
        return "GenericTimeSeriesData" if self.time_series else "GenericData"

    def opening(self, message: DataMessage) -> bytes:
        # The time-series variant's header names one structure: data sets of several structure
        # usages are a 406 before the first byte, not a message that breaks its schema.
        usages = list(dict.fromkeys(part.flow_ref for part in message.datasets))
        if self.time_series and len(usages) > 1:
            raise NotAcceptable(
                f"SDMX-ML 2.1 generic time series data name one structure usage; the answer holds "
                f"{', '.join(usages)}: ask for generic or structure-specific data", [])
        return super().opening(message)

    def dataset_open(self, position: int, part: DataSetPart, values) -> bytes:
        elements = "".join(_value_element(i, v) for i, v in data_ml21.dataset_attribute_values(values))
        attributes = f"<g:Attributes>{elements}</g:Attributes>" if elements else ""
        action = data_ml21.dataset_action(part)
        return f'<mes:DataSet structureRef="{part.structure_id}"{action}>{attributes}'.encode()

    def rows(self, part: DataSetPart, batch: pa.RecordBatch, previous, open_series: bool):
        return _rows(part, batch, previous, open_series)


def write(message: DataMessage, time_series: bool = False) -> Iterator[bytes]:
    """The message, in pieces; `time_series` writes the time-series-only variant of the format."""
    return GenericWriter(time_series).write(message)


def _rows(message: DataSetPart, batch: pa.RecordBatch, previous, open_series: bool):
    layout = message.layout
    n = batch.num_rows
    pieces: list = []
    if layout.obs_dimension is not None:
        starts, previous = new_series([batch.column(d) for d in layout.series_dims], previous)
        # The series head is built on the start rows only (a few hundred per batch), not per row.
        heads = batch.filter(starts)
        k = heads.num_rows
        head = join(
            ["<g:Series><g:SeriesKey>", *_values(heads, layout.series_dims, message), "</g:SeriesKey>",
             _attributes(heads, layout.series_attrs, message, k)],
            k,
        )
        if not layout.with_observations:
            return join([head, "</g:Series>"], k), previous, open_series  # a record per series
        pieces.append(data_ml21.spread(starts, data_ml21.series_heads(starts, head, "</g:Series>", open_series)))
        open_series = True
    if layout.with_observations:
        pieces.append("<g:Obs>")
        if layout.obs_dimension is not None:
            pieces += ['<g:ObsDimension value="', _text(batch, layout.obs_dimension, message), '"/>']
        else:
            pieces += ["<g:ObsKey>", *_values(batch, layout.obs_dims, message), "</g:ObsKey>"]
        measure = message.shape.measure.id
        if measure in batch.schema.names:
            pieces.append(pc.fill_null(
                pc.binary_join_element_wise('<g:ObsValue value="', _text(batch, measure, message), '"/>', ""), ""
            ))
        pieces += [_attributes(batch, layout.obs_attrs, message, n), "</g:Obs>"]
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

