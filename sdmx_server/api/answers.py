"""Sending answers: validators and 304s, kept answers, bounded database reads, prompt release.

`data_answer` is how a data route answers once it knows which dataflows it reads (before any
data is read): a 304 when the client's copy is current; the kept encoded answer when there is
one (no database work at all); otherwise a read slot from the process's `ReadPool`, the data
produced in a worker thread and streamed. The slot, and with it the database connection, is
given back when the answer ends in any way: sent, failed, the client gone or stalled (the
HTTP middleware raises into the stream; the generator is closed at once, which closes the
cursor, instead of at garbage collection).

`ReadPool` bounds the data answers reading the database at once in a process. A request that
cannot get a slot within `read_wait_seconds` is a 503 with Retry-After. Under overload the
newest waiter is served first (LIFO): the oldest are the likeliest to time out or to have
been given up by their client, and serving them first would make every waiter late.
"""

from __future__ import annotations

import asyncio
import math
from typing import Callable, Iterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from sdmx_server.api.conditional import Validators, not_modified, not_modified_response
from sdmx_server.api.http import ANSWER_KEY
from sdmx_server.errors import ServiceUnavailable

#: Bytes read from a kept answer per send.
FILE_CHUNK = 1024 * 1024
#: How long a request waits for another one producing the same answer before doing it itself.
WAIT_FOR_PRODUCER_SECONDS = 120.0


class ReadPool:
    """Slots for data answers that read the database; LIFO when full (see the docstring)."""

    def __init__(self, size: int, wait_seconds: float):
        self.size = size
        self.free = size
        self.wait_seconds = wait_seconds
        self._waiters: list[asyncio.Future] = []

    async def acquire(self) -> None:
        if self.free > 0 and not self._waiters:
            self.free -= 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, self.wait_seconds)
        except asyncio.TimeoutError:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            error = ServiceUnavailable(
                f"the server is answering {self.size} data requests already; try again in a few seconds")
            error.retry_after = max(1, math.ceil(self.wait_seconds / 2))  # type: ignore[attr-defined]
            raise error from None
        except BaseException:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            elif waiter.done() and not waiter.cancelled():
                self.release()  # granted as we were cancelled: pass it on
            raise

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.pop()  # newest first
            if not waiter.done():
                waiter.set_result(None)
                return
        self.free += 1

    @property
    def in_use(self) -> int:
        return self.size - self.free


#: After an answer this large, free memory goes back to the system (see give_back_memory).
GIVE_BACK_AFTER_BYTES = 64 * 1024 * 1024


def give_back_memory() -> None:
    """Return what a large answer freed to the system: Arrow's pool and glibc's heap keep
    freed memory for reuse, which left a server hundreds of MB above idle after a load test."""
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except Exception:  # an older pyarrow: nothing to release
        pass
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class StreamAnswer(Response):
    """A sync iterator of bytes sent as it is produced, each chunk made in a worker thread;
    the iterator is closed, and `on_close` called, however the sending ends."""

    def __init__(self, chunks: Iterator[bytes], media_type: str, headers: dict[str, str],
                 on_close: Callable[[], None] | None = None):
        super().__init__(None, media_type=media_type, headers=headers)
        del self.headers["content-length"]
        self.chunks = chunks
        self.on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        produced = 0
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            while True:
                chunk = await run_in_threadpool(next, self.chunks, None)
                if chunk is None:
                    break
                if chunk:
                    produced += len(chunk)
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            close = getattr(self.chunks, "close", None)
            if close is not None:
                await run_in_threadpool(close)
            if self.on_close is not None:
                self.on_close()
            if produced > GIVE_BACK_AFTER_BYTES:
                await run_in_threadpool(give_back_memory)


class FileAnswer(Response):
    """A kept answer, from an open file, in large chunks."""

    def __init__(self, handle, media_type: str, headers: dict[str, str]):
        super().__init__(None, media_type=media_type, headers=headers)
        self.handle = handle
        import os

        self.headers["content-length"] = str(os.fstat(handle.fileno()).st_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            while True:
                chunk = await run_in_threadpool(self.handle.read, FILE_CHUNK)
                more = len(chunk) == FILE_CHUNK
                await send({"type": "http.response.body", "body": chunk, "more_body": more})
                if not more:
                    break
        finally:
            self.handle.close()


def base_headers(validators: Validators, vary: str, max_age: int, private: bool = False) -> dict[str, str]:
    """`private`: an answer for this principal only (a part of a dataflow, a view with
    non-public artefacts): no shared cache may keep it for others."""
    return {
        **validators.headers(),
        "Vary": vary,
        "Cache-Control": f"{'private' if private or validators.private else 'public'}, max-age={max_age}, must-revalidate",
    }


def cache_key(request: Request, validators: Validators) -> str:
    coding = request.scope.get("state", {}).get("coding", "identity")
    return f"{validators.etag}|{coding}"


def cached_answer(request: Request, validators: Validators, media_type: str, headers: dict[str, str]):
    """The kept encoded answer for this request's coding, or None."""
    cache = request.app.state.answer_cache
    coding = request.scope.get("state", {}).get("coding", "identity")
    handle = cache.open(cache_key(request, validators))
    if handle is None:
        return None
    headers = dict(headers)
    if coding != "identity":
        headers["Content-Encoding"] = coding
        headers["ETag"] = validators.etag[:-1] + f'-{coding}"'
    return FileAnswer(handle, media_type, headers)


async def data_answer(request: Request, validators: Validators, media_type: str, vary: str,
                      produce: Callable[[], Iterator[bytes]], private: bool = False) -> Response:
    """The answer of a data route; `produce` runs in a worker thread and may raise SdmxErrors
    (no results, ...) before the first byte; `private`: see base_headers."""
    settings = request.app.state.server.settings
    headers = base_headers(validators, vary, settings.max_age, private)
    if not_modified(request, validators):
        return not_modified_response(validators, headers, request.scope.get("state", {}).get("coding", "identity"))
    kept = cached_answer(request, validators, media_type, headers)
    if kept is not None:
        return kept
    # One request produces an answer, the same requests meanwhile wait for its file: a crowd
    # of harvesters after a load costs one encoding, not one each.
    cache = request.app.state.answer_cache
    key = cache_key(request, validators)
    claimed = cache.claim(key)
    if not claimed:
        waited = 0.0
        while cache.producing(key) and waited < WAIT_FOR_PRODUCER_SECONDS:
            await asyncio.sleep(0.1)
            waited += 0.1
            kept = cached_answer(request, validators, media_type, headers)
            if kept is not None:
                return kept
        kept = cached_answer(request, validators, media_type, headers)
        if kept is not None:
            return kept
        claimed = cache.claim(key)  # the producer failed or took too long: produce it here

    def finished() -> None:
        pool.release()
        if claimed:
            cache.release(key)

    pool: ReadPool = request.app.state.read_pool
    try:
        await pool.acquire()
    except BaseException:
        if claimed:
            cache.release(key)
        raise
    try:
        chunks = await run_in_threadpool(produce)
    except BaseException:
        finished()
        raise
    headers[ANSWER_KEY.decode()] = validators.etag
    return StreamAnswer(iter(chunks), media_type, headers, on_close=finished)


def closing_chunks(chunks: Iterator[bytes], message) -> Iterator[bytes]:
    """The writer's chunks; closing this closes the writer and every data set's batches (and
    so their database cursors) at once."""
    try:
        yield from chunks
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
        close_batches(message)


def close_batches(message) -> None:
    """Give back every data set's database cursor now, not at garbage collection."""
    for part in getattr(message, "datasets", ()):
        close = getattr(part.batches, "close", None)
        if close is not None:
            close()
