"""A data load from end to end: read, validate, apply, and keep a record of it.

The record is written before anything else, so that a rejected or failed load leaves a trace;
it is marked applied in the same transaction that writes the data.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from sdmx_server.access import audited
from sdmx_server.access.principal import Principal
from sdmx_server.ingest.context import ValidationContext
from sdmx_server.ingest.load_records import close_record, fail as fail_load, store_report
from sdmx_server.ingest.progress import CountingFile, Progress, safe
from sdmx_server.ingest.readers import IncomingData, closing, detect, reader_for
from sdmx_server.ingest import spool
from sdmx_server.ops import metrics
from sdmx_server.ingest.report import ValidationReport
from sdmx_server.ingest.validate import validate
from sdmx_server.registry.index import Registry
from sdmx_server.registry.shape import DataShape, data_shape
from sdmx_server.settings import Settings
from sdmx_server.store import embargo
from sdmx_server.store.apply import apply_load
from sdmx_server.store.database import Database
from sdmx_server.store.early import EarlyLoad, early_rows
from sdmx_server.store.liveness import OpenRecord, fail_running, open_record
from sdmx_server.store.records import LoadRecord
from sdmx_server.store.steps import ApplyResult
from sdmx_server.store.tables import ensure_fact_table
from sdmx_server.types import LOAD_ACTIONS, LoadAction, LoadOrigin, LoadStatus

ACTIONS = LOAD_ACTIONS
log = logging.getLogger(__name__)

#: Reads the incoming data once the DSD is known: IncomingData, or None when the source cannot
#: be read at all (the report says why).
ReadIncoming = Callable[[DataShape, ValidationReport], "IncomingData | None"]


class LoadError(ValueError):
    """The load cannot even start (unknown dataflow, unreadable file...)."""


@dataclass(frozen=True)
class LoadRequest:
    """What is loaded where, and how: the same for `load-data`, uploads and sources."""

    flow: tuple[str, str, str]
    source: str  # the file name as given, "upload", or a source id of loaders/
    action: LoadAction = "merge"  # for records that carry no action of their own
    origin: LoadOrigin = "cli"
    submitted_by: str | None = None
    #: Who asked (the audit trail's actor; None: the command line) and from where.
    principal: Principal | None = None
    address: str | None = None
    #: What a load whose source gave no data at all is marked: a file that is no data message
    #: is rejected; a source whose pull brought nothing failed (sources/sync.py).
    unread_status: LoadStatus = "rejected"
    dry_run: bool = False  # validate and report, apply nothing
    release_at: datetime | None = None  # embargo: publish at this time (UTC)
    #: Where the submitter may upload (access/gate.py, as DataQuery.region): a row outside
    #: refuses the whole file (ingest/permitted.py). None: everywhere.
    region: tuple | None = None
    #: Told how far each stage is (ingest/progress.py); the CLI draws it, others pass nothing.
    progress: Progress | None = field(default=None, compare=False, repr=False)

    @property
    def flow_ref(self) -> str:
        return f"{self.flow[0]}:{self.flow[1]}({self.flow[2]})"


@dataclass
class LoadOutcome:
    record_id: int
    flow: str
    status: str  # types.LoadStatus
    report: ValidationReport
    result: ApplyResult | None
    seconds: float
    format: str | None = None
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def applied(self) -> bool:
        return self.status == "applied"

    @property
    def accepted(self) -> bool:
        """Valid: applied, or kept for release, or (a dry run) valid and not applied."""
        return self.status in ("applied", "pending", "released", "validated")

    def as_json(self) -> dict:
        """The outcome for machines: uploads answer it, `load-data --json` prints it
        (keys documented in docs/loading.md)."""
        result = self.result
        counts = {k: getattr(result, k) for k in ("added", "changed", "deleted", "unchanged")} if result else None
        return {
            "load": self.record_id,
            "dataflow": self.flow,
            "status": self.status,
            "format": self.format,
            "seconds": round(self.seconds, 3),
            "counts": counts,
            "report": self.report.as_json(),
        }


def load_data(
    db: Database,
    registry: Registry,
    flow: tuple[str, str, str],
    path: Path,
    action: LoadAction = "merge",
    settings: Settings | None = None,
    **options,
) -> LoadOutcome:
    """Load a data file of any format the server reads (told from its content)."""
    settings = settings or Settings()
    path = Path(path)
    request = LoadRequest(flow, str(path), action, **options)
    _check_request(registry, request)
    if not path.is_file():
        raise LoadError(f"{path}: no such file")
    size = path.stat().st_size
    if size > settings.max_load_bytes:
        raise LoadError(f"{path}: {size:,} bytes is more than the limit of {settings.max_load_bytes:,}")
    with open(path, "rb") as f:
        head = f.read(64 * 1024)
    fmt = detect(head)
    reader = reader_for(fmt) if fmt else None
    if reader is None:
        # Still a load, with its record: the report says what the file is not.
        def read(shape, report):
            report.file_error(NOT_DATA, rule="not-data", row=1)
            return None
    else:
        def read(shape, report):
            raw = open(path, "rb")
            # Through a counting file, so that reading reports its progress in bytes; open until
            # the rows are read (a reader may hand them over as a stream).
            return closing(reader(CountingFile(raw, size, safe(request.progress)), shape, request.flow, report), raw)
    return load_incoming(db, registry, request, read, settings)


#: What a file that no reader takes is told.
NOT_DATA = (
    "not a data message the server reads: not SDMX-CSV (the first column is DATAFLOW in 1.0, STRUCTURE in 2.0), "
    "SDMX-ML data or SDMX-JSON data"
)


def load_incoming(
    db: Database,
    registry: Registry,
    request: LoadRequest,
    read: ReadIncoming,
    settings: Settings | None = None,
) -> LoadOutcome:
    """The one load pipeline: record, read, validate, apply (or keep for release), close."""
    settings = settings or Settings()
    started = time.perf_counter()
    dataflow = _check_request(registry, request)
    # Embargoed loads of this dataflow whose time has come go first: a later load must never
    # be overwritten by an earlier embargoed one (store/embargo.py).
    release_embargoed(db, registry, request.flow, settings)
    shape = data_shape(dataflow.structure)
    spool.sweep(_spool_dir(settings))  # files of loads killed mid-way on this host
    record = _open_record(db, request)
    try:
        outcome = _run_load(db, registry, request, read, settings, shape, record.id, started)
    except BaseException as exc:
        # An error the steps did not report themselves: the record must not stay running.
        fail_running(db, record.id, f"the load stopped: {type(exc).__name__}: {exc}")
        audited.load(db, request, error=exc, record_id=record.id)
        metrics.load_ended(request.flow_ref, request.origin, "failed")
        raise
    finally:
        record.release()  # the record is closed: a start may judge it now
    if outcome.status == "pending" and record.id in release_embargoed(db, registry, request.flow, settings):
        outcome.status = "released"  # its release time had already come
    audited.load(db, request, outcome)
    if outcome.status in ("applied", "released"):
        _derive(db, registry, [request.flow], settings)
    metrics.load_ended(request.flow_ref, request.origin, outcome.status)
    return outcome


def _derive(db: Database, registry: Registry, flows, settings: Settings | None = None) -> None:
    """The one hook after data changed: dataflows derived from these are recomputed
    (processing/derived.py). Imported here, not at the top: processing loads through this
    module, so it sits above ingest."""
    from sdmx_server.processing.derived import refresh_after

    refresh_after(db, registry, flows, settings)


def _run_load(db, registry: Registry, request: LoadRequest, read: ReadIncoming, settings: Settings,
              shape: DataShape, record_id: int, started: float) -> LoadOutcome:
    progress = safe(request.progress)
    report = ValidationReport(max_groups=settings.max_reported_errors, source=request.source)
    early = _Early(db, request, shape, record_id)
    try:
        try:
            validated, incoming = _read_and_validate(db, registry, request, shape, read, report, progress,
                                                     _spool_dir(settings), early)
        except BaseException as exc:
            # A reader or a check that breaks (or an interrupt) must not leave the record running.
            early.close()  # (first: on SQLite its transaction holds the write lock the record needs)
            fail_load(db, record_id, report, exc, None)
            raise
        fmt = incoming.format if incoming is not None else None
        notes = incoming.notes if incoming is not None else {}

        def outcome(status: str, result: ApplyResult | None = None) -> LoadOutcome:
            return LoadOutcome(record_id, request.flow_ref, status, report, result, time.perf_counter() - started,
                               fmt, notes)

        if validated is None:
            early.close()
            status = request.unread_status if incoming is None and report.file_errors else "rejected"
            close_record(db, record_id, status, report, fmt)
            return outcome(status)
        try:
            return _apply_or_keep(db, request, shape, record_id, validated, report, fmt, progress, outcome, early)
        finally:
            validated.close()  # the spool file goes now, not when the collector gets to it
    finally:
        early.close()


class _Early:
    """The validation's hook that applies a large load while it is validated (store/early.py:
    a first load written, a whole resend compared): tried at the first batch, when the load is
    one that may apply."""

    def __init__(self, db: Database, request: LoadRequest, shape: DataShape, record_id: int):
        self.db, self.request, self.shape, self.record_id = db, request, shape, record_id
        self.load: EarlyLoad | None = None
        self.context: ValidationContext | None = None  # the load's, once built
        self._tried = request.dry_run or request.release_at is not None or request.action == "delete"

    def __call__(self, batch, present: frozenset, in_order: bool) -> None:
        if not self._tried:
            self._tried = True
            if batch.num_rows >= early_rows():
                try:
                    fact = ensure_fact_table(self.db, self.request.flow, self.shape)
                except Exception:  # (the ordinary apply meets it again, where it always did)
                    log.debug("load %s: no early write", self.record_id, exc_info=True)
                    return
                load = EarlyLoad(self.db, fact, self.record_id)
                if load.start():
                    self.load = load
                    if load.mode == "write" and self.context is not None:
                        # Empty under the load's lock, which it holds to the end: nothing stored
                        # can conflict (and on PostgreSQL the table, locked, must not be read).
                        self.context.stored_values = self.context.stored_keys = None
        if self.load is not None:
            self.load.add(batch, present, in_order)

    @property
    def active(self) -> bool:
        return self.load is not None and self.load.active

    def close(self) -> None:
        if self.load is not None:
            self.load.close()


def _apply_or_keep(db, request: LoadRequest, shape: DataShape, record_id: int, validated, report: ValidationReport,
                   fmt, progress: Progress, outcome, early: _Early) -> LoadOutcome:
    if request.dry_run:
        close_record(db, record_id, "validated", report, fmt)
        return outcome("validated")
    if request.release_at is not None:
        embargo.keep(db, record_id, request.flow, validated, request.release_at)
        close_record(db, record_id, "pending", report, fmt)
        return outcome("pending")
    try:
        progress("apply", 0, validated.rows)
        result = None
        if early.active:  # written or compared while it was validated: finished and committed now
            result = early.load.finish(validated.rows, json.dumps(report.as_json()))
        if result is None:  # (or the comparison found other keys than the stored ones)
            store_report(db, record_id, report)
            fact = ensure_fact_table(db, request.flow, shape)
            result = apply_load(db, fact, validated, record_id, replace_all=request.action == "replace-all")
        progress("apply", validated.rows, validated.rows)
    except BaseException as exc:
        early.close()
        fail_load(db, record_id, report, exc, fmt)
        raise
    return outcome("applied", result)


def _spool_dir(settings: Settings) -> Path:
    """Where validated batches past memory wait (ingest/spool.py): the data directory, on disk
    (a tmpfs $TMPDIR would hold them in memory) and swept of files killed loads left."""
    directory = settings.data_dir / "spool"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _read_and_validate(db, registry, request: LoadRequest, shape: DataShape, read: ReadIncoming,
                       report: ValidationReport, progress: Progress, spool_dir: Path, early=None):
    """Read the source and validate it against the DSD, the dataflow's constraints and what
    the store holds: (ValidatedData or None, IncomingData or None)."""
    progress("read", 0, None)
    incoming = read(shape, report)
    if incoming is None:
        return None, None
    rows = incoming.table.num_rows if incoming.table is not None else None
    progress("validate", 0, rows)
    context = ValidationContext.build(db, registry, request.flow, shape, request.action)
    context.region, context.scope = request.region, request.flow_ref
    if early is not None:
        early.context = context
    validated = validate(incoming, shape, _default_action(request.action), report, context, spool_dir=spool_dir,
                         progress=progress, early=early)
    progress("validate", report.rows_read, report.rows_read)
    return validated, incoming


def release_embargoed(db: Database, registry: Registry, flow: tuple[str, str, str] | None = None,
                      settings: Settings | None = None) -> list[int]:
    """Apply the embargoed loads (of `flow`, or all) whose release time has come; the ids of
    those this process released (store/embargo.py says who releases what)."""
    def fact_for(flow_: tuple[str, str, str]):
        dataflow = registry.get("dataflow", *flow_)
        if dataflow is None or dataflow.structure is None:
            raise LoadError(f"embargoed load of {flow_}: the dataflow or its structure is no longer loaded")
        return ensure_fact_table(db, flow_, data_shape(dataflow.structure))

    released = embargo.release_due(db, fact_for, apply_load, flow)
    audited.releases(db, released)
    metrics.released(len(released))
    if flow is not None:
        # Another process may be releasing one of this dataflow's due loads: a load must come
        # after it (and after the due loads behind it), as loads of one dataflow queue.
        while embargo.pending_loads(db, flow, due_by=datetime.now(timezone.utc)):
            time.sleep(RELEASE_POLL_SECONDS)
            more = embargo.release_due(db, fact_for, apply_load, flow)
            audited.releases(db, more)
            metrics.released(len(more))
            released += more
    if released:
        _derive(db, registry, _flows_of(db, released), settings)
    return released


def _flows_of(db: Database, load_ids: list[int]) -> list[tuple[str, str, str]]:
    """The dataflows of these loads, as (agency, id, version)."""
    import re

    import sqlalchemy as sa

    table = LoadRecord.__table__
    with db.engine.connect() as conn:
        refs = conn.execute(sa.select(table.c.flow).where(table.c.id.in_(load_ids)).distinct()).scalars().all()
    found = []
    for ref in refs:
        if m := re.fullmatch(r"([^:]+):([^(]+)\(([^)]+)\)", ref):
            found.append((m[1], m[2], m[3]))
    return found


#: How often a load waiting for another process's release of its dataflow looks again.
RELEASE_POLL_SECONDS = 0.2


def _default_action(action: LoadAction) -> str:
    # replace-all writes like replace; the store empties the rest of the dataflow.
    return "replace" if action == "replace-all" else action


def _check_request(registry: Registry, request: LoadRequest):
    if request.action not in ACTIONS:
        raise LoadError(f"unknown action {request.action!r}: use one of {', '.join(ACTIONS)}")
    flow = request.flow
    flow_ref = request.flow_ref
    dataflow = registry.get("dataflow", *flow)
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
    return dataflow


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


def _open_record(db: Database, request: LoadRequest) -> OpenRecord:
    """The load's `running` record, held as this process's (store/liveness.py) until closed."""
    return open_record(
        db, flow=request.flow_ref, action=request.action, source=request.source, origin=request.origin,
        submitted_by=request.submitted_by, release_at=request.release_at,
    )
