"""A large load applied while it is still being validated, and undone if it fails.

Why: on one machine, reading and validating a large load takes about as long as what the store
then does with it, and done one after the other, as `apply.py` does, the two add up. Here they
overlap: validation hands each batch it has checked to a thread that works on it inside the
load's one transaction, taken at the first batch. When validation ends clean the load is
finished as `apply_load` would finish it and committed; when it finds any error the transaction
is rolled back, so a file with an error still changes nothing. Two loads gain:

- a dataflow's first load (`write`): the thread writes each batch into the empty fact table,
  and the load is finished exactly as `apply._ingest_into_empty` finishes an in-order first
  load (the primary key on PostgreSQL, the series, the record, the stamp);
- a resend of every stored observation (`compare`), the usual revision of a unit that sends
  its whole cube: the thread reads the stored rows back in key order beside the incoming ones
  (store/aligned.py), and the changed rows are stored (apply.ComparedWriter). On SQLite the
  stored rows are read on a second connection, whose read transaction (a WAL snapshot, taken
  under the lock before the load writes anything) goes on seeing the table as it was: each
  batch's changed rows are stored as they are found, the versions they replace into history and
  the rows into the fact table, on the load's connection. Memory stays one batch, and nothing
  is left for after validation. (On one connection, SQLite leaves undefined what a read sees of
  its own table changed under it: a row updated where the read stood came back twice.) On
  PostgreSQL, whose connection streams the read and runs nothing else meanwhile, they are kept
  and stored at the end, in one statement each: per batch, on a second connection, the updates
  became lookups row by row, and a resend of 5 M observations with 10 % revised took 31 s
  instead of 26 s.
  Any other load over stored rows (a new key, a missing one) shows itself at the first key that
  differs: the thread stops reading, and the load gives up.

It is only tried where it is the same as the ordinary apply, and otherwise gives up (rolls back
and lets `apply_load` do the load from the spooled batches, so giving up loses nothing but the
time): every row has one action and it is not delete; the rows come in key order (ingest/
duplicates.py tells batch by batch); for `write` the fact table is empty when the dataflow's
lock is taken, for `compare` it holds at least aligned.MIN_ROWS observations and the load
carries exactly them. Loads of fewer than `EARLY_ROWS` rows in their first batch never try:
they are quick anyway.

Costs, said here because they are the price of the overlap: the dataflow's lock (on SQLite the
database's write lock) is held from the first batch, not from the end of validation; on
PostgreSQL the empty table of a first load is locked for readers as long (they would find it
empty).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from typing import Literal

import pyarrow as pa

from sdmx_server.store import aligned, history, series
from sdmx_server.store.apply import IS_NEW, ComparedWriter
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

Mode = Literal["write", "compare"]


def early_rows() -> int:
    return int(os.environ.get("SDMX_TEST_EARLY_ROWS") or EARLY_ROWS)


class EarlyLoad:
    """One load's transaction and its thread. Use: `start`, then `add` each validated batch,
    then `finish` (applied; None when the load turned out not to be one this applies) or
    `close` (rolled back, or given up)."""

    def __init__(self, db: Database, fact: FactTable, load_id: int):
        self.db, self.fact, self.load_id = db, fact, load_id
        self.active = False  # working; False once given up, finished or closed
        self.mode: Mode | None = None
        self.given_up: str | None = None  # why, for the log
        self._conn = self._cur = self._thread = None
        self._read_conn = self._read_cur = None  # SQLite, compare: the snapshot read
        self._queue: queue.Queue = queue.Queue(QUEUE_BATCHES)
        self._error: BaseException | None = None
        self._action: str | None = None
        self._series: series.FirstWrite | None = None  # write: the series, written as the rows are
        self._count = 0
        self._tx_time = 0
        # compare: the stored observations, the changed rows found (None: not aligned), and
        # whether the thread has met the end of the batches
        self._stored = 0
        self._changed: pa.Table | None = None
        self._writer: ComparedWriter | None = None
        self._mismatch = threading.Event()
        self._ended = False

    def start(self) -> bool:
        """Take the dataflow's lock and begin, if the load may be one of the two this does;
        whether it began (then `mode` says which)."""
        db, fact = self.db, self.fact
        self._conn = db.adbc_connect()
        self._cur = self._conn.cursor()
        try:
            lock_dataflow(db, self._cur, fact.name)  # a load queued behind another waits here
            crash_point("early-locked")
            load_memory(db, self._cur)
            if is_empty(db, self._cur, fact):
                self.mode = "write"
            else:
                self._stored = aligned.stored_count(db, self._cur, fact)
                if self._stored < aligned.MIN_ROWS:
                    self._end("the dataflow holds few observations")
                    return False
                self.mode = "compare"
                if db.is_sqlite and not self._take_snapshot():
                    self._end("the stored rows cannot be read beside the load's writes (no WAL)")
                    return False
            self._tx_time = history.next_tx_time(db, self._cur, fact, self.load_id)
            if self.mode == "write":
                drop_key(db, self._cur, fact)  # (PostgreSQL: built once, at the end)
                self._series = series.FirstWrite(db, self._cur, fact)
        except BaseException:
            self._end(None)
            raise
        self.active = True
        if self.mode == "write":
            self._start_thread(self._write)
        return True

    def _take_snapshot(self) -> bool:
        """SQLite: a second connection whose read transaction begins now, under the lock, before
        this load writes anything (the comparison reads the stored rows through it). Only in
        WAL mode does a reader see a snapshot beside a writer (else it would block its commit)."""
        self._read_conn = self.db.adbc_connect()
        self._read_cur = self._read_conn.cursor()
        self._read_cur.execute("PRAGMA journal_mode")
        if str(self._read_cur.fetchone()[0]).lower() != "wal":
            return False
        # (reading begins the transaction; it sees what the locked connection sees)
        return aligned.stored_count(self.db, self._read_cur, self.fact) == self._stored

    def _start_thread(self, target, *args) -> None:
        self._thread = threading.Thread(target=target, args=args, name=f"early-load-{self.load_id}", daemon=True)
        self._thread.start()

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
        if self.mode == "compare":
            self._count += rows.num_rows
            if self._mismatch.is_set() or self._count > self._stored:
                return self.give_up("the load does not carry exactly the stored keys")
            if self._thread is None:
                self._start_thread(self._compare, self._action == "R")
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
                self._series.add(rows)
                self._count += rows.num_rows
                crash_point("early-written")
            except BaseException as exc:  # told to the loading thread in finish()
                self._error = exc

    def _compare(self, replace: bool) -> None:
        """The comparing thread: the stored rows beside the batches, as they come. After a
        mismatch or an error it only drains the queue."""
        def batches():
            while (rows := self._queue.get()) is not None:
                yield rows
            self._ended = True

        try:
            on_changed, read_cur = None, self._cur
            if self._read_cur is not None:
                # (SQLite: read from the snapshot, written on the load's connection as it goes)
                read_cur = self._read_cur
                on_changed = self._writer = ComparedWriter(self.db, self._cur, self.fact, self.load_id,
                                                           self._tx_time, ApplyResult(tx_time=self._tx_time),
                                                           streamed=True)
            self._changed = aligned.compare(self.db, read_cur, self.fact, batches(), replace,
                                            history.stored_columns(self.fact.table, self.fact.key_columns),
                                            IS_NEW, drain=False, on_changed=on_changed)
        except BaseException as exc:  # told to the loading thread in finish()
            self._error = exc
        if self._changed is None:
            self._mismatch.set()
        while not self._ended and self._queue.get() is not None:
            pass

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

    def finish(self, rows: int, report_json: str) -> ApplyResult | None:
        """Validation ended clean: finish the load and commit it, as apply_load would; None
        when a compared load turned out not to carry exactly the stored keys (given up)."""
        db, cur, fact = self.db, self._cur, self.fact
        try:
            self._stop_writer()
            self._close_snapshot()
            if self._error is not None and self.mode == "compare":
                # The comparison is an optimisation: the ordinary apply does the load instead
                # (and meets the error again, if it is the database's).
                log.warning("load %s: the comparison while validating failed", self.load_id, exc_info=self._error)
                self.give_up("the comparison failed")
                return None
            if self._error is not None:
                raise self._error
            result = ApplyResult(tx_time=self._tx_time)
            if self.mode == "compare":
                if self._changed is None or self._count != rows:
                    self.give_up("the load does not carry exactly the stored keys")
                    return None
                if self._writer is None:  # (PostgreSQL: the changed rows were kept)
                    self._writer = ComparedWriter(db, cur, fact, self.load_id, self._tx_time, result, streamed=False)
                    if self._changed.num_rows:
                        self._writer(self._changed)
                self._writer.finish(rows)
                result = self._writer.load.result
                crash_point("early-compared")
            else:
                build_key(db, cur, fact)
                self._series.finish()
                result.added = self._count
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

    def _close_snapshot(self) -> None:
        """The snapshot's connection, rolled back and closed (the cursor first: a comparison
        stopped half-way leaves its read open, and ADBC closes no connection with a statement
        open)."""
        conn, self._read_conn = self._read_conn, None
        cur, self._read_cur = self._read_cur, None
        if conn is None:
            return
        try:
            if cur is not None:
                cur.close()
        finally:
            try:
                conn.rollback()
            finally:
                conn.close()

    def _end(self, why: str | None, rolled_back: bool = True) -> None:
        self.active = False
        if why is not None:
            self.given_up = why
        try:
            self._close_snapshot()
        finally:
            self._end_load(rolled_back)

    def _end_load(self, rolled_back: bool) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            # The cursor first: on PostgreSQL a comparison stopped half-way leaves its read
            # open on it, and ADBC closes no connection with a statement open.
            if self._cur is not None:
                self._cur.close()
        finally:
            try:
                if rolled_back:
                    conn.rollback()
            finally:
                conn.close()

