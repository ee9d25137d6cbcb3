"""Hardening: what one connection, one request and one client may ask of the server.

- Connections (api/protocol.py), against a real `sdmx-server serve` process over raw sockets:
  a 100 MB header is a 431 (or a closed connection) at once while other clients go on being
  answered; a request head or body that never finishes is closed after the configured time.
- Requests (api/limits.py, query/limits.py): bodies over a route's limit are 413, queries past
  the complexity limits a 400 naming the limit; both SDMX errors.
- Clients: a token bucket per consumer answers 429 with Retry-After; loopback is free unless
  enabled; the login throttle makes failed logins wait, doubling.
- Answers: security headers everywhere; CSRF tokens for forms; Excel cells never formulas
  while SDMX-CSV keeps the text exact.
- Parsers (query/): hypothesis finds no input that raises anything but an SDMX error.
"""

from __future__ import annotations

import http.client
import io
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from lxml import etree
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from sdmx_server.access.principal import ANONYMOUS, Principal
from sdmx_server.api.limits import LoginThrottle, TokenBuckets, body_limit, consumer_of
from sdmx_server.api.security import (CSP_HTML, CSRF_COOKIE, csrf_token, require_csrf, secure_headers,
                                      set_csrf_cookie)
from sdmx_server.errors import QueryTooComplex, SdmxError
from sdmx_server.query.keys import parse_key
from sdmx_server.query.limits import check_query
from sdmx_server.query.parse_data_v2 import (parse_availability_query, parse_availability_query_v1,
                                             parse_data_query as parse_data_v2, parse_filters, parse_keys,
                                             parse_sort)
from sdmx_server.query.parse_v1 import parse_data_query as parse_data_v1, parse_flow_ref
from sdmx_server.query.periods import PeriodError, parse_period, parse_query_period
from sdmx_server.settings import Settings
from tests.access_support import bearer, user_with_token
from tests.conftest import ROOT, fresh_database, running_server, serving_content
from tests.principals import writes

NS_ML21 = "{http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message}"


# -- a real `sdmx-server serve` process -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve_process(directory: Path, **env: str):
    """`sdmx-server serve` on an empty SQLite store, with extra environment `env`."""
    port = free_port()
    environment = {**os.environ, "SDMX_DATABASE_URL": f"sqlite:///{directory / 'store.db'}",
                   "SDMX_DATA_DIR": str(directory), **env}
    log = open(directory / "serve.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "sdmx_server.cli", "serve", "--port", str(port),
                                "--no-scheduler"], env=environment, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("serve did not start: " + (directory / "serve.log").read_text()[-2000:])
            time.sleep(0.1)
        yield url, port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def served_process(tmp_path_factory):
    """(url, port, an administrator's Authorization header line): writes need credentials, and
    the body clocks are only reached by a request the server means to read."""
    directory = tmp_path_factory.mktemp("serve-process")
    with serve_process(directory, SDMX_HEADER_TIMEOUT_SECONDS="2", SDMX_BODY_IDLE_SECONDS="2") as (url, port):
        token = user_with_token(f"sqlite:///{directory / 'store.db'}", "writer")
        yield url, port, b"Authorization: Bearer %s\r\n" % token.encode()


class Bystander:
    """Another client asking /health over and over while an attack runs: its slowest answer."""

    def __init__(self, url: str):
        self.url = url
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self.stop.is_set():
                started = time.monotonic()
                try:
                    status = client.get(f"{self.url}/health").status_code
                    if status != 200:
                        self.failures.append(str(status))
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                self.latencies.append(time.monotonic() - started)
                time.sleep(0.02)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=10)


def read_all(sock: socket.socket, timeout: float) -> tuple[bytes, float]:
    """What the server writes until it closes the connection, and when it closed (seconds)."""
    sock.settimeout(timeout)
    started = time.monotonic()
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data, time.monotonic() - started


def test_a_100_mb_header_is_refused_at_once_while_others_are_answered(served_process):
    url, port, _ = served_process
    with Bystander(url) as bystander:
        time.sleep(0.3)
        started = time.monotonic()
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"GET /rest/dataflow HTTP/1.1\r\nHost: x\r\nX-Huge: ")
        piece = b"a" * (1024 * 1024)
        sent = 0
        try:
            for _ in range(100):
                sock.sendall(piece)
                sent += len(piece)
        except OSError:  # the server closed the connection: what it should do
            pass
        answer, _ = read_all(sock, 5)
        elapsed = time.monotonic() - started
        sock.close()
        time.sleep(0.3)
    assert elapsed < 3, elapsed
    assert sent < 100 * len(piece), "the server read all 100 MB"
    if answer:  # 431 when the answer got through before the reset
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:100]
        root = etree.fromstring(answer.split(b"\r\n\r\n", 1)[1])
        assert root.tag == f"{NS_ML21}Error" and root[0].get("code") == "431"
    assert not bystander.failures, bystander.failures
    assert len(bystander.latencies) >= 5 and max(bystander.latencies) < 1.0, bystander.latencies


def test_a_request_head_that_never_ends_is_closed_after_the_timeout(served_process):
    url, port, _ = served_process
    with Bystander(url) as bystander:
        half = socket.create_connection(("127.0.0.1", port))
        half.sendall(b"GET /rest/dataflow HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        silent = socket.create_connection(("127.0.0.1", port))
        answer, closed_after = read_all(half, 10)
        nothing, silent_after = read_all(silent, 10)
    assert 1.5 < closed_after < 4, closed_after
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:100]
    assert nothing == b"" and silent_after < 4, silent_after  # a silent connection is just closed
    assert not bystander.failures and max(bystander.latencies) < 1.0


def test_a_body_that_stops_arriving_closes_the_connection(served_process):
    url, port, authorization = served_process
    with Bystander(url) as bystander:
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"POST /rest/v2/structure HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n"
                     + authorization + b"Content-Length: 100000\r\n\r\n<?xml version='1.0'?>")
        answer, closed_after = read_all(sock, 10)
    assert answer == b"" and 1.5 < closed_after < 4, (answer[:100], closed_after)
    assert not bystander.failures and max(bystander.latencies) < 1.0
    assert httpx.get(f"{url}/health").status_code == 200


def test_a_slow_but_steady_body_is_not_cut_off(served_process):
    """The body clock is an idle clock: a body that keeps coming, however slowly, is read."""
    _, port, authorization = served_process
    body = b'{"data": {}}'
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"POST /rest/v2/structure HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 + authorization + b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body))
    for i in range(0, len(body), 4):  # 3 pieces over 3 s: longer than the 2 s idle limit in all
        sock.sendall(body[i:i + 4])
        time.sleep(1.0)
    answer, _ = read_all(sock, 10)
    status = int(answer.split(b" ", 2)[1])
    assert status in (400, 422), answer[:300]  # read whole, and refused for what it says


def test_a_body_arriving_with_its_head_in_one_read_is_not_counted_as_head(served_process):
    """A client writing head and body at once: the server's first read holds both, and more
    than the 64 KiB a head may have. Only the head is counted (this was a 431)."""
    _, port, authorization = served_process
    body = b"<" * 300_000
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"POST /rest/v2/structure HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n"
                 + authorization + b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    answer, _ = read_all(sock, 10)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]  # read whole, and refused for what it says


def test_a_write_refused_before_its_body_is_read_answers_and_keeps_the_connection(served_process):
    """An anonymous upload is 401 before its body is read. A client that sends its whole body
    and then reads gets the 401, not a broken pipe: the server discards the rest of the body,
    and the connection answers the next request."""
    url, port, _ = served_process
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        started = time.monotonic()
        connection.request("POST", "/rest/v2/data/dataflow/TEST/DF_A/1.0", body=b"x" * (20 * 1024 * 1024),
                           headers={"Content-Type": "text/csv"})
        refused = connection.getresponse()
        assert refused.status == 401 and refused.getheader("www-authenticate", "").startswith("Bearer")
        assert etree.fromstring(refused.read()).tag.endswith("}Error")
        connection.request("GET", "/health")
        again = connection.getresponse()
        assert again.status == 200 and again.read()
        assert time.monotonic() - started < 20
    finally:
        connection.close()
    assert httpx.get(f"{url}/health").status_code == 200


# -- body limits ----------------------------------------------------------------------------------


def sdmx_error(response: httpx.Response) -> tuple[str, str]:
    """The code and text of an SDMX-ML error message (2.1 from REST v1, 3.0 from v2 with Accept XML)."""
    root = etree.fromstring(response.content)
    assert root.tag in (f"{NS_ML21}Error", f"{NS_ML21.replace('v2_1', 'v3_0')}Error"), response.text[:300]
    message = root[0]
    return message.get("code"), " ".join(t.text or "" for t in message)


@pytest.fixture(scope="module")
def small_limits(tmp_path_factory):
    """A server whose bodies may be small, whose queries simple, whose clients few."""
    directory = tmp_path_factory.mktemp("small-limits")
    with fresh_database("sqlite", directory) as url:
        settings = Settings(database_url=url, data_dir=directory, max_structure_bytes=2000, max_load_bytes=3000,
                            max_body_bytes=100, max_query_keys=3, max_key_codes=10, max_filter_values=4,
                            max_list_items=5)
        app_routes = [Route("/api/echo", _echo, methods=["POST"])]
        with running_server(settings, writes, extra_routes=app_routes) as server:
            yield server


async def _echo(request: Request) -> JSONResponse:
    return JSONResponse({"bytes": len(await request.body())})


XML = {"Content-Type": "application/vnd.sdmx.structure+xml;version=2.1", "Accept": "application/xml"}


def test_a_declared_body_over_the_limit_is_413_before_it_is_read(small_limits):
    response = httpx.post(f"{small_limits.url}/rest/v2/structure", content=b"x" * 2001, headers=XML)
    assert response.status_code == 413
    code, text = sdmx_error(response)
    assert code == "413" and "2,000 bytes" in text


def test_a_streamed_body_growing_past_the_limit_is_413(small_limits):
    def chunks():
        for _ in range(10):
            yield b"y" * 500

    for path, limit in (("/rest/v2/structure", 2000), ("/rest/v2/data/dataflow/TEST/DF_A/1.0", 3000),
                        ("/api/echo", 100)):
        response = httpx.post(small_limits.url + path, content=chunks(), headers=XML)
        assert response.status_code in (413, 404), (path, response.status_code)  # 404: DF_A is not loaded
        if response.status_code == 413:
            assert sdmx_error(response)[0] == "413" and f"{limit:,} bytes" in sdmx_error(response)[1]
    assert httpx.post(f"{small_limits.url}/api/echo", content=b"z" * 100).json() == {"bytes": 100}


def test_body_limits_by_route():
    settings = Settings(max_body_bytes=1, max_structure_bytes=2, max_load_bytes=3)
    assert body_limit(settings, "POST", "/rest/v2/structure/codelist") == 2
    assert body_limit(settings, "PUT", "/rest/v2/structure/codelist/A/B/1.0") == 2
    assert body_limit(settings, "POST", "/rest/v2/data/dataflow/A/B/1.0") == 3
    assert body_limit(settings, "POST", "/auth/login") == 1
    assert body_limit(settings, "GET", "/rest/v2/data/dataflow/A/B/1.0") == 1


# -- query complexity -----------------------------------------------------------------------------


@pytest.mark.parametrize("target, limit", [
    ("/rest/data/DF_A/M.A+B+C+D+E+F+G+H+I.F", "10 per query"),  # 11 codes in a key
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0/M.IR.F,M.IR.M,Q.IR.F,Q.IR.M", "3 per query"),  # 4 keys
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0/*?c[AREA]=IR,IR-23,IR-10,IR-03,IR-04", "4 per query"),
    ("/rest/v2/data/dataflow/TEST/DF_A/1.0/*?c[AREA]=IR&c[SEX]=F,M&c[FREQ]=M,Q", "4 per query"),  # 5 over three
    ("/rest/codelist/TEST/A+B+C+D+E+F", "5 per query"),
    ("/rest/v2/structure/codelist/A,B,C,D,E,F", "5 per query"),
    ("/rest/v2/structure/codelist/TEST/CL/1.0,1.1,1.2,1.3,1.4,1.5", "5 per query"),
    ("/rest/v2/availability/dataflow/TEST/DF_A/1.0/M.IR.F,M.IR.M,Q.IR.F,Q.IR.M", "3 per query"),
    ("/rest/v2/metadata/metadataflow/*/A,B,C,D,E,F", "5 per query"),
])
def test_queries_past_the_complexity_limits_are_400_naming_the_limit(small_limits, target, limit):
    response = httpx.get(small_limits.url + target, headers={"Accept": "application/xml"})
    assert response.status_code == 400, (response.status_code, response.text[:300])
    code, text = sdmx_error(response)
    assert code == "140" and f"at most {limit}" in text, text


@pytest.mark.parametrize("target", [
    "/rest/data/DF_A/M.A+B+C+D+E+F+G+H.F",
    "/rest/v2/data/dataflow/TEST/DF_A/1.0/M.IR.F,M.IR.M,Q.IR.F?c[AREA]=IR,IR-23&c[SEX]=F+M",
    "/rest/codelist/TEST/A+B+C+D+E",
])
def test_queries_within_the_limits_are_not_refused_for_their_size(small_limits, target):
    response = httpx.get(small_limits.url + target, headers={"Accept": "application/xml"})
    assert response.status_code == 404, response.text[:300]  # nothing loaded: "not found", not "too complex"


# -- rate limits ----------------------------------------------------------------------------------


def test_over_the_rate_a_client_gets_429_with_retry_after_then_is_heard_again(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 's.db'}", data_dir=tmp_path, rate_limit_per_second=1.0,
                        rate_limit_burst=5, rate_limit_loopback=True)
    with running_server(settings) as server, httpx.Client(timeout=10) as client:
        statuses = [client.get(f"{server.url}/rest/v2/structure/codelist").status_code for _ in range(5)]
        assert 429 not in statuses, statuses
        refused = client.get(f"{server.url}/rest/v2/structure/codelist", headers={"Accept": "application/xml"})
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        assert sdmx_error(refused)[0] == "429"
        time.sleep(1.1)
        assert client.get(f"{server.url}/health").status_code == 200


def test_loopback_clients_are_not_limited_unless_enabled(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 's.db'}", data_dir=tmp_path, rate_limit_per_second=1.0,
                        rate_limit_burst=2)
    with running_server(settings) as server, httpx.Client(timeout=10) as client:
        assert {client.get(f"{server.url}/health").status_code for _ in range(20)} == {200}


def test_buckets_refill_at_the_rate_and_are_per_consumer():
    now = [0.0]
    buckets = TokenBuckets(rate=2.0, burst=3, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)
    assert buckets.take("b") == 0.0  # another consumer, its own bucket
    now[0] = 0.5
    assert buckets.take("a") == 0.0 and buckets.take("a") == pytest.approx(0.5)
    now[0] = 100.0
    assert [buckets.take("a") for _ in range(4)][-1] > 0  # refilled to the burst, never beyond


def test_the_consumer_is_the_token_or_user_else_the_address():
    address = {"client": ("10.0.0.7", 5555)}
    assert consumer_of(address) == "address:10.0.0.7"
    assert consumer_of({**address, "user": ANONYMOUS}) == "address:10.0.0.7"
    machine = Principal(name="etl", method="token", credential="tok-42")
    assert consumer_of({**address, "user": machine}) == "token:tok-42"
    person = Principal(name="sara", method="session", credential="s-1")
    assert consumer_of({**address, "user": person}) == "user:sara"


def test_failed_logins_wait_doubling_and_a_success_clears_them():
    now = [0.0]
    throttle = LoginThrottle(Settings(login_free_attempts=3, login_delay_seconds=1.0, login_max_delay_seconds=4.0),
                             clock=lambda: now[0])
    for _ in range(3):
        throttle.check("sara", "10.0.0.7")
        throttle.failed("sara", "10.0.0.7")
    assert throttle.wait("sara", "10.0.0.7") == 0.0  # three free failures
    waits = []
    for _ in range(4):
        throttle.failed("sara", "10.0.0.7")
        waits.append(throttle.wait("sara", "10.0.0.7"))
    assert waits == [1.0, 2.0, 4.0, 4.0]  # doubling, capped
    with pytest.raises(SdmxError) as refused:
        throttle.check("SARA", "10.0.0.7")  # account names without regard to case
    assert refused.value.status == 429 and refused.value.retry_after == 4
    assert throttle.wait("sara", "10.0.0.8") == 0.0  # another address is not locked out with it
    now[0] = 10.0
    throttle.check("sara", "10.0.0.7")
    throttle.succeeded("sara", "10.0.0.7")
    throttle.failed("sara", "10.0.0.7")
    assert throttle.wait("sara", "10.0.0.7") == 0.0


def test_an_address_trying_many_accounts_is_throttled_too():
    throttle = LoginThrottle(Settings(login_free_attempts=2), clock=lambda: 0.0)
    for n in range(8):  # 2 free per account, 8 over all accounts
        throttle.failed(f"user{n}", "10.0.0.9")
    assert throttle.wait("user99", "10.0.0.9") == 0.0
    throttle.failed("user8", "10.0.0.9")
    assert throttle.wait("user99", "10.0.0.9") > 0  # a fresh account: the address is waiting
    assert throttle.wait("user99", "10.0.0.10") == 0.0


# -- security headers and CSRF --------------------------------------------------------------------


SECURITY = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY"}


def test_every_answer_carries_the_security_headers(small_limits):
    with httpx.Client(base_url=small_limits.url, timeout=10) as client:
        answers = [client.get("/health"), client.get("/rest/v2/structure/codelist"), client.get("/auth/nowhere"),
                   client.options("/rest/dataflow"), client.get("/rest/" + "a" * 9000),
                   client.delete("/health"), client.get("/openapi.json")]
    for answer in answers:
        for name, value in SECURITY.items():
            assert answer.headers.get(name) == value, (answer.request.url, answer.status_code, name)
        assert answer.headers["content-security-policy"].startswith("default-src 'none'")
    assert [a.status_code for a in answers] == [200, 404, 404, 204, 414, 405, 200]


def test_html_pages_get_a_strict_policy_and_a_route_keeps_its_own():
    html = dict(secure_headers([(b"content-type", b"text/html; charset=utf-8")], https=True))
    assert html[b"content-security-policy"] == CSP_HTML.encode()
    policy = CSP_HTML.split("; ")
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "unsafe-inline" not in CSP_HTML and b"strict-transport-security" in html
    own = dict(secure_headers([(b"Content-Security-Policy", b"default-src 'self'")], https=False))
    assert own[b"Content-Security-Policy"] == b"default-src 'self'" and b"content-security-policy" not in own
    assert b"strict-transport-security" not in own


async def _form(request: Request):
    if request.method == "GET":
        token = csrf_token(request)
        response = HTMLResponse(f'<form method="post"><input name="csrf_token" value="{token}"></form>')
        set_csrf_cookie(response, token, request)
        return response
    from urllib.parse import parse_qsl

    form = dict(parse_qsl((await request.body()).decode()))  # what request.form() gives, with python-multipart
    require_csrf(request, form)
    return JSONResponse({"accepted": True})


@pytest.fixture(scope="module")
def form_server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("forms")
    settings = Settings(database_url=f"sqlite:///{directory / 's.db'}", data_dir=directory)
    with running_server(settings, extra_routes=[Route("/form", _form, methods=["GET", "POST"])]) as server:
        yield server


def test_a_form_posted_with_its_token_passes_and_without_it_is_403(form_server):
    with httpx.Client(base_url=form_server.url, timeout=10) as client:
        page = client.get("/form")
        assert page.headers["content-security-policy"] == CSP_HTML
        token = page.text.split('value="')[1].split('"')[0]
        cookie = page.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert client.post("/form", data={"csrf_token": token}).json() == {"accepted": True}
        assert client.get("/form").text.count(token) == 1  # the same token while the cookie is valid
        missing = client.post("/form", data={})
        wrong = client.post("/form", data={"csrf_token": token[:-1] + ("0" if token[-1] != "0" else "1")})
        other_site = client.post("/form", data={"csrf_token": token}, headers={"Origin": "https://evil.example"})
    assert [r.status_code for r in (missing, wrong, other_site)] == [403, 403, 403]
    # A cookie and field that agree but were not signed by this server (planted by a sibling site).
    with httpx.Client(base_url=form_server.url, timeout=10, cookies={CSRF_COOKIE: "abc.def"}) as client:
        assert client.post("/form", data={"csrf_token": "abc.def"}).status_code == 403


# -- Excel: text, never formulas ------------------------------------------------------------------


FORMULAS = ['=HYPERLINK("http://evil.example","click")', "+1+1", "-2+3", "@SUM(A1:A2)", "\tTAB", "=1+1"]


@pytest.fixture(scope="module")
def content_server(tmp_path_factory):
    with serving_content("sqlite", tmp_path_factory.mktemp("content"), months=0) as server:
        server.auth = bearer(user_with_token(server.settings.database_url, "uploader", "upload", "TEST:*"))
        yield server


def test_excel_cells_that_look_like_formulas_are_text_and_csv_keeps_them_exact(content_server):
    import openpyxl

    from tests.datasets import frame, sdmx_csv

    df = frame(seed=5, months=len(FORMULAS), quarters=0)
    df = df[(df.AREA == "IR") & (df.SEX == "F")].reset_index(drop=True)
    df["COMMENT"] = FORMULAS[: len(df)]
    upload = httpx.post(f"{content_server.url}/rest/v2/data/dataflow/TEST/DF_A/1.0",
                        content=sdmx_csv(df).encode(), headers={"Content-Type": "text/csv", **content_server.auth},
                        timeout=60)
    assert upload.status_code == 200, upload.text[:500]
    xlsx = httpx.get(f"{content_server.url}/rest/data/DF_A/M.IR.F", timeout=60,
                     headers={"Accept": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    assert xlsx.status_code == 200, xlsx.text[:300]
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content))["1"]
    header = [c.value.split(":")[0] for c in sheet[1]]
    column = header.index("COMMENT")
    cells = [row[column] for row in sheet.iter_rows(min_row=2)]
    assert sorted(c.value for c in cells) == sorted(FORMULAS)
    for cell in cells:
        assert cell.data_type == "s" and cell.quotePrefix, (cell.value, cell.data_type)
    every = [c for row in sheet.iter_rows() for c in row]
    assert not [c for c in every if c.data_type == "f"]  # no formula anywhere
    assert not [c for c in every if c.quotePrefix and not str(c.value).startswith(("=", "+", "-", "@", "\t"))]
    csv = httpx.get(f"{content_server.url}/rest/data/DF_A/M.IR.F", timeout=60,
                    headers={"Accept": "application/vnd.sdmx.data+csv;version=1.0.0"})
    import csv as csv_module

    rows = list(csv_module.DictReader(io.StringIO(csv.text)))
    assert sorted(r["COMMENT"] for r in rows) == sorted(FORMULAS)  # SDMX-CSV: the data as they are


# -- the parsers never raise anything but SDMX errors ----------------------------------------------


FUZZ = hypothesis_settings(max_examples=300, deadline=None, derandomize=True, database=None,
                           suppress_health_check=[HealthCheck.too_slow])
SDMX_PIECES = st.sampled_from(["M", "IR", "IR-23", "+", ".", ",", "*", "all", "~", "1.0", "1.0+", "1.+.0", "2020",
                               "2020-Q1", "2020-W53", "2020-01-01T00:00:00Z", "P1M", "/", ":", "ge:", "eq:", "%2B",
                               "%2C", "'", ";", "\x00", "..", "--01-01", "c[", "]", "=", "&", "T", "Z", "+03:30"])
TEXT = st.one_of(st.text(max_size=40), st.lists(SDMX_PIECES, max_size=14).map("".join))
PARAMETER_NAMES = st.sampled_from([
    "startPeriod", "endPeriod", "updatedAfter", "asOf", "includeHistory", "firstNObservations", "lastNObservations",
    "detail", "dimensionAtObservation", "reportingYearStartDay", "c[FREQ]", "c[TIME_PERIOD]", "c[]", "sort",
    "attributes", "measures", "offset", "limit", "mode", "references", "c[AREA]",
]) | st.text(max_size=6)
PARAMETERS = st.dictionaries(PARAMETER_NAMES, TEXT, max_size=4)
START_DAYS = st.one_of(st.sampled_from(["--01-01", "--07-01", "--02-29", "--13-01", "", "-07-01"]), st.text(max_size=8))


def never_but_sdmx(call, *args) -> object:
    try:
        return call(*args)
    except SdmxError:
        return None


@FUZZ
@given(TEXT)
def test_keys_parse_or_raise_an_sdmx_error(text):
    key = never_but_sdmx(parse_key, text)
    if key is not None:
        assert all(part is None or (part and all(part)) for part in key)
    never_but_sdmx(parse_keys, text)


@FUZZ
@given(TEXT, START_DAYS)
def test_periods_parse_or_raise_a_period_error(text, start_day):
    for parse in (parse_period, parse_query_period):
        try:
            period = parse(text, start_day)
        except PeriodError:
            continue
        assert period.start <= period.end


@FUZZ
@given(PARAMETERS, st.lists(st.tuples(PARAMETER_NAMES, TEXT), max_size=4), START_DAYS)
def test_filters_parse_or_raise_an_sdmx_error(params, pairs, start_day):
    from urllib.parse import quote

    raw = "&".join(f"{quote(n, safe='[]')}={v}" for n, v in pairs)
    never_but_sdmx(parse_filters, params, raw, "--01-01")
    never_but_sdmx(parse_filters, params, None, "--01-01")
    never_but_sdmx(parse_sort, params.get("sort"))


@FUZZ
@given(TEXT, st.one_of(st.none(), TEXT), st.one_of(st.none(), TEXT), PARAMETERS)
def test_v1_data_and_availability_urls_parse_or_raise_an_sdmx_error(flow, key, provider, params):
    never_but_sdmx(parse_flow_ref, flow)
    query = never_but_sdmx(parse_data_v1, flow, key, provider, params)
    if query is not None:
        never_but_sdmx(check_query, query, Settings())
    never_but_sdmx(parse_availability_query_v1, flow, key, provider, None, params)


@FUZZ
@given(st.lists(TEXT, max_size=7), PARAMETERS, st.one_of(st.none(), TEXT))
def test_v2_data_and_availability_urls_parse_or_raise_an_sdmx_error(segments, params, raw):
    query = never_but_sdmx(parse_data_v2, segments, params, raw)
    if query is not None:
        try:
            check_query(query, Settings(max_query_keys=1, max_key_codes=1, max_filter_values=1, max_list_items=1))
        except QueryTooComplex:
            pass
    never_but_sdmx(parse_availability_query, segments, params, raw)


@FUZZ
@given(PARAMETERS)
def test_upload_parameters_parse_or_raise_an_sdmx_error(params):
    from sdmx_server.api.upload import _parameters

    class Form:
        query_params = params

    never_but_sdmx(_parameters, Form())
