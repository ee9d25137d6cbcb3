"""Every failure answers an SDMX error message with the matching HTTP status, never a bare 500."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from sdmx_server.errors import NotAcceptable, SdmxError
from sdmx_server.formats.error_ml21 import MEDIA_TYPE, error_message

log = logging.getLogger("sdmx_server.api")


def error_response(error: SdmxError) -> Response:
    headers = {}
    if isinstance(error, NotAcceptable):
        headers["Vary"] = "Accept"
    return Response(error_message(error), status_code=error.status, media_type=MEDIA_TYPE, headers=headers)


async def sdmx_error_handler(request: Request, exc: Exception) -> Response:
    return error_response(exc)  # type: ignore[arg-type]


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error answering %s", request.url.path)
    return error_response(SdmxError("the server failed to answer this request; the failure is logged"))


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (404 for unknown paths, 405) in SDMX form."""
    from starlette.exceptions import HTTPException

    assert isinstance(exc, HTTPException)
    error = SdmxError(exc.detail if isinstance(exc.detail, str) else "request failed")
    error.status = exc.status_code
    error.code = 100 if exc.status_code == 404 else 140 if exc.status_code < 500 else 500
    error.title = "No results found" if exc.status_code == 404 else "Request error"
    return error_response(error)
