"""The audit trail: every write, with who, when, from where, what and the outcome.

Append-only and hash-chained. Entry N carries the hash of entry N-1 and its own hash over a
canonical serialisation of every field, its number included; a one-row chain head holds the
number and hash of the last entry. So an edited entry no longer matches its hash, a removed or
reordered one breaks the numbering or the links, and entries cut off the end no longer reach
the head (`verify`, in audit_log.py, names the first broken entry).

Why a lock: reading the last hash and appending must be one step, or two writers (server
workers, the CLI, the scheduler) chain onto the same entry and the chain forks. The head row
is that lock: PostgreSQL's SELECT ... FOR UPDATE of it; on SQLite a first statement that writes
(without changing anything) takes the database's write lock, as store/locks.py does for loads.

The database refuses UPDATE and DELETE on the log (and anything but a step forward on the
head) through triggers, created idempotently with the tables. Someone who owns the database can
drop them, and could even rewrite the whole chain: the triggers stop accidents and casual
edits, the chain makes any edit that did not rewrite every later entry and the head visible.

`record` is the one call every write makes (structures, loads, uploads, syncs, releases, users,
tokens, grants, denied writes). It never raises into the write it records, and the write is
not refused when its entry cannot be written: entries are appended once the write has
committed (its outcome is part of the entry), so the write cannot be undone anymore; refusing
writes whenever the log is unwritable would also turn an audit problem into an outage of loads
and releases. Instead a lost entry is logged at ERROR level with the whole entry as JSON, so
that the server's log keeps it, and a load still has its load record.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import socket
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from sdmx_server.access.principal import Principal
from sdmx_server.store.database import SQLITE_BUSY_TIMEOUT_MS, Database
from sdmx_server.store.locks import SQLITE_LOAD_WAIT_MS

log = logging.getLogger("sdmx_server.audit")

#: The previous hash of the first entry.
GENESIS = ""
#: The one row of the chain head.
HEAD_ID = 1
#: What the serialisation is; a change of format would be a new tag, never a silent change.
FORMAT = "sdmx-audit/1"


class AuditEntry(SQLModel, table=True):
    __tablename__ = "sdmx_audit"

    #: The entry's number in the chain: 1, 2, 3... without gaps, given under the lock.
    id: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))
    at: datetime = Field(index=True)  # UTC
    actor: str = Field(index=True)  # user:NAME, anonymous, cli, system
    method: str  # types.AuthMethod
    credential: str | None = None  # the token's or session's id (never the secret)
    address: str | None = None  # the client's address, or the host of a CLI run
    action: str = Field(index=True)  # e.g. data.load, structure.append, grant.add, token.create
    target: str = Field(index=True)  # e.g. SSO:DF_KPI(1.0), a URN, user:ali, token 12
    dataflow: str | None = Field(default=None, index=True)  # AGENCY:ID(VERSION) when about one
    outcome: str  # ok, denied, rejected, failed, applied, pending, ...
    details: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    prev_hash: str = ""
    hash: str = ""


class AuditHead(SQLModel, table=True):
    """The chain's last entry: what appends lock, and what tells a cut-off tail."""

    __tablename__ = "sdmx_audit_head"

    id: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))
    seq: int = 0
    hash: str = GENESIS


# -- schema -----------------------------------------------------------------------------------


def create_audit_tables(db: Database) -> None:
    from sdmx_server.store.schema import add_missing_columns

    SQLModel.metadata.create_all(db.engine, tables=[AuditEntry.__table__, AuditHead.__table__])
    add_missing_columns(db, AuditEntry.__table__)  # stores made before the chain had a head
    _create_head(db)
    if db.is_sqlite:
        _sqlite_triggers(db)
    else:
        _postgres_triggers(db)


def _create_head(db: Database) -> None:
    from sqlalchemy.dialects import postgresql, sqlite

    with db.engine.begin() as conn:
        if conn.execute(sa.select(AuditHead.seq).where(AuditHead.id == HEAD_ID)).first() is not None:
            return
        entries = AuditEntry.__table__
        last = conn.execute(sa.select(entries.c.id, entries.c.hash).order_by(entries.c.id.desc()).limit(1)).first()
        insert = (sqlite if db.is_sqlite else postgresql).insert(AuditHead.__table__)
        conn.execute(insert.values(id=HEAD_ID, seq=last[0] if last else 0, hash=last[1] if last else GENESIS)
                     .on_conflict_do_nothing())


_REFUSED = "the audit log is append-only"

_SQLITE_TRIGGERS = (
    f"CREATE TRIGGER IF NOT EXISTS sdmx_audit_no_update BEFORE UPDATE ON sdmx_audit "
    f"BEGIN SELECT RAISE(ABORT, '{_REFUSED}: UPDATE refused'); END",
    f"CREATE TRIGGER IF NOT EXISTS sdmx_audit_no_delete BEFORE DELETE ON sdmx_audit "
    f"BEGIN SELECT RAISE(ABORT, '{_REFUSED}: DELETE refused'); END",
    f"CREATE TRIGGER IF NOT EXISTS sdmx_audit_head_forward BEFORE UPDATE ON sdmx_audit_head "
    f"WHEN NEW.id <> OLD.id OR NEW.seq <> OLD.seq + 1 "
    f"BEGIN SELECT RAISE(ABORT, '{_REFUSED}: the chain head only moves forward'); END",
    f"CREATE TRIGGER IF NOT EXISTS sdmx_audit_head_no_delete BEFORE DELETE ON sdmx_audit_head "
    f"BEGIN SELECT RAISE(ABORT, '{_REFUSED}: DELETE refused'); END",
)


def _sqlite_triggers(db: Database) -> None:
    with db.engine.begin() as conn:
        for ddl in _SQLITE_TRIGGERS:
            conn.exec_driver_sql(ddl)


_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION sdmx_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'sdmx_audit_head' AND TG_OP = 'UPDATE' THEN
    IF NEW.id = OLD.id AND NEW.seq = OLD.seq + 1 THEN
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION '{_REFUSED}: % on % refused', TG_OP, TG_TABLE_NAME;
END $$"""

_PG_TRIGGERS = {
    ("sdmx_audit", "sdmx_audit_append_only"): "BEFORE UPDATE OR DELETE ON sdmx_audit FOR EACH ROW",
    ("sdmx_audit", "sdmx_audit_no_truncate"): "BEFORE TRUNCATE ON sdmx_audit FOR EACH STATEMENT",
    ("sdmx_audit_head", "sdmx_audit_head_forward"): "BEFORE UPDATE OR DELETE ON sdmx_audit_head FOR EACH ROW",
    ("sdmx_audit_head", "sdmx_audit_head_no_truncate"): "BEFORE TRUNCATE ON sdmx_audit_head FOR EACH STATEMENT",
}


def _postgres_triggers(db: Database) -> None:
    """Created once, whichever process starts first: under a lock, and only those missing
    (CREATE TRIGGER takes a lock that would stall appends at every start)."""
    from sdmx_server.store.locks import lock_key

    with db.engine.begin() as conn:
        conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({lock_key('sdmx_audit schema')})"))
        present = set(conn.execute(sa.text(
            "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relname IN ('sdmx_audit', 'sdmx_audit_head') AND c.relnamespace = to_regnamespace(current_schema())"
        )).scalars())
        missing = [(name, when) for (_, name), when in _PG_TRIGGERS.items() if name not in present]
        if not missing:
            return
        conn.execute(sa.text(_PG_FUNCTION))  # (text: psycopg would read its % as placeholders)
        for name, when in missing:
            conn.exec_driver_sql(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION sdmx_audit_append_only()")


# -- the chain --------------------------------------------------------------------------------


def utc_text(moment: datetime) -> str:
    """A time as the chain hashes it: UTC, to the microsecond (both databases keep that)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(entry: AuditEntry) -> bytes:
    """Every field, the number and the previous hash included, in one fixed form."""
    body = {
        "format": FORMAT, "id": entry.id, "at": utc_text(entry.at), "actor": entry.actor, "method": entry.method,
        "credential": entry.credential, "address": entry.address, "action": entry.action, "target": entry.target,
        "dataflow": entry.dataflow, "outcome": entry.outcome, "details": entry.details, "prev_hash": entry.prev_hash,
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def entry_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(canonical(entry)).hexdigest()


# -- appending --------------------------------------------------------------------------------

_FLOW_REF = re.compile(r"^[A-Za-z][\w.\-]*:[\w@$\-]+\([\w.\-+]+\)$")
_FLOW_URN = re.compile(r"^urn:sdmx:org\.sdmx\.infomodel\.datastructure\.Dataflow=(?P<ref>.+)$")


def dataflow_of(target: str) -> str | None:
    """The dataflow an entry is about, told from its target: AGENCY:ID(VERSION) or a
    dataflow's URN."""
    m = _FLOW_URN.match(target)
    ref = m["ref"] if m else target
    return ref if _FLOW_REF.match(ref) else None


def actor_name(principal: Principal) -> str:
    """How the log names who acted: user:NAME, anonymous, or the machine itself (cli, system)."""
    return principal.method if principal.method in ("cli", "system") else principal.identity


def record(db: Database, *, actor: Principal, action: str, target: str, outcome: str,
           address: str | None = None, details: dict | None = None, dataflow: str | None = None) -> int | None:
    """Append one entry (its own transaction, after the write it records); its number, or
    None when it could not be written (logged). `dataflow` defaults to what `target` names."""
    if address is None and actor.method in ("cli", "system"):
        address = socket.gethostname()
    entry = AuditEntry(
        at=datetime.now(timezone.utc), actor=actor_name(actor), method=actor.method,
        credential=actor.credential, address=address, action=action, target=target,
        dataflow=dataflow if dataflow is not None else dataflow_of(target), outcome=outcome,
        details=json.dumps(details or {}, ensure_ascii=False, sort_keys=True, default=str),
    )
    try:
        return _append(db, entry)
    except Exception:  # noqa: BLE001 - a write is never undone by its audit
        lost = {k: getattr(entry, k) for k in ("actor", "method", "credential", "address", "action", "target",
                                                "dataflow", "outcome", "details")}
        lost["at"] = utc_text(entry.at)
        log.exception("audit entry not written: %s", json.dumps(lost, ensure_ascii=False))
        return None


def _append(db: Database, entry: AuditEntry) -> int:
    with db.engine.connect() as conn:
        if not db.is_sqlite:
            return _append_on(conn, entry)
        # Wait as long as a queued load does (a load holds the write lock while it applies),
        # set inside the append's transaction rather than with commits of its own as
        # store/locks.patient does (each commit costs a sync to disk), and always set back.
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_LOAD_WAIT_MS}")
        try:
            return _append_on(conn, entry)
        finally:
            conn.rollback()
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            conn.rollback()


def _append_on(conn: sa.Connection, entry: AuditEntry) -> int:
    head = AuditHead.__table__
    if conn.dialect.name == "sqlite":
        # Write first: the database's write lock is taken (waited for) before the head is read.
        conn.exec_driver_sql("UPDATE sdmx_audit_head SET seq = seq WHERE 0")
    # (FOR UPDATE: PostgreSQL's row lock; SQLite's compiler leaves it out.)
    seq, prev = conn.execute(sa.select(head.c.seq, head.c.hash).where(head.c.id == HEAD_ID)
                             .with_for_update()).one()
    entry.id = seq + 1
    entry.prev_hash = prev
    entry.hash = entry_hash(entry)
    conn.execute(sa.insert(AuditEntry.__table__).values(**{c.name: getattr(entry, c.name)
                                                          for c in AuditEntry.__table__.columns}))
    conn.execute(sa.update(head).where(head.c.id == HEAD_ID).values(seq=entry.id, hash=entry.hash))
    conn.commit()
    return entry.id
