"""Opening a store: every table the server needs, created or brought up to date.

The one place that knows all the layers' tables, so that no layer imports another to create
its own: the store's (fact tables, load records) and the registry's (artefacts, history).
"""

from __future__ import annotations

from sdmx_server.store.database import Database


def create_schema(db: Database) -> None:
    from sdmx_server.access.audit import create_audit_tables
    from sdmx_server.access.tables import create_access_tables
    from sdmx_server.ops.calendar import create_calendar_tables
    from sdmx_server.ops.usage_tables import create_usage_tables
    from sdmx_server.registry.migrate import migrate
    from sdmx_server.registry.store import create_registry_tables
    from sdmx_server.store.embargo import create_embargo_tables
    from sdmx_server.store.schema import create_store_tables

    create_store_tables(db)
    create_embargo_tables(db)
    create_registry_tables(db)
    create_audit_tables(db)
    create_access_tables(db)
    create_calendar_tables(db)
    create_usage_tables(db)
    migrate(db)
