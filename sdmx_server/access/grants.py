"""Grants in the database: add, revoke, list, and the generation every change bumps.

The rules' meaning is access/rules.py's; here they are rows. A grant and its generation bump
are one transaction, so a process that sees the new generation reads the new grants
(access/store.py caches them per process). The same rule twice is one row (a unique key on
subject, action, scope and region): adding it again answers the existing grant.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlmodel import Session, select

from sdmx_server.access.rules import Grant, Scope
from sdmx_server.access.tables import AccessState, GrantRow, now
from sdmx_server.store.database import Database


def where_text(grant: Grant) -> str:
    return json.dumps([[d, list(c)] for d, c in grant.where], separators=(",", ":"))


def to_grant(row: GrantRow) -> Grant:
    where = tuple((d, tuple(c)) for d, c in json.loads(row.where_text or "[]"))
    return Grant(row.subject, row.action, Scope.parse(row.scope), where, id=row.id)  # type: ignore[arg-type]


def grant_json(row: GrantRow) -> dict:
    grant = to_grant(row)
    return {"id": row.id, "subject": grant.subject, "action": grant.action, "scope": str(grant.scope),
            "where": {d: list(c) for d, c in grant.where}, "rule": str(grant),
            "created_by": row.created_by, "created_at": row.created_at}


def bump_generation(session: Session) -> None:
    # One atomic UPDATE (its row is made with the tables): two writers never both write n+1.
    session.execute(sa.update(AccessState).where(AccessState.id == 1)
                    .values(generation=AccessState.generation + 1))


def generation(db: Database) -> int:
    with Session(db.engine) as session:
        state = session.get(AccessState, 1)
        return state.generation if state else 0


def _find(session: Session, grant: Grant) -> GrantRow | None:
    return session.exec(select(GrantRow).where(
        GrantRow.subject == grant.subject, GrantRow.action == grant.action, GrantRow.scope == str(grant.scope),
        GrantRow.where_text == where_text(grant))).first()


def add_grant(db: Database, grant: Grant, created_by: str) -> tuple[GrantRow, bool]:
    """(the grant's row, whether it is new)."""
    with Session(db.engine) as session:
        found = _find(session, grant)
        if found is not None:
            return found, False
        row = GrantRow(subject=grant.subject, action=grant.action, scope=str(grant.scope),
                       where_text=where_text(grant), created_by=created_by, created_at=now())
        session.add(row)
        bump_generation(session)
        try:
            session.commit()
        except sa.exc.IntegrityError:  # the same rule, added by another writer just now
            session.rollback()
            return _find(session, grant), False  # type: ignore[return-value]
        session.refresh(row)
        return row, True


def revoke_grant(db: Database, grant: Grant | None = None, grant_id: int | None = None) -> GrantRow | None:
    """Remove the rule (or the grant of that id); None when there was none."""
    with Session(db.engine) as session:
        row = session.get(GrantRow, grant_id) if grant_id is not None else _find(session, grant)  # type: ignore[arg-type]
        if row is None:
            return None
        session.delete(row)
        bump_generation(session)
        session.commit()
        return row


def list_grant_rows(db: Database) -> list[GrantRow]:
    with Session(db.engine) as session:
        return list(session.exec(select(GrantRow).order_by(GrantRow.id)).all())


def read_grants(db: Database) -> tuple[tuple[Grant, ...], int]:
    """Every grant and the generation they make up, read in one transaction."""
    with Session(db.engine) as session:
        state = session.get(AccessState, 1)
        rows = session.exec(select(GrantRow).order_by(GrantRow.id)).all()
        return tuple(to_grant(r) for r in rows), (state.generation if state else 0)
