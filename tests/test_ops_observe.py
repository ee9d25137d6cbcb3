"""Issue 10, health and metrics: /health and /ready, request ids (header, every SDMX error
format, every log line of the request), the request observers, the Prometheus metrics and who
may read them. A real server (uvicorn, one process); `serve --workers 2` is in test_ops_serve.py."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from lxml import etree
from prometheus_client.parser import text_string_to_metric_families
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sdmx_server.access.principal import Principal
from sdmx_server.access.rules import Grant, Scope
from sdmx_server.ops.logs import JsonFormatter, RequestIdFilter
from tests.conftest import fresh_database, running_server
from tests.datasets import CONTENT, FLOW_A, frame, sdmx_csv
from tests.principals import WRITER, by_header, granting

NS21 = "{http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common}Text"
NS30 = "{http://www.sdmx.org/resources/sdmxml/schemas/v3_0/common}Text"
CSV2 = "application/vnd.sdmx.data+csv;version=2.0.0"
DATA = "/rest/v2/data/dataflow/TEST/DF_A/1.0/*"
ADMIN = Principal(name="boss", method="token", credential="token:7")  # as access/store.py names it
READER = Principal(name="reader", method="session")
PRINCIPALS = {"writer": WRITER, "admin": ADMIN, "reader": READER}


def _failing(request):
    raise RuntimeError("a bug of this route")


def _logging_in_a_thread(request):
    """A sync endpoint: starlette runs it in a worker thread."""
    logging.getLogger("sdmx_server.test").warning("written in a worker thread")
    return PlainTextResponse("logged")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from sdmx_server.boot import create_schema
    from sdmx_server.registry.load import load_structures
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database

    directory = tmp_path_factory.mktemp("ops-observe")
    with fresh_database("sqlite", directory) as url:
        settings = Settings(database_url=url, data_dir=directory)
        db = Database(url)
        create_schema(db)
        assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings).ok
        db.dispose()
        extra = [Route("/api/test/fail", _failing), Route("/api/test/log", _logging_in_a_thread)]
        with running_server(settings, by_header(PRINCIPALS), extra_routes=extra) as running:
            running.client = httpx.Client(base_url=running.url, timeout=60, headers={"Accept-Encoding": "identity"})
            # the data that the metrics tests read
            r = running.client.post("/rest/v2/data/dataflow/TEST/DF_A/1.0",
                                     content=sdmx_csv(frame(seed=1, months=6, quarters=2)),
                                     headers={"X-Test-Principal": "writer", "Content-Type": "text/csv"})
            assert r.status_code == 200, r.text[:500]
            yield running
            running.client.close()


def scrape(server) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics: (name, sorted labels) -> value."""
    r = server.client.get("/metrics")
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def scrape_until(server, condition, seconds: float = 10) -> dict:
    deadline = time.monotonic() + seconds
    while not condition(samples := scrape(server)):
        assert time.monotonic() < deadline, "not counted"
        time.sleep(0.05)
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@contextmanager
def captured_logs(*request_ids: str):
    """The server's log lines as `serve` writes them (JSON, with the request id filter), until
    the access lines of `request_ids` came (the server writes one after the answer's last
    byte, so it may come after the client has the answer)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    lines: list[dict] = []

    def accessed() -> set[str]:
        return {line.get("request_id") for line in map(json.loads, stream.getvalue().splitlines())
                if line["logger"] == "sdmx_server.access"}

    try:
        yield lines
        deadline = time.monotonic() + 10
        while not set(request_ids) <= accessed() and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines())


# -- health and readiness --------------------------------------------------------------------


class _Unreachable:
    """A database that is down: every use fails (or hangs, with `hang`)."""

    def __init__(self, hang: float = 0.0):
        self.hang = hang

    def __getattr__(self, name):
        if self.hang:
            time.sleep(self.hang)
        raise ConnectionRefusedError("the database is down")


@contextmanager
def database_down(server, hang: float = 0.0):
    app_state = _state(server)
    original = app_state.db
    app_state.db = _Unreachable(hang)
    app_state.invalidate()  # the next registry() asks the database again
    try:
        yield
    finally:
        app_state.db = original
        app_state.invalidate()


def _state(server):
    """The ServerState of the running app (the app runs in this process)."""
    import gc

    from sdmx_server.api.state import ServerState

    found = [o for o in gc.get_objects() if isinstance(o, ServerState) and o.settings == server.settings]
    assert len(found) == 1, found
    return found[0]


def test_health_and_ready_when_all_is_well(server):
    health = server.client.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert health.headers["cache-control"] == "no-store"
    ready = server.client.get("/ready")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready" and body["generation"] >= 1 and body["index_generation"] == body["generation"]


def test_health_does_not_ask_the_database_and_ready_says_why_not(server):
    with database_down(server):
        health = server.client.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        ready = server.client.get("/ready")
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable",
                                "reason": "the database or the structure index cannot be read (ConnectionRefusedError)"}
        assert ready.headers["retry-after"] == "5"
    assert server.client.get("/ready").status_code == 200  # back when the database is


def test_ready_does_not_hang_with_the_database(server, monkeypatch):
    from sdmx_server.api import operations

    monkeypatch.setattr(operations, "READY_WAIT_SECONDS", 0.3)
    with database_down(server, hang=3.0):
        started = time.monotonic()
        ready = server.client.get("/ready")
        assert time.monotonic() - started < 2.5
    assert ready.status_code == 503 and ready.json()["reason"] == "the database did not answer within 0.3 s"


# -- request ids -------------------------------------------------------------------------------


def test_a_sane_incoming_request_id_is_kept_and_others_replaced(server):
    mine = server.client.get("/health", headers={"X-Request-ID": "lb-42.a:b"})
    assert mine.headers["x-request-id"] == "lb-42.a:b"
    for bad in ("two words", "x" * 200, "<script>", ""):
        r = server.client.get("/health", headers={"X-Request-ID": bad})
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"]), (bad, r.headers["x-request-id"])
    a, b = server.client.get("/health"), server.client.get("/health")
    assert a.headers["x-request-id"] != b.headers["x-request-id"]
    data = server.client.get(DATA, headers={"Accept": CSV2})
    assert data.status_code == 200 and re.fullmatch(r"[0-9a-f]{32}", data.headers["x-request-id"])


@pytest.mark.parametrize("path, accept, family", [
    ("/rest/dataflow/TEST/DF_NOPE", None, "ml21"),
    ("/rest/v2/structure/dataflow/TEST/DF_NOPE", "application/vnd.sdmx.structure+xml;version=3.0.0", "ml30"),
    ("/rest/v2/structure/dataflow/TEST/DF_NOPE", "application/vnd.sdmx.structure+json;version=2.0.0", "json"),
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0/*", "text/nothing-like-it", "json-or-xml"),
    ("/rest/no/such/path", None, "ml21"),
    ("/admin/api/users", None, "json"),
])
def test_every_error_format_quotes_the_request_id(server, path, accept, family):
    headers = {"X-Request-ID": "ticket-1234"}
    if accept:
        headers["Accept"] = accept
    r = server.client.get(path, headers=headers)
    assert r.status_code >= 400 and r.headers["x-request-id"] == "ticket-1234"
    assert quoted_id(r) == "ticket-1234", r.text[:500]


def quoted_id(r: httpx.Response) -> str | None:
    """The request id an SDMX error message quotes (parsed, in its format's place)."""
    if r.headers["content-type"].startswith("application/json"):
        detail = r.json()["errors"][0]["detail"]
        found = re.search(r" \(request id: ([^)]+)\)$", detail)
        return found.group(1) if found else None
    root = etree.fromstring(r.content)
    texts = [t.text for t in root.iter(NS21, NS30)]
    ids = [t.removeprefix("request id: ") for t in texts if t and t.startswith("request id: ")]
    assert len(ids) == 1 and texts[-1].startswith("request id: "), texts
    return ids[0]


def test_an_unexpected_error_is_a_500_with_the_id_in_header_body_and_log(server):
    with captured_logs("crash-1") as lines:
        # a connection of its own: uvicorn closes the one an exception escaped on
        r = httpx.get(f"{server.url}/api/test/fail", headers={"X-Request-ID": "crash-1"}, timeout=30)
    assert r.status_code == 500 and r.headers["x-request-id"] == "crash-1"
    assert quoted_id(r) == "crash-1"
    failure = [line for line in lines if line.get("exception") and "a bug of this route" in line["exception"]]
    assert failure and all(line["request_id"] == "crash-1" for line in failure), lines
    access = [line for line in lines if line["logger"] == "sdmx_server.access" and line["request_id"] == "crash-1"]
    assert [(a["status"], a["route"], a["level"]) for a in access] == [(500, "/api/test/fail", "INFO")]


def test_every_log_line_of_a_request_carries_its_id_worker_threads_too(server):
    with captured_logs("thread-7", "data-8") as lines:
        r = server.client.get("/api/test/log", headers={"X-Request-ID": "thread-7"})
        server.client.get(DATA, headers={"X-Request-ID": "data-8", "Accept": CSV2})
    assert r.status_code == 200
    threaded = [line for line in lines if line["message"] == "written in a worker thread"]
    assert len(threaded) == 1 and threaded[0]["request_id"] == "thread-7" and threaded[0]["level"] == "WARNING"
    access = {line["request_id"]: line for line in lines if line["logger"] == "sdmx_server.access"}
    assert {"thread-7", "data-8"} <= set(access)
    data = access["data-8"]
    assert (data["method"], data["route"], data["status"], data["format"], data["dataflows"]) == (
        "GET", "/rest/v2/data/{path:path}", 200, "csv-2.0.0", ["TEST:DF_A(1.0)"])
    assert data["path"] == DATA and data["bytes"] > 1000 and data["consumer"] == "anonymous"
    assert datetime.fromisoformat(data["time"]).tzinfo is not None


# -- observers -------------------------------------------------------------------------------


def test_observers_get_one_record_per_request_with_what_the_route_noted(server):
    app = _app(server)
    seen = []
    app.state.observers.append(seen.append)
    try:
        data = server.client.get(DATA, headers={"Accept": CSV2, "X-Request-ID": "obs-1"})
        again = server.client.get(DATA, headers={"Accept": CSV2, "If-None-Match": data.headers["etag"]})
        server.client.get("/rest/v2/structure/codelist/TEST/CL_FREQ", headers={"X-Test-Principal": "reader"})
        server.client.get("/rest/v2/availability/dataflow/TEST/DF_A/1.0/*", headers={"X-Test-Principal": "admin"})
        server.client.get("/nowhere")
        until(lambda: len(seen) >= 5)
    finally:
        app.state.observers.remove(seen.append)
    assert again.status_code == 304
    # in the order the requests came
    first, second, structure, availability, nowhere = sorted(seen, key=lambda record: record.started)
    assert (first.request_id, first.method, first.route, first.surface, first.status) == (
        "obs-1", "GET", "/rest/v2/data/{path:path}", "rest-v2", 200)
    assert first.bytes_sent == len(data.content) and first.seconds > 0 and first.address == "127.0.0.1"
    assert first.notes == {"resource": "data", "format": "csv-2.0.0", "dataflows": ("TEST:DF_A(1.0)",)}
    assert abs(first.started - time.time()) < 60 and first.consumer == "anonymous"
    assert (second.status, second.bytes_sent, second.notes["dataflows"]) == (304, 0, ("TEST:DF_A(1.0)",))
    assert (structure.notes, structure.consumer, structure.surface) == (
        {"resource": "structure", "format": "xml-3.0.0"}, "user:reader", "rest-v2")  # httpx sends */*
    assert (availability.notes["resource"], availability.notes["dataflows"], availability.consumer) == (
        "availability", ("TEST:DF_A(1.0)",), "token:7")
    assert (nowhere.route, nowhere.status, nowhere.surface, nowhere.notes) == ("unmatched", 404, "other", {})


def test_a_failing_observer_neither_breaks_the_answer_nor_the_others(server):
    app = _app(server)
    seen = []

    def broken(record):
        raise ValueError("observer bug")

    app.state.observers[:0] = [broken]
    app.state.observers.append(seen.append)
    try:
        r = server.client.get("/health")
        until(lambda: seen)
    finally:
        app.state.observers.remove(broken)
        app.state.observers.remove(seen.append)
    assert r.status_code == 200 and [s.route for s in seen] == ["/health"]


def test_a_request_is_observed_before_its_client_has_the_whole_answer(server):
    """A scrape right after a client's requests counts every one of them: the observers are
    told before the last chunk of an answer goes (told after it, the client could have read
    the answer, and scraped, before its request was counted)."""
    app = _app(server)
    seen = []
    app.state.observers.append(seen.append)
    try:
        for i in range(15):
            path, headers = (DATA, {"Accept": CSV2}) if i % 3 else ("/health", {})
            r = server.client.get(path, headers={**headers, "X-Request-ID": f"now-{i}"})
            assert r.status_code == 200
            assert [s.request_id for s in seen] == [f"now-{j}" for j in range(i + 1)]  # no waiting
            assert seen[-1].bytes_sent == len(r.content) and seen[-1].status == 200
    finally:
        app.state.observers.remove(seen.append)


def until(condition, seconds: float = 10) -> None:
    """Waits for the observers of a request whose client did not read its answer to the end."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the observers were not told"
        time.sleep(0.02)


def _app(server):
    import gc

    from starlette.applications import Starlette

    found = [o for o in gc.get_objects() if isinstance(o, Starlette)
             and getattr(o.state, "server", None) is not None and o.state.server.settings == server.settings]
    assert len(found) == 1
    return found[0]


# -- metrics ---------------------------------------------------------------------------------


def test_requests_are_counted_by_route_format_and_status_with_time_and_bytes(server):
    before = scrape(server)
    sizes = [len(server.client.get(DATA, headers={"Accept": CSV2}).content) for _ in range(3)]
    missing = server.client.get("/rest/v2/data/dataflow/TEST/DF_NOPE/1.0/*", headers={"Accept": CSV2})
    assert missing.status_code == 404
    route = {"method": "GET", "route": "/rest/v2/data/{path:path}", "format": "csv-2.0.0"}
    # (each is counted when its last byte went out: the client may have it a moment earlier)
    after = scrape_until(server, lambda now: value(now, "sdmx_http_request_duration_seconds_count", **route)
                         - value(before, "sdmx_http_request_duration_seconds_count", **route) >= 4)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("sdmx_http_requests_total", **route, status="200") == 3
    assert delta("sdmx_http_requests_total", **route, status="404") == 1
    assert delta("sdmx_http_request_duration_seconds_count", **route) == 4
    assert delta("sdmx_http_request_duration_seconds_bucket", **route, le="+Inf") == 4
    assert 0 < delta("sdmx_http_request_duration_seconds_sum", **route) < 60
    assert delta("sdmx_http_response_bytes_total", **route) == sum(sizes) + len(missing.content)
    # the scrapes before this one are counted too, under their own route
    assert delta("sdmx_http_requests_total", method="GET", route="/metrics", format="none", status="200") >= 1


def test_loads_rejections_releases_and_index_rebuilds_are_counted(server):
    before = scrape(server)
    post = "/rest/v2/data/dataflow/TEST/DF_A/1.0"
    writer = {"X-Test-Principal": "writer", "Content-Type": "text/csv"}
    applied = server.client.post(post, content=sdmx_csv(frame(seed=2, months=3, quarters=1)), headers=writer)
    bad = sdmx_csv(frame(seed=3, months=2, quarters=1)).replace(",M,", ",NOT_A_FREQ,")
    rejected = server.client.post(post, content=bad, headers=writer)
    soon = (datetime.now(timezone.utc) + timedelta(seconds=1)).isoformat()
    pending = server.client.post(post, params={"releaseAt": soon}, headers=writer,
                                 content=sdmx_csv(frame(seed=4, months=2, quarters=1)))
    assert (applied.status_code, rejected.status_code, pending.status_code) == (200, 422, 202), rejected.text[:300]
    _structures_changed_elsewhere(server)
    deadline = time.monotonic() + 20
    while True:  # the release loop applies it within a second or two of its time
        server.client.get("/rest/v2/structure/codelist/TEST/CL_FREQ")  # the index sees the change
        after = scrape(server)
        if value(after, "sdmx_embargo_releases_total") > value(before, "sdmx_embargo_releases_total") \
                and value(after, "sdmx_structure_index_rebuilds_total", kind="incremental") \
                > value(before, "sdmx_structure_index_rebuilds_total", kind="incremental"):
            break
        assert time.monotonic() < deadline, "no release or index rebuild counted"
        time.sleep(0.3)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    flow = {"dataflow": "TEST:DF_A(1.0)", "origin": "upload"}
    assert delta("sdmx_data_loads_total", **flow, status="applied") == 1
    assert delta("sdmx_data_loads_total", **flow, status="rejected") == 1
    assert delta("sdmx_data_loads_total", **flow, status="pending") == 1
    assert delta("sdmx_embargo_releases_total") == 1
    assert delta("sdmx_structure_index_rebuilds_total", kind="incremental") >= 1
    assert value(after, "sdmx_structure_index_rebuilds_total", kind="full") >= 1


def _structures_changed_elsewhere(server) -> None:
    """Another process's structure change: a new codelist, straight into the store."""
    from sdmx_server.registry.load import load_structures
    from sdmx_server.store.database import Database

    directory = server.settings.data_dir / "more-structures"
    directory.mkdir(exist_ok=True)
    (directory / "CL_EXTRA.yaml").write_text(
        "codelist:\n  id: CL_EXTRA\n  agency: TEST\n  version: '1.0'\n  name: {fa: دیگر, en: Extra}\n"
        "  codes:\n    - id: A\n      name: {fa: الف, en: A}\n", encoding="utf-8")
    db = Database(server.settings.database_url)
    try:
        outcome = load_structures(db, [directory], server.settings)
        assert outcome.ok, outcome
    finally:
        db.dispose()


# -- who reads /metrics ------------------------------------------------------------------------


def test_metrics_on_loopback_by_default_and_for_administrators_when_so_set(server, monkeypatch):
    import dataclasses

    assert server.client.get("/metrics").status_code == 200  # this machine (the default, loopback)
    app_state = _state(server)
    original = app_state.settings
    monkeypatch.setattr(app_state, "settings", dataclasses.replace(original, metrics_access="admin"))
    admin_grant = Grant("user:boss", "admin", Scope())
    with granting([admin_grant]):
        anonymous = server.client.get("/metrics")
        reader = server.client.get("/metrics", headers={"X-Test-Principal": "reader"})
        admin = server.client.get("/metrics", headers={"X-Test-Principal": "admin"})
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    assert reader.status_code == 403 and admin.status_code == 200
    assert etree.fromstring(anonymous.content).tag.endswith("Error")
    assert any(f.name == "sdmx_http_requests" for f in text_string_to_metric_families(admin.text))
    monkeypatch.setattr(app_state, "settings", dataclasses.replace(original, metrics_access="public"))
    assert server.client.get("/metrics").status_code == 200


def test_loopback_access_refuses_other_addresses(server):
    """The same app asked from another machine (an ASGI client address that is not loopback)."""
    import asyncio

    async def ask(host: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=_app(server), client=(host, 4321))
        async with httpx.AsyncClient(transport=transport, base_url="http://sdmx.example") as client:
            return await client.get("/metrics")

    assert asyncio.run(ask("203.0.113.9")).status_code == 401
    assert asyncio.run(ask("::1")).status_code == 200


def test_settings_of_operations_come_from_the_environment():
    from sdmx_server.settings import Settings

    settings = Settings.from_env({"SDMX_METRICS_ACCESS": "Admin", "SDMX_LOG_FORMAT": "text"})
    assert (settings.metrics_access, settings.log_format) == ("admin", "text")
    assert (Settings().metrics_access, Settings().log_format) == ("loopback", "json")
    with pytest.raises(ValueError, match="SDMX_METRICS_ACCESS"):
        Settings.from_env({"SDMX_METRICS_ACCESS": "everyone"})
