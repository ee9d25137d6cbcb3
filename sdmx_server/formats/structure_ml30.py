"""SDMX-ML 3.0 structure messages, for every kind of artefact SDMX-ML 3.0 and sdmx1 know.

The writer (`structure_ml30_base.Writer30`) is a child of the SDMX-ML 2.1 one: it inherits the
function of every model class and overrides what SDMX-ML 3.0 writes differently. The modules
registering those overrides:

- structure_ml30_items: codelist extensions, geographic codelists, value lists
- structure_ml30_dsd: data structures (measures, attribute relationships), metadata structures,
  metadataflows
- structure_ml30_constraints: data and metadata constraints
- structure_ml30_hierarchies: hierarchies and hierarchy associations

Either family of sdmx1 objects is accepted: a 2.1 PrimaryMeasure becomes a Measure; a
HierarchicalCodelist, a StructureSet, a measure dimension or an attachment group raise
NotExpressible.
"""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree
from sdmx.model.common import MaintainableArtefact

# Importing the 2.1 writer registers its functions, which the 3.0 registry falls back on;
# importing the 3.0 area modules registers the overrides.
from sdmx_server.formats import (  # noqa: F401
    structure_ml21,
    structure_ml30_constraints,
    structure_ml30_dsd,
    structure_ml30_hierarchies,
    structure_ml30_items,
)
from sdmx_server.formats.ml21 import Header
from sdmx_server.formats.structure_ml21_dispatch import NotExpressible
from sdmx_server.formats.structure_ml30_base import Writer30
from sdmx_server.types import ArtefactDetail

__all__ = ["NotExpressible", "Writer30", "artefact_element", "structure_message"]


def structure_message(
    entries: Iterable[tuple[MaintainableArtefact, ArtefactDetail]],
    header: Header,
    languages: tuple[str, ...] | None = None,
) -> bytes:
    """A whole SDMX-ML 3.0 mes:Structure document; artefacts grouped by container (one per
    kind, in StructuresType order), in the order given. `languages` keeps only those languages
    of every text (None: all)."""
    return Writer30(languages).message(entries, header)


def artefact_element(
    artefact: MaintainableArtefact, detail: ArtefactDetail = "full", languages: tuple[str, ...] | None = None
) -> etree._Element:
    """The single artefact's SDMX-ML 3.0 element, with its namespaces."""
    return Writer30(languages).artefact_element(artefact, detail)
