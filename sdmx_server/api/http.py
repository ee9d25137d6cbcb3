"""HTTP done once for every route: an ASGI middleware around the whole application.

Before the routes:
- security headers on every answer (api/security.py);
- 414 for a request target longer than `max_url_bytes` (an SDMX error, like every failure);
- CORS: preflights are answered here; answers to other origins carry Allow-Origin and expose
  the validators and languages;
- OPTIONS on any path answers `Allow`, a method no route of the path takes is a 405 with
  `Allow` and an SDMX error body (the routes' own methods say what is allowed);
- HEAD is answered as GET without the body: the route runs up to its first body chunk (so the
  status and headers are the real ones) and the rest is never produced.

Around the answer's bytes:
- compression (api/encoding.py) of every compressible answer, chunk by chunk as it streams;
  the ETag gets the coding as a suffix, `Vary` names Accept-Encoding;
- the tee into the kept-answers folder (api/answer_cache.py) for answers that name a cache key
  (internal header `x-sdmx-answer-key`), committed only after the last byte was sent;
- flow control: a send that does not progress for `send_stall_seconds`, or a client that went
  away, aborts the answer, which closes its database cursor (api/answers.py).
"""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sdmx_server.api import encoding
from sdmx_server.api.answer_cache import AnswerCache
from sdmx_server.api.errors import error_response
from sdmx_server.api.security import secured
from sdmx_server.errors import SdmxError
from sdmx_server.settings import Settings

log = logging.getLogger("sdmx_server.api")

#: The internal header a route sets to have its answer kept under that key (removed here).
ANSWER_KEY = b"x-sdmx-answer-key"
#: Largest piece handed to the server at once: the unit of flow control (and of what a stalled
#: client can hold in the process's buffers).
PIECE = 1024 * 1024
EXPOSED = "ETag, Last-Modified, Content-Language, Content-Encoding, Content-Disposition, Retry-After, Allow, Vary"
CROSS_ORIGIN_METHODS = ("GET", "HEAD", "OPTIONS")


class ClientGone(Exception):
    """The client went away or stopped reading: the answer is abandoned."""


def too_long(max_bytes: int) -> SdmxError:
    error = SdmxError(f"the request target is longer than {max_bytes} bytes; ask for less per request")
    error.status, error.code, error.title = 414, 414, "URI too long"
    return error


def method_not_allowed(method: str, allowed: list[str]) -> SdmxError:
    error = SdmxError(f"{method} is not allowed here; allowed: {', '.join(allowed)}")
    error.status, error.code, error.title = 405, 405, "Method not allowed"
    return error


class HttpMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings, routes: list):
        self.app = app
        self.settings = settings
        self.routes = routes
        origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
        self.any_origin = "*" in origins
        self.origins = frozenset(origins)
        self.cache = AnswerCache(settings.data_dir / "answers", settings.answer_cache_bytes,
                                         settings.answer_cache_min_bytes)  # the tee's side

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = secured(send, scope.get("scheme") == "https")  # on every answer (api/security.py)
        request = Request(scope)
        method = scope["method"]
        target = len(scope.get("raw_path") or scope["path"].encode()) + len(scope.get("query_string") or b"")
        origin = request.headers.get("origin")
        cors = self._cors_headers(origin)
        if target > self.settings.max_url_bytes:
            await self._error(request, too_long(self.settings.max_url_bytes), cors, scope, receive, send)
            return
        allowed = self._allowed(scope)
        if method == "OPTIONS":
            headers = {"Allow": ", ".join(allowed or ["OPTIONS"]), "Cache-Control": "no-store", **cors}
            if cors and request.headers.get("access-control-request-method"):
                methods = [m for m in (allowed or []) if m in CROSS_ORIGIN_METHODS]
                headers["Access-Control-Allow-Methods"] = ", ".join(methods or ["OPTIONS"])
                wanted = request.headers.get("access-control-request-headers")
                if wanted:
                    headers["Access-Control-Allow-Headers"] = wanted
                headers["Access-Control-Max-Age"] = "600"
            await send({"type": "http.response.start", "status": 204,
                        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]})
            await send({"type": "http.response.body", "body": b""})
            return
        if allowed is not None and method not in allowed:
            error = method_not_allowed(method, allowed)
            await self._error(request, error, {"Allow": ", ".join(allowed), **cors}, scope, receive, send)
            return
        coding = encoding.choose(request.headers.get("accept-encoding"))
        scope.setdefault("state", {})["coding"] = coding
        answer = _Answer(self, scope, send, coding, cors)
        watcher = None
        if method in ("GET", "HEAD"):
            watcher = asyncio.ensure_future(_watch_disconnect(receive, answer))
        try:
            await self.app(scope, receive, answer.send)
        except ClientGone:
            answer.abandon()
        except BaseException:
            answer.abandon()
            raise
        finally:
            if watcher is not None:
                watcher.cancel()

    def _cors_headers(self, origin: str | None) -> dict[str, str]:
        if not origin:
            return {}
        if self.any_origin:
            return {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": EXPOSED}
        if origin in self.origins:
            return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": EXPOSED,
                    "Vary": "Origin"}
        return {}

    def _allowed(self, scope: Scope) -> list[str] | None:
        """The methods the routes of this path take (with OPTIONS); None when no route has it."""
        methods: set[str] = set()
        probe = {**scope, "method": "GET"}
        for route in self.routes:
            match, _ = route.matches(probe)
            if match != Match.NONE:  # PARTIAL: the path is the route's, the method may not be
                methods |= set(getattr(route, "methods", None) or {"GET", "HEAD", "POST", "PUT", "DELETE"})
        if not methods:
            return None
        order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
        return [m for m in order if m in methods] + ["OPTIONS"]

    async def _error(self, request, error: SdmxError, headers: dict, scope, receive, send) -> None:
        response = error_response(request, error)
        response.headers.update(headers)
        response.headers["Cache-Control"] = "no-store"
        if scope["method"] == "HEAD":
            response.body = b""
        await response(scope, receive, send)


async def _watch_disconnect(receive: Receive, answer: "_Answer") -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            answer.gone.set()
            return


class _Answer:
    """The send side of one exchange: headers held until the first body chunk, then encoded,
    teed and sent in pieces, each within the stall timeout."""

    def __init__(self, middleware: HttpMiddleware, scope: Scope, send: Send, coding, cors: dict):
        self.middleware = middleware
        self.settings = middleware.settings
        self.head = scope["method"] == "HEAD"
        self.downstream = send
        self.coding = coding
        self.cors = cors
        self.start: Message | None = None
        self.encoder: encoding.Encoder | None = None
        self.tee = None
        self.done = False
        self.gone = asyncio.Event()

    async def send(self, message: Message) -> None:
        if self.done:
            return
        if message["type"] == "http.response.start":
            self.start = message
            return
        if message["type"] != "http.response.body":
            await self._send(message)
            return
        body = message.get("body", b"")
        more = message.get("more_body", False)
        if self.start is not None:
            start, self.start = self.start, None
            await self._begin(start, body, more)
        if self.head:
            self.done = True
            await self._send({"type": "http.response.body", "body": b"", "more_body": False})
            raise ClientGone()  # nothing more of a HEAD answer is wanted: stop producing it
        if self.encoder is not None:
            body = self.encoder.encode(body) + (b"" if more else self.encoder.finish())
        if self.tee is not None and body:
            self.tee.write(body)
        for offset in range(0, max(len(body), 1), PIECE):
            piece = body[offset: offset + PIECE]
            last = not more and offset + PIECE >= len(body)
            await self._send({"type": "http.response.body", "body": piece, "more_body": not last})
        if not more:
            self.done = True
            if self.tee is not None:
                self.tee.commit()
                self.tee = None

    async def _begin(self, start: Message, body: bytes, more: bool) -> None:
        status = start["status"]
        headers = [(k.lower(), v) for k, v in start.get("headers", [])]
        key = next((v.decode("latin-1") for k, v in headers if k == ANSWER_KEY), None)
        headers = [(k, v) for k, v in headers if k != ANSWER_KEY]
        names = {k for k, _ in headers}
        content_type = next((v.decode("latin-1") for k, v in headers if k == b"content-type"), "")
        compressible = encoding.compressible(content_type) and status not in (204, 304)
        if compressible and b"content-encoding" not in names:
            headers = _add_vary(headers, "Accept-Encoding")
            small = not more and len(body) < encoding.MIN_BYTES
            if self.coding != "identity" and not small:
                self.encoder = encoding.Encoder(self.coding)
                headers = [(k, v) for k, v in headers if k != b"content-length"]
                headers.append((b"content-encoding", self.coding.encode()))
                headers = [(k, _suffixed(v, self.coding) if k == b"etag" else v) for k, v in headers]
            if key is not None and status == 200 and not self.head and not small:
                # Kept in the coding asked for (small answers are not worth a file).
                self.tee = self.middleware.cache.writer(f"{key}|{self.coding}")
        if status >= 400 and b"cache-control" not in names:
            headers.append((b"cache-control", b"no-store"))
        for name, value in self.cors.items():
            if name == "Vary":
                headers = _add_vary(headers, value)
            else:
                headers.append((name.lower().encode(), value.encode()))
        await self._send({**start, "headers": headers})

    async def _send(self, message: Message) -> None:
        if self.gone.is_set():
            raise ClientGone()
        sending = asyncio.ensure_future(self.downstream(message))
        gone = asyncio.ensure_future(self.gone.wait())
        try:
            finished, _ = await asyncio.wait({sending, gone}, timeout=self.settings.send_stall_seconds,
                                             return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if sending not in finished:
            sending.cancel()
            log.info("client stalled or went away: answer abandoned")
            raise ClientGone()
        sending.result()

    def abandon(self) -> None:
        self.done = True
        if self.tee is not None:
            self.tee.abort()
            self.tee = None


def _add_vary(headers: list, value: str) -> list:
    for index, (name, current) in enumerate(headers):
        if name == b"vary":
            present = {v.strip().lower() for v in current.decode("latin-1").split(",")}
            if value.lower() not in present:
                headers[index] = (name, current + b", " + value.encode())
            return headers
    headers.append((b"vary", value.encode()))
    return headers


def _suffixed(etag: bytes, coding: str) -> bytes:
    if etag.endswith(b'"'):
        return etag[:-1] + b"-" + coding.encode() + b'"'
    return etag
