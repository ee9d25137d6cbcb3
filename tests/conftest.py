"""Shared fixtures.

Optional resources (the samples folder, PostgreSQL, MariaDB, Chromium) skip with a reason when
absent, except under CI=true, where their absence fails the run: CI must never go green by
skipping what it was meant to test.
"""

from __future__ import annotations

import ast
import gc
import os
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# CPython 3.11's AST builder keeps its recursion depth in state shared by every call
# (python/cpython#106905), and each call resets it to its own starting depth. A second
# ast.parse begun while one is still building its tree leaves the first one's count off, and
# the first raises "SystemError: AST constructor recursion depth mismatch". Inside pytest that
# aborts the whole run with an INTERNALERROR instead of reporting one failure; two CI runs were
# lost that way. The second parse comes from another thread (3.11's tracebacks parse the failing
# line to place their carets) or from the same one: the builder allocates, the allocation runs
# the garbage collector, a collected object's __del__ raises, and pytest's unraisable-exception
# hook formats that traceback at once. So parses go one at a time, with the collector held off.
_PARSE_LOCK = threading.RLock()
_parse = ast.parse


def _parse_one_at_a_time(*args, **kwargs):
    with _PARSE_LOCK:
        collecting = gc.isenabled()
        gc.disable()
        try:
            return _parse(*args, **kwargs)
        finally:
            if collecting:
                gc.enable()


ast.parse = _parse_one_at_a_time


def require(available: bool, reason: str) -> None:
    """Skip (or, under CI=true, fail) when a resource the test needs is missing."""
    if available:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def samples_path() -> Path:
    return Path(os.environ.get("SDMX_SAMPLES_DIR") or ROOT.parent / "shared" / "samples")


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    path = samples_path()
    require(path.is_dir(), f"the SDMX samples folder is missing ({path}; set SDMX_SAMPLES_DIR)")
    return path


# -- databases ------------------------------------------------------------------------------
#
# Every test run works in databases of its own: SQLite files under tmp_path, and on the shared
# PostgreSQL server a database created for the test and dropped after it.

BACKENDS = ("sqlite", "postgresql")


def postgres_admin_url() -> str | None:
    return os.environ.get("SDMX_TEST_POSTGRES_URL") or None


@contextmanager
def fresh_database(backend: str, directory: Path):
    """A new, empty database URL for the backend; PostgreSQL databases are dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'store.db'}"
        return
    admin = postgres_admin_url()
    require(admin is not None, "PostgreSQL tests need SDMX_TEST_POSTGRES_URL")
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    name = f"sdmx_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # the server is down or refuses
        engine.dispose()
        require(False, f"PostgreSQL at {admin} is not usable: {exc}")
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def db(database_url):
    """A store with every table, on each backend in turn."""
    from sdmx_server.boot import create_schema
    from sdmx_server.store.database import Database

    database = Database(database_url)
    create_schema(database)
    yield database
    database.dispose()


# -- a real server ---------------------------------------------------------------------------


class RunningServer:
    def __init__(self, url: str, settings):
        self.url = url
        self.settings = settings

    def rest(self, path: str) -> str:
        return f"{self.url}/rest/{path.lstrip('/')}"


@contextmanager
def running_server(settings, principal=None, extra_routes=()):
    """The real ASGI app under uvicorn, on a free port, in a background thread; `principal`:
    who every request is (tests/principals.py), or a function of the request's scope;
    `extra_routes` (routes of the kind other parts add: a form, a body-reading route) after
    the app's own."""
    import socket
    import threading
    import time

    import uvicorn

    from sdmx_server.api.app import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(settings)
    app.router.routes.extend(extra_routes)
    if principal is not None:
        from tests.principals import as_principal

        as_principal(app, principal)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    try:
        yield RunningServer(f"http://127.0.0.1:{port}", settings)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


# -- a server holding the test content --------------------------------------------------------


@contextmanager
def serving_content(backend: str, directory: Path, months: int = 6, **settings):
    """A running server on a fresh database holding tests/content, DF_A's data (`months` months,
    two quarters) and Settings(**settings)."""
    from sdmx_server.boot import create_schema
    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data
    from sdmx_server.registry.load import load_structures
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database
    from tests.datasets import CONTENT, FLOW_A, frame, sdmx_csv

    with fresh_database(backend, directory) as url:
        config = Settings(database_url=url, data_dir=directory, **settings)
        db = Database(url)
        create_schema(db)
        assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], config).ok
        if months:
            path = directory / "a.csv"
            path.write_text(sdmx_csv(frame(seed=1, months=months, quarters=2)), encoding="utf-8")
            assert load_data(db, _registry(db), FLOW_A, path, "merge", config).applied
        db.dispose()
        with running_server(config) as server:
            yield server


class ServedContent(RunningServer):
    """A running server on a fresh database, holding tests/content and known data."""

    def __init__(self, url, settings, frames: dict):
        super().__init__(url, settings)
        self.frames = frames  # flow tuple -> the pandas frame that was loaded (the oracle)


@pytest.fixture(scope="module", params=BACKENDS)
def served(request, tmp_path_factory):
    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data
    from sdmx_server.registry.load import load_structures
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database
    from sdmx_server.boot import create_schema
    from tests.datasets import CONTENT, FLOW_A, FLOW_B, FLOW_SECRET, frame, sdmx_csv

    directory = tmp_path_factory.mktemp(f"served-{request.param}")
    with fresh_database(request.param, directory) as url:
        settings = Settings(database_url=url, data_dir=directory)
        db = Database(url)
        create_schema(db)
        outcome = load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings)
        assert outcome.ok, outcome.errors
        frames = {FLOW_A: frame(seed=1), FLOW_B: frame(seed=2, months=6, quarters=2), FLOW_SECRET: frame(seed=3, months=2, quarters=0)}
        for flow, df in frames.items():
            path = directory / f"{flow[1]}.csv"
            path.write_text(sdmx_csv(df, flow), encoding="utf-8")
            loaded = load_data(db, _registry(db), flow, path, "merge", settings)
            assert loaded.applied, loaded.report.text()
        db.dispose()
        with running_server(settings) as server:
            yield ServedContent(server.url, settings, frames)


# -- the portal in a browser (tests/browser_support.py) -------------------------------------------

from tests.browser_support import chromium, demo_portal, demo_template, page  # noqa: E402,F401
