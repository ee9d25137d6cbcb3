"""SDMX REST v2 routes (spec 2.2.2) under /rest/v2/: structures, schemas, reference metadata,
data.

Handlers only glue, as in rest_v1: query/parse_v2.py and parse_data_v2.py parse,
api/structures.py, api/data.py (and the metadata and schema modules) answer. What is not built
(availability until its module registers its routes) answers 501.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sdmx_server.api.data import data_response
from sdmx_server.api.limits import checked
from sdmx_server.api.metadata import routes as metadata_routes
from sdmx_server.api.schemas import schema_response
from sdmx_server.api.structures import structure_response
from sdmx_server.api.upload import routes as upload_routes
from sdmx_server.errors import NotImplemented_
from sdmx_server.query.parse_data_v2 import parse_data_query
from sdmx_server.query.parse_v2 import parse_schema_query, parse_structure_query


def _segments(path: str) -> list[str]:
    return path.split("/") if path else []


async def structure(request: Request) -> Response:
    query = checked(request, parse_structure_query(_segments(request.path_params.get("path", "")), request.query_params))
    return await structure_response(request, query, "v2")


async def schema(request: Request) -> Response:
    query = checked(request, parse_schema_query(_segments(request.path_params.get("path", "")), request.query_params))
    return await schema_response(request, query)


async def data(request: Request) -> Response:
    raw = request.scope.get("query_string", b"").decode("utf-8", "replace")
    query = checked(request, parse_data_query(_segments(request.path_params.get("path", "")), request.query_params, raw))
    return await data_response(request, query, "v2")


async def not_built(request: Request) -> Response:
    raise NotImplemented_(f"{request.url.path}: this part of REST v2 is not built yet")


routes = [
    Route("/rest/v2/structure", structure),
    Route("/rest/v2/structure/{path:path}", structure),
    Route("/rest/v2/schema/{path:path}", schema),
    *upload_routes,  # POST of data (an extension); GET below answers queries
    Route("/rest/v2/data", data),
    Route("/rest/v2/data/{path:path}", data),
    *metadata_routes,
    Route("/rest/v2/{path:path}", not_built),
]
