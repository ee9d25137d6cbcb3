"""What every SDMX-ML 3.0 message shares: namespaces and the message header.

The header has the same shape as in SDMX-ML 2.1 (ID, Test, Prepared, Sender, ...), so the
`Header` dataclass of `ml21` serves both; only the namespace differs.
"""

from __future__ import annotations

from lxml import etree

from sdmx_server.formats.ml21 import NS_XML, NS_XSI, Header, format_datetime, qname

NS_MESSAGE = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message"
NS_COMMON = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/common"
NS_STRUCTURE = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/structure"

#: Prefixes used by every SDMX-ML 3.0 writer, the same as the 2.1 writers use.
NSMAP = {
    "mes": NS_MESSAGE,
    "com": NS_COMMON,
    "str": NS_STRUCTURE,
    "xsi": NS_XSI,
}

__all__ = ["NS_COMMON", "NS_MESSAGE", "NS_STRUCTURE", "NS_XML", "NSMAP", "Header", "header_element", "mes", "com", "struct"]


def mes(tag: str) -> str:
    return qname(NS_MESSAGE, tag)


def com(tag: str) -> str:
    return qname(NS_COMMON, tag)


def struct(tag: str) -> str:
    return qname(NS_STRUCTURE, tag)


def header_element(header: Header) -> etree._Element:
    """The mes:Header element of a 3.0 message (StructureHeaderType: ID, Test, Prepared, Sender)."""
    el = etree.Element(mes("Header"), nsmap=NSMAP)
    etree.SubElement(el, mes("ID")).text = header.id
    etree.SubElement(el, mes("Test")).text = "true" if header.test else "false"
    etree.SubElement(el, mes("Prepared")).text = format_datetime(header.prepared)
    etree.SubElement(el, mes("Sender"), id=header.sender)
    return el
