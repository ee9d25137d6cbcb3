"""The request's gate: `gate_of(request)` is what every route asks before it selects, reads or
writes anything (access/gate.py).

The principal is `request.user` (access/middleware.py sets it; ANONYMOUS when a request has
none, e.g. an app built without the middleware). Grants come from access/store.py
`current_grants`, cached per process. The gate is built once per request and kept in its
scope; building it costs nothing until it is asked.
"""

from __future__ import annotations

from starlette.requests import Request

from sdmx_server.access import store
from sdmx_server.access.gate import Gate
from sdmx_server.access.principal import ANONYMOUS, Principal

_KEY = "sdmx_gate"


def principal_of(request: Request) -> Principal:
    user = request.scope.get("user")
    return user if isinstance(user, Principal) else ANONYMOUS


def gate_of(request: Request) -> Gate:
    found = request.scope.get(_KEY)
    state = request.app.state.server
    registry = state.registry()
    if found is not None and found.registry is registry:
        return found
    principal = principal_of(request)
    gate = Gate.of(principal, store.current_grants(state.db), registry)
    request.scope[_KEY] = gate
    return gate
