"""What a server process holds between requests: the database handle and the structure index.

Each process checks the registry's generation in the database at most once per
`REFRESH_SECONDS`; when another process changed structures, it reads only the changes since
its own generation and derives a new index from the one it has (registry/index.py), so that
many processes on one database agree within a second, without messaging, and without reading
the whole registry again.
"""

from __future__ import annotations

import threading
import time

from sdmx.model.common import MaintainableArtefact

from sdmx_server.boot import create_schema
from sdmx_server.ops import metrics
from sdmx_server.registry.index import Registry, artefact_key
from sdmx_server.registry.shape import DataShape, data_shape
from sdmx_server.registry.store import current_generation, read_all, read_changes
from sdmx_server.settings import Settings
from sdmx_server.store.database import Database
from sdmx_server.store.tables import FactTable, find_fact_table

REFRESH_SECONDS = 1.0
#: How the server's database reads show in PostgreSQL's pg_stat_activity.
READ_APPLICATION_NAME = "sdmx-server"


class ServerState:
    def __init__(self, settings: Settings):
        self.settings = settings
        # Server reads are named (pg_stat_activity) and time-limited; loads elsewhere are not.
        # At most settings.read_connections reads run at once (the HTTP layer's read slots):
        # as many ADBC connections are kept open between them (store/pool.py).
        self.db = Database(settings.database_url, application_name=READ_APPLICATION_NAME,
                           statement_timeout_seconds=settings.statement_timeout_seconds,
                           read_connections=settings.read_connections)
        create_schema(self.db)
        self._lock = threading.Lock()
        self._registry: Registry | None = None
        self._checked_at = 0.0
        self._shapes: dict[tuple, DataShape] = {}
        self._facts: dict[tuple, FactTable | None] = {}

    def registry(self) -> Registry:
        now = time.monotonic()
        if self._registry is not None and now - self._checked_at < REFRESH_SECONDS:
            return self._registry
        with self._lock:
            if self._registry is None:
                stored, generation = read_all(self.db)
                self._registry = Registry.build(stored, generation)
                metrics.index_rebuilt("full")
            elif current_generation(self.db) != self._registry.generation:
                stored, deleted, generation = read_changes(self.db, self._registry.generation)
                self._registry = self._registry.updated(stored, deleted, generation)
                metrics.index_rebuilt("incremental")
                self._shapes.clear()
                self._facts.clear()
            self._checked_at = time.monotonic()
            return self._registry

    def invalidate(self) -> None:
        with self._lock:
            self._checked_at = 0.0

    def shape(self, dsd: MaintainableArtefact) -> DataShape:
        key = (artefact_key(dsd), id(dsd))
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._shapes[key] = data_shape(dsd)
        return shape

    def fact_table(self, flow: tuple[str, str, str], shape: DataShape) -> FactTable | None:
        """The dataflow's table, or None while it has no data. Not cached while absent, so the
        first load becomes visible at once."""
        key = (flow, shape.dsd)
        fact = self._facts.get(key)
        if fact is None:
            fact = find_fact_table(self.db, flow, shape)
            if fact is not None:
                self._facts[key] = fact
        return fact

    def close(self) -> None:
        self.db.dispose()
