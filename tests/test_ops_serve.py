"""Issue 10: metrics and logs of `sdmx-server serve --workers 2`, run as operators run it.

Requests go to both worker processes; /metrics, whichever worker answers it, counts every
one of them (prometheus_client's multiprocess mode, in a directory `serve` makes fresh and
removes at exit); the log is one JSON object per line, each request's lines with its id;
`--log-format text` writes text instead.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import fresh_database
from tests.datasets import CONTENT, FLOW_A, frame, sdmx_csv
from tests.serve_support import wait_until_it_answers

SCRIPT = Path(sys.executable).parent / "sdmx-server"
DATA = "/rest/v2/data/dataflow/TEST/DF_A/1.0/*"
CSV2 = "application/vnd.sdmx.data+csv;version=2.0.0"
ROUTE = {"method": "GET", "route": "/rest/v2/data/{path:path}", "format": "csv-2.0.0", "status": "200"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(directory: Path, url: str, *args: str, ready=lambda log: True):
    port = _free_port()
    env = {**os.environ, "SDMX_DATABASE_URL": url, "SDMX_DATA_DIR": str(directory / "var")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = directory / f"serve-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([str(SCRIPT), "serve", "--port", str(port), "--no-scheduler", *args],
                                   cwd=directory, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_it_answers(process, f"{base}/ready", log, ready=lambda: ready(log))
        yield base, log, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from sdmx_server.boot import create_schema
    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data
    from sdmx_server.registry.load import load_structures
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database

    directory = tmp_path_factory.mktemp("ops-serve")
    with fresh_database("sqlite", directory) as url:
        settings = Settings(database_url=url, data_dir=directory / "var")
        db = Database(url)
        create_schema(db)
        assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings).ok
        path = directory / "a.csv"
        path.write_text(sdmx_csv(frame(seed=1, months=6, quarters=2)), encoding="utf-8")
        assert load_data(db, _registry(db), FLOW_A, path, "merge", settings).applied
        db.dispose()
        yield directory, url


def counted(base: str) -> float:
    """The data route's count of 200s in one scrape."""
    r = httpx.get(f"{base}/metrics", timeout=30)
    assert r.status_code == 200, r.text[:300]
    total = 0.0
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            if sample.name == "sdmx_http_requests_total" and sample.labels == ROUTE:
                total += sample.value
    return total


def per_worker(directory: Path) -> dict[str, float]:
    """Each worker's own count of the data route: its file alone, read as /metrics reads all."""
    import shutil
    import tempfile

    from prometheus_client import CollectorRegistry, multiprocess

    found = {}
    for path in directory.glob("counter_*.db"):
        with tempfile.TemporaryDirectory() as alone:
            shutil.copy(path, alone)
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=alone)
            found[path.stem.split("_")[-1]] = sum(
                sample.value for family in registry.collect() for sample in family.samples
                if sample.name == "sdmx_http_requests_total" and sample.labels == ROUTE)
    return found


def test_counts_add_up_across_two_workers_and_logs_are_json(store):
    directory, url = store
    started = lambda log: log.read_text(encoding="utf-8").count("Application startup complete") == 2  # noqa: E731
    with serving(directory, url, "--workers", "2", ready=started) as (base, log, process):
        metrics_dirs = list((directory / "var" / "metrics").glob("serve-*"))
        assert [d.name for d in metrics_dirs] == [f"serve-{process.pid}"]

        def fetch(i: int) -> tuple[int, str]:
            # a connection each, so that the kernel spreads them over both workers
            r = httpx.get(f"{base}{DATA}", headers={"Accept": CSV2, "X-Request-ID": f"req-{i}"}, timeout=60)
            return r.status_code, r.headers["x-request-id"]

        # in batches until both workers answered some (which one accepts is the kernel's choice)
        sent = 0
        while sent == 0 or len([n for n in per_worker(metrics_dirs[0]).values() if n]) < 2:
            assert sent < 600, f"one worker took all {sent} requests: {per_worker(metrics_dirs[0])}"
            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(fetch, range(sent, sent + 40)))
            assert answers == [(200, f"req-{i}") for i in range(sent, sent + 40)]
            sent += 40
        counts = per_worker(metrics_dirs[0])
        assert str(process.pid) not in counts  # uvicorn's supervisor answers nothing
        assert sum(counts.values()) == sent
        # whichever worker answers the scrape, the sum is the same: every request once
        totals = {counted(base) for _ in range(10)}
        assert totals == {float(sent)}

        r = httpx.get(f"{base}/rest/dataflow/TEST/NOPE", headers={"X-Request-ID": "missing-1"}, timeout=30)
        assert r.status_code == 404 and "request id: missing-1" in r.text
    assert not metrics_dirs[0].exists(), "serve leaves its metric files behind"

    lines = [line for line in log.read_text(encoding="utf-8").splitlines() if line.startswith("{")]
    records = [json.loads(line) for line in lines]
    assert records and all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    access = {r["request_id"]: r for r in records if r["logger"] == "sdmx_server.access"}
    assert {f"req-{i}" for i in range(sent)} <= access.keys()
    assert (access["req-7"]["status"], access["req-7"]["route"], access["req-7"]["format"]) == (
        200, "/rest/v2/data/{path:path}", "csv-2.0.0")
    assert access["missing-1"]["status"] == 404
    # uvicorn's own lines (startup, shutdown) are JSON too, without a request id
    assert any(r["logger"].startswith("uvicorn") and "request_id" not in r for r in records)


def test_text_logs_for_a_terminal(store):
    directory, url = store
    with serving(directory, url, "--log-format", "text") as (base, log, process):
        r = httpx.get(f"{base}/health", headers={"X-Request-ID": "plain-1"}, timeout=30)
        assert r.status_code == 200
        before = counted(base)
        httpx.get(f"{base}{DATA}", headers={"Accept": CSV2}, timeout=30)
        after = counted(base)
        assert after - before == 1  # one worker: multiprocess mode all the same
    text = log.read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if "[plain-1]" in line)
    assert " INFO    sdmx_server.access [plain-1] GET /health 200" in line, line
    assert not any(line.startswith("{") for line in text.splitlines())
