"""A load's record as the load goes: closed with its status and report, its report stored
before the data are applied, marked failed with the reason (ingest/load.py opens it)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlmodel import Session

from sdmx_server.ingest.report import ValidationReport
from sdmx_server.store.database import Database
from sdmx_server.store.locks import FACT_TABLES, lock_in_session, patient
from sdmx_server.store.records import LoadRecord


def close_record(db: Database, record_id: int, status: str, report: ValidationReport, fmt: str | None) -> None:
    with db.engine.connect() as conn, patient(db, conn), Session(bind=conn) as session:
        # Write first: on SQLite a read-then-write transaction fails if a load commits between.
        lock_in_session(db, session.connection(), FACT_TABLES)
        record = session.get(LoadRecord, record_id)
        record.status = status
        record.format = fmt
        record.observations = report.rows_read
        record.errors = report.error_count
        record.report = "\n".join(report.lines()[:200])
        record.report_json = json.dumps(report.as_json())
        record.finished_at = datetime.now(timezone.utc)
        session.add(record)
        session.commit()


def store_report(db: Database, record_id: int, report: ValidationReport) -> None:
    """A valid load's report (its warnings, its counts) on its record before the data are applied."""
    with Session(db.engine) as session:
        # Write first, as close_record does (SQLite: a read-then-write transaction can fail).
        lock_in_session(db, session.connection(), FACT_TABLES)
        record = session.get(LoadRecord, record_id)
        record.report_json = json.dumps(report.as_json())
        record.observations = report.rows_read
        session.add(record)
        session.commit()


def fail(db: Database, record_id: int, report: ValidationReport, exc: BaseException, fmt: str | None) -> None:
    """The load's record marked failed, with the reason; the exception names the record."""
    report.file_error(f"the load failed and was rolled back: {type(exc).__name__}: {exc}", rule="failed")
    close_record(db, record_id, "failed", report, fmt)
    try:
        exc.load_record = record_id  # the CLI names the record in its one line
    except AttributeError:
        pass
