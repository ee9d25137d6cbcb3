"""The SDMX-ML 2.1 structure writer: the message, and what all kinds of artefact share.

`Writer` writes SDMX-ML 2.1. Functions are registered for sdmx1 model classes with
`@ML21.register(cls)` (structure_ml21_dispatch); writing an object looks its function up along the object's class MRO,
so the function for `common.ItemScheme` serves every item scheme without one of its own. The
SDMX-ML 3.0 writer (`structure_ml30_base.Writer30`) subclasses `Writer` with a child registry:
it inherits every function and overrides only those whose output differs, together with the
methods for namespaces, references and version attributes.

A registered function takes (writer, obj, el). For a maintainable artefact `el` is the
artefact's own element, with identification, annotations and names already written, and the
function adds what the schema requires even of a stub and, when `writer.full`, the rest; for
anything inside an artefact (items, components, relationships, regions...) `el` is the parent
element and the function appends the object's element(s).

Both families of sdmx1 objects are accepted: v21 ones as sdmx1's SDMX-ML 2.1 reader builds
them and v30 ones as its SDMX-ML 3.0 reader builds them. What the target format cannot say
raises `NotExpressible`, naming the artefact and the feature.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lxml import etree
from sdmx.model import common

from sdmx_server import kinds
from sdmx_server.formats import ml21
from sdmx_server.formats.ml21 import Header
from sdmx_server.formats.structure_ml21_dispatch import (
    FIXED_SCHEME_IDS,
    ML21,
    XML_LANG,
    NotExpressible,
    agency_id,
    is_final,
    is_partial_with_items,
    is_true,
    item_path,
    language_filter,
    version_of,
    xml_datetime,
)
from sdmx_server.types import ArtefactDetail


def matches(lang: str, wanted: str) -> bool:
    """A text in `lang` answers a request for `wanted`: the same, or one a prefix of the other
    ("en" for "en-GB" and the other way round)."""
    return lang == wanted or lang.startswith(wanted + "-") or wanted.startswith(lang + "-")


# --- the writer --------------------------------------------------------------------------------


class Writer:
    """SDMX-ML 2.1 structures. One instance per message: it carries the languages to keep."""

    format_name = "SDMX-ML 2.1"
    registry = ML21
    nsmap = ml21.NSMAP
    ns_structure = ml21.NS_STRUCTURE
    ns_common = ml21.NS_COMMON
    ns_message = ml21.NS_MESSAGE
    containers: tuple[str, ...] = kinds.ML21_CONTAINERS
    version_pattern = re.compile(r"[0-9]+(\.[0-9]+)*")
    #: Text types this format spells differently; 2.1 has no GeospatialInformation and keeps
    #: such a value as the string it is.
    text_types = {"geospatialInformation": "String"}
    #: Kinds a representation may enumerate (a 2.1 measure dimension's concept scheme is
    #: written by its own function).
    enumerations = ("codelist",)
    #: Cube regions and key sets: the element names of key values and of other components,
    #: and the namespace they are in (common in 2.1, structure in 3.0).
    region_tags = ("KeyValue", "Attribute", lambda w, tag: w.c(tag))
    #: What a provision agreement calls its dataflow.
    provision_usage_tag = "StructureUsage"

    def __init__(self, languages: Iterable[str] | None = None) -> None:
        self.languages = language_filter(languages)
        #: The maintainable being written, and what its children's URNs are built from.
        self.artefact: common.MaintainableArtefact | None = None
        self.kind: kinds.Kind | None = None
        self.item_urn_prefix = ""
        self.detail: ArtefactDetail = "full"

    @property
    def full(self) -> bool:
        """Whether the artefact being written is written in full (not as a stub)."""
        return self.detail == "full"

    # names and namespaces

    def s(self, tag: str) -> str:
        return f"{{{self.ns_structure}}}{tag}"

    def c(self, tag: str) -> str:
        return f"{{{self.ns_common}}}{tag}"

    def m(self, tag: str) -> str:
        return f"{{{self.ns_message}}}{tag}"

    def header(self, header: Header) -> etree._Element:
        return ml21.header_element(header)

    # kinds, versions and URNs

    def not_expressible(self, feature: str, obj=None) -> NotExpressible:
        return NotExpressible(obj if obj is not None else self.artefact, feature, self.format_name)

    def kind_of(self, artefact) -> kinds.Kind:
        try:
            return kinds.kind_of(artefact)
        except ValueError:
            raise self.not_expressible(f"a {type(artefact).__name__}", artefact) from None

    def placement(self, artefact) -> tuple[str, str]:
        """(element, container) of an artefact in this format's message."""
        kind = self.kind_of(artefact)
        if kind.ml21 is None:
            raise self.not_expressible(f"a {kind.urn_class}", artefact)
        return kind.ml21

    def urn_class(self, kind: kinds.Kind) -> str:
        # SDMX-ML 2.1 URNs name the 2.1 class (ContentConstraint, not DataConstraint).
        return kind.ml21[0] if kind.ml21 else kind.urn_class

    def version(self, artefact, *, referenced: bool = False) -> str:
        """The artefact's version, if this format can write it."""
        version = version_of(artefact)
        if not self.version_pattern.fullmatch(version):
            what = "a reference to version" if referenced else "version"
            raise self.not_expressible(f"{what} {version!r}", self.artefact if referenced else artefact)
        return version

    def urn(self, artefact, kind: kinds.Kind | None = None) -> str:
        kind = kind or self.kind_of(artefact)
        return (
            f"urn:sdmx:org.sdmx.infomodel.{kind.package}.{self.urn_class(kind)}="
            f"{agency_id(artefact)}:{artefact.id}({self.version(artefact, referenced=artefact is not self.artefact)})"
        )

    def child_urn(self, urn_class: str, path: str, package: str | None = None) -> str:
        """URN of something inside the artefact being written (component, level, ...)."""
        kind = self.kind
        base = f"{agency_id(self.artefact)}:{self.artefact.id}({self.version(self.artefact)})"
        return f"urn:sdmx:org.sdmx.infomodel.{package or kind.package}.{urn_class}={base}.{path}"

    # the message

    def message(self, entries: Iterable[tuple[common.MaintainableArtefact, ArtefactDetail]], header: Header) -> bytes:
        """A whole mes:Structure document; artefacts grouped by container, in the order given."""
        root = etree.Element(self.m("Structure"), nsmap=self.nsmap)
        root.append(self.header(header))
        structures = etree.SubElement(root, self.m("Structures"))
        holders: dict[str, etree._Element] = {}
        seen: set[tuple[str, str, str, str]] = set()
        for artefact, detail in entries:
            tag, container = self.placement(artefact)
            key = (container, agency_id(artefact), artefact.id, version_of(artefact))
            if key in seen:
                # The schema requires (id, agencyID, version) to be unique within a container.
                raise ValueError(f"{type(artefact).__name__} {key[1]}:{key[2]}({key[3]}) given twice")
            seen.add(key)
            holder = holders.get(container)
            if holder is None:
                holder = holders[container] = etree.SubElement(structures, self.s(container))
            self.artefact_element(artefact, detail, holder, tag)
        if not holders:
            raise ValueError("a structure message needs at least one artefact")
        # Containers in the order StructuresType demands; moving them within the tree keeps the
        # namespace declarations on the root only.
        for container in self.containers:
            if container in holders:
                structures.append(holders[container])
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    def artefact_element(
        self,
        artefact: common.MaintainableArtefact,
        detail: ArtefactDetail = "full",
        parent: etree._Element | None = None,
        tag: str | None = None,
    ) -> etree._Element:
        """The artefact's element, appended to `parent` (or standalone, with its namespaces)."""
        # An external reference is a stub with its URN: all that is known of it is what the
        # reference said. (The items sdmx1 adds to one while resolving references to them are
        # no content.) But a partial item scheme keeps the items its source chose to give with
        # it (ESTAT sends such external codelists); sdmx1, moreover, mistakes an item scheme
        # without items, referenced later in a message, for a missing one.
        tag = tag or self.placement(artefact)[0]
        if detail == "full" and is_true(artefact.is_external_reference) and not is_partial_with_items(artefact):
            detail = "stub"
        saved = self.artefact, self.kind, self.item_urn_prefix, self.detail
        self.artefact, self.kind, self.detail = artefact, self.kind_of(artefact), detail
        try:
            if self.kind.item_class:
                self.item_urn_prefix = self.child_urn(self.kind.item_class, "")
            el = self.maintainable_start(tag, artefact, detail, parent)
            # Called for stubs too: an artefact's function writes what the schema requires of
            # every element of its kind (vtlVersion, a constraint's role...) and, if `full`,
            # the rest.
            self.write(artefact, el)
        finally:
            self.artefact, self.kind, self.item_urn_prefix, self.detail = saved
        if parent is None:
            etree.cleanup_namespaces(el)
        return el

    def write(self, obj, el: etree._Element):
        """Write obj with the function registered for its class (see the module docstring)."""
        func = self.registry.lookup(type(obj))
        if func is None:
            raise self.not_expressible(f"a {type(obj).__name__}")
        return func(self, obj, el)

    # maintainable artefacts

    def maintainable_start(
        self, tag: str, artefact: common.MaintainableArtefact, detail: ArtefactDetail, parent: etree._Element | None
    ) -> etree._Element:
        """The element with what every maintainable has: attributes, annotations, names."""
        el = etree.Element(self.s(tag), nsmap=self.nsmap) if parent is None else etree.SubElement(parent, self.s(tag))
        el.set("id", self.maintainable_id(artefact))
        el.set("urn", self.urn(artefact, self.kind))
        if artefact.uri:
            el.set("uri", artefact.uri)
        el.set("agencyID", agency_id(artefact))
        self.version_attributes(el, artefact, detail)
        if detail != "full" or is_true(artefact.is_external_reference):
            el.set("isExternalReference", "true")
        if detail == "full":
            for attribute, value in (("validFrom", artefact.valid_from), ("validTo", artefact.valid_to)):
                if value:
                    el.set(attribute, xml_datetime(value))
        for attribute, value in (("serviceURL", artefact.service_url), ("structureURL", artefact.structure_url)):
            if value:
                el.set(attribute, value)
        if detail != "stub":
            self.annotations(el, artefact)
        self.names(el, artefact, descriptions=detail != "stub")
        return el

    def maintainable_id(self, artefact) -> str:
        fixed = FIXED_SCHEME_IDS.get(self.kind.name)
        if fixed and artefact.id != fixed:
            raise self.not_expressible(f"a {self.kind.urn_class} with an id other than {fixed}")
        return artefact.id

    def version_attributes(self, el: etree._Element, artefact, detail: ArtefactDetail) -> None:
        if self.kind.name in FIXED_SCHEME_IDS and version_of(artefact) != "1.0":
            raise self.not_expressible(f"a {self.kind.urn_class} of version {version_of(artefact)} (always 1.0)")
        el.set("version", self.version(artefact))
        # isFinal is fixed to false for organisation schemes; they are never written final. An
        # external reference keeps what its source said of its finality.
        if (detail != "stub" or is_true(artefact.is_external_reference)) and self.kind.name not in FIXED_SCHEME_IDS:
            el.set("isFinal", "true" if is_final(artefact) else "false")

    # texts

    def texts(self, text: common.InternationalString) -> list[tuple[str, str]]:
        """The localisations to write: those in the requested languages, or else one (English,
        or the first) so that a mandatory name is never lost to the filter."""
        pairs = [(lang, value) for lang, value in text.localizations.items() if value is not None]
        if self.languages is None or not pairs:
            return pairs
        kept = [p for p in pairs if any(matches(p[0].lower(), r) for r in self.languages)]
        if kept:
            return kept
        return [next((p for p in pairs if p[0].lower() == "en"), pairs[0])]

    def text_elements(self, parent: etree._Element, tag: str, text: common.InternationalString) -> int:
        """One com:<tag> per language; returns how many were written."""
        qname = self.c(tag)
        written = 0
        # Without a language filter, straight from the localisations: this runs for every name
        # of every item, 100,000 times for a codelist of 50,000 codes in two languages.
        pairs = text.localizations.items() if self.languages is None else self.texts(text)
        for lang, value in pairs:
            if value is not None:
                etree.SubElement(parent, qname, {XML_LANG: lang}).text = value
                written += 1
        return written

    def names(self, el: etree._Element, obj: common.NameableArtefact, *, descriptions: bool = True) -> None:
        """com:Name (required by the schema) and com:Description."""
        if not self.text_elements(el, "Name", obj.name):
            # An object without a name (an external reference sdmx1 created from a <Ref>) is
            # named by its id, as the schema requires a name.
            etree.SubElement(el, self.c("Name"), {XML_LANG: "en"}).text = obj.id
        if descriptions:
            self.text_elements(el, "Description", obj.description)

    def annotations(self, el: etree._Element, obj: common.AnnotableArtefact) -> None:
        if not obj.annotations:
            return
        holder = etree.SubElement(el, self.c("Annotations"))
        for annotation in obj.annotations:
            self.annotation(holder, annotation)

    def annotation(self, holder: etree._Element, annotation) -> etree._Element:
        el = etree.SubElement(holder, self.c("Annotation"))
        if annotation.id:
            el.set("id", annotation.id)
        for tag, value in (
            ("AnnotationTitle", annotation.title),
            ("AnnotationType", annotation.type),
            ("AnnotationURL", annotation.url),
        ):
            if value:
                etree.SubElement(el, self.c(tag)).text = str(value)
        self.text_elements(el, "AnnotationText", annotation.text)
        # v30.Annotation.value (AnnotationValue) has no SDMX-ML 2.1 element; it is left out
        # rather than refusing a whole artefact for an annotation (see Writer30.annotation).
        return el

    # references

    def ref(self, parent: etree._Element, tag: str, attributes: dict[str, str]) -> etree._Element:
        """<tag><Ref .../></tag>; the Ref is unqualified, as the reference types declare it."""
        el = etree.SubElement(parent, self.s(tag))
        etree.SubElement(el, "Ref", attributes)
        return el

    def maintainable_ref(self, parent: etree._Element, tag: str, target, kind: kinds.Kind | None = None) -> etree._Element:
        kind = kind or self.kind_of(target)
        attributes = {"agencyID": agency_id(target), "id": target.id, "version": self.version(target, referenced=True)}
        return self.ref(parent, tag, attributes | {"class": self.urn_class(kind), "package": kind.package})

    def item_ref(self, parent: etree._Element, tag: str, item: common.Item) -> etree._Element:
        """A reference to an item of another (or the same) scheme: the scheme as maintainableParent."""
        scheme = item.get_scheme()
        if not isinstance(scheme, common.ItemScheme):
            raise ValueError(f"{type(item).__name__} {item.id} belongs to no item scheme; it cannot be referenced")
        kind = self.kind_of(scheme)
        attributes = {
            "agencyID": agency_id(scheme),
            "maintainableParentID": scheme.id,
            "maintainableParentVersion": self.version(scheme, referenced=True),
            "id": item_path(item) if kind.items == "nested" else item.id,
        }
        return self.ref(parent, tag, attributes | {"class": kind.item_class, "package": kind.package})

    def local_ref(self, parent: etree._Element, tag: str, target_id: str, ref_class: str | None = None) -> etree._Element:
        """A reference within the artefact being written: id and (unless None) class.

        The optional `package` is left out: sdmx1 looks the package up in a table that lacks
        component classes (Dimension, PrimaryMeasure, ...) and fails on a reference naming one.
        """
        return self.ref(parent, tag, {"id": target_id} | ({"class": ref_class} if ref_class else {}))

    def check_enumeration(self, scheme) -> None:
        kind = self.kind_of(scheme)
        if kind.name not in self.enumerations:
            raise self.not_expressible(f"a representation enumerated by a {kind.urn_class}")

    def check_core_enumeration(self, concept, scheme) -> None:
        kind = self.kind_of(scheme)
        if kind.name not in self.enumerations:
            raise self.not_expressible(f"a core representation of concept {concept.id} enumerated by a {kind.urn_class}")

    def any_ref(self, parent: etree._Element, tag: str, target) -> etree._Element:
        """A reference to a maintainable artefact or an item (ObjectReferenceType)."""
        if isinstance(target, common.MaintainableArtefact):
            return self.maintainable_ref(parent, tag, target)
        if isinstance(target, common.Item):
            return self.item_ref(parent, tag, target)
        raise self.not_expressible(f"a reference to a {type(target).__name__}")

    def member_selection_extras(self, el: etree._Element, selection) -> None:
        raise self.not_expressible(f"a selection of {selection.values_for.id} that removes a prefix (removePrefix)")

    def selection_validity(self, el: etree._Element, value) -> None:
        if getattr(value, "valid_from", None) or getattr(value, "valid_to", None):
            raise self.not_expressible(f"a validity period on the selected value {value.value}")

    # items

    def item_element(
        self, item: common.Item, parent: etree._Element, tag: str | None = None, *, hierarchy: bool = True
    ) -> etree._Element:
        """An item with id, URN, annotations, names; then Parent (flat schemes) or its children
        (nested schemes). What is particular to the item follows, from its own function."""
        kind = self.kind
        path = item_path(item) if kind.items == "nested" else item.id
        el = etree.SubElement(parent, self.s(tag or kind.item_class), id=item.id, urn=self.item_urn_prefix + path)
        if item.uri:
            el.set("uri", item.uri)
        if item.annotations:
            self.annotations(el, item)
        self.names(el, item)
        if not hierarchy:
            if isinstance(item.parent, common.Item):
                raise self.not_expressible(f"a {type(item).__name__} with a parent ({item.id})")
        elif kind.items == "nested":
            for child in item.child:
                self.write(child, el)
        elif isinstance(item.parent, common.Item):
            # Top-level items have the scheme itself as sdmx1's parent.
            self.local_ref(el, "Parent", item.parent.id, kind.item_class)
        return el
