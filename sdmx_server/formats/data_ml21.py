"""What every SDMX-ML data writer shares: the message opening and the streaming loop.

`MLDataWriter` writes a message of any number of data sets, batch by batch; a format is a
subclass that overrides only what differs: the namespaces, how the header names each data
set's structure, how a data set opens, and how a batch of rows becomes text (a few Arrow
kernels per batch, one string per row). SDMX-ML 2.1 generic and structure-specific data are
subclasses here (data_generic_ml21, data_specific_ml21); SDMX-ML 3.0 and 3.1 structure-specific
data subclass the latter (data_ml30).

Data-set-level attributes are written once, on the data set, from its first row. The data
service makes sure they have one value in the whole data set (fault 7: it demotes those that
have several); the loop still checks every batch against the value written, with one kernel
per attribute, and raises `DataSetAttributeConflict` rather than go on with a value that is
wrong for some rows.
"""

from __future__ import annotations

import dataclasses
import itertools
from abc import ABC, abstractmethod
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from lxml import etree

from sdmx_server.errors import SdmxError
from sdmx_server.formats import ml21
from sdmx_server.formats.data_message import DataMessage, DataSetPart
from sdmx_server.formats.text import buffer_of, join


class DataSetAttributeConflict(SdmxError):
    """A data-set-level attribute has different values in one data set: it cannot be written
    once. The stored data, not the client, are at fault: an SDMX error 500 when found before the
    first byte (in the first batch), else the answer is cut short rather than wrong."""


#: The values of a data set's data-set-level attributes as written (None: no value).
DataSetValues = dict[str, object]


class MLDataWriter(ABC):
    """An SDMX-ML data message, streamed. Subclasses set the class attributes and override the
    element shapes; `write` is the writer the media table names (through a module function)."""

    root = "GenericData"
    #: Prefix -> namespace declared on the root element.
    namespaces: dict[str, str] = {"mes": ml21.NS_MESSAGE, "com": ml21.NS_COMMON}
    series_close = b"</Series>"

    def __init__(self, time_series: bool = False):
        self.time_series = time_series

    # -- the message ---------------------------------------------------------------------------

    def write(self, message: DataMessage) -> Iterator[bytes]:
        """The message in pieces. The opening, and the data-set attributes of the first batch
        of the first data set (already read by the data service), are checked here, before the
        first byte: a problem found there is an error answer, not a cut one."""
        head = self.opening(message)
        if message.datasets:
            first = message.datasets[0]
            batches = iter(first.batches)
            batch = next(batches, None)
            if batch is not None:
                dataset_values(first, batch)
                batches = itertools.chain([batch], batches)
            message = dataclasses.replace(
                message, datasets=[dataclasses.replace(first, batches=batches), *message.datasets[1:]])
        return self.stream(message, head)

    def opening(self, message: DataMessage) -> bytes:
        """The XML declaration, the root element with its namespaces, and the header with one
        mes:Structure per structure usage (data sets of one usage share it)."""
        structures: list[etree._Element] = []
        seen: set[str] = set()
        for position, part in enumerate(message.datasets):
            if part.structure_id in seen:
                continue
            seen.add(part.structure_id)
            structures.append(self.header_structure(position, part))
        header = etree.tostring(self.header_element(message, structures))
        # The header element carries its own namespace declarations; the root declares what
        # the data sets need. Redundant declarations are fine XML and keep the header shared.
        namespaces = self.root_namespaces(message)
        declarations = "".join(f' xmlns:{prefix}="{escape_attribute(uri)}"' for prefix, uri in namespaces.items())
        return f'<?xml version="1.0" encoding="UTF-8"?><mes:{self.root_name()}{declarations}>'.encode() + header

    def root_name(self) -> str:
        return self.root

    def root_namespaces(self, message: DataMessage) -> dict[str, str]:
        return dict(self.namespaces)

    def header_element(self, message: DataMessage, structures: list[etree._Element]) -> etree._Element:
        return ml21.header_element(message.header, extra=structures)

    def structure_namespace(self, position: int, part: DataSetPart) -> str | None:
        """The namespace attribute of the header's mes:Structure (structure-specific formats)."""
        return None

    def header_structure(self, position: int, part: DataSetPart) -> etree._Element:
        """mes:Structure for a data set: SDMX-ML 2.1 refers to the usage with a Ref element."""
        attributes = {"structureID": part.structure_id}
        space = self.structure_namespace(position, part)
        if space is not None:
            attributes["namespace"] = space
        attributes["dimensionAtObservation"] = part.layout.dimension_at_observation
        structure = etree.Element(ml21.mes("Structure"), attributes)
        tag = {"dataflow": "StructureUsage", "provisionagreement": "ProvisionAgrement"}.get(part.context, "Structure")
        usage = etree.SubElement(structure, ml21.com(tag))
        agency, flow_id, version = part.flow
        etree.SubElement(usage, "Ref", agencyID=agency, id=flow_id, version=version)
        return structure

    def stream(self, message: DataMessage, head: bytes) -> Iterator[bytes]:
        """The head, then each data set opened, its rows, closed; then the root closed."""
        yield head
        for position, part in enumerate(message.datasets):
            values: DataSetValues | None = None
            previous = None
            open_series = False
            for batch in part.batches:
                if batch.num_rows == 0:
                    continue
                if values is None:
                    values = dataset_values(part, batch)
                    yield self.dataset_open(position, part, values)
                else:
                    check_dataset_values(part, batch, values)
                text, previous, open_series = self.rows(part, batch, previous, open_series)
                yield buffer_of(text)
            if values is None:
                yield self.dataset_open(position, part, {})
            if open_series:
                yield self.series_close
            yield b"</mes:DataSet>"
        yield f"</mes:{self.root_name()}>".encode()

    # -- element shapes (subclasses) -----------------------------------------------------------

    @abstractmethod
    def dataset_open(self, position: int, part: DataSetPart, values: DataSetValues) -> bytes:
        """The data set's opening tag, with its data-set-level attribute values."""

    @abstractmethod
    def rows(self, part: DataSetPart, batch: pa.RecordBatch, previous: tuple | None,
             open_series: bool) -> tuple[pa.Array, tuple | None, bool]:
        """(text of the batch, one string per row; last series key; a series is open)."""


def series_heads(starts: pa.Array, opening: pa.Array, close_tag: str, open_series: bool) -> pa.Array:
    """Per series that starts in the batch (`opening` was built on the start rows only): the
    previous series' closing tag (unless none is open yet) followed by the new series' opening."""
    heads = join([close_tag, opening], len(opening))
    if not open_series and len(opening) and starts[0].as_py():
        heads = pa.concat_arrays([opening.slice(0, 1).cast(heads.type), heads.slice(1)])
    return heads


def spread(starts: pa.Array, heads: pa.Array) -> pa.Array:
    """Per row: its series' head where a series starts, '' elsewhere; `heads` holds one string
    per start row, in order. One `take`, whose empty strings copy no characters."""
    flags = starts.to_numpy(zero_copy_only=False)
    index = np.cumsum(flags, dtype=np.int32) - 1
    index[~flags] = len(heads)  # the '' appended below
    return pa.concat_arrays([heads, pa.array([""], heads.type)]).take(pa.array(index))


def series_starts(starts: pa.Array, opening: pa.Array, close_tag: str, open_series: bool, n: int) -> pa.Array:
    """Per row: '' inside a series; where a series starts, the previous series' closing tag
    (unless none is open yet) followed by the new series' opening."""
    closing = pc.if_else(starts, close_tag, "")
    if not open_series:
        closing = pa.concat_arrays([pa.array([""]), closing.slice(1)])
    return pc.if_else(starts, join([closing, opening], n), "")


def escape_attribute(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def dataset_values(part: DataSetPart, batch: pa.RecordBatch) -> DataSetValues:
    """The data-set-level attributes' values on the first row (None where there is none),
    after checking that the whole batch holds the same."""
    values: DataSetValues = {}
    for attribute_id in part.layout.dataset_attrs:
        if attribute_id in batch.schema.names:
            values[attribute_id] = batch.column(attribute_id)[0].as_py()
    check_dataset_values(part, batch, values)
    return values


def check_dataset_values(part: DataSetPart, batch: pa.RecordBatch, values: DataSetValues) -> None:
    """Raise DataSetAttributeConflict when a row of the batch holds another value (or none
    where the first row had one) for a data-set-level attribute: one kernel per attribute."""
    for attribute_id, value in values.items():
        column = batch.column(attribute_id)
        if value is None:
            same = column.null_count == len(column)
        else:
            same = column.null_count == 0 and pc.all(pc.equal(column, pa.scalar(value, column.type))).as_py()
        if not same:
            found = pc.unique(column).to_pylist()[:5]
            raise DataSetAttributeConflict(
                f"{part.flow_ref}: the data-set-level attribute {attribute_id} has several values "
                f"({', '.join(repr(v) for v in dict.fromkeys([value, *found]))}); it cannot be written once "
                f"for the whole data set")


def dataset_action(part: DataSetPart, prefix: str = "") -> str:
    """The data set's action and validity as XML attributes (` action="Delete" ...`), for
    answers of updatedAfter and includeHistory; '' for a plain answer. `prefix`: the
    namespace prefix the format qualifies them with (structure-specific: "ss:")."""
    text = ""
    if part.action is not None:
        text += f' {prefix}action="{part.action}"'
    if part.valid_from is not None:
        text += f' {prefix}validFromDate="{ml21.format_datetime(part.valid_from)}"'
    if part.valid_to is not None:
        text += f' {prefix}validToDate="{ml21.format_datetime(part.valid_to)}"'
    return text


def dataset_attribute_values(values: DataSetValues) -> list[tuple[str, str]]:
    """(id, escaped text) of the data-set-level attributes that have a value."""
    return [(i, escape_attribute(str(v))) for i, v in values.items() if v is not None]
