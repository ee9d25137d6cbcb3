"""Identity as clients meet it over HTTP: API tokens, portal sessions, /auth/ and the admin API.

A real server on a store of its own (SQLite and PostgreSQL); users, tokens and grants are made
through the library or the admin API, as an operator or an administrator would. What is checked
is what a client gets: statuses, the SDMX error bodies and headers of refusals, the principal
/auth/me reports, cookies, and what the database holds (never a secret).
"""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
import sqlalchemy as sa
from lxml import etree
from sqlmodel import Session, select

from sdmx_server.access.accounts import add_user
from sdmx_server.access.audit import AuditEntry
from sdmx_server.access.grants import add_grant, list_grant_rows
from sdmx_server.access.rules import Grant, Scope
from sdmx_server.access.store import CREDENTIAL_SECONDS, REFRESH_SECONDS, current_grants
from sdmx_server.access.tables import ApiToken, PortalSession
from sdmx_server.access.tokens import create_token, parse_token, revoke_tokens
from sdmx_server.api import auth
from sdmx_server.api.limits import LoginThrottle
from sdmx_server.settings import Settings
from tests.access_support import bearer, empty_server
from tests.conftest import BACKENDS

ERROR_NS = {"mes": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message",
            "com": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common"}


@pytest.fixture(scope="module", params=BACKENDS)
def site(request, tmp_path_factory):
    """A server with an administrator (token), and a client for it."""
    with empty_server(request.param, tmp_path_factory.mktemp(f"identity-{request.param}")) as (server, db):
        add_user(db, "root", password="root-password-1", groups=["office"])
        add_grant(db, Grant("user:root", "admin", Scope()), "test")
        token, _ = create_token(db, "root")
        with httpx.Client(base_url=server.url, timeout=30) as client:
            yield Site(server, db, client, token)


class Site:
    def __init__(self, server, db, client: httpx.Client, admin_token: str):
        self.server, self.db, self.client, self.admin_token = server, db, client, admin_token

    def admin(self, method: str, path: str, **kwargs) -> httpx.Response:
        return self.client.request(method, f"/admin/api/{path}", headers=bearer(self.admin_token), **kwargs)

    def user(self, groups=(), password: str | None = None) -> str:
        name = f"u{uuid.uuid4().hex[:8]}"
        add_user(self.db, name, groups=list(groups), password=password)
        return name


#: Small limits for the tests (each attempt costs an argon2 verification, about a second on a
#: busy machine); the server runs in this process, so it takes them. An address may fail
#: SPRAY_FACTOR times as often over all names as on one.
NAME_FAILURES = 2
ADDRESS_ATTEMPTS = NAME_FAILURES * LoginThrottle.SPRAY_FACTOR
THROTTLE = Settings(login_free_attempts=NAME_FAILURES, login_delay_seconds=30.0, login_max_delay_seconds=60.0)


@pytest.fixture(autouse=True)
def fresh_throttles(monkeypatch):
    """The login throttle counts per process: each test starts with none, and low limits."""
    throttle = LoginThrottle(THROTTLE)
    monkeypatch.setattr(auth, "login_throttle", lambda request: throttle)


def browser(site: Site, cookies: dict | None = None) -> httpx.Client:
    """A client of its own (its own cookie jar), as a browser is."""
    return httpx.Client(base_url=site.server.url, cookies=cookies, timeout=30)


def me(site: Site, cookies: dict | None = None, **kwargs) -> dict:
    if cookies is not None:
        with browser(site, cookies) as client:
            response = client.get("/auth/me", **kwargs)
    else:
        response = site.client.get("/auth/me", **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


def assert_unauthorized_v1(response: httpx.Response, reason: str) -> None:
    """A 401 in SDMX-ML 2.1 (REST v1's error format), with the Bearer challenge."""
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    doc = etree.fromstring(response.content)
    message = doc.find("mes:ErrorMessage", ERROR_NS)
    assert message is not None and message.get("code") == "110"
    assert reason in " ".join(t.text for t in message.findall("com:Text", ERROR_NS))


# -- tokens ------------------------------------------------------------------------------------


def test_anonymous_is_the_public(site):
    assert me(site) == {"authenticated": False, "name": None, "display_name": "anonymous", "groups": [],
                        "method": "anonymous", "is_admin": False, "csrf_token": None}
    assert site.client.get("/rest/dataflow").status_code in (200, 404)  # no credentials: no 401


def test_a_token_names_its_user_and_groups(site):
    name = site.user(groups=["prov-23", "staff"])
    token, row = create_token(site.db, name)
    assert token.startswith(f"sdmx_{row.id}_") and parse_token(token) == (row.id, token[len(f"sdmx_{row.id}_"):])
    got = me(site, headers=bearer(token))
    assert got["authenticated"] and got["name"] == name and got["method"] == "token"
    assert got["groups"] == ["prov-23", "staff"] and got["is_admin"] is False
    # The database holds a hash, never the secret.
    with Session(site.db.engine) as session:
        stored = session.get(ApiToken, row.id)
    secret = token.split("_", 2)[2]
    assert secret not in stored.secret_hash and len(stored.secret_hash) == 64
    assert stored.last_used_at is not None


@pytest.mark.parametrize("credential, reason", [
    ("sdmx_1_" + "A" * 43, "not valid"),  # an existing id, a guessed secret
    ("sdmx_999999_" + "A" * 43, "not valid"),  # no such token
    ("sdmx_1_short", "not valid"),
    ("not-a-token", "not valid"),
])
def test_a_wrong_token_is_401_never_anonymous(site, credential, reason):
    response = site.client.get("/rest/dataflow", headers=bearer(credential))
    assert_unauthorized_v1(response, reason)
    assert response.headers["cache-control"] == "no-store"


def test_other_schemes_and_empty_bearer_are_401(site):
    for value in ("Basic cm9vdDpyb290", "Bearer", "Token abc"):
        response = site.client.get("/rest/dataflow", headers={"Authorization": value})
        assert_unauthorized_v1(response, "Authorization: Bearer")


def test_a_401_speaks_the_format_of_the_api_version(site):
    response = site.client.get("/rest/v2/structure/dataflow", headers={**bearer("sdmx_1_" + "B" * 43),
                                                                       "Accept": "application/json"})
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["errors"][0]["code"] == 110
    # The admin API and /auth/ answer JSON errors by default.
    response = site.client.get("/admin/api/users", headers=bearer("sdmx_1_" + "B" * 43))
    assert response.status_code == 401 and response.json()["errors"][0]["code"] == 110


def test_an_expired_token_is_401(site):
    name = site.user()
    token, row = create_token(site.db, name, expires_in=3600)
    assert me(site, headers=bearer(token))["name"] == name
    with Session(site.db.engine) as session:
        session.execute(sa.update(ApiToken).where(ApiToken.id == row.id).values(expires_at=time.time() - 1))
        session.commit()
    time.sleep(CREDENTIAL_SECONDS + 0.1)
    assert_unauthorized_v1(site.client.get("/rest/dataflow", headers=bearer(token)), "the token is expired")


def test_a_revoked_token_is_401_within_the_cache_bound(site):
    name = site.user()
    token, row = create_token(site.db, name)
    assert me(site, headers=bearer(token))["name"] == name  # now cached by the server
    revoke_tokens(site.db, [row.id])  # as another process (the CLI) does it
    started = time.monotonic()
    while site.client.get("/auth/me", headers=bearer(token)).status_code == 200:
        assert time.monotonic() - started < CREDENTIAL_SECONDS + 1, "the revoke did not apply in time"
        time.sleep(0.05)
    assert_unauthorized_v1(site.client.get("/rest/dataflow", headers=bearer(token)), "the token is revoked")


def test_a_disabled_users_token_is_401(site):
    name = site.user()
    token, _ = create_token(site.db, name)
    assert site.admin("PATCH", f"users/{name}", json={"disabled": True}).status_code == 200
    assert_unauthorized_v1(site.client.get("/rest/dataflow", headers=bearer(token)), "disabled")
    assert site.admin("PATCH", f"users/{name}", json={"disabled": False}).status_code == 200
    assert me(site, headers=bearer(token))["name"] == name


def test_token_lookups_read_the_database_at_most_once_per_bound(site):
    """A client sending many requests costs one token read per CREDENTIAL_SECONDS."""
    name = site.user()
    token, row = create_token(site.db, name)
    me(site, headers=bearer(token))
    reads = []
    from sdmx_server.access import store  # the server runs in this process: count its reads

    original = store.find_token
    store.find_token = lambda db, token_id: (reads.append(token_id), original(db, token_id))[1]
    try:
        started = time.monotonic()
        for _ in range(20):
            me(site, headers=bearer(token))
        elapsed = time.monotonic() - started
    finally:
        store.find_token = original
    assert len(reads) <= int(elapsed / CREDENTIAL_SECONDS) + 1


# -- sessions ----------------------------------------------------------------------------------


def login(site: Site, name: str, password: str, form: bool = False) -> httpx.Response:
    body = {"data": {"name": name, "password": password}} if form else {"json": {"name": name, "password": password}}
    with browser(site) as client:  # a browser of its own: the shared client stays anonymous
        return client.post("/auth/login", **body)


def test_login_sets_a_strict_httponly_cookie_and_returns_the_csrf_token(site):
    name = site.user(groups=["staff"], password="a long password")
    with browser(site) as client:
        response = client.post("/auth/login", data={"name": name, "password": "a long password"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["name"] == name and body["method"] == "session" and body["groups"] == ["staff"]
        assert len(body["csrf_token"]) >= 40 and body["expires_at"] > time.time() + 3600
        cookie = response.headers["set-cookie"]
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
        assert cookie.startswith("sdmx_session=") and {"httponly", "path", "max-age"} <= attributes
        assert "samesite=strict" in cookie.lower() and "secure" not in attributes  # plain http here
        assert me(site, cookies=dict(client.cookies))["name"] == name
        assert client.get("/auth/me").json()["csrf_token"] == body["csrf_token"]
        cookie = client.cookies.get("sdmx_session")
    with Session(site.db.engine) as session:
        rows = session.exec(select(PortalSession).where(PortalSession.user_name == name)).all()
    assert len(rows) == 1 and cookie and rows[0].id_hash != cookie


def test_wrong_passwords_and_unknown_names_are_the_same_401(site):
    name = site.user(password="right one")
    for who, password in ((name, "wrong one"), ("nobody-here", "right one"), (name, "")):
        response = login(site, who, password)
        expected = 400 if not password else 401
        assert response.status_code == expected, response.text
        if expected == 401:
            assert response.json()["errors"][0]["code"] == 110
            assert "set-cookie" not in response.headers


def test_login_attempts_are_throttled_per_name(site):
    name = site.user(password="right one")
    for _ in range(NAME_FAILURES + 1):  # the free failures, then one that makes the next wait
        assert login(site, name, "wrong").status_code == 401
    refused = login(site, name, "right one")  # even the right password waits now
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= THROTTLE.login_delay_seconds + 1
    other = site.user(password="pw two")
    assert login(site, other, "pw two").status_code == 200  # other names are not held back


def test_login_attempts_are_throttled_per_address(site):
    for i in range(ADDRESS_ATTEMPTS + 1):
        assert login(site, f"nobody{i}", "x").status_code == 401
    refused = login(site, "nobody-else", "x")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1


def test_a_change_with_the_session_cookie_needs_the_csrf_token(site):
    with browser(site) as client:
        csrf = client.post("/auth/login", json={"name": "root", "password": "root-password-1"}).json()["csrf_token"]
        grant = {"subject": "group:csrf-test", "action": "read", "scope": "SSO:*"}
        refused = client.post("/admin/api/grants", json=grant)
        assert refused.status_code == 403 and "CSRF" in refused.json()["errors"][0]["detail"]
        assert client.post("/admin/api/grants", json=grant, headers={"X-CSRF-Token": "x" * 43}).status_code == 403
        assert client.get("/admin/api/grants").status_code == 200  # reading needs no token
        created = client.post("/admin/api/grants", json=grant, headers={"X-CSRF-Token": csrf})
        assert created.status_code == 201
        assert client.delete(f"/admin/api/grants/{created.json()['id']}",
                              headers={"X-CSRF-Token": csrf}).status_code == 200


def test_logout_ends_the_session_and_a_stale_cookie_is_401_then_cleared(site):
    name = site.user(password="pw logout")
    with browser(site) as client:
        csrf = client.post("/auth/login", json={"name": name, "password": "pw logout"}).json()["csrf_token"]
        cookie = client.cookies.get("sdmx_session")
        assert client.post("/auth/logout").status_code == 403  # no CSRF token: not signed out
        assert me(site, cookies={"sdmx_session": cookie})["name"] == name
        out = client.post("/auth/logout", data={"csrf_token": csrf})
        assert out.status_code == 200 and out.json() == {"signed_out": True}
        assert "sdmx_session" not in client.cookies
    stale = {"sdmx_session": cookie}
    with browser(site, stale) as client:
        response = client.get("/rest/dataflow")
        assert_unauthorized_v1(response, "sign in again")
    cleared = response.headers["set-cookie"].lower()  # the 401 clears the cookie
    assert cleared.startswith('sdmx_session="";') and "max-age=0" in cleared and "samesite=strict" in cleared
    # /auth/ ignores a stale cookie, so that a browser can always sign in again.
    assert me(site, cookies=stale)["authenticated"] is False
    with browser(site, stale) as client:
        assert client.post("/auth/login", json={"name": name, "password": "pw logout"}).status_code == 200


# -- the admin API -----------------------------------------------------------------------------


def test_the_admin_api_is_401_for_the_public_and_403_for_others(site):
    name = site.user()
    token, _ = create_token(site.db, name)
    for method, path in (("GET", "users"), ("POST", "users"), ("PATCH", "users/root"), ("GET", "tokens"),
                         ("POST", "tokens"), ("DELETE", "tokens/1"), ("GET", "grants"), ("POST", "grants"),
                         ("DELETE", "grants/1")):
        anonymous = site.client.request(method, f"/admin/api/{path}", json={})
        assert anonymous.status_code == 401, (method, path)
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        assert site.client.request(method, f"/admin/api/{path}", json={}, headers=bearer(token)).status_code == 403


def test_admins_manage_users_tokens_and_grants_and_every_change_is_audited(site):
    name = f"clerk{uuid.uuid4().hex[:6]}"
    created = site.admin("POST", "users", json={"name": name, "groups": ["prov-23"], "password": "clerk pw 1"})
    assert created.status_code == 201
    assert created.json() | {"created_at": 0} == {"name": name, "display_name": name, "groups": ["prov-23"],
                                                  "disabled": False, "has_password": True, "created_at": 0}
    assert site.admin("POST", "users", json={"name": name}).status_code == 409
    assert site.admin("POST", "users", json={"name": "bad name"}).status_code == 422
    assert site.admin("PATCH", "users/nobody-at-all", json={"disabled": True}).status_code == 404
    changed = site.admin("PATCH", f"users/{name}", json={"groups": ["prov-24", "staff"]})
    assert changed.json()["groups"] == ["prov-24", "staff"]
    listed = {u["name"]: u for u in site.admin("GET", "users").json()["users"]}
    assert listed[name]["groups"] == ["prov-24", "staff"] and "password_hash" not in listed[name]

    made = site.admin("POST", "tokens", json={"user": name, "expires": "30d", "description": "loader"})
    assert made.status_code == 201
    token, token_id = made.json()["token"], made.json()["id"]
    assert made.json()["expires_at"] == pytest.approx(time.time() + 30 * 86400, abs=60)
    assert me(site, headers=bearer(token))["groups"] == ["prov-24", "staff"]
    listed = [t for t in site.admin("GET", f"tokens?user={name}").json()["tokens"]]
    assert [(t["id"], t["state"], "token" in t) for t in listed] == [(token_id, "active", False)]
    assert site.admin("POST", "tokens", json={"user": name, "expires": "soon"}).status_code == 422
    assert site.admin("POST", "tokens", json={"user": "nobody-at-all"}).status_code == 422
    assert site.admin("DELETE", f"tokens/{token_id}").status_code == 200
    assert site.client.get("/auth/me", headers=bearer(token)).status_code == 401  # same process: at once
    assert site.admin("DELETE", f"tokens/{token_id}").status_code == 404

    grant = {"subject": f"user:{name}", "action": "upload", "scope": "SSO:DF_CONTRIBUTIONS(1.0)",
             "where": {"PROVINCE": ["IR-23"]}}
    added = site.admin("POST", "grants", json=grant)
    assert added.status_code == 201
    assert added.json()["rule"] == f"user:{name} upload SSO:DF_CONTRIBUTIONS(1.0) --where PROVINCE=IR-23"
    again = site.admin("POST", "grants", json={**grant, "where": ["PROVINCE=IR-23"]})
    assert again.status_code == 200 and again.json()["id"] == added.json()["id"] and not again.json()["created"]
    assert site.admin("POST", "grants", json={**grant, "action": "rule"}).status_code == 422
    assert site.admin("POST", "grants", json={**grant, "scope": "SSO:("}).status_code == 422
    assert site.admin("DELETE", f"grants/{added.json()['id']}").status_code == 200
    assert site.admin("DELETE", f"grants/{added.json()['id']}").status_code == 404
    assert added.json()["id"] not in [r.id for r in list_grant_rows(site.db)]

    with Session(site.db.engine) as session:
        entries = session.exec(select(AuditEntry).where(AuditEntry.actor == "user:root")
                               .order_by(AuditEntry.id)).all()
    mine = [e for e in entries if name in e.target or e.target == f"token {token_id}"]
    trail = [(e.action, e.outcome) for e in mine]
    assert trail == [("user.add", "ok"), ("user.add", "rejected"), ("user.update", "ok"), ("token.create", "ok"),
                     ("token.create", "rejected"), ("token.revoke", "ok"), ("token.revoke", "rejected"),
                     ("grant.add", "ok"), ("grant.add", "unchanged"), ("grant.add", "rejected"),
                     ("grant.add", "rejected"), ("grant.revoke", "ok")]
    assert all(e.method == "token" and e.address == "127.0.0.1" for e in mine)
    assert not any("clerk pw 1" in e.details or token in e.details for e in entries)


# -- grants, as every process sees them --------------------------------------------------------


def test_current_grants_follow_the_generation_within_a_second(site):
    """Another process's cache (here: this test process's) sees a change within REFRESH_SECONDS."""
    before = current_grants(site.db)
    row, created = add_grant(site.db, Grant("group:late", "read", Scope.parse("SSO:*")), "test")
    assert created
    started = time.monotonic()
    while row.id not in [g.id for g in current_grants(site.db)]:
        assert time.monotonic() - started < REFRESH_SECONDS + 0.5
        time.sleep(0.05)
    assert len(current_grants(site.db)) == len(before) + 1
    new = next(g for g in current_grants(site.db) if g.id == row.id)
    assert (new.subject, new.action, str(new.scope), new.where) == ("group:late", "read", "SSO:*", ())
    # The server's process too: /auth/me's is_admin follows a grant to a group within a second.
    name = site.user(groups=["late-admins"])
    token, _ = create_token(site.db, name)
    assert me(site, headers=bearer(token))["is_admin"] is False
    add_grant(site.db, Grant("group:late-admins", "admin", Scope()), "test")
    started = time.monotonic()
    while not me(site, headers=bearer(token))["is_admin"]:
        assert time.monotonic() - started < REFRESH_SECONDS + 0.5
        time.sleep(0.05)


def test_a_sign_in_posted_by_another_sites_page_opens_no_session(site):
    """Login CSRF: another site's auto-submitted form would sign the visitor in as the attacker."""
    name = site.user(password="a long password")
    fields = {"name": name, "password": "a long password"}
    with browser(site) as client:
        for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}):
            refused = client.post("/auth/login", data=fields, headers=headers)
            assert refused.status_code == 403 and "set-cookie" not in refused.headers, (headers, refused.text)
        same = client.post("/auth/login", data=fields, headers={"Origin": str(client.base_url).rstrip("/")})
        assert same.status_code == 200 and "sdmx_session" in same.headers["set-cookie"]
