"""Reading ahead of the writer (store/prefetch.py): the same batches, bounded memory, and the
database connection released as soon as the consumer stops, on SQLite and PostgreSQL."""

from __future__ import annotations

import gc
import threading
import time

import pyarrow as pa
import pytest

from sdmx_server.boot import create_schema
from sdmx_server.cli import _registry
from sdmx_server.ingest.load import load_data
from sdmx_server.query.layout import DataLayout
from sdmx_server.query.parse_v1 import parse_data_query
from sdmx_server.registry.load import load_structures
from sdmx_server.registry.shape import data_shape
from sdmx_server.settings import Settings
from sdmx_server.store import select as select_module
from sdmx_server.store.database import Database
from sdmx_server.store.prefetch import PrefetchedBatches
from sdmx_server.store.tables import find_fact_table
from tests.datasets import CONTENT, FLOW_A, frame, sdmx_csv


@pytest.fixture
def loaded(database_url, tmp_path):
    """A store holding FLOW_A, and what select_batches needs to read it whole."""
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    db = Database(database_url)
    create_schema(db)
    assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings).ok
    path = tmp_path / "a.csv"
    path.write_text(sdmx_csv(frame(seed=1), FLOW_A), encoding="utf-8")
    assert load_data(db, _registry(db), FLOW_A, path, "merge", settings).applied
    shape = data_shape(_registry(db).get("dataflow", *FLOW_A).structure)
    fact = find_fact_table(db, FLOW_A, shape)
    query = parse_data_query("TEST,DF_A,1.0", None, None, {})
    layout = DataLayout.build(shape, None, "full")
    yield db, fact, query, layout
    db.dispose()


class Connections:
    """Records every ADBC connection the store opens and whether it was closed."""

    def __init__(self, db: Database, monkeypatch):
        self.opened: list = []
        self.closed: list = []
        original = db.adbc_connect

        def connect():
            conn = original()
            self.opened.append(conn)
            close = conn.close

            def recorded_close():
                self.closed.append(conn)
                close()

            conn.close = recorded_close
            return conn

        monkeypatch.setattr(db, "adbc_connect", connect)

    @property
    def open(self) -> int:
        return len(self.opened) - len(self.closed)


def prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("sdmx-prefetch") and t.is_alive()]


def test_prefetched_batches_are_the_plain_ones(loaded):
    db, fact, query, layout = loaded
    plain = list(select_module.select_batches(db, fact, query, layout, 7, prefetch=0))
    ahead = list(select_module.select_batches(db, fact, query, layout, 7, prefetch=2))
    assert len(plain) > 5  # several batches, so that reading ahead is exercised
    assert pa.Table.from_batches(ahead).equals(pa.Table.from_batches(plain))
    assert [b.num_rows for b in ahead] == [b.num_rows for b in plain]
    assert not prefetch_threads()


def test_stopping_early_closes_the_connection_and_ends_the_thread(loaded, monkeypatch):
    db, fact, query, layout = loaded
    connections = Connections(db, monkeypatch)
    batches = select_module.select_batches(db, fact, query, layout, 5, prefetch=2)
    next(batches)
    assert connections.open == 1
    batches.close()
    assert connections.open == 0, "close() returns only after the connection is closed"
    assert not prefetch_threads()
    assert list(batches) == []  # a closed iterator is exhausted, not broken


def test_a_dropped_iterator_closes_the_connection(loaded, monkeypatch):
    """A client that goes away drops the writer and its batches without calling close()."""
    db, fact, query, layout = loaded
    connections = Connections(db, monkeypatch)
    batches = select_module.select_batches(db, fact, query, layout, 5, prefetch=2)
    next(batches)
    del batches
    gc.collect()
    deadline = time.monotonic() + 10  # the reader is told to stop; nobody waits for it
    while (connections.open or prefetch_threads()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert connections.open == 0
    assert not prefetch_threads()


def test_a_full_read_closes_the_connection(loaded, monkeypatch):
    db, fact, query, layout = loaded
    connections = Connections(db, monkeypatch)
    rows = sum(b.num_rows for b in select_module.select_batches(db, fact, query, layout, 5, prefetch=2))
    assert rows > 0
    assert connections.open == 0
    assert not prefetch_threads()


def test_a_database_error_reaches_the_consumer(loaded):
    db, *_ = loaded
    batches = PrefetchedBatches(lambda set_cancel: select_module._read(db, "SELECT * FROM no_such_table", 10, set_cancel))
    with pytest.raises(Exception, match="no_such_table"):
        next(batches)
    assert not prefetch_threads()


def test_closing_cancels_a_long_statement(database_url, tmp_path):
    """A download stopped while the database still works on it (a sort, say) ends at once."""
    db = Database(database_url)
    if db.is_sqlite:
        pytest.skip("ADBC's SQLite driver cannot cancel a statement: a SQLite read ends its batch first")
    import sqlalchemy as sa

    def sleeping() -> bool:
        with db.engine.connect() as conn:
            return bool(conn.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep(30)%' "
                "AND pid <> pg_backend_pid()")).scalar())

    for wait_until_running in (False, True):  # closed before the statement starts, then while it runs
        batches = PrefetchedBatches(lambda set_cancel: select_module._read(db, "SELECT pg_sleep(30)", 10, set_cancel))
        deadline = time.monotonic() + 20
        while wait_until_running and not sleeping() and time.monotonic() < deadline:
            time.sleep(0.05)
        started = time.monotonic()
        batches.close()
        assert time.monotonic() - started < 5
        assert not prefetch_threads()
        assert not sleeping()
    db.dispose()


def test_memory_stays_bounded_with_a_slow_consumer():
    """The reader stays at most `depth` batches ahead, whatever the answer's size."""
    produced = []
    size = 4 << 20

    def source(set_cancel):
        for i in range(40):
            produced.append(i)
            yield pa.record_batch([pa.array(bytes(size) for _ in range(1))], names=["blob"])

    baseline = pa.total_allocated_bytes()
    peak = 0
    consumed = 0
    batches = PrefetchedBatches(source, depth=2)
    for batch in batches:
        consumed += 1
        time.sleep(0.01)  # a slow client
        assert len(produced) - consumed <= 3  # two in the queue, one being put
        peak = max(peak, pa.total_allocated_bytes() - baseline)
        del batch
    assert consumed == 40
    assert peak <= 5 * size
    assert not prefetch_threads()


def test_a_consumer_that_stops_taking_stops_the_reader():
    produced = []

    def source(set_cancel):
        for i in range(1000):
            produced.append(i)
            yield pa.record_batch([pa.array([i])], names=["i"])

    batches = PrefetchedBatches(source, depth=2)
    next(batches)
    time.sleep(0.3)
    assert len(produced) <= 4  # one taken, two in the queue, one waiting to be put
    batches.close()
    assert len(produced) <= 5  # the one waiting may go in as the queue is emptied, then it stops
    assert not prefetch_threads()


# -- connections kept between reads (store/pool.py) ----------------------------------------------


def pooled(database_url: str, size: int = 2) -> Database:
    return Database(database_url, read_connections=size)


def test_a_full_read_gives_its_connection_to_the_next(loaded, database_url, monkeypatch):
    _, fact, query, layout = loaded
    db = pooled(database_url)
    connections = Connections(db, monkeypatch)
    for _ in range(3):
        assert sum(b.num_rows for b in select_module.select_batches(db, fact, query, layout, 5, prefetch=2))
    assert len(connections.opened) == 1, "one connection serves reads one after the other"
    assert db.read_pool.idle == 1
    db.dispose()
    assert connections.open == 0


def test_a_kept_connection_carries_no_settings_of_the_previous_read(loaded, database_url):
    """A read in key order turns enable_sort off for its transaction only; the next read on the
    same connection sees the server's defaults."""
    _, fact, query, layout = loaded
    db = pooled(database_url, size=1)
    if db.is_sqlite:
        pytest.skip("settings per read are PostgreSQL's (set_config)")
    read = select_module._read(db, "SELECT current_setting('enable_sort') AS s, current_setting('jit') AS j",
                               10, lambda cancel: None, in_key_order=True)
    [batch] = list(read)
    assert batch.to_pylist() == [{"s": "off", "j": "off"}]
    conn, kept = db.read_pool.acquire()
    assert kept
    with conn.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_sort'), current_setting('jit')")
        sort, jit = cursor.fetchone()
    conn.rollback()
    assert (sort, jit) == ("on", "on"), "only the read's transaction had them off"
    db.read_pool.release(conn, reusable=True)
    db.dispose()


def test_a_stopped_read_does_not_give_its_connection_back(loaded, database_url, monkeypatch):
    _, fact, query, layout = loaded
    db = pooled(database_url)
    connections = Connections(db, monkeypatch)
    batches = select_module.select_batches(db, fact, query, layout, 5, prefetch=2)
    next(batches)
    batches.close()
    assert connections.open == 0 and db.read_pool.idle == 0, "a stopped read's connection is closed"
    rows = sum(b.num_rows for b in select_module.select_batches(db, fact, query, layout, 5, prefetch=2))
    assert rows > 0 and len(connections.opened) == 2 and db.read_pool.idle == 1
    db.dispose()


def test_a_cancelled_read_does_not_leave_a_broken_connection(database_url):
    db = pooled(database_url, size=1)
    if db.is_sqlite:
        pytest.skip("ADBC's SQLite driver cannot cancel a statement")
    batches = PrefetchedBatches(lambda set_cancel: select_module._read(db, "SELECT pg_sleep(30)", 10, set_cancel))
    time.sleep(0.5)  # the statement runs
    batches.close()
    assert db.read_pool.idle == 0, "the cancelled read's connection is not kept"
    # The next reads work, and the one after reuses the connection the first kept.
    for _ in range(2):
        [batch] = list(select_module._read(db, "SELECT 1 AS one", 10, lambda cancel: None))
        assert batch.to_pylist() == [{"one": 1}]
    assert db.read_pool.idle == 1
    db.dispose()


def test_a_failed_read_does_not_give_its_connection_back(loaded, database_url):
    db = pooled(database_url)
    with pytest.raises(Exception, match="no_such_table"):
        list(select_module._read(db, "SELECT * FROM no_such_table", 10, lambda cancel: None))
    assert db.read_pool.idle == 0
    [batch] = list(select_module._read(db, "SELECT 1 AS one", 10, lambda cancel: None))
    assert batch.to_pylist() == [{"one": 1}] and db.read_pool.idle == 1
    db.dispose()


def test_a_kept_connection_the_server_dropped_is_replaced(database_url):
    db = Database(database_url, application_name="sdmx-pool-test", read_connections=1)
    if db.is_sqlite:
        pytest.skip("a SQLite connection cannot be dropped by a server")
    import sqlalchemy as sa

    list(select_module._read(db, "SELECT 1 AS one", 10, lambda cancel: None))
    assert db.read_pool.idle == 1
    with db.engine.connect() as conn:  # what a server restart or an idle timeout does
        killed = conn.execute(sa.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND datname = current_database() AND application_name = 'sdmx-pool-test'")).scalar()
    assert killed == 1
    [batch] = list(select_module._read(db, "SELECT 1 AS one", 10, lambda cancel: None))
    assert batch.to_pylist() == [{"one": 1}]
    db.dispose()

