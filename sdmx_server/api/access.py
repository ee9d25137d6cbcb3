"""The request's gate: `gate_of(request)` is what every route asks before it selects, reads or
writes anything (access/gate.py).

The principal is `request.user` (access/middleware.py sets it; ANONYMOUS when a request has
none, e.g. an app built without the middleware). Grants come from access/store.py
`current_grants`, cached per process. The gate is built once per request and kept in its
scope; building it costs nothing until it is asked.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection, Request

from sdmx_server.access import store
from sdmx_server.access.gate import Gate
from sdmx_server.access.principal import ANONYMOUS, Principal
from sdmx_server.access.rules import Permissions
from sdmx_server.errors import Forbidden, Unauthorized

_KEY = "sdmx_gate"


def principal_of(request: HTTPConnection) -> Principal:
    user = request.scope.get("user")
    return user if isinstance(user, Principal) else ANONYMOUS


def address_of(request: HTTPConnection) -> str | None:
    """The client's address, as the audit trail and the throttles name it."""
    return request.client.host if request.client else None


def is_admin(request: HTTPConnection, principal: Principal) -> bool:
    if not principal.is_authenticated:
        return False
    return Permissions(principal, store.current_grants(request.app.state.server.db)).is_admin


def require_admin(request: HTTPConnection, what: str) -> Principal:
    """The administrator asking, or 401 (anonymous) / 403 (anyone else); `what` names the API."""
    principal = principal_of(request)
    if not principal.is_authenticated:
        raise Unauthorized(f"{what} needs an administrator's credentials")
    if not is_admin(request, principal):
        raise Forbidden(f"{what} is for administrators")
    return principal


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
