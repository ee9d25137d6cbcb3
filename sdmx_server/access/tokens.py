"""API tokens for machines: `sdmx_<id>_<secret>`, shown once, stored as a hash.

The secret is 32 random bytes (URL-safe base64). The recognisable prefix lets secret scanners
and people tell our tokens from JWTs; the id inside lets the server find the one row to compare
with, so a lookup is by primary key and the comparison (of SHA-256 digests, constant-time with
hmac.compare_digest) never scans. A token may expire, is revoked by setting `revoked_at`, and
records when it was last used (written at most once a minute per token).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from sdmx_server.access.tables import ApiToken, User, now
from sdmx_server.store.database import Database

PREFIX = "sdmx_"
_TOKEN = re.compile(r"^sdmx_(?P<id>[1-9][0-9]{0,17})_(?P<secret>[A-Za-z0-9_\-]{43})$")
#: last_used_at is written when it is older than this: not a database write per request.
TOUCH_SECONDS = 60.0


class TokenError(ValueError):
    pass


def parse_token(text: str) -> tuple[int, str] | None:
    """(id, secret) of a string shaped like one of our tokens; None otherwise."""
    m = _TOKEN.match(text)
    return (int(m["id"]), m["secret"]) if m else None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(row: ApiToken, secret: str) -> bool:
    return hmac.compare_digest(row.secret_hash.encode(), _digest(secret).encode())


def token_state(row: ApiToken, at: float | None = None) -> str:
    """active, expired or revoked."""
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= (now() if at is None else at):
        return "expired"
    return "active"


def token_json(row: ApiToken) -> dict:
    return {"id": row.id, "user": row.user_name, "description": row.description, "state": token_state(row),
            "created_by": row.created_by, "created_at": row.created_at, "expires_at": row.expires_at,
            "revoked_at": row.revoked_at, "last_used_at": row.last_used_at}


_DURATION = re.compile(r"^(?P<n>\d+)(?P<unit>[smhdw])$")
_ISO = re.compile(r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> float:
    """Seconds of `30d`, `12h`, `90m`, `45s`, `2w`, or ISO 8601 `P30D`, `PT12H`, `P1DT2H30M`."""
    value = text.strip()
    m = _DURATION.match(value)
    if m:
        seconds = int(m["n"]) * _UNITS[m["unit"]]
    else:
        iso = _ISO.match(value.upper())
        if not iso or not any(iso.groupdict().values()) or value.upper().endswith("T"):
            raise TokenError(f"duration {text!r}: expected e.g. 30d, 12h, 90m or ISO 8601 P30D, PT12H")
        parts = {k: int(v or 0) for k, v in iso.groupdict().items()}
        seconds = int(timedelta(weeks=parts["w"], days=parts["d"], hours=parts["h"], minutes=parts["m"],
                                seconds=parts["s"]).total_seconds())
    if seconds <= 0:
        raise TokenError(f"duration {text!r}: must be longer than nothing")
    if seconds > 100 * 365 * 86400:
        raise TokenError(f"duration {text!r}: longer than a century")
    return float(seconds)


def create_token(db: Database, user_name: str, *, expires_in: float | None = None, description: str = "",
                 created_by: str = "") -> tuple[str, ApiToken]:
    """A new token for an existing user: (the token, shown only now; its row)."""
    secret = secrets.token_urlsafe(32)
    created = now()
    with Session(db.engine) as session:
        if session.get(User, user_name) is None:
            raise TokenError(f"no user {user_name}; add it first (users add {user_name})")
        row = ApiToken(user_name=user_name, secret_hash=_digest(secret), description=description,
                       created_by=created_by, created_at=created,
                       expires_at=created + expires_in if expires_in is not None else None)
        session.add(row)
        session.commit()
        session.refresh(row)
    return f"{PREFIX}{row.id}_{secret}", row


def find_token(db: Database, token_id: int) -> ApiToken | None:
    with Session(db.engine) as session:
        return session.get(ApiToken, token_id)


def list_tokens(db: Database, user_name: str | None = None) -> list[ApiToken]:
    statement = select(ApiToken).order_by(ApiToken.id)
    if user_name is not None:
        statement = statement.where(ApiToken.user_name == user_name)
    with Session(db.engine) as session:
        return list(session.exec(statement).all())


def revoke_tokens(db: Database, ids: list[int]) -> list[int]:
    """Revoke the tokens (those not revoked yet); returns the ids revoked now."""
    if not ids:
        return []
    with Session(db.engine) as session:
        live = list(session.exec(select(ApiToken.id).where(ApiToken.id.in_(ids), ApiToken.revoked_at.is_(None))).all())
        if live:
            session.execute(sa.update(ApiToken).where(ApiToken.id.in_(live)).values(revoked_at=now()))
            session.commit()
    return sorted(live)


def touch(db: Database, row: ApiToken) -> None:
    """Record the use of a token, at most once per TOUCH_SECONDS."""
    at = now()
    if row.last_used_at is not None and at - row.last_used_at < TOUCH_SECONDS:
        return
    with Session(db.engine) as session:
        session.execute(sa.update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=at))
        session.commit()
