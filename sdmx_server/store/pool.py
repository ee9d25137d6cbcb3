"""ADBC read connections kept open between data reads, at most `size` per process.

Opening an ADBC PostgreSQL connection costs tens of milliseconds (libpq handshake, and the
driver loads the server's type catalogue on every connect): more than a whole single-series
answer. So a process keeps the connections of finished reads and hands them to the next.

- The bound is the HTTP layer's read slots (settings.read_connections): at most that many
  reads run at once (api/answers.py ReadPool), so at most that many connections are kept.
- A connection comes back only from a read that ran to its end without error and without being
  cancelled or stopped; it is rolled back first, which ends the read's transaction and with it
  every transaction-local setting (set_config(..., true)). Any other connection is closed: a
  cancel that arrives late could otherwise hit the next read on it.
- A process started by fork does not use its parent's connections (a libpq socket shared by
  two processes mixes their conversations).
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable


class ReadConnections:
    def __init__(self, connect: Callable[[], Any], size: int):
        self._connect = connect
        self.size = max(0, size)
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def acquire(self) -> tuple[Any, bool]:
        """A connection, and whether it was kept from an earlier read (so may be stale)."""
        with self._lock:
            if self._pid != os.getpid():
                self._idle = []  # the parent's: leave them to the parent
                self._pid = os.getpid()
            if self._idle:
                return self._idle.pop(), True
        return self._connect(), False

    def release(self, conn: Any, reusable: bool) -> None:
        """Give a connection back after a read: kept when `reusable` and there is room, closed
        otherwise."""
        if reusable and self.size:
            try:
                conn.rollback()
            except Exception:
                reusable = False
            else:
                with self._lock:
                    if self._pid == os.getpid() and len(self._idle) < self.size:
                        self._idle.append(conn)
                        return
        discard(conn)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            discard(conn)

    @property
    def idle(self) -> int:
        return len(self._idle)


def discard(conn: Any) -> None:
    try:
        conn.close()
    except Exception:  # a broken connection may fail to close cleanly: it is gone either way
        pass
