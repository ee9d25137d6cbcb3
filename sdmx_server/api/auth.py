"""Portal sign-in: POST /auth/login, POST /auth/logout, GET /auth/me.

Login takes JSON (`{"name": ..., "password": ...}`) or an HTML form, sets the session cookie
(HttpOnly, SameSite=Strict, Secure over https) and answers who signed in with the session's
CSRF token, which every change made with the cookie must send back (access/middleware.py).
Failed attempts are throttled per name and client address, and per address over all names
(api/limits.py LoginThrottle: waits that double; 429 with Retry-After). A wrong name and a
wrong password are the same 401.

`refused` is the AuthenticationMiddleware's error answer: 401 (with the RFC 6750 challenge) or
403 in the SDMX error format of the request's API; a portal page asked for with a session
cookie that has expired or was revoked sends the browser to the sign-in form instead (303,
the cookie cleared), so a person is never shown an SDMX error for it.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from urllib.parse import parse_qsl

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from sdmx_server.access import audit
from sdmx_server.access.accounts import check_password, close_session, open_session
from sdmx_server.access.middleware import (
    CSRF_HEADER, INVALID_TOKEN_CHALLENGE, SESSION_COOKIE, clear_session_cookie, set_session_cookie,
)
from sdmx_server.access.principal import Principal
from sdmx_server.access.store import forget_credentials
from sdmx_server.api.access import address_of as client_address, is_admin
from sdmx_server.api.errors import error_response
from sdmx_server.api.limits import login_throttle
from sdmx_server.errors import Forbidden, PayloadTooLarge, SyntaxError_, Unauthorized

#: Largest body of a login or logout.
MAX_FORM_BYTES = 16 * 1024


def refused(conn: HTTPConnection, exc: Exception) -> Response:
    status = getattr(exc, "status", 401)
    if status == 401 and getattr(exc, "clear_cookie", False) and conn.scope.get("method") in ("GET", "HEAD"):
        from sdmx_server.portal.routes import is_page, signin_after_expiry

        if is_page(conn.scope):  # a person's browser whose session ended: the sign-in form, not an SDMX error
            response = RedirectResponse(signin_after_expiry(conn), status_code=303, headers={"Cache-Control": "no-store"})
            clear_session_cookie(response, conn.url.scheme == "https")
            return response
    error = Unauthorized(str(exc)) if status == 401 else Forbidden(str(exc))
    response = error_response(conn, error)  # type: ignore[arg-type]
    if status == 401:
        response.headers["WWW-Authenticate"] = INVALID_TOKEN_CHALLENGE
    if getattr(exc, "clear_cookie", False):
        clear_session_cookie(response, conn.url.scheme == "https")
    return response


async def read_small_body(request: Request, limit: int) -> bytes:
    """The whole body of a small request (a form, a JSON object); 413 beyond `limit` bytes."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"the body is larger than {limit} bytes")
    return body


async def read_fields(request: Request) -> dict[str, str]:
    """The body as fields: JSON object or an urlencoded form (a login needs no multipart)."""
    body = await read_small_body(request, MAX_FORM_BYTES)
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if not body:
        return {}
    if content_type == "application/x-www-form-urlencoded":
        try:
            return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise SyntaxError_("the form is not UTF-8") from None
    try:
        fields = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise SyntaxError_("send a JSON object or an application/x-www-form-urlencoded form") from None
    if not isinstance(fields, dict):
        raise SyntaxError_("send a JSON object")
    return {k: v for k, v in fields.items() if isinstance(v, str)}


def _who(request: Request, principal: Principal, csrf: str | None) -> dict:
    return {"authenticated": principal.is_authenticated, "name": principal.name,
            "display_name": principal.display_name, "groups": sorted(principal.groups),
            "method": principal.method, "is_admin": is_admin(request, principal), "csrf_token": csrf}


@dataclass(frozen=True)
class SignedIn:
    principal: Principal
    display_name: str
    #: the session cookie's value, its lifetime (seconds) and its row (CSRF token, expiry)
    cookie: str
    lifetime: int
    session: object


async def sign_in(request: Request, name: str, password: str) -> SignedIn:
    """Check a name and password and open a session: the one path of POST /auth/login and the
    portal's sign-in form. Throttled (429 with Retry-After while failures make it wait); a
    wrong name and a wrong password are the same 401; both outcomes are audited."""
    address = client_address(request) or "unknown"
    throttle = login_throttle(request)
    throttle.check(name, address)  # 429 with Retry-After while failures make it wait
    state = request.app.state.server
    user = await run_in_threadpool(check_password, state.db, name, password)
    if user is None:
        throttle.failed(name, address)
        await run_in_threadpool(audit.record, state.db, actor=Principal(), action="session.login",
                                target=f"user:{name[:100]}", outcome="denied", address=address)
        raise Unauthorized("wrong name or password")
    throttle.succeeded(name, address)
    lifetime = state.settings.session_seconds
    value, row = await run_in_threadpool(open_session, state.db, user.name, lifetime, address)
    principal = Principal(name=user.name, groups=frozenset(user.groups), method="session")
    await run_in_threadpool(audit.record, state.db, actor=principal, action="session.login",
                            target=f"user:{user.name}", outcome="ok", address=address)
    return SignedIn(principal, user.display_name, value, lifetime, row)


def _from_another_site(request: Request) -> bool:
    """A browser's request sent by another site's page (its Origin, or Sec-Fetch-Site): a form
    there must not sign a visitor in under an account of its choosing (login CSRF)."""
    origin = request.headers.get("origin")
    if origin is not None:
        return origin == "null" or origin.rstrip("/") != str(request.base_url).rstrip("/")
    return request.headers.get("sec-fetch-site") == "cross-site"


async def login(request: Request) -> Response:
    if _from_another_site(request):
        raise Forbidden("a sign-in sent by another site's page is refused")
    fields = await read_fields(request)
    name, password = fields.get("name", ""), fields.get("password", "")
    if not name or not password:
        raise SyntaxError_("send name and password")
    signed = await sign_in(request, name, password)
    answer = {**await run_in_threadpool(_who, request, signed.principal, signed.session.csrf_token),
              "display_name": signed.display_name, "expires_at": signed.session.expires_at}
    response = JSONResponse(answer, headers={"Cache-Control": "no-store"})
    set_session_cookie(response, signed.cookie, signed.lifetime, request.url.scheme == "https")
    return response


def csrf_of(request: Request) -> str | None:
    """The CSRF token of the request's session (None without a live session cookie)."""
    return request.scope.get("state", {}).get("csrf_token")


async def sign_out(request: Request, sent: str) -> None:
    """End the session of the request's cookie when `sent` is its CSRF token (403 otherwise);
    without a live session there is nothing to end. The caller clears the cookie."""
    cookie = request.cookies.get(SESSION_COOKIE)
    csrf = csrf_of(request)
    principal: Principal = request.user
    if cookie and csrf and principal.method == "session":
        if not hmac.compare_digest(sent.encode(), csrf.encode()):
            raise Forbidden(f"signing out needs the session's CSRF token ({CSRF_HEADER} or a csrf_token field)")
        db = request.app.state.server.db
        await run_in_threadpool(close_session, db, cookie)
        forget_credentials()
        await run_in_threadpool(audit.record, db, actor=principal, action="session.logout",
                                target=principal.identity, outcome="ok", address=client_address(request))


async def logout(request: Request) -> Response:
    """Ends the session of the cookie (its CSRF token in X-CSRF-Token or a csrf_token field);
    without a live session it only clears the cookie."""
    sent = ""
    if csrf_of(request) and request.user.method == "session":
        sent = request.headers.get(CSRF_HEADER) or (await read_fields(request)).get("csrf_token", "")
    await sign_out(request, sent)
    response = JSONResponse({"signed_out": True}, headers={"Cache-Control": "no-store"})
    clear_session_cookie(response, request.url.scheme == "https")
    return response


async def me(request: Request) -> Response:
    principal: Principal = request.user
    csrf = request.scope.get("state", {}).get("csrf_token") if principal.method == "session" else None
    answer = await run_in_threadpool(_who, request, principal, csrf)
    return JSONResponse(answer, headers={"Cache-Control": "no-store", "Vary": "Authorization, Cookie"})


routes = [
    Route("/auth/login", login, methods=["POST"]),
    Route("/auth/logout", logout, methods=["POST"]),
    Route("/auth/me", me, methods=["GET"]),
]
