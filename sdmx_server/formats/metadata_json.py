"""SDMX-JSON reference metadata messages, 2.0.0 and 2.1.0 (`application/vnd.sdmx.metadata+json`).

The stored form of a metadata set is already an SDMX-JSON 2.0 `metadataSets` object, so the
set is written as the codec gives it (metadata_sets.py cuts it to the detail and languages
asked for), inside a message with `meta` (schema, id, test, prepared, languages, sender) and
`data.metadataSets`. What differs:

- 2.0.0 names its schema in `meta.schema`; 2.1.0 in the root `$schema` (and, deprecated but
  still read by clients such as pysdmx, in `meta.schema` too), and says `isPartialLanguage`
  of a set that lost languages to `Accept-Language`;
- the schemas of both restrict a metadata set's `version` to semantic versions and say 1.0
  when it is absent: a set of version 1.0 is written without it, and one of another legacy
  version (2.1) cannot be written (NotExpressible: the API answers 406).
"""

from __future__ import annotations

import re
from typing import Any, Iterable

import orjson

from sdmx_server.formats.metadata_sets import PreparedSet, content_languages, prepare_all, require_report
from sdmx_server.formats.ml21 import Header, format_datetime
from sdmx_server.types import ArtefactDetail

_SCHEMAS = "https://raw.githubusercontent.com/sdmx-twg/sdmx-json/master/metadata-message/tools/schemas"
SCHEMA_URLS = {
    "2.0.0": f"{_SCHEMAS}/2.0.0/sdmx-json-metadata-schema.json",
    "2.1.0": f"{_SCHEMAS}/2.1.0/sdmx-json-metadata-schema.json",
}
#: SDMX-JSON's VersionType (semantic versions only); 1.0 is its default.
_SEMANTIC = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?")
DEFAULT_VERSION = "1.0"
#: The SDMX-JSON id pattern of a message (meta.id).
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_@$-]+")


def metadata_message(
    entries: Iterable[tuple[Any, ArtefactDetail]],
    header: Header,
    languages: tuple[str, ...] | None = None,
    *,
    version: str = "2.1.0",
) -> bytes:
    """An SDMX-JSON metadata message (`version` 2.0.0 or 2.1.0) of the metadata sets."""
    if version not in SCHEMA_URLS:
        raise ValueError(f"SDMX-JSON metadata {version} is not written here; {', '.join(SCHEMA_URLS)} are")
    sets = prepare_all(entries, languages)
    format_name = f"SDMX-JSON {version}"
    written = [_metadata_set(s, version, format_name) for s in sets]
    meta: dict[str, Any] = {
        "schema": SCHEMA_URLS[version],
        "id": header.id if _MESSAGE_ID.fullmatch(header.id) else re.sub(r"[^A-Za-z0-9_@$-]", "_", header.id),
        "test": header.test,
        "prepared": format_datetime(header.prepared),
    }
    found = content_languages(sets)
    if found:
        meta["contentLanguages"] = found
    meta["sender"] = {"id": header.sender}
    message: dict[str, Any] = {}
    if version != "2.0.0":
        message["$schema"] = SCHEMA_URLS[version]
    message["meta"] = meta
    message["data"] = {"metadataSets": written}
    return orjson.dumps(message)


def _metadata_set(prepared: PreparedSet, version: str, format_name: str) -> dict:
    require_report(prepared, format_name)
    obj = dict(prepared.obj)
    set_version = str(obj.get("version") or DEFAULT_VERSION)
    if set_version == DEFAULT_VERSION:
        obj.pop("version", None)
    elif not _SEMANTIC.fullmatch(set_version):
        raise prepared.not_expressible(f"the version {set_version} (SDMX-JSON metadata sets have semantic versions, "
                                       "or none for 1.0)", format_name)
    if prepared.partial_language and version != "2.0.0":
        obj = {"isPartialLanguage": True, **obj}
    return obj
