"""Every request gets its principal: `request.user` (starlette's AuthenticationMiddleware).

- `Authorization: Bearer sdmx_...`: one of our API tokens (access/tokens.py);
- `Authorization: Bearer <JWT>`: the identity provider's, when OIDC is configured (access/oidc.py),
  refused when its user has the name of a local user (whose grants to user:NAME it would get);
- the portal's session cookie (`sdmx_session`), from POST /auth/login;
- none of these: ANONYMOUS, the public.

A credential that is present but wrong, expired or revoked is a 401 in the SDMX error format of
the request's API, with `WWW-Authenticate: Bearer`: never silently anonymous (a client would
otherwise get public answers and take them for its own). One exception: a stale session cookie
on /auth/ (login, logout, me) and the portal's sign-in pages is ignored, so a browser can always sign in again; elsewhere the
401 also clears the cookie.

A request authenticated by its session cookie that changes something (POST, PUT, PATCH,
DELETE) must carry the session's CSRF token in `X-CSRF-Token` (403 otherwise); /auth/ routes
and the portal's sign-in pages check it themselves (logout takes it from a form too). The token is `request.state.csrf_token`.
"""

from __future__ import annotations

import hmac

from starlette.authentication import AuthCredentials, AuthenticationBackend, AuthenticationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.responses import Response

from sdmx_server.access.oidc import JwtRejected, OidcVerifier
from sdmx_server.access.principal import ANONYMOUS, Principal
from sdmx_server.access.store import (
    CredentialRejected, cached_local_name, cached_session, cached_token, fetch_local_name, fetch_session, fetch_token,
    session_principal, token_principal,
)
from sdmx_server.access.tokens import PREFIX, parse_token
from sdmx_server.settings import Settings

SESSION_COOKIE = "sdmx_session"
CSRF_HEADER = "x-csrf-token"
#: RFC 6750's challenge for a credential that did not authenticate.
INVALID_TOKEN_CHALLENGE = 'Bearer realm="sdmx-server", error="invalid_token"'
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Paths whose routes handle stale cookies and CSRF themselves (api/auth.py).
AUTH_PREFIX = "/auth/"
#: The portal's sign-in and sign-out forms (portal/signin.py): like /auth/, they check their
#: own CSRF tokens (a form cannot send a header) and must answer a browser whose session expired.
SIGNIN_PAGES = frozenset({"/signin", "/en/signin", "/signout", "/en/signout"})


class Refused(AuthenticationError):
    def __init__(self, message: str, status: int = 401, clear_cookie: bool = False):
        super().__init__(message)
        self.status = status
        self.clear_cookie = clear_cookie


class AccessBackend(AuthenticationBackend):
    def __init__(self, settings: Settings):
        # A broken OIDC configuration fails the start, not the first request that carries a JWT.
        self.oidc = OidcVerifier(settings) if settings.oidc_jwks_file is not None else None

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, Principal]:
        principal = await self._principal(conn)
        return AuthCredentials(["authenticated"] if principal.is_authenticated else []), principal

    async def _principal(self, conn: HTTPConnection) -> Principal:
        authorization = conn.headers.get("authorization")
        if authorization is not None:
            scheme, _, credential = authorization.strip().partition(" ")
            credential = credential.strip()
            if scheme.lower() != "bearer" or not credential:
                raise Refused("send credentials as Authorization: Bearer TOKEN")
            return await self._bearer(conn, credential)
        cookie = conn.cookies.get(SESSION_COOKIE)
        if cookie:
            return await self._session(conn, cookie)
        return ANONYMOUS

    async def _bearer(self, conn: HTTPConnection, credential: str) -> Principal:
        db = conn.app.state.server.db
        if credential.startswith(PREFIX) or self.oidc is None:
            parsed = parse_token(credential)
            if parsed is None:
                raise Refused("the token is not valid")
            token_id, secret = parsed
            entry = cached_token(db, token_id) or await run_in_threadpool(fetch_token, db, token_id)
            try:
                return token_principal(entry, secret)
            except CredentialRejected as exc:
                raise Refused(str(exc)) from None
        try:
            verified = self.oidc.verify(credential)
        except JwtRejected as exc:
            raise Refused(str(exc)) from None
        local = cached_local_name(db, verified.name)
        if local is None:
            local = await run_in_threadpool(fetch_local_name, db, verified.name)
        if local:
            # Grants to user:NAME are the local user's, even a disabled one's: a name the
            # provider lets its users pick must not make them that user.
            raise Refused(f"the identity provider's user {verified.name} has the name of a local user of this "
                          "server; identity-provider names and local names must differ (ask an administrator)")
        jti = verified.claims.get("jti")
        return Principal(name=verified.name, groups=verified.groups, method="oidc",
                         credential=f"jwt:{jti}" if isinstance(jti, str) else None)

    async def _session(self, conn: HTTPConnection, cookie: str) -> Principal:
        db = conn.app.state.server.db
        on_auth = conn.url.path.startswith(AUTH_PREFIX) or conn.url.path in SIGNIN_PAGES
        entry = cached_session(db, cookie) or await run_in_threadpool(fetch_session, db, cookie)
        try:
            principal, csrf = session_principal(entry)
        except CredentialRejected as exc:
            if on_auth:
                return ANONYMOUS
            raise Refused(str(exc), clear_cookie=True) from None
        conn.scope.setdefault("state", {})["csrf_token"] = csrf
        if conn.scope.get("method") in UNSAFE_METHODS and not on_auth:
            sent = conn.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent.encode(), csrf.encode()):
                raise Refused(f"a change made with a session needs its CSRF token in {CSRF_HEADER}", status=403)
        return principal


def set_session_cookie(response: Response, value: str, max_age: int, secure: bool) -> None:
    response.set_cookie(SESSION_COOKIE, value, max_age=max_age, path="/", secure=secure, httponly=True,
                        samesite="strict")


def clear_session_cookie(response: Response, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="strict")
