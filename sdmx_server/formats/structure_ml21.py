"""SDMX-ML 2.1 structure messages: codelists, concept schemes, DSDs and dataflows.

Written from sdmx1's information model (`sdmx.model`) with our own code rather than sdmx1's
writer, whose output fails the schema for several real messages. Everything here follows
SDMXStructure*.xsd: element order, required attributes and the exact `<Ref>` form each
reference type demands. Data structure definitions are in `structure_ml21_dsd`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal

from lxml import etree
from sdmx.model import common, v21
from sdmx.model.common import MaintainableArtefact

from sdmx_server.formats.ml21 import NS_XML, NSMAP, Header, com, format_datetime, header_element, mes, qname, struct

XML_LANG = qname(NS_XML, "lang")

#: The version SDMX-ML 2.1 assumes when an artefact has none (VersionableType's default); used
#: in URNs and references too, so that all three agree.
DEFAULT_VERSION = "1.0"


class Detail(enum.Enum):
    FULL = "full"  # everything
    STUB = "stub"  # identification + names only; isExternalReference="true"
    COMPLETE_STUB = "completestub"  # + descriptions, annotations, isFinal


# --- the message -------------------------------------------------------------------------------

#: Containers under mes:Structures, in the order StructuresType demands.
CONTAINERS = ("Dataflows", "Codelists", "Concepts", "DataStructures")


def structure_message(entries: Iterable[tuple[MaintainableArtefact, Detail]], header: Header) -> bytes:
    """A whole mes:Structure document; artefacts grouped by container, in the order given."""
    by_container: dict[str, list[etree._Element]] = {}
    seen: set[tuple[str, str, str, str]] = set()
    for artefact, detail in entries:
        container, write = _writer(artefact)
        key = (container, agency_id(artefact), artefact.id, version_of(artefact))
        if key in seen:
            # The schema requires (id, agencyID, version) to be unique within a container.
            raise ValueError(f"{type(artefact).__name__} {key[1]}:{key[2]}({key[3]}) given twice")
        seen.add(key)
        by_container.setdefault(container, []).append(write(artefact, detail))
    if not by_container:
        raise ValueError("a structure message needs at least one artefact")

    root = etree.Element(mes("Structure"), nsmap=NSMAP)
    root.append(header_element(header))
    structures = etree.SubElement(root, mes("Structures"))
    for container in CONTAINERS:
        if container in by_container:
            holder = etree.SubElement(structures, struct(container))
            holder.extend(by_container[container])
    # Elements built on their own carry their own namespace declarations; drop the repeats.
    etree.cleanup_namespaces(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def artefact_element(artefact: MaintainableArtefact, detail: Detail = Detail.FULL) -> etree._Element:
    """The single str:Codelist / str:ConceptScheme / str:DataStructure / str:Dataflow element."""
    _, write = _writer(artefact)
    el = write(artefact, detail)
    etree.cleanup_namespaces(el)  # keeps only com: and str:, which it uses
    return el


def _writer(artefact):
    """(container, element writer) for the artefact's class.

    Matched on the exact class: sdmx1's SDMX 3.0 subclasses (GeographicCodelist, …) and 3.0
    DSDs/dataflows hold content SDMX-ML 2.1 cannot express.
    """
    # Imported here: the DSD module builds on the helpers of this one.
    from sdmx_server.formats.structure_ml21_dsd import data_structure_element

    writers = {
        common.Codelist: ("Codelists", codelist_element),
        common.ConceptScheme: ("Concepts", concept_scheme_element),
        v21.DataStructureDefinition: ("DataStructures", data_structure_element),
        v21.DataflowDefinition: ("Dataflows", dataflow_element),
    }
    try:
        return writers[type(artefact)]
    except KeyError:
        raise ValueError(f"cannot write {type(artefact).__module__}.{type(artefact).__name__} as SDMX-ML 2.1") from None


# --- identification and URNs -------------------------------------------------------------------


def is_true(value) -> bool:
    # sdmx1 leaves some flags as the attribute's text (ItemScheme.is_partial == "false").
    return value is True or (isinstance(value, str) and value.lower() == "true")


def agency_id(artefact: MaintainableArtefact) -> str:
    maintainer = artefact.maintainer
    agency = getattr(maintainer, "id", None)
    if not agency or agency == common.MissingID:
        raise ValueError(f"{type(artefact).__name__} {artefact.id} has no maintainer; agencyID is required")
    return str(agency)


def version_of(artefact: MaintainableArtefact) -> str:
    return str(artefact.version) if artefact.version else DEFAULT_VERSION


def maintainable_urn(artefact: MaintainableArtefact, urn_class: str, package: str) -> str:
    return (
        f"urn:sdmx:org.sdmx.infomodel.{package}.{urn_class}="
        f"{agency_id(artefact)}:{artefact.id}({version_of(artefact)})"
    )


def child_urn(parent: MaintainableArtefact, parent_class: str, package: str, child_class: str, child_id: str) -> str:
    """URN of an item or component: the parent's, with the child's class and id."""
    base = maintainable_urn(parent, parent_class, package)
    return base.replace(f".{package}.{parent_class}=", f".{package}.{child_class}=", 1) + f".{child_id}"


def set_identity(el: etree._Element, obj: common.IdentifiableArtefact, urn: str) -> None:
    """id, urn and uri.

    The URN is always the one derived from what is written (class, agency, id, version): a
    stored one is either the same or stale (sdmx1 gives an artefact it met only through a
    versionless reference a URN ending in "()", while its version is written as 1.0).
    """
    el.set("id", obj.id)
    el.set("urn", urn)
    if obj.uri:
        el.set("uri", obj.uri)


# --- names, descriptions and annotations ---------------------------------------------------------


def text_elements(parent: etree._Element, tag: str, text: common.InternationalString) -> int:
    """One com:<tag> per language; returns how many were written."""
    written = 0
    for lang, value in text.localizations.items():
        if value is None:  # sdmx1 reads <com:Name/> as a None label
            continue
        etree.SubElement(parent, com(tag), {XML_LANG: lang}).text = value
        written += 1
    return written


def names(parent: etree._Element, obj: common.NameableArtefact, *, descriptions: bool = True) -> None:
    """com:Name (required by the schema) and com:Description."""
    if not text_elements(parent, "Name", obj.name):
        # Name is mandatory for every nameable; an object without one (typically an external
        # reference sdmx1 created from a <Ref>) is named by its id.
        etree.SubElement(parent, com("Name"), {XML_LANG: "en"}).text = obj.id
    if descriptions:
        text_elements(parent, "Description", obj.description)


def annotations(parent: etree._Element, obj: common.AnnotableArtefact) -> None:
    """com:Annotations, when there are any."""
    if not obj.annotations:
        return
    holder = etree.SubElement(parent, com("Annotations"))
    for annotation in obj.annotations:
        el = etree.SubElement(holder, com("Annotation"))
        if annotation.id:
            el.set("id", annotation.id)
        for tag, value in (
            ("AnnotationTitle", annotation.title),
            ("AnnotationType", annotation.type),
            ("AnnotationURL", annotation.url),
        ):
            if value:
                etree.SubElement(el, com(tag)).text = str(value)
        text_elements(el, "AnnotationText", annotation.text)


# --- maintainable artefacts ----------------------------------------------------------------------


def xml_datetime(value) -> str:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00"
    return str(value)  # sdmx1 keeps validFrom/validTo as the text it read


def maintainable_element(
    tag: str, artefact: MaintainableArtefact, detail: Detail, urn_class: str, package: str
) -> etree._Element:
    """The element with the attributes, annotations, names and descriptions every maintainable has."""
    el = etree.Element(struct(tag), nsmap=NSMAP)
    set_identity(el, artefact, maintainable_urn(artefact, urn_class, package))
    el.set("agencyID", agency_id(artefact))
    el.set("version", version_of(artefact))
    if detail is not Detail.FULL or is_true(artefact.is_external_reference):
        el.set("isExternalReference", "true")
    if detail is not Detail.STUB and artefact.is_final is not None:
        el.set("isFinal", "true" if is_true(artefact.is_final) else "false")
    if detail is Detail.FULL:
        for attribute, value in (("validFrom", artefact.valid_from), ("validTo", artefact.valid_to)):
            if value:
                el.set(attribute, xml_datetime(value))
    for attribute, value in (("serviceURL", artefact.service_url), ("structureURL", artefact.structure_url)):
        if value:
            el.set(attribute, value)
    if detail is not Detail.STUB:
        annotations(el, artefact)
    names(el, artefact, descriptions=detail is not Detail.STUB)
    return el


# --- references ----------------------------------------------------------------------------------


def ref_element(parent: etree._Element, tag: str, attributes: dict[str, str]) -> etree._Element:
    """<tag><Ref …/></tag>; the Ref is unqualified, as the reference types declare it."""
    el = etree.SubElement(parent, struct(tag))
    etree.SubElement(el, "Ref", attributes)
    return el


def maintainable_ref(
    parent: etree._Element, tag: str, target: MaintainableArtefact, ref_class: str, package: str
) -> etree._Element:
    """A reference to a maintainable: agencyID, id, version, class, package."""
    attributes = {"agencyID": agency_id(target), "id": target.id, "version": version_of(target)}
    return ref_element(parent, tag, attributes | {"class": ref_class, "package": package})


def concept_ref(parent: etree._Element, tag: str, concept: common.Concept) -> etree._Element:
    """ConceptRefType: the concept id plus its scheme as maintainableParentID/Version."""
    scheme = concept.get_scheme()
    if not isinstance(scheme, common.ConceptScheme):
        raise ValueError(f"concept {concept.id} belongs to no concept scheme; it cannot be referenced")
    attributes = {
        "agencyID": agency_id(scheme),
        "maintainableParentID": scheme.id,
        "maintainableParentVersion": version_of(scheme),
        "id": concept.id,
    }
    return ref_element(parent, tag, attributes | {"class": "Concept", "package": "conceptscheme"})


def local_ref(parent: etree._Element, tag: str, target_id: str, ref_class: str | None) -> etree._Element:
    """A reference within the same maintainable: id and (unless None) class.

    The optional `package` is left out: sdmx1 looks the package up in a table that lacks
    component classes (Dimension, PrimaryMeasure, …) and fails on a reference that names one.
    """
    return ref_element(parent, tag, {"id": target_id} | ({"class": ref_class} if ref_class else {}))


# --- representations ----------------------------------------------------------------------------

#: FacetValueType member names whose SDMX-ML spelling is not just the capitalised name.
_TEXT_TYPES = {
    "uri": "URI",
    "timesRange": "TimeRange",  # sdmx1's misspelling of timeRange
    "Xhtml": "XHTML",
    # SDMX 3.0 only; a 3.0 structure written as 2.1 keeps it as the string it is there.
    "geospatialInformation": "String",
}

#: FacetType fields and their SDMX-ML attributes, in the schema's order.
_FACETS = (
    ("is_sequence", "isSequence"),
    ("interval", "interval"),
    ("start_value", "startValue"),
    ("end_value", "endValue"),
    ("time_interval", "timeInterval"),
    ("start_time", "startTime"),
    ("end_time", "endTime"),
    ("min_length", "minLength"),
    ("max_length", "maxLength"),
    ("min_value", "minValue"),
    ("max_value", "maxValue"),
    ("decimals", "decimals"),
    ("pattern", "pattern"),
)


def text_type(value_type) -> str:
    name = value_type.name
    return _TEXT_TYPES.get(name, name[:1].upper() + name[1:])


def iso_duration(value: timedelta) -> str:
    """xs:duration, always in the full PnDTnHnMnS form."""
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    secs = _decimal(Decimal(seconds) + Decimal(value.microseconds) / 1_000_000)
    return f"{sign}P{value.days}DT{hours}H{minutes}M{secs}S"


def _decimal(value) -> str:
    """xs:decimal text: no exponent, no needless trailing zeros."""
    text = format(Decimal(repr(value)) if isinstance(value, float) else Decimal(value), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def facet_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, timedelta):
        return iso_duration(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, (int, float, Decimal)):
        return _decimal(value)
    return str(value)  # sdmx1 keeps most facets as the text it read


def text_format(parent: etree._Element, tag: str, facets: list[common.Facet], default_type: str | None = None) -> None:
    """A TextFormat / EnumerationFormat element merging the facets of the representation.

    sdmx1 reads one TextFormat into one Facet whose FacetType holds all attributes; models built
    in code may spread them over several Facets. The textType is always written, because sdmx1
    reads an absent one as String whatever the schema's default for the context.
    """
    el = etree.SubElement(parent, struct(tag))
    value_type = next((f.value_type for f in facets if f.value_type is not None), None)
    if value_type is not None:
        el.set("textType", text_type(value_type))
    elif default_type:
        el.set("textType", default_type)
    for field, attribute in _FACETS:
        for facet in facets:
            value = getattr(facet.type, field, None)
            if value is not None:
                el.set(attribute, facet_value(value))
                break


def enumeration_class(scheme: common.ItemScheme) -> tuple[str, str]:
    """(class, package) of the item scheme a representation enumerates."""
    if type(scheme) is common.Codelist:
        return "Codelist", "codelist"
    if type(scheme) is common.ConceptScheme:
        return "ConceptScheme", "conceptscheme"
    raise ValueError(f"SDMX-ML 2.1 cannot enumerate a representation with a {type(scheme).__name__}")


def representation(
    parent: etree._Element, tag: str, rep: common.Representation | None, *, default_type: str | None = None
) -> etree._Element | None:
    """CoreRepresentation / LocalRepresentation: Enumeration (+ EnumerationFormat) or TextFormat.

    Nothing is written for an empty representation, unless `default_type` asks for a TextFormat
    where the schema requires a representation.
    """
    enumerated = rep.enumerated if rep else None
    facets = list(rep.non_enumerated) if rep else []
    if enumerated is None and not facets and not default_type:
        return None
    el = etree.SubElement(parent, struct(tag))
    if enumerated is not None:
        ref_class, package = enumeration_class(enumerated)
        maintainable_ref(el, "Enumeration", enumerated, ref_class, package)
        if facets:
            text_format(el, "EnumerationFormat", facets)
    else:
        text_format(el, "TextFormat", facets, default_type or "String")
    return el


# --- item schemes --------------------------------------------------------------------------------


def item_scheme_element(
    tag: str, scheme: common.ItemScheme, detail: Detail, urn_class: str, item_class: str, package: str, write_item
) -> etree._Element:
    el = maintainable_element(tag, scheme, detail, urn_class, package)
    if detail is not Detail.FULL:
        return el  # items are optional (minOccurs="0"): a stub is complete without them
    if is_true(scheme.is_partial):
        el.set("isPartial", "true")
    for item in scheme.items.values():
        item_el = etree.SubElement(el, struct(item_class))
        set_identity(item_el, item, child_urn(scheme, urn_class, package, item_class, item.id))
        annotations(item_el, item)
        names(item_el, item)
        # The schema allows only a <Parent> reference here (never nested items); top-level
        # items have the scheme itself as sdmx1's parent.
        if isinstance(item.parent, common.Item):
            local_ref(item_el, "Parent", item.parent.id, item_class)
        write_item(item_el, item)
    return el


def codelist_element(codelist: common.Codelist, detail: Detail) -> etree._Element:
    return item_scheme_element("Codelist", codelist, detail, "Codelist", "Code", "codelist", lambda el, code: None)


def concept_scheme_element(scheme: common.ConceptScheme, detail: Detail) -> etree._Element:
    return item_scheme_element("ConceptScheme", scheme, detail, "ConceptScheme", "Concept", "conceptscheme", concept_body)


def concept_body(el: etree._Element, concept: common.Concept) -> None:
    """What follows a concept's Parent: CoreRepresentation, ISOConceptReference."""
    rep = concept.core_representation
    if rep is not None and rep.enumerated is not None and type(rep.enumerated) is not common.Codelist:
        raise ValueError(f"concept {concept.id}: a core representation can only enumerate a codelist")
    representation(el, "CoreRepresentation", rep)
    iso = concept.iso_concept
    if iso is not None:
        iso_el = etree.SubElement(el, struct("ISOConceptReference"))
        etree.SubElement(iso_el, struct("ConceptAgency")).text = iso.agency
        etree.SubElement(iso_el, struct("ConceptSchemeID")).text = iso.scheme_id
        etree.SubElement(iso_el, struct("ConceptID")).text = iso.id


# --- dataflows -----------------------------------------------------------------------------------


def dataflow_element(dataflow: v21.DataflowDefinition, detail: Detail) -> etree._Element:
    el = maintainable_element("Dataflow", dataflow, detail, "Dataflow", "datastructure")
    dsd = dataflow.structure
    # sdmx1 gives every dataflow a DSD; one without an id is its placeholder for "none known".
    if detail is Detail.FULL and dsd is not None and dsd.id != common.MissingID:
        maintainable_ref(el, "Structure", dsd, "DataStructure", "datastructure")
    return el
