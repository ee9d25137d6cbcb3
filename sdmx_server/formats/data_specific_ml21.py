"""SDMX-ML 2.1 structure-specific data, streamed batch by batch.

Each batch of sorted rows becomes, in a handful of Arrow kernels, one string per row: the
closing and opening Series tags where a series starts, then the Obs element. Components are
XML attributes named by their ids, as the DSD-specific schema (see schema_ml21.py) declares.
"""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa
from sdmx_server.formats import data_ml21, ml21
from sdmx_server.formats.data_message import DataMessage, DataSetPart
from sdmx_server.formats.schema_ml21 import namespace
from sdmx_server.formats.text import join, new_series, number_text, xml_attribute, xml_escape

MEDIA_TYPE = "application/vnd.sdmx.structurespecificdata+xml;version=2.1"
NS_PREFIX = "ns1"


class StructureSpecificWriter(data_ml21.MLDataWriter):
    """SDMX-ML 2.1 structure-specific data: each data set's xsi:type names a type of its
    DSD-specific schema (schema_ml21), bound to a prefix of its own (ns1, ns2, ...)."""

    namespaces = {"mes": ml21.NS_MESSAGE, "ss": ml21.NS_SPECIFIC, "com": ml21.NS_COMMON, "xsi": ml21.NS_XSI}

    def root_name(self) -> str:
        return "StructureSpecificTimeSeriesData" if self.time_series else "StructureSpecificData"

    def root_namespaces(self, message: DataMessage) -> dict[str, str]:
        spaces = {prefix(position): self.structure_namespace(position, part)
                  for position, part in enumerate(message.datasets)}
        return dict(self.namespaces) | spaces

    def structure_namespace(self, position: int, part: DataSetPart) -> str:
        """The namespace of the DSD-specific schema for this data set's structure usage and
        observation dimension."""
        return namespace(part.flow_urn, part.layout.obs_dimension)

    def dataset_type(self, position: int) -> str:
        """The xsi:type of a data set: the time-series variant of the message needs the type
        derived from ss:TimeSeriesDataSetType (fault 1)."""
        return f"{prefix(position)}:{'TimeSeries' if self.time_series else ''}DataSetType"

    def dataset_scope(self) -> str:
        return ' ss:dataScope="Dataflow"'

    def dataset_open(self, position: int, part: DataSetPart, values) -> bytes:
        attrs = "".join(f' {i}="{v}"' for i, v in data_ml21.dataset_attribute_values(values))
        return (
            f'<mes:DataSet ss:structureRef="{part.structure_id}"{self.dataset_scope()} '
            f'xsi:type="{self.dataset_type(position)}"{data_ml21.dataset_action(part, "ss:")}{attrs}>'
        ).encode()

    def rows(self, part: DataSetPart, batch: pa.RecordBatch, previous, open_series: bool):
        return _rows(part, batch, previous, open_series)


def write(message: DataMessage, time_series: bool = False) -> Iterator[bytes]:
    """The message, in pieces; `time_series` writes the time-series-only variant of the format."""
    return StructureSpecificWriter(time_series).write(message)


def prefix(position: int) -> str:
    """The prefix of the n-th data set's schema namespace."""
    return f"{NS_PREFIX[:-1]}{position + 1}"


def _rows(message: DataSetPart, batch: pa.RecordBatch, previous, open_series: bool):
    layout = message.layout
    shape = message.shape
    n = batch.num_rows
    pieces: list = []
    if layout.obs_dimension is not None:
        series_cols = [batch.column(d) for d in layout.series_dims]
        starts, previous = new_series(series_cols, previous)
        # The opening tag is built on the start rows only (a few hundred per batch), not per row.
        heads = batch.filter(starts)
        opening = join(
            ["<Series", *[xml_attribute(d, _text(heads, d, shape)) for d in layout.series_dims],
             *[xml_attribute(a, _text(heads, a, shape)) for a in layout.series_attrs],
             ">" if layout.with_observations else "/>"],
            heads.num_rows,
        )
        if not layout.with_observations:
            return opening, previous, open_series  # a record per series: the start rows alone
        pieces.append(data_ml21.spread(starts, data_ml21.series_heads(starts, opening, "</Series>", open_series)))
        open_series = True
    if layout.with_observations:
        measure = shape.measure.id
        components = [*layout.obs_dims, *([measure] if measure in batch.schema.names else []), *layout.obs_attrs]
        # "<Obs" and "/>" ride on the first and last attributes' texts (made per distinct value
        # or run where the column repeats), and the series heads and the Obs element are one join.
        last = len(components) - 1
        pieces += [xml_attribute(c, _text(batch, c, shape), "<Obs" if i == 0 else "", "/>" if i == last else "")
                   for i, c in enumerate(components)] or ["<Obs/>"]
    return join(pieces, n), previous, open_series


def _text(batch: pa.RecordBatch, component_id: str, shape) -> pa.Array:
    values = batch.column(component_id)
    component = shape.component(component_id)
    if component.role == "measure":
        values = number_text(values)
    if component.coded:
        return values  # codes are SDMX ids: nothing to escape
    return xml_escape(values)

