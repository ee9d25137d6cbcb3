"""The SDMX-JSON structure reader: a whole message (1.0, 2.0.0 or 2.1.0) in, stored forms out.

The version is taken from `$schema` or `meta.schema` when it names one, else from the shape (collections
only SDMX-JSON 1.0 has). Real producers mix the versions (a "2.0.0" message with 1.0's
`assignmentStatus`, `textType` and top-level `isFinal`), so every artefact object is read by
its members rather than by the declared version: the codec's readers accept the members of
all three. Each artefact is normalised to the stored form by building it (`from_json`, with
stubs for everything it refers to) and writing it back (`to_json`): the result is exactly what
the registry stores, links and other server-specific members dropped.

Collections of kinds sdmx1 does not model (structure maps, processes, ...) are returned as
they came, minus links, and from_json refuses them; collections no kind holds (SDMX 3.1's
availability constraints) are left out. A metadata message's `metadataSets` are read too.
"""

from __future__ import annotations

import json
from typing import Any

from sdmx_server.kinds import BY_JSON10, BY_JSON20, Kind
from sdmx_server.registry.codec.base import CodecError, fail, type_name
from sdmx_server.registry.codec.core import DECODERS, from_json, to_json

MAX_BYTES = 200 * 1024 * 1024

#: Collections that say a message is not a structure message.
_NOT_STRUCTURES = ("dataSets", "structure", "structures")
#: Collections no kind holds, left out on purpose.
_IGNORED = ("availabilityConstraints",)


def message_version(message: dict) -> str:
    """"1.0", "2.0" or "2.1", from meta.schema, else from the shape."""
    meta = message.get("meta")
    # SDMX-JSON 2.1 names its schema at the top ($schema); meta.schema is deprecated there
    schema = message.get("$schema")
    if type(schema) is not str:
        schema = meta.get("schema") if type(meta) is dict else None
    if type(schema) is str:
        for marker, version in (("/1.0/", "1.0"), ("2.0.0", "2.0"), ("/2.0/", "2.0"), ("/2.1", "2.1"),
                                ("2.1.0", "2.1")):
            if marker in schema:
                return version
    data = message.get("data")
    if type(data) is dict and any(k in data for k in ("contentConstraints", "hierarchicalCodelists",
                                                      "structureSets", "attachmentConstraints")):
        return "1.0"
    return "2.0"


def collection_kind(name: str) -> Kind | None:
    if name == "metadataSets":
        from sdmx_server.kinds import BY_NAME

        return BY_NAME["metadataset"]
    return BY_JSON20.get(name) or BY_JSON10.get(name)


def read_structure_message(data: bytes) -> list[tuple[Kind, dict]]:
    """Every artefact of an SDMX-JSON structure message, as (kind, stored form). Raises
    ValueError (CodecError) saying where and why for anything that is not a valid message."""
    if not isinstance(data, (bytes, bytearray, memoryview, str)):
        raise CodecError(f"expected the bytes of a message, got {type(data).__name__}")
    if len(data) > MAX_BYTES:
        raise CodecError(f"the message is larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        message = _loads(data)
    except ValueError as exc:
        raise CodecError(f"not JSON: {exc}") from None
    if type(message) is not dict:
        raise fail("", f"an SDMX-JSON message is an object, not {type_name(message)}")
    payload = message.get("data")
    if payload is None:
        errors = message.get("errors")
        if errors:
            raise fail("/errors", f"the message reports errors instead of structures: {str(errors)[:300]}")
        raise fail("", "not an SDMX-JSON structure message: it has no 'data'")
    if type(payload) is not dict:
        raise fail("/data", f"expected an object, got {type_name(payload)}")
    found = [k for k in _NOT_STRUCTURES if k in payload]
    if found:
        raise fail("/data", f"not an SDMX-JSON structure message: it holds {found[0]!r} (a data message?)")
    version = message_version(message)
    out: list[tuple[Kind, dict]] = []
    for name, artefacts in payload.items():
        path = f"/data/{name}"
        if name in _IGNORED:
            continue
        kind = collection_kind(name)
        if kind is None:
            raise fail(path, f"not a collection of SDMX-JSON {version} structures")
        if kind.name == "metadataset" and version == "1.0":
            # SDMX 2.1 metadata sets: reports against an MSD's report structures, no agency,
            # version or name; SDMX 3.0 made them maintainable and dropped reports.
            raise fail(path, "SDMX-JSON 1.0 metadata sets (SDMX 2.1 reports) are not supported; "
                             "send SDMX-JSON 2.0 metadata or SDMX-ML 3.0 GenericMetadata")
        if type(artefacts) is not list:
            raise fail(path, f"expected an array, got {type_name(artefacts)}")
        for i, obj in enumerate(artefacts):
            if version == "2.1" and kind.name == "dataconstraint" and type(obj) is dict and "role" not in obj:
                # SDMX 3.1 data constraints say what is allowed (actual content is an
                # availability constraint): SDMX-JSON 2.1 has no role to say it
                obj = {**obj, "role": "Allowed"}
            out.append((kind, normalise(kind, obj, f"{path}/{i}")))
    return out


def normalise(kind: Kind, obj: Any, path: str = "") -> dict:
    """An artefact object of any SDMX-JSON version as the registry stores it."""
    if type(obj) is not dict:
        raise fail(path, f"expected an object, got {type_name(obj)}")
    if kind.name not in DECODERS:
        return _drop_links(obj)
    try:
        return to_json(from_json(kind, obj, None))
    except CodecError as exc:
        # from_json names the place inside the artefact; say where the artefact is
        text = str(exc)
        if text.startswith("/: "):
            text = text[1:]
        raise CodecError(f"{path}{text}" if text.startswith(("/", ":")) else f"{path}: {text}") from None
    except ValueError as exc:
        raise CodecError(f"{path}: {exc}") from None
    except RecursionError:
        raise CodecError(f"{path}: nested too deeply") from None


def _drop_links(value: Any) -> Any:
    if type(value) is dict:
        return {k: _drop_links(v) for k, v in value.items() if k != "links"}
    if type(value) is list:
        return [_drop_links(v) for v in value]
    return value


def _loads(data: bytes | str) -> Any:
    try:
        import orjson
    except ImportError:  # pragma: no cover
        return json.loads(data)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ValueError(str(exc)) from None
