"""SDMX-JSON data in: 1.0 (SDMX 2.1), 2.0 and 2.1 (SDMX 3.0, 3.1), series and flat forms.

SDMX-JSON names dimension values (and the values of attributes that list them) by their index
in the component's `values` in the message's `structure` (1.0: one for the message;
2.x: `structures`, each data set naming its own by number). Keys are those indices joined by
colons, in the order of `structure.dimensions.series` (a series key) and
`.observation` (an observation's key within its series, or the whole key when the data set is
flat). An observation is an array: the measure's value (2.x: one per measure of
`measures.observation`), then its attributes as indices or inline values.

Writers may put `structure` after `dataSets` (this server's do: their value lists are known
only at the end). A message up to STREAM_ABOVE bytes is parsed whole before it is read
(orjson: fast, but the parsed message is held in memory: a few hundred bytes per observation);
a larger one is read as a stream in two passes (sdmx_json_stream.py), both then read by
`read_message`. The observations go into the same chunked columns as SDMX-ML
(sdmx_ml.Columns): contexts for data sets and series, lists per chunk for observations. ROW is
the observation's place in the message, from 1 (IncomingData.row_label "observation"). A
message read as a stream is also handed over chunk by chunk (readers/chunked.py) unless its
data sets have group attributes: its structures say, before the first observation, which
components it gives.

A data set's `action` is its observations' ACTION as for SDMX-ML: Information (what plain
data messages say) is taken as a merge (M).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Iterator

import orjson

from sdmx_server.ingest.readers import ACTION, IncomingData
from sdmx_server.ingest.readers.chunked import chunked
from sdmx_server.ingest.readers.sdmx_ml import (
    _URN, CHUNK, DATASET, Columns, ReadFailed, action_code, same_version,
)
from sdmx_server.ingest.report import ValidationReport
from sdmx_server.registry.shape import DataShape

_HREF = re.compile(r"/(dataflow|datastructure)/([^/]+)/([^/]+)/([^/?#]+)")
_KINDS = {"Dataflow": "dataflow", "DataStructure": "datastructure"}


#: Messages larger than this are read as a stream (sdmx_json_stream.py, two passes: its memory
#: stays a few MB whatever the size); smaller ones are parsed whole (a few hundred bytes per
#: observation), which costs them little and names the line of a JSON error. Streamed reading
#: is as fast (best of 5, 1 to 9 MB messages of bench_load_formats: 0.99 to 1.8 times the
#: whole parse's speed; the whole parse's many objects cost the garbage collector).
STREAM_ABOVE = 1 << 20


def read_sdmx_json(source: Path | BinaryIO, shape: DataShape, flow: tuple[str, str, str],
                   report: ValidationReport) -> IncomingData | None:
    start = 0 if isinstance(source, (str, Path)) or not source.seekable() else source.tell()
    if _size(source) > STREAM_ABOVE:
        from sdmx_server.ingest.readers.sdmx_json_stream import Unstreamable, read_streamed

        try:
            return read_streamed(source, shape, flow, report)
        except Unstreamable:  # read whole after all (what a stream cannot tell apart)
            if not isinstance(source, (str, Path)):
                source.seek(start)
    return read_whole(source, shape, flow, report)


def _size(source: Path | BinaryIO) -> int:
    """The size of the message, or 0 when a stream cannot be read twice (it is then read whole)."""
    if isinstance(source, (str, Path)):
        return Path(source).stat().st_size
    if not source.seekable():
        return 0
    here = source.tell()
    size = source.seek(0, 2) - here
    source.seek(here)
    return size


def read_whole(source: Path | BinaryIO, shape: DataShape, flow: tuple[str, str, str],
               report: ValidationReport) -> IncomingData | None:
    """The message parsed whole, then read."""
    data = Path(source).read_bytes() if isinstance(source, (str, Path)) else source.read()
    try:
        message = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        line = data.count(b"\n", 0, exc.pos) + 1 if exc.pos is not None else 1
        report.file_error(f"line {line}: not well-formed JSON (is the file complete?): {exc.msg}")
        return None
    return read_message(message, shape, flow, report)


#: For a message read as a stream: (data set number, "series" or "observations", the member as
#: the first pass left it) -> its (key, value) pairs.
Pairs = Callable[[int, str, dict], Iterable[tuple[Any, Any]]]


def read_message(message: Any, shape: DataShape, flow: tuple[str, str, str], report: ValidationReport,
                 pairs: Pairs | None = None, close: Callable[[], None] | None = None,
                 errors: Callable[[Exception], str | None] = lambda exc: None) -> IncomingData | None:
    """The data of a parsed message; with `pairs`, of a message's skeleton whose series and
    observations `pairs` gives in order. With `close` as well, they are handed over chunk by
    chunk as `pairs` reads them (readers/chunked.py), when the message has no group attributes
    and its structures name every dimension (what it gives is then known before the first
    observation), and `close` is called at the stream's end (`errors`: the file error of
    what reading `pairs` may raise, a JSON syntax error); else they are read whole."""
    body = message.get("data") if isinstance(message, dict) and isinstance(message.get("data"), dict) else message
    if not isinstance(body, dict) or not isinstance(body.get("dataSets"), list):
        report.file_error("not an SDMX-JSON data message: it has no dataSets")
        return None
    version = "2.0" if "structures" in body else "1.0"
    if version == "2.0" and "$schema" in message:
        version = "2.1"
    structures = body.get("structures") if version != "1.0" else [body.get("structure")]
    if not isinstance(structures, list) or not all(isinstance(s, dict) for s in structures):
        report.file_error("the message has no structure to read its keys by (structure/structures)")
        return None
    columns = Columns(shape, report)
    counter = [0]
    pauses = _datasets(body, version, structures, shape, flow, columns, counter, pairs)
    label = f"SDMX-JSON {version}"
    if close is not None and (given := _given(body, structures, shape)) is not None:
        stream = chunked(pauses, columns, given, lambda exc: _not_as_described(exc, counter) or errors(exc), close,
                         "observation")
        return IncomingData(None, label, row_label="observation", stream=stream)
    try:
        for _ in pauses:
            pass
    except ReadFailed:
        return None
    except Exception as exc:
        if (error := _not_as_described(exc, counter)) is None:
            raise
        report.file_error(error)
        return None
    incoming = columns.incoming(label)
    if incoming is not None:
        incoming.row_label = "observation"
    return incoming


def _datasets(body: dict, version: str, structures: list, shape: DataShape, flow, columns: Columns,
              counter: list[int], pairs: Pairs | None) -> Iterator[None]:
    """Read the data sets, pausing after each chunk (sdmx_ml.Columns) is flushed. Raises
    ReadFailed when one cannot be read (the report says why)."""
    report = columns.report
    for number, dataset in enumerate(body["dataSets"]):
        where = f"data set {number + 1}"
        if not isinstance(dataset, dict):
            report.file_error(f"{where}: not a JSON object")
            raise ReadFailed
        index = dataset.get("structure", 0) if version != "1.0" else 0
        if not isinstance(index, int) or not 0 <= index < len(structures):
            report.file_error(f"{where}: names structure {index!r}, which the message does not have")
            raise ReadFailed
        structure = structures[index]
        _check_links(structure, dataset, shape, flow, report, where)
        read_pairs = (lambda member, value, n=number: pairs(n, member, value)) if pairs else None
        yield from _DataSet(shape, structure, columns, number, where).read(dataset, counter, read_pairs)


def _not_as_described(exc: Exception, counter: list[int]) -> str | None:
    """A message that does not have the shape SDMX-JSON gives it: say where, not how."""
    if not isinstance(exc, (TypeError, AttributeError, IndexError, ValueError, KeyError)):
        return None
    detail = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
    return f"observation {counter[0] + 1}: not SDMX-JSON data as the structure describes it ({detail})"


def _given(body: dict, structures: list, shape: DataShape) -> list[str] | None:
    """The components the data sets' structures name (in the DSD's order), or None when a
    data set has group attributes (joined on at the end: read whole) or a dimension is named
    by none (read whole, so that the reader says so as it always has)."""
    named: set = set()
    for dataset in body["dataSets"]:
        if not isinstance(dataset, dict):
            return None
        index = dataset.get("structure", 0) if "structures" in body else 0
        structure = structures[index] if isinstance(index, int) and 0 <= index < len(structures) else None
        if structure is None or dataset.get("dimensionGroupAttributes"):
            return None
        try:
            attributes = structure.get("attributes") or {}
            levels = [*(structure.get("dimensions") or {}).values(), *attributes.values()]
            named |= {c.get("id") for level in levels for c in level or []}
            measures = (structure.get("measures") or {}).get("observation") if "measures" in structure else None
            named |= {m.get("id") for m in measures} if measures else {shape.measure.id}
        except (AttributeError, TypeError):
            return None  # (read whole: the reading says what is wrong)
    if any(d not in named for d in shape.all_dimension_ids):
        return None
    return [c.id for c in shape.components if c.id in named]


def _check_links(structure: dict, dataset: dict, shape: DataShape, flow, report: ValidationReport, where: str):
    """The data set must be for the dataflow being loaded or its DSD, when its links say."""
    named: list[tuple[str, tuple[str, str, str]]] = []
    for link in [*(structure.get("links") or []), *(dataset.get("links") or [])]:
        if not isinstance(link, dict):
            continue
        if m := _URN.search(str(link.get("urn") or "")):
            if m.group(1) in _KINDS:
                named.append((_KINDS[m.group(1)], (m.group(2), m.group(3), m.group(4))))
        elif m := _HREF.search(str(link.get("href") or "")):
            named.append((m.group(1), (m.group(2), m.group(3), m.group(4))))
    if not named:
        report.warn(f"{where}: the message does not say which dataflow it is for; read as {flow[0]}:{flow[1]}({flow[2]})")
        return
    for kind, (a, i, v) in named:
        target = flow if kind == "dataflow" else shape.dsd
        if (a, i) == tuple(target[:2]) and (v in ("latest", "~", "*") or same_version(v, target[2])):
            return
    kind, (a, i, v) = named[0]
    report.file_error(f"{where}: the data set is for {kind} {a}:{i}({v}), not the dataflow being loaded "
                      f"({flow[0]}:{flow[1]}({flow[2]})) or its data structure {shape.dsd_ref}")
    raise ReadFailed


def _text(value: Any) -> str | None:
    """A JSON value as SDMX text: numbers exactly as they round-trip, localised text in its
    first language, arrays (multi-valued attributes) comma-joined."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return _text(next(iter(value.values()), None))
    if isinstance(value, list):
        return ",".join(t for t in (_text(v) for v in value) if t is not None)
    return str(value)


def _entry(value: dict) -> str | None:
    """What a `values` entry stands for: its id, else its value, else its name."""
    if not isinstance(value, dict):
        return _text(value)
    for member in ("id", "value", "name"):
        if member in value:
            return _text(value[member])
    return None


class _Component:
    """A dimension or attribute of the structure: its id and how an entry becomes text."""

    def __init__(self, description: dict):
        self.id = description.get("id")
        values = description.get("values")
        self.values = [_entry(v) for v in values] if isinstance(values, list) else None

    def decode(self, entry: Any) -> str | None:
        if entry is None:
            return None
        if self.values is not None and isinstance(entry, int) and not isinstance(entry, bool):
            if not 0 <= entry < len(self.values):
                raise ValueError(f"{self.id}: value {entry} is not among the {len(self.values)} values "
                                 f"the structure lists for it")
            return self.values[entry]
        return _text(entry)


class _DataSet:
    def __init__(self, shape: DataShape, structure: dict, columns: Columns, number: int, where: str):
        self.columns, self.number, self.where = columns, number, where
        dims = structure.get("dimensions") or {}
        attrs = structure.get("attributes") or {}
        self.dataset_dims = [_Component(d) for d in dims.get("dataSet") or []]
        self.series_dims = [_Component(d) for d in dims.get("series") or []]
        self.obs_dims = [_Component(d) for d in dims.get("observation") or []]
        self.dataset_attrs = [_Component(a) for a in attrs.get("dataSet") or []]
        self.group_attrs = [_Component(a) for a in attrs.get("dimensionGroup") or []]
        self.series_attrs = [_Component(a) for a in attrs.get("series") or []]
        self.obs_attrs = [_Component(a) for a in attrs.get("observation") or []]
        measures = (structure.get("measures") or {}).get("observation") if "measures" in structure else None
        measure_ids = [m.get("id") for m in measures] if measures else [shape.measure.id]
        self.measures = measure_ids
        for component in (*self.dataset_dims, *self.series_dims, *self.obs_dims, *self.dataset_attrs,
                          *self.group_attrs, *self.series_attrs, *self.obs_attrs):
            if component.id not in columns.known:
                columns.unknown(component.id, where)
        for m in measure_ids:
            if m not in columns.known:
                columns.unknown(m, where)

    def _known(self, component: _Component) -> bool:
        return component.id in self.columns.known

    def read(self, dataset: dict, counter: list[int],
             pairs: Callable[[str, dict], Iterable[tuple[Any, Any]]] | None = None) -> Iterator[None]:
        """The data set's observations, pausing after each chunk; `pairs` gives the (key, value)
        pairs of its series or observations when the message is read as a stream, else they
        are the dict's items."""
        items = pairs or (lambda member, value: value.items())
        columns = self.columns
        context: dict = {DATASET: self.number,
                         ACTION: action_code(dataset.get("action"), columns.report, self.where)}
        for dim in self.dataset_dims:
            if self._known(dim) and dim.values:
                context[dim.id] = dim.values[0]
        for attr, entry in zip(self.dataset_attrs, dataset.get("attributes") or []):
            if self._known(attr):
                context[attr.id] = attr.decode(entry)
        self._groups(dataset.get("dimensionGroupAttributes") or {})
        if isinstance(dataset.get("series"), dict):
            for key, series in items("series", dataset["series"]):
                series_context = dict(context)
                for dim, position in zip(self.series_dims, _positions(key)):
                    if self._known(dim):
                        series_context[dim.id] = dim.decode(position)
                for attr, entry in zip(self.series_attrs, series.get("attributes") or []):
                    if self._known(attr):
                        series_context[attr.id] = attr.decode(entry)
                observations = series.get("observations") or {}
                if not observations and context[ACTION] == "D":
                    observations = {None: []}  # a Delete data set's series alone deletes it whole
                yield from self._observations(columns.enter(series_context), observations.items(), counter)
        elif isinstance(dataset.get("observations"), dict):
            yield from self._observations(columns.enter(context), items("observations", dataset["observations"]), counter)

    def _groups(self, groups: dict) -> None:
        dims = [*self.series_dims, *self.obs_dims]
        for key, entries in groups.items():
            group_key = {dims[i].id: dims[i].decode(int(p)) for i, p in enumerate(key.split(":"))
                         if p != "" and i < len(dims) and self._known(dims[i])}
            values = {a.id: a.decode(e) for a, e in zip(self.group_attrs, entries or []) if self._known(a)}
            if group_key and values:
                self.columns.groups.append((self.number, group_key, values))

    def _observations(self, context: int, observations: Iterable[tuple[Any, Any]],
                      counter: list[int]) -> Iterator[None]:
        columns = self.columns
        measures = [(i, m) for i, m in enumerate(self.measures) if m in columns.known]
        first_attr = len(self.measures)
        dims = [(i, d) for i, d in enumerate(self.obs_dims) if self._known(d)]
        attrs = [(first_attr + i, a) for i, a in enumerate(self.obs_attrs) if self._known(a)]
        wanted = columns.observation_lists([d.id for _, d in dims] + [m for _, m in measures] + [a.id for _, a in attrs])
        dim_lists = [(d, wanted[k][1]) for k, (_, d) in enumerate(dims)]
        value_lists = [(i, wanted[len(dims) + k][1]) for k, (i, _) in enumerate(measures)]
        attr_lists = [(i, a, wanted[len(dims) + len(measures) + k][1]) for k, (i, a) in enumerate(attrs)]
        for key, values in observations:
            positions = _positions(key) if key is not None else []
            for (position, dim), (_, out) in zip(dims, dim_lists):
                out.append(dim.decode(positions[position]) if position < len(positions) else None)
            n = len(values)
            for i, out in value_lists:
                out.append(_text(values[i]) if i < n else None)
            for i, attr, out in attr_lists:
                out.append(attr.decode(values[i]) if i < n else None)
            counter[0] += 1
            columns.rows.append(counter[0])
            columns.context_of_row.append(context)
            if len(columns.rows) >= CHUNK:
                columns.flush()
                context = 0
                yield


def _positions(key: str) -> list[int]:
    return [int(p) for p in key.split(":")] if key else []
