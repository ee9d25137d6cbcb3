"""SDMX-ML structure-specific data in: 2.1 StructureSpecificData and
StructureSpecificTimeSeriesData, and 3.0/3.1 StructureSpecificData.

Components are XML attributes named by their ids, on the element of the level they are given
at: the data set (data-set-level attributes), Group, Series (the series key and series
attributes), Obs (the observation dimension(s), the measure, observation attributes). The
data set's own properties (structureRef, action, ...) are namespace-qualified, which tells
them from components. Any dimensionAtObservation reads the same way: an Obs directly in the
data set (AllDimensions) carries the whole key.

The loop touches each Obs once: its attribute names and values, each in one call (kept by
layout: obs_layouts.py), its line, and its context (the series). Every component an Obs
carries is read, whatever level the DSD attaches it at (a series attribute given on an Obs
too), so validation sees every value the message gives; names no component has are warned of
when an Obs's names differ from the last one's.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from sdmx_server.ingest.readers import ACTION, IncomingData
from sdmx_server.ingest.readers.sdmx_ml import (
    DATASET, Columns, Reading, ReadFailed, action_code, check_structure, local,
)
from sdmx_server.ingest.readers.obs_layouts import ObsLayouts
from sdmx_server.ingest.readers.sdmx_ml_stream import read_ml
from sdmx_server.ingest.report import ValidationReport
from sdmx_server.registry.shape import DataShape

ROOTS = {
    "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message": ("2.1", {"StructureSpecificData", "StructureSpecificTimeSeriesData"}),
    "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message": ("3.0", {"StructureSpecificData"}),
    "http://www.sdmx.org/resources/sdmxml/schemas/v3_1/message": ("3.1", {"StructureSpecificData"}),
}

def read_structure_specific(source: Path | BinaryIO, shape: DataShape, flow: tuple[str, str, str],
                            report: ValidationReport) -> IncomingData | None:
    """The message streamed chunk by chunk where a scan of it allows (sdmx_ml_stream.py),
    else read whole."""
    return read_ml(source, shape, report, lambda root: _label(root, report),
                   lambda columns: _Reading(shape, flow, report, columns), "specific")


def _label(root, report: ValidationReport) -> str:
    version = _version(root, report)
    return "SDMX-ML 2.1 structure-specific" if version == "2.1" else f"SDMX-ML {version}"


def _version(root, report: ValidationReport) -> str:
    found = ROOTS.get(root.namespace or "") if root is not None else None
    if found is None or root.name not in found[1]:
        what = f"{root.name} ({root.namespace or 'no namespace'})" if root is not None else "no XML root element"
        report.file_error(f"line 1: not SDMX-ML structure-specific data: the root element is {what}")
        raise ReadFailed
    return found[0]


class _Reading(Reading):
    """Structure-specific data: components are XML attributes (sdmx_ml.Reading runs the loop)."""

    def __init__(self, shape: DataShape, flow, report: ValidationReport, columns: Columns):
        super().__init__(shape, flow, report, columns)
        self.layouts = columns.layouts = ObsLayouts(columns.known)
        self.extend = None  # (the `extend` of the values of the current layout: ObsLayouts.switch)

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
        if keys != self.layouts.keys:
            self._check(element, keys)
            self.extend = self.layouts.switch(keys, len(self.columns.rows))
        self.extend(element.values())

    def no_observation(self) -> None:
        self.extend = self.layouts.switch([], len(self.columns.rows))

    def enter_dataset(self, element) -> None:
        """Read a data set's own properties and attributes; check which structure it is for."""
        self.dataset = element
        self.dataset_number += 1
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

    def _check(self, element, keys: list[str]) -> None:
        """Warn of the attributes of an Obs that no component names."""
        known = self.columns.known
        for name in keys:
            if not name.startswith("{") and name not in known:
                self.columns.unknown(name, f"line {element.sourceline}")

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
