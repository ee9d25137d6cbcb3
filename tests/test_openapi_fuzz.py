"""`/openapi.json` and schemathesis against it.

The document is valid OpenAPI 3.1 (the meta-schema schemathesis bundles, checked with
jsonschema), names every route of the app (a route added later appears by itself), and
schemathesis, generating requests from it against a real server holding structures and data,
finds no 500 and no hang: every operation, a bounded number of examples each.
"""

from __future__ import annotations

import time

import httpx
import jsonschema
import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sdmx_server.api.openapi import LEFT_OUT, SHAPES, _openapi_path, document
from tests.conftest import serving_content

#: Examples per operation: about 60 operations stay within a minute or so.
EXAMPLES = 12
#: The slowest answer allowed to any generated request (a hang fails long before the test's end).
SLOWEST_SECONDS = 10.0


def openapi_validator() -> jsonschema.Draft202012Validator:
    from schemathesis.specs.openapi.definitions import OPENAPI_31

    return jsonschema.Draft202012Validator(OPENAPI_31)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serving_content("sqlite", tmp_path_factory.mktemp("openapi")) as running:
        yield running


def test_the_document_is_valid_openapi_and_names_every_route(server):
    from sdmx_server.api.app import create_app

    response = httpx.get(f"{server.url}/openapi.json")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    doc = response.json()
    errors = [e.message for e in openapi_validator().iter_errors(doc)]
    assert not errors, errors[:5]
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for route in create_app(server.settings).routes:
        if route.path in LEFT_OUT or route.path.endswith("/") and route.path != "/":
            continue
        shapes = SHAPES.get(route.path) or [_openapi_path(route.path)]
        for method in set(getattr(route, "methods", None) or ()) - {"HEAD"}:
            for shape in shapes:
                assert method.lower() in paths.get(shape, {}), (route.path, method, shape)
    # The forms the SDMX specifications name, with their parameters.
    data = paths["/rest/v2/data/{context}/{agencyID}/{resourceID}/{version}/{key}"]["get"]
    assert [p["name"] for p in data["parameters"] if p["in"] == "path"] == [
        "context", "agencyID", "resourceID", "version", "key"]
    assert {"updatedAfter", "lastNObservations", "asOf"} <= {p["name"] for p in data["parameters"]}
    maintenance = paths["/rest/v2/structure/{artefactType}/{agencyID}/{resourceID}/{version}"]
    assert {"get", "put", "delete"} <= set(maintenance) and "requestBody" in maintenance["put"]
    assert set(paths["/rest/v2/data/{context}/{agencyID}/{resourceID}/{version}"]) == {"get", "post"}
    assert "/rest/v2/{path}" not in paths  # the 501 catch-all is no operation


def test_a_route_added_later_appears_with_its_own_description():
    async def users(request: Request) -> JSONResponse:
        """The users of the server (admin only)."""
        return JSONResponse([])

    users.openapi = {"security": [{"bearer": []}]}  # type: ignore[attr-defined]
    doc = document([Route("/admin/api/users/{name}", users, methods=["GET", "DELETE"]),
                    Route("/auth/login", users, methods=["POST"])])
    assert set(doc["paths"]) == {"/admin/api/users/{name}", "/auth/login"}
    get = doc["paths"]["/admin/api/users/{name}"]["get"]
    assert get["summary"] == "The users of the server (admin only)." and get["security"] == [{"bearer": []}]
    assert get["parameters"] == [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
    assert "requestBody" in doc["paths"]["/auth/login"]["post"]
    assert not list(openapi_validator().iter_errors(doc))


def test_schemathesis_finds_no_server_error_and_no_hang(server):
    import schemathesis

    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    failures: list[str] = []
    slowest = [0.0, ""]
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @hypothesis_settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                             phases=[Phase.explicit, Phase.generate],
                             suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case) -> None:
            started = time.monotonic()
            try:
                response = case.call(base_url=server.url, timeout=SLOWEST_SECONDS)
            except Exception as exc:  # noqa: BLE001 - a timeout or a dropped connection is a finding
                failures.append(f"{case.method} {case.formatted_path}: {type(exc).__name__}: {exc}")
                return
            took = time.monotonic() - started
            if took > slowest[0]:
                slowest[:] = [took, f"{case.method} {response.request.url}"]
            if response.status_code >= 500 and response.status_code != 501:
                failures.append(f"{case.method} {response.request.url}: {response.status_code} {response.text[:200]}")

        check()
    assert operations >= 50, operations
    assert not failures, failures[:10]
    assert slowest[0] < SLOWEST_SECONDS, slowest
    assert httpx.get(f"{server.url}/health").status_code == 200
