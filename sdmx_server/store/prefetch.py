"""Read the next Arrow batch while the current one is being written: two cores, not one.

A download is a pipeline of two halves of about equal cost: the database driver turning rows
into Arrow batches (ADBC, C++, GIL released) and the writer turning batches into text (Arrow
kernels, GIL released too). Run in one thread they take the sum of both; here a reading
thread fills a small bounded queue while the consumer writes, so they take about the larger.

The queue holds at most `depth` batches, so memory stays flat whatever the answer's size and
however slow the client: when the consumer stops taking, the reader stops reading.

The reading thread owns everything of the database (connection, statement, reader): it opens,
reads and closes them itself, so no driver object is used from two threads at once. When the
consumer stops early (`close()`, or the iterator is dropped: a client that went away), the
thread is told to stop, the running statement is cancelled (AdbcStatementCancel is the one
thread-safe call of ADBC; PostgreSQL honours it, ADBC's SQLite does not and ends its current
batch first), and the thread closes the cursor and the connection (a stopped read's connection
is never kept for another: store/pool.py). close() waits for that; a
dropped iterator does not make the garbage collector's thread (maybe the event loop) wait.
"""

from __future__ import annotations

import queue
import threading
import weakref
from typing import Callable, Iterator

import pyarrow as pa

#: How often a blocked reader looks whether the consumer has gone, in seconds.
POLL_SECONDS = 0.05

_DONE = object()


class Stopped(Exception):
    """The consumer went away before the statement started: do not start it."""


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


class _Shared:
    """What the consumer and the reading thread share. The thread holds only this (never the
    consumer-facing iterator), so dropping the iterator lets the garbage collector close it."""

    def __init__(self, depth: int):
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.stop = threading.Event()
        self.cancel: Callable[[], None] | None = None
        self.lock = threading.Lock()

    def put(self, item) -> bool:
        """Hand an item to the consumer; False when the consumer has gone."""
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def set_cancel(self, cancel: Callable[[], None] | None) -> bool:
        """Called by the reader with the running statement's cancel just before it starts
        (raises Stopped if the consumer has gone already), and with None once it is over; then
        True when the consumer has stopped (a cancel may have been sent: the connection is not
        to be used again)."""
        with self.lock:
            if cancel is not None and self.stop.is_set():
                raise Stopped()
            self.cancel = cancel
            return self.stop.is_set()

    def request_stop(self) -> None:
        self.stop.set()
        with self.lock:
            cancel = self.cancel
        if cancel is not None:
            try:
                cancel()
            except Exception:  # cancelling a statement that just ended is harmless
                pass


#: A reading function: given the shared state's `set_cancel`, it yields batches and releases
#: everything it opened when it is closed.
Source = Callable[[Callable[[Callable[[], None] | None], bool]], Iterator[pa.RecordBatch]]


def _run(shared: _Shared, source: Source) -> None:
    batches = None
    try:
        batches = source(shared.set_cancel)
        for batch in batches:
            if not shared.put(batch):
                break
        else:
            shared.put(_DONE)
    except BaseException as error:  # the consumer re-raises it in its own thread
        if not shared.stop.is_set():
            shared.put(_Failure(error))
    finally:
        if batches is not None:
            try:
                batches.close()  # closes the cursor and the connection, in this thread
            except Exception:
                pass
        shared.set_cancel(None)


def _stop(shared: _Shared, thread: threading.Thread, wait: bool) -> None:
    shared.request_stop()
    # Free the slots, so that a reader blocked on a full queue sees the stop at once.
    try:
        while True:
            shared.queue.get_nowait()
    except queue.Empty:
        pass
    if wait and thread is not threading.current_thread():
        thread.join()


class PrefetchedBatches:
    """An iterator of record batches read ahead by a thread; close() (or dropping it) stops
    the reading and releases the connection before it returns."""

    def __init__(self, source: Source, depth: int = 2, name: str = "sdmx-prefetch"):
        self._shared = _Shared(max(1, depth))
        self._thread = threading.Thread(target=_run, args=(self._shared, source), name=name, daemon=True)
        self._finished = False
        self._thread.start()
        # Dropped without close() (by the garbage collector, maybe on the event loop's thread):
        # tell the reader to stop, but do not wait for it there.
        self._finalizer = weakref.finalize(self, _stop, self._shared, self._thread, False)

    def __iter__(self) -> "PrefetchedBatches":
        return self

    def __next__(self) -> pa.RecordBatch:
        if self._finished:
            raise StopIteration
        item = self._shared.queue.get()
        if item is _DONE:
            self.close()
            raise StopIteration
        if isinstance(item, _Failure):
            self.close()
            raise item.error
        return item

    def close(self) -> None:
        """Stop reading; returns once the cursor and the connection are closed."""
        self._finished = True
        if self._finalizer.detach() is not None:  # the first close only
            _stop(self._shared, self._thread, True)

    def __enter__(self) -> "PrefetchedBatches":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
