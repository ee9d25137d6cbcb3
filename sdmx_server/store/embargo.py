"""Embargoed loads: validated now, kept in the database, published at their release time.

A load given a release time (`load-data ... --release-at TIME`) is validated as any other;
instead of being applied, its validated rows are kept here (`keep`) and its record becomes
`pending`. Until the release only principals with the `read-embargoed` permission see the
rows through the API: store/preview.py overlays a dataflow's pending loads (`pending_loads`,
then each one's chunks through `kept_chunks`) on its current rows for them; everyone else's
answers never read these tables.

At the release time `release_due` applies them with the normal apply (store/apply.py); the
load's transaction time is when it is applied (at or after the release time), so
`updatedAfter` and `asOf` see the values from the moment anyone can, and the record becomes
`released`. Servers run it every second (api/app.py), at
start, and before any CLI load of the dataflow (ingest/load.py), so that the embargoed rows
are never applied after a load that came later.

Who applies a release: the process whose conditional UPDATE moves the record from `pending`
to `releasing` (one row changed); any number of server processes and CLI loads may try at
once. The loads of one dataflow are released in release-time order: a dataflow whose earliest
due load is being released by another process waits for it. A process that dies while
releasing leaves `releasing` behind: its rows are rolled back with it, and `recover` (run at
start and by every release check) puts the record back to `pending` once its claimant is
known dead (same host, no such process) or silent for CLAIM_TIMEOUT.

Rows are kept as Arrow IPC streams (zstd where available) in chunks of CHUNK_ROWS: the
validated table exactly, whatever the dataflow's shape, in any database.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterator

import pyarrow as pa
import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from sdmx_server.store.database import Database
from sdmx_server.store.incoming import ValidatedData
from sdmx_server.store.records import LoadRecord

Flow = tuple[str, str, str]

CHUNK_ROWS = 200_000
#: A `releasing` record whose claimant is on another host and has not finished after this
#: long is taken as dead (a release is one load's apply: minutes at most).
CLAIM_TIMEOUT = timedelta(hours=1)


class Embargo(SQLModel, table=True):
    """One pending (or releasing) embargoed load."""

    __tablename__ = "sdmx_embargo"

    load_id: int = Field(primary_key=True)  # the LoadRecord
    flow_agency: str = Field(index=True)
    flow_id: str
    flow_version: str
    release_at: datetime  # UTC
    present: str  # JSON list of the components the source carries (ValidatedData.present)
    sorted: bool = False
    #: "host:pid" of the process releasing it, and since when.
    claimed_by: str | None = None
    claimed_at: datetime | None = None


class EmbargoRows(SQLModel, table=True):
    __tablename__ = "sdmx_embargo_rows"

    load_id: int = Field(primary_key=True)
    chunk: int = Field(primary_key=True)
    ipc: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))


def create_embargo_tables(db: Database) -> None:
    for model in (Embargo, EmbargoRows):
        model.__table__.create(db.engine, checkfirst=True)


def utc(moment: datetime) -> datetime:
    if isinstance(moment, str):  # SQLite through the DB-API adapter may hand text back
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _naive(moment: datetime) -> datetime:
    # sqlmodel's datetime columns take aware times and store them in UTC.
    return utc(moment)


# -- keeping ---------------------------------------------------------------------------------------


def keep(db: Database, load_id: int, flow: Flow, data: ValidatedData, release_at: datetime) -> None:
    """Keep a validated load until its release, and mark its record pending; one transaction."""
    records = LoadRecord.__table__
    with db.engine.begin() as conn:
        conn.execute(Embargo.__table__.insert().values(
            load_id=load_id, flow_agency=flow[0], flow_id=flow[1], flow_version=flow[2],
            release_at=_naive(release_at), present=json.dumps(sorted(data.present)), sorted=data.sorted))
        chunk = 0
        for batch in data.batches():  # (a batch at a time: the load is never held whole here)
            for start in range(0, max(batch.num_rows, 1), CHUNK_ROWS):
                conn.execute(EmbargoRows.__table__.insert().values(
                    load_id=load_id, chunk=chunk, ipc=_to_ipc(batch.slice(start, CHUNK_ROWS))))
                chunk += 1
        conn.execute(sa.update(records).where(records.c.id == load_id).values(
            status="pending", release_at=_naive(release_at), observations=data.rows,
            finished_at=_naive(datetime.now(timezone.utc))))


def _to_ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    try:
        options = pa.ipc.IpcWriteOptions(compression="zstd")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # an Arrow built without zstd
        options = pa.ipc.IpcWriteOptions()
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def pending_rows(db: Database, load_id: int) -> ValidatedData:
    """The kept load as the store's input, ready for apply_load."""
    rows = EmbargoRows.__table__
    meta = Embargo.__table__
    with db.engine.connect() as conn:
        head = conn.execute(sa.select(meta.c.present, meta.c.sorted).where(meta.c.load_id == load_id)).one()
        chunks = conn.execute(sa.select(rows.c.ipc).where(rows.c.load_id == load_id).order_by(rows.c.chunk)).all()
    tables = [pa.ipc.open_stream(pa.py_buffer(bytes(ipc))).read_all() for (ipc,) in chunks]
    return ValidatedData(pa.concat_tables(tables), frozenset(json.loads(head.present)), bool(head.sorted))


def kept_chunks(db: Database, load_id: int) -> tuple[frozenset[str], bool, Iterator[pa.Table]]:
    """A kept load as (the components it carries, whether it replaces all, its rows one chunk
    at a time in load order): a reader holds one chunk (CHUNK_ROWS rows), not the load."""
    meta = Embargo.__table__
    with db.engine.connect() as conn:
        head = conn.execute(sa.select(meta.c.present).where(meta.c.load_id == load_id)).first()
    if head is None:
        raise Released(load_id)
    return frozenset(json.loads(head.present)), _replaces_all(db, load_id), _chunks(db, load_id)


def _chunks(db: Database, load_id: int) -> Iterator[pa.Table]:
    rows = EmbargoRows.__table__
    with db.engine.connect() as conn:
        numbers = conn.execute(sa.select(rows.c.chunk).where(rows.c.load_id == load_id)
                               .order_by(rows.c.chunk)).scalars().all()
    for number in numbers:
        with db.engine.connect() as conn:
            ipc = conn.execute(sa.select(rows.c.ipc).where(rows.c.load_id == load_id, rows.c.chunk == number)).scalar()
        if ipc is None:
            raise Released(load_id)
        yield pa.ipc.open_stream(pa.py_buffer(bytes(ipc))).read_all()


class Released(Exception):
    """The kept load was released (its rows applied, then removed from here) while being read."""


@dataclass(frozen=True)
class PendingLoad:
    load_id: int
    flow: Flow
    release_at: datetime
    status: str  # pending | releasing


def pending_loads(db: Database, flow: Flow | None = None, due_by: datetime | None = None) -> list[PendingLoad]:
    """Embargoed loads not yet released, in release order (release time, then load id)."""
    meta, records = Embargo.__table__, LoadRecord.__table__
    statement = (sa.select(meta.c.load_id, meta.c.flow_agency, meta.c.flow_id, meta.c.flow_version,
                           meta.c.release_at, records.c.status)
                 .join(records, records.c.id == meta.c.load_id)
                 .order_by(meta.c.release_at, meta.c.load_id))
    if flow is not None:
        statement = statement.where(meta.c.flow_agency == flow[0], meta.c.flow_id == flow[1],
                                    meta.c.flow_version == flow[2])
    if due_by is not None:
        statement = statement.where(meta.c.release_at <= _naive(due_by))
    with db.engine.connect() as conn:
        rows = conn.execute(statement).all()
    return [PendingLoad(r.load_id, (r.flow_agency, r.flow_id, r.flow_version), utc(r.release_at), r.status)
            for r in rows]


def pending_stamps(db: Database, flows) -> dict[Flow, str]:
    """The dataflows among `flows` with pending loads, each with the ids of those loads in
    release order: what an answer showing them depends on (ETags, kept answers), beside the
    dataflow's data stamp."""
    wanted = set(flows)
    found: dict[Flow, list[str]] = {}
    for p in pending_loads(db):
        if p.flow in wanted:
            found.setdefault(p.flow, []).append(str(p.load_id))
    return {flow: "+".join(ids) for flow, ids in found.items()}


def pending_before(db: Database, flows: list[Flow], moment: datetime) -> bool:
    """Whether a load of these dataflows due at or before `moment` is still to be released:
    then the data as of `moment` may still change (api/conditional.py)."""
    return any(p.flow in set(flows) for p in pending_loads(db, due_by=moment))


# -- releasing -------------------------------------------------------------------------------------

#: (database, dataflow) -> its fact table, created if need be (the caller knows the structures).
FactFor = Callable[[Flow], object]
#: apply_load(db, fact, data, load_id, tx_time=..., replace_all=...) of store/apply.py.
Apply = Callable[..., object]


def _me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def release_due(db: Database, fact_for: FactFor, apply: Apply, flow: Flow | None = None,
                now: datetime | None = None) -> list[int]:
    """Apply every embargoed load (of `flow`, or all) whose release time has come, in release
    order per dataflow; the ids of those this process released. Another process releasing
    one of a dataflow's loads makes this one leave that dataflow for the next check."""
    now = now or datetime.now(timezone.utc)
    recover(db)
    released: list[int] = []
    blocked: set[Flow] = set()
    while True:
        due = [p for p in pending_loads(db, flow, due_by=now) if p.flow not in blocked]
        first_per_flow: dict[Flow, PendingLoad] = {}
        for p in due:
            first_per_flow.setdefault(p.flow, p)
        progress = False
        for p in first_per_flow.values():
            if p.status != "pending" or not _claim(db, p.load_id):
                blocked.add(p.flow)  # another process has it: its later loads wait for it
                continue
            _release(db, p, fact_for, apply)
            released.append(p.load_id)
            progress = True
        if not progress:
            return released


def _claim(db: Database, load_id: int) -> bool:
    records = LoadRecord.__table__
    with db.engine.begin() as conn:
        won = conn.execute(sa.update(records).where(records.c.id == load_id, records.c.status == "pending")
                           .values(status="releasing")).rowcount == 1
        if won:
            conn.execute(sa.update(Embargo.__table__).where(Embargo.__table__.c.load_id == load_id).values(
                claimed_by=_me(), claimed_at=_naive(datetime.now(timezone.utc))))
    return won


def _release(db: Database, p: PendingLoad, fact_for: FactFor, apply: Apply) -> None:
    try:
        data = pending_rows(db, p.load_id)
        fact = fact_for(p.flow)
        # The transaction time is when the values appear (now, taken under the dataflow's lock,
        # and at or after release_at), not release_at itself: a harvester that asked
        # updatedAfter between the release time and this apply must see them on its next ask.
        apply(db, fact, data, p.load_id, tx_time=None, replace_all=_replaces_all(db, p.load_id))
    except BaseException:
        _unclaim(db, p.load_id)  # rolled back: try again at the next check
        raise
    _finish(db, p.load_id)


def _replaces_all(db: Database, load_id: int) -> bool:
    records = LoadRecord.__table__
    with db.engine.connect() as conn:
        return conn.execute(sa.select(records.c.action).where(records.c.id == load_id)).scalar() == "replace-all"


def _unclaim(db: Database, load_id: int) -> None:
    records = LoadRecord.__table__
    with db.engine.begin() as conn:
        conn.execute(sa.update(records).where(records.c.id == load_id, records.c.status == "releasing")
                     .values(status="pending"))
        conn.execute(sa.update(Embargo.__table__).where(Embargo.__table__.c.load_id == load_id)
                     .values(claimed_by=None, claimed_at=None))


def _finish(db: Database, load_id: int) -> None:
    """The applied load becomes `released`; its kept rows go."""
    records = LoadRecord.__table__
    with db.engine.begin() as conn:
        conn.execute(sa.update(records).where(records.c.id == load_id, records.c.status.in_(("applied", "releasing")))
                     .values(status="released"))
        conn.execute(sa.delete(EmbargoRows.__table__).where(EmbargoRows.__table__.c.load_id == load_id))
        conn.execute(sa.delete(Embargo.__table__).where(Embargo.__table__.c.load_id == load_id))


def recover(db: Database) -> None:
    """Put releases whose process died back to pending; finish those applied whose process
    died before it could mark them released."""
    meta, records = Embargo.__table__, LoadRecord.__table__
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(meta.c.load_id, meta.c.claimed_by, meta.c.claimed_at, records.c.status)
                            .join(records, records.c.id == meta.c.load_id)
                            .where(records.c.status.in_(("releasing", "applied", "released")))).all()
    for load_id, claimed_by, claimed_at, status in rows:
        if status in ("applied", "released"):
            _finish(db, load_id)  # the apply committed: only the bookkeeping was left
        elif _dead(claimed_by, claimed_at):
            _unclaim(db, load_id)


def _dead(claimed_by: str | None, claimed_at) -> bool:
    if claimed_by is None:
        return True
    host, _, pid = claimed_by.rpartition(":")
    if host == socket.gethostname():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except (PermissionError, ValueError):
            return False
        return False
    return claimed_at is None or datetime.now(timezone.utc) - utc(claimed_at) > CLAIM_TIMEOUT


def iter_pending_tables(db: Database) -> Iterator[tuple[PendingLoad, ValidatedData]]:
    """Every kept load with its rows (the export of a store, issue 10)."""
    for p in pending_loads(db):
        yield p, pending_rows(db, p.load_id)
