"""Benchmark of availability: the portal's cascading filters on a ten-million-observation dataflow.

    python bench/bench_availability.py [--observations N] [--database-url URL] [--queries N]

A dataflow of five dimensions plus time and two observation attributes is loaded (through the
same path as `sdmx-server load-data`, which also builds its series table), then a real server
answers REST v2 availability queries over HTTP as a query form sends them: mode=available with
zero to five dimensions selected (one to three codes each), and the same with mode=exact.
Queries with a time filter (c[TIME_PERIOD]) must count observations in the fact table and are
reported apart. Target (issue 6): p50 of the cascading-filter queries under 50 ms.
"""

from __future__ import annotations

import argparse
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DIMENSIONS = {
    "FREQ": ["M"],
    "AREA": [f"R{i:02d}" for i in range(31)],
    "SCHEME": [f"S{i:02d}" for i in range(12)],
    "SEX": ["F", "M", "_T"],
    "AGE": [f"Y{a:02d}" for a in range(20)],
}
FLOW = ("BENCH", "DF_AVAIL", "1.0")
TARGET_MS = 50.0


def structures(directory: Path) -> None:
    def codelist(cl_id: str, codes: list[str]) -> str:
        lines = [f"  - id: {cl_id}", "    agency: BENCH", '    version: "1.0"', f"    name: {{fa: {cl_id}, en: {cl_id}}}", "    codes:"]
        lines += [f'      - {{id: "{c}", name: {{fa: "{c}", en: "{c}"}}}}' for c in codes]
        return "\n".join(lines)

    lists = [(f"CL_{d}", codes) for d, codes in DIMENSIONS.items()] + [("CL_STATUS", ["A", "P", "E"]),
                                                                        ("CL_CONF", ["F", "C"])]
    (directory / "codelists.yaml").write_text("codelists:\n" + "\n".join(codelist(i, c) for i, c in lists) + "\n",
                                              encoding="utf-8")
    concepts = [*DIMENSIONS, "TIME_PERIOD", "OBS_VALUE", "OBS_STATUS", "CONF_STATUS"]
    dims = "".join(f"    - {{id: {d}, codelist: CL_{d}}}\n" for d in DIMENSIONS)
    (directory / "dsd.yaml").write_text(
        "conceptscheme:\n  id: CS_BENCH\n  agency: BENCH\n  version: \"1.0\"\n  name: {fa: bench, en: bench}\n"
        "  concepts:\n" + "".join(f"    - {{id: {c}, name: {{fa: {c}, en: {c}}}}}\n" for c in concepts)
        + "datastructure:\n  id: DSD_AVAIL\n  agency: BENCH\n  version: \"1.0\"\n  name: {fa: bench, en: bench}\n"
        "  concepts: CS_BENCH\n  dimensions:\n" + dims
        + "  time_dimension: TIME_PERIOD\n  measure: {id: OBS_VALUE, text_format: {type: Double}}\n"
        "  attributes:\n    - {id: OBS_STATUS, codelist: CL_STATUS, attached_to: observation}\n"
        "    - {id: CONF_STATUS, codelist: CL_CONF, attached_to: observation}\n"
        f"dataflows:\n  - id: {FLOW[1]}\n    agency: BENCH\n    version: \"1.0\"\n    name: {{fa: avail, en: avail}}\n"
        "    structure: DSD_AVAIL\n",
        encoding="utf-8",
    )


def data_file(path: Path, observations: int) -> int:
    """SDMX-CSV 1.0: every series of the cube, as many months as needed; a tenth of the
    series start later, so that time ranges differ."""
    codes = list(DIMENSIONS.values())
    series = int(np.prod([len(c) for c in codes]))
    months = max(1, round(observations / series))
    grid = np.array(np.meshgrid(*[np.arange(len(c)) for c in codes], indexing="ij")).reshape(len(codes), -1)
    n = series * months
    rng = np.random.default_rng(1)
    periods = np.array([f"{1980 + m // 12}-{m % 12 + 1:02d}" for m in range(months)])
    columns = {"DATAFLOW": pa.array(np.full(n, f"{FLOW[0]}:{FLOW[1]}({FLOW[2]})"))}
    for (dim, values), index in zip(DIMENSIONS.items(), grid):
        columns[dim] = pa.array(np.repeat(np.array(values)[index], months))
    columns["TIME_PERIOD"] = pa.array(np.tile(periods, series))
    columns["OBS_VALUE"] = pa.array(np.round(rng.gamma(2.0, 5000.0, n), 1))
    columns["OBS_STATUS"] = pa.array(np.array(["A", "P", "E"])[rng.choice(3, n, p=[0.9, 0.07, 0.03])])
    columns["CONF_STATUS"] = pa.array(np.array(["F", "C"])[rng.choice(2, n, p=[0.95, 0.05])])
    pacsv.write_csv(pa.table(columns), path, pacsv.WriteOptions(quoting_style="none"))
    return n


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cascading_queries(count: int, mode: str, seed: int) -> list[str]:
    """Keys as a query form builds them: some dimensions selected, one to three codes each."""
    rng = random.Random(seed)
    names = list(DIMENSIONS)
    out = []
    for i in range(count):
        selected = set(rng.sample(names, i % (len(names) + 1)))
        parts = []
        for d in names:
            if d in selected:
                parts.append("+".join(sorted(rng.sample(DIMENSIONS[d], min(len(DIMENSIONS[d]), rng.randint(1, 3))))))
            else:
                parts.append("*")
        out.append(f"/rest/v2/availability/dataflow/{FLOW[0]}/{FLOW[1]}/{FLOW[2]}/{'.'.join(parts)}?mode={mode}")
    return out


def measure(client: httpx.Client, base: str, urls: list[str]) -> list[float]:
    times = []
    for url in urls:
        started = time.perf_counter()
        r = client.get(base + url, headers={"Accept": "application/vnd.sdmx.structure+json;version=2.1.0"})
        times.append((time.perf_counter() - started) * 1000)
        if r.status_code not in (200, 404):
            raise RuntimeError(f"{url}: {r.status_code} {r.text[:300]}")
    return times


def report(name: str, times: list[float], target: float | None) -> None:
    times = sorted(times)
    p50 = statistics.median(times)
    p95 = times[int(len(times) * 0.95) - 1]
    verdict = "" if target is None else (f"  target {target:.0f} ms: " + ("met" if p50 < target else "MISSED"))
    print(f"{name:<42} n={len(times):>4}  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  max {times[-1]:7.1f} ms{verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=10_000_000)
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary folder")
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()

    import uvicorn

    from sdmx_server.api.app import create_app
    from sdmx_server.boot import create_schema
    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data
    from sdmx_server.registry.load import load_structures
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database

    with tempfile.TemporaryDirectory(prefix="bench-availability-") as tmp:
        directory = Path(tmp)
        url = args.database_url or f"sqlite:///{directory / 'store.db'}"
        settings = Settings(database_url=url, data_dir=directory, max_load_bytes=16 * 1024**3)
        db = Database(url)
        create_schema(db)
        structures(directory)
        outcome = load_structures(db, [directory / "codelists.yaml", directory / "dsd.yaml"], settings)
        assert outcome.ok, outcome.errors
        started = time.perf_counter()
        n = data_file(directory / "data.csv", args.observations)
        loaded = load_data(db, _registry(db), FLOW, directory / "data.csv", "replace", settings)
        assert loaded.applied, loaded.report.text()
        print(f"database: {db.url.get_backend_name()}; loaded {n:,} observations in "
              f"{time.perf_counter() - started:.1f} s (file written, validated, applied with its series table)")
        db.dispose()

        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=free_port(), log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{config.port}"
        try:
            with httpx.Client(timeout=120) as client:
                measure(client, base, cascading_queries(20, "available", 99))  # warm up
                available = measure(client, base, cascading_queries(args.queries, "available", 1))
                exact = measure(client, base, cascading_queries(args.queries, "exact", 2))
                timed = [u + "&c[TIME_PERIOD]=ge:2010-01" for u in cascading_queries(max(20, args.queries // 10),
                                                                                      "exact", 3)]
                time_filtered = measure(client, base, timed)
                print(f"availability over HTTP, {n:,} observations, "
                      f"{int(np.prod([len(c) for c in DIMENSIONS.values()])):,} series:")
                report("cascading filters, mode=available", available, TARGET_MS)
                report("cascading filters, mode=exact", exact, TARGET_MS)
                report("with c[TIME_PERIOD] (counts observations)", time_filtered, None)
        finally:
            server.should_exit = True
            thread.join(timeout=30)


if __name__ == "__main__":
    main()
