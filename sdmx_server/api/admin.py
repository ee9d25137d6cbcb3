"""The admin HTTP API under /admin/api/: users, tokens and grants (admins only).

    GET   /admin/api/users                 POST /admin/api/users {name, display_name?, groups?, password?}
    PATCH /admin/api/users/{name}          {display_name?, groups?, disabled?, password?}
    GET   /admin/api/tokens[?user=NAME]    POST /admin/api/tokens {user, expires?, description?}
    DELETE /admin/api/tokens/{id}          (revokes; the row stays, listed as revoked)
    GET   /admin/api/grants                POST /admin/api/grants {subject, action, scope, where?}
    DELETE /admin/api/grants/{id}

Anonymous: 401; signed in but not an administrator: 403. A new token is in the answer to its
POST and nowhere else, ever. Every change (and every refused change) is audited with the admin
as actor. `where` is {"DIM": ["CODE", ...]} or ["DIM=CODE+CODE", ...], as the CLI's --where.
"""

from __future__ import annotations

from typing import Callable

import orjson

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sdmx_server.access import audit
from sdmx_server.access.accounts import AccountError, add_user, list_users, update_user
from sdmx_server.access.grants import add_grant, grant_json, list_grant_rows, revoke_grant
from sdmx_server.access.principal import Principal
from sdmx_server.access.rules import Grant, GrantError, Scope, parse_subject, parse_where
from sdmx_server.access.store import forget_credentials, forget_grants
from sdmx_server.access.tokens import TokenError, create_token, list_tokens, parse_duration, revoke_tokens, token_json
from sdmx_server.api.access import address_of as client_address, require_admin
from sdmx_server.api.auth import read_small_body
from sdmx_server.errors import NoResults, SdmxError, SyntaxError_, Unprocessable


MAX_BODY_BYTES = 64 * 1024


class Conflict(SdmxError):
    code, status, title = 409, 409, "Conflict"


def _admin(request: Request) -> Principal:
    return require_admin(request, "the admin API")


async def _body(request: Request) -> dict:
    body = await read_small_body(request, MAX_BODY_BYTES)
    try:
        fields = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        raise SyntaxError_("the body is not JSON") from None
    if not isinstance(fields, dict):
        raise SyntaxError_("send a JSON object")
    return fields


def _field(fields: dict, name: str, kind: type, required: bool = False):
    value = fields.get(name)
    if value is None:
        if required:
            raise Unprocessable(f"{name} is required")
        return None
    if kind is list and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise Unprocessable(f"{name} must be a list of strings")
    if kind is not list and not isinstance(value, kind):
        raise Unprocessable(f"{name} must be a {kind.__name__}")
    return value


def _sdmx_error(exc: Exception) -> SdmxError:
    status = getattr(exc, "status", 422)
    if status == 404:
        return NoResults(str(exc))
    if status == 409:
        return Conflict(str(exc))
    return Unprocessable(str(exc))


async def _change(request: Request, actor: Principal, action: str, target: str, work: Callable, details: dict,
                  outcome: Callable = lambda result: "ok"):
    """Run one change off the event loop; audit it whatever its outcome; raise its SDMX error."""
    db = request.app.state.server.db
    try:
        result = await run_in_threadpool(work)
    except (AccountError, TokenError, GrantError, ValueError) as exc:
        await run_in_threadpool(audit.record, db, actor=actor, action=action, target=target, outcome="rejected",
                                address=client_address(request), details={**details, "error": str(exc)})
        raise _sdmx_error(exc) from None
    await run_in_threadpool(audit.record, db, actor=actor, action=action, target=target, outcome=outcome(result),
                            address=client_address(request), details=details)
    return result


def _json(body, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


# -- users -------------------------------------------------------------------------------------


async def users(request: Request) -> Response:
    actor = _admin(request)
    db = request.app.state.server.db
    if request.method == "GET":
        return _json({"users": [u.as_json() for u in await run_in_threadpool(list_users, db)]})
    fields = await _body(request)
    name = _field(fields, "name", str, required=True)
    groups = _field(fields, "groups", list) or []
    user = await _change(request, actor, "user.add", f"user:{name}", lambda: add_user(
        db, name, display_name=_field(fields, "display_name", str) or "", groups=groups,
        password=_field(fields, "password", str)), {"groups": groups})
    return _json(user.as_json(), 201)


async def user(request: Request) -> Response:
    actor = _admin(request)
    db = request.app.state.server.db
    name = request.path_params["name"]
    fields = await _body(request)
    changes = {k: _field(fields, k, kind) for k, kind in
               (("display_name", str), ("groups", list), ("disabled", bool), ("password", str))}
    details = {k: v for k, v in changes.items() if v is not None and k != "password"}
    if changes["password"] is not None:
        details["password"] = "changed"
    updated = await _change(request, actor, "user.update", f"user:{name}",
                            lambda: update_user(db, name, **changes), details)
    forget_credentials()
    return _json(updated.as_json())


# -- tokens ------------------------------------------------------------------------------------


async def tokens(request: Request) -> Response:
    actor = _admin(request)
    db = request.app.state.server.db
    if request.method == "GET":
        rows = await run_in_threadpool(list_tokens, db, request.query_params.get("user"))
        return _json({"tokens": [token_json(r) for r in rows]})
    fields = await _body(request)
    owner = _field(fields, "user", str, required=True)
    expires = _field(fields, "expires", str)
    description = _field(fields, "description", str) or ""

    def work():
        seconds = parse_duration(expires) if expires else None
        return create_token(db, owner, expires_in=seconds, description=description, created_by=actor.identity)

    text, row = await _change(request, actor, "token.create", f"user:{owner}", work,
                              {"expires": expires, "description": description})
    return _json({**token_json(row), "token": text}, 201)


async def token(request: Request) -> Response:
    actor = _admin(request)
    db = request.app.state.server.db
    token_id = request.path_params["id"]

    def work():
        revoked = revoke_tokens(db, [token_id])
        if not revoked:
            raise AccountError(f"no token {token_id} to revoke (unknown or revoked already)", 404)
        return revoked

    revoked = await _change(request, actor, "token.revoke", f"token {token_id}", work, {})
    forget_credentials()
    return _json({"revoked": revoked})


# -- grants ------------------------------------------------------------------------------------


def _where_terms(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        terms = []
        for dim, codes in value.items():
            codes = [codes] if isinstance(codes, str) else codes
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                raise Unprocessable(f"where {dim}: a list of codes")
            terms.append(f"{dim}={'+'.join(codes)}")
        return terms
    raise Unprocessable('where: {"DIM": ["CODE", ...]} or ["DIM=CODE+CODE", ...]')


async def grants(request: Request) -> Response:
    actor = _admin(request)
    db = request.app.state.server.db
    if request.method == "GET":
        return _json({"grants": [grant_json(r) for r in await run_in_threadpool(list_grant_rows, db)]})
    fields = await _body(request)
    subject, action, scope = (_field(fields, k, str, required=True) for k in ("subject", "action", "scope"))
    terms = _where_terms(fields.get("where"))
    rule = f"{subject} {action} {scope}" + "".join(f" --where {t}" for t in terms)

    def work():
        grant = Grant(parse_subject(subject), action, Scope.parse(scope), parse_where(terms))
        return add_grant(db, grant, actor.identity)

    row, created = await _change(request, actor, "grant.add", rule, work, {},
                                 outcome=lambda result: "ok" if result[1] else "unchanged")
    forget_grants(db)
    return _json({**grant_json(row), "created": created}, 201 if created else 200)


async def grant(request: Request) -> Response:
    actor = _admin(request)
    db = request.app.state.server.db
    grant_id = request.path_params["id"]
    row = await run_in_threadpool(revoke_grant, db, None, grant_id)
    if row is None:
        raise NoResults(f"no grant {grant_id}")
    forget_grants(db)
    body = grant_json(row)
    await run_in_threadpool(audit.record, db, actor=actor, action="grant.revoke", target=body["rule"],
                            outcome="ok", address=client_address(request), details={"id": grant_id})
    return _json({"revoked": body})


routes = [
    Route("/admin/api/users", users, methods=["GET", "POST"]),
    Route("/admin/api/users/{name}", user, methods=["PATCH"]),
    Route("/admin/api/tokens", tokens, methods=["GET", "POST"]),
    Route("/admin/api/tokens/{id:int}", token, methods=["DELETE"]),
    Route("/admin/api/grants", grants, methods=["GET", "POST"]),
    Route("/admin/api/grants/{id:int}", grant, methods=["DELETE"]),
]
