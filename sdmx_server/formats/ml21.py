"""What every SDMX-ML 2.1 message shares: namespaces and the message header."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from lxml import etree

NS_MESSAGE = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
NS_COMMON = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common"
NS_STRUCTURE = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure"
NS_GENERIC = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/generic"
NS_SPECIFIC = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/structurespecific"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS_XML = "http://www.w3.org/XML/1998/namespace"

#: Prefixes used by every writer, so that all our messages look alike.
NSMAP = {
    "mes": NS_MESSAGE,
    "com": NS_COMMON,
    "str": NS_STRUCTURE,
    "xsi": NS_XSI,
}


def qname(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def mes(tag: str) -> str:
    return qname(NS_MESSAGE, tag)


def com(tag: str) -> str:
    return qname(NS_COMMON, tag)


def struct(tag: str) -> str:
    return qname(NS_STRUCTURE, tag)


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def format_datetime(value: datetime) -> str:
    """xs:dateTime with an explicit offset ('Z' for UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@dataclass(frozen=True)
class Header:
    """The header of an outgoing message."""

    sender: str = "SSO"
    id: str = field(default_factory=lambda: "IREF" + uuid.uuid4().hex[:16].upper())
    prepared: datetime = field(default_factory=utc_now)
    test: bool = False


def header_element(header: Header, *, extra: list[etree._Element] = ()) -> etree._Element:
    """The mes:Header element; `extra` elements (e.g. mes:Structure of a data message) follow
    the sender, where the schema puts them."""
    el = etree.Element(mes("Header"), nsmap=NSMAP)
    etree.SubElement(el, mes("ID")).text = header.id
    etree.SubElement(el, mes("Test")).text = "true" if header.test else "false"
    etree.SubElement(el, mes("Prepared")).text = format_datetime(header.prepared)
    etree.SubElement(el, mes("Sender"), id=header.sender)
    for child in extra:
        el.append(child)
    return el
