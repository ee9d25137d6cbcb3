"""The audit trail over HTTP, and what the API tells it.

- `GET /admin/api/audit?subject=&dataflow=&action=&since=&until=&limit=`: entries latest
  first, as JSON, for administrators only (anonymous: 401, anyone else: 403). The filters are
  `access.audit_log.entries`'s; a bad value is a 400.
- `record_denied`: a refused write (403), called by the error handler, so that every route's
  refusals are recorded in one place; `record_changes`: the entries of a structure change
  made through REST maintenance.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import orjson

from sdmx_server.access import audited
from sdmx_server.access.audit_log import entries, entry_json, parse_time
from sdmx_server.api.access import address_of, principal_of, require_admin
from sdmx_server.errors import SdmxError, SyntaxError_

PARAMETERS = ("subject", "dataflow", "action", "since", "until", "limit")
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
#: Methods that write: a 403 on one of them is a denied write.
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _filters(request: Request) -> dict:
    params = request.query_params
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise SyntaxError_(f"unknown parameter(s) {', '.join(unknown)}: the audit log takes {', '.join(PARAMETERS)}")
    filters: dict = {name: params.get(name) or None for name in ("subject", "dataflow", "action")}
    for name in ("since", "until"):
        text = params.get(name)
        try:
            filters[name] = parse_time(text) if text else None
        except ValueError:
            raise SyntaxError_(f"{name}={text!r} is not an ISO 8601 time like 2026-12-01T08:00:00Z") from None
    limit = params.get("limit", str(DEFAULT_LIMIT))
    if not limit.isdigit() or not 0 < int(limit) <= MAX_LIMIT:
        raise SyntaxError_(f"limit={limit!r}: a number from 1 to {MAX_LIMIT:,}")
    filters["limit"] = int(limit)
    return filters


async def audit_log(request: Request) -> Response:
    require_admin(request, "the audit log")
    filters = _filters(request)
    found = await run_in_threadpool(entries, request.app.state.server.db, **filters)
    body = {"entries": [entry_json(e) for e in found], "count": len(found)}
    return Response(orjson.dumps(body), media_type="application/json", headers={"Cache-Control": "no-store"})


async def record_denied(request: Request, error: SdmxError) -> None:
    """A 403 on a write is recorded (never a read's: the log is of writes)."""
    if error.status != 403 or request.method not in WRITE_METHODS:
        return
    await run_in_threadpool(
        audited.denied, request.app.state.server.db, principal_of(request), method=request.method,
        path=request.url.path, reason=str(error), status=error.status, address=address_of(request))


async def record_changes(request: Request, outcome) -> None:
    """One entry per artefact of a REST maintenance request (registry/change.py's outcome)."""
    await run_in_threadpool(
        audited.structure_changes, request.app.state.server.db, principal_of(request), outcome.results,
        errors=outcome.errors, stubs=outcome.stubs, via="http", address=address_of(request))


routes = [Route("/admin/api/audit", audit_log, methods=["GET"])]
