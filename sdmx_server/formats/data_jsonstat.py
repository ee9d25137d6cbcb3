"""JSON-stat 2.0 data sets, streamed batch by batch, for front-ends outside the SDMX world.

A JSON-stat data set is a cube: `id` lists the dimensions, `size` their category counts, and an
observation's place is its row-major index over them. The writer streams, so the categories
must be known before the first index is computed. Coded dimensions take them from the DSD's
code list (the codes the shape allows, in code list order: `Labels.codes` keeps it), which is
known up front. The one dimension without a code list, the time dimension, is put FIRST in
`id`: in row-major order the first dimension's size enters no stride, so every index can be
computed before its categories are all known (they are collected as met, as SDMX-JSON does).
A DSD with two or more uncoded dimensions cannot be written this way: a 406 before any byte.

`value` is always the sparse object form (`{"index": value}`): rows come sorted by series key,
not in the cube's row-major order, and a dense array would need the whole cube in memory. The
member order of a JSON object is free, so `dimension` and `size` follow `value` and `status`
(OBS_STATUS, the one attribute JSON-stat has a place for). `status` goes to a spooled temporary
file while `value` streams (memory stays bounded) and is copied after it. Several data sets
make a JSON-stat `collection` of datasets.

Media type: JSON-stat has none of its own (it is served as application/json, which on this
server means SDMX-JSON), so the row is `application/vnd.jsonstat+json`, also selected by
`format=jsonstat`.
"""

from __future__ import annotations

import tempfile
from typing import Iterator

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from sdmx_server.errors import NotAcceptable
from sdmx_server.formats.data_json import Values, json_number, json_string
from sdmx_server.formats.data_message import DataMessage, DataSetPart, Labels
from sdmx_server.formats.ml21 import format_datetime
from sdmx_server.formats.text import buffer_of, join

MEDIA_TYPE = "application/vnd.jsonstat+json"
#: JavaScript numbers are exact to 2**53: a larger cube's indices would not read back.
_MAX_CELLS = 2**53
STATUS = "OBS_STATUS"


def categories(part: DataSetPart, component_id: str) -> list[str]:
    """The codes a coded dimension may take, in code list order (sorted where no labels say it)."""
    codes = part.shape.component(component_id).codes or frozenset()
    listed = part.labels.codes.get(component_id, {}) if part.labels else {}
    ordered = [code for code in listed if code in codes]
    return ordered + sorted(codes - set(ordered))


class _Cube:
    def __init__(self, part: DataSetPart) -> None:
        shape = part.shape
        uncoded = [d for d in shape.all_dimension_ids if not shape.component(d).coded]
        if len(uncoded) > 1:
            raise NotAcceptable(
                f"{part.flow_ref} has {len(uncoded)} dimensions without a code list ({', '.join(uncoded)}): "
                "a streamed JSON-stat cube can hold one; ask for SDMX-JSON or SDMX-CSV", [])
        self.part = part
        self.open = uncoded[0] if uncoded else None
        self.ids = ([self.open] if self.open else []) + [d for d in shape.all_dimension_ids if d != self.open]
        self.fixed = {d: categories(part, d) for d in self.ids if d != self.open}
        self.lookup = {d: pa.array(codes, pa.string()) for d, codes in self.fixed.items()}
        self.open_values = Values()
        strides, stride = {}, 1
        for d in reversed(self.ids):
            strides[d] = stride
            stride *= len(self.fixed[d]) if d in self.fixed else 1
        self.strides = strides
        self.block = stride  # the first (open) dimension's stride
        if stride >= _MAX_CELLS:
            raise NotAcceptable(f"the JSON-stat cube of {part.flow_ref} has more cells than JavaScript counts exactly", [])

    def index(self, batch: pa.RecordBatch) -> pa.Array:
        """The row-major index of each row, as text."""
        total = None
        for d in self.ids:
            column = batch.column(d)
            if d == self.open:
                positions = self.open_values.indices(column)
            else:
                positions = pc.index_in(column, value_set=self.lookup[d])
            term = pc.multiply(pc.cast(positions, pa.int64()), self.strides[d])
            total = term if total is None else pc.add(total, term)
        return pc.cast(total, pa.string())

    def dimension(self, languages) -> dict:
        labels = self.part.labels or Labels()
        out = {}
        for d in self.ids:
            codes = self.open_values.values if d == self.open else self.fixed[d]
            category: dict = {"index": [str(c) for c in codes]}
            names = {c: labels.code_name(d, c, languages) for c in codes} if d in self.fixed else {}
            names = {c: n for c, n in names.items() if n}
            if names:
                category["label"] = names
            out[d] = {"label": labels.component_name(d, languages), "category": category}
        return out


def _separators(n: int) -> pa.Array:
    """"" then "," for the rest: the commas between members of an object that starts here."""
    commas = np.ones(n, dtype=bool)
    commas[0] = False
    return pc.if_else(pa.array(commas), ",", "")


def write(message: DataMessage) -> Iterator[bytes]:
    cubes = [_Cube(part) for part in message.datasets]  # a 406 comes before the first byte
    return _stream(message, cubes)


def _stream(message: DataMessage, cubes: list[_Cube]) -> Iterator[bytes]:
    several = len(cubes) > 1
    if several:
        yield b'{"version":"2.0","class":"collection","link":{"item":['
    for position, cube in enumerate(cubes):
        if position:
            yield b","
        yield from _dataset(message, cube, several)
    if several:
        yield b"]}}"


def _dataset(message: DataMessage, cube: _Cube, in_collection: bool) -> Iterator[bytes]:
    part = cube.part
    shape = part.shape
    head = {} if in_collection else {"version": "2.0"}
    head |= {"class": "dataset", "label": (part.labels.pick(part.labels.usage, message.languages) if part.labels else None)
             or part.flow_ref, "updated": format_datetime(message.header.prepared)}
    yield orjson.dumps(head)[:-1] + b',"value":{'
    measure = shape.measure.id
    status = STATUS if STATUS in (*part.layout.obs_attrs, *part.layout.series_attrs) else None
    first = True
    first_status = True
    with tempfile.SpooledTemporaryFile(max_size=8 << 20) as statuses:
        for batch in part.batches:
            if batch.num_rows == 0:
                continue
            n = batch.num_rows
            index = cube.index(batch)
            if measure in batch.schema.names:
                column = batch.column(measure)
                value = json_string(column) if shape.measure.coded else json_number(column)
                value = pc.fill_null(value, "null")
            else:
                value = "null"
            separator = _separators(n) if first else ","
            first = False
            yield buffer_of(join([separator, '"', index, '":', value], n))
            if status and status in batch.schema.names:
                codes = batch.column(status)
                present = pc.is_valid(codes)
                if pc.any(present).as_py():
                    kept_index = pc.filter(index, present)
                    kept = pc.filter(codes, present)
                    m = len(kept)
                    sep = _separators(m) if first_status else ","
                    first_status = False
                    statuses.write(buffer_of(join([sep, '"', kept_index, '":', json_string(kept)], m)))
        yield b"}"
        if status and not first_status:
            yield b',"status":{'
            statuses.seek(0)
            while chunk := statuses.read(1 << 20):
                yield chunk
            yield b"}"
    tail = {
        "id": cube.ids,
        "size": [len(cube.open_values.positions) if d == cube.open else len(cube.fixed[d]) for d in cube.ids],
        "role": {"time": [shape.time.id]} if shape.time is not None else {},
        "dimension": cube.dimension(message.languages),
        "extension": {"sdmx": {"structure": part.flow_urn, "dsd": shape.dsd_urn}},
    }
    if not tail["role"]:
        del tail["role"]
    yield b"," + orjson.dumps(tail)[1:]
