"""Benchmark of the data path: load one million observations, then download them over HTTP.

    python bench/bench_spine.py [--observations N] [--database-url URL]

Prints observations per second for the load and for each download format, and the ratio of
each to pandas DataFrame.to_csv of the same rows, measured in the same run; and the server's
peak resident memory. Targets for SQLite: load >= 300,000 obs/s, SDMX-CSV >= 1.0x to_csv,
SDMX-ML >= 0.5x to_csv.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AREAS = [f"R{i:02d}" for i in range(31)]
SCHEMES = [f"S{i}" for i in range(10)]
SEXES = ["F", "M", "_T"]
AGES = [f"Y{a}T{a + 4}" for a in range(20, 65, 5)]
STATUSES = ["A", "P", "E"]

FLOW = ("BENCH", "DF_BENCH", "1.0")


def structures(directory: Path) -> None:
    def codelist(cl_id: str, codes: list[str]) -> str:
        lines = [f"  - id: {cl_id}", "    agency: BENCH", '    version: "1.0"',
                 f"    name: {{fa: {cl_id}, en: {cl_id}}}", "    codes:"]
        lines += [f'      - {{id: "{c}", name: {{fa: "{c}", en: "{c}"}}}}' for c in codes]
        return "\n".join(lines)

    (directory / "codelists.yaml").write_text(
        "codelists:\n" + "\n".join(
            codelist(i, c) for i, c in (("CL_FREQ", ["M"]), ("CL_AREA", AREAS), ("CL_SCHEME", SCHEMES),
                                         ("CL_SEX", SEXES), ("CL_AGE", AGES), ("CL_STATUS", STATUSES))
        ) + "\n",
        encoding="utf-8",
    )
    concepts = ["FREQ", "AREA", "SCHEME", "SEX", "AGE", "TIME_PERIOD", "OBS_VALUE", "OBS_STATUS"]
    (directory / "dsd.yaml").write_text(
        "conceptscheme:\n  id: CS_BENCH\n  agency: BENCH\n  version: \"1.0\"\n  name: {fa: bench, en: bench}\n"
        "  concepts:\n" + "".join(f"    - {{id: {c}, name: {{fa: {c}, en: {c}}}}}\n" for c in concepts)
        + "datastructure:\n  id: DSD_BENCH\n  agency: BENCH\n  version: \"1.0\"\n  name: {fa: bench, en: bench}\n"
        "  concepts: CS_BENCH\n  dimensions:\n"
        "    - {id: FREQ, codelist: CL_FREQ}\n    - {id: AREA, codelist: CL_AREA}\n"
        "    - {id: SCHEME, codelist: CL_SCHEME}\n    - {id: SEX, codelist: CL_SEX}\n    - {id: AGE, codelist: CL_AGE}\n"
        "  time_dimension: TIME_PERIOD\n  measure: {id: OBS_VALUE, text_format: {type: Double}}\n"
        "  attributes:\n    - {id: OBS_STATUS, codelist: CL_STATUS, attached_to: observation}\n"
        "dataflow:\n  id: DF_BENCH\n  agency: BENCH\n  version: \"1.0\"\n  name: {fa: bench, en: bench}\n"
        "  structure: DSD_BENCH\n",
        encoding="utf-8",
    )


def data_file(path: Path, observations: int) -> int:
    """SDMX-CSV 1.0 with ~`observations` rows: every series of the cube, as many months as needed."""
    series = len(AREAS) * len(SCHEMES) * len(SEXES) * len(AGES)
    months = max(1, round(observations / series))
    periods = [f"{2000 + m // 12}-{m % 12 + 1:02d}" for m in range(months)]
    grid = np.array(np.meshgrid(np.arange(len(AREAS)), np.arange(len(SCHEMES)), np.arange(len(SEXES)),
                                np.arange(len(AGES)), indexing="ij")).reshape(4, -1)
    n = grid.shape[1] * months
    rng = np.random.default_rng(1)
    table = pa.table({
        "DATAFLOW": pa.array(np.full(n, "BENCH:DF_BENCH(1.0)")),
        "FREQ": pa.array(np.full(n, "M")),
        "AREA": pa.array(np.repeat(np.array(AREAS)[grid[0]], months)),
        "SCHEME": pa.array(np.repeat(np.array(SCHEMES)[grid[1]], months)),
        "SEX": pa.array(np.repeat(np.array(SEXES)[grid[2]], months)),
        "AGE": pa.array(np.repeat(np.array(AGES)[grid[3]], months)),
        "TIME_PERIOD": pa.array(np.tile(periods, grid.shape[1])),
        "OBS_VALUE": pa.array(np.round(rng.gamma(2.0, 5000.0, n), 1)),
        "OBS_STATUS": pa.array(np.array(STATUSES)[rng.choice(3, n, p=[0.9, 0.07, 0.03])]),
    })
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="none"))
    return n


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def download(url: str, accept: str) -> tuple[float, int]:
    started = time.perf_counter()
    size = 0
    with httpx.stream("GET", url, headers={"Accept": accept, "Accept-Encoding": "identity"}, timeout=600) as r:
        r.raise_for_status()
        for chunk in r.iter_raw(1 << 20):
            size += len(chunk)
    return time.perf_counter() - started, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--observations", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file")
    args = parser.parse_args()

    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data
    from sdmx_server.registry.load import load_structures
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database
    from sdmx_server.boot import create_schema

    with tempfile.TemporaryDirectory(prefix="sdmx-bench-") as tmp:
        tmp = Path(tmp)
        url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
        settings = Settings(database_url=url, data_dir=tmp)
        db = Database(url)
        create_schema(db)
        (tmp / "structures").mkdir()
        structures(tmp / "structures")
        outcome = load_structures(db, [tmp / "structures"], settings)
        if not outcome.ok:
            print("\n".join(outcome.errors))
            return 1
        csv_path = tmp / "bench.csv"
        n = data_file(csv_path, args.observations)
        print(f"database: {db.url.get_backend_name()}; {n:,} observations, file {csv_path.stat().st_size / 1e6:.0f} MB")

        started = time.perf_counter()
        loaded = load_data(db, _registry(db), FLOW, csv_path, "merge", settings)
        load_seconds = time.perf_counter() - started
        if not loaded.applied:
            print(loaded.report.text())
            return 1

        frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
        frame["OBS_VALUE"] = frame["OBS_VALUE"].astype(float)
        started = time.perf_counter()
        frame.to_csv(io.StringIO(), index=False)
        to_csv_seconds = time.perf_counter() - started
        del frame
        baseline = n / to_csv_seconds

        port = free_port()
        env = {**os.environ, "SDMX_DATABASE_URL": url, "SDMX_DATA_DIR": str(tmp)}
        server = subprocess.Popen(
            [sys.executable, "-m", "sdmx_server.cli", "serve", "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(base + "/", timeout=1)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            data_url = f"{base}/rest/data/BENCH,DF_BENCH,1.0/all"
            download(data_url + "/?firstNObservations=1", "application/vnd.sdmx.data+csv;version=1.0.0")
            idle_rss = peak_rss_mb(server.pid)
            results = [("load (SDMX-CSV 1.0 file -> store)", load_seconds, None)]
            for label, accept in (
                ("SDMX-CSV 1.0 download", "application/vnd.sdmx.data+csv;version=1.0.0"),
                ("SDMX-ML 2.1 structure-specific download", "application/vnd.sdmx.structurespecificdata+xml;version=2.1"),
                ("SDMX-ML 2.1 generic download", "application/vnd.sdmx.genericdata+xml;version=2.1"),
            ):
                download(data_url + "/?firstNObservations=1", accept)  # warm the process
                seconds, size = download(data_url, accept)
                results.append((label, seconds, size))
            rss = peak_rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)

    print(f"\npandas DataFrame.to_csv of the same rows: {to_csv_seconds:.2f} s, {baseline:,.0f} obs/s (baseline)\n")
    print(f"{'step':44} {'seconds':>8} {'obs/s':>12} {'x to_csv':>9} {'MB':>7}")
    targets = {"load": 300_000, "SDMX-CSV": 1.0, "SDMX-ML": 0.5}
    verdicts = []
    for label, seconds, size in results:
        rate = n / seconds
        ratio = rate / baseline
        mb = f"{size / 1e6:7.0f}" if size else "       "
        print(f"{label:44} {seconds:8.2f} {rate:12,.0f} {ratio:8.2f}x {mb}")
        key = next(k for k in targets if label.startswith(k))
        ok = rate >= targets[key] if key == "load" else ratio >= targets[key]
        verdicts.append((label, ok, targets[key]))
    print(f"\nserver peak RSS: {rss:.0f} MB (after start and a first small request: {idle_rss:.0f} MB)")
    for label, ok, target in verdicts:
        unit = "obs/s" if isinstance(target, int) else "x to_csv"
        print(f"{'PASS' if ok else 'FAIL'}  {label} (target >= {target:,} {unit})")
    return 0 if all(ok for _, ok, _ in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
