"""SDMX-ML 3.0 error messages (message:Error), the XML body of failed REST v2 requests."""

from __future__ import annotations

from lxml import etree

from sdmx_server.errors import SdmxError

NS_MES = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message"
NS_COM = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/common"
NS_XML = "http://www.w3.org/XML/1998/namespace"


def error_message(error: SdmxError, request_id: str | None = None) -> bytes:
    """`request_id`: the request's id (api/observe.py), quoted in a text of its own."""
    root = etree.Element(f"{{{NS_MES}}}Error", nsmap={"mes": NS_MES, "com": NS_COM})
    message = etree.SubElement(root, f"{{{NS_MES}}}ErrorMessage", code=str(error.code))
    lang = {f"{{{NS_XML}}}lang": "en"}
    etree.SubElement(message, f"{{{NS_COM}}}Text", lang).text = f"{error.title}: {error.message}"
    for media_type in getattr(error, "offered", ()):
        etree.SubElement(message, f"{{{NS_COM}}}Text", lang).text = f"offered: {media_type}"
    if request_id:
        etree.SubElement(message, f"{{{NS_COM}}}Text", lang).text = f"request id: {request_id}"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
