"""Bearer JWTs of the organisation's identity provider, verified offline.

The provider's public keys come from a JWKS file (`SDMX_OIDC_JWKS_FILE`), read again when it
changes (key rotation needs no restart). A JWT is accepted when it is signed by one of those
keys with an algorithm that key allows, names the configured issuer and audience, and has not
expired (with `LEEWAY_SECONDS` for clocks that differ a little).

Algorithms come from the keys, never from the token: a key's `alg` when it has one, otherwise
the asymmetric algorithms of its type (RSA: RS*/PS*; EC: the ES* of its curve; OKP: EdDSA).
Symmetric (`oct`) keys are refused when the file is read, so `none` and HS* (the "public key
as HMAC secret" attack) can never verify anything.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import jwt
from jwt import PyJWK

from sdmx_server.settings import Settings

log = logging.getLogger("sdmx_server.access")

LEEWAY_SECONDS = 30
_BY_CURVE = {"P-256": ("ES256",), "P-384": ("ES384",), "P-521": ("ES512",), "secp256k1": ("ES256K",)}
_RSA = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")


class JwtRejected(Exception):
    """The JWT is not acceptable; the message says why (safe to show: no key material)."""


class OidcConfigError(ValueError):
    pass


@dataclass(frozen=True)
class VerifiedJwt:
    name: str
    groups: frozenset[str]
    claims: dict


def allowed_algorithms(jwk: dict) -> tuple[str, ...]:
    kty = jwk.get("kty")
    if kty == "oct":
        raise OidcConfigError("a symmetric (oct) key has no place in a JWKS of public keys")
    allowed = _RSA if kty == "RSA" else _BY_CURVE.get(jwk.get("crv", "P-256"), ()) if kty == "EC" else (
        ("EdDSA",) if kty == "OKP" else ())
    alg = jwk.get("alg")
    if alg:
        if alg not in allowed:
            raise OidcConfigError(f"key {jwk.get('kid')!r}: alg {alg} does not fit its type {kty}")
        return (alg,)
    if not allowed:
        raise OidcConfigError(f"key {jwk.get('kid')!r}: unsupported key type {kty}")
    return allowed


def read_jwks(path: Path) -> list[tuple[PyJWK, tuple[str, ...], str | None]]:
    """(key, its algorithms, its kid) of each signing key in the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OidcConfigError(f"JWKS file {path}: {exc}") from None
    keys = []
    for jwk in data.get("keys", []) if isinstance(data, dict) else []:
        if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
            continue
        algorithms = allowed_algorithms(jwk)
        try:
            keys.append((PyJWK(jwk, algorithms[0]), algorithms, jwk.get("kid")))
        except jwt.exceptions.PyJWKError as exc:
            raise OidcConfigError(f"JWKS file {path}: key {jwk.get('kid')!r}: {exc}") from None
    if not keys:
        raise OidcConfigError(f"JWKS file {path}: no signing keys")
    return keys


def claim(claims: dict, path: str):
    """A claim by name, or by a dotted path into objects (realm_access.roles)."""
    if path in claims:
        return claims[path]
    value = claims
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def groups_of(value) -> frozenset[str]:
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list):
        return frozenset()
    return frozenset(v.strip().lstrip("/") for v in value if isinstance(v, str) and v.strip())


class OidcVerifier:
    def __init__(self, settings: Settings):
        if settings.oidc_jwks_file is None:
            raise OidcConfigError("no JWKS file configured")
        if not settings.oidc_issuer or not settings.oidc_audience:
            raise OidcConfigError("SDMX_OIDC_ISSUER and SDMX_OIDC_AUDIENCE are required with SDMX_OIDC_JWKS_FILE")
        self.settings = settings
        self.path = Path(settings.oidc_jwks_file)
        self._lock = threading.Lock()
        self._mtime = self.path.stat().st_mtime_ns if self.path.exists() else None
        self._keys = read_jwks(self.path)

    def _current_keys(self):
        """The keys, read again when the file changed; a broken new file keeps the old keys."""
        try:
            mtime = self.path.stat().st_mtime_ns
        except OSError:
            return self._keys
        if mtime != self._mtime:
            with self._lock:
                try:
                    self._keys = read_jwks(self.path)
                except OidcConfigError:
                    log.exception("the new JWKS file is not usable; the previous keys stay")
                self._mtime = mtime
        return self._keys

    def verify(self, token: str) -> VerifiedJwt:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise JwtRejected("not a well-formed JWT") from None
        alg, kid = header.get("alg"), header.get("kid")
        candidates = [(k, algs) for k, algs, key_id in self._current_keys() if kid is None or key_id == kid]
        if not candidates:
            raise JwtRejected("signed by a key this server does not know")
        usable = [k for k, algs in candidates if alg in algs]
        if not usable:
            raise JwtRejected(f"algorithm {alg!r} is not accepted")
        s = self.settings
        last: Exception | None = None
        for key in usable:
            try:
                claims = jwt.decode(token, key.key, algorithms=[alg], audience=s.oidc_audience, issuer=s.oidc_issuer,
                                    leeway=LEEWAY_SECONDS, options={"require": ["exp", "iss", "aud"]})
                break
            except jwt.InvalidSignatureError as exc:
                last = exc
            except jwt.ExpiredSignatureError:
                raise JwtRejected("the JWT has expired") from None
            except jwt.InvalidAudienceError:
                raise JwtRejected("the JWT is not for this server (audience)") from None
            except jwt.InvalidIssuerError:
                raise JwtRejected("the JWT is not from the accepted issuer") from None
            except jwt.InvalidTokenError as exc:
                raise JwtRejected(f"the JWT is not valid: {exc}") from None
        else:
            raise JwtRejected("the JWT's signature does not verify") from last
        name = claim(claims, s.oidc_username_claim) or claims.get("sub")
        if not isinstance(name, str) or not name.strip() or any(c.isspace() or c == ":" for c in name):
            raise JwtRejected(f"the JWT names no usable user (claim {s.oidc_username_claim} or sub)")
        return VerifiedJwt(name, groups_of(claim(claims, s.oidc_groups_claim)), claims)
