"""A first load written while it is still being validated, and undone if it fails.

Why: a dataflow's first load is most of its rows, and on one machine writing them (ADBC's
ingest, which holds no Python lock) takes as long again as reading and validating them. Done
one after the other, as `apply.py` does, the two add up; here they overlap: validation hands
each batch it has checked to a thread that writes it into the empty fact table, inside the
load's one transaction. When validation ends clean the load is finished exactly as
`apply._ingest_into_empty` finishes an in-order first load (the primary key on PostgreSQL, the
series, the record, the stamp) and committed; when it finds any error the transaction is rolled
back, so a file with an error still changes nothing.

It is only tried where it is the same as the ordinary apply, and otherwise gives up (rolls back
and lets `apply_load` do the load from the spooled batches, so giving up loses nothing but the
time): the fact table is empty when the dataflow's lock is taken; every row has one action and
it is not delete; the rows come in key order (ingest/duplicates.py tells batch by batch).
Loads of fewer than `EARLY_ROWS` rows in their first batch never try: they are quick anyway.

Costs, said here because they are the price of the overlap: the dataflow's lock (on SQLite the
database's write lock) is held from the first batch, not from the end of validation; on
PostgreSQL the empty table is locked for readers as long (they would find it empty).
"""

from __future__ import annotations

import logging
import os
import queue
import threading

import pyarrow as pa

from sdmx_server.store import history, series
from sdmx_server.store.database import Database
from sdmx_server.store.incoming import ACTION
from sdmx_server.store.locks import lock_dataflow
from sdmx_server.store.rows import fact_columns
from sdmx_server.store.special import keep_nan
from sdmx_server.store.steps import (
    ApplyResult, build_key, crash_point, drop_key, finish_record, is_empty, load_memory, refresh_after_commit,
)
from sdmx_server.store.tables import FactTable
from sdmx_server.store.versions import bump_stamp

log = logging.getLogger(__name__)

#: A load tries this only when its first validated batch has this many rows (tests set it
#: lower through SDMX_TEST_EARLY_ROWS, to drive the path with small files).
EARLY_ROWS = 50_000
#: Batches waiting for the writer: memory stays bounded by a few batches.
QUEUE_BATCHES = 2


def early_rows() -> int:
    return int(os.environ.get("SDMX_TEST_EARLY_ROWS") or EARLY_ROWS)


class EarlyLoad:
    """One first load's transaction and its writer thread. Use: `start`, then `add` each
    validated batch, then `finish` (applied) or `close` (rolled back, or given up)."""

    def __init__(self, db: Database, fact: FactTable, load_id: int):
        self.db, self.fact, self.load_id = db, fact, load_id
        self.active = False  # writing; False once given up, finished or closed
        self.given_up: str | None = None  # why, for the log
        self._conn = self._cur = self._thread = None
        self._queue: queue.Queue = queue.Queue(QUEUE_BATCHES)
        self._error: BaseException | None = None
        self._action: str | None = None
        self._found: list[pa.Table] = []
        self._count = 0
        self._tx_time = 0

    def start(self) -> bool:
        """Take the dataflow's lock and begin, if the fact table is empty; whether it began."""
        db, fact = self.db, self.fact
        self._conn = db.adbc_connect()
        self._cur = self._conn.cursor()
        try:
            lock_dataflow(db, self._cur, fact.name)  # a load queued behind another waits here
            crash_point("early-locked")
            load_memory(db, self._cur)
            if not is_empty(db, self._cur, fact):
                self._end("the dataflow holds data")
                return False
            self._tx_time = history.next_tx_time(db, self._cur, fact, self.load_id)
            drop_key(db, self._cur, fact)  # (PostgreSQL: built once, at the end)
        except BaseException:
            self._end(None)
            raise
        self.active = True
        self._thread = threading.Thread(target=self._write, name=f"early-load-{self.load_id}", daemon=True)
        self._thread.start()
        return True

    def add(self, batch: pa.Table, present: frozenset[str], in_order: bool) -> None:
        """A validated batch (ingest/validate.py's columns); `in_order`: every row so far came
        in key order."""
        if not self.active or batch.num_rows == 0:
            return
        actions = batch.column(ACTION).unique().to_pylist()
        if len(actions) != 1 or actions[0] == "D" or (self._action not in (None, actions[0])):
            return self.give_up("the rows have more than one action, or delete")
        if not in_order:
            return self.give_up("the rows are not in key order")
        self._action = actions[0]
        # (in key order, or the load gave up above: nothing is sorted again)
        rows = fact_columns(self.fact, batch, present, True, self.load_id, self._tx_time)
        self._put(rows)

    def _put(self, item) -> None:
        while self._thread.is_alive():
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def _write(self) -> None:
        """The writer thread: each batch into the fact table, as apply._ingest_into_empty does
        with rows in key order. After an error it only drains the queue."""
        while (rows := self._queue.get()) is not None:
            if self._error is not None:
                continue
            try:
                self._cur.adbc_ingest(self.fact.name, rows, mode="append")
                keep_nan(self.db, self._cur, self.fact, rows)  # (SQLite stores a NaN double as NULL)
                self._found.append(series.series_of_part(self.fact, rows))
                self._count += rows.num_rows
                crash_point("early-written")
            except BaseException as exc:  # told to the loading thread in finish()
                self._error = exc

    def _stop_writer(self) -> None:
        if self._thread is not None:
            self._put(None)
            self._thread.join()
            self._thread = None

    def give_up(self, why: str) -> None:
        """Roll back what was written; the ordinary apply will do the load."""
        log.debug("load %s is applied after its validation: %s", self.load_id, why)
        self._stop_writer()
        self._end(why)

    def finish(self, rows: int, report_json: str) -> ApplyResult:
        """Validation ended clean: finish the load and commit it, as apply_load would."""
        db, cur, fact = self.db, self._cur, self.fact
        try:
            self._stop_writer()
            if self._error is not None:
                raise self._error
            build_key(db, cur, fact)
            series.after_first_write(db, cur, fact, self._found)
            result = ApplyResult(added=self._count, tx_time=self._tx_time)
            finish_record(db, cur, self.load_id, rows, result, report_json=report_json)
            if result.touched:
                bump_stamp(db, cur, fact.name)
            crash_point("early-finished")
            self._conn.commit()
        except BaseException:
            self._end(None)
            raise
        self._end(None, rolled_back=False)
        if result.touched:
            refresh_after_commit(db, fact, self.load_id)
        return result

    def close(self) -> None:
        """Whatever was not finished is rolled back (a rejected or failed load)."""
        if self.active or self._conn is not None:
            self._stop_writer()
            self._end(None)

    def _end(self, why: str | None, rolled_back: bool = True) -> None:
        self.active = False
        if why is not None:
            self.given_up = why
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if rolled_back:
                conn.rollback()
        finally:
            try:
                self._cur.close()
            finally:
                conn.close()
