"""Benchmark of the SDMX-JSON, JSON-stat and Excel writers alone (no database, no HTTP).

    python bench/bench_jsonxl.py [--observations N] [--formats json10,json20,json21,jsonstat,xlsx]
                                 [--rss FORMAT]

The rows are those of bench/bench_data.py's dataflow (five dimensions plus time, two
observation attributes), made batch by batch (65,536 rows) so that the process holds one batch
at a time, as the server does. Each writer's rate is printed beside pandas
`DataFrame.to_csv` of the same rows. `--rss FORMAT` runs one writer alone and prints its peak
RSS above the RSS before writing: run it at 1 M and at 3 M observations to see it stay flat.
"""

from __future__ import annotations

import argparse
import io
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sdmx_server.formats.data_message import DataMessage, DataSetPart  # noqa: E402
from sdmx_server.formats.ml21 import Header  # noqa: E402
from sdmx_server.query.layout import DataLayout  # noqa: E402
from sdmx_server.registry.shape import Component, DataShape  # noqa: E402

AREAS = [f"R{i:02d}" for i in range(31)]
SCHEMES = [f"S{i:02d}" for i in range(12)]
SEXES = ["F", "M", "_T"]
AGES = [f"Y{a:02d}" for a in range(20)]
STATUSES = ["A", "P", "E"]
CONF = ["F", "C"]
BATCH = 65_536

FORMATS = {
    "json10": ("sdmx_server.formats.data_json", {"version": "1.0.0"}),
    "json20": ("sdmx_server.formats.data_json", {"version": "2.0.0"}),
    "json21": ("sdmx_server.formats.data_json", {"version": "2.1.0"}),
    "jsonstat": ("sdmx_server.formats.data_jsonstat", {}),
    "xlsx": ("sdmx_server.formats.data_xlsx", {}),
}


def shape() -> DataShape:
    dims = [Component("FREQ", "dimension", 0, codes=frozenset({"M"})),
            Component("AREA", "dimension", 1, codes=frozenset(AREAS)),
            Component("SCHEME", "dimension", 2, codes=frozenset(SCHEMES)),
            Component("SEX", "dimension", 3, codes=frozenset(SEXES)),
            Component("AGE", "dimension", 4, codes=frozenset(AGES))]
    return DataShape(("BENCH", "DSD_BIG", "1.0"), tuple(dims), Component("TIME_PERIOD", "time", 0),
                     Component("OBS_VALUE", "measure", 0, text_type="double"),
                     (Component("OBS_STATUS", "attribute", 0, codes=frozenset(STATUSES)),
                      Component("CONF_STATUS", "attribute", 1, codes=frozenset(CONF))))


def batches(observations: int):
    """Sorted rows, one batch at a time: every series of the cube, as many months as needed."""
    series = len(AREAS) * len(SCHEMES) * len(SEXES) * len(AGES)
    months = max(1, round(observations / series))
    periods = np.array([f"{1900 + m // 12}-{m % 12 + 1:02d}" for m in range(months)])
    grid = np.array(np.meshgrid(np.arange(len(AREAS)), np.arange(len(SCHEMES)), np.arange(len(SEXES)),
                                np.arange(len(AGES)), indexing="ij")).reshape(4, -1)
    n = grid.shape[1] * months
    rng = np.random.default_rng(1)
    for start in range(0, n, BATCH):
        rows = np.arange(start, min(n, start + BATCH))
        key, month = rows // months, rows % months
        m = len(rows)
        yield pa.record_batch({
            "FREQ": pa.array(np.full(m, "M")),
            "AREA": pa.array(np.array(AREAS)[grid[0][key]]),
            "SCHEME": pa.array(np.array(SCHEMES)[grid[1][key]]),
            "SEX": pa.array(np.array(SEXES)[grid[2][key]]),
            "AGE": pa.array(np.array(AGES)[grid[3][key]]),
            "TIME_PERIOD": pa.array(periods[month]),
            "OBS_VALUE": pa.array(np.round(rng.gamma(2.0, 5000.0, m), 1)),
            "OBS_STATUS": pa.array(np.array(STATUSES)[rng.choice(3, m, p=[0.9, 0.07, 0.03])]),
            "CONF_STATUS": pa.array(np.array(CONF)[rng.choice(2, m, p=[0.95, 0.05])]),
        })


def message(rows) -> DataMessage:
    s = shape()
    layout = DataLayout.build(s, None, "full")
    return DataMessage(Header(), [DataSetPart(("BENCH", "DF_BIG", "1.0"), s, layout, iter(rows))])


def run(name: str, rows) -> tuple[float, int]:
    """Seconds and bytes of one writer over `rows` (batches: made ahead for rates, made as
    they are consumed for memory)."""
    import importlib

    module, options = FORMATS[name]
    write = importlib.import_module(module).write
    started = time.perf_counter()
    size = 0
    for chunk in write(message(rows), **options):
        size += len(chunk)
    return time.perf_counter() - started, size


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--observations", type=int, default=1_000_000)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--rss", default=None, help="one format: print its peak RSS above the start")
    args = parser.parse_args()
    if args.rss:
        list(batches(BATCH))  # imports and first allocations, outside the measure
        before = rss_mb()
        seconds, size = run(args.rss, batches(args.observations))
        print(f"{args.rss}: {args.observations:,} obs, {size / 1e6:,.0f} MB written in {seconds:.1f} s, "
              f"peak RSS {rss_mb() - before:,.0f} MB above the start")
        return 0
    made = list(batches(args.observations))
    table = pa.Table.from_batches(made)
    n = table.num_rows
    frame = table.to_pandas()
    started = time.perf_counter()
    frame.to_csv(io.StringIO(), index=False)
    baseline = n / (time.perf_counter() - started)
    del frame, table
    print(f"pandas DataFrame.to_csv of {n:,} rows: {baseline:,.0f} obs/s (baseline)")
    for name in args.formats.split(","):
        seconds, size = run(name, made)
        print(f"{name:9} {n / seconds:12,.0f} obs/s  {n / seconds / baseline:5.2f}x to_csv  "
              f"{size / 1e6:8,.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
