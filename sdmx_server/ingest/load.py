"""A data load from end to end: read, validate, apply, and keep a record of it.

The record is written before anything else, so that a rejected or failed load leaves a trace;
it is marked applied in the same transaction that writes the data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlmodel import Session

from sdmx_server.ingest.readers.sdmx_csv import read_sdmx_csv
from sdmx_server.ingest.report import ValidationReport
from sdmx_server.ingest.validate import ACTION_CODES, validate
from sdmx_server.registry.index import Registry
from sdmx_server.registry.shape import data_shape
from sdmx_server.settings import Settings
from sdmx_server.store.apply import ApplyResult, apply_load
from sdmx_server.store.database import Database
from sdmx_server.store.records import LoadRecord
from sdmx_server.store.tables import ensure_fact_table

ACTIONS = tuple(ACTION_CODES)


class LoadError(ValueError):
    """The load cannot even start (unknown dataflow, unreadable file...)."""


@dataclass
class LoadOutcome:
    record_id: int
    flow: str
    status: str  # applied | rejected
    report: ValidationReport
    result: ApplyResult | None
    seconds: float

    @property
    def applied(self) -> bool:
        return self.status == "applied"


def load_data(
    db: Database,
    registry: Registry,
    flow: tuple[str, str, str],
    path: Path,
    action: str = "merge",
    settings: Settings | None = None,
) -> LoadOutcome:
    settings = settings or Settings()
    started = time.perf_counter()
    if action not in ACTION_CODES:
        raise LoadError(f"unknown action {action!r}: use one of {', '.join(ACTIONS)}")
    dataflow = registry.get("dataflow", *flow)
    flow_ref = f"{flow[0]}:{flow[1]}({flow[2]})"
    if dataflow is None:
        raise LoadError(f"dataflow {flow_ref} is not loaded; load its structures first")
    if dataflow.structure is None or not registry.contains(dataflow.structure, "datastructure"):
        raise LoadError(f"dataflow {flow_ref} has no data structure definition loaded")
    stubs = stub_references(dataflow.structure)
    if stubs:
        raise LoadError(
            f"dataflow {flow_ref}: its structure refers to {', '.join(stubs)}, known only as external-reference "
            "stubs; load the full artefacts first, data cannot be checked against codes nobody loaded"
        )
    path = Path(path)
    if not path.is_file():
        raise LoadError(f"{path}: no such file")
    size = path.stat().st_size
    if size > settings.max_load_bytes:
        raise LoadError(f"{path}: {size:,} bytes is more than the limit of {settings.max_load_bytes:,}")
    if path.suffix.lower() not in (".csv", ".txt"):
        raise LoadError(f"{path}: only SDMX-CSV files (.csv) can be loaded so far")

    shape = data_shape(dataflow.structure)
    record_id = _open_record(db, flow_ref, action, path)
    report = ValidationReport(max_groups=settings.max_reported_errors)
    incoming = read_sdmx_csv(path, shape, flow, report)
    validated = validate(incoming, shape, action, report) if incoming is not None else None
    if validated is None:
        _close_record(db, record_id, "rejected", report)
        return LoadOutcome(record_id, flow_ref, "rejected", report, None, time.perf_counter() - started)
    try:
        fact = ensure_fact_table(db, flow, shape)
        result = apply_load(db, fact, validated, record_id)
    except BaseException as exc:
        report.file_error(f"the load failed and was rolled back: {type(exc).__name__}: {exc}")
        _close_record(db, record_id, "failed", report)
        raise
    return LoadOutcome(record_id, flow_ref, "applied", report, result, time.perf_counter() - started)


def stub_references(dsd) -> list[str]:
    """The item schemes a DSD's components take their codes or concepts from that are only
    external-reference stubs (loaded with --allow-missing-references)."""
    found: dict[str, None] = {}
    for name in ("dimensions", "attributes", "measures"):
        components = getattr(dsd, name, None)
        for component in components.components if components is not None else ():
            concept = component.concept_identity
            schemes = [getattr(concept, "parent", None)] if concept is not None else []
            for rep in (component.local_representation, getattr(concept, "core_representation", None)):
                if rep is not None and rep.enumerated is not None:
                    schemes.append(rep.enumerated)
            for scheme in schemes:
                if scheme is not None and getattr(scheme, "is_external_reference", False) is True:
                    agency = scheme.maintainer.id if scheme.maintainer is not None else ""
                    found[f"{type(scheme).__name__} {agency}:{scheme.id}({scheme.version})"] = None
    return list(found)


def _open_record(db: Database, flow_ref: str, action: str, path: Path) -> int:
    with Session(db.engine) as session:
        record = LoadRecord(flow=flow_ref, action=action, source=str(path))
        session.add(record)
        session.commit()
        return record.id


def _close_record(db: Database, record_id: int, status: str, report: ValidationReport) -> None:
    with Session(db.engine) as session:
        record = session.get(LoadRecord, record_id)
        record.status = status
        record.observations = report.rows_read
        record.errors = report.error_count
        record.report = "\n".join(report.lines()[:200])
        record.finished_at = datetime.now(timezone.utc)
        session.add(record)
        session.commit()

