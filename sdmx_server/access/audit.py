"""The audit trail: every write, with who, when, from where, what and the outcome.

Append-only; each entry carries the hash of the one before it, so that a changed or removed
entry breaks the chain (`sdmx-server audit verify`).

`record` is the one call every write makes (structures, loads, uploads, syncs, users, tokens,
grants). It never raises into the write it records: a failure to audit is logged loudly.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel

from sdmx_server.access.principal import Principal
from sdmx_server.store.database import Database

log = logging.getLogger("sdmx_server.audit")


class AuditEntry(SQLModel, table=True):
    __tablename__ = "sdmx_audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    actor: str = Field(index=True)  # user:NAME, anonymous, cli
    method: str  # types.AuthMethod
    address: str | None = None  # the client's address, or the host of a CLI run
    action: str = Field(index=True)  # e.g. data.load, structure.put, grant.add, token.create
    target: str = Field(index=True)  # e.g. SSO:DF_KPI(1.0), user:ali, token 12
    outcome: str  # ok, denied, rejected, failed, ...
    details: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    prev_hash: str = ""
    hash: str = ""


def create_audit_tables(db: Database) -> None:
    SQLModel.metadata.create_all(db.engine, tables=[AuditEntry.__table__])


def entry_hash(prev_hash: str, entry: AuditEntry) -> str:
    body = json.dumps([prev_hash, entry.at.isoformat(), entry.actor, entry.method, entry.address,
                       entry.action, entry.target, entry.outcome, entry.details], ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def record(db: Database, *, actor: Principal, action: str, target: str, outcome: str,
           address: str | None = None, details: dict | None = None) -> None:
    """Append one entry (its own transaction)."""
    try:
        with Session(db.engine) as session:
            last = session.exec(sa.select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
            entry = AuditEntry(at=datetime.now(timezone.utc), actor=actor.identity, method=actor.method,
                               address=address, action=action, target=target, outcome=outcome,
                               details=json.dumps(details or {}, ensure_ascii=False, sort_keys=True))
            entry.prev_hash = last or ""
            entry.hash = entry_hash(entry.prev_hash, entry)
            session.add(entry)
            session.commit()
    except Exception:  # noqa: BLE001 - a write is never undone by its audit
        log.exception("audit entry not written: %s %s %s", actor.identity, action, target)
