"""SDMX-CSV data, 1.0.0, 2.0.0 and 2.1.0, streamed batch by batch.

Columns are the components the layout lists, in DSD order by kind (dimensions, the measure,
attributes): with observations (detail full|dataonly) one record per observation and every
dimension; with detail=nodata one record per series, holding the series key and the data-set
and series attributes only; with detail=serieskeysonly the series key alone. Fields that need
quotes get them (RFC 4180); the others are written as they are.

The media-type parameters (DataMessage.parameters) are honoured as the field guides say:
- `labels` (1.0: id|both; 2.x: id|name|both): `both` writes "ID: Name" in the headers of
  dimensions and attributes (2.x: and the measure), in coded cells and in the structure cell;
  `name` (2.x) adds a STRUCTURE_NAME column and after each component's column one with its
  name (the code's name in coded cells, empty otherwise). Names come from DataSetPart.labels in
  the client's languages (Labels.pick); a code without a name is written as its id.
- `timeFormat=normalized`: the time dimension as the ISO 8601 date on which the period starts
  (2020-Q1 -> 2020-01-01, the field guide's 2014-01 -> 2014-01-01), or date-time where the
  period does not start at midnight; values that are no SDMX period stay as they are.
- `keys` (2.x: none|obs|series|both): SERIES_KEY (the series dimensions' values joined by
  ".") and/or OBS_KEY (every dimension's) after ACTION; OBS_KEY only where records are
  observations.

Every cell is built by Arrow kernels over the whole batch; names are looked up with
`index_in`/`take` against arrays built once per data set, periods are parsed once per distinct
value (query.periods.period_columns).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sdmx_server.errors import NotAcceptable
from sdmx_server.formats.data_message import DataMessage, DataSetPart, Labels
from sdmx_server.formats.ml21 import format_datetime
from sdmx_server.formats.text import buffer_of, csv_escape, new_series, number_text
from sdmx_server.query.periods import period_columns

MEDIA_TYPE_10 = "application/vnd.sdmx.data+csv;version=1.0.0"
MEDIA_TYPE_20 = "application/vnd.sdmx.data+csv;version=2.0.0"
MEDIA_TYPE_21 = "application/vnd.sdmx.data+csv;version=2.1.0"

#: Custom columns of includeHistory answers: the record's data set's validFromDate and validToDate.
VALIDITY = ("VALID_FROM", "VALID_TO")
#: The first column's value per context (2.x field guide: "dataflow, datastructure or dataprovision").
_STRUCTURE = {"dataflow": "dataflow", "datastructure": "datastructure", "provisionagreement": "dataprovision"}


@dataclass(frozen=True)
class Options:
    labels: str = "id"  # id | name | both
    normalized_time: bool = False
    series_key: bool = False
    obs_key: bool = False
    validity: bool = False  # VALID_FROM and VALID_TO columns (includeHistory answers)

    @classmethod
    def of(cls, parameters: dict[str, str], version: str) -> "Options":
        """From the media-type parameters; the media table has already refused values the
        version does not define, so what is not recognised here is the default."""
        p = {k.lower(): v.lower() for k, v in (parameters or {}).items()}
        keys = p.get("keys", "none") if version != "1.0" else "none"
        labels = p.get("labels", "id")
        if version == "1.0" and labels == "name":
            labels = "id"
        return cls(labels, p.get("timeformat") == "normalized", keys in ("series", "both"), keys in ("obs", "both"))


def columns(part: DataSetPart) -> list[str]:
    """The components written, in DSD order by kind."""
    layout, shape = part.layout, part.shape
    if layout.detail == "serieskeysonly":
        return list(layout.series_dims)
    if layout.with_observations:
        ids = list(shape.all_dimension_ids) + [shape.measure.id]
        wanted = set(layout.dataset_attrs + layout.series_attrs + layout.obs_attrs)
    else:  # nodata: a record per series
        ids = list(layout.series_dims)
        wanted = set(layout.dataset_attrs + layout.series_attrs)
    return ids + [a.id for a in shape.attributes if a.id in wanted]


def write(message: DataMessage, version: str = "1.0") -> Iterator[bytes]:
    """One header row for the message: data sets of one structure follow each other; data sets
    of different structures cannot share one SDMX-CSV header."""
    parts = list(message.datasets)
    ids = columns(parts[0]) if parts else []
    for part in parts[1:]:
        if columns(part) != ids:  # checked before the first byte goes out: a 406, not a cut answer
            raise NotAcceptable(
                f"{parts[0].flow_ref} and {part.flow_ref} have different structures, which one SDMX-CSV "
                f"{version} file cannot hold; ask for each alone or for SDMX-ML", [])
    options = Options.of(message.parameters, version)
    header = _header(parts[0], ids, version, options, message.languages) if parts else []
    if any(p.action is not None for p in parts) and version == "1.0":
        raise NotAcceptable("SDMX-CSV 1.0 has no ACTION column: it cannot say which observations were deleted; "
                            "ask for SDMX-CSV 2.0 or 2.1", [])
    if any(p.valid_from is not None or p.valid_to is not None for p in parts):
        # includeHistory: when each record's data set was valid, in custom columns (the field
        # guide allows them after the components); empty where the data set has no such bound.
        header += list(VALIDITY)
        options = replace(options, validity=True)
    return _stream(parts, ids, header, version, options, message.languages)


def _header(part: DataSetPart, ids: list[str], version: str, options: Options, languages) -> list[str]:
    labels = part.labels or Labels()
    if version == "1.0":
        fields = ["DATAFLOW"]
    else:
        fields = ["STRUCTURE", "STRUCTURE_ID"] + (["STRUCTURE_NAME"] if options.labels == "name" else []) + ["ACTION"]
        fields += (["SERIES_KEY"] if options.series_key else []) + (["OBS_KEY"] if _obs_key(part, options) else [])
    for component_id in ids:
        name = labels.component_name(component_id, languages)
        measure_in_10 = version == "1.0" and component_id == part.shape.measure.id  # always the bare term
        if options.labels == "both" and not measure_in_10:
            fields.append(f"{component_id}: {name}")
        else:
            fields.append(component_id)
        if options.labels == "name":
            fields.append(name)
    return [_escape_text(f) for f in fields]


def _obs_key(part: DataSetPart, options: Options) -> bool:
    return options.obs_key and part.layout.with_observations


def _stream(parts: list[DataSetPart], ids: list[str], header: list[str], version: str, options: Options,
            languages) -> Iterator[bytes]:
    # Each record is written as "\n" and its cells joined by "," (a kernel's separator, not a
    # piece per comma: half the pieces of a record's join); the last line's "\n" comes last.
    yield ",".join(header).encode()
    for part in parts:
        yield from _rows(part, ids, version, options, languages)
    yield b"\n"


def _rows(part: DataSetPart, ids: list[str], version: str, options: Options, languages) -> Iterator[bytes]:
    labels = part.labels or Labels()
    usage_name = labels.pick(labels.usage, languages)
    structure = part.flow_ref
    if options.labels == "both" and usage_name:
        structure = f"{structure}: {usage_name}"
    if version == "1.0":
        prefix = [structure]
    else:
        prefix = [_STRUCTURE.get(part.context, part.context), structure]
        if options.labels == "name":
            prefix.append(usage_name or "")
        # A data set's action as its first letter (R, D); I(nformation) for plain answers.
        prefix.append(part.action[0] if part.action else "I")
    prefix_text = "\n" + ",".join(_escape_text(p) for p in prefix)
    names = _CodeNames(part, labels, languages) if options.labels in ("name", "both") else None
    per_series = not part.layout.with_observations  # one record per series (nodata, serieskeysonly)
    previous = None
    # With observations, the record's leading cells that are the same in every record of a
    # series (the prefix, SERIES_KEY, the series dimensions before the first other column) are
    # joined once per series, on its first row, and taken back to the series' rows.
    series_dims = set(part.layout.series_dims)
    for batch in part.batches:
        if batch.num_rows == 0:
            continue
        if per_series:  # the first record of each series carries its attributes (nodata)
            starts, previous = new_series([batch.column(d) for d in part.layout.series_dims], previous)
            batch = batch.filter(starts)
        n = batch.num_rows
        # `head`: the rows the leading cells are built on (the start rows, or every row when
        # each record is its own series' or there are no series); `cells` ends the record.
        whole = per_series or not series_dims
        if whole:
            head = batch
        else:
            starts = new_series([batch.column(d) for d in part.layout.series_dims], None)[0]
            head = batch.filter(starts)
        head_cells: list = [prefix_text]
        cells: list = head_cells
        if options.series_key:
            cells.append(_key(head, part.layout.series_dims, head.num_rows))
        if _obs_key(part, options):
            cells = [] if not whole else cells
            cells.append(_key(batch, part.shape.all_dimension_ids, n))
        for component_id in ids:
            if cells is head_cells and not whole and component_id not in series_dims:
                cells = []
            cells += _fields(part, head if cells is head_cells else batch, component_id, options, names)
        if options.validity:
            cells += [_validity(part.valid_from), _validity(part.valid_to)]
        if whole:
            yield buffer_of(_join_cells(cells, n))
        else:
            if cells is head_cells:  # (cannot be: the measure or OBS_KEY ends the series' cells)
                cells = []
            yield buffer_of(_join_cells([_spread(starts, _join_cells(head_cells, head.num_rows)), *cells], n))


def _validity(moment) -> str:
    return format_datetime(moment) if moment is not None else ""


def _join_cells(cells: list, length: int) -> pa.Array:
    """Cells (literals or string arrays) joined by commas, element-wise."""
    if not any(isinstance(c, (pa.Array, pa.ChunkedArray)) for c in cells):
        return pa.array([",".join(cells)] * length, pa.string())
    return pc.binary_join_element_wise(*cells, ",")


def _spread(starts: pa.Array, heads: pa.Array) -> pa.Array:
    """Each row's series text: `heads` holds one string per start row, in order."""
    flags = starts.to_numpy(zero_copy_only=False)
    return heads.take(pa.array(np.cumsum(flags, dtype=np.int32) - 1))


def _key(batch: pa.RecordBatch, dims: Sequence[str], n: int) -> pa.Array | str:
    """Dimension values joined by '.' (ids never need quotes)."""
    if not dims:
        return ""
    present = [pc.fill_null(batch.column(d), "") if d in batch.schema.names else "" for d in dims]
    if len(present) == 1:
        return present[0]
    return pc.binary_join_element_wise(*present, ".")


def _fields(part: DataSetPart, batch: pa.RecordBatch, component_id: str, options: Options,
            names: "_CodeNames | None") -> list:
    """The cell (and, with labels=name, the name cell after it) of one component, per row."""
    component = part.shape.component(component_id)
    if component_id not in batch.schema.names:
        return [""] if options.labels != "name" else ["", ""]
    values = batch.column(component_id)
    if names is not None and component.coded and names.has(component_id):
        # Labels are built on the batch's distinct codes and taken back to the rows.
        encoded = pc.dictionary_encode(values)
        codes = encoded.dictionary
        name = names.of(component_id, codes)
        if options.labels == "both":
            labelled = csv_escape(pc.coalesce(pc.binary_join_element_wise(codes, name, ": "), codes))
            return [pc.fill_null(labelled.take(encoded.indices), "")]
        return [pc.fill_null(values, ""), pc.fill_null(pc.fill_null(csv_escape(name), "").take(encoded.indices), "")]
    numeric = False
    if component.role == "measure":
        numeric = not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type))
        values = number_text(values)
    elif component.role == "time" and options.normalized_time:
        values = _normalized(values)
    if not component.coded and not numeric:  # numbers as text hold no comma, quote or line break
        values = csv_escape(values)
    cells = [pc.fill_null(values, "")]
    if options.labels == "name":
        cells.append("")
    return cells


def _normalized(periods: pa.Array) -> pa.Array:
    """The ISO 8601 start of each period: a date when it is midnight, else a date-time; worked
    out once per distinct period of the batch."""
    encoded = pc.dictionary_encode(periods)
    distinct = encoded.dictionary
    starts, _, valid = period_columns(distinct)
    starts = pc.if_else(pc.ends_with(starts, "T00:00:00"), pc.utf8_slice_codeunits(starts, 0, 10), starts)
    return pc.if_else(valid, starts, distinct).take(encoded.indices)


class _CodeNames:
    """Per coded component, its codes and their names in the client's language, as arrays
    built once per data set; `of` looks a batch column up with two kernels."""

    def __init__(self, part: DataSetPart, labels: Labels, languages) -> None:
        self._tables: dict[str, tuple[pa.Array, pa.Array]] = {}
        for component_id, codes in labels.codes.items():
            ids = list(codes)
            texts = [labels.pick(codes[i], languages) for i in ids]
            self._tables[component_id] = (pa.array(ids, pa.string()), pa.array(texts, pa.string()))

    def has(self, component_id: str) -> bool:
        return component_id in self._tables

    def of(self, component_id: str, values: pa.Array) -> pa.Array | None:
        table = self._tables.get(component_id)
        if table is None:
            return None
        codes, texts = table
        if codes.type != values.type:  # large_string columns: the lookup arrays follow
            codes, texts = codes.cast(values.type), texts.cast(values.type)
        return pc.take(texts, pc.index_in(values, value_set=codes))


def _escape_text(value: str) -> str:
    if any(c in value for c in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value
