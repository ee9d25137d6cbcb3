"""The starlette application: REST v1 under /rest/, REST v2 under /rest/v2/, an index at /."""

from __future__ import annotations

from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sdmx_server import __version__
from sdmx_server.api import availability, maintenance, rest_v1, rest_v2
from sdmx_server.api.errors import http_error_handler, sdmx_error_handler, unexpected_error_handler
from sdmx_server.api.state import ServerState
from sdmx_server.errors import SdmxError
from sdmx_server.settings import Settings


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


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        app.state.server.close()

    app = Starlette(
        routes=[Route("/", index), *maintenance.routes, *availability.routes, *rest_v2.routes, *rest_v1.routes],
        exception_handlers={
            SdmxError: sdmx_error_handler,
            HTTPException: http_error_handler,
            Exception: unexpected_error_handler,
        },
        lifespan=lifespan,
    )
    app.state.server = ServerState(settings)
    app.state.server.registry()  # fail at start, not at the first request, if the store is broken
    return app
