"""SDMX-ML 2.1 generic data in: GenericData and GenericTimeSeriesData.

Components are generic:Value elements (id and value) in a key (SeriesKey, ObsKey, GroupKey)
or an Attributes element, at the level they are given: the data set (Attributes), Group,
Series, Obs. The observation dimension is ObsDimension, whose id may be left out (it is the
header's dimensionAtObservation, TIME_PERIOD for time series); the measure is ObsValue.

Each Obs is read when it ends: its few children give a small dict, and each component read on
observations takes its value from it. A series' key and attributes (parsed before its first
observation) are read once, as the context of its observations (see sdmx_ml.Columns).
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from sdmx_server.ingest.readers import ACTION, IncomingData
from sdmx_server.ingest.readers.sdmx_ml import (
    CHUNK, DATASET, Columns, ReadFailed, action_code, check_structure, header_structures, local,
)
from sdmx_server.ingest.readers.xml_safe import OpenXML, XMLRefused, refusing_malformed, release
from sdmx_server.ingest.report import ValidationReport
from sdmx_server.registry.shape import DataShape

NS_MESSAGE = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
ROOTS = {"GenericData", "GenericTimeSeriesData"}
_TAGS = ("{*}Header", "{*}DataSet", "{*}Group", "{*}Series", "{*}Obs")
_FREE_EVERY = 1024


def read_generic(source: Path | BinaryIO, shape: DataShape, flow: tuple[str, str, str],
                 report: ValidationReport) -> IncomingData | None:
    try:
        with OpenXML(source) as xml:
            root = xml.root
            if root is None or root.namespace != NS_MESSAGE or root.name not in ROOTS:
                what = f"{root.name} ({root.namespace or 'no namespace'})" if root is not None else "no XML root element"
                report.file_error(f"line 1: not SDMX-ML 2.1 generic data: the root element is {what}")
                return None
            columns = Columns(shape, report)
            with refusing_malformed():
                _Reading(shape, flow, report, columns).run(xml)
    except XMLRefused as exc:
        report.file_error(str(exc))
        return None
    except ReadFailed:
        return None
    return columns.incoming("SDMX-ML 2.1 generic")


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


class _Reading:
    def __init__(self, shape: DataShape, flow, report: ValidationReport, columns: Columns):
        self.shape, self.flow, self.report, self.columns = shape, flow, report, columns
        self.structures: dict = {}
        self.dataset = None
        self.dataset_number = -1
        self.dataset_context: dict = {}
        self.observation_dimension: str | None = None
        self.observation_ids: list[str] = []
        self.series = None
        self.series_rows = 0

    def run(self, xml: OpenXML) -> None:
        columns = self.columns
        rows, context_of_row = columns.rows, columns.context_of_row
        measure = self.shape.measure.id
        wanted: list = []
        context = 0
        for _, element in xml.events(_TAGS):
            tag = element.tag
            if tag == "Obs" or local(tag) == "Obs":
                parent = element.getparent()
                if parent is not self.series:
                    context = self._enter(parent)
                    wanted = columns.observation_lists(self.observation_ids)
                found: dict = {}
                for child in element:
                    part = local(child.tag) if isinstance(child.tag, str) else ""
                    if part == "ObsDimension":
                        found[child.get("id") or self.observation_dimension] = child.get("value")
                    elif part == "ObsValue":
                        found[measure] = child.get("value")
                    elif part in ("ObsKey", "Attributes"):
                        values_of(child, found, columns)
                if len(found) > len(wanted) or any(k not in self.observation_ids for k in found):
                    self.observation_ids += [k for k in found if k not in self.observation_ids]
                    wanted = columns.observation_lists(self.observation_ids)
                for name, values in wanted:
                    values.append(found.get(name))
                rows.append(element.sourceline)
                context_of_row.append(context)
                self.series_rows += 1
                if len(rows) >= CHUNK:
                    columns.flush()
                    context = 0
                    wanted = columns.observation_lists(self.observation_ids)
                if self.series_rows % _FREE_EVERY == 0:
                    # Only the observations before this one: iterparse may already have
                    # parsed (and queued events for) the ones after it.
                    del parent[:parent.index(element)]
            elif (tag := local(tag)) == "Series":
                if element is not self.series:
                    context = self._enter(element)
                    wanted = columns.observation_lists(self.observation_ids)
                if self.series_rows == 0 and self.dataset_context.get(ACTION) == "D":
                    # A Delete data set's series without observations deletes the whole series.
                    for _, values in wanted:
                        values.append(None)
                    rows.append(element.sourceline)
                    context_of_row.append(context)
                release(element)
                self.series = None
            elif tag == "Group":
                self._group(element)
                release(element)
            elif tag == "DataSet":
                if element is not self.dataset:
                    self._enter_dataset(element)
                release(element)
                self.dataset, self.series = None, None
            elif tag == "Header" and element.getparent() is not None and element.getparent().getparent() is None:
                self.structures = header_structures(element, self.report)

    def _enter(self, element) -> int:
        """The context of the observations of `element`: a Series, or a flat data set."""
        if local(element.tag) == "DataSet":
            if element is not self.dataset:
                self._enter_dataset(element)
            self.series, self.series_rows = element, 0
            return self.columns.enter(self.dataset_context)
        if element.getparent() is not self.dataset:
            self._enter_dataset(element.getparent())
        context = dict(self.dataset_context)
        for part in element:
            if isinstance(part.tag, str) and local(part.tag) in ("SeriesKey", "Attributes"):
                values_of(part, context, self.columns)
        self.series, self.series_rows = element, 0
        return self.columns.enter(context)

    def _enter_dataset(self, element) -> None:
        self.dataset = element
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

    def _group(self, element) -> None:
        if element.getparent() is not self.dataset:
            self._enter_dataset(element.getparent())
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
