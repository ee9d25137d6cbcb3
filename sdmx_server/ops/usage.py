"""Usage statistics: an observer of every answered request (ops/requests.py), counting by
quarter hour, dataflow, format, consumer, status and bytes, written to the database in batches.

Off the request's path: the observer only adds to dictionaries in memory under a lock (a few
microseconds); a background thread of each server process adds them to the stored rows
every `usage_flush_seconds` and once more when the server stops (ops/usage_tables.py
`add_counts`: processes add up, none overwrites another's). When the database cannot be
written (locked by a long load, down), the counts stay in memory and go with the next flush.

Client addresses are counted per period in a table of their own and deleted once their
period began a day ago (`sweep`, at every flush of every process): no raw address is kept beyond a
day. The consumer (token:<id>, user:<name>, jwt:<subject>, anonymous) is kept; it names an
account, not a machine.

Not counted: static files and the operations routes (health, readiness, metrics): probes and
page assets would drown the requests people make; Prometheus counts those.
"""

from __future__ import annotations

import bisect
import logging
import os
import threading
import time
from collections.abc import Iterable

import sqlalchemy as sa

from sdmx_server.ops.requests import RequestRecord
from sdmx_server.ops.usage_tables import UsageAddress, UsageLatency, UsageRow, add_counts
from sdmx_server.store.database import Database

log = logging.getLogger("sdmx_server.usage")

#: Surfaces not counted (see the module's docstring).
NOT_COUNTED = frozenset({"static", "ops"})
#: Latency bounds in milliseconds; the last catches everything longer.
LATENCY_BOUNDS_MS = (5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000,
                     2**62)
#: How long a client address may be kept, in seconds.
ADDRESS_SECONDS = 24 * 3600
#: Distinct addresses held in memory between flushes; more (a scan, a flood) are counted
#: under OVERFLOW_ADDRESS, so memory stays bounded whatever the traffic.
MAX_ADDRESSES = 50_000
OVERFLOW_ADDRESS = "(more)"
#: The periods counts are kept by, in seconds: a quarter hour, so that a day or a quarter of
#: any time zone in use (Iran's is UTC+03:30) is a whole number of periods.
PERIOD = 900


def dataflow_of(notes: dict) -> str:
    """The one dataflow a request read, "*" for several at once, "" for none."""
    flows = notes.get("dataflows") or ()
    if isinstance(flows, str):
        return flows
    flows = tuple(flows)
    return flows[0] if len(flows) == 1 else ("*" if flows else "")


class UsageCounter:
    """The observer: call it with each RequestRecord (the middleware does, through
    app.state.observers). `start()` the flushing thread once the process serves (the app's
    lifespan does, in each worker after uvicorn's fork); `close()` stops it after a last
    flush. Without a thread, counts are written by `flush()` and `close()` only."""

    def __init__(self, db: Database, flush_seconds: float = 5.0, own_db: bool = False):
        """`own_db`: the counter disposes of `db` when closed (a handle made for it)."""
        self.db = db
        self.own_db = own_db
        self.flush_seconds = flush_seconds
        self._lock = threading.Lock()
        self._counts: dict[tuple, list] = {}
        self._latency: dict[tuple, int] = {}
        self._addresses: dict[tuple, list] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._flush_lock = threading.Lock()  # one flush at a time (the thread's, close()'s)

    # -- the hot path --------------------------------------------------------------------------

    def __call__(self, record: RequestRecord) -> None:
        if record.surface in NOT_COUNTED:
            return
        period = int(record.started // PERIOD) * PERIOD
        notes = record.notes or {}
        key = (period, record.surface, record.route, str(notes.get("resource") or ""), dataflow_of(notes),
               str(notes.get("format") or ""), record.consumer, record.status)
        bound = LATENCY_BOUNDS_MS[bisect.bisect_left(LATENCY_BOUNDS_MS, record.seconds * 1000)]
        with self._lock:
            counts = self._counts.get(key)
            if counts is None:
                self._counts[key] = [1, record.bytes_sent, record.seconds]
            else:
                counts[0] += 1
                counts[1] += record.bytes_sent
                counts[2] += record.seconds
            latency = (period, record.surface, bound)
            self._latency[latency] = self._latency.get(latency, 0) + 1
            if record.address:
                address = (period, record.address)
                if address not in self._addresses and len(self._addresses) >= MAX_ADDRESSES:
                    address = (period, OVERFLOW_ADDRESS)
                seen = self._addresses.get(address)
                if seen is None:
                    self._addresses[address] = [1, record.bytes_sent]
                else:
                    seen[0] += 1
                    seen[1] += record.bytes_sent

    # -- the background thread ------------------------------------------------------------------

    def start(self) -> None:
        """Start flushing (again, in a forked child: threads do not survive a fork)."""
        with self._lock:
            if self._thread is not None and self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, name="usage-statistics", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        stop = self._stop
        while not stop.wait(self.flush_seconds):
            self.flush()

    def close(self) -> None:
        """Stop the thread and write what is left (the server is stopping)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread() and self._pid == os.getpid():
            thread.join(timeout=30)
        self.flush()
        if self.own_db:
            self.db.dispose()

    def flush(self, now: float | None = None) -> bool:
        """Add what was counted since the last flush to the stored rows, delete addresses older
        than a day. False (and the counts kept for the next flush) when the database refused."""
        with self._flush_lock:
            with self._lock:
                counts, self._counts = self._counts, {}
                latency, self._latency = self._latency, {}
                addresses, self._addresses = self._addresses, {}
            try:
                with self.db.engine.begin() as conn:
                    add_counts(conn, self.db, UsageRow.__table__, list(_usage_rows(counts)))
                    add_counts(conn, self.db, UsageLatency.__table__,
                               [{"period": p, "surface": s, "le_ms": b, "requests": n} for (p, s, b), n in latency.items()])
                    add_counts(conn, self.db, UsageAddress.__table__,
                               [{"period": p, "address": a, "requests": n, "bytes": b}
                                for (p, a), (n, b) in addresses.items()])
                    sweep(conn, time.time() if now is None else now)
            except Exception:  # noqa: BLE001 - statistics never break serving; the counts wait
                log.warning("usage statistics: writing to the database failed; kept for the next flush",
                            exc_info=True)
                self._restore(counts, latency, addresses)
                return False
            return True

    def _restore(self, counts: dict, latency: dict, addresses: dict) -> None:
        with self._lock:
            for key, (n, b, s) in counts.items():
                mine = self._counts.setdefault(key, [0, 0, 0.0])
                mine[0] += n
                mine[1] += b
                mine[2] += s
            for key, n in latency.items():
                self._latency[key] = self._latency.get(key, 0) + n
            # addresses that failed to be written: kept under the same bound as new ones (a long
            # outage must not grow memory), and never once they are a day old
            oldest = time.time() - ADDRESS_SECONDS
            for (period, address), (n, b) in addresses.items():
                if period <= oldest:
                    continue
                key = (period, address)
                if key not in self._addresses and len(self._addresses) >= MAX_ADDRESSES:
                    key = (period, OVERFLOW_ADDRESS)
                mine = self._addresses.setdefault(key, [0, 0])
                mine[0] += n
                mine[1] += b


def _usage_rows(counts: dict) -> Iterable[dict]:
    for (period, surface, route, resource, dataflow, fmt, consumer, status), (n, b, s) in counts.items():
        yield {"period": period, "surface": surface, "route": route, "resource": resource, "dataflow": dataflow,
               "format": fmt, "consumer": consumer, "status": status, "requests": n, "bytes": b, "seconds": s}


def sweep(conn: sa.Connection, now: float) -> None:
    """Delete the address rows whose period began a day ago or more: every request still
    kept is then less than a day old."""
    table = UsageAddress.__table__
    conn.execute(sa.delete(table).where(table.c.period <= now - ADDRESS_SECONDS))


def counter_for(settings) -> UsageCounter | None:
    """The server's usage counter, or None when usage statistics are turned off (addresses a
    day old are deleted either way: turning statistics off must not keep them forever)."""
    if not settings.usage_statistics:
        db = Database(settings.database_url, application_name="sdmx-server usage")
        try:
            with db.engine.begin() as conn:
                sweep(conn, time.time())
        except Exception:  # noqa: BLE001 - a start is not refused for it; the next start tries again
            log.warning("usage statistics: deleting day-old client addresses failed", exc_info=True)
        finally:
            db.dispose()
        return None
    return UsageCounter(Database(settings.database_url, application_name="sdmx-server usage"),
                        settings.usage_flush_seconds, own_db=True)
