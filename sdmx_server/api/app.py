"""The starlette application: REST v1 under /rest/, REST v2 under /rest/v2/, the portal at / (Persian)
and /en/ (English), a description of the service at /api."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager, suppress

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sdmx_server import __version__
from sdmx_server.access.middleware import AccessBackend
from sdmx_server.api import (admin, admin_audit, admin_usage, auth, availability, maintenance, openapi,
                             operations, rest_v1, rest_v2)
from sdmx_server.api import releases as release_calendar
from sdmx_server.api.answer_cache import AnswerCache, sweep_temporaries
from sdmx_server.api.answers import ReadPool
from sdmx_server.api.http import HttpMiddleware
from sdmx_server.api.limits import LimitsMiddleware
from sdmx_server.api.observe import ObserveMiddleware
from sdmx_server.api.errors import http_error_handler, sdmx_error_handler, unexpected_error_handler
from sdmx_server.api.state import ServerState
from sdmx_server import portal
from sdmx_server.errors import SdmxError
from sdmx_server.ops import metrics
from sdmx_server.ops.requests import Observer
from sdmx_server.ops.usage import counter_for
from sdmx_server.settings import Settings
from sdmx_server.store.database import Database


async def index(request: Request) -> JSONResponse:
    base = str(request.base_url).rstrip("/")
    return JSONResponse(
        {
            "service": "sdmx-server",
            "version": __version__,
            "rest_v1": f"{base}/rest/",
            "examples": [f"{base}/rest/dataflow", f"{base}/rest/codelist/all/all/latest?detail=allstubs"],
        }
    )


def _bound_malloc() -> None:
    """glibc malloc keeps what large answers freed: each worker thread gets its own arena, and
    after the first large free the mmap threshold climbs to 32 MB, so chunk-sized buffers land
    in arenas that never shrink (the server stayed at its peak after a load test). A fixed
    threshold sends large buffers back to the system when freed; two arenas bound the rest."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-8, 2)  # M_ARENA_MAX
        libc.mallopt(-3, 256 * 1024)  # M_MMAP_THRESHOLD (fixed, so no longer dynamic)
        libc.mallopt(-1, 1024 * 1024)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # not glibc: nothing to tune
        return
    # Arrow's own allocator (mimalloc) keeps freed pages while the process is idle: batches go
    # through malloc instead, whose large buffers the fixed threshold hands back at once.
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())


#: How often a server process looks for embargoed loads whose release time has come.
RELEASE_CHECK_SECONDS = 1.0
log = logging.getLogger("sdmx_server.api")


def release_embargoed(server: ServerState, db: Database) -> list[int]:
    """Release what is due (store/embargo.py: one process applies each release, whichever
    claims it first); the new data are then visible to every process through the stamps.
    `db`: a handle of its own, without the statement timeout of the server's reads (a release
    is a whole load)."""
    from sdmx_server.ingest.load import release_embargoed as release

    return release(db, server.registry(), settings=server.settings)


async def release_loop(server: ServerState, db: Database) -> None:
    """Embargoed loads are published at their time without a restart: every
    RELEASE_CHECK_SECONDS, in a worker thread (an apply takes a while)."""
    while True:
        try:
            released = await run_in_threadpool(release_embargoed, server, db)  # counted in ingest/load.py
            if released:
                log.info("released embargoed load(s) %s", ", ".join(f"#{i}" for i in released))
        except Exception:  # a broken release is retried at the next check, the server goes on
            log.exception("releasing embargoed loads failed")
        await asyncio.sleep(RELEASE_CHECK_SECONDS)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    _bound_malloc()

    @asynccontextmanager
    async def lifespan(app: Starlette):
        releases = asyncio.create_task(release_loop(app.state.server, app.state.release_db))
        if app.state.usage is not None:
            app.state.usage.start()  # in the worker: threads do not survive uvicorn's fork
        yield
        releases.cancel()
        with suppress(asyncio.CancelledError):
            await releases
        if app.state.usage is not None:
            await run_in_threadpool(app.state.usage.close)  # the last counts, written
        app.state.release_db.dispose()
        app.state.server.close()

    routes = [Route("/api", index), *operations.routes, *openapi.routes, *auth.routes, *admin.routes,
              *admin_audit.routes, *admin_usage.routes, *release_calendar.routes, *maintenance.routes,
              *availability.routes, *rest_v2.routes, *rest_v1.routes, *portal.routes]
    # Told of every answered request (api/observe.py): the metrics, and whoever appends here.
    observers: list[Observer] = [metrics.observe_request]
    app = Starlette(
        routes=routes,
        # Outermost but for starlette's last-resort error handler: the request id, the time and
        # bytes of every answer, its observers (api/observe.py). Then CORS, OPTIONS, 405, 414,
        # HEAD, compression, kept answers and flow control for every route (api/http.py).
        middleware=[Middleware(ObserveMiddleware, observers=observers, routes=routes),
                    Middleware(HttpMiddleware, settings=settings, routes=routes),
                    # request.user: the principal of every request (access/middleware.py)
                    Middleware(AuthenticationMiddleware, backend=AccessBackend(settings), on_error=auth.refused),
                    # Rate and body limits (api/limits.py): inside authentication, so that a
                    # token's requests draw from the token's bucket.
                    Middleware(LimitsMiddleware, settings=settings)],
        exception_handlers={
            SdmxError: sdmx_error_handler,
            HTTPException: http_error_handler,
            Exception: unexpected_error_handler,
        },
        lifespan=lifespan,
    )
    # Observers of every answered request (ops/requests.py): the middleware (api/observe.py)
    # calls each with the request's RequestRecord; it holds this very list, so observers are
    # appended to it, never a new list assigned.
    app.state.observers = observers
    app.state.server = ServerState(settings)
    app.state.usage = counter_for(settings)  # usage statistics (ops/usage.py), unless turned off
    if app.state.usage is not None:
        app.state.observers.append(app.state.usage)
    app.state.read_pool = ReadPool(settings.read_connections, settings.read_wait_seconds)
    app.state.answer_cache = AnswerCache(settings.data_dir / "answers", settings.answer_cache_bytes,
                                         settings.answer_cache_min_bytes)
    sweep_temporaries(app.state.answer_cache.directory)
    app.state.server.registry()  # fail at start, not at the first request, if the store is broken
    app.state.release_db = Database(settings.database_url, application_name="sdmx-server release")
    try:
        release_embargoed(app.state.server, app.state.release_db)  # what came due while no server ran
    except Exception:  # the loop tries again every second; the server still answers
        log.exception("releasing embargoed loads at start failed")
    # Derived dataflows older than their sources (a recompute a crash missed) are made again.
    from sdmx_server.processing.derived import refresh_stale

    refresh_stale(app.state.release_db, app.state.server.registry(), settings)
    return app
