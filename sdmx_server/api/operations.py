"""What probes and monitoring read: /health, /ready and /metrics.

- /health: liveness. The process answers HTTP; nothing else is asked (no database), so that a
  database outage does not get every server process restarted by its supervisor.
- /ready: readiness. The database answers now and this process holds the structure index;
  otherwise 503 with the reason, so that a load balancer sends requests elsewhere meanwhile.
- /metrics: Prometheus's text format (ops/metrics.py), summed over every worker process. Who
  may read it is `settings.metrics_access`: the metrics name dataflows, restricted ones
  included, so by default only clients on this machine and administrators.
"""

from __future__ import annotations

import logging

import anyio
import anyio.to_thread

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sdmx_server import __version__
from sdmx_server.api.access import is_admin, principal_of
from sdmx_server.api.limits import is_loopback
from sdmx_server.errors import Forbidden, Unauthorized
from sdmx_server.ops import metrics
from sdmx_server.registry.store import current_generation

log = logging.getLogger("sdmx_server.api")
#: How long /ready waits for the database before it calls it unreachable.
READY_WAIT_SECONDS = 5.0
NO_STORE = {"Cache-Control": "no-store"}


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "version": __version__}, headers=NO_STORE)


async def ready(request: Request) -> JSONResponse:
    state = request.app.state.server

    def check() -> dict:
        generation = current_generation(state.db)  # the database answers, and holds our tables
        registry = state.registry()  # the index, refreshed if another process changed structures
        return {"generation": generation, "index_generation": registry.generation}

    try:
        with anyio.fail_after(READY_WAIT_SECONDS):
            # abandoned when late: a hung database must not hang the probe too
            found = await anyio.to_thread.run_sync(check, abandon_on_cancel=True)
    except TimeoutError:
        return _not_ready(f"the database did not answer within {READY_WAIT_SECONDS:g} s")
    except Exception as exc:  # noqa: BLE001 - a probe wants a status and a reason, the log the rest
        log.exception("readiness check failed")
        return _not_ready(f"the database or the structure index cannot be read ({type(exc).__name__})")
    return JSONResponse({"status": "ready", "version": __version__, **found}, headers=NO_STORE)


def _not_ready(reason: str) -> JSONResponse:
    return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503,
                        headers={**NO_STORE, "Retry-After": "5"})


async def metrics_text(request: Request) -> Response:
    _may_read_metrics(request)
    body, content_type = await run_in_threadpool(metrics.exposition)  # reads every worker's files
    return Response(body, media_type=content_type, headers=NO_STORE)


def _may_read_metrics(request: Request) -> None:
    access = request.app.state.server.settings.metrics_access
    if access == "public":
        return
    if access == "loopback" and is_loopback(request.client.host if request.client else None):
        return
    principal = principal_of(request)
    if not principal.is_authenticated:
        raise Unauthorized("the metrics are for this machine and administrators: authenticate as an administrator"
                           if access == "loopback" else "the metrics are for administrators: authenticate as one")
    if not is_admin(request, principal):
        raise Forbidden("the metrics are for administrators")


routes = [
    Route("/health", health, methods=["GET", "HEAD"]),
    Route("/ready", ready, methods=["GET", "HEAD"]),
    Route("/metrics", metrics_text, methods=["GET", "HEAD"]),
]
