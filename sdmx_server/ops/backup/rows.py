"""The server's own tables (everything but observations) as JSON lines: one file per table,
one JSON object per row, every column, in primary-key order.

Values as JSON says them, except times (ISO 8601, as the database holds them: naive UTC) and
bytes (base64, under {"b64": ...}); floats are written by Python's repr, which reads back to
the same double. Reading converts by the column's type, so a row written from SQLite goes into
PostgreSQL unchanged and the reverse.

Which tables, in which order, is `TABLES` (what the restore needs first comes first). Left out
on purpose: portal sessions (a restored server signs everyone in again) and the scheduler's
lease (held by a running process, meaningless elsewhere). The audit log is restored by
ops/backup/audit.py, through its chain head.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa

from sdmx_server.store.database import Database

#: Rows read (and inserted) at once: memory is bounded by a page, whatever the table's size.
PAGE = 2000


@dataclass(frozen=True)
class TableSpec:
    table: sa.Table
    #: Restored by upserting the one row a new store already has (generation counters).
    singleton: bool = False

    @property
    def file(self) -> str:
        return f"tables/{self.table.name}.jsonl"


def table_specs() -> list[TableSpec]:
    from sdmx_server.access import tables as access
    from sdmx_server.ops import calendar
    from sdmx_server.registry import store as registry
    from sdmx_server.sources.state import SourceState
    from sdmx_server.store import embargo, records, tables

    return [
        TableSpec(registry.ArtefactRow.__table__),
        TableSpec(registry.ArtefactChange.__table__),
        TableSpec(registry.RegistryState.__table__, singleton=True),
        TableSpec(records.LoadRecord.__table__),
        TableSpec(tables.FactTableRow.__table__),
        TableSpec(embargo.Embargo.__table__),
        TableSpec(embargo.EmbargoRows.__table__),
        TableSpec(access.User.__table__),
        TableSpec(access.UserGroup.__table__),
        TableSpec(access.ApiToken.__table__),
        TableSpec(access.GrantRow.__table__),
        TableSpec(access.AccessState.__table__, singleton=True),
        TableSpec(SourceState.__table__),
        TableSpec(calendar.PlannedRelease.__table__),
    ]


#: Tables a store has that are deliberately not exported (see the module's docstring), and
#: those restored elsewhere (the audit log, ops/backup/audit.py; data stamps, made anew).
NOT_COPIED = frozenset({"sdmx_session", "sdmx_source_lease", "sdmx_audit", "sdmx_audit_head", "sdmx_data_stamp"})


def encode(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"b64": base64.b64encode(bytes(value)).decode("ascii")}
    return value


def decode(value, column: sa.Column):
    if value is None:
        return None
    kind = column.type.impl if isinstance(column.type, sa.types.TypeDecorator) else column.type
    if isinstance(kind, sa.DateTime):
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None and getattr(kind, "timezone", False):
            moment = moment.replace(tzinfo=timezone.utc)  # (sqlmodel's UTCDateTime takes aware times only)
        return moment
    if isinstance(kind, sa.Date):
        return date.fromisoformat(value)
    if isinstance(kind, sa.LargeBinary):
        return base64.b64decode(value["b64"])
    return value


def pages(db: Database, table: sa.Table) -> Iterator[list[dict]]:
    """The table's rows, a page at a time, in primary-key order (keyset paging: each page is
    one short query, whatever the table's size)."""
    key = list(table.primary_key.columns)
    last = None
    with db.engine.connect() as conn:
        while True:
            statement = sa.select(table).order_by(*key).limit(PAGE)
            if last is not None:
                statement = statement.where(sa.tuple_(*key) > sa.tuple_(*last) if len(key) > 1 else key[0] > last[0])
            rows = [dict(r._mapping) for r in conn.execute(statement)]
            if not rows:
                return
            yield rows
            last = [rows[-1][c.name] for c in key]


def write_table(db: Database, table: sa.Table, path: Path) -> int:
    """The table as JSON lines; how many rows."""
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for page in pages(db, table):
            for row in page:
                out.write(json.dumps({k: encode(v) for k, v in row.items()}, ensure_ascii=False, sort_keys=True))
                out.write("\n")
            count += len(page)
    return count


def read_lines(path: Path, table: sa.Table) -> Iterator[list[dict]]:
    """The rows of a JSON-lines file, converted for `table`, a page at a time. A column the
    file has and the table lacks is an error (an export from a newer server); one the table
    has and the file lacks takes its default."""
    columns = {c.name: c for c in table.columns}
    page: list[dict] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            raw = json.loads(line)
            unknown = sorted(set(raw) - set(columns))
            if unknown:
                raise ValueError(f"{path.name} line {number}: columns {', '.join(unknown)} are not in {table.name} "
                                 "(an export from a newer server?)")
            page.append({k: decode(v, columns[k]) for k, v in raw.items()})
            if len(page) >= PAGE:
                yield page
                page = []
    if page:
        yield page


def restore_table(db: Database, spec: TableSpec, path: Path) -> int:
    """Insert the file's rows (a singleton: update the row the new store has, or insert it);
    then move PostgreSQL's sequence of an integer key past the highest id, so that new rows
    do not collide with restored ones. How many rows."""
    table, count = spec.table, 0
    with db.engine.begin() as conn:
        for page in read_lines(path, table):
            if spec.singleton:
                for row in page:
                    key = [c for c in table.primary_key.columns]
                    where = sa.and_(*[c == row[c.name] for c in key])
                    if conn.execute(sa.update(table).where(where).values(**row)).rowcount == 0:
                        conn.execute(sa.insert(table).values(**row))
            else:
                conn.execute(sa.insert(table), page)
            count += len(page)
        if not db.is_sqlite:
            for column in table.primary_key.columns:
                if isinstance(column.type, sa.Integer) and column.autoincrement in (True, "auto") and not spec.singleton:
                    sequence = conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                                            {"t": table.name, "c": column.name}).scalar()
                    if sequence:
                        conn.execute(sa.text(f'SELECT setval(:s, (SELECT coalesce(max("{column.name}"), 0) + 1 '
                                             f'FROM "{table.name}"), false)'), {"s": sequence})
    return count


def row_count(db: Database, table: sa.Table) -> int:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
