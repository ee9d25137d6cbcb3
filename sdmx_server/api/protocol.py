"""The HTTP connection guard: uvicorn's httptools protocol with limits on what a client may hold.

uvicorn (0.54, httptools) keeps a connection for as long as the client likes while its request
head is incomplete, accumulates a header of any size (a 100 MB header froze the event loop, and
so every other client, for 7 s), and waits forever for a body that stops arriving. `serve`
(cli/commands.py) runs uvicorn with this protocol instead:

- a request head (request line and headers) larger than `max_header_bytes` is answered 431
  (an SDMX error) and the connection closed, counted before the bytes reach the parser (a read
  holding a head and the start of its body is split where the allowance ends: the body is not
  counted as head);
- a connection that does not finish its request head within `header_timeout_seconds` of being
  opened, or of the previous answer, is closed (a 408 is written first when some of the head
  came; a silent connection is just closed);
- a body that stops arriving for `body_idle_seconds` closes the connection: the route reading it
  sees the client gone. The clock does not run while the server itself paused reading (an
  upload being written to disk more slowly than it arrives).

A write refused before its body is read (401 without credentials, 403, 404) is answered at
once; uvicorn then reads and discards the rest of the body (the idle clock still runs), so a
client that sends its whole body before reading gets the answer rather than a broken pipe, and
the connection stays usable. Closing instead would reset the connection under such a client.

The limits come from Settings.from_env() once per process: uvicorn builds the protocol by
class, in each worker process.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from sdmx_server.errors import HeadersTooLarge, SdmxError
from sdmx_server.settings import Settings


@lru_cache(maxsize=1)
def _settings() -> Settings:
    return Settings.from_env()


def plain_error(status: int, error: SdmxError, path: bytes) -> bytes:
    """A whole HTTP/1.1 answer carrying `error` in the SDMX error format of the API the path
    names (without the request's Accept: it may be the part that never came)."""
    from sdmx_server.formats.media import error_row

    row = error_row("v2" if path.startswith(b"/rest/v2") else "v1", None)
    body = row.load()(error)
    reason = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}.get(status, b"Error")
    return (b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %d\r\nconnection: close\r\n"
            b"cache-control: no-store\r\nx-content-type-options: nosniff\r\n\r\n"
            % (status, reason, row.content_type.encode(), len(body))) + body


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with head size, head time and body idle limits (module docstring)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        settings = _settings()
        self.max_head = settings.max_header_bytes
        self.head_seconds = settings.header_timeout_seconds
        self.body_seconds = settings.body_idle_seconds
        self.in_head = True  # waiting for (the rest of) a request head
        self.heads = 0  # request heads parsed on this connection
        self.head_bytes = 0
        self.guard: asyncio.TimerHandle | None = None
        self.target = b""

    # -- connection events -----------------------------------------------------------------------

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.head_seconds, self._head_timeout)

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.in_head:
            room = self.max_head - self.head_bytes
            if len(data) > room:
                # One read may hold the head and the start of its body (a client sending both at
                # once): the parser sees the head's allowance first, and only a head still
                # unfinished there is refused. The rest, a body or the next request, goes on.
                heads = self.heads
                if room > 0:
                    self.head_bytes = self.max_head
                    super().data_received(data[:room])
                if self.transport.is_closing():  # the parser refused what it saw
                    return
                if self.heads == heads:  # no head ended within the allowance
                    self._refuse(431, HeadersTooLarge(
                        f"the request head is larger than {self.max_head:,} bytes: send smaller headers"))
                else:
                    self.data_received(data[room:])
                return
            self.head_bytes += len(data)
        elif self.guard is not None:  # a body arriving: its idle clock starts again
            self._arm(self.body_seconds, self._body_timeout)
        super().data_received(data)

    # -- parser callbacks ------------------------------------------------------------------------

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self.target = self.url[:16]

    def on_headers_complete(self) -> None:
        self.in_head = False
        self.heads += 1
        self.head_bytes = 0
        self._arm(self.body_seconds, self._body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self.in_head = True  # the next request on this connection (keep-alive or pipelined)
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.in_head and not self.transport.is_closing():
            # uvicorn's keep-alive timer closes an idle connection; this one closes a connection
            # that started a request head and never finished it.
            self._arm(self.head_seconds, self._head_timeout)

    # -- the clocks ------------------------------------------------------------------------------

    def _arm(self, seconds: float, callback) -> None:
        self._disarm()
        if seconds > 0:
            self.guard = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self.guard is not None:
            self.guard.cancel()
            self.guard = None

    def _head_timeout(self) -> None:
        self.guard = None
        if not self.in_head or self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self._arm(self.head_seconds, self._head_timeout)  # an answer still going out: not idle
            return
        if self.head_bytes:
            self._refuse(408, _timeout_error(f"the request head did not arrive within {self.head_seconds:g} s"))
        else:
            self.transport.close()

    def _body_timeout(self) -> None:
        self.guard = None
        if self.in_head or self.transport.is_closing():
            return
        if self.flow is not None and self.flow.read_paused:  # the server, not the client, is slow
            self._arm(self.body_seconds, self._body_timeout)
            return
        self.logger.info("request body stalled for %g s: connection closed", self.body_seconds)
        self.transport.close()

    def _refuse(self, status: int, error: SdmxError) -> None:
        self._disarm()
        self.logger.info("%s: connection closed", error.message)
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(plain_error(status, error, self.target))
        self.transport.close()


def _timeout_error(message: str) -> SdmxError:
    error = SdmxError(message)
    error.status, error.code, error.title = 408, 408, "Request timeout"
    return error
