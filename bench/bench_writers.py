"""CPU time of each data writer alone (no database, no HTTP): the measure of writer work.

    python bench/bench_writers.py [--observations N] [--formats csv10,csv20,specific,ml30,json20,generic]

The rows are bench/bench_jsonxl.py's (five dimensions plus time, two observation attributes,
65,536-row batches), made before the clock starts. Each writer runs three times; the best
process CPU time (time.process_time) is printed: on a 2-core machine where the database read
takes one core, the writer's CPU seconds are what bounds the answer's rate.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_jsonxl import batches, message  # noqa: E402

FORMATS = {
    "csv10": ("data_csv", {"version": "1.0"}),
    "csv20": ("data_csv", {"version": "2.0"}),
    "specific": ("data_specific_ml21", {}),
    "ml30": ("data_ml30", {"version": "3.0.0"}),
    "json20": ("data_json", {"version": "2.0.0"}),
    "generic": ("data_generic_ml21", {}),
}


def cpu_seconds(name: str, made: list) -> tuple[float, int]:
    module, options = FORMATS[name]
    write = importlib.import_module(f"sdmx_server.formats.{module}").write
    best, size = float("inf"), 0
    for _ in range(3):
        started = time.process_time()
        size = sum(len(chunk) for chunk in write(message(made), **options))
        best = min(best, time.process_time() - started)
    return best, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--observations", type=int, default=1_000_000)
    parser.add_argument("--formats", default=",".join(FORMATS))
    args = parser.parse_args()
    made = list(batches(args.observations))
    n = sum(b.num_rows for b in made)
    for name in args.formats.split(","):
        seconds, size = cpu_seconds(name, made)
        print(f"{name:9} {seconds:6.3f} CPU-s  {n / seconds:12,.0f} obs/CPU-s  {size / 1e6:8,.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
