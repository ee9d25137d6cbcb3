"""Fault 8: stalled and aborted downloads must not hold database connections, on PostgreSQL.

A real uvicorn server and raw sockets: clients that ask for a big download and never read (or
go away after a few bytes), while pg_stat_activity is watched under the server's
application_name. The read pool bounds the connections, stalled sends give theirs back after
the stall timeout, aborted clients at once, and a normal client is answered meanwhile.
"""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import fresh_database, running_server
from tests.datasets import CONTENT, FLOW_A, frame, sdmx_csv

GENERIC = "application/vnd.sdmx.genericdata+xml;version=2.1"
BIG = "/rest/data/TEST,DF_A,1.0"
POOL = 4


def served(tmp_path, **knobs):
    """A context manager: (server, engine on its database) with a big DF_A on PostgreSQL."""
    from contextlib import contextmanager

    from sdmx_server.boot import create_schema
    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data
    from sdmx_server.registry.load import load_structures
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database

    @contextmanager
    def run():
        with fresh_database("postgresql", tmp_path) as url:
            settings = Settings(database_url=url, data_dir=tmp_path, batch_rows=2000, read_connections=POOL,
                                answer_cache_bytes=0, **knobs)
            db = Database(url)
            create_schema(db)
            assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings).ok
            path = tmp_path / "big.csv"
            path.write_text(sdmx_csv(frame(seed=1, months=3000), FLOW_A), encoding="utf-8")
            assert load_data(db, _registry(db), FLOW_A, path, "merge", settings).applied
            db.dispose()
            engine = sa.create_engine(url)
            try:
                with running_server(settings) as server:
                    yield server, engine
            finally:
                engine.dispose()

    return run()


def readers(engine) -> int:
    """The server's database connections right now: its backends (its ADBC connections carry
    its name) whose client end is still open. A connection the server has closed can stay
    listed in pg_stat_activity for a few milliseconds while its backend exits; the client
    end of the socket (in this process: the server runs in a thread) says at once."""
    with engine.connect() as conn:
        ports = conn.execute(sa.text(
            "SELECT client_port FROM pg_stat_activity WHERE application_name = 'sdmx-server' "
            "AND datname = current_database()")).scalars().all()
    open_ends = _established_local_ports()
    if open_ends is None:  # no /proc: count what PostgreSQL lists
        return len(ports)
    return sum(1 for port in ports if port in open_ends)


def _established_local_ports() -> set[int] | None:
    """Local ports of this machine's established TCP connections (Linux /proc/net/tcp*)."""
    found: set[int] = set()
    try:
        for name in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(name) as table:
                next(table)
                for line in table:
                    fields = line.split()
                    if fields[3] == "01":  # ESTABLISHED
                        found.add(int(fields[1].rsplit(":", 1)[1], 16))
    except OSError:
        return None
    return found


def open_download(server, read_bytes: int = 0) -> socket.socket:
    """A client that asks for the whole dataflow in SDMX-ML and reads at most `read_bytes`."""
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: stalls come soon
    sock.connect((host, int(port)))
    sock.sendall(f"GET {BIG} HTTP/1.1\r\nHost: x\r\nAccept: {GENERIC}\r\nAccept-Encoding: identity\r\n\r\n".encode())
    if read_bytes:
        sock.settimeout(30)
        got = 0
        while got < read_bytes:
            data = sock.recv(read_bytes - got)
            if not data:
                break
            got += len(data)
    return sock


class Watch(threading.Thread):
    """The largest number of server reads seen while it runs."""

    def __init__(self, engine):
        super().__init__(daemon=True)
        self.engine, self.peak, self.running = engine, 0, True

    def run(self):
        while self.running:
            self.peak = max(self.peak, readers(self.engine))
            time.sleep(0.05)


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.mark.postgres
def test_stalled_clients_do_not_exhaust_the_database(tmp_path):
    with served(tmp_path, send_stall_seconds=1.0, read_wait_seconds=8.0) as (server, engine):
        watch = Watch(engine)
        watch.start()
        stalled = [open_download(server) for _ in range(100)]
        try:
            assert wait_for(lambda: readers(engine) > 0, 10), "the downloads never reached the database"
            time.sleep(2)  # every stalled request has reached the pool: the normal one comes after them all
            started = time.monotonic()
            normal = httpx.get(server.url + "/rest/data/TEST,DF_A,1.0/M.IR.F",
                               headers={"Accept": "application/vnd.sdmx.data+csv;version=1.0.0"}, timeout=60)
            took = time.monotonic() - started
            assert normal.status_code == 200, normal.text
            assert normal.text.count("\n") == 3001  # header + every month of one series
            assert took < 8, f"a normal client waited {took:.1f} s"
            assert readers(engine) <= POOL
        finally:
            for sock in stalled:
                sock.close()
        # Every stalled answer was abandoned and gave its connection back.
        assert wait_for(lambda: readers(engine) == 0, 15), f"{readers(engine)} reads still open"
        watch.running = False
        watch.join()
        assert 0 < watch.peak <= POOL, watch.peak
        # And the server still answers fully afterwards.
        again = httpx.get(server.url + BIG, headers={"Accept": GENERIC}, timeout=120)
        assert again.status_code == 200 and again.content.rstrip().endswith(b"</mes:GenericData>")


@pytest.mark.postgres
def test_aborted_clients_give_their_connection_back_at_once(tmp_path):
    # A stall timeout far away: only the disconnect can free the connections in time.
    with served(tmp_path, send_stall_seconds=120.0, read_wait_seconds=5.0) as (server, engine):
        clients = [open_download(server, read_bytes=1000) for _ in range(POOL)]
        assert wait_for(lambda: readers(engine) == POOL, 10), readers(engine)
        for sock in clients:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST
            sock.close()
        assert wait_for(lambda: readers(engine) == 0, 10), f"{readers(engine)} reads still open after the aborts"
        # The pool is whole again: a full download goes through.
        response = httpx.get(server.url + BIG, headers={"Accept": GENERIC}, timeout=120)
        assert response.status_code == 200


@pytest.mark.postgres
def test_a_full_pool_answers_503_with_retry_after(tmp_path):
    with served(tmp_path, send_stall_seconds=60.0, read_wait_seconds=0.5) as (server, engine):
        clients = [open_download(server) for _ in range(POOL)]
        try:
            assert wait_for(lambda: readers(engine) == POOL, 10)
            response = httpx.get(server.url + "/rest/data/TEST,DF_A,1.0/M.IR.F", timeout=30)
            assert response.status_code == 503
            assert int(response.headers["retry-after"]) >= 1
            assert b"503" in response.content
        finally:
            for sock in clients:
                sock.close()
