"""Bearer JWTs of the organisation's identity provider, over HTTP.

Keys are made here (cryptography) and published as a JWKS file in tmp, as an operator points
SDMX_OIDC_JWKS_FILE at the provider's keys. Accepted: a JWT signed by a key of the file, with
the issuer, the audience and an unexpired `exp`. Refused with a 401 (never anonymous): expired,
another issuer or audience, another key, `alg: none`, HS256 keyed with the public key, an
unknown key id, garbage.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from sdmx_server.access.accounts import add_user, update_user
from sdmx_server.access.grants import add_grant
from sdmx_server.access.oidc import JwtRejected, OidcConfigError, OidcVerifier, allowed_algorithms
from sdmx_server.access.rules import Grant, Scope
from sdmx_server.settings import Settings
from tests.access_support import bearer, empty_server
from tests.conftest import BACKENDS

ISSUER = "https://id.example.org/realms/sso"
AUDIENCE = "sdmx-server"


def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(private, kid: str, **extra) -> dict:
    algorithm = jwt.algorithms.RSAAlgorithm if isinstance(private, rsa.RSAPrivateKey) else jwt.algorithms.ECAlgorithm
    return {**json.loads(algorithm.to_jwk(private.public_key())), "kid": kid, "use": "sig", **extra}


def write_jwks(path, *jwks: dict) -> None:
    path.write_text(json.dumps({"keys": list(jwks)}), encoding="utf-8")


def claims(**overrides) -> dict:
    now = int(time.time())
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "f3a1-77", "preferred_username": "maryam",
            "groups": ["office", "/prov-23"], "iat": now, "exp": now + 300, "jti": "j-1"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Provider:
    def __init__(self, tmp_path):
        self.rsa, self.ec, self.stranger = rsa_key(), ec.generate_private_key(ec.SECP256R1()), rsa_key()
        self.path = tmp_path / "jwks.json"
        write_jwks(self.path, public_jwk(self.rsa, "rsa1"), public_jwk(self.ec, "ec1"))
        self.settings = dict(oidc_jwks_file=self.path, oidc_issuer=ISSUER, oidc_audience=AUDIENCE)

    def sign(self, key=None, kid="rsa1", algorithm="RS256", **overrides) -> str:
        return jwt.encode(claims(**overrides), key or self.rsa, algorithm=algorithm, headers={"kid": kid})

    def public_pem(self) -> bytes:
        return self.rsa.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture(scope="module", params=BACKENDS)
def idp(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp(f"oidc-{request.param}")
    provider = Provider(directory)
    with empty_server(request.param, directory, **provider.settings) as (server, db):
        add_grant(db, Grant("group:office", "admin", Scope()), "test")
        add_user(db, "local-ali", groups=["prov-23"])  # a local user: a JWT never borrows its groups
        add_user(db, "ex-admin")  # a local administrator, disabled: a JWT never borrows its grants
        add_grant(db, Grant("user:ex-admin", "admin", Scope()), "test")
        update_user(db, "ex-admin", disabled=True)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            yield provider, client


def me(client: httpx.Client, token: str) -> httpx.Response:
    return client.get("/auth/me", headers=bearer(token))


def refused(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer ")
    detail = response.json()["errors"][0]
    assert detail["code"] == 110 and reason in detail["detail"], detail


def test_a_valid_jwt_is_its_user_with_the_groups_of_its_claim(idp):
    provider, client = idp
    response = me(client, provider.sign())
    assert response.status_code == 200
    got = response.json()
    assert (got["name"], got["groups"], got["method"], got["is_admin"]) == ("maryam", ["office", "prov-23"], "oidc", True)
    # An administrator by the group grant: the admin API opens.
    assert client.get("/admin/api/users", headers=bearer(provider.sign())).status_code == 200


def test_an_ec_key_and_a_name_from_sub(idp):
    provider, client = idp
    token = provider.sign(provider.ec, kid="ec1", algorithm="ES256", preferred_username=None, groups="staff prov-24")
    got = me(client, token).json()
    assert (got["name"], got["groups"], got["is_admin"]) == ("f3a1-77", ["prov-24", "staff"], False)


def test_a_jwt_user_named_like_a_local_user_is_401(idp):
    """Grants to user:NAME are the local user's: a provider's user of the same name (a name an
    identity provider may let its users choose) would otherwise inherit them, even from a
    disabled local administrator."""
    provider, client = idp
    for name in ("local-ali", "ex-admin"):
        token = provider.sign(preferred_username=name, groups=[])
        refused(me(client, token), f"the identity provider's user {name} has the name of a local user")
        refused(client.get("/admin/api/users", headers=bearer(token)), "the name of a local user")
    got = me(client, provider.sign(preferred_username="someone-else", groups=[])).json()
    assert (got["name"], got["groups"], got["is_admin"]) == ("someone-else", [], False)


def test_expiry_has_a_small_leeway_and_no_more(idp):
    provider, client = idp
    now = int(time.time())
    assert me(client, provider.sign(exp=now - 10)).status_code == 200  # clocks differ a little
    refused(me(client, provider.sign(exp=now - 120)), "expired")
    refused(me(client, provider.sign(exp=None)), "exp")
    response = client.get("/rest/v2/structure/dataflow", headers={**bearer(provider.sign(exp=now - 120)),
                                                                 "Accept": "application/json"})
    assert response.status_code == 401 and response.json()["errors"][0]["code"] == 110


@pytest.mark.parametrize("overrides, reason", [
    ({"iss": "https://evil.example.org/"}, "issuer"),
    ({"aud": "another-service"}, "audience"),
    ({"iss": None}, "iss"),
    ({"aud": None}, "aud"),
])
def test_another_issuer_or_audience_is_401(idp, overrides, reason):
    provider, client = idp
    refused(me(client, provider.sign(**overrides)), reason)


def test_another_key_is_401(idp):
    provider, client = idp
    refused(me(client, provider.sign(provider.stranger, kid="rsa1")), "signature")
    refused(me(client, provider.sign(provider.stranger, kid="unknown")), "key this server does not know")
    # Without a kid every key is tried, and none verifies.
    token = jwt.encode(claims(), provider.stranger, algorithm="RS256")
    refused(me(client, token), "signature")


def test_alg_none_is_401(idp):
    provider, client = idp
    unsigned = jwt.encode(claims(), None, algorithm="none", headers={"kid": "rsa1"})
    refused(me(client, unsigned), "algorithm 'none' is not accepted")
    refused(me(client, unsigned.rstrip(".") + "."), "not accepted")


def test_hs256_keyed_with_the_public_key_is_401(idp):
    """The classic confusion: an HMAC over the token keyed with the RSA public key's PEM."""
    provider, client = idp
    for kid in ("rsa1", None):
        header = {"alg": "HS256", "typ": "JWT", **({"kid": kid} if kid else {})}
        signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims()).encode())}"
        signature = hmac.new(provider.public_pem(), signing_input.encode(), hashlib.sha256).digest()
        refused(me(client, f"{signing_input}.{b64(signature)}"), "algorithm 'HS256' is not accepted")


def test_an_algorithm_the_key_does_not_allow_is_401(idp):
    provider, client = idp
    token = provider.sign(kid="ec1")  # RS256, but ec1 signs ES256 only
    refused(me(client, token), "algorithm 'RS256' is not accepted")


@pytest.mark.parametrize("garbage", ["a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30", "x" * 50])
def test_garbage_is_401(idp, garbage):
    provider, client = idp
    assert me(client, garbage).status_code == 401


# -- the verifier on its own: configuration, claims, key rotation --------------------------------


def verifier(tmp_path, **settings) -> tuple[Provider, OidcVerifier]:
    provider = Provider(tmp_path)
    return provider, OidcVerifier(Settings(**{**provider.settings, **settings}))


def test_groups_from_a_nested_claim_and_another_username_claim(tmp_path):
    provider, check = verifier(tmp_path, oidc_groups_claim="realm_access.roles", oidc_username_claim="email")
    token = provider.sign(realm_access={"roles": ["office"]}, email="m.r@example.org")
    verified = check.verify(token)
    assert (verified.name, verified.groups) == ("m.r@example.org", frozenset({"office"}))
    assert check.verify(provider.sign(email=None)).name == "f3a1-77"  # sub when the claim is absent
    with pytest.raises(JwtRejected, match="no usable user"):
        check.verify(provider.sign(email="two words", sub=None))


def test_a_rotated_jwks_file_is_read_again(tmp_path):
    provider, check = verifier(tmp_path)
    old = provider.sign()
    assert check.verify(old).name == "maryam"
    fresh = rsa_key()
    write_jwks(provider.path, public_jwk(fresh, "rsa2"))
    os.utime(provider.path, ns=(time.time_ns(), time.time_ns() + 1_000_000_000))
    assert check.verify(jwt.encode(claims(), fresh, algorithm="RS256", headers={"kid": "rsa2"})).name == "maryam"
    with pytest.raises(JwtRejected, match="does not know"):
        check.verify(old)
    provider.path.write_text("{ broken", encoding="utf-8")  # a broken file keeps the keys it replaced
    os.utime(provider.path, ns=(time.time_ns(), time.time_ns() + 2_000_000_000))
    assert check.verify(jwt.encode(claims(), fresh, algorithm="RS256", headers={"kid": "rsa2"})).name == "maryam"


@pytest.mark.parametrize("jwk, message", [
    ({"kty": "oct", "k": "c2VjcmV0", "kid": "h"}, "symmetric"),
    ({"kty": "RSA", "alg": "HS256", "kid": "x", "n": "AQAB", "e": "AQAB"}, "does not fit"),
    ({"kty": "RSA", "alg": "none", "kid": "x", "n": "AQAB", "e": "AQAB"}, "does not fit"),
])
def test_keys_that_could_verify_forgeries_are_refused_at_start(tmp_path, jwk, message):
    with pytest.raises(OidcConfigError, match=message):
        allowed_algorithms(jwk)
    path = tmp_path / "jwks.json"
    write_jwks(path, jwk)
    with pytest.raises(OidcConfigError, match=message):
        OidcVerifier(Settings(oidc_jwks_file=path, oidc_issuer=ISSUER, oidc_audience=AUDIENCE))


def test_a_broken_configuration_fails_the_start(tmp_path):
    from sdmx_server.api.app import create_app

    base = dict(database_url=f"sqlite:///{tmp_path / 'store.db'}", data_dir=tmp_path)
    with pytest.raises(OidcConfigError, match="SDMX_OIDC_ISSUER"):
        create_app(Settings(**base, oidc_jwks_file=tmp_path / "jwks.json", oidc_audience=AUDIENCE))
    with pytest.raises(OidcConfigError, match="JWKS file"):
        create_app(Settings(**base, oidc_jwks_file=tmp_path / "missing.json", oidc_issuer=ISSUER,
                            oidc_audience=AUDIENCE))


def test_settings_from_the_environment(tmp_path):
    settings = Settings.from_env({"SDMX_OIDC_JWKS_FILE": str(tmp_path / "k.json"), "SDMX_OIDC_ISSUER": ISSUER,
                                  "SDMX_OIDC_AUDIENCE": AUDIENCE, "SDMX_OIDC_GROUPS_CLAIM": "roles",
                                  "SDMX_OIDC_USERNAME_CLAIM": "email"})
    assert (settings.oidc_jwks_file, settings.oidc_issuer, settings.oidc_audience, settings.oidc_groups_claim,
            settings.oidc_username_claim) == (tmp_path / "k.json", ISSUER, AUDIENCE, "roles", "email")
    assert Settings.from_env({}).oidc_jwks_file is None
