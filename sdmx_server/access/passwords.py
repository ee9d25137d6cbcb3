"""Password hashes: argon2id (argon2-cffi's defaults, RFC 9106's second recommendation).

A sign-in for a name that does not exist, or has no password, still spends one verification,
so that the time of an answer does not tell which names exist.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
#: What unknown names are checked against (a hash of nothing anyone can type).
_DUMMY = _HASHER.hash("\x00 no such user \x00")


def hash_password(password: str) -> str:
    if not password:
        raise ValueError("an empty password is not a password")
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when `password` matches `stored`; None (no user, no password) is always False,
    after the same work as a real check."""
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
