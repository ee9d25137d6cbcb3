"""The steps a load's transaction shares between the ordinary apply (store/apply.py, with its
deletes in store/deletes.py) and the early one (store/early.py): the load's state in its
transaction (LoadState), what a load did (ApplyResult), the memory its
statements get, the PostgreSQL key dropped and rebuilt around a first load, the record marked
applied, the statistics refreshed after commit, and the points where tests crash or pause it."""

from __future__ import annotations

import logging
import os
import signal
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa

from sdmx_server.store.database import Database, execute_compiled
from sdmx_server.store.records import LoadRecord
from sdmx_server.store.tables import FactTable, refresh_statistics

log = logging.getLogger(__name__)


@dataclass
class ApplyResult:
    """What a load did to the stored observations."""

    added: int = 0  # observations that were not there
    changed: int = 0  # observations with a value that differed
    deleted: int = 0  # observations removed
    unchanged: int = 0  # observations written again with the values they had
    tx_time: int | None = None  # the load's transaction time (epoch µs UTC)

    @property
    def written(self) -> int:
        return self.added + self.changed

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.deleted)


#: tests/test_load_crash.py: the process kills itself (SIGKILL) at this point of the apply (or,
#: "early-...", of store/early.py), as a crash there would, to prove the transaction leaves
#: nothing behind; or (PAUSE_AT, "point:seconds") holds its lock that long, so that another
#: load must queue behind it.
#: Unset in real use.
CRASH_AT = "SDMX_TEST_CRASH_AT"
PAUSE_AT = "SDMX_TEST_PAUSE_AT"


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_AT) == name:
        os.kill(os.getpid(), signal.SIGKILL)
    pause = os.environ.get(PAUSE_AT, "")
    if pause.startswith(name + ":"):
        time.sleep(float(pause.split(":", 1)[1]))


#: PostgreSQL: memory for each sort and hash of a load's statements (work_mem, for this
#: transaction only). The server's default (4 MB) spills the sort of 200,000 revisions to disk
#: (their history rows are written in key order) and hashes the fact table in batches:
#: bench_load's revisions of 2 M observations took 1.3x as long with it.
LOAD_WORK_MEMORY = "256MB"


def load_memory(db: Database, cur) -> None:
    if not db.is_sqlite:
        cur.execute(f"SET LOCAL work_mem = '{LOAD_WORK_MEMORY}'")


#: PostgreSQL: memory for building a first load's primary key (a sort; more spills to disk).
INDEX_BUILD_MEMORY = "512MB"


def drop_key(db: Database, cur, fact: FactTable) -> None:
    """PostgreSQL, a first load: the empty table's primary key goes until build_key."""
    if not db.is_sqlite:
        cur.execute(f'ALTER TABLE "{fact.name}" DROP CONSTRAINT "{fact.name}_pk"')


def build_key(db: Database, cur, fact: FactTable) -> None:
    """PostgreSQL: the primary key drop_key dropped, built in one sort over the loaded rows."""
    if not db.is_sqlite:
        key = ", ".join(f'"{k}"' for k in fact.key_columns)
        cur.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'")
        cur.execute(f'ALTER TABLE "{fact.name}" ADD CONSTRAINT "{fact.name}_pk" PRIMARY KEY ({key})')


def is_empty(db: Database, cur, fact: FactTable) -> bool:
    execute_compiled(cur, sa.select(sa.literal(1)).select_from(fact.table).limit(1), db.dialect)
    return cur.fetchone() is None


def finish_record(db: Database, cur, load_id: int, observations: int, result: ApplyResult,
                  report_json: str | None = None) -> None:
    """The record marked applied, with its counts (and its report, when it was not stored
    before: store/early.py, whose transaction holds SQLite's only write lock meanwhile)."""
    records = LoadRecord.__table__
    # In UTC, as text SQLAlchemy reads back on SQLite (current_timestamp has whole seconds
    # only); PostgreSQL's clock at the end (now() is the transaction's start).
    if db.is_sqlite:
        now = sa.literal(datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f"))
    else:
        now = sa.text("(clock_timestamp() AT TIME ZONE 'UTC')")
    stmt = sa.update(records).where(records.c.id == load_id).values(
        status="applied", finished_at=now, observations=observations, added=result.added,
        changed=result.changed, deleted=result.deleted, unchanged=result.unchanged, tx_time=result.tx_time,
    )
    if report_json is not None:
        stmt = stmt.values(report_json=report_json)
    execute_compiled(cur, stmt, db.dialect)


def refresh_after_commit(db: Database, fact: FactTable, load_id: int) -> None:
    """After a load's commit: the planner must know the new rows (see tables.py)."""
    try:
        refresh_statistics(db, fact)
    except Exception as exc:  # committed already: stale statistics slow reads, they lose nothing
        log.warning("statistics of %s not refreshed after load %s: %s", fact.name, load_id, exc)


#: The temporary table a load's rows are staged in (written rows, or delete conditions).
STAGING = "sdmx_staging"


@dataclass
class LoadState:
    """One load in its transaction, as the apply's steps pass it along."""

    db: Database
    cur: object
    fact: FactTable
    load_id: int
    tx_time: int
    result: ApplyResult
    replace_all: bool = False
    keys: bool = False  # replace-all over stored rows: the LOAD_KEYS table collects the load's keys
    covered: bool = False  # the load carried exactly the stored keys (store/aligned.py): none to delete

    def run(self, statement) -> None:
        execute_compiled(self.cur, statement, self.db.dialect)

    def sql(self, statement) -> str:
        return str(statement.compile(dialect=self.db.dialect, compile_kwargs={"literal_binds": True}))
