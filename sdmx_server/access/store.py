"""What requests read of the access tables, cached per process.

- `current_grants(db)`: every grant, read again only when the grants generation changed
  (checked at most once per `REFRESH_SECONDS`, as api/state.py does for the registry): a grant
  or revoke applies within a second in every server process, without messaging.
- Tokens, sessions and whether a local user has a JWT's name: the row a credential names (and its user) is kept `CREDENTIAL_SECONDS`,
  so a busy client costs one database read per second at most, and a revoked token, a disabled
  user, a closed session or changed groups take effect in every process within that bound
  (this process's own changes through the admin API at once: `forget_credentials`).
  The secret is compared on every request, so a cached row never lets a wrong secret in.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sdmx_server.access.accounts import UserInfo, digest, find_session, get_user
from sdmx_server.access.grants import generation, read_grants
from sdmx_server.access.principal import Principal
from sdmx_server.access.rules import Grant
from sdmx_server.access.tables import ApiToken, PortalSession, now
from sdmx_server.access.tokens import find_token, secret_matches, token_state, touch
from sdmx_server.store.database import Database

REFRESH_SECONDS = 1.0
CREDENTIAL_SECONDS = 1.0
#: Cached credentials per process; beyond this the cache starts over (guessing cannot grow it).
CREDENTIAL_ENTRIES = 10_000


class CredentialRejected(Exception):
    """A token or session that does not authenticate; the message is safe to show."""


# -- grants ------------------------------------------------------------------------------------


@dataclass
class _Grants:
    grants: tuple[Grant, ...]
    generation: int
    checked_at: float


_grants: dict[str, _Grants] = {}
_grants_lock = threading.Lock()


def current_grants(db: Database) -> tuple[Grant, ...]:
    key = str(db.url)
    held = _grants.get(key)
    if held is not None and time.monotonic() - held.checked_at < REFRESH_SECONDS:
        return held.grants
    with _grants_lock:
        held = _grants.get(key)
        if held is None or generation(db) != held.generation:
            grants, gen = read_grants(db)
            held = _Grants(grants, gen, 0.0)
        held.checked_at = time.monotonic()
        _grants[key] = held
        return held.grants


def forget_grants(db: Database) -> None:
    """This process changed the grants: the next call reads them (no wait for the next check)."""
    with _grants_lock:
        _grants.pop(str(db.url), None)


# -- credentials -------------------------------------------------------------------------------


class _Recent:
    """Values kept for CREDENTIAL_SECONDS."""

    def __init__(self):
        self._items: dict[object, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get(self, key):
        item = self._items.get(key)
        if item is None or time.monotonic() - item[0] >= CREDENTIAL_SECONDS:
            return None
        return item[1]

    def put(self, key, value) -> None:
        with self._lock:
            if len(self._items) >= CREDENTIAL_ENTRIES:
                self._items.clear()
            self._items[key] = (time.monotonic(), value)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_tokens = _Recent()
_sessions = _Recent()
_local_names = _Recent()


def forget_credentials() -> None:
    _tokens.clear()
    _sessions.clear()
    _local_names.clear()


@dataclass(frozen=True)
class TokenEntry:
    row: ApiToken | None
    user: UserInfo | None


@dataclass(frozen=True)
class SessionEntry:
    row: PortalSession | None
    user: UserInfo | None


def cached_token(db: Database, token_id: int) -> TokenEntry | None:
    return _tokens.get((str(db.url), token_id))


def fetch_token(db: Database, token_id: int) -> TokenEntry:
    """Read the token and its user (blocking: call it off the event loop), and keep them."""
    row = find_token(db, token_id)
    user = get_user(db, row.user_name) if row is not None else None
    if row is not None and token_state(row) == "active":
        touch(db, row)
    entry = TokenEntry(row, user)
    _tokens.put((str(db.url), token_id), entry)
    return entry


def token_principal(entry: TokenEntry, secret: str) -> Principal:
    row, user = entry.row, entry.user
    if row is None or not secret_matches(row, secret):
        raise CredentialRejected("the token is not valid")
    state = token_state(row)
    if state != "active":
        raise CredentialRejected(f"the token is {state}")
    if user is None or user.disabled:
        raise CredentialRejected("the token's user is disabled")
    return Principal(name=user.name, groups=frozenset(user.groups), method="token", credential=f"token:{row.id}")


def cached_local_name(db: Database, name: str) -> bool | None:
    """Whether a local user has this name (None: not known here just now)."""
    return _local_names.get((str(db.url), name))


def fetch_local_name(db: Database, name: str) -> bool:
    """Read whether a local user has this name (blocking: off the event loop), and keep it: a
    JWT user of a local user's name is refused (its grants to user:NAME are the local user's)."""
    known = get_user(db, name) is not None
    _local_names.put((str(db.url), name), known)
    return known


def cached_session(db: Database, value: str) -> SessionEntry | None:
    return _sessions.get((str(db.url), digest(value)))


def fetch_session(db: Database, value: str) -> SessionEntry:
    row = find_session(db, value)
    user = get_user(db, row.user_name) if row is not None else None
    entry = SessionEntry(row, user)
    _sessions.put((str(db.url), digest(value)), entry)
    return entry


def session_principal(entry: SessionEntry) -> tuple[Principal, str]:
    """(the principal, the session's CSRF token)."""
    row, user = entry.row, entry.user
    if row is None or row.expires_at <= now():
        raise CredentialRejected("the session has ended; sign in again")
    if user is None or user.disabled:
        raise CredentialRejected("the session's user is disabled")
    principal = Principal(name=user.name, groups=frozenset(user.groups), method="session",
                          credential=f"session:{row.id_hash[:12]}")
    return principal, row.csrf_token
