"""`GET /openapi.json`: an OpenAPI 3.1 document of the server's routes, made from the app's own
routes, so that a route added anywhere appears in it.

The REST routes take whole paths (`/rest/data/{path:path}`) and split them themselves; OpenAPI
has no parameter holding '/', so `SHAPES` says which paths of the SDMX REST specifications each
such route answers, with their parameters. A route it does not know is described from the route
itself: its path parameters, its methods, its endpoint's docstring, and `endpoint.openapi` (a
dict merged into each of its operations) when the endpoint carries one. Path parameters are
named alike across routes (maintenance's `{type}` is the structure query's `{artefactType}`) so
that one path takes the GET of a query and the PUT and DELETE of maintenance.
"""

from __future__ import annotations

import inspect
import re

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from sdmx_server import __version__
from sdmx_server.kinds import BY_V1, BY_V2

#: Route parameter names as the SDMX REST specifications name them.
RENAMED = {"type": "artefactType", "agency": "agencyID", "id": "resourceID", "item": "itemID"}
#: Routes left out: the catch-all that answers 501 for what is not built, trailing-slash twins.
LEFT_OUT = ("/rest/v2/{path:path}",)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

_V1_RESOURCES = sorted(set(BY_V1) | {"structure"})
_V2_TYPES = sorted(set(BY_V2) | {"*"})


def _levels(prefix: str, names: list[str], least: int = 1) -> list[str]:
    """`prefix/{a}`, `prefix/{a}/{b}`, ... (each path a client may stop at)."""
    return [prefix + "".join(f"/{{{n}}}" for n in names[:k]) for k in range(least, len(names) + 1)]


#: Route path -> the OpenAPI paths it answers (see the module docstring).
SHAPES: dict[str, list[str]] = {
    "/rest/data/{path:path}": _levels("/rest/data", ["flowRef", "key", "providerRef"]),
    "/rest/schema/{path:path}": _levels("/rest/schema", ["context", "agencyID", "resourceID", "version"], 3),
    "/rest/{resource}/{path:path}": _levels("/rest/{resource}", ["agencyID", "resourceID", "version", "itemID"]),
    "/rest/availableconstraint/{path:path}": _levels(
        "/rest/availableconstraint", ["flowRef", "key", "providerRef", "componentID"]),
    "/rest/v2/structure/{path:path}": _levels(
        "/rest/v2/structure", ["artefactType", "agencyID", "resourceID", "version", "itemID"]),
    "/rest/v2/schema/{path:path}": _levels("/rest/v2/schema", ["context", "agencyID", "resourceID", "version"], 3),
    "/rest/v2/data/{path:path}": _levels("/rest/v2/data", ["context", "agencyID", "resourceID", "version", "key"]),
    "/rest/v2/availability/{path:path}": _levels(
        "/rest/v2/availability", ["context", "agencyID", "resourceID", "version", "key", "componentID"]),
    "/rest/v2/metadata/{path:path}": [
        *_levels("/rest/v2/metadata/metadataset", ["providerID", "metadatasetID", "version"]),
        *_levels("/rest/v2/metadata/structure", ["artefactType", "agencyID", "resourceID", "version"]),
        *_levels("/rest/v2/metadata/metadataflow", ["agencyID", "resourceID", "version", "providerID"]),
    ],
    "/rest/v2/data/dataflow/{agency}/{id}/{version}": ["/rest/v2/data/{context}/{agencyID}/{resourceID}/{version}"],
}

_STRING = {"type": "string"}
#: What each path parameter is (anything not named here: a string).
PATH_PARAMETERS: dict[str, dict] = {
    "resource": {"type": "string", "enum": _V1_RESOURCES},
    "artefactType": {"type": "string", "enum": _V2_TYPES},
    "context": {"type": "string", "examples": ["dataflow", "datastructure", "*"]},
    "flowRef": {"type": "string", "examples": ["SSO,DF_CPI,1.0", "DF_CPI"]},
    "key": {"type": "string", "examples": ["M.IR-23.F", "all", "*"]},
    "agencyID": {"type": "string", "examples": ["SSO", "all", "*"]},
    "resourceID": {"type": "string", "examples": ["CL_AREA", "all", "*"]},
    "version": {"type": "string", "examples": ["1.0", "latest", "~", "*"]},
}
_DATA_V1 = ("startPeriod", "endPeriod", "updatedAfter", "firstNObservations", "lastNObservations",
            "dimensionAtObservation", "detail", "includeHistory")
_DATA_V2 = ("updatedAfter", "firstNObservations", "lastNObservations", "dimensionAtObservation", "attributes",
            "measures", "includeHistory", "asOf", "offset", "limit", "sort", "reportingYearStartDay")
#: Query parameters by path prefix (the first that matches).
QUERY_PARAMETERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("/rest/data", "GET", _DATA_V1),
    ("/rest/availableconstraint", "GET", ("startPeriod", "endPeriod", "mode", "references")),
    ("/rest/schema", "GET", ("dimensionAtObservation", "explicitMeasure")),
    ("/rest/v2/data", "GET", _DATA_V2),
    ("/rest/v2/data", "POST", ("action", "dryRun", "releaseAt")),
    ("/rest/v2/availability", "GET", ("mode", "references", "updatedAfter")),
    ("/rest/v2/schema", "GET", ("dimensionAtObservation", "explicitMeasure", "deletion", "asOf")),
    ("/rest/v2/structure", "GET", ("detail", "references", "asOf")),
    ("/rest/v2/metadata", "GET", ("detail", "asOf")),
    ("/rest/", "GET", ("detail", "references")),
)
_SDMX_ERROR = {"description": "an SDMX error message (SDMX-ML or SDMX-JSON, as the API version and Accept say)",
               "content": {"application/xml": {"schema": {}}, "application/json": {"schema": {}}}}
_ANY_ANSWER = {"description": "the answer, in the negotiated format", "content": {"*/*": {"schema": {}}}}
_BODY = {"required": True, "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}


def document(routes) -> dict:
    """The OpenAPI document of `routes` (the app's)."""
    paths: dict[str, dict] = {}
    for route, path in _flatten(routes):
        if path in LEFT_OUT or (path.endswith("/") and path != "/"):
            continue
        for shape in SHAPES.get(path) or [_openapi_path(path)]:
            for method in sorted(set(route.methods or ("GET",)) & set(METHODS)):
                item = paths.setdefault(shape, {})
                item.setdefault(method.lower(), _operation(route, shape, method))
    return {
        "openapi": "3.1.0",
        "info": {"title": "sdmx-server", "version": __version__,
                 "description": "SDMX REST v1 (1.5.0) under /rest/ and v2 (2.2.2) under /rest/v2/; "
                                "errors are SDMX error messages."},
        "paths": dict(sorted(paths.items())),
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def _flatten(routes, prefix: str = ""):
    for route in routes:
        if isinstance(route, Route):
            yield route, prefix + route.path
        elif isinstance(route, Mount):
            if getattr(route, "routes", None):
                yield from _flatten(route.routes, prefix + route.path)


def _openapi_path(path: str) -> str:
    path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: "{" + RENAMED.get(m[1], m[1]) + "}", path)
    return path or "/"


def _operation(route: Route, shape: str, method: str) -> dict:
    names = re.findall(r"\{(\w+)\}", shape)
    parameters = [{"name": n, "in": "path", "required": True, "schema": _path_schema(n, shape, method)}
                  for n in names]
    for prefix, verb, query in QUERY_PARAMETERS:
        if shape.startswith(prefix) and method == verb:
            parameters += [{"name": q, "in": "query", "required": False, "schema": _STRING} for q in query]
            break
    endpoint = route.endpoint
    doc = inspect.getdoc(endpoint) or ""
    operation: dict = {
        "operationId": f"{method.lower()}{re.sub(r'[^A-Za-z0-9]+', '_', shape)}",
        "summary": doc.splitlines()[0] if doc else f"{method} {shape}",
        "parameters": parameters,
        "responses": {"200": _ANY_ANSWER, "default": _SDMX_ERROR},
    }
    if method in ("POST", "PUT", "PATCH"):
        operation["requestBody"] = _BODY
    extra = getattr(endpoint, "openapi", None)
    if isinstance(extra, dict):
        operation.update(extra)
    return operation


def _path_schema(name: str, shape: str, method: str) -> dict:
    if name == "context" and method == "POST" and shape.startswith("/rest/v2/data/"):
        return {"type": "string", "enum": ["dataflow"]}  # uploads are to a dataflow
    return PATH_PARAMETERS.get(name, _STRING)


async def openapi(request: Request) -> JSONResponse:
    """The OpenAPI document of this server."""
    return JSONResponse(document(request.app.routes), headers={"Cache-Control": "no-cache"})


routes = [Route("/openapi.json", openapi)]
