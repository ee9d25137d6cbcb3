"""Creating the store's own tables (structures, fact table registry, load records)."""

from __future__ import annotations

from sqlmodel import SQLModel

from sdmx_server.store.database import Database


def create_schema(db: Database) -> None:
    # Importing the modules registers their tables in SQLModel.metadata.
    from sdmx_server.registry import store as _registry  # noqa: F401
    from sdmx_server.store import records as _records  # noqa: F401
    from sdmx_server.store import tables as _tables  # noqa: F401

    SQLModel.metadata.create_all(db.engine)
