"""Every failure answers an SDMX error message with the matching HTTP status, never a bare 500.

REST v1 answers errors in SDMX-ML 2.1; REST v2 in SDMX-JSON or SDMX-ML 3.0, whichever family
the client's Accept prefers (formats/media.py `error_row`). Each quotes the request's id
(api/observe.py), which is also in the X-Request-ID header and on the request's log lines, so
that a client's report of an error finds the server's account of it. A failure on one of the
portal's paths (anything but the machine interfaces) answers an HTML page instead
(portal/errors.py).
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from sdmx_server.api.observe import request_id_of
from sdmx_server.errors import NotAcceptable, SdmxError, Unauthorized
from sdmx_server.formats.media import error_row

log = logging.getLogger("sdmx_server.api")
#: Paths of JSON APIs beside SDMX REST: their errors are REST v2's, in SDMX-JSON by default.
JSON_APIS = ("/admin/", "/auth/")


def error_response(request: Request | None, error: SdmxError) -> Response:
    headers = {"Cache-Control": "no-store"}
    if isinstance(error, NotAcceptable):
        headers["Vary"] = "Accept"
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if isinstance(error, Unauthorized):  # RFC 7235: a 401 names how to authenticate
        headers["WWW-Authenticate"] = 'Bearer realm="sdmx-server"'
    request_id = request_id_of(request.scope) if request is not None else None
    if request_id is not None:  # also on the 500s starlette sends past the middleware (api/observe.py)
        headers["X-Request-ID"] = request_id
    path = request.url.path if request is not None else ""
    if request is not None:
        from sdmx_server.portal.errors import error_page, is_page  # the portal sits above the API

        if is_page(path):
            return error_page(request, error, headers)
    accept = request.headers.get("accept") if request is not None else None
    api = "v2" if path.startswith(("/rest/v2", *JSON_APIS)) else "v1"
    if path.startswith(JSON_APIS) and (not accept or accept.strip() == "*/*"):
        accept = "application/json"  # the admin API and /auth/ speak JSON: SDMX-JSON errors
    row = error_row(api, accept)
    return Response(row.load()(error, request_id=request_id), status_code=error.status, media_type=row.content_type, headers=headers)


async def sdmx_error_handler(request: Request, exc: Exception) -> Response:
    from sdmx_server.api.admin_audit import record_denied

    await record_denied(request, exc)  # type: ignore[arg-type]  # a refused write is audited
    return error_response(request, exc)  # type: ignore[arg-type]


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error answering %s", request.url.path)
    return error_response(request, SdmxError("the server failed to answer this request; the failure is logged"))


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (404 for unknown paths, 405) in SDMX form."""
    from starlette.exceptions import HTTPException

    assert isinstance(exc, HTTPException)
    error = SdmxError(exc.detail if isinstance(exc.detail, str) else "request failed")
    error.status = exc.status_code
    error.code = 100 if exc.status_code == 404 else 140 if exc.status_code < 500 else 500
    error.title = "No results found" if exc.status_code == 404 else "Request error"
    response = error_response(request, error)
    if exc.headers:
        response.headers.update(exc.headers)  # e.g. Allow on 405
    return response
