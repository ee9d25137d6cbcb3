"""SDMX-ML 2.1 error messages (message:Error), the body of every failed REST v1 request."""

from __future__ import annotations

from lxml import etree

from sdmx_server.errors import SdmxError
from sdmx_server.formats import ml21

MEDIA_TYPE = "application/xml"


def error_message(error: SdmxError, request_id: str | None = None) -> bytes:
    """`request_id`: the request's id (api/observe.py), quoted in a text of its own."""
    root = etree.Element(ml21.mes("Error"), nsmap={"mes": ml21.NS_MESSAGE, "com": ml21.NS_COMMON})
    message = etree.SubElement(root, ml21.mes("ErrorMessage"), code=str(error.code))
    etree.SubElement(message, ml21.com("Text")).text = error.title
    etree.SubElement(message, ml21.com("Text")).text = error.message
    for media_type in getattr(error, "offered", ()):
        etree.SubElement(message, ml21.com("Text")).text = f"offered: {media_type}"
    if request_id:
        etree.SubElement(message, ml21.com("Text")).text = f"request id: {request_id}"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
