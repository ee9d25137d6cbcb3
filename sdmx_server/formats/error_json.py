"""SDMX-JSON error messages: the JSON body of failed REST v2 requests.

A message with `meta` and `errors` only, as the SDMX-JSON 2.0 schemas allow for every kind of
message (data, structure, metadata); `code` is the SDMX (REST) error code.
"""

from __future__ import annotations

import orjson

from sdmx_server.errors import SdmxError
from sdmx_server.formats.ml21 import Header, format_datetime


def error_message(error: SdmxError, header: Header | None = None, request_id: str | None = None) -> bytes:
    """`request_id`: the request's id (api/observe.py), quoted at the end of the detail (the
    one free text an SDMX-JSON error has)."""
    header = header or Header()
    detail = error.message
    offered = list(getattr(error, "offered", ()))
    if offered:
        detail += " (offered: " + "; ".join(offered) + ")"
    if request_id:
        detail += f" (request id: {request_id})"
    body = {
        "meta": {
            "id": header.id,
            "test": header.test,
            "prepared": format_datetime(header.prepared),
            "sender": {"id": header.sender},
        },
        "errors": [{"code": error.code, "title": error.title, "detail": detail}],
    }
    return orjson.dumps(body)
