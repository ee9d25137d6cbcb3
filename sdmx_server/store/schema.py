"""Creating the store's own tables (the fact table registry, load records), and bringing older
stores up to date: columns added to the load records, series tables of fact tables that were
loaded before series tables existed, history tables and UPDATED of fact tables from before
revisions; and the records of loads whose process was killed are marked failed."""

from __future__ import annotations

import sqlalchemy as sa

from sdmx_server.store.database import Database


def create_store_tables(db: Database) -> None:
    from sdmx_server.store import history, liveness, records, series, tables
    from sdmx_server.store.versions import create_stamp_table

    for model in (records.LoadRecord, tables.FactTableRow):
        model.__table__.create(db.engine, checkfirst=True)
    add_missing_columns(db, records.LoadRecord.__table__)
    create_stamp_table(db)
    series.migrate(db)
    history.migrate(db)
    liveness.mark_abandoned(db)


def add_missing_columns(db: Database, table: sa.Table) -> None:
    """Columns a table's model has and its stored table lacks (all nullable or defaulted)."""
    inspector = sa.inspect(db.engine)
    if table.name not in inspector.get_table_names():
        return
    present = {c["name"] for c in inspector.get_columns(table.name)}
    missing = [c for c in table.columns if c.name not in present]
    if not missing:
        return
    with db.engine.begin() as conn:
        for column in missing:
            ddl = sa.schema.CreateColumn(column).compile(dialect=conn.dialect)
            conn.execute(sa.text(f'ALTER TABLE "{table.name}" ADD COLUMN {ddl}'))
