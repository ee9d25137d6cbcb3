"""Limits on what one request and one client may ask of the server: bodies, rates, logins.

`LimitsMiddleware` (inside api/http.py's middleware, and inside the authentication middleware so
that `scope["user"]` names the principal):
- rate limit: a token bucket per consumer, `rate_limit_per_second` with bursts up to
  `rate_limit_burst`; over it, 429 with `Retry-After`. The consumer is the token (or the user) of
  an authenticated request, else the client's address, so that clients behind one address with
  their own tokens do not share a bucket. Clients on this machine are not limited unless
  `rate_limit_loopback` (tests and local tools). The buckets live in the server process: with
  `serve --workers N` a client may get up to N times the rate. Behind a reverse proxy, run
  uvicorn with --forwarded-allow-ips so that the address is the client's, not the proxy's.
- body limit: every route that reads a body gets at most its limit (`BODY_LIMITS` by path,
  `max_body_bytes` for any other route, forms and admin JSON included): a declared
  Content-Length over it is a 413 before the route runs, a body that grows past it a 413 as
  soon as it does (counted on the wire; the upload route counts decompressed bytes too).

`LoginThrottle` (for the login and token checks of access/): failed attempts per account and
address, and per address over all accounts; after `login_free_attempts` failures each further
attempt must wait, the wait doubling up to `login_max_delay_seconds`; a success clears the
account's count. `login_throttle(request)` gives the process's instance.

Header size, head time and slow bodies are limited per connection by api/protocol.py; query
complexity by query/limits.py.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from dataclasses import dataclass

from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sdmx_server.api.errors import error_response
from sdmx_server.errors import PayloadTooLarge, SdmxError, TooManyRequests
from sdmx_server.query.limits import check_query
from sdmx_server.settings import Settings

#: Routes whose bodies have a limit of their own (a Settings field), by path prefix and method.
BODY_LIMITS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("/rest/v2/data/", ("POST",), "max_load_bytes"),  # data uploads (api/upload.py)
    ("/rest/v2/structure", ("POST", "PUT"), "max_structure_bytes"),  # maintenance (api/maintenance.py)
)
#: Buckets kept at most; past it, the full ones (clients that went quiet) are forgotten.
MAX_BUCKETS = 100_000


def body_limit(settings: Settings, method: str, path: str) -> int:
    for prefix, methods, name in BODY_LIMITS:
        if method in methods and path.startswith(prefix):
            return int(getattr(settings, name))
    return settings.max_body_bytes


def checked(request: Request, query):
    """The parsed query, once within the server's complexity limits (query/limits.py; else 400)."""
    check_query(query, request.app.state.server.settings)
    return query


def is_loopback(host: str | None) -> bool:
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return host == "localhost"


def consumer_of(scope: Scope) -> str:
    """Whose bucket a request draws from: the token or user of an authenticated principal
    (access/principal.py), else the client's address."""
    user = scope.get("user")
    if user is not None and getattr(user, "is_authenticated", False):
        credential = getattr(user, "credential", None)
        if getattr(user, "method", None) == "token" and credential:
            return f"token:{credential}"
        return getattr(user, "identity", None) or f"user:{getattr(user, 'display_name', '?')}"
    client = scope.get("client")
    return f"address:{client[0] if client else '?'}"


class TokenBuckets:
    """A token bucket per key: `rate` tokens a second, at most `burst` held. Thread-safe (the
    middleware runs on the event loop, but the login throttle may be called from threads)."""

    def __init__(self, rate: float, burst: int, clock=time.monotonic):
        self.rate = rate
        self.burst = max(1, burst)
        self.clock = clock
        self.buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)
        self.lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token; 0.0 when there was one, else the seconds until there is."""
        now = self.clock()
        with self.lock:
            tokens, when = self.buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - when) * self.rate)
            if tokens >= 1.0:
                self.buckets[key] = (tokens - 1.0, now)
                if len(self.buckets) > MAX_BUCKETS:
                    self._forget_full(now)
                return 0.0
            self.buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        full = [k for k, (t, w) in self.buckets.items() if t + (now - w) * self.rate >= self.burst]
        for key in full:
            del self.buckets[key]


def too_many(wait: float, what: str = "requests") -> TooManyRequests:
    seconds = max(1, math.ceil(wait))
    return TooManyRequests(f"too many {what} from this client; try again in {seconds} s", seconds)


class LimitsMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.settings = settings
        rate = settings.rate_limit_per_second
        self.buckets = TokenBuckets(rate, settings.rate_limit_burst) if rate > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(self.settings, scope["method"], scope["path"])
        error = self._refusal(scope, limit)
        if error is not None:
            request = Request(scope)
            response = error_response(request, error)
            if scope["method"] == "HEAD":
                response.body = b""
            await response(scope, receive, send)
            return
        try:
            await self.app(scope, _counted(receive, limit), send)
        except ClientDisconnect:  # the client went away mid-body (or was cut off): no one to answer
            return

    def _refusal(self, scope: Scope, limit: int) -> SdmxError | None:
        if self.buckets is not None:
            client = scope.get("client")
            if self.settings.rate_limit_loopback or not is_loopback(client[0] if client else None):
                wait = self.buckets.take(consumer_of(scope))
                if wait:
                    return too_many(wait)
        declared = next((v for k, v in scope.get("headers", []) if k == b"content-length"), None)
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            return PayloadTooLarge(f"the body ({int(declared):,} bytes) is larger than the limit of {limit:,} "
                                   "bytes of this route")
        return None


def _counted(receive: Receive, limit: int) -> Receive:
    """`receive` that raises 413 (through the route's error handling) once the body passes `limit`."""
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise PayloadTooLarge(f"the body is larger than the limit of {limit:,} bytes of this route")
        return message

    return counted


# -- login throttling ----------------------------------------------------------------------------


@dataclass
class _Failures:
    count: int = 0
    not_before: float = 0.0


class LoginThrottle:
    """Failed logins per (account, address) and per address; see the module docstring.

    The login route calls `check(account, address)` before it verifies a password (a 429 with
    Retry-After while a wait is due), then `failed(...)` or `succeeded(...)`."""

    #: An address may fail this many times more over all accounts than on one (password spraying).
    SPRAY_FACTOR = 4

    def __init__(self, settings: Settings, clock=time.monotonic):
        self.free = max(0, settings.login_free_attempts)
        self.delay = settings.login_delay_seconds
        self.max_delay = settings.login_max_delay_seconds
        self.clock = clock
        self.failures: dict[tuple[str, str], _Failures] = {}
        self.lock = threading.Lock()

    def _keys(self, account: str, address: str | None) -> tuple[tuple[str, str], tuple[str, str]]:
        return (account.casefold(), address or "?"), ("*", address or "?")

    def wait(self, account: str, address: str | None) -> float:
        """Seconds before the next attempt on `account` from `address` is heard (0: now)."""
        now = self.clock()
        with self.lock:
            return max([0.0, *(f.not_before - now for f in map(self.failures.get, self._keys(account, address)) if f)])

    def check(self, account: str, address: str | None) -> None:
        wait = self.wait(account, address)
        if wait > 0:
            raise too_many(wait, "failed logins")

    def failed(self, account: str, address: str | None) -> None:
        now = self.clock()
        with self.lock:
            for key, free in zip(self._keys(account, address), (self.free, self.free * self.SPRAY_FACTOR)):
                record = self.failures.setdefault(key, _Failures())
                record.count += 1
                if record.count > free:
                    delay = min(self.max_delay, self.delay * 2 ** (record.count - free - 1))
                    record.not_before = now + delay
            if len(self.failures) > MAX_BUCKETS:
                for key in [k for k, f in self.failures.items() if f.not_before + self.max_delay < now]:
                    del self.failures[key]

    def succeeded(self, account: str, address: str | None) -> None:
        with self.lock:
            self.failures.pop(self._keys(account, address)[0], None)


_THROTTLE_LOCK = threading.Lock()


def login_throttle(request: Request) -> LoginThrottle:
    """The server process's LoginThrottle (made on first use, from the server's settings)."""
    state = request.app.state
    with _THROTTLE_LOCK:
        throttle = getattr(state, "login_throttle", None)
        if throttle is None:
            throttle = state.login_throttle = LoginThrottle(state.server.settings)
    return throttle
