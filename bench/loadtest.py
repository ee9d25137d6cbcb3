"""Load test of the data API: many clients at once against a real multi-worker server.

    python bench/loadtest.py [--observations N] [--clients C] [--seconds S] [--workers W]
                             [--database-url URL]

A dataflow of about two million observations (bench/bench_data.py's cube) is loaded, then
`sdmx-server serve --workers W` is started and C clients (in two client processes, so that the
clients' own interpreter is not the bottleneck) send requests for S seconds: 95 % small slices
(one series, SDMX-CSV) and 5 % full downloads of the dataflow (SDMX-CSV, identity or gzip).
Reported: errors, small-slice p50 and p99, full downloads and their mean time, the server's RSS
(every worker process summed) when idle, at the peak, and a minute after the load stops.

Targets (issue 6): zero errors, small-slice p99 < 300 ms, RSS < 1 GB at the peak and back
within 100 MB of idle a minute later. Not part of `make test`: `make loadtest` runs it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_data import AGES, AREAS, FLOW, SCHEMES, SEXES, data_file, free_port, structures  # noqa: E402

CSV = "application/vnd.sdmx.data+csv;version=2.0.0"
FULL_SHARE = 0.05


def _tree(pid: int) -> list[int]:
    """A process and all its descendants (uvicorn's workers are children)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its descendants: on a busy machine, CPU per request
    says what wall-clock latencies cannot."""
    total = 0.0
    for current in _tree(pid):
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total


def tree_rss_mb(pid: int) -> float:
    """RSS of a process and all its descendants (uvicorn's workers are children)."""
    total = 0.0
    for current in _tree(pid):
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def raw_download(url: str, headers: dict) -> str | None:
    """GET through a plain socket, the body counted and dropped; an error text or None."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    lines = [f"GET {parts.path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    with socket.create_connection((parts.hostname, parts.port), timeout=300) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            data = sock.recv(65536)
            if not data:
                return "connection closed before the headers"
            head += data
        status = head.split(b" ", 2)[1]
        header, _, body = head.partition(b"\r\n\r\n")
        size, tail = len(body), body[-5:]
        while True:
            n = sock.recv_into(view)
            if not n:
                break
            size += n
            tail = (tail + bytes(view[max(0, n - 5):n]))[-5:]
    if status != b"200":
        return f"HTTP {status.decode()}"
    lower = header.lower()
    if b"content-length:" in lower:
        expected = int(lower.split(b"content-length:")[1].split(b"\r\n")[0])
        if size != expected:
            return f"cut short: {size} of {expected} bytes"
    elif not tail.endswith(b"0\r\n\r\n"):
        return "chunked answer cut short"
    return None


def client_process(base: str, threads: int, seconds: float, seed: int, out) -> None:
    """`threads` clients in this process; sends back (kind, seconds, error or None) per request."""
    results: list[tuple[str, float, str | None]] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        mine = []
        with httpx.Client(timeout=300) as session:
            while time.monotonic() < stop_at:
                full = rng.random() < FULL_SHARE
                if full:
                    url = f"{base}/rest/data/{FLOW[0]},{FLOW[1]},{FLOW[2]}"
                    headers = {"Accept": CSV, "Accept-Encoding": rng.choice(["identity", "gzip"])}
                else:
                    key = ".".join(["M", rng.choice(AREAS), rng.choice(SCHEMES), rng.choice(SEXES), rng.choice(AGES)])
                    url = f"{base}/rest/data/{FLOW[0]},{FLOW[1]},{FLOW[2]}/{key}"
                    headers = {"Accept": CSV}
                started = time.perf_counter()
                error = None
                try:
                    if full:
                        # A raw socket for the big answers: the clients' own parsing of 130 MB
                        # would take the CPU the server is measured on.
                        error = raw_download(url, headers)
                    else:
                        response = session.get(url, headers=headers)
                        if response.status_code != 200:
                            error = f"HTTP {response.status_code}"
                except (httpx.HTTPError, OSError) as exc:
                    error = f"{type(exc).__name__}: {exc}"
                mine.append(("full" if full else "small", time.perf_counter() - started, error))
        with lock:
            results.extend(mine)

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put(results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--observations", type=int, default=2_000_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 2))
    parser.add_argument("--settle", type=float, default=60, help="seconds to wait before the last RSS reading")
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file")
    args = parser.parse_args()

    from sdmx_server.boot import create_schema
    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data
    from sdmx_server.registry.load import load_structures
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database

    with tempfile.TemporaryDirectory(prefix="sdmx-loadtest-") as tmp:
        tmp = Path(tmp)
        url = args.database_url or f"sqlite:///{tmp / 'load.db'}"
        settings = Settings(database_url=url, data_dir=tmp)
        db = Database(url)
        create_schema(db)
        (tmp / "structures").mkdir()
        structures(tmp / "structures")
        if not load_structures(db, [tmp / "structures"], settings).ok:
            print("structures did not load")
            return 1
        path = tmp / "big.csv"
        n = data_file(path, args.observations, FLOW)
        started = time.perf_counter()
        if not load_data(db, _registry(db), FLOW, path, "merge", settings).applied:
            print("data did not load")
            return 1
        print(f"loaded {n:,} observations in {time.perf_counter() - started:.1f} s", flush=True)
        db.dispose()

        port = free_port()
        env = {**os.environ, "SDMX_DATABASE_URL": url, "SDMX_DATA_DIR": str(tmp)}
        server = subprocess.Popen(
            [sys.executable, "-m", "sdmx_server.cli", "serve", "--port", str(port), "--workers", str(args.workers)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{base}/rest/dataflow", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    print("the server did not start")
                    return 1
                time.sleep(0.3)
            for _ in range(20):  # every worker warm
                httpx.get(f"{base}/rest/data/{FLOW[0]},{FLOW[1]},{FLOW[2]}/M.R01.S01.F.Y01",
                          headers={"Accept": CSV}, timeout=60).raise_for_status()
            idle = tree_rss_mb(server.pid)
            peak = idle
            cpu_before = tree_cpu_seconds(server.pid)
            out: multiprocessing.Queue = multiprocessing.Queue()
            processes = 2
            per = [args.clients // processes + (1 if i < args.clients % processes else 0) for i in range(processes)]
            clients = [multiprocessing.Process(target=client_process, args=(base, k, args.seconds, i, out))
                       for i, k in enumerate(per)]
            for process in clients:
                process.start()
            results: list = []
            waiting = len(clients)
            while waiting:
                peak = max(peak, tree_rss_mb(server.pid))
                try:
                    results.extend(out.get(timeout=0.25))
                    waiting -= 1
                except Exception:
                    pass
            for process in clients:
                process.join()
            cpu = tree_cpu_seconds(server.pid) - cpu_before
            time.sleep(args.settle)
            after = tree_rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=60)

    small = sorted(s for kind, s, e in results if kind == "small" and e is None)
    full = [s for kind, s, e in results if kind == "full" and e is None]
    errors = [e for _, _, e in results if e is not None]
    p50 = statistics.median(small) * 1000 if small else float("nan")
    p99 = small[min(len(small) - 1, int(len(small) * 0.99))] * 1000 if small else float("nan")
    print(f"\n{args.clients} clients, {args.seconds:.0f} s, server with {args.workers} workers, {n:,} observations")
    print(f"requests: {len(results):,} ({len(small):,} small slices, {len(full):,} full downloads)")
    print(f"errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
    print(f"small slices: p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    if full:
        print(f"full downloads: mean {statistics.mean(full):.2f} s, max {max(full):.2f} s")
    print(f"server CPU: {cpu:.1f} s, {cpu / max(1, len(results)) * 1000:.1f} ms per request (small and full; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"server RSS: idle {idle:.0f} MB, peak {peak:.0f} MB, {args.settle:.0f} s after {after:.0f} MB")
    verdicts = [
        ("zero errors", not errors),
        ("small-slice p99 < 300 ms", p99 < 300),
        ("RSS at peak < 1 GB", peak < 1024),
        ("RSS back within 100 MB of idle", after - idle < 100),
    ]
    for label, ok in verdicts:
        print(f"{'PASS' if ok else 'FAIL'}  {label}")
    return 0 if all(ok for _, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
