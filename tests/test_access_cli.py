"""The access commands as an operator runs them: users, tokens, grant, revoke, access list.

In-process through `sdmx_server.cli.main` with the store named by SDMX_DATABASE_URL (SQLite and
PostgreSQL), and once through the installed console script, so that exit statuses and the
absence of tracebacks are what a shell sees. The first administrator is made here and then
used over HTTP, as the README tells a newcomer to do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from sdmx_server.access.audit import AuditEntry
from sdmx_server.access.grants import generation
from sdmx_server.access.store import REFRESH_SECONDS, current_grants
from sdmx_server.access.tokens import TokenError, parse_duration
from sdmx_server.settings import Settings
from sdmx_server.store.database import Database
from tests.access_support import bearer
from tests.cli_support import run_cli
from tests.conftest import running_server

SCRIPT = Path(sys.executable).parent / "sdmx-server"


@pytest.fixture
def store(database_url, tmp_path, monkeypatch) -> Database:
    """The store the commands use (SDMX_DATABASE_URL), and a handle on it for the checks."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SDMX_DATABASE_URL", database_url)
    monkeypatch.setenv("SDMX_DATA_DIR", str(tmp_path / "var"))
    from sdmx_server.boot import create_schema

    db = Database(database_url)
    create_schema(db)
    yield db
    db.dispose()


@pytest.fixture
def cli(capsys, monkeypatch, store):
    def run(*argv: str, stdin: str | None = None) -> tuple[int, str, str]:
        return run_cli(capsys, *argv, stdin=stdin, monkeypatch=monkeypatch)

    return run


def one_line_error(result: tuple[int, str, str], fragment: str) -> None:
    code, out, err = result
    assert code == 1, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sdmx-server: ") and fragment in lines[0], err


def test_the_first_administrator_comes_from_the_command_line(cli, store, tmp_path):
    assert cli("users", "add", "admin", "--group", "office", "--password-stdin", stdin="s3cret pass\n")[0] == 0
    code, out, _ = cli("grant", "user:admin", "admin", "*")
    assert code == 0 and out.strip() == "granted #1: user:admin admin *"
    code, out, _ = cli("tokens", "create", "admin", "--expires", "30d")
    assert code == 0
    token = out.splitlines()[-1]
    assert token.startswith("sdmx_1_") and token.strip() == token and " " not in token
    assert token not in cli("tokens", "list")[1] + cli("tokens", "list", "--json")[1]

    settings = Settings(database_url=Settings.from_env().database_url, data_dir=tmp_path / "var")
    with running_server(settings) as server, httpx.Client(base_url=server.url) as client:
        me = client.get("/auth/me", headers=bearer(token)).json()
        assert (me["name"], me["groups"], me["is_admin"]) == ("admin", ["office"], True)
        users = client.get("/admin/api/users", headers=bearer(token))
        assert [u["name"] for u in users.json()["users"]] == ["admin"]
        signed_in = client.post("/auth/login", json={"name": "admin", "password": "s3cret pass"})
        assert signed_in.status_code == 200 and signed_in.json()["is_admin"] is True


def test_users_are_listed_disabled_and_removed(cli, store):
    assert cli("users", "add", "ali", "--group", "prov-23", "--group", "staff", "--display-name", "Ali R.")[0] == 0
    assert cli("users", "add", "sara")[0] == 0
    code, out, _ = cli("users", "list", "--json")
    listed = json.loads(out)
    assert [(u["name"], u["display_name"], u["groups"], u["disabled"], u["has_password"]) for u in listed] == [
        ("ali", "Ali R.", ["prov-23", "staff"], False, False), ("sara", "sara", [], False, False)]
    assert cli("users", "disable", "ali")[0] == 0
    assert json.loads(cli("users", "list", "--json")[1])[0]["disabled"] is True
    assert "disabled" in cli("users", "list")[1].splitlines()[0]
    assert cli("grant", "user:sara", "read", "SSO:*")[0] == 0
    code, out, err = cli("users", "remove", "sara")
    assert code == 0 and out.strip() == "removed user sara with their tokens, sessions and 1 grant(s)"
    assert [u["name"] for u in json.loads(cli("users", "list", "--json")[1])] == ["ali"]
    one_line_error(cli("users", "remove", "sara"), "no user sara")
    one_line_error(cli("users", "add", "ali"), "already exists")
    one_line_error(cli("users", "add", "bad:name"), "user name 'bad:name'")
    one_line_error(cli("users", "add", "cli"), "reserved for the command line")
    one_line_error(cli("users", "add", "x", "--group", "a b"), "group name 'a b'")
    one_line_error(cli("users", "add", "y", "--password-stdin", stdin="\n"), "no password")


def test_grants_are_added_once_listed_and_revoked(cli, store):
    before = generation(store)
    code, out, _ = cli("grant", "group:prov-23", "read", "SSO:DF_CONTRIBUTIONS(1.0)",
                       "--where", "PROVINCE=IR-23", "--where", "SEX=M+F")
    assert code == 0 and out.startswith("granted #1: ")
    code, out, _ = cli("grant", "group:prov-23", "read", "SSO:DF_CONTRIBUTIONS(1.0)",
                       "--where", "SEX=F", "--where", "SEX=M", "--where", "PROVINCE=IR-23")
    assert code == 0 and out.startswith("already granted #1: ")
    assert cli("grant", "everyone", "read", "SSO:*")[0] == 0
    code, out, err = cli("grant", "user:ghost", "upload", "*")
    assert code == 0 and "no local user ghost" in err
    assert generation(store) == before + 3

    listed = json.loads(cli("access", "list", "--json")[1])
    assert [(g["id"], g["subject"], g["action"], g["scope"], g["where"]) for g in listed] == [
        (1, "group:prov-23", "read", "SSO:DF_CONTRIBUTIONS(1.0)", {"PROVINCE": ["IR-23"], "SEX": ["F", "M"]}),
        (2, "everyone", "read", "SSO:*", {}),
        (3, "user:ghost", "upload", "*", {}),
    ]
    readable = cli("access", "list")[1].splitlines()
    assert readable[0].split("\t")[:2] == ["#1", "group:prov-23 read SSO:DF_CONTRIBUTIONS(1.0) --where PROVINCE=IR-23 --where SEX=F+M"]
    grants = {g.id: g for g in current_grants(store)}
    assert grants[1].where == (("PROVINCE", ("IR-23",)), ("SEX", ("F", "M")))

    code, out, _ = cli("revoke", "group:prov-23", "read", "SSO:DF_CONTRIBUTIONS(1.0)", "--where", "SEX=M+F",
                       "--where", "PROVINCE=IR-23")
    assert code == 0 and out.startswith("revoked #1: ")
    assert cli("revoke", "--id", "3")[0] == 0
    assert [g["id"] for g in json.loads(cli("access", "list", "--json")[1])] == [2]
    started = time.monotonic()  # this process's cache follows within a second
    while sorted(g.id for g in current_grants(store)) != [2]:
        assert time.monotonic() - started < REFRESH_SECONDS + 0.5
        time.sleep(0.05)
    one_line_error(cli("revoke", "--id", "3"), "no grant #3")
    one_line_error(cli("revoke", "everyone", "read", "SSO:DF_OTHER(1.0)"), "no grant everyone read SSO:DF_OTHER(1.0)")
    one_line_error(cli("revoke", "everyone"), "SUBJECT ACTION SCOPE")
    one_line_error(cli("revoke", "everyone", "read", "*", "--id", "2"), "not both")
    one_line_error(cli("grant", "somebody", "read", "*"), "subject 'somebody'")
    one_line_error(cli("grant", "everyone", "read", "SSO:("), "scope 'SSO:('")
    one_line_error(cli("grant", "everyone", "read", "*", "--where", "PROVINCE"), "--where 'PROVINCE'")
    code, _, err = cli("grant", "everyone", "delete", "*")
    assert code == 2 and "invalid choice: 'delete'" in err  # argparse names the actions


def test_tokens_are_created_listed_and_revoked(cli, store):
    cli("users", "add", "loader")
    tokens = [cli("tokens", "create", "loader", *extra)[1].splitlines()[-1]
              for extra in ([], ["--expires", "12h"], ["--expires", "P30D", "--description", "nightly"], [])]
    assert [t.split("_")[1] for t in tokens] == ["1", "2", "3", "4"]
    listed = json.loads(cli("tokens", "list", "--json")[1])
    assert [(t["id"], t["user"], t["state"], t["description"]) for t in listed] == [
        (1, "loader", "active", ""), (2, "loader", "active", ""), (3, "loader", "active", "nightly"),
        (4, "loader", "active", "")]
    assert listed[1]["expires_at"] == pytest.approx(time.time() + 12 * 3600, abs=60)
    assert listed[2]["expires_at"] == pytest.approx(time.time() + 30 * 86400, abs=60)
    assert not any(t in json.dumps(listed) for t in tokens)

    assert cli("tokens", "revoke", "2")[1].strip() == "revoked token(s) 2"
    assert cli("tokens", "revoke", tokens[2])[1].strip() == "revoked token(s) 3"  # by the token itself
    assert cli("tokens", "revoke", "loader")[1].strip() == "revoked token(s) 1, 4"  # every live one of the user
    assert [t["state"] for t in json.loads(cli("tokens", "list", "--json")[1])] == ["revoked"] * 4
    one_line_error(cli("tokens", "revoke", "2"), "no token to revoke")
    one_line_error(cli("tokens", "revoke", "nobody"), "neither a token id nor a user")
    one_line_error(cli("tokens", "create", "nobody"), "no user nobody")
    one_line_error(cli("tokens", "create", "loader", "--expires", "soon"), "duration 'soon'")


def test_every_change_from_the_command_line_is_audited(cli, store):
    cli("users", "add", "ali", "--group", "staff")
    cli("tokens", "create", "ali")
    cli("tokens", "revoke", "ali")
    cli("grant", "user:ali", "read", "SSO:*")
    cli("grant", "user:ali", "read", "SSO:*")  # unchanged: nothing to record
    cli("revoke", "user:ali", "read", "SSO:*")
    cli("users", "disable", "ali")
    cli("users", "remove", "ali")
    with Session(store.engine) as session:
        entries = session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.actor, e.method, e.action, e.target, e.outcome) for e in entries] == [
        ("cli", "cli", "user.add", "user:ali", "ok"),
        ("cli", "cli", "token.create", "user:ali", "ok"),
        ("cli", "cli", "token.revoke", "token 1", "ok"),
        ("cli", "cli", "grant.add", "user:ali read SSO:*", "ok"),
        ("cli", "cli", "grant.revoke", "user:ali read SSO:*", "ok"),
        ("cli", "cli", "user.disable", "user:ali", "ok"),
        ("cli", "cli", "user.remove", "user:ali", "ok"),
    ]
    assert all(e.address for e in entries)  # the host the command ran on


def test_a_removed_users_grants_go_with_them_and_never_pass_to_the_next_of_that_name(cli, store, tmp_path):
    cli("users", "add", "sara")
    cli("grant", "user:sara", "admin", "*")
    cli("grant", "group:staff", "read", "SSO:*")  # not hers: stays
    assert cli("users", "remove", "sara")[0] == 0
    assert [g["rule"] for g in json.loads(cli("access", "list", "--json")[1])] == ["group:staff read SSO:*"]
    with Session(store.engine) as session:
        entries = session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.actor, e.action, e.target) for e in entries][-2:] == [
        ("cli", "grant.revoke", "user:sara admin *"), ("cli", "user.remove", "user:sara")]
    cli("users", "add", "sara")  # someone else, given the name later
    token = cli("tokens", "create", "sara")[1].splitlines()[-1]
    settings = Settings(database_url=Settings.from_env().database_url, data_dir=tmp_path / "var")
    with running_server(settings) as server, httpx.Client(base_url=server.url) as client:
        me = client.get("/auth/me", headers=bearer(token)).json()
        assert (me["name"], me["is_admin"]) == ("sara", False)
        assert client.get("/admin/api/users", headers=bearer(token)).status_code == 403


@pytest.mark.parametrize("text, seconds", [
    ("30d", 30 * 86400), ("12h", 12 * 3600), ("90m", 5400), ("45s", 45), ("2w", 14 * 86400),
    ("P30D", 30 * 86400), ("PT12H", 12 * 3600), ("P1DT2H30M", 86400 + 9000), ("p1w", 7 * 86400),
])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "30", "d", "-1d", "0d", "P", "PT", "P1H", "1.5d", "30 days", "P1000000D"])
def test_bad_durations(text):
    with pytest.raises(TokenError):
        parse_duration(text)


def test_the_console_script_prints_the_token_last_and_fails_in_one_line(tmp_path):
    env = {**os.environ, "SDMX_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}", "SDMX_DATA_DIR": str(tmp_path)}

    def script(*argv, stdin=None):
        return subprocess.run([str(SCRIPT), *argv], cwd=tmp_path, env=env, input=stdin, capture_output=True,
                              text=True, timeout=120)

    added = script("users", "add", "robot", "--password-stdin", stdin="pw of robot\n")
    assert added.returncode == 0, added.stderr
    made = script("tokens", "create", "robot", "--expires", "90m")
    assert made.returncode == 0 and made.stdout.endswith("\n")
    token = made.stdout.splitlines()[-1]
    assert token.startswith("sdmx_1_") and len(token) == len("sdmx_1_") + 43
    failed = script("tokens", "create", "nobody")
    assert failed.returncode == 1 and failed.stdout == ""
    assert failed.stderr.strip() == "sdmx-server: no user nobody; add it first (users add nobody)"
    assert "Traceback" not in failed.stderr


def test_a_revoke_from_the_command_line_reaches_every_worker_within_two_seconds(tmp_path):
    """`serve --workers 2`: each worker caches tokens and grants; a revoke (CLI, another
    process) and a grant reach both within the documented bounds."""
    import socket
    import signal

    env = {**os.environ, "SDMX_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}", "SDMX_DATA_DIR": str(tmp_path)}

    def script(*argv):
        done = subprocess.run([str(SCRIPT), *argv], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    script("users", "add", "robot")
    token = script("tokens", "create", "robot").splitlines()[-1]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([str(SCRIPT), "serve", "--port", str(port), "--workers", "2", "--no-scheduler"],
                              cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            deadline = time.monotonic() + 90
            while True:
                assert server.poll() is None and time.monotonic() < deadline, "the server did not answer"
                try:
                    if client.get("/auth/me", headers=bearer(token)).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            def answers() -> list[httpx.Response]:
                """12 requests, each on a connection of its own: spread over both workers."""
                return [httpx.get(f"http://127.0.0.1:{port}/auth/me", headers=bearer(token), timeout=10)
                        for _ in range(12)]

            assert [r.status_code for r in answers()] == [200] * 12  # both workers now hold the token
            assert not any(r.json()["is_admin"] for r in answers())
            script("grant", "user:robot", "admin", "*")
            time.sleep(2.0)  # the grants bound (1 s), with room for a slow machine
            assert [r.json()["is_admin"] for r in answers()] == [True] * 12
            script("tokens", "revoke", "robot")
            time.sleep(2.0)  # the credential bound (1 s), likewise
            assert [r.status_code for r in answers()] == [401] * 12
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
