"""The schedule: while `serve` runs, one background thread syncs the sources that are due.

A source is due when its schedule's next time after its last attempt (success or failure) has
come; a source never tried is due at once when it runs on an interval, and at its cron's next
time when it runs on a cron. A failure is recorded and tried again at the next due time, which
is the same rule. Source files are read again at each tick, so a new or edited file in
`loaders/` takes effect without a restart.

Only one scheduler runs sources against one database: each tick first takes (or renews) the
"scheduler" lease of state.py, so with `serve --workers N`, or two servers sharing PostgreSQL,
the others wait. The lease outlives a tick by a margin and is renewed before each source and,
while a source syncs, every third of its length, so a stopped holder's lease runs out and
another takes over, but a long pull keeps it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from croniter import croniter

from sdmx_server.settings import Settings
from sdmx_server.sources import state as states
from sdmx_server.sources.spec import Schedule, SourceSpec, read_sources
from sdmx_server.store.database import Database

log = logging.getLogger("sdmx_server.sources")

LEASE = "scheduler"


def last_attempt(state: states.SourceState | None) -> datetime | None:
    if state is None:
        return None
    times = [t for t in (state.last_success, state.last_failure) if t is not None]
    return max(times) if times else None


def next_run(schedule: Schedule | None, state: states.SourceState | None, now: datetime) -> datetime | None:
    """When the source is next due (naive UTC); None when it has no schedule (sync by hand)."""
    if schedule is None:
        return None
    last = last_attempt(state)
    if schedule.every is not None:
        return now if last is None else last + timedelta(seconds=schedule.every)
    return croniter(schedule.cron, last or now).get_next(datetime)


class Scheduler:
    """Runs due sources in one daemon thread until stopped."""

    def __init__(self, settings: Settings, directory: Path, tick: float = 5.0, lease_seconds: float | None = None):
        self.settings = settings
        self.directory = Path(directory)
        self.tick = tick
        self.lease_seconds = lease_seconds or max(60.0, 3 * tick)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._db: Database | None = None
        self._reported: set[str] = set()

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database(self.settings.database_url)
            states.ensure_state_tables(self._db)
        return self._db

    def start(self, after: str | None = None) -> "Scheduler":
        """Start the thread; with `after` (a URL), the first tick waits until it answers: the
        server's own start writes to the store, and on SQLite a sync writing at that moment
        can make the server's start fail with "database is locked"."""
        self._thread = threading.Thread(target=self._loop, args=(after,), name="sdmx-sources", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._db is not None:
            try:
                states.release_lease(self._db, LEASE, self.holder)
            except Exception:  # the database went away first: the lease runs out by itself
                pass
            self._db.dispose()

    def _wait_for(self, url: str, seconds: float = 120.0) -> None:
        import time

        import httpx

        deadline = time.monotonic() + seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                httpx.get(url, timeout=5)
                self._stop.wait(2.0)  # other workers finish starting too
                return
            except httpx.HTTPError:
                self._stop.wait(0.5)

    def _loop(self, after: str | None = None) -> None:
        if after:
            self._wait_for(after)
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception as exc:  # never let one bad tick end the thread; say why and go on
                log.error("the source scheduler's tick failed: %s: %s", type(exc).__name__, exc)
            self._stop.wait(self.tick)

    def run_once(self, now: datetime | None = None) -> list:
        """Sync the sources due now; [] when another scheduler holds the lease."""
        from sdmx_server.sources.sync import current_registry, sync_source

        db = self.db
        if not states.take_lease(db, LEASE, self.holder, self.lease_seconds):
            return []
        specs, errors = read_sources(self.directory)
        self._report_errors(errors)
        due = self.due(specs, now)
        outcomes = []
        for spec in due:
            if self._stop.is_set() or not states.take_lease(db, LEASE, self.holder, self.lease_seconds):
                break
            with self._lease_kept():
                outcome = sync_source(db, current_registry(db), spec, self.settings)
            (log.info if outcome.ok else log.warning)("source %s: %s: %s", spec.id, outcome.status, outcome.message)
            outcomes.append(outcome)
        return outcomes

    @contextmanager
    def _lease_kept(self):
        """Renew the lease while one sync runs: a pull of a large unit database can outlast
        the lease, and another worker would then take it and pull the same source again."""
        done = threading.Event()

        def renew() -> None:
            while not done.wait(self.lease_seconds / 3):
                try:
                    states.take_lease(self.db, LEASE, self.holder, self.lease_seconds)
                except Exception as exc:  # the next renewal (or the next tick) tries again
                    log.warning("the scheduler's lease was not renewed: %s: %s", type(exc).__name__, exc)

        thread = threading.Thread(target=renew, name="sdmx-sources-lease", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def due(self, specs: list[SourceSpec], now: datetime | None = None) -> list[SourceSpec]:
        now = now or states.utcnow()
        known = states.all_states(self.db)
        result = []
        for spec in specs:
            when = next_run(spec.schedule, known.get(spec.id), now)
            if when is not None and when <= now:
                result.append(spec)
        return result

    def _report_errors(self, errors) -> None:
        texts = {str(e) for e in errors}
        for text in sorted(texts - self._reported):
            log.error("%s", text)
        self._reported = texts
