"""SDMX-ML 2.1 structure messages, for every kind of artefact SDMX-ML 2.1 and sdmx1 know.

Written from sdmx1's information model (`sdmx.model`, either family) with our own code rather
than sdmx1's writer, whose output fails the schema for several real messages. Everything follows
SDMXStructure*.xsd: element order, required attributes and the exact `<Ref>` form each
reference type demands. The machinery is in `structure_ml21_base`; one module per area registers
the functions for its model classes:

- structure_ml21_items: codelists, concept schemes, category schemes, categorisations,
  organisation schemes, reporting taxonomies
- structure_ml21_dsd: data structure definitions, dataflows and metadataflows
- structure_ml21_msd: metadata structure definitions
- structure_ml21_constraints: content constraints, provision agreements
- structure_ml21_hierarchies: hierarchical codelists, structure sets
- structure_ml21_vtl: VTL schemes

`structure_ml30` is the SDMX-ML 3.0 writer, built on this one.
"""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree
from sdmx.model.common import MaintainableArtefact

# Importing the area modules registers their functions on the writer.
from sdmx_server.formats import (  # noqa: F401
    structure_ml21_constraints,
    structure_ml21_dsd,
    structure_ml21_hierarchies,
    structure_ml21_items,
    structure_ml21_msd,
    structure_ml21_vtl,
)
from sdmx_server.formats.ml21 import Header
from sdmx_server.formats.structure_ml21_base import Writer
from sdmx_server.formats.structure_ml21_dispatch import NotExpressible
from sdmx_server.types import ArtefactDetail

__all__ = ["Detail", "NotExpressible", "Writer", "artefact_element", "structure_message"]


class Detail:
    """The ArtefactDetail values under the names callers used before they were a Literal."""

    FULL: ArtefactDetail = "full"
    STUB: ArtefactDetail = "stub"
    COMPLETE_STUB: ArtefactDetail = "completestub"


def structure_message(
    entries: Iterable[tuple[MaintainableArtefact, ArtefactDetail]],
    header: Header,
    languages: tuple[str, ...] | None = None,
) -> bytes:
    """A whole SDMX-ML 2.1 mes:Structure document; artefacts grouped by container, in the order
    given. `languages` keeps only those languages of every text (None: all)."""
    return Writer(languages).message(entries, header)


def artefact_element(
    artefact: MaintainableArtefact, detail: ArtefactDetail = "full", languages: tuple[str, ...] | None = None
) -> etree._Element:
    """The single artefact's element (str:Codelist, str:DataStructure, ...), with its namespaces."""
    return Writer(languages).artefact_element(artefact, detail)
