"""Reading the audit trail: filtered listings, and checking the chain.

`verify` walks the chain in order, a page at a time, in one snapshot of the database (so that
appends made meanwhile neither break nor extend what it checks), and names the first entry
where the chain does not hold, with why:
- a number is missing (an entry was deleted) or the numbering does not run 1, 2, 3...;
- an entry does not match its own hash (it was edited, or moved to another number);
- an entry does not carry the hash of the one before it (the one before was replaced);
- the last entry is not the one the chain head names (entries were cut off the end, or added
  without the lock).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa

from sdmx_server.access.audit import GENESIS, HEAD_ID, AuditEntry, AuditHead, entry_hash, utc_text
from sdmx_server.store.database import Database

#: Entries read at once by `verify`.
PAGE = 5000


@dataclass(frozen=True)
class Break:
    """The first entry where the chain does not hold."""

    id: int
    reason: str

    def __str__(self) -> str:
        return f"entry {self.id}: {self.reason}"


@dataclass(frozen=True)
class ChainCheck:
    entries: int  # how many entries were checked
    broken: Break | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def verify(db: Database) -> Break | None:
    """The first broken entry, or None when the chain is intact."""
    return check_chain(db).broken


def check_chain(db: Database) -> ChainCheck:
    table = AuditEntry.__table__
    with _snapshot(db) as conn:
        head = conn.execute(sa.select(AuditHead.__table__).where(AuditHead.__table__.c.id == HEAD_ID)).first()
        expected, prev, count = 1, GENESIS, 0
        page = sa.select(table).order_by(table.c.id).limit(PAGE)
        while True:
            rows = conn.execute(page if count == 0 else page.where(table.c.id >= expected)).all()
            for row in rows:
                entry = AuditEntry(**row._mapping)
                broken = _check(entry, expected, prev)
                if broken is not None:
                    return ChainCheck(count, broken)
                expected, prev, count = entry.id + 1, entry.hash, count + 1
            if len(rows) < PAGE:
                break
        if head is None:
            return ChainCheck(count, Break(count, "the chain head is missing"))
        return ChainCheck(count, _check_head(count, prev, head.seq, head.hash))


def _check(entry: AuditEntry, expected: int, prev: str) -> Break | None:
    if entry.id < expected:
        return Break(entry.id, f"numbered out of the chain's order (the next entry is {expected})")
    if entry.id != expected:
        missing = f"entry {expected} is missing" if entry.id == expected + 1 else \
            f"entries {expected} to {entry.id - 1} are missing"
        return Break(entry.id, f"{missing}: removed from the log")
    if entry_hash(entry) != entry.hash:
        return Break(entry.id, "its content does not match its hash: changed after it was written")
    if entry.prev_hash != prev:
        before = f"entry {entry.id - 1}" if entry.id > 1 else "the start of the log"
        return Break(entry.id, f"it does not follow {before}: the entry before it was replaced")
    return None


def _check_head(last: int, last_hash: str, seq: int, head_hash: str) -> Break | None:
    if seq > last:
        missing = f"entry {seq}" if seq == last + 1 else f"entries {last + 1} to {seq}"
        return Break(last + 1, f"{missing}, the end of the log, removed: the chain head names entry {seq}")
    if seq < last:
        return Break(seq + 1, f"not in the chain head, which ends at entry {seq}: added outside the log's lock")
    if head_hash != last_hash:
        return Break(last, "it is not the entry the chain head names: the end of the log was replaced")
    return None


class _snapshot:
    """One consistent view for a whole walk: REPEATABLE READ on PostgreSQL; on SQLite, one
    read transaction (WAL readers see the database as it was when it began)."""

    def __init__(self, db: Database):
        self.db = db

    def __enter__(self) -> sa.Connection:
        conn = self.db.engine.connect()
        if not self.db.is_sqlite:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        self.conn = conn
        conn.begin()
        return conn

    def __exit__(self, *exc) -> None:
        self.conn.rollback()
        self.conn.close()


# -- listing ----------------------------------------------------------------------------------


def entries(db: Database, *, subject: str | None = None, dataflow: str | None = None, action: str | None = None,
            since: datetime | None = None, until: datetime | None = None, limit: int | None = 100) -> list[AuditEntry]:
    """Entries latest first. `subject`: who acted (user:NAME, anonymous, cli, system);
    `dataflow`: AGENCY:ID(VERSION), or AGENCY:ID for every version; `action`: exact, or a
    prefix ending in `.` or `*` (`data.*`); `since`/`until`: times, inclusive."""
    table = AuditEntry.__table__
    query = sa.select(table)
    if subject:
        query = query.where(table.c.actor == subject)
    if dataflow:
        query = query.where(table.c.dataflow == dataflow if dataflow.endswith(")")
                            else table.c.dataflow.like(_escape(dataflow) + "(%", escape="\\"))
    if action:
        prefix = action.rstrip("*")
        query = query.where(table.c.action.like(_escape(prefix) + "%", escape="\\") if action.endswith(("*", "."))
                            else table.c.action == action)
    if since is not None:
        query = query.where(table.c.at >= _utc(since))
    if until is not None:
        query = query.where(table.c.at <= _utc(until))
    query = query.order_by(table.c.id.desc())
    if limit is not None:
        query = query.limit(max(limit, 0))
    with db.engine.connect() as conn:
        return [AuditEntry(**row._mapping) for row in conn.execute(query)]


def entry_json(entry: AuditEntry) -> dict:
    """An entry for machines (the CLI's --json, the admin API)."""
    try:
        details = json.loads(entry.details) if entry.details else {}
    except ValueError:
        details = entry.details
    return {
        "id": entry.id, "at": utc_text(entry.at), "actor": entry.actor, "method": entry.method,
        "credential": entry.credential, "address": entry.address, "action": entry.action, "target": entry.target,
        "dataflow": entry.dataflow, "outcome": entry.outcome, "details": details,
        "prev_hash": entry.prev_hash, "hash": entry.hash,
    }


def parse_time(text: str) -> datetime:
    """An ISO 8601 time or date (`2026-12-01`, `2026-12-01T08:00+03:30`); UTC unless it says."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
