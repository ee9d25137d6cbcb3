"""What a data writer is handed besides the rows: the dataflow, its shape, the layout and the
message header. Every data writer of formats/ takes a DataMessage and an iterator of Arrow
record batches sorted as the layout says."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator

import pyarrow as pa

from sdmx_server.formats.ml21 import Header
from sdmx_server.query.layout import DataLayout
from sdmx_server.registry.shape import DataShape


@dataclass(frozen=True)
class DataMessage:
    """Everything a writer needs besides the rows."""

    flow: tuple[str, str, str]  # agency, id, version of the dataflow
    shape: DataShape
    layout: DataLayout
    header: Header = field(default_factory=Header)

    @property
    def flow_ref(self) -> str:
        return f"{self.flow[0]}:{self.flow[1]}({self.flow[2]})"

    @property
    def flow_urn(self) -> str:
        return f"urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow={self.flow_ref}"

    @property
    def structure_id(self) -> str:
        # An xs:ID: an NCName, whatever characters the agency, id and version hold.
        return re.sub(r"[^A-Za-z0-9_]", "_", "_".join(self.flow))


Batches = Iterator[pa.RecordBatch]
