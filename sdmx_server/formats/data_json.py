"""SDMX-JSON data messages (1.0.0, 2.0.0, 2.1.0), streamed batch by batch.

SDMX-JSON refers to dimension values (and to coded attribute values) by their index in the
component's `values` list of the structure. Those lists are built while the observations are
written, not before: each component keeps a dictionary of the values it has met, in the order
met (the rows come sorted by key, so codes appear in key order), and each batch's values are
turned into indices with Arrow kernels (`pc.dictionary_encode` of the batch, then one `take`
through a small table from the batch's dictionary to the message's). Python touches each
distinct value of a batch once, never an observation. The `structure` member is therefore
written after `dataSets`: the field guides leave the order of an object's members undefined
("consuming applications should not rely on any specific ordering"), and they ask `values` to
list the values used in the message, which only the end of the data tells. This keeps one
pass over the rows, memory bounded by the batch and the distinct values, and a small slice's
answer small (a codelist of 20,000 areas is not repeated for a one-series query).

SDMX-JSON 2.x writes the values of non-coded attributes and of the measure inline (no `values`
list, as the 2.0 and 2.1 guides allow); 1.0 requires a `values` list for every attribute.
The version modules (data_json10/20/21) override only what differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from sdmx_server.formats.data_message import DataMessage, DataSetPart, Labels
from sdmx_server.formats.ml21 import format_datetime
from sdmx_server.formats.text import buffer_of, join, new_series, number_text

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def json_string(values: pa.Array) -> pa.Array:
    """Each value as a JSON string literal (quoted, escaped where needed); nulls stay null."""
    if pc.any(pc.match_substring_regex(values, r'[\\"\x00-\x1f]')).as_py():
        values = pc.replace_substring(values, "\\", "\\\\")
        for char, escaped in _ESCAPES.items():
            if char != "\\":
                values = pc.replace_substring(values, char, escaped)
        for code in range(32):
            char = chr(code)
            if char not in _ESCAPES and pc.any(pc.match_substring(values, char)).as_py():
                values = pc.replace_substring(values, char, f"\\u{code:04x}")
    return pc.binary_join_element_wise('"', values, '"', "")


def json_number(values: pa.Array, nan_as_string: bool = False) -> pa.Array:
    """Numbers as JSON numbers; infinities as "INF"/"-INF" strings (JSON has no infinity; the
    schemas allow strings); NaN as "NaN" with `nan_as_string` (SDMX-JSON: an intentionally
    missing value, kept apart from an absent one), else as null (JSON-stat allows no string)."""
    if not pa.types.is_floating(values.type) and not pa.types.is_integer(values.type):
        return json_string(values)
    text = number_text(values)
    # Only batches that hold a NaN or an infinity pay for the kernels that rewrite them.
    if pa.types.is_floating(values.type) and pc.any(pc.is_nan(values)).as_py():
        nan = pa.scalar('"NaN"' if nan_as_string else None, pa.string())
        text = pc.if_else(pc.equal(text, "NaN"), nan, text)
    if pa.types.is_floating(values.type) and pc.any(pc.is_inf(values)).as_py():
        text = pc.replace_substring_regex(text, r"^(-?INF)$", r'"\1"')
    return text


@dataclass
class Values:
    """The values a component takes in the message, in the order met; index per row by kernels."""

    positions: dict[Any, int] = field(default_factory=dict)

    def indices(self, column: pa.Array) -> pa.Array:
        """The index of each row's value in this list (null stays null), adding new values."""
        table, encoded = self._table(column)
        return pc.take(pa.array(table, pa.int32()), encoded.indices)

    def index_texts(self, column: pa.Array, before: str = "", after: str = "") -> pa.Array:
        """The same indices as text: the batch's few distinct indices are made text once and
        taken per row, cheaper than casting every row's number. `before` and `after` (the
        JSON around the index) are joined to the distinct texts, not to every row."""
        table, encoded = self._table(column)
        return pc.take(pa.array([f"{before}{p}{after}" for p in table], pa.string()), encoded.indices)

    def _table(self, column: pa.Array):
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        encoded = column if pa.types.is_dictionary(column.type) else pc.dictionary_encode(column)
        positions = self.positions
        return [positions.setdefault(v, len(positions)) for v in encoded.dictionary.to_pylist()], encoded

    @property
    def values(self) -> list:
        return list(self.positions)


class DataWriter:
    """SDMX-JSON 1.0.0; the 2.x writers override what differs."""

    version = "1.0.0"
    schema_url = "https://raw.githubusercontent.com/sdmx-twg/sdmx-json/master/data-message/tools/schemas/1.0/sdmx-json-data-schema.json"
    #: 2.x: non-coded attributes are written as values, not indices.
    inline_text_attributes = False

    def __init__(self, message: DataMessage) -> None:
        self.message = message
        self.languages = message.languages
        self.parts = list(message.datasets)

    # -- the message ---------------------------------------------------------------------------

    def stream(self) -> Iterator[bytes]:
        yield self.opening()
        dictionaries = self.all_dictionaries()
        for position, part in enumerate(self.parts):
            if position:
                yield b","
            yield from self.dataset(position, part, dictionaries[position])
        structures = self.structures(dictionaries)[1:-1]
        yield b"]" + (b"," + structures if structures else b"") + b"}}"

    def opening(self) -> bytes:
        return b'{"meta":' + orjson.dumps(self.meta()) + b',"data":{"dataSets":['

    def meta(self) -> dict:
        header = self.message.header
        meta: dict[str, Any] = {"schema": self.schema_url, "id": header.id, "test": header.test,
                                "prepared": format_datetime(header.prepared)}
        if self.languages:
            meta["contentLanguages"] = list(self.languages)
        meta["sender"] = {"id": header.sender}
        return meta

    def structures(self, dictionaries: list[dict[str, Values]]) -> bytes:
        """`{"structure": ...}` (1.0: one structure for every data set, checked alike)."""
        if not self.parts:
            return b"{}"
        return orjson.dumps({"structure": self.structure(0, self.parts[0], dictionaries[0])})

    def all_dictionaries(self) -> list[dict[str, Values]]:
        """One set of value lists per structure: 1.0's one structure serves every data set."""
        shared = self.dictionaries(self.parts[0]) if self.parts else {}
        return [shared for _ in self.parts]

    def dictionaries(self, part: DataSetPart) -> dict[str, Values]:
        return {c: Values() for c in (*part.shape.all_dimension_ids, *(a.id for a in part.shape.attributes))}

    # -- a data set ------------------------------------------------------------------------------

    def dataset_head(self, position: int, part: DataSetPart) -> bytes:
        # The 1.0 and 2.0 schemas require a data set's links: the structure usage it is for.
        # The action and validity of answers of updatedAfter and includeHistory (data_message.py).
        head = b'{"action":' + orjson.dumps(part.action or "Information")
        if part.valid_from is not None:
            head += b',"validFrom":' + orjson.dumps(format_datetime(part.valid_from))
        if part.valid_to is not None:
            head += b',"validTo":' + orjson.dumps(format_datetime(part.valid_to))
        return head + b',"links":' + orjson.dumps(self.links(part)[:1]) + b","

    def dataset(self, position: int, part: DataSetPart, values: dict[str, Values]) -> Iterator[bytes]:
        layout = part.layout
        series = layout.obs_dimension is not None
        yield self.dataset_head(position, part) + (b'"series":{' if series else b'"observations":{')
        previous, open_series, first = None, False, True
        dataset_values: dict[str, Any] = {}
        for batch in part.batches:
            if batch.num_rows == 0:
                continue
            if first:  # data-set-level attributes hold one value (the service sees to it): the first row's
                for attribute in layout.dataset_attrs:
                    value = batch.column(attribute)[0].as_py() if attribute in batch.schema.names else None
                    if value is not None:
                        positions = values[attribute].positions
                        positions.setdefault(value, len(positions))
                        dataset_values[attribute] = value
            if series:
                text, previous, open_series = self.series_rows(part, batch, values, previous, open_series)
            else:
                text = self.flat_rows(part, batch, values, first)
            first = False
            yield buffer_of(text)
        if open_series and layout.with_observations:
            yield b"}}"
        tail = b"}"
        if layout.dataset_attrs:
            attrs = [self.dataset_attribute(part, a, values[a], dataset_values.get(a)) for a in layout.dataset_attrs]
            tail += b',"attributes":' + orjson.dumps(attrs)
        yield tail + b"}"

    def dataset_attribute(self, part: DataSetPart, attribute: str, values: Values, value: Any):
        if value is None:
            return None
        return value if self.inline(part, attribute) else values.positions[value]

    def series_rows(self, part: DataSetPart, batch: pa.RecordBatch, values: dict[str, Values],
                    previous, open_series: bool):
        """Text per row: where a series starts, the previous series closed and the new one
        opened (its key and attributes, computed on the starting rows only), then the
        observation."""
        layout = part.layout
        n = batch.num_rows
        starts, previous = new_series([batch.column(d) for d in layout.series_dims], previous)
        heads = batch.filter(starts)
        m = heads.num_rows
        key: list = ['"']
        for position, dim in enumerate(layout.series_dims):
            if position:
                key.append(":")
            key.append(values[dim].index_texts(heads.column(dim)))
        key.append('":{')
        if layout.series_attrs:
            key.append('"attributes":[')
            key += self.attribute_list(part, heads, values, layout.series_attrs)
            key.append("]" + ("," if layout.with_observations else ""))
        if layout.with_observations:
            key.append('"observations":{')
            before = "}},"
        else:
            key.append("}")
            before = ","
        if m:
            closes = np.ones(m, dtype=bool)
            closes[0] = open_series  # nothing to close before the data set's first series
            opening = join([pc.if_else(pa.array(closes), before, ""), *key], m)
        else:
            opening = pa.array([], pa.string())
        if not layout.with_observations:
            return pc.replace_with_mask(pc.if_else(starts, "", ""), starts, opening), previous, True
        prefix = pc.replace_with_mask(pc.if_else(starts, "", ","), starts, opening)
        return join([prefix, *self.observation(part, batch, values, layout.obs_dims)], n), previous, True

    def flat_rows(self, part: DataSetPart, batch: pa.RecordBatch, values: dict[str, Values], first: bool):
        n = batch.num_rows
        separator: Any = ","
        if first:
            leading = np.ones(n, dtype=bool)
            leading[0] = False
            separator = pc.if_else(pa.array(leading), ",", "")
        return join([separator, *self.observation(part, batch, values, part.layout.obs_dims)], n)

    def observation(self, part: DataSetPart, batch: pa.RecordBatch, values: dict[str, Values],
                    dims: Sequence[str]) -> list:
        """'"i:j":[value,attr,...]' pieces for each row."""
        # The key's quotes and colons and the attributes' commas ride on the distinct indices'
        # texts (index_texts), so a row's join has a piece per component, not two.
        pieces: list = [] if dims else ['"":[']
        for position, dim in enumerate(dims):
            before = ":" if position else '"'
            after = '":[' if position == len(dims) - 1 else ""
            pieces.append(values[dim].index_texts(batch.column(dim), before, after))
        measure = part.shape.measure.id
        if measure in batch.schema.names:
            pieces.append(pc.fill_null(self.measure_text(part, batch.column(measure)), "null"))
        else:
            pieces.append("null")
        if part.layout.obs_attrs:
            pieces += self.attribute_list(part, batch, values, part.layout.obs_attrs, ",", "]")
        else:
            pieces.append("]")
        return pieces

    def measure_text(self, part: DataSetPart, column: pa.Array) -> pa.Array:
        if part.shape.measure.coded:
            return json_string(column)
        return json_number(column, nan_as_string=True)

    def attribute_list(self, part: DataSetPart, batch: pa.RecordBatch, values: dict[str, Values],
                       attributes: Sequence[str], first: str = "", last: str = "") -> list:
        """The attributes' values separated by commas, `first` before them and `last` after."""
        pieces: list = []
        for position, attribute in enumerate(attributes):
            before = "," if position else first
            after = last if position == len(attributes) - 1 else ""
            if attribute not in batch.schema.names:
                pieces.append(f"{before}null{after}")
                continue
            column = batch.column(attribute)
            if self.inline(part, attribute):
                pieces += [before, pc.fill_null(json_string(column), "null"), after]
            else:
                text = values[attribute].index_texts(column, before, after)
                pieces.append(pc.fill_null(text, f"{before}null{after}"))
        return pieces

    def inline(self, part: DataSetPart, attribute: str) -> bool:
        return self.inline_text_attributes and not part.shape.component(attribute).coded

    # -- the structure ---------------------------------------------------------------------------

    def structure(self, position: int, part: DataSetPart, values: dict[str, Values]) -> dict:
        layout, shape = part.layout, part.shape
        all_dims = shape.all_dimension_ids
        dimensions: dict[str, list] = {"dataSet": []}
        dimensions["series"] = [self.dimension(part, d, all_dims.index(d), values[d]) for d in layout.series_dims]
        dimensions["observation"] = [self.dimension(part, d, all_dims.index(d), values[d]) for d in layout.obs_dims]
        attributes = {
            "dataSet": [self.attribute(part, a, values[a]) for a in layout.dataset_attrs],
            "series": [self.attribute(part, a, values[a]) for a in layout.series_attrs],
            "observation": [self.attribute(part, a, values[a]) for a in layout.obs_attrs],
        }
        out: dict[str, Any] = {"links": self.links(part)}
        out |= self.names(part.labels.usage if part.labels else None, part.flow[1])
        out["dimensions"] = dimensions
        out["attributes"] = attributes
        return out

    def links(self, part: DataSetPart) -> list[dict]:
        agency, flow_id, version = part.flow
        return [{"rel": part.context, "urn": part.flow_urn,
                 "href": f"/rest/{part.context}/{agency}/{flow_id}/{version}"},
                {"rel": "datastructure", "urn": part.shape.dsd_urn,
                 "href": "/rest/datastructure/{}/{}/{}".format(*part.shape.dsd)}]

    def names(self, texts, fallback: str) -> dict:
        """{"name": best match, "names": the client's languages} (ids when nothing is named)."""
        if not texts:
            return {"name": fallback}
        name = Labels.pick(texts, self.languages) or fallback
        chosen = {lang: text for lang, text in texts.items() if self.wanted(lang)} or {
            lang: text for lang, text in texts.items() if text == name}
        return {"name": name, "names": chosen}

    def wanted(self, lang: str) -> bool:
        if not self.languages:
            return True
        lang = lang.lower()
        return any(lang == w.lower() or lang.startswith(w.lower() + "-") or w.lower().startswith(lang + "-")
                   for w in self.languages)

    def component_head(self, part: DataSetPart, component_id: str) -> dict:
        labels = part.labels
        return {"id": component_id, **self.names(labels.components.get(component_id) if labels else None, component_id)}

    def dimension(self, part: DataSetPart, dim: str, key_position: int, values: Values) -> dict:
        out = self.component_head(part, dim)
        out["keyPosition"] = key_position
        if part.shape.time is not None and dim == part.shape.time.id:
            out["roles"] = ["TIME_PERIOD"]
        out["values"] = [self.value(part, dim, v) for v in values.values]
        return out

    def value(self, part: DataSetPart, component_id: str, value: Any) -> dict:
        texts = None
        if part.labels is not None and part.shape.component(component_id).coded:
            texts = part.labels.codes.get(component_id, {}).get(value)
        return {"id": str(value), **self.names(texts, str(value))}

    def attribute(self, part: DataSetPart, attribute_id: str, values: Values) -> dict:
        component = part.shape.component(attribute_id)
        out = self.component_head(part, attribute_id)
        out["relationship"] = self.relationship(part, component)
        if component.coded:
            out["values"] = [self.value(part, attribute_id, v) for v in values.values]
        else:
            out["values"] = [{"name": str(v)} for v in values.values]
        return out

    def relationship(self, part: DataSetPart, component) -> dict:
        if component.attachment == "dataset":
            return {"none": {}}
        if component.attachment == "dimensions" and component.attach_dims:
            return {"dimensions": list(component.attach_dims)}
        return {"primaryMeasure": part.shape.measure.id}


def check_one_structure(parts: Sequence[DataSetPart], version: str) -> None:
    """SDMX-JSON 1.0 has one structure per message: data sets of different structures or
    layouts are a 406 before the first byte."""
    from sdmx_server.errors import NotAcceptable

    for part in parts[1:]:
        if part.shape != parts[0].shape or part.layout != parts[0].layout:
            raise NotAcceptable(
                f"{parts[0].flow_ref} and {part.flow_ref} have different structures, which one SDMX-JSON "
                f"{version} message cannot hold; ask for each alone or for SDMX-JSON 2.0.0", [])


def write(message: DataMessage, version: str = "1.0.0") -> Iterator[bytes]:
    """The media table's entry point for every SDMX-JSON data version."""
    from sdmx_server.formats import data_json10, data_json20, data_json21

    cls = {"1.0.0": data_json10.Writer, "2.0.0": data_json20.Writer, "2.1.0": data_json21.Writer}[version]
    writer = cls(message)
    writer.check()
    return writer.stream()
