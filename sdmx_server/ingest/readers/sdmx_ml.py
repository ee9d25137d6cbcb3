"""What the SDMX-ML data readers share: the header's structures, data set actions, the columns
built chunk by chunk, group attributes, and the hand-over as IncomingData.

Both readers (sdmx_ml_specific: 2.1 and 3.x structure-specific data; sdmx_ml_generic: 2.1
generic data) stream the message and give each observation (ROW: the line of its element)
a value for every component: its own, else its series', else its data set's. Those from above
the observation ("the context": the data set's attributes and action, a series' key and
attributes) are not copied per observation: each observation keeps the index of its context,
and a chunk's columns take the contexts' values with one Arrow `take`. So Python holds one
small list entry per observation and component only until the chunk (CHUNK rows) is made
Arrow arrays.

Group elements may come before or after the series they describe, so their attributes are
applied at the end, by a join of the whole table with each group type's keys. A message
without groups (of either reader) is handed over chunk by chunk instead (`Reading.run` pauses
after each chunk; sdmx_ml_stream.py).

`Reading` is the loop both readers run over the message's elements (one iterparse, Obs and
what holds them): the bookkeeping of each observation (its line, its context, chunks, freeing
what has been read), series without observations, groups, data sets and the header. What an
element means is the format's: each reader implements the hooks.

A data set's action becomes the ACTION of its observations: Append and Merge are M, Replace
R, Delete D. Information (the default SDMX writers use for plain data) is taken as M, a merge:
the message claims nothing stronger. A data set without an action leaves ACTION null, so the
load's own action (--action) applies.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sdmx_server.ingest.readers import ACTION, ROW, IncomingData
from sdmx_server.ingest.readers.obs_layouts import ObsLayouts
from sdmx_server.ingest.readers.xml_safe import OpenXML, release
from sdmx_server.ingest.report import ValidationReport
from sdmx_server.registry.shape import DataShape

CHUNK = 65_536
#: The elements the readers are given (at their end), whatever their namespace.
TAGS = ("{*}Header", "{*}DataSet", "{*}Group", "{*}Series", "{*}Obs")
#: Observations in a series read before the ones read are freed (a long series stays small).
FREE_EVERY = 1024
#: The dataset each row comes from (internal; dropped before the hand-over).
DATASET = "__dataset"
ACTIONS = {"append": "M", "merge": "M", "replace": "R", "delete": "D", "information": "M"}
_URN = re.compile(r"urn:sdmx:org\.sdmx\.infomodel\.[a-z]+\.(\w+)=([^:]+):([^(]+)\(([^)]*)\)")
_KINDS = {"Dataflow": "dataflow", "DataStructure": "datastructure", "ProvisionAgreement": "provisionagreement"}
_USAGES = {"StructureUsage": "dataflow", "Structure": "datastructure", "ProvisionAgreement": "provisionagreement",
           "ProvisionAgrement": "provisionagreement"}


class ReadFailed(Exception):
    """The message cannot be read on; the report already says why."""


@dataclass(frozen=True)
class HeaderStructure:
    """A mes:Structure of the header: what the data sets that name `structure_id` are of."""

    structure_id: str
    kind: str | None  # dataflow | datastructure | provisionagreement
    ref: tuple[str, str, str] | None  # agency, id, version
    dimension_at_observation: str | None


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def header_structures(header, report: ValidationReport) -> dict[str, HeaderStructure]:
    """The structures a message header names (SDMX-ML 2.1 Ref or URN, 3.x URN text)."""
    found: dict[str, HeaderStructure] = {}
    for element in header:
        if not isinstance(element.tag, str) or local(element.tag) != "Structure":
            continue
        kind, ref = None, None
        for usage in element:
            if not isinstance(usage.tag, str):
                continue
            kind = _USAGES.get(local(usage.tag))
            ref_element = next((c for c in usage if isinstance(c.tag, str) and local(c.tag) == "Ref"), None)
            urn_element = next((c for c in usage if isinstance(c.tag, str) and local(c.tag) == "URN"), None)
            if ref_element is not None:
                ref = (ref_element.get("agencyID", ""), ref_element.get("id", ""), ref_element.get("version") or "1.0")
            else:
                text = (urn_element.text if urn_element is not None else usage.text) or ""
                if m := _URN.search(text.strip()):
                    kind = _KINDS.get(m.group(1), kind)
                    ref = (m.group(2), m.group(3), m.group(4))
        sid = element.get("structureID") or ""
        found[sid] = HeaderStructure(sid, kind, ref, element.get("dimensionAtObservation"))
    return found


def same_version(a: str, b: str) -> bool:
    """1.0 and 1.0.0 are one version (SDMX 2.1 and 3.0 spell it differently)."""
    def parts(v: str) -> list[str]:
        p = v.strip().split(".")
        return p + ["0"] * (3 - len(p)) if all(x.isdigit() for x in p) else p
    return parts(a) == parts(b)


def check_structure(structure: HeaderStructure | None, structure_ref: str | None, shape: DataShape,
                    flow: tuple[str, str, str], report: ValidationReport, where: str) -> bool:
    """Is a data set for the dataflow being loaded (or its DSD)? Reports when it is not."""
    agency, flow_id, version = flow
    loaded = f"{agency}:{flow_id}({version})"
    if structure is None:
        report.file_error(f"{where}: the data set names structure {structure_ref!r}, which the header does not declare")
        return False
    if structure.ref is None:
        report.file_error(f"{where}: the header's structure {structure.structure_id!r} names no dataflow or data structure")
        return False
    a, i, v = structure.ref
    named = f"{a}:{i}({v})"
    if structure.kind == "provisionagreement":
        report.warn(f"{where}: the data set is for provision agreement {named}; its dataflow is taken to be {loaded}")
        return True
    if structure.kind == "datastructure":
        dsd = shape.dsd
        if (a, i) == dsd[:2] and same_version(v, dsd[2]):
            return True
        report.file_error(f"{where}: the data set is for data structure {named}, not {shape.dsd_ref} of {loaded}")
        return False
    if (a, i) == (agency, flow_id) and same_version(v, version):
        return True
    report.file_error(f"{where}: the data set is for dataflow {named}, not the dataflow being loaded ({loaded})")
    return False


def action_code(value: str | None, report: ValidationReport, where: str) -> str | None:
    if value is None:
        return None
    code = ACTIONS.get(value.strip().lower())
    if code is None:
        report.file_error(f"{where}: {value!r} is not a data set action (Append, Merge, Replace, Delete or Information)")
        raise ReadFailed
    return code


@dataclass
class Columns:
    """The observations read so far: the current chunk as Python lists, earlier ones as Arrow."""

    shape: DataShape
    report: ValidationReport
    #: Components read on each observation: a list per component, one entry per row.
    lists: dict[str, list] = field(default_factory=dict)
    rows: list[int] = field(default_factory=list)
    context_of_row: list[int] = field(default_factory=list)
    contexts: list[dict] = field(default_factory=list)
    tables: list[pa.Table] = field(default_factory=list)
    groups: list[tuple[int, dict, dict]] = field(default_factory=list)
    warned: set[str] = field(default_factory=set)
    total: int = 0
    #: Components read on each observation as their elements give them (structure-specific
    #: data: obs_layouts.py), where a reader keeps them so rather than in `lists`.
    layouts: ObsLayouts | None = None

    def __post_init__(self) -> None:
        self.known = {c.id for c in self.shape.components}

    def observation_lists(self, ids) -> list[tuple[str, list]]:
        """(id, list) for the components read on observations, each as long as the rows read
        so far (padded with None for the rows before that gave it no value)."""
        n = len(self.rows)
        for i in ids:
            values = self.lists.setdefault(i, [])
            # A component read on observations before, then not (a data set of series after
            # a flat one), has no entry for the rows since: they have no value of it.
            values.extend([None] * (n - len(values)))
        return [(i, self.lists[i]) for i in ids]

    def enter(self, context: dict) -> int:
        """Rows from now on take `context` (component id or ACTION/DATASET -> value)."""
        self.contexts.append(context)
        return len(self.contexts) - 1

    def unknown(self, name: str, where: str) -> None:
        if name not in self.warned:
            self.warned.add(name)
            self.report.warn(f"{where}: {name!r} is not a component of {self.shape.dsd_ref}; ignored")

    def flush(self) -> None:
        n = len(self.rows)
        if not n:
            return
        for values in self.lists.values():
            values.extend([None] * (n - len(values)))  # (see observation_lists)
        index = pa.array(np.asarray(self.context_of_row, dtype=np.int32))
        columns: dict[str, pa.Array] = {}
        owned = {name: pa.array(values, pa.string()) for name, values in self.lists.items()}
        if self.layouts is not None:
            owned.update(self.layouts.take(n))
        names = [*owned, *{k for c in self.contexts for k in c if k not in owned}]
        for name in names:
            own = owned.get(name)
            values = [c.get(name) for c in self.contexts]
            above = None
            if any(v is not None for v in values):
                kind = pa.int32() if name == DATASET else pa.string()
                above = pa.array(values, kind).take(index)
            column = own if above is None else above if own is None else pc.coalesce(own, above)
            if column is None:
                column = pa.nulls(n, pa.string())
            if column.null_count < n or name in (ACTION, DATASET):
                columns[name] = column
        columns[ROW] = pa.array(np.asarray(self.rows, dtype=np.int64))
        self.tables.append(pa.table(columns))
        self.total += n
        for values in self.lists.values():
            values.clear()
        self.rows.clear()
        # The context of the last rows goes on into the next chunk, as index 0.
        last = self.context_of_row[-1]
        self.contexts[:] = [self.contexts[last]]
        self.context_of_row.clear()

    def incoming(self, fmt: str) -> IncomingData | None:
        """All rows as IncomingData; None (the report says why) when a dimension is missing."""
        self.flush()
        if not self.tables:
            self.report.warn("the message holds no observations")
            table = pa.table({ROW: pa.array([], pa.int64()), ACTION: pa.array([], pa.string())})
        else:
            table = pa.concat_tables(self.tables, promote_options="default")
        self.tables.clear()
        if self.groups and table.num_rows:
            table = apply_groups(table, self.groups, self.report)
        if ACTION not in table.column_names:
            table = table.append_column(ACTION, pa.nulls(table.num_rows, pa.string()))
        if DATASET in table.column_names:
            table = table.drop_columns([DATASET])
        for name in table.column_names:
            if pa.types.is_null(table.schema.field(name).type):
                table = table.set_column(table.column_names.index(name), name, table.column(name).cast(pa.string()))
        actions = table.column(ACTION)
        all_delete = table.num_rows > 0 and pc.all(pc.equal(pc.fill_null(actions, ""), "D")).as_py()
        for dim in self.shape.all_dimension_ids:
            if dim not in table.column_names and table.num_rows and not all_delete:
                self.report.file_error(f"the dimension {dim} has no value in any observation")
        if self.report.file_errors:
            return None
        self.report.rows_read = table.num_rows
        order = [c.id for c in self.shape.components if c.id in table.column_names]
        return IncomingData(table.select([*order, ROW, ACTION]), fmt, row_label="line")


class Reading(ABC):
    """The loop over a message's elements that both SDMX-ML readers share. A reader gives the
    hooks: `open` (the context of a series' or flat data set's observations), `observation`
    (an Obs's values into `self.wanted`), `enter_series`, `enter_dataset` and `group`."""

    def __init__(self, shape: DataShape, flow, report: ValidationReport, columns: Columns):
        self.shape, self.flow, self.report, self.columns = shape, flow, report, columns
        self.structures: dict = {}
        self.dataset = None  # the DataSet element being read
        self.dataset_number = -1
        self.dataset_context: dict = {}
        #: The components read on each observation; `wanted` their lists (Columns.observation_lists).
        self.observation_ids: list[str] = []
        self.wanted: list[tuple[str, list]] = []
        self.series = None  # the element whose observations are being read (Series or flat DataSet)
        self.series_rows = 0
        self.context = 0  # the index of the context of the observations being read

    def run(self, xml: OpenXML) -> Iterator[None]:
        """Read the message, pausing after each chunk is flushed (a reader that streams hands
        it over then; `read_all` reads on to the end)."""
        columns = self.columns
        rows, context_of_row = columns.rows, columns.context_of_row
        observation = self.observation
        for _, element in xml.events(TAGS):
            tag = element.tag
            if tag == "Obs" or tag.endswith("}Obs"):
                parent = element.getparent()
                if parent is not self.series:
                    self.context = self.open(parent, element)
                    self.set_wanted()
                observation(element, parent)
                rows.append(element.sourceline)
                context_of_row.append(self.context)
                self.series_rows += 1
                if len(rows) >= CHUNK:
                    columns.flush()
                    self.context = 0  # the chunk's contexts start again from the current one
                    self.set_wanted()
                    yield
                if self.series_rows % FREE_EVERY == 0:
                    # Only the observations before this one: iterparse may already have
                    # parsed (and queued events for) the ones after it.
                    del parent[:parent.index(element)]
            elif (tag := local(tag)) == "Series":
                if element is not self.series:  # a series without observations
                    self.context = self.enter_series(element)
                    self.set_wanted()
                if self.series_rows == 0 and self.dataset_context.get(ACTION) == "D":
                    # A Delete data set's series without observations deletes the whole series.
                    self.no_observation()
                    rows.append(element.sourceline)
                    context_of_row.append(self.context)
                release(element)
                self.series = None
            elif tag == "Group":
                self.group(element)
                release(element)
            elif tag == "DataSet":
                if element is not self.dataset:
                    self.enter_dataset(element)
                release(element)
                self.dataset, self.series = None, None
            elif tag == "Header" and element.getparent() is not None and element.getparent().getparent() is None:
                self.structures = header_structures(element, self.report)

    def read_all(self, xml: OpenXML) -> None:
        for _ in self.run(xml):
            pass

    def set_wanted(self) -> None:
        """`wanted` again from `observation_ids` (after a new context, a chunk, a wider list)."""
        self.wanted = self.columns.observation_lists(self.observation_ids)

    def no_observation(self) -> None:
        """The next row has no value of its own (a row for a series without observations)."""
        for _, values in self.wanted:
            values.append(None)

    @abstractmethod
    def open(self, parent, element) -> int:
        """The context of the observations of `parent` (a Series or a flat DataSet), read on
        its first observation `element`; sets `series` (and the data set when it is new)."""

    @abstractmethod
    def observation(self, element, parent) -> None:
        """Append one Obs's value of each component of `wanted` (None where it has none)."""

    @abstractmethod
    def enter_series(self, element) -> int:
        """The context of a Series element (one without observations, read at its end)."""

    @abstractmethod
    def enter_dataset(self, element) -> None:
        """Read a DataSet element's own facts (its action, its attributes) as it opens."""

    @abstractmethod
    def group(self, element) -> None:
        """Keep a Group element's key and attributes (apply_groups gives them to its rows)."""


def apply_groups(table: pa.Table, groups: list[tuple[int, dict, dict]], report: ValidationReport) -> pa.Table:
    """Give each row the attributes of the groups whose key it matches (where the row has no
    value of its own): one join per set of group dimensions."""
    by_dims: dict[tuple[str, ...], dict[tuple, dict]] = {}
    for dataset, key, attributes in groups:
        dims = tuple(sorted(key))
        entry = by_dims.setdefault(dims, {}).setdefault((dataset, *(key[d] for d in dims)), {})
        entry.update(attributes)
    position = "__position"
    table = table.append_column(position, pa.array(np.arange(table.num_rows, dtype=np.int64)))
    for dims, entries in by_dims.items():
        if any(d not in table.column_names for d in dims):
            continue
        attribute_ids = sorted({a for attrs in entries.values() for a in attrs})
        keys = list(entries)
        right = {DATASET: pa.array([k[0] for k in keys], pa.int32())}
        right |= {d: pa.array([k[i + 1] for k in keys], pa.string()) for i, d in enumerate(dims)}
        right |= {f"__group_{a}": pa.array([entries[k].get(a) for k in keys], pa.string()) for a in attribute_ids}
        joined = table.join(pa.table(right), keys=[DATASET, *dims], join_type="left outer", use_threads=False)
        joined = joined.sort_by(position)
        for a in attribute_ids:
            value = joined.column(f"__group_{a}")
            if a in joined.column_names:
                value = pc.coalesce(joined.column(a), value)
            joined = joined.drop_columns([f"__group_{a}"])
            if a in joined.column_names:
                joined = joined.set_column(joined.column_names.index(a), a, value)
            else:
                joined = joined.append_column(a, value)
        table = joined
    return table.drop_columns([position])
