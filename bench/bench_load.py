"""Benchmark of data loads: millions of observations in from SDMX-CSV, with revisions kept.

    python bench/bench_load.py [--observations N] [--database-url URL] [--postgres]

A dataflow of five dimensions plus time and two observation attributes (bench_data.py's cube)
is loaded from an SDMX-CSV file through `load_data`, the code path of `sdmx-server load-data`:
every validation rule on, history kept. Then two loads revise 10 % of the observations each:
a file of just those (500,000 rows of 5 M), and the whole cube again with another 10 % changed
(the other 90 % found unchanged), as a unit that resends everything would. Each load runs in a
process of its own, so that its peak RSS is its own. Rates are printed beside `pandas.read_csv`
of the same file in the same run; the peak RSS of the first load beside that of a first load of
half as many observations (into a store of its own): a load's memory is bounded by its batch,
not by its file.

SQLite by default (a new file); `--postgres` uses BENCH_POSTGRES_URL, default a fresh database
`sdmx_bench_load` on 127.0.0.1:5432, made anew for the run and dropped after it.

Targets (issue 7): >= 400,000 observations/s on SQLite and >= 300,000 on PostgreSQL; peak RSS
well under the file size and nearly the same for half the observations.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_data import AGES, AREAS, CONF, FLOW, SCHEMES, SEXES, STATUSES, fresh, structures  # noqa: E402

TARGETS = {"sqlite": 400_000, "postgresql": 300_000}
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/sdmx_bench_load"


def cube(observations: int, seed: int = 1) -> pa.Table:
    """Every series of the cube, as many months as it takes: SDMX-CSV 1.0 columns."""
    series = len(AREAS) * len(SCHEMES) * len(SEXES) * len(AGES)
    months = max(1, round(observations / series))
    periods = [f"{1900 + m // 12}-{m % 12 + 1:02d}" for m in range(months)]
    grid = np.array(np.meshgrid(np.arange(len(AREAS)), np.arange(len(SCHEMES)), np.arange(len(SEXES)),
                                np.arange(len(AGES)), indexing="ij")).reshape(4, -1)
    n = grid.shape[1] * months
    rng = np.random.default_rng(seed)
    return pa.table({
        "DATAFLOW": pa.array(np.full(n, f"{FLOW[0]}:{FLOW[1]}({FLOW[2]})")),
        "FREQ": pa.array(np.full(n, "M")),
        "AREA": pa.array(np.repeat(np.array(AREAS)[grid[0]], months)),
        "SCHEME": pa.array(np.repeat(np.array(SCHEMES)[grid[1]], months)),
        "SEX": pa.array(np.repeat(np.array(SEXES)[grid[2]], months)),
        "AGE": pa.array(np.repeat(np.array(AGES)[grid[3]], months)),
        "TIME_PERIOD": pa.array(np.tile(periods, grid.shape[1])),
        "OBS_VALUE": pa.array(np.round(rng.gamma(2.0, 5000.0, n), 1)),
        "OBS_STATUS": pa.array(np.array(STATUSES)[rng.choice(3, n, p=[0.9, 0.07, 0.03])]),
        "CONF_STATUS": pa.array(np.array(CONF)[rng.choice(2, n, p=[0.95, 0.05])]),
    })


def revised(table: pa.Table, whole: bool, offset: int = 0) -> tuple[pa.Table, int]:
    """Every tenth observation (from `offset`) with a new value, and the rest as it was when
    `whole`."""
    hit = np.arange(table.num_rows) % 10 == offset
    values = table.column("OBS_VALUE").to_numpy()
    new = table.set_column(table.schema.get_field_index("OBS_VALUE"), "OBS_VALUE",
                           pa.array(np.where(hit, values + 0.5, values)))
    return (new if whole else new.filter(pa.array(hit))), int(hit.sum())


def write_csv(table: pa.Table, path: Path) -> None:
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="none"))


def child(url: str, path: str, data_dir: str) -> int:
    """One load, in this process: its outcome and peak RSS as JSON on stdout."""
    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database

    settings = Settings(database_url=url, data_dir=Path(data_dir), max_load_bytes=1 << 40)
    db = Database(url)
    registry = _registry(db)  # what `load-data` reads before the load; not the load
    base_rss = peak_rss_mb()
    started = time.perf_counter()
    outcome = load_data(db, registry, FLOW, Path(path), "merge", settings)
    seconds = time.perf_counter() - started
    r = outcome.result
    print(json.dumps({
        "status": outcome.status, "seconds": seconds, "rows": outcome.report.rows_read,
        "report": outcome.report.lines()[:10],
        "added": r.added if r else 0, "changed": r.changed if r else 0, "unchanged": r.unchanged if r else 0,
        "peak_rss_mb": peak_rss_mb(),
        "start_rss_mb": base_rss,
    }))
    return 0 if outcome.applied else 1


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: its own, unlike ru_maxrss, which a child
    inherits from the parent that forked it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_load(url: str, path: Path, tmp: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", url, str(path), str(tmp)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:] + proc.stdout[-4000:])
        raise SystemExit("the load failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _with_structures(url: str, tmp: Path) -> str | None:
    """The store's schema and the cube's structures; the backend's name (None: they failed)."""
    from sdmx_server.boot import create_schema
    from sdmx_server.registry.load import load_structures
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database

    db = Database(url)
    try:
        create_schema(db)
        structures_dir = tmp / "structures"
        if not structures_dir.exists():
            structures_dir.mkdir()
            structures(structures_dir)
        outcome = load_structures(db, [structures_dir], Settings(database_url=url, data_dir=tmp))
        if not outcome.ok:
            print("\n".join(outcome.errors))
            return None
        return db.url.get_backend_name()
    finally:
        db.dispose()


def _half_url(url: str, tmp: Path) -> str:
    """Another store of the same kind: a second SQLite file, or a database named after the first."""
    if not url.startswith("postgresql"):
        return f"sqlite:///{tmp / 'half.db'}"
    import sqlalchemy as sa

    target = sa.engine.make_url(url)
    return target.set(database=f"{target.database}_half").render_as_string(hide_password=False)


def read_csv_rate(path: Path, n: int) -> float:
    started = time.perf_counter()
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["OBS_VALUE"] = frame["OBS_VALUE"].astype(float)
    return n / (time.perf_counter() - started)


def history_rows(url: str) -> int:
    import sqlalchemy as sa

    from sdmx_server.store.database import Database

    db = Database(url)
    try:
        with db.engine.connect() as conn:
            table = conn.execute(sa.text("SELECT table_name FROM sdmx_fact_table")).scalar()
            return conn.execute(sa.text(f'SELECT count(*) FROM "{table}_h"')).scalar()
    finally:
        db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--observations", type=int, default=5_000_000)
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file (or --postgres)")
    parser.add_argument("--postgres", action="store_true", help="BENCH_POSTGRES_URL, or a fresh sdmx_bench_load")
    args = parser.parse_args()
    url_arg = args.database_url
    if args.postgres and not url_arg:
        url_arg = os.environ.get("BENCH_POSTGRES_URL") or DEFAULT_POSTGRES

    with tempfile.TemporaryDirectory(prefix="sdmx-bench-load-") as tmp, fresh(url_arg) as url:
        tmp = Path(tmp)
        url = url or f"sqlite:///{tmp / 'bench.db'}"
        backend = _with_structures(url, tmp)
        if backend is None:
            return 1
        table = cube(args.observations)
        n = table.num_rows
        paths = {name: tmp / f"{name}.csv" for name in ("first", "part", "full", "half")}
        write_csv(table, paths["first"])
        part, n_part = revised(table, whole=False, offset=0)
        write_csv(part, paths["part"])
        # (with the first revision in it: only the new 10 % differ from what is stored then)
        full, n_full = revised(revised(table, whole=True, offset=0)[0], whole=True, offset=5)
        write_csv(full, paths["full"])
        del table, part, full
        half = cube(args.observations // 2)
        n_half = half.num_rows
        write_csv(half, paths["half"])
        del half
        # The files just written are still being flushed to disk: their writeback would land in
        # the first timed load (it cost that load a fifth of its rate here). Flushed first.
        os.sync()
        baseline = read_csv_rate(paths["first"], n)

        first = run_load(url, paths["first"], tmp)
        kept = {}
        results = {}
        for name in ("part", "full"):
            results[name] = run_load(url, paths[name], tmp)
            kept[name] = history_rows(url)

        # Memory: the first load of half as many observations, into a store of its own.
        half_url = _half_url(url, tmp)
        with fresh(half_url if half_url.startswith("postgresql") else None):
            _with_structures(half_url, tmp)
            halved = run_load(half_url, paths["half"], tmp)

        target = TARGETS[backend]
        size = paths["first"].stat().st_size / 1e6
        rate1 = n / first["seconds"]
        print(f"{backend}: {n:,} observations, {size:,.0f} MB of SDMX-CSV")
        print(f"  pandas.read_csv            {baseline:>10,.0f} obs/s")
        print(f"  first load                 {rate1:>10,.0f} obs/s  {first['seconds']:.1f} s, {rate1 / baseline:.2f}x "
              f"read_csv, peak RSS {first['peak_rss_mb']:,.0f} MB ({first['added']:,} added)")
        rows = {"part": n_part, "full": n}
        labels = {"part": "10 % revised, file of them", "full": "all again, 10 % revised"}
        verdicts = [(f"first load >= {target:,} obs/s", rate1 >= target)]
        for name, r in results.items():
            rate = rows[name] / r["seconds"]
            print(f"  {labels[name]:<26} {rate:>10,.0f} obs/s  {r['seconds']:.1f} s, {rows[name]:,} rows, "
                  f"peak RSS {r['peak_rss_mb']:,.0f} MB ({r['changed']:,} changed, {r['unchanged']:,} unchanged)")
            verdicts.append((f"{labels[name]} >= {target:,} obs/s", rate >= target))
        half_size = paths["half"].stat().st_size / 1e6
        print(f"  peak RSS of a first load    {halved['peak_rss_mb']:>7,.0f} MB at {n_half:,} obs ({half_size:,.0f} MB "
              f"file), {first['peak_rss_mb']:,.0f} MB at {n:,} obs ({size:,.0f} MB file); "
              f"{first['start_rss_mb']:,.0f} MB before the load")
        # (the load's own: above what the process held before it, imports and the registry)
        verdicts.append(("the load's peak RSS well under the file size",
                         first["peak_rss_mb"] - first["start_rss_mb"] < 0.75 * size * 1e6 / 2**20))
        verdicts.append(("peak RSS nearly the same for half the observations",
                         first["peak_rss_mb"] < 1.15 * halved["peak_rss_mb"]))
        verdicts.append(("every revision kept, nothing else",
                         results["part"]["changed"] == n_part == kept["part"]
                         and results["full"]["changed"] == n_full and kept["full"] == n_part + n_full
                         and results["full"]["unchanged"] == n - n_full))
        for name, ok in verdicts:
            print(f"  {'PASS' if ok else 'FAIL'}  {name}")
        return 0 if all(ok for _, ok in verdicts) else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sys.exit(child(*sys.argv[2:5]))
    sys.exit(main())
