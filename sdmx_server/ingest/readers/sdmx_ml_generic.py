"""SDMX-ML 2.1 generic data in: GenericData and GenericTimeSeriesData.

Components are generic:Value elements (id and value) in a key (SeriesKey, ObsKey, GroupKey)
or an Attributes element, at the level they are given: the data set (Attributes), Group,
Series, Obs. The observation dimension is ObsDimension, whose id may be left out (it is the
header's dimensionAtObservation, TIME_PERIOD for time series); the measure is ObsValue.

Each Obs is read when it ends (sdmx_ml.Reading runs the loop). Writers give every observation
the same few children, so the first one read the general way (its children into a small dict)
teaches a `_Layout`, and the observations written like it are then read by position, with no
dict and no walk over tag names; any other goes the general way again. A series' key and
attributes (parsed before its first observation) are read once, as the context of its
observations (see sdmx_ml.Columns).
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from sdmx_server.ingest.readers import ACTION, IncomingData
from sdmx_server.ingest.readers.sdmx_ml import (
    DATASET, Columns, Reading, ReadFailed, action_code, check_structure, local,
)
from sdmx_server.ingest.readers.sdmx_ml_stream import read_ml
from sdmx_server.ingest.report import ValidationReport
from sdmx_server.registry.shape import DataShape

NS_MESSAGE = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
ROOTS = {"GenericData", "GenericTimeSeriesData"}


def read_generic(source: Path | BinaryIO, shape: DataShape, flow: tuple[str, str, str],
                 report: ValidationReport) -> IncomingData | None:
    """The message streamed chunk by chunk where a scan of it allows (sdmx_ml_stream.py),
    else read whole."""
    return read_ml(source, shape, report, lambda root: _label(root, report),
                   lambda columns: _Reading(shape, flow, report, columns), "generic")


def _label(root, report: ValidationReport) -> str:
    if root is None or root.namespace != NS_MESSAGE or root.name not in ROOTS:
        what = f"{root.name} ({root.namespace or 'no namespace'})" if root is not None else "no XML root element"
        report.file_error(f"line 1: not SDMX-ML 2.1 generic data: the root element is {what}")
        raise ReadFailed
    return "SDMX-ML 2.1 generic"


def values_of(element, into: dict, columns: Columns) -> dict:
    """The generic:Value children of a key or Attributes element, id -> value."""
    for value in element:
        name = value.get("id")
        if name is None:
            continue
        if name in columns.known:
            into[name] = value.get("value")
        else:
            columns.unknown(name, f"line {value.sourceline}")
    return into


class _Layout:
    """How the observations of a message are usually written, learnt from one of them: an
    ObsDimension, an ObsValue and an Attributes element holding one Value per id of `ids`, in
    this order and these namespaces. An Obs written so is read by position (a few C calls);
    any other goes the general way, and both give the same values."""

    def __init__(self, dimension: str, measure: str, tags: tuple[str, str, str], ids: tuple[str, ...]):
        self.dimension, self.measure = dimension, measure
        self.dimension_tag, self.value_tag, self.attributes_tag = tags
        self.ids = ids
        self.width = len(ids)
        # Bound to the lists of the chunk being read by `bind`.
        self.dimensions: list = []
        self.measures: list = []
        self.attributes: list[list] = []
        self.others: list[list] = []  # components read on observations that this layout lacks

    @classmethod
    def learn(cls, element, dimension: str, measure: str, known: set[str]) -> "_Layout | None":
        if len(element) != 3:
            return None
        d, v, a = element[0], element[1], element[2]
        tags = (d.tag, v.tag, a.tag)
        if not all(isinstance(t, str) for t in tags) or tuple(local(t) for t in tags) != (
                "ObsDimension", "ObsValue", "Attributes"):
            return None
        if d.get("id") not in (None, dimension):
            return None
        ids = tuple(x.get("id") for x in a)
        if (any(i is None or i not in known for i in ids) or len(set(ids)) < len(ids)
                or dimension in ids or measure in ids):
            return None
        return cls(dimension, measure, tags, ids)

    def bind(self, wanted: list[tuple[str, list]]) -> "_Layout | None":
        """This layout appending to the lists of `wanted`; None when it lacks one of ours."""
        lists = dict(wanted)
        if any(i not in lists for i in (self.dimension, self.measure, *self.ids)):
            return None
        self.dimensions, self.measures = lists[self.dimension], lists[self.measure]
        self.attributes = [lists[i] for i in self.ids]
        self.others = [values for name, values in wanted
                       if name != self.dimension and name != self.measure and name not in self.ids]
        return self

    def read(self, element) -> bool:
        """Append the values of an Obs written this way; False (nothing appended) otherwise."""
        if len(element) != 3:
            return False
        d = element[0]
        v = element[1]
        a = element[2]
        if d.tag != self.dimension_tag or v.tag != self.value_tag or a.tag != self.attributes_tag:
            return False
        if len(a) != self.width or (d.get("id") is not None and d.get("id") != self.dimension):
            return False
        values = []
        for i, name in enumerate(self.ids):
            x = a[i]
            if x.get("id") != name:
                return False
            values.append(x.get("value"))
        self.dimensions.append(d.get("value"))
        self.measures.append(v.get("value"))
        for target, value in zip(self.attributes, values):
            target.append(value)
        for target in self.others:
            target.append(None)
        return True


class _Reading(Reading):
    """Generic data: components are Value elements (sdmx_ml.Reading runs the loop)."""

    observation_dimension: str | None = None
    layout: _Layout | None = None

    def set_wanted(self) -> None:
        super().set_wanted()
        if self.layout is not None:
            self.layout = self.layout.bind(self.wanted)

    def open(self, parent, element) -> int:
        """The context of the observations of `parent`: a Series, or a flat data set."""
        if local(parent.tag) == "DataSet":
            if parent is not self.dataset:
                self.enter_dataset(parent)
            self.series, self.series_rows = parent, 0
            return self.columns.enter(self.dataset_context)
        return self.enter_series(parent)

    def observation(self, element, parent) -> None:
        layout = self.layout
        if layout is not None and layout.read(element):
            return
        found: dict = {}
        for child in element:
            part = local(child.tag) if isinstance(child.tag, str) else ""
            if part == "ObsDimension":
                found[child.get("id") or self.observation_dimension] = child.get("value")
            elif part == "ObsValue":
                found[self.shape.measure.id] = child.get("value")
            elif part in ("ObsKey", "Attributes"):
                values_of(child, found, self.columns)
        if any(k not in self.observation_ids for k in found):
            self.observation_ids += [k for k in found if k not in self.observation_ids]
            self.set_wanted()
        for name, values in self.wanted:
            values.append(found.get(name))
        if layout is None and self.observation_dimension is not None:
            layout = _Layout.learn(element, self.observation_dimension, self.shape.measure.id, self.columns.known)
            self.layout = layout.bind(self.wanted) if layout is not None else None

    def enter_series(self, element) -> int:
        if element.getparent() is not self.dataset:
            self.enter_dataset(element.getparent())
        context = dict(self.dataset_context)
        for part in element:
            name = local(part.tag) if isinstance(part.tag, str) else ""
            if name == "Obs":  # the key and attributes come first; iterparse may have read far ahead
                break
            if name in ("SeriesKey", "Attributes"):
                values_of(part, context, self.columns)
        self.series, self.series_rows = element, 0
        return self.columns.enter(context)

    def enter_dataset(self, element) -> None:
        self.dataset, self.layout = element, None  # a data set may observe another dimension
        self.dataset_number += 1
        where = f"line {element.sourceline}"
        structure_ref = element.get("structureRef")
        structure = self.structures.get(structure_ref or "")
        if not check_structure(structure, structure_ref, self.shape, self.flow, self.report, where):
            raise ReadFailed
        context: dict = {DATASET: self.dataset_number, ACTION: action_code(element.get("action"), self.report, where)}
        for part in element:
            if isinstance(part.tag, str) and local(part.tag) == "Attributes":
                values_of(part, context, self.columns)
        self.dataset_context = context
        shape = self.shape
        at_observation = structure.dimension_at_observation or (shape.time.id if shape.time else "AllDimensions")
        flat = at_observation == "AllDimensions"
        self.observation_dimension = None if flat else at_observation
        dims = list(shape.all_dimension_ids) if flat else [at_observation]
        attributes = [a.id for a in shape.attributes
                      if shape.attribute_level(a, self.observation_dimension) == "observation"]
        self.observation_ids = [*dims, shape.measure.id, *attributes]

    def group(self, element) -> None:
        if element.getparent() is not self.dataset:
            self.enter_dataset(element.getparent())
        key: dict = {}
        attributes: dict = {}
        for part in element:
            name = local(part.tag) if isinstance(part.tag, str) else ""
            if name == "GroupKey":
                values_of(part, key, self.columns)
            elif name == "Attributes":
                values_of(part, attributes, self.columns)
        if key and attributes:
            self.columns.groups.append((self.dataset_number, key, attributes))
