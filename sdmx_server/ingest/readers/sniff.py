"""Telling a data message's format from its first bytes (for `readers.detect`).

XML: the root element's name and namespace; a document that declares a DTD is still told by
its root (the DTD is skipped here), so that its reader refuses it with the reason rather than
the file being called "not data". JSON: a JSON object with the members of an SDMX-JSON
message; the version is a guess from the head (the reader reads every version and tells them
apart by the message's own members).
"""

from __future__ import annotations

import re

from sdmx_server.ingest.readers.xml_safe import XMLRefused, sniff

_MESSAGE = "http://www.sdmx.org/resources/sdmxml/schemas/{}/message"
_XML_FORMATS = {
    (_MESSAGE.format("v2_1"), "GenericData"): "sdmx-ml-2.1-generic",
    (_MESSAGE.format("v2_1"), "GenericTimeSeriesData"): "sdmx-ml-2.1-generic",
    (_MESSAGE.format("v2_1"), "StructureSpecificData"): "sdmx-ml-2.1-specific",
    (_MESSAGE.format("v2_1"), "StructureSpecificTimeSeriesData"): "sdmx-ml-2.1-specific",
    (_MESSAGE.format("v3_0"), "StructureSpecificData"): "sdmx-ml-3.0",
    (_MESSAGE.format("v3_1"), "StructureSpecificData"): "sdmx-ml-3.0",
}
_DOCTYPE = re.compile(rb"<!DOCTYPE[^\[>]*(?:\[.*?\]\s*)?>", re.S)
_JSON_MEMBER = re.compile(rb'^\{\s*"(meta|header|data|dataSets|structure|structures|\$schema)"\s*:')
_JSON_SCHEMA = re.compile(rb"sdmx-json[^\"]*?/(1\.0|2\.0\.0|2\.1\.0|2\.0|2\.1)/|json\.sdmx\.org/(2\.\d)")


def xml_format(head: bytes) -> str | None:
    try:
        root = sniff(head)
    except XMLRefused:
        try:
            root = sniff(_DOCTYPE.sub(b"", head, count=1))
        except XMLRefused:
            return None
    if root is None:
        return None
    return _XML_FORMATS.get((root.namespace or "", root.name))


def json_format(head: bytes) -> str | None:
    if not _JSON_MEMBER.match(head):
        return None
    if m := _JSON_SCHEMA.search(head[:4096]):
        version = m.group(1) or m.group(2) or b""
        return "sdmx-json-1.0" if version.startswith(b"1") else "sdmx-json-2.0"
    if b'"structures"' in head or b'"$schema"' in head:
        return "sdmx-json-2.0"
    return "sdmx-json-1.0"
