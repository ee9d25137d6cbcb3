"""Users, their groups, and portal sessions, in the database (tables in access/tables.py).

A user is a name (the `user:NAME` of grants), a display name, groups (the `group:NAME`s), an
optional argon2 password (portal sign-in) and a disabled flag: a disabled user's tokens and
sessions stop working at once (within the middleware's cache bound, access/store.py).

Sessions are server-side rows keyed by the SHA-256 of the cookie's value, each with its own
CSRF token and an absolute expiry.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from sdmx_server.access.grants import bump_generation
from sdmx_server.access.passwords import hash_password, verify_password
from sdmx_server.access.tables import ApiToken, GrantRow, PortalSession, User, UserGroup, now
from sdmx_server.store.database import Database

#: Names of users and groups: what `user:NAME` / `group:NAME` can carry (no spaces, no colon).
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,99}$")


class AccountError(ValueError):
    """A change that cannot be made: the message says why, for the CLI and the admin API."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class UserInfo:
    name: str
    display_name: str
    groups: tuple[str, ...]
    disabled: bool
    has_password: bool
    created_at: float

    def as_json(self) -> dict:
        return {"name": self.name, "display_name": self.display_name, "groups": list(self.groups),
                "disabled": self.disabled, "has_password": self.has_password, "created_at": self.created_at}


#: Names no user may take: the command line's own (the audit trail's actor `cli`).
RESERVED = frozenset({"cli"})


def check_name(name: str, what: str = "user") -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise AccountError(f"{what} name {name!r}: letters, digits and _ . @ - only, starting with a letter or digit")
    if what == "user" and name in RESERVED:
        raise AccountError(f"user name {name!r} is reserved for the command line")
    return name


def _groups(session: Session, name: str) -> tuple[str, ...]:
    rows = session.exec(select(UserGroup.group_name).where(UserGroup.user_name == name)).all()
    return tuple(sorted(rows))


def _info(session: Session, user: User) -> UserInfo:
    return UserInfo(user.name, user.display_name, _groups(session, user.name), bool(user.disabled),
                    user.password_hash is not None, user.created_at)


def get_user(db: Database, name: str) -> UserInfo | None:
    with Session(db.engine) as session:
        user = session.get(User, name)
        return _info(session, user) if user is not None else None


def list_users(db: Database) -> list[UserInfo]:
    with Session(db.engine) as session:
        return [_info(session, u) for u in session.exec(select(User).order_by(User.name)).all()]


def add_user(db: Database, name: str, *, display_name: str = "", groups: list[str] = (),
             password: str | None = None) -> UserInfo:
    check_name(name)
    for group in groups:
        check_name(group, "group")
    password_hash = hash_password(password) if password is not None else None
    with Session(db.engine) as session:
        if session.get(User, name) is not None:
            raise AccountError(f"user {name} already exists", 409)
        session.add(User(name=name, display_name=display_name or name, password_hash=password_hash,
                         created_at=now()))
        session.add_all(UserGroup(user_name=name, group_name=g) for g in sorted(set(groups)))
        try:
            session.commit()
        except sa.exc.IntegrityError:  # another writer added the same name first
            raise AccountError(f"user {name} already exists", 409) from None
    return get_user(db, name)  # type: ignore[return-value]


def update_user(db: Database, name: str, *, display_name: str | None = None, groups: list[str] | None = None,
                disabled: bool | None = None, password: str | None = None) -> UserInfo:
    """Change what is given; groups replace the user's groups. Disabling ends the user's sessions."""
    for group in groups or ():
        check_name(group, "group")
    with Session(db.engine) as session:
        user = session.get(User, name)
        if user is None:
            raise AccountError(f"no user {name}", 404)
        if display_name is not None:
            user.display_name = display_name
        if disabled is not None:
            user.disabled = disabled
            if disabled:
                session.execute(sa.delete(PortalSession).where(PortalSession.user_name == name))
        if password is not None:
            user.password_hash = hash_password(password)
        if groups is not None:
            session.execute(sa.delete(UserGroup).where(UserGroup.user_name == name))
            session.add_all(UserGroup(user_name=name, group_name=g) for g in sorted(set(groups)))
        session.add(user)
        session.commit()
    return get_user(db, name)  # type: ignore[return-value]


def remove_user(db: Database, name: str) -> list[GrantRow]:
    """The user, their groups, tokens, sessions and the grants of `user:NAME` go, in one
    transaction; returns the grants removed (for the audit). Kept, the grants would pass to
    whoever is given the name next."""
    with Session(db.engine) as session:
        if session.get(User, name) is None:
            raise AccountError(f"no user {name}", 404)
        grants = list(session.exec(select(GrantRow).where(GrantRow.subject == f"user:{name}")
                                   .order_by(GrantRow.id)).all())
        for table, column in ((UserGroup, UserGroup.user_name), (ApiToken, ApiToken.user_name),
                              (PortalSession, PortalSession.user_name), (User, User.name)):
            session.execute(sa.delete(table).where(column == name))
        if grants:
            session.execute(sa.delete(GrantRow).where(GrantRow.id.in_([g.id for g in grants])))
            bump_generation(session)  # every process reads the grants afresh
        session.commit()
        return grants


def check_password(db: Database, name: str, password: str) -> UserInfo | None:
    """The user when the password is theirs and they are not disabled; None otherwise (the
    same work either way: access/passwords.py)."""
    with Session(db.engine) as session:
        user = session.get(User, name) if isinstance(name, str) else None
        ok = verify_password(user.password_hash if user is not None else None, password)
        if not ok or user is None or user.disabled:
            return None
        return _info(session, user)


# -- portal sessions ---------------------------------------------------------------------------


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def open_session(db: Database, name: str, lifetime_seconds: int, address: str | None = None
                 ) -> tuple[str, PortalSession]:
    """A new session: (the cookie's value, shown only here; its row)."""
    value = secrets.token_urlsafe(32)
    started = now()
    row = PortalSession(id_hash=digest(value), user_name=name, csrf_token=secrets.token_urlsafe(32),
                        address=address, created_at=started, expires_at=started + lifetime_seconds)
    with Session(db.engine) as session:
        # Expired sessions are swept here, the one place sessions are made.
        session.execute(sa.delete(PortalSession).where(PortalSession.expires_at < started))
        session.add(row)
        session.commit()
        session.refresh(row)
    return value, row


def find_session(db: Database, value: str) -> PortalSession | None:
    with Session(db.engine) as session:
        return session.get(PortalSession, digest(value))


def close_session(db: Database, value: str) -> None:
    with Session(db.engine) as session:
        session.execute(sa.delete(PortalSession).where(PortalSession.id_hash == digest(value)))
        session.commit()
