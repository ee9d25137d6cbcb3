"""Benchmark of loading data in each format: the same observations as SDMX-CSV, SDMX-ML 2.1
structure-specific and generic, SDMX-ML 3.0 and SDMX-JSON 2.0, through `load_data`.

    python bench/bench_load_formats.py [--observations N] [--formats csv,ss21,...]

The cube of bench_data.py (five dimensions and time, two observation attributes) is written as
SDMX-CSV 1.0, and from those rows the server's own writer functions make each other format.
Each file is then loaded into a fresh SQLite store through the same code path as
`sdmx-server load-data` (detect, read, validate, apply), and timed; the reader alone (the file
to IncomingData) is timed too, since that is what differs between formats. `pandas.read_csv`
of the CSV is measured in the same run, as the yardstick.

Target (issue 7): SDMX-ML data loads >= 200,000 observations per second; printed beside each
SDMX-ML load figure, and beside SDMX-JSON's (held to the same rate). SDMX-CSV's own target
(>= 400,000 on SQLite, 5 million observations) is bench_load.py's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_data import FLOW, data_file, structures  # noqa: E402

#: name -> (what it is, how it is written from a DataMessage)
FORMATS = {
    "csv": "SDMX-CSV 1.0",
    "ss21": "SDMX-ML 2.1 structure-specific",
    "generic21": "SDMX-ML 2.1 generic",
    "ml30": "SDMX-ML 3.0",
    "json20": "SDMX-JSON 2.0",
}
TARGET_ML = 200_000


def write_format(name: str, table: pa.Table, shape, path: Path) -> None:
    from sdmx_server.formats import data_generic_ml21, data_json, data_ml30, data_specific_ml21
    from sdmx_server.formats.data_message import DataMessage, DataSetPart
    from sdmx_server.formats.ml21 import Header
    from sdmx_server.query.layout import DataLayout

    writers = {
        "ss21": data_specific_ml21.write,
        "generic21": data_generic_ml21.write,
        "ml30": lambda m: data_ml30.write(m, "3.0.0"),
        "json20": lambda m: data_json.write(m, "2.0.0"),
    }
    layout = DataLayout.build(shape, None)
    part = DataSetPart(FLOW, shape, layout, iter(table.to_batches(max_chunksize=50_000)))
    with open(path, "wb") as f:
        for piece in writers[name](DataMessage(Header(), [part])):
            f.write(piece)


def store(directory: Path):
    from sdmx_server.boot import create_schema
    from sdmx_server.registry.load import load_structures
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database

    url = f"sqlite:///{directory / 'store.db'}"
    settings = Settings(database_url=url, data_dir=directory, max_load_bytes=1 << 40)
    db = Database(url)
    create_schema(db)
    outcome = load_structures(db, [directory.parent / "codelists.yaml", directory.parent / "dsd.yaml"], settings)
    assert outcome.ok, outcome.errors
    return db, settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--observations", type=int, default=1_000_000)
    parser.add_argument("--formats", default=",".join(FORMATS))
    args = parser.parse_args()
    names = [n.strip() for n in args.formats.split(",") if n.strip()]

    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data
    from sdmx_server.ingest.readers import detect, reader_for
    from sdmx_server.ingest.report import ValidationReport
    from sdmx_server.registry.shape import data_shape

    with tempfile.TemporaryDirectory(prefix="bench-load-formats-") as tmp:
        root = Path(tmp)
        structures(root)
        csv_path = root / "data.csv"
        n = data_file(csv_path, args.observations, FLOW)
        os.sync()
        started = time.perf_counter()
        pd.read_csv(csv_path, dtype=str, keep_default_na=False)
        pandas_rate = n / (time.perf_counter() - started)
        print(f"{n:,} observations; pandas.read_csv of the CSV: {pandas_rate:,.0f} obs/s")

        first = root / "shape"
        first.mkdir()
        db, _ = store(first)
        shape = data_shape(_registry(db).get("dataflow", *FLOW).structure)
        db.dispose()
        rows = pacsv.read_csv(csv_path, convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in ("FREQ", "AREA", "SCHEME", "SEX", "AGE", "TIME_PERIOD",
                                                   "OBS_STATUS", "CONF_STATUS")})).drop_columns(["DATAFLOW"])

        print(f"{'format':34} {'MB':>7} {'read obs/s':>12} {'load obs/s':>12} {'target':>10} {'':5} {'x read_csv':>10}")
        for name in names:
            directory = root / name
            directory.mkdir()
            path = csv_path if name == "csv" else directory / "data"
            if name != "csv":
                write_format(name, rows, shape, path)
            os.sync()  # (the file's writeback is not the load's work: flushed before the timing)
            with open(path, "rb") as f:
                fmt = detect(f.read(64 * 1024))
            report = ValidationReport()
            started = time.perf_counter()
            incoming = reader_for(fmt)(path, shape, FLOW, report)
            # readers hand rows over as batches (SDMX-CSV streams them): reading is taking them all
            got = sum(batch.num_rows for batch in incoming.batches()) if incoming is not None else 0
            read_rate = n / (time.perf_counter() - started)
            assert got == n, report.text()
            del incoming
            db, settings = store(directory)
            started = time.perf_counter()
            outcome = load_data(db, _registry(db), FLOW, path, "merge", settings)
            seconds = time.perf_counter() - started
            assert outcome.applied, outcome.report.text()
            db.dispose()
            rate = n / seconds
            target, verdict = ("", "")
            if name != "csv":
                target, verdict = f">={TARGET_ML:,}", "ok" if rate >= TARGET_ML else "BELOW"
            size = path.stat().st_size / 1e6
            print(f"{FORMATS[name]:34} {size:7.1f} {read_rate:12,.0f} {rate:12,.0f} {target:>10} {verdict:5} "
                  f"{rate / pandas_rate:10.2f}")


if __name__ == "__main__":
    main()
