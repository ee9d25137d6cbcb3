"""Every request observed once: its id, its time, the bytes of its answer, and who is told.

The outermost of the application's middleware (inside only starlette's last-resort error
handler):
- gives the request an id: the client's `X-Request-ID` when it is sane (a proxy's or a
  client's own, so that one id follows a request through every hop), else a new one; the id
  is in the request's scope (`request_id_of`, which error messages quote: api/errors.py), in
  the logging context (ops/logs.py: every log line of the request carries it) and in the
  `X-Request-ID` header of the answer;
- times the request until the answer's last chunk is about to be handed on (or the client
  left, or the application failed) and counts the bytes sent, after compression (api/http.py
  is inside);
- then makes one `RequestRecord` (ops/requests.py) and gives it to every observer in
  `app.state.observers` (Prometheus metrics, usage statistics, ...), and writes the access
  log line. This happens before the last chunk goes, so that a client that has read a whole
  answer finds it counted: a scrape of /metrics right after its requests sees every one of
  them (told after, the last one could still be missing).

Per request, not per byte: what it adds to a data download is a length per chunk sent.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sdmx_server.ops.logs import REQUEST_ID
from sdmx_server.ops.requests import NOTES, Observer, RequestRecord, Surface

log = logging.getLogger("sdmx_server.api")
access_log = logging.getLogger("sdmx_server.access")

HEADER = b"x-request-id"
#: Where the id is kept in the request's scope.
SCOPE_KEY = "sdmx.request_id"
#: An incoming id is taken as it is only when it is short and plain (no spaces, quotes or
#: controls that could forge a log line or a header).
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+=/-]{0,127}")
#: The route label of a request that no route took (a 404, or refused before routing).
UNMATCHED = "unmatched"
#: What routes note (ops/requests.py) that the access log line shows.
NOTED = ("resource", "format", "dataflows")
#: Longest request target written to the access log.
LOGGED_TARGET = 2000

_SURFACES: tuple[tuple[str, Surface], ...] = (
    ("/rest/v2/", "rest-v2"), ("/rest/v2", "rest-v2"), ("/rest/", "rest-v1"), ("/admin/", "admin"),
    ("/auth/", "auth"), ("/static/", "static"), ("/health", "ops"), ("/ready", "ops"), ("/metrics", "ops"))


def flow_refs(flows) -> tuple[str, ...]:
    """Dataflows as routes note them (ops/requests.py): AGENCY:ID(VERSION)."""
    return tuple(f"{agency}:{ident}({version})" for agency, ident, version in flows)


def request_id_of(scope: Scope) -> str | None:
    """The id of the request (None for a request the middleware did not see)."""
    return scope.get(SCOPE_KEY)


def incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == HEADER:
            text = value.decode("latin-1").strip()
            return text if _SANE.fullmatch(text) else None
    return None


class ObserveMiddleware:
    def __init__(self, app: ASGIApp, observers: list[Observer], routes: list):
        self.app = app
        #: The list itself, not a copy: app.state.observers, which others append to.
        self.observers = observers
        self.routes = routes
        self._known: dict[int, tuple[object, str, Surface]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.time()
        clock = time.perf_counter()
        request_id = incoming_id(scope) or uuid.uuid4().hex
        scope[SCOPE_KEY] = request_id
        context = REQUEST_ID.set(request_id)
        header = (HEADER, request_id.encode("latin-1"))
        status = 0
        sent = 0
        told = False

        async def observed(message: Message) -> None:
            nonlocal status, sent, told
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                if not any(name.lower() == HEADER for name, _ in headers):  # error answers name it already
                    headers.append(header)
                message = {**message, "headers": headers}
            elif kind == "http.response.body" and not message.get("more_body", False) and not told:
                # The last chunk: the request is told of before it goes (see the docstring).
                told = True
                self._ended(scope, request_id, started, time.perf_counter() - clock, status,
                            sent + len(message.get("body", b"")))
            await send(message)
            if kind == "http.response.body":
                sent += len(message.get("body", b""))  # once handed on (a client gone takes none)

        escaped = True
        try:
            await self.app(scope, receive, observed)
            escaped = False
        finally:
            if not told:
                # An exception that escaped before the answer began becomes starlette's 500.
                self._ended(scope, request_id, started, time.perf_counter() - clock, status or 500, sent)
            if not escaped:
                # (Kept after an exception: starlette's last-resort handler logs it after this
                # returns, still for this request; the request's task ends right after.)
                REQUEST_ID.reset(context)

    def _ended(self, scope: Scope, request_id: str, started: float, seconds: float, status: int, sent: int) -> None:
        try:
            self._tell(scope, request_id, started, seconds, status, sent)
        except Exception:  # never instead of the answer's own exception
            log.exception("observing the request failed")

    def _tell(self, scope: Scope, request_id: str, started: float, seconds: float, status: int, sent: int) -> None:
        route, surface = self._route_of(scope)
        record = RequestRecord(
            request_id=request_id, method=scope["method"], route=route, surface=surface, status=status,
            bytes_sent=sent, started=started, seconds=seconds, consumer=consumer_of(scope),
            address=(scope.get("client") or (None,))[0], notes=dict(scope.get(NOTES) or {}))
        for observer in self.observers:
            try:
                observer(record)
            except Exception:  # counting must never break answering
                log.exception("request observer %r failed", observer)
        if access_log.isEnabledFor(logging.INFO):
            target = scope.get("raw_path") or scope["path"].encode()
            if scope.get("query_string"):
                target += b"?" + scope["query_string"]
            path = target[:LOGGED_TARGET].decode("latin-1")
            access_log.info("%s %s %d", record.method, path, status, extra={
                "method": record.method, "path": path, "route": route, "status": status, "bytes": sent,
                "seconds": round(seconds, 6), "consumer": record.consumer,
                **{key: record.notes[key] for key in NOTED if key in record.notes}})

    def _route_of(self, scope: Scope) -> tuple[str, Surface]:
        """The template of the route that answered (starlette puts it in the scope), or of the
        route whose path it is when the answer came before routing (405, 414, 429, 401)."""
        route = scope.get("route")
        if route is None:
            probe = {**scope, "method": "GET"}
            route = next((r for r in self.routes if r.matches(probe)[0] != Match.NONE), None)
            if route is None:
                return UNMATCHED, _surface(scope["path"], None)
        known = self._known.get(id(route))
        if known is None or known[0] is not route:
            template = f"{route.path}/{{path:path}}" if isinstance(route, Mount) else getattr(route, "path", UNMATCHED)
            known = self._known[id(route)] = (route, template, _surface(template, getattr(route, "endpoint", None)))
        return known[1], known[2]


def _surface(template: str, endpoint) -> Surface:
    if getattr(endpoint, "__module__", "").startswith("sdmx_server.portal"):
        return "portal"
    for prefix, surface in _SURFACES:
        if template == prefix or template.startswith(prefix):
            return surface
    return "other"


def consumer_of(scope: Scope) -> str:
    """token:<id>, user:<name> (a portal session), jwt:<subject> or anonymous."""
    user = scope.get("user")
    name = getattr(user, "name", None)
    if user is None or name is None:
        return "anonymous"
    method = getattr(user, "method", None)
    credential = getattr(user, "credential", None)
    if method == "token" and credential:  # access/store.py names it token:<id> already
        return credential if credential.startswith("token:") else f"token:{credential}"
    if method == "oidc":
        return f"jwt:{name}"
    return f"user:{name}"
