"""SDMX-ML 3.0 and 3.1 reference metadata messages (`mes:GenericMetadata`) in: metadata sets
as the registry stores them.

sdmx1 does not read SDMX 3.0 metadata sets (its reader wants SDMX 2.1 reports against an
MSD), so the message is read here, with lxml, after the same safe parse as structure messages
(registry/sdmxml.py). Each `mes:MetadataSet` becomes the SDMX-JSON 2.0 `metadataSets` object
the codec reads, then the codec normalises it exactly as an SDMX-JSON upload:

- `md:Value` is text (SDMX-ML has no numbers): a value comes back as the string written;
  several `md:Value` of one attribute are the attribute repeated, one value each, as SDMX-JSON
  says repetition;
- `com:Text` are texts in languages; `com:StructuredText` XHTML in languages, each kept as the
  fragment inside the element, in the XHTML namespace without declaring it (`<p>..</p>`);
- the header's `mes:Structure` is not needed: each set names its metadataflow (or metadata
  provision agreement) itself.

SDMX-ML 2.1 metadata messages (generic or structure-specific) are refused with the reason:
SDMX 2.1 metadata sets are not maintainable (no agency, version or name) and report against an
MSD's report structures, which SDMX 3.0 replaced.

XHTML inside `com:StructuredText` is checked to be XHTML (every element in its namespace) and
is left out of schema validation: the SDMX schemas validate it strictly against an XHTML
schema that they do not ship (XHTMLType: "one will have to provide a reference to the XHTML
schema").
"""

from __future__ import annotations

import copy
from typing import Any

from lxml import etree

from sdmx_server.kinds import BY_NAME, Kind
from sdmx_server.registry.codec.base import CodecError
from sdmx_server.registry.codec.message import normalise
from sdmx_server.registry.sdmxml import MLVersion, StructureFileError, validate

NS_XHTML = "http://www.w3.org/1999/xhtml"
NS_XML = "http://www.w3.org/XML/1998/namespace"
_GENERIC = {
    "3.0": "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/metadata/generic",
    "3.1": "http://www.sdmx.org/resources/sdmxml/schemas/v3_1/metadata/generic",
}
_COMMON = {
    "3.0": "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/common",
    "3.1": "http://www.sdmx.org/resources/sdmxml/schemas/v3_1/common",
}
#: Root elements of metadata messages, and what to say when the version is not read.
METADATA_ROOTS = ("GenericMetadata", "StructureSpecificMetadata")
#: MetadataSet attributes -> SDMX-JSON 2.0 members.
_SET_ATTRIBUTES = (
    ("id", "id"), ("agencyID", "agencyID"), ("version", "version"), ("validFrom", "validFrom"),
    ("validTo", "validTo"), ("action", "action"), ("reportingBeginDate", "reportingBegin"),
    ("reportingEndDate", "reportingEnd"), ("publicationYear", "publicationYear"),
    ("publicationPeriod", "publicationPeriod"),
)


_VERSIONS: dict[str, MLVersion] = {"/v2_1/": "2.1", "/v3_0/": "3.0", "/v3_1/": "3.1"}


def is_metadata_message(root: etree._Element) -> bool:
    """Whether the root is an SDMX-ML metadata message (of any version)."""
    qname = etree.QName(root)
    return qname.localname in METADATA_ROOTS and (qname.namespace or "").startswith("http://www.sdmx.org/")


def read_metadata_message(data: bytes, origin: str) -> list[tuple[Kind, dict, int | None]]:
    """Every metadata set of an SDMX-ML metadata message (that sdmxml.parse_xml accepted):
    (kind, stored form, line). StructureFileError says why a message is refused."""
    # Parsed again, keeping the whitespace between elements that the structure path drops:
    # inside XHTML it is content (`</p> <p>`).
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                                                  load_dtd=False, dtd_validation=False))
    qname = etree.QName(root)
    localname = qname.localname
    version = next((v for marker, v in _VERSIONS.items() if marker in (qname.namespace or "")), None)
    if version is None:
        raise StructureFileError(f"{localname} in namespace {qname.namespace} is not an SDMX-ML 2.1, 3.0 or 3.1 "
                                 "message")
    if version == "2.1" or localname != "GenericMetadata":
        raise StructureFileError(
            f"SDMX-ML {version} {localname} is not loaded: only SDMX 3.0 metadata sets are held (maintainable, "
            "with agency, version and name, reported for a metadataflow); SDMX 2.1 metadata sets report against "
            "an MSD's report structures, which SDMX 3.0 replaced. Send SDMX-ML 3.0 GenericMetadata or SDMX-JSON "
            "2.0 metadata"
        )
    validate(_without_xhtml(root, version), version)
    kind = BY_NAME["metadataset"]
    md, com = _GENERIC[version], _COMMON[version]
    found = []
    for i, el in enumerate(c for c in root if isinstance(c.tag, str) and etree.QName(c).localname == "MetadataSet"):
        where = f"{origin} line {el.sourceline}"
        obj = _metadata_set(el, md, com)
        try:
            found.append((kind, normalise(kind, obj, f"/MetadataSet/{i}"), el.sourceline))
        except (CodecError, ValueError) as exc:
            raise StructureFileError(f"{where}: metadata set {obj.get('agencyID')}:{obj.get('id')} "
                                     f"cannot be stored: {exc}") from None
    return found


def _metadata_set(el: etree._Element, md: str, com: str) -> dict:
    obj: dict[str, Any] = {}
    for attribute, key in _SET_ATTRIBUTES:
        value = el.get(attribute)
        if value is not None:
            obj[key] = value
    if el.get("isExternalReference") == "true":
        obj["isExternalReference"] = True
    annotations = _annotations(el.find(f"{{{com}}}Annotations"), com)
    if annotations:
        obj["annotations"] = annotations
    for tag, key in (("Name", "names"), ("Description", "descriptions")):
        texts = _texts(el.findall(f"{{{com}}}{tag}"))
        if texts:
            obj[key] = texts
    for tag, key in (("Metadataflow", "metadataflow"), ("MetadataProvisionAgreement", "metadataProvisionAgreement")):
        ref = el.find(f"{{{md}}}{tag}")
        if ref is not None:
            obj[key] = (ref.text or "").strip()
    targets = [(t.text or "").strip() for t in el.findall(f"{{{md}}}Target")]
    if targets:
        obj["targets"] = targets
    attributes = [a for child in el.findall(f"{{{md}}}Attribute") for a in _attribute(child, md, com)]
    if attributes:
        obj["attributes"] = attributes
    return obj


def _attribute(el: etree._Element, md: str, com: str) -> list[dict]:
    """An md:Attribute as SDMX-JSON attribute objects: one, or one per md:Value."""
    base: dict[str, Any] = {"id": el.get("id")}
    annotations = _annotations(el.find(f"{{{com}}}Annotations"), com)
    if annotations:
        base["annotations"] = annotations
    children = [a for child in el.findall(f"{{{md}}}Attribute") for a in _attribute(child, md, com)]
    values = [v.text or "" for v in el.findall(f"{{{md}}}Value")]
    texts = el.findall(f"{{{com}}}Text")
    structured = el.findall(f"{{{com}}}StructuredText")
    if texts:
        base["value"] = _texts(texts)
    elif structured:
        base["format"] = {"dataType": "XHTML"}
        base["value"] = {_lang(s): xhtml_fragment(s) for s in structured}
    out = [dict(base, value=v) for v in values] if values else [base]
    if children:
        out[-1]["attributes"] = children  # the children of a repeated value go with the last
    return out


def _annotations(holder: etree._Element | None, com: str) -> list[dict]:
    if holder is None:
        return []
    out = []
    for a in holder.findall(f"{{{com}}}Annotation"):
        d: dict[str, Any] = {}
        if a.get("id") is not None:
            d["id"] = a.get("id")
        for tag, key in (("AnnotationTitle", "title"), ("AnnotationType", "type"), ("AnnotationValue", "value")):
            found = a.find(f"{{{com}}}{tag}")
            if found is not None:
                d[key] = found.text or ""
        texts = _texts(a.findall(f"{{{com}}}AnnotationText"))
        if texts:
            d["texts"] = texts
        url = a.find(f"{{{com}}}AnnotationURL")
        if url is not None and (url.text or "").strip():
            d["links"] = [{"href": url.text.strip(), "rel": "self"}]
        out.append(d)
    return out


def _lang(el: etree._Element) -> str:
    return el.get(f"{{{NS_XML}}}lang") or "en"  # the schema's default


def _texts(elements: list) -> dict[str, str]:
    return {_lang(e): e.text or "" for e in elements}


def xhtml_fragment(el: etree._Element) -> str:
    """The XHTML inside an element, as text: elements in the XHTML namespace written without
    declaring it (the namespace is implied wherever the fragment goes)."""
    holder = etree.Element(f"{{{NS_XHTML}}}div", nsmap={None: NS_XHTML})
    holder.text = el.text
    for child in el:
        holder.append(copy.deepcopy(child))
    etree.cleanup_namespaces(holder, top_nsmap={None: NS_XHTML})
    text = etree.tostring(holder, encoding=str)
    start = text.index(">") + 1
    return text[start:text.rindex("</")] if not text.endswith("/>") else ""


def _without_xhtml(root: etree._Element, version: MLVersion) -> etree._Element:
    """A copy of the message for schema validation: XHTML content checked to be XHTML, then
    left out (see the module docstring)."""
    com = _COMMON.get(version)
    found = list(root.iter(f"{{{com}}}StructuredText")) if com else []
    if not found:
        return root
    for el in found:
        for inner in el.iter():
            if inner is el or not isinstance(inner.tag, str):
                continue
            if etree.QName(inner).namespace != NS_XHTML:
                raise StructureFileError(
                    f"line {inner.sourceline}: {etree.QName(inner).localname} inside StructuredText is not XHTML "
                    f"(namespace {NS_XHTML})"
                )
    stripped = copy.deepcopy(root)
    for el in stripped.iter(f"{{{com}}}StructuredText"):
        for child in list(el):
            el.remove(child)
    return stripped
