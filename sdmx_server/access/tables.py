"""The access tables: users, their groups, API tokens, portal sessions, grants and the grants
generation.

Times are epoch seconds (UTC) in a double: the same on SQLite and PostgreSQL, comparable in
SQL, with no time-zone conversion by either driver. Secrets are never stored: a token or a
session id is kept as its SHA-256 (both are 32 random bytes, so a fast hash is enough; a
password, chosen by a person, gets argon2: access/passwords.py).
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from sdmx_server.store.database import Database


def now() -> float:
    return time.time()


def _float(nullable: bool = True) -> sa.Column:
    return sa.Column(sa.Float, nullable=nullable)


class User(SQLModel, table=True):
    __tablename__ = "sdmx_user"

    name: str = Field(primary_key=True)
    display_name: str = ""
    #: argon2 hash; None: no password (the user signs in with tokens only).
    password_hash: str | None = None
    disabled: bool = False
    created_at: float = Field(sa_column=_float(False))


class UserGroup(SQLModel, table=True):
    __tablename__ = "sdmx_user_group"

    user_name: str = Field(primary_key=True)
    group_name: str = Field(primary_key=True)


class ApiToken(SQLModel, table=True):
    __tablename__ = "sdmx_token"

    id: int | None = Field(default=None, primary_key=True)
    user_name: str = Field(index=True)
    secret_hash: str  # sha256 hex of the secret part
    description: str = ""
    created_by: str = ""
    created_at: float = Field(sa_column=_float(False))
    expires_at: float | None = Field(default=None, sa_column=_float())
    revoked_at: float | None = Field(default=None, sa_column=_float())
    last_used_at: float | None = Field(default=None, sa_column=_float())


class PortalSession(SQLModel, table=True):
    __tablename__ = "sdmx_session"

    id_hash: str = Field(primary_key=True)  # sha256 hex of the cookie's value
    user_name: str = Field(index=True)
    csrf_token: str
    address: str | None = None
    created_at: float = Field(sa_column=_float(False))
    expires_at: float = Field(sa_column=_float(False))


class GrantRow(SQLModel, table=True):
    __tablename__ = "sdmx_grant"
    __table_args__ = (sa.UniqueConstraint("subject", "action", "scope", "where_text", name="sdmx_grant_rule"),)

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(index=True)
    action: str
    scope: str
    #: The cube region as canonical JSON ([[dim, [codes...]], ...], sorted); "[]": whole flow.
    where_text: str = "[]"
    created_by: str = ""
    created_at: float = Field(sa_column=_float(False))


class AccessState(SQLModel, table=True):
    """One row: the grants generation, bumped by every grant change, which every server
    process compares with its own to know when to read the grants again."""

    __tablename__ = "sdmx_access_state"

    id: int = Field(default=1, primary_key=True)
    generation: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0"))


TABLES = [User, UserGroup, ApiToken, PortalSession, GrantRow, AccessState]


def create_access_tables(db: Database) -> None:
    from sqlmodel import Session

    SQLModel.metadata.create_all(db.engine, tables=[t.__table__ for t in TABLES])
    with Session(db.engine) as session:
        if session.get(AccessState, 1) is None:
            session.add(AccessState(id=1, generation=0))
            try:
                session.commit()
            except sa.exc.IntegrityError:  # another process made it first
                session.rollback()
