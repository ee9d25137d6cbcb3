"""The SDMX-ML 3.0 structure writer: the 2.1 writer's child, overriding only what differs.

`Writer30` subclasses the 2.1 `Writer` and its registry (`ML30`) is a child of the 2.1 one:
every function registered for 2.1 serves 3.0 too unless a 3.0 module registers its own. What
differs for every kind is here: the v3_0 namespaces; references written as URNs (a local one as
the bare id); no isFinal and versions that may be semantic (1.2.0-draft) but not 2.1's longer
forms (1.0.0.1); containers per kind in StructuresType order (kinds.ML30_CONTAINERS); the
AnnotationValue 2.1 lacks.
"""

from __future__ import annotations

import re

from lxml import etree
from sdmx.model import common

from sdmx_server import kinds
from sdmx_server.formats import ml30
from sdmx_server.formats.ml21 import Header
from sdmx_server.formats.structure_ml21_base import Writer
from sdmx_server.formats.structure_ml21_dispatch import DEFAULT_VERSION, FIXED_SCHEME_IDS, ML21, agency_id, item_path, version_of

ML30 = ML21.child()

_NUMBER = r"(0|[1-9]\d*)"
_EXTENSION = r"(\-[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*)?"
#: VersionType: legacy (1.0) or semantic (1.2.0, 1.2.0-draft).
VERSION = re.compile(rf"{_NUMBER}(\.{_NUMBER})?|{_NUMBER}(\.{_NUMBER}){{2}}{_EXTENSION}")
#: VersionReferenceType adds the wildcards of references (1.2+.0).
REFERENCE_VERSION = re.compile(rf"{VERSION.pattern}|({_NUMBER}\+?)(\.{_NUMBER}\+?){{2}}")
#: SDMX-ML 3.0.0 types the Parent of a code or a concept as SingleNCNameIDType (3.1 relaxed it
#: to IDType): a parent whose id starts with a digit or '_' ('_T') has no valid 3.0.0 form.
NCNAME_PARENT = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*")
NCNAME_PARENT_CLASSES = ("Code", "Concept")


class Writer30(Writer):
    """SDMX-ML 3.0 structures."""

    format_name = "SDMX-ML 3.0"
    registry = ML30
    nsmap = ml30.NSMAP
    ns_structure = ml30.NS_STRUCTURE
    ns_common = ml30.NS_COMMON
    ns_message = ml30.NS_MESSAGE
    containers = kinds.ML30_CONTAINERS
    version_pattern = VERSION
    text_types: dict[str, str] = {}
    enumerations = ("codelist", "valuelist")
    region_tags = ("KeyValue", "Component", lambda w, tag: w.s(tag))
    provision_usage_tag = "Dataflow"

    def header(self, header: Header) -> etree._Element:
        return ml30.header_element(header)

    def placement(self, artefact) -> tuple[str, str]:
        kind = self.kind_of(artefact)
        if kind.ml30 is None:
            raise self.not_expressible(f"a {kind.urn_class}", artefact)
        # A kind with elements of its own for some classes (GeographicCodelist and
        # GeoGridCodelist are codelists): the class names the element, in a container of its own.
        element = type(artefact).__name__
        if element != kind.ml30[0] and kinds.BY_ML30_ELEMENT.get(element) is kind and element + "s" in self.containers:
            return element, element + "s"
        return kind.ml30

    def urn_class(self, kind: kinds.Kind) -> str:
        return kind.urn_class

    def version(self, artefact, *, referenced: bool = False) -> str:
        version = version_of(artefact)
        if referenced and REFERENCE_VERSION.fullmatch(version):
            return version
        return super().version(artefact, referenced=referenced)

    def version_attributes(self, el: etree._Element, artefact, detail) -> None:
        # No isFinal in 3.0: finality is the semantic version's. Organisation schemes have no
        # version attribute (the schema prohibits it); their URN still says 1.0.
        if self.kind.name in FIXED_SCHEME_IDS:
            if version_of(artefact) != DEFAULT_VERSION:
                raise self.not_expressible(f"a {self.kind.urn_class} of version {version_of(artefact)} (always 1.0)")
            return
        el.set("version", self.version(artefact))

    def annotation(self, holder: etree._Element, annotation) -> etree._Element:
        el = super().annotation(holder, annotation)
        value = getattr(annotation, "value", None)
        if value:
            etree.SubElement(el, self.c("AnnotationValue")).text = str(value)
        return el

    # references: URNs

    def text_ref(self, parent: etree._Element, tag: str, text: str) -> etree._Element:
        el = etree.SubElement(parent, self.s(tag))
        el.text = text
        return el

    def maintainable_ref(self, parent: etree._Element, tag: str, target, kind: kinds.Kind | None = None) -> etree._Element:
        if isinstance(target, str):  # a URN sdmx1 left unresolved (CodelistExtension.extends)
            return self.text_ref(parent, tag, target)
        return self.text_ref(parent, tag, self.urn(target, kind))

    def item_urn(self, item: common.Item) -> str:
        scheme = item.get_scheme()
        if not isinstance(scheme, common.ItemScheme):
            raise ValueError(f"{type(item).__name__} {item.id} belongs to no item scheme; it cannot be referenced")
        kind = self.kind_of(scheme)
        path = item_path(item) if kind.items == "nested" else item.id
        return (
            f"urn:sdmx:org.sdmx.infomodel.{kind.package}.{kind.item_class}="
            f"{agency_id(scheme)}:{scheme.id}({self.version(scheme, referenced=True)}).{path}"
        )

    def item_ref(self, parent: etree._Element, tag: str, item: common.Item) -> etree._Element:
        return self.text_ref(parent, tag, self.item_urn(item))

    #: Item classes whose str:Parent the schema types as an NCName (a child writer may relax it).
    ncname_parent_classes: tuple[str, ...] = NCNAME_PARENT_CLASSES

    def local_ref(self, parent: etree._Element, tag: str, target_id: str, ref_class: str | None = None) -> etree._Element:
        if tag == "Parent" and ref_class in self.ncname_parent_classes and not NCNAME_PARENT.fullmatch(target_id):
            raise self.not_expressible(f"a {ref_class.lower()} whose parent id {target_id!r} is not an NCName")
        return self.text_ref(parent, tag, target_id)

    # constraints

    def member_selection_extras(self, el: etree._Element, selection) -> None:
        el.set("removePrefix", "true")

    def selection_validity(self, el: etree._Element, value) -> None:
        for attribute, field in (("validFrom", "valid_from"), ("validTo", "valid_to")):
            if getattr(value, field, None):
                el.set(attribute, str(getattr(value, field)))
