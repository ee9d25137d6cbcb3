"""Benchmark of a SQL source: a unit's table of a million rows pulled from MariaDB.

    python bench/bench_sources.py [--rows N] [--mariadb-url URL] [--postgres-url URL]

A table in the unit's style, `tbl_bimeh_shodegan(id, ostan, sal, mah, jens, tedad)`, is made
with N rows in a database of the benchmark's own (sdmx_bench_sources, dropped at the end), then
pulled the way `sdmx-server sync` pulls it (sources/sql.py: from MariaDB each row packed into
one value by the server and split by Arrow, sql_packed.py; from PostgreSQL CSV through COPY,
sql_copy.py), and mapped onto a DSD (value maps, fixed values, Solar Hijri periods). Each rate
is printed beside `pandas.read_sql` of the same query in the same run; the better of two runs
of each is kept.

Target (issue 7): the pull of 1 million rows from MariaDB >= 200,000 rows per second.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sdmx_server.ingest.report import ValidationReport  # noqa: E402
from sdmx_server.sources.mapping import map_rows  # noqa: E402
from sdmx_server.sources.spec import read_source  # noqa: E402
from sdmx_server.sources.sql import pull_sql  # noqa: E402

DATABASE = "sdmx_bench_sources"
QUERY = "SELECT ostan, sal, mah, jens, tedad FROM tbl_bimeh_shodegan"
SOURCE = """
dataflow: TEST:DF_A(1.0)
kind: sql
url: ${BENCH_UNIT_URL}
batch_size: 50000
query: SELECT ostan, sal, mah, jens, tedad FROM tbl_bimeh_shodegan
columns:
  ostan: {to: AREA, values: {تهران: IR-23, اصفهان: IR-10, آذربایجان شرقی: IR-03}}
  jens: {to: SEX, values: {1: M, 2: F}}
  tedad: {to: OBS_VALUE, scale: 1000}
fixed: {FREQ: M, OBS_STATUS: A}
period: {year: sal, month: mah, calendar: solar-hijri}
"""
FILL = {
    "mysql": """
        INSERT INTO tbl_bimeh_shodegan (ostan, sal, mah, jens, tedad)
        WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {rows})
        SELECT ELT(1 + MOD(i, 3), 'تهران', 'اصفهان', 'آذربایجان شرقی'), 1380 + MOD(i, 25), 1 + MOD(i, 12),
               1 + MOD(i, 2), MOD(i * 7919, 100000) FROM s""",
    "postgresql": """
        INSERT INTO tbl_bimeh_shodegan (ostan, sal, mah, jens, tedad)
        SELECT (ARRAY['تهران', 'اصفهان', 'آذربایجان شرقی'])[1 + i % 3], 1380 + i % 25, 1 + i % 12,
               1 + i % 2, (i::bigint * 7919) % 100000 FROM generate_series(1, {rows}) AS i""",
}
DDL = """CREATE TABLE tbl_bimeh_shodegan (id {serial} PRIMARY KEY, ostan VARCHAR(60) NOT NULL,
         sal SMALLINT NOT NULL, mah SMALLINT NOT NULL, jens SMALLINT NOT NULL, tedad INTEGER NOT NULL){charset}"""


def make_unit(admin_url: str, rows: int) -> str:
    url = make_url(admin_url)
    backend = url.get_backend_name()
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    quote = "`" if backend == "mysql" else '"'
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quote}{DATABASE}{quote}")
        conn.exec_driver_sql(f"CREATE DATABASE {quote}{DATABASE}{quote}"
                             + (" CHARACTER SET utf8mb4" if backend == "mysql" else ""))
    admin.dispose()
    unit_url = url.set(database=DATABASE).render_as_string(hide_password=False)
    engine = sa.create_engine(unit_url)
    with engine.begin() as conn:
        if backend == "mysql":
            conn.exec_driver_sql(f"SET SESSION max_recursive_iterations = {rows + 10}")
        conn.exec_driver_sql(DDL.format(serial="INTEGER AUTO_INCREMENT" if backend == "mysql" else "SERIAL",
                                        charset=" CHARACTER SET utf8mb4" if backend == "mysql" else ""))
        conn.exec_driver_sql(FILL[backend].format(rows=rows).replace("%", "%%"))
    engine.dispose()
    return unit_url


def drop_unit(admin_url: str) -> None:
    url = make_url(admin_url)
    quote = "`" if url.get_backend_name() == "mysql" else '"'
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        force = " WITH (FORCE)" if url.get_backend_name() == "postgresql" else ""
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quote}{DATABASE}{quote}{force}")
    admin.dispose()


def shape_of_test_content():
    from sdmx_server.boot import create_schema
    from sdmx_server.registry.load import load_structures
    from sdmx_server.registry.shape import data_shape
    from sdmx_server.settings import Settings
    from sdmx_server.sources.sync import current_registry
    from sdmx_server.store.database import Database

    directory = Path(tempfile.mkdtemp(prefix="bench-sources-"))
    url = f"sqlite:///{directory / 'store.db'}"
    db = Database(url)
    create_schema(db)
    content = ROOT / "tests" / "content"
    assert load_structures(db, [content / "codelists", content / "dsd"], Settings(database_url=url, data_dir=directory)).ok
    return data_shape(current_registry(db).get("dataflow", "TEST", "DF_A", "1.0").structure), directory


def run(name: str, admin_url: str, rows: int, shape, directory: Path) -> None:
    started = time.perf_counter()
    unit_url = make_unit(admin_url, rows)
    print(f"{name}: {rows:,} rows written in {time.perf_counter() - started:.1f} s", flush=True)
    try:
        spec_path = directory / f"{name}.yaml"
        spec_path.write_text(SOURCE, encoding="utf-8")
        spec, errors = read_source(spec_path)
        assert spec is not None, errors
        environ = {"BENCH_UNIT_URL": unit_url}
        results = {}
        for attempt in range(2):  # the better of two, as the disk cache warms
            t = time.perf_counter()
            raw = pull_sql(spec, environ)
            pull = time.perf_counter() - t
            t = time.perf_counter()
            report = ValidationReport()
            incoming = map_rows(spec, raw, shape, report)
            mapping = time.perf_counter() - t
            assert incoming is not None and incoming.table.num_rows == rows, report.text()
            engine = sa.create_engine(unit_url)
            t = time.perf_counter()
            frame = pd.read_sql(QUERY, engine)
            pandas = time.perf_counter() - t
            engine.dispose()
            assert len(frame) == rows
            for key, value in (("pull", pull), ("map", mapping), ("pandas", pandas)):
                results[key] = min(results.get(key, value), value)
        pull_rate = rows / results["pull"]
        print(f"{name}: pull (sources/sql.py)   {pull_rate:>12,.0f} rows/s  ({results['pull']:.2f} s)")
        print(f"{name}: pandas.read_sql          {rows / results['pandas']:>12,.0f} rows/s  "
              f"({results['pandas']:.2f} s); pull / pandas = {results['pandas'] / results['pull']:.2f}x")
        print(f"{name}: mapping onto the DSD     {rows / results['map']:>12,.0f} rows/s  ({results['map']:.2f} s)")
        print(f"{name}: pull + mapping           {rows / (results['pull'] + results['map']):>12,.0f} rows/s")
        if name == "mariadb":
            verdict = "meets" if pull_rate >= 200_000 else "MISSES"
            print(f"{name}: target >= 200,000 rows/s for the pull: {verdict}", flush=True)
    finally:
        drop_unit(admin_url)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--mariadb-url", default=os.environ.get("SDMX_TEST_MARIADB_URL",
                                                                "mysql+pymysql://root@127.0.0.1:3306/"))
    parser.add_argument("--postgres-url", default=os.environ.get("SDMX_TEST_POSTGRES_URL"),
                        help="also pull from PostgreSQL (default: SDMX_TEST_POSTGRES_URL, if set)")
    args = parser.parse_args()
    shape, directory = shape_of_test_content()
    run("mariadb", args.mariadb_url, args.rows, shape, directory)
    if args.postgres_url:
        run("postgresql", args.postgres_url, args.rows, shape, directory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
