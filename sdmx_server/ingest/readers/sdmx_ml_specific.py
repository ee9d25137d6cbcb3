"""SDMX-ML structure-specific data in: 2.1 StructureSpecificData and
StructureSpecificTimeSeriesData, and 3.0/3.1 StructureSpecificData.

Components are XML attributes named by their ids, on the element of the level they are given
at: the data set (data-set-level attributes), Group, Series (the series key and series
attributes), Obs (the observation dimension(s), the measure, observation attributes). The
data set's own properties (structureRef, action, ...) are namespace-qualified, which tells
them from components. Any dimensionAtObservation reads the same way: an Obs directly in the
data set (AllDimensions) carries the whole key.

The loop touches each Obs once: its `get` per component read at observation level, its line,
and its context (the series). Which components are read on observations is fixed per data set
from the header's dimensionAtObservation and the DSD's attachments, and widened when an
observation carries another component (a series attribute given on an Obs): each Obs's
attribute names are compared with the last one's, and names not met before are checked, so
validation sees every value the message gives. (Checking only the first Obs of each series
missed a component given on a later one: its values were dropped without a word.)
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from sdmx_server.ingest.readers import ACTION, IncomingData
from sdmx_server.ingest.readers.sdmx_ml import (
    DATASET, Columns, Reading, ReadFailed, action_code, check_structure, local,
)
from sdmx_server.ingest.readers.xml_safe import OpenXML, XMLRefused, refusing_malformed
from sdmx_server.ingest.report import ValidationReport
from sdmx_server.registry.shape import DataShape

ROOTS = {
    "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message": ("2.1", {"StructureSpecificData", "StructureSpecificTimeSeriesData"}),
    "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message": ("3.0", {"StructureSpecificData"}),
    "http://www.sdmx.org/resources/sdmxml/schemas/v3_1/message": ("3.1", {"StructureSpecificData"}),
}

def read_structure_specific(source: Path | BinaryIO, shape: DataShape, flow: tuple[str, str, str],
                            report: ValidationReport) -> IncomingData | None:
    try:
        with OpenXML(source) as xml:
            version = _version(xml.root, report)
            columns = Columns(shape, report)
            with refusing_malformed():
                _Reading(shape, flow, report, columns).run(xml)
    except XMLRefused as exc:
        report.file_error(str(exc))
        return None
    except ReadFailed:
        return None
    label = "SDMX-ML 2.1 structure-specific" if version == "2.1" else f"SDMX-ML {version}"
    return columns.incoming(label)


def _version(root, report: ValidationReport) -> str:
    found = ROOTS.get(root.namespace or "") if root is not None else None
    if found is None or root.name not in found[1]:
        what = f"{root.name} ({root.namespace or 'no namespace'})" if root is not None else "no XML root element"
        report.file_error(f"line 1: not SDMX-ML structure-specific data: the root element is {what}")
        raise ReadFailed
    return found[0]


class _Reading(Reading):
    """Structure-specific data: components are XML attributes (sdmx_ml.Reading runs the loop)."""

    keys: list[str] | None = None  # the attribute names of the last Obs (checked)

    def open(self, parent, element) -> int:
        if parent is not self.dataset and local(parent.tag) == "Series":
            context = self.enter_series(parent)
        else:  # an observation of a flat (AllDimensions) data set
            if parent is not self.dataset:
                self.enter_dataset(parent)
            context = self.columns.enter(self.dataset_context)
            self.series = parent
        return context

    def observation(self, element, parent) -> None:
        keys = element.keys()
        if keys != self.keys:
            self.keys = keys
            if self._check(element):
                self.set_wanted()
        get = element.get
        for name, values in self.wanted:
            values.append(get(name))

    def enter_dataset(self, element) -> None:
        """Read a data set's own properties and attributes; check which structure it is for."""
        self.dataset = element
        self.dataset_number += 1
        self.keys = None  # (what is read on observations starts again: every Obs is checked)
        where = f"line {element.sourceline}"
        properties = {local(k): v for k, v in element.attrib.items() if k.startswith("{")}
        structure_ref = properties.get("structureRef")
        structure = self.structures.get(structure_ref or "")
        if not check_structure(structure, structure_ref, self.shape, self.flow, self.report, where):
            raise ReadFailed
        context: dict = {DATASET: self.dataset_number, ACTION: action_code(properties.get("action"), self.report, where)}
        for name, value in element.attrib.items():
            if name.startswith("{"):
                continue
            if name in self.columns.known:
                context[name] = value
            else:
                self.columns.unknown(name, where)
        self.dataset_context = context
        at_observation = structure.dimension_at_observation or (
            self.shape.time.id if self.shape.time is not None else "AllDimensions")
        self.observation_ids = self._observation_ids(at_observation)

    def _observation_ids(self, at_observation: str) -> list[str]:
        """The components read on each Obs: the observation dimension(s), the measure and the
        attributes the DSD attaches at observation level there."""
        shape = self.shape
        flat = at_observation == "AllDimensions"
        dims = list(shape.all_dimension_ids) if flat else [at_observation]
        attributes = [a.id for a in shape.attributes
                      if shape.attribute_level(a, None if flat else at_observation) == "observation"]
        return [*dims, shape.measure.id, *attributes]

    def enter_series(self, element) -> int:
        dataset = element.getparent()
        if dataset is not self.dataset:
            self.enter_dataset(dataset)
        context = dict(self.dataset_context)
        known = self.columns.known
        for name, value in element.attrib.items():
            if name.startswith("{"):
                continue
            if name in known:
                context[name] = value
            else:
                self.columns.unknown(name, f"line {element.sourceline}")
        self.series = element
        self.series_rows = 0
        return self.columns.enter(context)

    def _check(self, element) -> bool:
        """Warn of attributes no component names; widen what is read on observations when one
        carries a component read elsewhere. True when the list changed."""
        changed = False
        for name in element.keys():
            if name.startswith("{") or name in self.observation_ids:
                continue
            if name in self.columns.known:
                self.observation_ids.append(name)
                changed = True
            else:
                self.columns.unknown(name, f"line {element.sourceline}")
        return changed

    def group(self, element) -> None:
        dataset = element.getparent()
        if dataset is not self.dataset:
            self.enter_dataset(dataset)
        key, attributes = {}, {}
        dims = set(self.shape.dimension_ids)
        for name, value in element.attrib.items():
            if name.startswith("{"):
                continue
            if name in dims:
                key[name] = value
            elif name in self.columns.known:
                attributes[name] = value
            else:
                self.columns.unknown(name, f"line {element.sourceline}")
        if key and attributes:
            self.columns.groups.append((self.dataset_number, key, attributes))
