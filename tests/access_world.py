"""The world of the permission matrix (tests/test_access_matrix.py): a store holding one dataflow
per access level (tests/content_access), known data, an embargoed release, the principals of
issue 8 made through the stable CLI verbs, and `sdmx-server serve` running on it as a process.

The principals, as the demo has them: a provincial user (group province-ir-07: reads the
internal flow's rows of Fars, IR-07, and uploads only those), a statistics-office user (group
office: reads internal and restricted flows, embargoed values, uploads and maintains), an
administrator; and three credentials that must be refused: a wrong token, an expired token, a
revoked token. Every authenticated principal uses an API token (`tokens create`).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pandas as pd

from tests.conftest import ROOT
from tests.serve_support import wait_until_it_answers

CONTENT = ROOT / "tests" / "content_access"
SCRIPT = Path(sys.executable).parent / "sdmx-server"
AGENCY = "TEST"
LEVELS = ("public", "internal", "restricted", "embargoed")
FLOW = {"public": "DF_PUBLIC", "internal": "DF_INTERNAL", "restricted": "DF_RESTRICTED", "embargoed": "DF_EMBARGOED"}
DSD = {"public": "DSD_PUBLIC", "internal": "DSD_INTERNAL", "restricted": "DSD_RESTRICTED", "embargoed": "DSD_PUBLIC"}
#: The codelist only this level's structure uses (CL_OBS_STATUS: every DSD).
CODELIST = {"public": "CL_FREQ", "internal": "CL_SCHEME", "restricted": "CL_SECRET_TOPIC", "embargoed": "CL_OBS_STATUS"}
CONSTRAINT = {"public": "CR_PUBLIC", "internal": "CR_INTERNAL", "restricted": "CR_RESTRICTED", "embargoed": None}
#: The dimension each flow has beside FREQ and PROVINCE, with its codes.
EXTRA = {"internal": ("SCHEME", ("S1", "S2")), "restricted": ("TOPIC", ("T1", "T2"))}
PROVINCES = ("IR-07", "IR-10", "IR-23")
OWN_PROVINCE = "IR-07"
MONTHS = tuple(f"2024-{m:02d}" for m in range(1, 7))

USERS = ("provincial", "office", "admin")
BAD = ("wrong", "expired", "revoked")
PRINCIPALS = ("anonymous", *USERS, *BAD)
USER_NAMES = {"provincial": "fars", "office": "office-user", "admin": "root-admin",
              "expired": "office-expiring", "revoked": "office-revoked"}

#: The grants, as `sdmx-server grant` takes them (issue 8): SUBJECT ACTION SCOPE [--where ...].
GRANTS = (
    ("user:root-admin", "admin", "*"),
    ("group:office", "read", f"{AGENCY}:*"),
    ("group:office", "read", f"{AGENCY}:DF_RESTRICTED"),  # a restricted flow opens only by name
    ("group:office", "read-embargoed", f"{AGENCY}:*"),
    ("group:office", "upload", f"{AGENCY}:*"),
    ("group:office", "maintain", f"{AGENCY}:*"),
    ("group:province-ir-07", "read", f"{AGENCY}:DF_INTERNAL(1.0)", "--where", f"PROVINCE={OWN_PROVINCE}"),
    ("group:province-ir-07", "upload", f"{AGENCY}:DF_INTERNAL(1.0)", "--where", f"PROVINCE={OWN_PROVINCE}"),
)
#: Only the office user has a password (the others sign in with tokens alone): made per run.
PASSWORDS = {"office": secrets.token_urlsafe(12)}
GROUPS = {"provincial": ["province-ir-07"], "office": ["office"], "admin": [],
          "expired": ["office"], "revoked": ["office"]}


def frame(level: str, seed: int) -> pd.DataFrame:
    """Every series of the level's flow over MONTHS, values made from the seed (distinct per flow)."""
    extra = EXTRA.get(level)
    rows = []
    n = seed * 1000
    for province in PROVINCES:
        for code in (extra[1] if extra else (None,)):
            for month in MONTHS:
                n += 1
                row = {"FREQ": "M", "PROVINCE": province}
                if extra:
                    row[extra[0]] = code
                rows.append({**row, "TIME_PERIOD": month, "OBS_VALUE": float(n), "OBS_STATUS": "A"})
    return pd.DataFrame(rows)


def embargoed_release(published: pd.DataFrame) -> pd.DataFrame:
    """The pending release of DF_EMBARGOED: the last month revised (+0.5) and a month more."""
    last = published[published.TIME_PERIOD == MONTHS[-1]].copy()
    last["OBS_VALUE"] += 0.5
    new = published[published.TIME_PERIOD == MONTHS[-1]].copy()
    new["TIME_PERIOD"] = "2024-07"
    new["OBS_VALUE"] += 100.0
    return pd.concat([last, new], ignore_index=True)


def sdmx_csv(df: pd.DataFrame, flow_id: str) -> str:
    """SDMX-CSV 1.0 text of a frame."""
    out = df.copy()
    out.insert(0, "DATAFLOW", f"{AGENCY}:{flow_id}(1.0)")
    return out.to_csv(index=False)


def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *args], env=env, input=stdin, capture_output=True, text=True, timeout=120)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class World:
    url: str
    env: dict[str, str]
    tokens: dict[str, str]
    #: what each flow holds as the public sees it; and the embargoed release, pending
    frames: dict[str, pd.DataFrame]
    pending: pd.DataFrame

    def headers(self, who: str, **extra: str) -> dict[str, str]:
        token = self.tokens.get(who)
        return {**({"Authorization": f"Bearer {token}"} if token else {}), **extra}

    def request(self, method: str, who: str, path: str, *, headers: dict | None = None, **kw) -> httpx.Response:
        return httpx.request(method, f"{self.url}{path}", headers=self.headers(who, **(headers or {})),
                             timeout=60, **kw)

    def get(self, who: str, path: str, **kw) -> httpx.Response:
        return self.request("GET", who, path, **kw)


def _identity(env: dict[str, str]) -> dict[str, str]:
    """Users, groups, grants and tokens through the CLI verbs of issue 8; the tokens by principal."""
    def run(*args: str, stdin: str | None = None) -> str:
        done = cli(env, *args, stdin=stdin)
        assert done.returncode == 0, f"sdmx-server {' '.join(args)}: {done.stderr}"
        return done.stdout

    tokens = {"wrong": "sdmx_" + secrets.token_urlsafe(32)}
    for who, name in USER_NAMES.items():
        groups = [a for g in GROUPS[who] for a in ("--group", g)]
        password = ["--password-stdin"] if who in PASSWORDS else []
        run("users", "add", name, *groups, *password, stdin=PASSWORDS.get(who, "") + "\n")
    for grant in GRANTS:
        run("grant", *grant)
    for who, name in USER_NAMES.items():
        options = ["--expires", "2s"] if who == "expired" else []
        tokens[who] = run("tokens", "create", name, *options).strip().splitlines()[-1].strip()  # alone on the last line
    run("tokens", "revoke", USER_NAMES["revoked"])
    return tokens


def build_world(database_url: str, directory: Path):
    """Load the content and data, make the principals, start the server; a context manager."""
    from contextlib import contextmanager

    @contextmanager
    def world():
        from sdmx_server.boot import create_schema
        from sdmx_server.cli import _registry
        from sdmx_server.ingest.load import load_data
        from sdmx_server.registry.load import load_structures
        from sdmx_server.settings import Settings
        from sdmx_server.store.database import Database

        settings = Settings(database_url=database_url, data_dir=directory / "var")
        db = Database(database_url)
        create_schema(db)
        outcome = load_structures(db, [CONTENT], settings)
        assert outcome.ok, outcome.errors
        frames = {level: frame(level, seed) for seed, level in enumerate(LEVELS, start=1)}
        registry = _registry(db)
        for level, df in frames.items():
            path = directory / f"{level}.csv"
            path.write_text(sdmx_csv(df, FLOW[level]), encoding="utf-8")
            loaded = load_data(db, registry, (AGENCY, FLOW[level], "1.0"), path, "merge", settings)
            assert loaded.applied, loaded.report.text()
        pending = embargoed_release(frames["embargoed"])
        path = directory / "embargoed-release.csv"
        path.write_text(sdmx_csv(pending, FLOW["embargoed"]), encoding="utf-8")
        release_at = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)
        loaded = load_data(db, registry, (AGENCY, FLOW["embargoed"], "1.0"), path, "merge", settings,
                           release_at=release_at)
        assert loaded.status == "pending", loaded.report.text()
        db.dispose()

        env = {**os.environ, "SDMX_DATABASE_URL": database_url, "SDMX_DATA_DIR": str(settings.data_dir),
               "SDMX_METRICS_ACCESS": "admin"}  # so that the matrix sees who may read /metrics
        tokens = _identity(env)
        expires_at = time.monotonic() + 2.5
        port = free_port()
        log = directory / "serve.log"
        with log.open("w") as out:
            process = subprocess.Popen([str(SCRIPT), "serve", "--port", str(port), "--no-scheduler"],
                                       cwd=directory, env=env, stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_it_answers(process, f"{url}/rest/dataflow", log)
            time.sleep(max(0.0, expires_at - time.monotonic()))  # the 2-second token is expired
            yield World(url, env, tokens, frames, pending)
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            assert "Traceback" not in log.read_text(), log.read_text()[-5000:]

    return world()
