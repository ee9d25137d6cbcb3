"""SDMX-ML 3.0.0 and 3.1.0 structure-specific data (REST v2 `application/vnd.sdmx.data+xml`),
streamed batch by batch.

The series and observations are written exactly as in SDMX-ML 2.1 structure-specific data
(components as XML attributes named by their ids), so this writer is the 2.1 one with what
SDMX 3 changed overridden:
- the namespaces (v3_0 or v3_1 message, common and structurespecific);
- the header names each data set's structure usage by URN (`<com:StructureUsage>urn:…`), and
  `namespace` is always given;
- the data set has no `dataScope` (SDMX 3 dropped it); its xsi:type names the DataSetType of
  the DSD-specific schema for SDMX-ML 3.x (schema_ml21.data_schema(..., version="3.0"));
- there is no time-series variant of the message.
"""

from __future__ import annotations

from typing import Iterator

from lxml import etree

from sdmx_server.formats import ml30
from sdmx_server.formats.data_message import DataMessage, DataSetPart
from sdmx_server.formats.data_specific_ml21 import StructureSpecificWriter
from sdmx_server.formats.ml21 import NS_XSI, qname

MEDIA_TYPE_30 = "application/vnd.sdmx.data+xml;version=3.0.0"
MEDIA_TYPE_31 = "application/vnd.sdmx.data+xml;version=3.1.0"

_SCHEMAS = "http://www.sdmx.org/resources/sdmxml/schemas"
_CLASSES = {
    "dataflow": "StructureUsage",
    "provisionagreement": "ProvisionAgreement",
    "datastructure": "Structure",
}


class StructureSpecific30Writer(StructureSpecificWriter):
    version = "v3_0"

    def __init__(self) -> None:
        super().__init__(time_series=False)
        v = self.version
        self.ns_message = f"{_SCHEMAS}/{v}/message"
        self.ns_common = f"{_SCHEMAS}/{v}/common"
        self.namespaces = {
            "mes": self.ns_message, "ss": f"{_SCHEMAS}/{v}/data/structurespecific",
            "com": self.ns_common, "xsi": NS_XSI,
        }

    def root_name(self) -> str:
        return "StructureSpecificData"

    def header_element(self, message: DataMessage, structures: list[etree._Element]) -> etree._Element:
        el = etree.Element(qname(self.ns_message, "Header"), nsmap={"mes": self.ns_message, "com": self.ns_common})
        etree.SubElement(el, qname(self.ns_message, "ID")).text = message.header.id
        etree.SubElement(el, qname(self.ns_message, "Test")).text = "true" if message.header.test else "false"
        etree.SubElement(el, qname(self.ns_message, "Prepared")).text = ml30.format_datetime(message.header.prepared)
        etree.SubElement(el, qname(self.ns_message, "Sender"), id=message.header.sender)
        for structure in structures:
            el.append(structure)
        return el

    def header_structure(self, position: int, part: DataSetPart) -> etree._Element:
        structure = etree.Element(qname(self.ns_message, "Structure"), {
            "structureID": part.structure_id,
            "namespace": self.structure_namespace(position, part),
            "dimensionAtObservation": part.layout.dimension_at_observation,
        })
        usage = etree.SubElement(structure, qname(self.ns_common, _CLASSES[part.context]))
        usage.text = part.flow_urn
        return structure

    def dataset_scope(self) -> str:
        return ""


class StructureSpecific31Writer(StructureSpecific30Writer):
    version = "v3_1"


def write(message: DataMessage, version: str = "3.0.0") -> Iterator[bytes]:
    """The message, in pieces, in SDMX-ML `version` (3.0.0 or 3.1.0)."""
    writer = StructureSpecific31Writer() if version.startswith("3.1") else StructureSpecific30Writer()
    return writer.write(message)
