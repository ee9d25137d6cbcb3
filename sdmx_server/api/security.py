"""Security headers on every answer, and CSRF protection for the forms of the portal and login.

Headers (added by api/http.py to every answer, errors and preflights included; a route that
sets one of them keeps its own):
- `X-Content-Type-Options: nosniff`: a browser never reads an SDMX-ML error as a page;
- `Referrer-Policy: no-referrer`: query URLs (keys, filters) do not leak to other sites;
- `X-Frame-Options: DENY` and CSP `frame-ancestors 'none'`: no page of the server in a frame;
- `Content-Security-Policy`: HTML pages load scripts, styles, images and forms from this server
  only (no inline script, no plugins, no `<base>`); other answers (data, structures) may load
  nothing at all, should a browser ever render one;
- `Strict-Transport-Security` when the request came over HTTPS.

CSRF (signed double submit): `csrf_token(request)` gives the token a form carries (in the field
`csrf_token`, or the header `X-CSRF-Token` for scripts) and `set_csrf_cookie(response, token)`
the cookie that goes with it. `require_csrf(request, form)` refuses (403) a POST/PUT/PATCH/
DELETE whose token is missing, differs from the cookie, is not signed by this server (so a
cookie planted by a sibling subdomain does not pass), or whose Origin is another site. A token
may be bound to the session (`binding=`): after a login, issue a new one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Send

from sdmx_server.errors import Forbidden
from sdmx_server.settings import Settings

CSP_HTML = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'")
CSP_OTHER = "default-src 'none'; frame-ancestors 'none'; sandbox"
HEADERS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
           (b"x-frame-options", b"DENY"))
HSTS = (b"strict-transport-security", b"max-age=31536000")

CSRF_COOKIE = "sdmx_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def secure_headers(headers: list[tuple[bytes, bytes]], https: bool) -> list[tuple[bytes, bytes]]:
    """`headers` (lower-case names) with the security headers a route did not set itself."""
    names = {name.lower() for name, _ in headers}
    added = [(n, v) for n, v in HEADERS if n not in names]
    if b"content-security-policy" not in names:
        content_type = next((v for n, v in headers if n == b"content-type"), b"")
        html = content_type.split(b";")[0].strip().lower() in (b"text/html", b"application/xhtml+xml")
        added.append((b"content-security-policy", (CSP_HTML if html else CSP_OTHER).encode()))
    if https and HSTS[0] not in names:
        added.append(HSTS)
    return headers + added


def secured(send: Send, https: bool) -> Send:
    """`send` adding the security headers to the start of every answer."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": secure_headers(list(message.get("headers", [])), https)}
        await send(message)

    return wrapped


# -- the server's secret -------------------------------------------------------------------------


def server_secret(settings: Settings) -> bytes:
    """The key that signs CSRF tokens: SDMX_SECRET_KEY, else a random key kept in
    data_dir/secret.key (made once, readable by the server's user only), so that every worker
    process and every restart signs alike."""
    configured = os.environ.get("SDMX_SECRET_KEY")
    if configured:
        return configured.encode()
    path = Path(settings.data_dir) / "secret.key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker made it first: use theirs
        return path.read_bytes()
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


def _secret(request: Request) -> bytes:
    state = request.app.state
    key = getattr(state, "csrf_secret", None)
    if key is None:
        key = state.csrf_secret = server_secret(state.server.settings)
    return key


# -- CSRF ----------------------------------------------------------------------------------------


def _sign(key: bytes, nonce: str, binding: str) -> str:
    return hmac.new(key, f"{nonce}|{binding}".encode(), hashlib.sha256).hexdigest()


def _valid(key: bytes, token: str, binding: str) -> bool:
    nonce, _, signature = token.partition(".")
    return bool(nonce and signature) and hmac.compare_digest(signature, _sign(key, nonce, binding))


def csrf_token(request: Request, binding: str = "") -> str:
    """The token for a form: the cookie's when it is valid, else a new one (set it with
    `set_csrf_cookie`)."""
    key = _secret(request)
    current = request.cookies.get(CSRF_COOKIE, "")
    if current and _valid(key, current, binding):
        return current
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_sign(key, nonce, binding)}"


def set_csrf_cookie(response: Response, token: str, request: Request | None = None) -> None:
    secure = request is not None and request.url.scheme == "https"
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/")


def require_csrf(request: Request, form=None, binding: str = "") -> None:
    """403 unless an unsafe request carries this server's token in its form (or header) and in
    its cookie, from this server's own origin. `form`: the parsed form, when the route read it."""
    if request.method not in UNSAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if origin and origin.rstrip("/") != str(request.base_url).rstrip("/"):
        raise Forbidden("the form was sent from another site")
    sent = request.headers.get(CSRF_HEADER) or (form.get(CSRF_FIELD) if form is not None else None) or ""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not sent or not cookie or not hmac.compare_digest(str(sent), cookie) \
            or not _valid(_secret(request), cookie, binding):
        raise Forbidden("the form's CSRF token is missing or stale: reload the page and send it again")
