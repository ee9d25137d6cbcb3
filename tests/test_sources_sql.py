"""SQL sources against real unit databases: SQLite, and the MariaDB and PostgreSQL of this
machine (SDMX_TEST_MARIADB_URL, SDMX_TEST_POSTGRES_URL), each in a database of its own made for
the run. The unit's table has the unit's own names; what is served must equal a pandas oracle
read from that table and converted independently. Failures leave a failed load record that says
why, change nothing, show in `sdmx-server sources`, and a later sync succeeds."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from sdmx_server.cli import main
from sdmx_server.sources.state import get_state
from sdmx_server.sources.sync import sync_source
from tests.conftest import fresh_database, require, running_server
from tests.datasets import FLOW_A
from tests.sources_support import OSTAN, comparable, hijri_month_range, loads, make_store, served, write_spec

COLUMNS = ["FREQ", "AREA", "SEX", "TIME_PERIOD", "OBS_VALUE", "OBS_STATUS"]
UNIT_BACKENDS = ("sqlite", "mariadb", "postgresql")


@contextmanager
def unit_database(backend: str, directory):
    """A fresh, empty database standing for a unit's own, dropped afterwards."""
    if backend == "sqlite":
        path = directory / "unit.db"
        sa.create_engine(f"sqlite:///{path}").dispose()
        path.touch()
        yield f"sqlite:///{path}"
        return
    if backend == "postgresql":
        with fresh_database("postgresql", directory) as url:
            yield url
        return
    admin = os.environ.get("SDMX_TEST_MARIADB_URL")
    require(bool(admin), "MariaDB sources need SDMX_TEST_MARIADB_URL")
    name = f"unit_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(admin)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    except Exception as exc:
        engine.dispose()
        require(False, f"MariaDB at {admin} is not usable: {exc}")
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        engine.dispose()


METADATA = sa.MetaData()
TABLE = sa.Table(
    "tbl_bimeh_shodegan", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ostan", sa.String(60), nullable=False),
    sa.Column("sal", sa.SmallInteger, nullable=False),
    sa.Column("mah", sa.SmallInteger, nullable=False),
    sa.Column("jens", sa.SmallInteger, nullable=False),  # 1 man, 2 woman
    sa.Column("tedad", sa.Integer, nullable=False),
    sa.Column("tarikh_sabt", sa.Date),
)


def fill(url: str, months, year=1403, base=1000):
    engine = sa.create_engine(url)
    METADATA.create_all(engine)
    rows = [{"ostan": name, "sal": year, "mah": month, "jens": jens, "tedad": base + 37 * i + month * jens,
             "tarikh_sabt": date(2024, 6, 1)}
            for i, name in enumerate(OSTAN) for jens in (1, 2) for month in months]
    with engine.begin() as conn:
        conn.execute(TABLE.insert(), rows)
    engine.dispose()


def oracle(url: str) -> pd.DataFrame:
    """The unit's table read by pandas and converted here, by its own rules."""
    engine = sa.create_engine(url)
    df = pd.read_sql("SELECT ostan, sal, mah, jens, tedad FROM tbl_bimeh_shodegan WHERE sal >= 1400", engine)
    engine.dispose()
    return pd.DataFrame({
        "FREQ": "M", "AREA": df["ostan"].map(OSTAN), "SEX": df["jens"].map({1: "M", 2: "F"}),
        "TIME_PERIOD": [hijri_month_range(int(y), int(m)) for y, m in zip(df["sal"], df["mah"])],
        "OBS_VALUE": df["tedad"].astype(float), "OBS_STATUS": "A",
    })


SOURCE = """
dataflow: TEST:DF_A(1.0)
kind: sql
url: ${{UNIT_DB_URL}}
connect_timeout: 3
{extra}query: |
  {query}
schedule: {{every: 15m}}
columns:
  ostan: {{to: AREA, values: {{تهران: IR-23, اصفهان: IR-10, آذربایجان شرقی: IR-03}}}}
  jens: {{to: SEX, values: {{1: M, 2: F}}}}
  tedad: OBS_VALUE
fixed: {{FREQ: M, OBS_STATUS: A}}
period: {{year: sal, month: mah, calendar: solar-hijri}}
"""
QUERY = "SELECT ostan, sal, mah, jens, tedad FROM tbl_bimeh_shodegan WHERE sal >= 1400"


def source(folder, query=QUERY, extra=""):
    return write_spec(folder, "unit", SOURCE.format(query=query, extra=extra))


@pytest.fixture(params=UNIT_BACKENDS)
def unit(request, tmp_path):
    with unit_database(request.param, tmp_path) as url:
        yield request.param, url


def test_a_unit_database_is_pulled_mapped_and_served(unit, tmp_path):
    backend, url = unit
    fill(url, months=range(1, 13))
    store = make_store(f"sqlite:///{tmp_path / 'store.db'}", tmp_path)
    env = {"UNIT_DB_URL": url}
    spec = source(tmp_path / "loaders")
    first = sync_source(store.db, store.registry, spec, store.settings, env)
    assert first.status == "applied", (first.message, first.lines)
    with running_server(store.settings) as server:
        pd.testing.assert_frame_equal(comparable(served(server.url, FLOW_A), COLUMNS), comparable(oracle(url), COLUMNS))
        # Nothing new: no load at all.
        records = len(loads(store.db))
        assert sync_source(store.db, store.registry, spec, store.settings, env).status == "unchanged"
        assert len(loads(store.db)) == records
        # The unit records a new month and corrects an old figure: the next pull applies both.
        fill(url, months=[1], year=1404)
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(TABLE.update().where(TABLE.c.mah == 5).values(tedad=TABLE.c.tedad + 1))
        engine.dispose()
        again = sync_source(store.db, store.registry, spec, store.settings, env)
        assert again.status == "applied", again.lines
        got = served(server.url, FLOW_A)
    pd.testing.assert_frame_equal(comparable(got, COLUMNS), comparable(oracle(url), COLUMNS))
    assert hijri_month_range(1404, 1) == "2025-03-21/P31D" and "2025-03-21/P31D" in set(got["TIME_PERIOD"])


def _unreachable(backend: str, tmp_path) -> str:
    return {"sqlite": f"sqlite:///{tmp_path / 'no' / 'such.db'}",
            "mariadb": "mysql+pymysql://root@127.0.0.1:1/bimeh",
            "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/bimeh"}[backend]


def test_failures_change_nothing_say_why_and_a_later_sync_succeeds(unit, tmp_path, monkeypatch, capsys):
    backend, url = unit
    fill(url, months=range(1, 7))
    store = make_store(f"sqlite:///{tmp_path / 'store.db'}", tmp_path)
    folder = tmp_path / "loaders"
    env = {"UNIT_DB_URL": url}
    assert sync_source(store.db, store.registry, source(folder), store.settings, env).status == "applied"
    with running_server(store.settings) as server:
        before = comparable(served(server.url, FLOW_A), COLUMNS)
        cases = [
            ("unreachable", source(folder), {"UNIT_DB_URL": _unreachable(backend, tmp_path)},
             "cannot connect to" if backend != "sqlite" else "there is no database file"),
            ("failing query", source(folder, QUERY.replace("tbl_bimeh_shodegan", "tbl_bimeh")), env,
             "the query failed on"),
            ("unexpected columns", source(folder, "SELECT * FROM tbl_bimeh_shodegan"), env,
             "returns the column(s) id, tarikh_sabt, which the mapping of unit.yaml does not expect"),
            ("missing column", source(folder, QUERY.replace("jens, ", "")), env,
             "expects the column(s) jens, which the data lacks"),
            ("missing credential", source(folder, extra="credentials: {password: \"${UNIT_DB_PASSWORD}\"}\n"), env,
             "the environment variable UNIT_DB_PASSWORD is not set"),
        ]
        for name, spec, environ, why in cases:
            records = len(loads(store.db))
            outcome = sync_source(store.db, store.registry, spec, store.settings, environ)
            assert outcome.status == "failed", (name, outcome.message, outcome.lines)
            assert why in outcome.message + "\n".join(outcome.lines), (name, outcome.message, outcome.lines)
            record = loads(store.db)[-1]
            assert len(loads(store.db)) == records + 1, name
            assert (record["status"], record["origin"], record["source"]) == ("failed", "sync", "unit"), name
            assert why in record["report"], (name, record["report"])
            state = get_state(store.db, "unit")
            assert why in state.last_failure_message and state.last_outcome == "failed", name
            assert comparable(served(server.url, FLOW_A), COLUMNS).equals(before), name
            # `sdmx-server sources` shows the failure.
            monkeypatch.setenv("SDMX_DATABASE_URL", store.settings.database_url)
            monkeypatch.setenv("SDMX_DATA_DIR", str(tmp_path))
            capsys.readouterr()
            assert main(["sources", "--dir", str(folder)]) == 0
            out = capsys.readouterr().out
            assert "last failure: " in out and why.split(",")[0][:40] in out, (name, out)
        # The unit fixes things: the next sync succeeds, and applies what is new.
        fill(url, months=[7])
        fixed = sync_source(store.db, store.registry, source(folder), store.settings, env)
        assert fixed.status == "applied", fixed.lines
        state = get_state(store.db, "unit")
        assert state.last_success > state.last_failure
        after = served(server.url, FLOW_A)
    pd.testing.assert_frame_equal(comparable(after, COLUMNS), comparable(oracle(url), COLUMNS))


def test_sync_command_reports_each_source_and_fails_when_one_fails(tmp_path, monkeypatch, capsys):
    with unit_database("sqlite", tmp_path) as url:
        fill(url, months=range(1, 4))
        store = make_store(f"sqlite:///{tmp_path / 'store.db'}", tmp_path)
        folder = tmp_path / "loaders"
        source(folder)
        write_spec(folder, "broken", SOURCE.format(query=QUERY.replace("tedad", "tedad_kol"), extra=""))
        monkeypatch.setenv("SDMX_DATABASE_URL", store.settings.database_url)
        monkeypatch.setenv("SDMX_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("UNIT_DB_URL", url)
        capsys.readouterr()
        assert main(["sync", "--dir", str(folder)]) == 1
        out = capsys.readouterr().out.splitlines()
        assert out[0].startswith("broken: failed: the query failed on sqlite:///") and "tedad_kol" in out[0]
        assert out[1].startswith("unit: applied: 18 rows applied")
        assert main(["sync", "--dir", str(folder), "unit"]) == 0
        assert capsys.readouterr().out.startswith("unit: unchanged: nothing new")
        assert main(["sync", "--dir", str(folder), "nobody"]) == 1
        assert "no source 'nobody'" in capsys.readouterr().err
        assert main(["sources", "--dir", str(folder)]) == 0
        out = capsys.readouterr().out
        assert "unit  TEST:DF_A(1.0)  sql  every 15m" in out and "(nothing new)" in out
        assert "broken  TEST:DF_A(1.0)  sql" in out and "no such column: tedad_kol" in out


@pytest.mark.parametrize("backend", ["mariadb", "postgresql"])
def test_the_fast_pulls_read_exactly_what_the_ordinary_pull_reads(backend, tmp_path, monkeypatch):
    """MariaDB packs each row into one value (sql_packed.py), PostgreSQL sends CSV through COPY
    (sql_copy.py): NULLs, empty texts, Persian text, decimals and dates must come out as the
    ordinary pull gives them, row order included; on MariaDB a value holding the separator falls
    back to the ordinary pull."""
    import sdmx_server.sources.sql as sql
    from sdmx_server.sources.mapping import as_text

    with unit_database(backend, tmp_path) as url:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (a VARCHAR(40), b DECIMAL(10,2), c DATE, d INT)")
            conn.exec_driver_sql(
                "INSERT INTO t VALUES ('تهران', 12.50, '2024-03-20', 1), (NULL, NULL, NULL, NULL), "
                "('', 0.00, '2025-01-01', -7), ('x,y;z \"q\"', 3.00, '2024-12-31', 2)")
        engine.dispose()
        spec = source(tmp_path / "loaders", query="SELECT a, b, c, d FROM t ORDER BY d DESC")
        env = {"UNIT_DB_URL": url}
        fast = sql.pull_sql(spec, env).table
        with monkeypatch.context() as m:
            m.setattr(sql, "pull_packed", lambda *a: None)
            m.setattr(sql, "pull_copy", lambda *a: None)
            plain = sql.pull_sql(spec, env).table
        assert str(plain.schema.field("d").type) == "int64"  # the ordinary pull keeps the types
        if backend == "postgresql":
            assert {str(t) for t in fast.schema.types} == {"string"}  # it took the shortcut

        def as_rows(table, keep_order=False):
            texts = {n: as_text(table.column(n)).to_pylist() for n in table.column_names}
            nulls = {n: table.column(n).is_null().to_pylist() for n in table.column_names}
            rows = [tuple((texts[n][i], nulls[n][i]) for n in table.column_names) for i in range(table.num_rows)]
            return rows if keep_order else sorted(rows)

        # PostgreSQL's COPY keeps ORDER BY; MariaDB's sorted queries take the ordinary pull.
        assert as_rows(fast, keep_order=True) == as_rows(plain, keep_order=True)
        assert ("تهران", False) in [r[0] for r in as_rows(fast)] and ("", False) in [r[0] for r in as_rows(fast)]
        assert ("", True) in [r[0] for r in as_rows(fast)]  # NULL stays NULL, apart from ''
        unsorted = source(tmp_path / "loaders", query="SELECT a, b, c, d FROM t")
        assert as_rows(sql.pull_sql(unsorted, env).table) == as_rows(plain)
        if backend == "mariadb":
            # A value holding the unit separator: the shortcut would split it; the ordinary pull is exact.
            engine = sa.create_engine(url)
            with engine.begin() as conn:
                conn.exec_driver_sql("INSERT INTO t VALUES (CONCAT('a', CHAR(31), 'b'), 1.00, NULL, 3)")
            engine.dispose()
            table = sql.pull_sql(unsorted, env).table
            assert "a\x1fb" in table.column("a").to_pylist() and table.num_rows == 5
