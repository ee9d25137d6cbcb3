"""Usage statistics over HTTP, for administrators only (anonymous: 401, anyone else: 403).

    GET /admin/api/usage?from=2026-10-01&to=2026-12-31&top=20

`from`/`to`: ISO 8601 dates or times (UTC unless they say; a date alone as `to` includes its
day); default: the last 30 days. `top`: how many of the busiest client addresses (of the last
day, the only one whose addresses are kept). The answer is ops/usage_report.py's, the same as
`sdmx-server report usage --json`. Counts still in the server processes' memory (at most
`usage_flush_seconds` old) are not in it.
"""

from __future__ import annotations

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sdmx_server.api.access import require_admin
from sdmx_server.errors import SyntaxError_
from sdmx_server.ops.usage_report import TOP_ADDRESSES, parse_range, usage_report

PARAMETERS = ("from", "to", "top")
MAX_TOP = 1000


async def usage(request: Request) -> Response:
    """Usage statistics of a time range: requests, bytes and errors by dataflow, format,
    consumer, status (administrators only)."""
    require_admin(request, "usage statistics")
    params = request.query_params
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise SyntaxError_(f"unknown parameter(s) {', '.join(unknown)}: usage statistics take {', '.join(PARAMETERS)}")
    try:
        start, end = parse_range(params.get("from"), params.get("to"))
        if start.year < 1970 or end.year > 9000:  # so that no date arithmetic leaves Python's range
            raise ValueError("from and to must lie between 1970 and 9000")
    except (ValueError, OverflowError) as exc:
        raise SyntaxError_(str(exc)) from None
    top = params.get("top", str(TOP_ADDRESSES))
    if not (top.isascii() and top.isdigit()) or int(top) > MAX_TOP:
        raise SyntaxError_(f"top={top!r}: a number from 0 to {MAX_TOP}")
    report = await run_in_threadpool(usage_report, request.app.state.server.db, start, end, int(top))
    return Response(orjson.dumps(report), media_type="application/json", headers={"Cache-Control": "no-store"})


routes = [Route("/admin/api/usage", usage, methods=["GET"])]
