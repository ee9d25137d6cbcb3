"""SDMX REST v1 routes (SDMX 2.1, spec 1.5) under /rest/.

Handlers only glue: the URL is parsed by query.parse_v1, the representation chosen by
formats.media, the data by service/data.py (api/data.py), the bytes by the chosen row's writer.
Paths are split here by hand so that trailing slashes and empty segments mean what clients
mean by them.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sdmx_server.api.data import data_response
from sdmx_server.api.limits import checked
from sdmx_server.api.schemas import schema_response
from sdmx_server.api.structures import structure_response
from sdmx_server.errors import NotImplemented_, SyntaxError_
from sdmx_server.query.parse_v1 import parse_data_query, parse_schema_query_v1, parse_structure_query

#: Resources of the v1.5.0 spec not served: reference metadata is another API; namealiasscheme
#: is in the spec's YAML only, and no class of the information model holds it. (Availability,
#: /availableconstraint, is answered by api/availability.py, whose routes come first.)
NOT_YET = ("metadata", "namealiasscheme")


def _segments(path: str) -> list[str]:
    parts = path.split("/")
    while parts and parts[-1] == "":
        parts.pop()
    return parts


async def data(request: Request) -> Response:
    parts = _segments(request.path_params["path"])
    if not parts or not parts[0] or len(parts) > 3:
        raise SyntaxError_("expected /data/{flowRef}/{key}/{providerRef}")
    query = checked(request, parse_data_query(parts[0], parts[1] if len(parts) > 1 else None,
                                              parts[2] if len(parts) > 2 else None, request.query_params))
    return await data_response(request, query, "v1")


async def structure(request: Request) -> Response:
    resource = request.path_params["resource"]
    if resource in NOT_YET:
        raise NotImplemented_(f"the {resource} resource is not built yet")
    parts = _segments(request.path_params.get("path", ""))
    if len(parts) > 4:
        raise SyntaxError_(f"expected /{resource}/{{agencyID}}/{{resourceID}}/{{version}}/{{itemID}}")
    parts += [None] * (4 - len(parts))
    query = checked(request, parse_structure_query(resource, *parts, request.query_params))
    return await structure_response(request, query, "v1")


async def schema(request: Request) -> Response:
    query = checked(request, parse_schema_query_v1(_segments(request.path_params["path"]), request.query_params))
    return await schema_response(request, query)


routes = [
    Route("/rest/data/{path:path}", data),
    Route("/rest/schema/{path:path}", schema),
    Route("/rest/{resource}", structure),
    Route("/rest/{resource}/{path:path}", structure),
]
