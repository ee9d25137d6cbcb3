"""SDMX-ML 3.0.0 generic reference metadata (`application/vnd.sdmx.metadata+xml;version=3.0.0`).

A `mes:GenericMetadata` message: the header names every metadataflow the sets are reported
for (`mes:Structure`, as GenericMetadataHeaderType requires at least one), then one
`mes:MetadataSet` per set: maintainable attributes, annotations and names, the metadataflow
(or metadata provision agreement), `md:Target` URNs and the reported `md:Attribute`s.

The set is written from the codec's SDMX-JSON form (see metadata_sets.py). Values map as
SDMX-ML says them: text in languages is `com:Text` per language; XHTML (`format.dataType`
XHTML) is `com:StructuredText` per language, the fragment parsed into XHTML elements (a
fragment that is not well-formed XML, or holds elements of another namespace, is written as
its text); any other value is one `md:Value` (numbers and booleans as XML Schema writes them).
A repeated attribute is repeated, one value each. Stubs (`detail=allstubs`) are the set's
identification and name, marked as external reference, as structure stubs are.

The SDMX-ML 3.1 writer (metadata_ml31.py) is this writer with the v3_1 namespaces and
`isPartialLanguage`.
"""

from __future__ import annotations

import html.entities
import re
from typing import Any, Iterable

from lxml import etree

from sdmx_server.formats.metadata_sets import PreparedSet, prepare_all, require_report
from sdmx_server.formats.ml21 import NS_XML, NS_XSI, Header, format_datetime
from sdmx_server.formats.structure_ml21_dispatch import xml_datetime
from sdmx_server.kinds import BY_NAME
from sdmx_server.types import ArtefactDetail

NS_XHTML = "http://www.w3.org/1999/xhtml"
XML_LANG = f"{{{NS_XML}}}lang"
#: MetadataSet attributes from SDMX-JSON members (SetAttributeGroup and MaintainableType).
_SET_ATTRIBUTES = (("action", "action"), ("reportingBegin", "reportingBeginDate"),
                   ("reportingEnd", "reportingEndDate"), ("publicationYear", "publicationYear"),
                   ("publicationPeriod", "publicationPeriod"))
#: HTML's named entities, which XML does not know; editors write them in XHTML.
_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})
_FRAGMENT_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


class MetadataWriter30:
    """SDMX-ML 3.0 generic metadata. One instance per message."""

    format_name = "SDMX-ML 3.0"
    ns_message = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message"
    ns_common = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/common"
    ns_metadata = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/metadata/generic"

    def __init__(self, languages: tuple[str, ...] | None = None) -> None:
        self.languages = languages

    @property
    def nsmap(self) -> dict[str | None, str]:
        return {"mes": self.ns_message, "com": self.ns_common, "md": self.ns_metadata, "xsi": NS_XSI}

    def m(self, tag: str) -> str:
        return f"{{{self.ns_message}}}{tag}"

    def c(self, tag: str) -> str:
        return f"{{{self.ns_common}}}{tag}"

    def md(self, tag: str) -> str:
        return f"{{{self.ns_metadata}}}{tag}"

    # the message

    def message(self, entries: Iterable[tuple[Any, ArtefactDetail]], header: Header) -> bytes:
        sets = prepare_all(entries, self.languages)
        for s in sets:
            if s.detail != "stub":
                require_report(s, self.format_name)
        root = etree.Element(self.m("GenericMetadata"), nsmap=self.nsmap)
        root.append(self.header(header, sets))
        for s in sets:
            self.metadata_set(root, s)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    def header(self, header: Header, sets: list[PreparedSet]) -> etree._Element:
        """GenericMetadataHeaderType: ID, Test, Prepared, Sender, then a Structure per
        metadataflow of the sets (one at least)."""
        el = etree.Element(self.m("Header"))
        etree.SubElement(el, self.m("ID")).text = header.id
        etree.SubElement(el, self.m("Test")).text = "true" if header.test else "false"
        etree.SubElement(el, self.m("Prepared")).text = format_datetime(header.prepared)
        etree.SubElement(el, self.m("Sender"), id=header.sender)
        flows = list(dict.fromkeys(s.obj["metadataflow"] for s in sets if s.obj.get("metadataflow")))
        if not flows:
            # A set reported for a metadata provision agreement only: the header cannot name a
            # structure (its ProvisionAgreement is a data provision agreement's reference).
            subject = sets[0] if sets else None
            if subject is None:
                raise ValueError("a metadata message holds one metadata set at least")
            raise subject.not_expressible("a metadata set without a metadataflow (the header must name one)",
                                          self.format_name)
        for flow in flows:
            structure = etree.SubElement(el, self.m("Structure"), structureID=_structure_id(flow))
            etree.SubElement(structure, self.c("StructureUsage")).text = flow
        return el

    # a metadata set

    def metadata_set(self, parent: etree._Element, prepared: PreparedSet) -> etree._Element:
        obj = prepared.obj
        el = etree.SubElement(parent, self.m("MetadataSet"))
        agency, set_id, version = str(obj["agencyID"]), str(obj["id"]), str(obj.get("version") or "1.0")
        el.set("id", set_id)
        el.set("urn", BY_NAME["metadataset"].urn(agency, set_id, version))
        el.set("agencyID", agency)
        el.set("version", version)
        if obj.get("isExternalReference"):
            el.set("isExternalReference", "true")
        full = prepared.detail != "stub"
        if full:
            for key in ("validFrom", "validTo"):
                if obj.get(key):
                    el.set(key, xml_datetime(obj[key]))
            for key, attribute in _SET_ATTRIBUTES:
                if obj.get(key) is not None:
                    el.set(attribute, str(obj[key]))
        self.set_extras(el, prepared)
        if full:
            self.annotations(el, obj)
        self.texts(el, "Name", obj.get("names") or {"en": set_id})
        if full:
            self.texts(el, "Description", obj.get("descriptions") or {})
            if obj.get("metadataflow"):
                etree.SubElement(el, self.md("Metadataflow")).text = obj["metadataflow"]
            else:
                etree.SubElement(el, self.md("MetadataProvisionAgreement")).text = obj["metadataProvisionAgreement"]
            for target in obj.get("targets") or ():
                etree.SubElement(el, self.md("Target")).text = target
            for attribute in obj.get("attributes") or ():
                self.attribute(el, attribute)
        return el

    def set_extras(self, el: etree._Element, prepared: PreparedSet) -> None:
        """Attributes a later version adds (3.1: isPartialLanguage)."""

    def attribute(self, parent: etree._Element, a: dict) -> etree._Element:
        el = etree.SubElement(parent, self.md("Attribute"), id=str(a["id"]))
        self.annotations(el, a)
        value = a.get("value")
        xhtml = (a.get("format") or {}).get("dataType") == "XHTML"
        if xhtml and value is not None:
            for lang, fragment in (value.items() if isinstance(value, dict) else (("en", value),)):
                self.xhtml(etree.SubElement(el, self.c("StructuredText"), {XML_LANG: lang}), str(fragment))
        elif isinstance(value, dict):
            self.texts(el, "Text", value)
        elif value is not None:
            etree.SubElement(el, self.md("Value")).text = _scalar(value)
        for child in a.get("attributes") or ():
            self.attribute(el, child)
        return el

    # parts

    def texts(self, parent: etree._Element, tag: str, texts: dict[str, str]) -> None:
        for lang, text in texts.items():
            etree.SubElement(parent, self.c(tag), {XML_LANG: lang}).text = text

    def annotations(self, parent: etree._Element, holder: dict) -> None:
        annotations = holder.get("annotations") or ()
        if not annotations:
            return
        el = etree.SubElement(parent, self.c("Annotations"))
        for a in annotations:
            annotation = etree.SubElement(el, self.c("Annotation"))
            if a.get("id") is not None:
                annotation.set("id", str(a["id"]))
            for key, tag in (("title", "AnnotationTitle"), ("type", "AnnotationType")):
                if a.get(key) is not None:
                    etree.SubElement(annotation, self.c(tag)).text = str(a[key])
            for link in a.get("links") or ():
                if link.get("rel") == "self" and (link.get("href") or link.get("uri")):
                    etree.SubElement(annotation, self.c("AnnotationURL")).text = link.get("href") or link.get("uri")
            self.texts(annotation, "AnnotationText", a.get("texts") or ({"en": a["text"]} if a.get("text") else {}))
            if a.get("value") is not None:
                etree.SubElement(annotation, self.c("AnnotationValue")).text = str(a["value"])

    def xhtml(self, el: etree._Element, fragment: str) -> None:
        """The XHTML fragment as the element's content (see the module docstring)."""
        text = _ENTITY.sub(_entity, fragment)
        try:
            holder = etree.fromstring(f'<div xmlns="{NS_XHTML}">{text}</div>'.encode(), _FRAGMENT_PARSER)
        except etree.XMLSyntaxError:
            el.text = fragment
            return
        if any(isinstance(e.tag, str) and etree.QName(e).namespace != NS_XHTML for e in holder.iter()):
            el.text = fragment
            return
        el.text = holder.text
        for child in list(holder):
            el.append(child)


def _structure_id(urn: str) -> str:
    """An xs:ID for the header's Structure: the metadataflow's agency, id and version."""
    key = urn.partition("=")[2]
    text = re.sub(r"[^A-Za-z0-9_.-]", "_", key)
    return text if re.match(r"[A-Za-z_]", text) else f"_{text}"


def _scalar(value: Any) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    return str(value)


def _entity(match: re.Match) -> str:
    name = match.group(1)
    if name in _XML_ENTITIES or name not in html.entities.name2codepoint:
        return match.group(0)
    return chr(html.entities.name2codepoint[name])


def metadata_message(
    entries: Iterable[tuple[Any, ArtefactDetail]],
    header: Header,
    languages: tuple[str, ...] | None = None,
) -> bytes:
    """An SDMX-ML 3.0 GenericMetadata message of the metadata sets."""
    return MetadataWriter30(languages).message(entries, header)
