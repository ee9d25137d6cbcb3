"""The record of every data load, applied or rejected: who sent what, when, and what became of it.

Every load, sync and upload has one, written before anything is read, so that a rejected,
failed or killed load leaves a trace (a record left `running` by a killed process is marked
failed at the next start: store/liveness.py). Its counts say what the load did; `report` is the readable
validation report, `report_json` the same for machines.
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _text_column() -> sa.Column:
    return sa.Column(sa.Text, nullable=False, server_default="")


def _count_column() -> sa.Column:
    return sa.Column(sa.BigInteger, nullable=False, server_default="0")


class LoadRecord(SQLModel, table=True):
    __tablename__ = "sdmx_load"

    id: int | None = Field(default=None, primary_key=True)
    flow: str = Field(index=True)  # AGENCY:ID(VERSION)
    action: str  # types.LoadAction, or "mixed" when the rows carry their own actions
    source: str  # the file name as given, the upload, or the source id of loaders/
    status: str = "running"  # types.LoadStatus
    observations: int = 0  # data rows read
    errors: int = 0
    #: The first lines of the validation report of a rejected load.
    report: str = Field(default="", sa_column=_text_column())
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    # -- added with revisions (store/schema.py adds them to older stores) --
    origin: str = Field(default="cli", sa_column=sa.Column(sa.String(16), nullable=False, server_default="cli"))
    submitted_by: str | None = None  # who sent it (the access issue's subject); None: the command line
    format: str | None = None  # as the reader named it: "SDMX-CSV 2.0", "SDMX-ML 2.1 generic", ...
    #: Observations the load added, changed (a value differed), deleted, and found unchanged.
    added: int = Field(default=0, sa_column=_count_column())
    changed: int = Field(default=0, sa_column=_count_column())
    deleted: int = Field(default=0, sa_column=_count_column())
    unchanged: int = Field(default=0, sa_column=_count_column())
    #: The transaction time of an applied load, epoch microseconds UTC: the `valid from` of the
    #: values it wrote and the `valid to` of those it replaced (store/history.py).
    tx_time: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, nullable=True))
    #: An embargoed load: its values are published at this time (status pending until then).
    release_at: datetime | None = None
    #: The validation report as JSON (ingest/report.py), for uploads and `loads --json`.
    report_json: str = Field(default="", sa_column=_text_column())
    #: The process that runs the load, so that a start can tell a live load from one whose
    #: process was killed (store/liveness.py).
    host: str | None = None
    pid: int | None = None


def list_records(db, flow: tuple[str, str, str | None] | None = None, limit: int = 50) -> list[LoadRecord]:
    """The latest records first; `flow` (version None: any version) narrows them."""
    from sqlmodel import Session, select

    statement = select(LoadRecord).order_by(LoadRecord.id.desc()).limit(limit)
    if flow is not None:
        agency, flow_id, version = flow
        if version is None:
            statement = statement.where(LoadRecord.flow.startswith(f"{agency}:{flow_id}(", autoescape=True))
        else:
            statement = statement.where(LoadRecord.flow == f"{agency}:{flow_id}({version})")
    with Session(db.engine) as session:
        return list(session.exec(statement).all())


def record_summary(record: LoadRecord) -> dict:
    """What `sdmx-server loads` shows of a record (its JSON form)."""
    seconds = None
    if record.finished_at is not None and record.started_at is not None:
        seconds = round((_utc(record.finished_at) - _utc(record.started_at)).total_seconds(), 3)
    return {
        "id": record.id, "started_at": _utc(record.started_at).isoformat() if record.started_at else None,
        "flow": record.flow, "origin": record.origin, "source": record.source, "format": record.format,
        "action": record.action, "status": record.status, "submitted_by": record.submitted_by,
        "observations": record.observations, "added": record.added, "changed": record.changed,
        "deleted": record.deleted, "unchanged": record.unchanged, "errors": record.errors,
        "seconds": seconds, "tx_time": record.tx_time,
        "release_at": _utc(record.release_at).isoformat() if record.release_at else None,
    }


def _utc(value) -> datetime:
    if isinstance(value, str):  # SQLite through the DB-API adapter may hand text back
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
