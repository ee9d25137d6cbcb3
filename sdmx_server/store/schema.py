"""Creating the store's own tables (the fact table registry, load records), and the series
tables of fact tables that were loaded before series tables existed."""

from __future__ import annotations

from sdmx_server.store.database import Database


def create_store_tables(db: Database) -> None:
    from sdmx_server.store import records, series, tables
    from sdmx_server.store.versions import create_stamp_table

    for model in (records.LoadRecord, tables.FactTableRow):
        model.__table__.create(db.engine, checkfirst=True)
    create_stamp_table(db)
    series.migrate(db)
