"""One fact table per dataflow: a column per dimension, the measure and each attribute.

Two dataflows that share a DSD keep their data apart, each in its own table. A table's layout
is recorded next to it, so that a later DSD version that moves or removes a dimension is
caught before any data is written against the wrong columns; a new attribute just adds a
column.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, select

from sdmx_server.registry.shape import DataShape
from sdmx_server.store import history as _history
from sdmx_server.store.database import Database
from sdmx_server.store.history import UPDATED
from sdmx_server.store.locks import FACT_TABLES, lock_in_session

#: Columns the store adds to every fact table; no component may take these names.
PERIOD_START = "sdmx_period_start"
PERIOD_END = "sdmx_period_end"
LOAD_ID = "sdmx_load"

_SAFE_COLUMN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,59}$")


class IncompatibleStructure(ValueError):
    """The dataflow's DSD no longer fits the table that holds its data."""


#: PostgreSQL fact tables' fillfactor (percent of each page filled by a load; see FactTable.table).
FACT_FILLFACTOR = 90


class FactTableRow(SQLModel, table=True):
    __tablename__ = "sdmx_fact_table"
    __table_args__ = (sa.UniqueConstraint("flow_agency", "flow_id", "flow_version"),)

    pk: int | None = Field(default=None, primary_key=True)
    flow_agency: str
    flow_id: str
    flow_version: str
    table_name: str = Field(unique=True)
    layout: str  # JSON, see FactTable.layout_json
    created_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))


def _text() -> sa.types.TypeEngine:
    # Byte order everywhere, so that SQLite and PostgreSQL sort keys (and periods) alike.
    return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


@dataclass(frozen=True)
class FactTable:
    name: str
    shape: DataShape
    #: component id -> column name
    columns: dict[str, str] = field(hash=False)

    @property
    def key_ids(self) -> tuple[str, ...]:
        return self.shape.all_dimension_ids

    @property
    def measure_numeric(self) -> bool:
        return self.shape.measure.numeric

    @cached_property
    def table(self) -> sa.Table:
        shape = self.shape
        cols = [sa.Column(self.columns[d.id], _text(), nullable=False) for d in shape.dimensions]
        if shape.time is not None:
            cols.append(sa.Column(self.columns[shape.time.id], _text(), nullable=False))
        measure_type = sa.Float(precision=53) if self.measure_numeric else _text()
        cols.append(sa.Column(self.columns[shape.measure.id], measure_type, nullable=True))
        cols += [sa.Column(self.columns[a.id], _text(), nullable=True) for a in shape.attributes]
        cols += [
            # Period bounds in epoch microseconds, for startPeriod/endPeriod (see query.periods).
            sa.Column(PERIOD_START, sa.BigInteger, nullable=True),
            sa.Column(PERIOD_END, sa.BigInteger, nullable=True),
            sa.Column(LOAD_ID, sa.BigInteger, nullable=True),
            # The transaction time of the load that wrote the row (store/history.py).
            sa.Column(UPDATED, sa.BigInteger, nullable=True),
        ]
        key = [self.columns[i] for i in self.key_ids]
        return sa.Table(
            self.name,
            sa.MetaData(),
            *cols,
            sa.PrimaryKeyConstraint(*key, name=f"{self.name}_pk"),
            # Rows live in key order: series come out sorted without a sort step.
            sqlite_with_rowid=False,
            # PostgreSQL: room on each page for a revised row's new version beside the old one,
            # so that a revision (which changes no key column) is a HOT update that adds no
            # index entry. Full pages made every revised row a new index entry too.
            postgresql_with={"fillfactor": FACT_FILLFACTOR},
        )

    @property
    def key_columns(self) -> list[str]:
        return [self.columns[i] for i in self.key_ids]

    @cached_property
    def history(self) -> sa.Table:
        """The table of the rows' earlier versions (store/history.py)."""
        return _history.history_table(self.name, self.table.columns, self.key_columns)

    def column(self, component_id: str) -> sa.Column:
        return self.table.c[self.columns[component_id]]

    def layout_json(self) -> str:
        shape = self.shape
        return json.dumps(
            {
                "dimensions": [[d.id, self.columns[d.id]] for d in shape.dimensions],
                "time": [shape.time.id, self.columns[shape.time.id]] if shape.time else None,
                "measure": [shape.measure.id, self.columns[shape.measure.id], self.measure_numeric],
                "attributes": [[a.id, self.columns[a.id]] for a in shape.attributes],
            }
        )


class FactStandIn:
    """What stands where a FactTable stands in store/sql.py over other rows of one (its
    `fact`): a read of the past (store/history_sql.View), an embargo preview
    (store/preview.Overlay). Subclasses give `fact`, `name` and `table`."""

    fact: FactTable

    @property
    def shape(self) -> DataShape:
        return self.fact.shape

    @property
    def columns(self) -> dict[str, str]:
        return self.fact.columns

    @property
    def key_ids(self) -> tuple[str, ...]:
        return self.fact.key_ids

    @property
    def measure_numeric(self) -> bool:
        return self.fact.measure_numeric

    def column(self, component_id: str):
        return self.table.c[self.fact.columns[component_id]]  # type: ignore[attr-defined]


def table_name_for(flow: tuple[str, str, str]) -> str:
    readable = re.sub(r"[^a-z0-9]+", "_", "_".join(flow).lower()).strip("_")[:40]
    digest = hashlib.sha1("\x1f".join(flow).encode()).hexdigest()[:8]
    return f"obs_{readable}_{digest}"


def column_names(shape: DataShape, previous: dict[str, str] | None = None) -> dict[str, str]:
    """Component ids as column names where the database takes them as they are."""
    names: dict[str, str] = dict(previous or {})
    taken = {n.lower() for n in names.values()} | {PERIOD_START, PERIOD_END, LOAD_ID, UPDATED}
    for index, component in enumerate(shape.components):
        if component.id in names:
            continue
        name = component.id
        if not _SAFE_COLUMN.match(name) or name.lower() in taken:
            name = f"c{index}_{re.sub(r'[^A-Za-z0-9_]', '_', component.id)[:40]}"
        names[component.id] = name
        taken.add(name.lower())
    return names


def find_fact_table(db: Database, flow: tuple[str, str, str], shape: DataShape) -> FactTable | None:
    """The table of a dataflow, if it has one that fits the shape (no DDL)."""
    with Session(db.engine) as session:
        row = fact_table_row(session, flow)
        if row is None:
            return None
        previous = {cid: col for cid, col in _layout_columns(json.loads(row.layout))}
        return FactTable(row.table_name, shape, column_names(shape, previous))


def stored_attribute_ids(db: Database, flow: tuple[str, str, str]) -> frozenset[str]:
    """The attributes the dataflow's fact table has columns for: a DSD may have gained one that
    its table gets only when a load next writes (ensure_fact_table)."""
    with Session(db.engine) as session:
        row = fact_table_row(session, flow)
    if row is None:
        return frozenset()
    return frozenset(cid for cid, _ in json.loads(row.layout)["attributes"])


def ensure_fact_table(db: Database, flow: tuple[str, str, str], shape: DataShape) -> FactTable:
    """The table of a dataflow (and its history table), created or widened as its DSD requires."""
    found = _fitting(db, flow, shape)
    if found is not None:
        return found  # the common case: no DDL, no lock
    with Session(db.engine) as session:
        # Two first loads of one dataflow at once: one creates, the other waits and finds it.
        lock_in_session(db, session.connection(), FACT_TABLES)
        row = fact_table_row(session, flow)
        if row is None:
            fact = FactTable(table_name_for(flow), shape, column_names(shape))
            fact.table.create(session.connection(), checkfirst=True)
            for statement in _history.create_ddl(fact.history, session.bind.dialect):
                session.execute(sa.text(statement))
            session.add(FactTableRow(
                flow_agency=flow[0], flow_id=flow[1], flow_version=flow[2],
                table_name=fact.name, layout=fact.layout_json(),
            ))
            session.commit()
            return fact
        layout = json.loads(row.layout)
        check_compatible(layout, shape, flow)
        previous = {cid: col for cid, col in _layout_columns(layout)}
        fact = FactTable(row.table_name, shape, column_names(shape, previous))
        known = {cid for cid, _ in layout["attributes"]}
        for attribute in shape.attributes:
            if attribute.id not in known:
                column = sa.Column(fact.columns[attribute.id], _text(), nullable=True)
                ddl = sa.schema.CreateColumn(column).compile(dialect=session.bind.dialect)
                # The history table keeps the fact table's columns.
                for table in (fact.name, fact.history.name):
                    session.execute(sa.text(f'ALTER TABLE "{table}" ADD COLUMN {ddl}'))
        if fact.layout_json() != row.layout:
            row.layout = fact.layout_json()
            session.add(row)
        session.commit()
        return fact


def _fitting(db: Database, flow: tuple[str, str, str], shape: DataShape) -> FactTable | None:
    """The dataflow's table when it exists and already fits the shape as it is."""
    with Session(db.engine) as session:
        row = fact_table_row(session, flow)
        if row is None:
            return None
        layout = json.loads(row.layout)
    check_compatible(layout, shape, flow)
    fact = FactTable(row.table_name, shape, column_names(shape, dict(_layout_columns(layout))))
    return fact if fact.layout_json() == row.layout else None


#: Rows SQLite's ANALYZE looks at per index: enough to see how many distinct codes lead the key.
SQLITE_ANALYSIS_LIMIT = 2000


def refresh_statistics(db: Database, fact: FactTable) -> None:
    """Tell the query planner what a fact table holds, after a load changed it.

    SQLite: with statistics it skip-scans the primary key for a key whose first dimensions
    are wildcards (`.R01.S01.F.Y01`: well under a millisecond instead of a scan of the whole
    table); without, it scans. PostgreSQL: without statistics it guesses, and sorts whole
    tables rather than walk their key (select.py also forbids that for key-order reads).
    SQLite's ANALYZE is bounded (analysis_limit); PostgreSQL's samples a fixed number of rows."""
    refresh_statistics_of(db, fact.name)


def refresh_statistics_of(db: Database, table_name: str) -> None:
    """refresh_statistics for a table known by its name (a restored one)."""
    conn = db.adbc_connect()
    try:
        with conn.cursor() as cur:
            if db.is_sqlite:
                cur.execute(f"PRAGMA analysis_limit = {SQLITE_ANALYSIS_LIMIT}")
                cur.fetchall()
            cur.execute(f'ANALYZE "{table_name}"')
        conn.commit()
    finally:
        conn.close()


def check_compatible(layout: dict, shape: DataShape, flow: tuple[str, str, str]) -> None:
    ref = f"{flow[0]}:{flow[1]}({flow[2]})"
    stored_dims = [d for d, _ in layout["dimensions"]]
    if stored_dims != list(shape.dimension_ids):
        raise IncompatibleStructure(
            f"dataflow {ref} holds data with dimensions {', '.join(stored_dims)}; its structure now has "
            f"{', '.join(shape.dimension_ids)}. Publish the new structure under a new dataflow version."
        )
    stored_time = layout["time"][0] if layout["time"] else None
    if stored_time != (shape.time.id if shape.time else None):
        raise IncompatibleStructure(f"dataflow {ref}: the time dimension changed from {stored_time}")
    if layout["measure"][0] != shape.measure.id or layout["measure"][2] != shape.measure.numeric:
        raise IncompatibleStructure(f"dataflow {ref}: the measure changed (id or numeric type)")


def _layout_columns(layout: dict):
    yield from layout["dimensions"]
    if layout["time"]:
        yield layout["time"]
    yield layout["measure"][:2]
    yield from layout["attributes"]


def fact_table_row(session: Session, flow: tuple[str, str, str]) -> FactTableRow | None:
    return session.exec(
        select(FactTableRow).where(
            FactTableRow.flow_agency == flow[0],
            FactTableRow.flow_id == flow[1],
            FactTableRow.flow_version == flow[2],
        )
    ).first()
