"""SDMX-ML 3.0 SubmitStructureResponse: the answer to every structure maintenance request.

One SubmissionResult per submitted artefact: the action echoed, the artefact's URN, and a
status with the artefact's own HTTP code and message (REST maintenance.md, annex II).
"""

from __future__ import annotations

from typing import Iterable

from lxml import etree

from sdmx_server.formats.ml21 import Header, format_datetime

NS_MES = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message"
NS_COM = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/common"
NS_REG = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/registry"
NS_XML = "http://www.w3.org/XML/1998/namespace"
MEDIA_TYPE = "application/vnd.sdmx.registry+xml; version=3.0.0"


def submission_response(results: Iterable, header: Header, receiver: str = "not_supplied") -> bytes:
    """`results` are registry.change.ArtefactResult-like: kind, urn, action, status, code, message."""
    nsmap = {"mes": NS_MES, "com": NS_COM, "reg": NS_REG}
    root = etree.Element(f"{{{NS_MES}}}SubmitStructureResponse", nsmap=nsmap)
    head = etree.SubElement(root, f"{{{NS_MES}}}Header")
    etree.SubElement(head, f"{{{NS_MES}}}ID").text = header.id
    etree.SubElement(head, f"{{{NS_MES}}}Test").text = "true" if header.test else "false"
    etree.SubElement(head, f"{{{NS_MES}}}Prepared").text = format_datetime(header.prepared)
    etree.SubElement(head, f"{{{NS_MES}}}Sender", id=header.sender)
    etree.SubElement(head, f"{{{NS_MES}}}Receiver", id=receiver)
    # The inner element is declared locally in SDMXMessage.xsd: it is in the message namespace.
    response = etree.SubElement(root, f"{{{NS_MES}}}SubmitStructureResponse")
    for result in results:
        item = etree.SubElement(response, f"{{{NS_REG}}}SubmissionResult")
        submitted = etree.SubElement(item, f"{{{NS_REG}}}SubmittedStructure", action=result.action)
        etree.SubElement(submitted, f"{{{NS_REG}}}MaintainableObject").text = result.urn
        status = etree.SubElement(item, f"{{{NS_REG}}}StatusMessage", status=result.status)
        text = etree.SubElement(status, f"{{{NS_REG}}}MessageText", code=str(result.code))
        etree.SubElement(text, f"{{{NS_COM}}}Text", {f"{{{NS_XML}}}lang": "en"}).text = result.message
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
