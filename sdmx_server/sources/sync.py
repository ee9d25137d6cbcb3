"""One sync of a source: pull, compare with the last applied pull, map, and load.

Every sync that reaches the store goes through `load_incoming`, the pipeline of `load-data`
and uploads, with origin "sync" and the source id as the load's source: the same validation,
the same record. A pull that fails (unreachable, a failing query, a missing credential or
file, columns the mapping does not fit) still leaves a load record, marked failed, whose report
says why; nothing is applied. A pull whose fingerprint equals the last applied one applies
nothing and is noted `unchanged` in the source's state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import sqlalchemy as sa

from sdmx_server.access.principal import Principal
from sdmx_server.ingest.load import LoadError, LoadRequest, load_incoming
from sdmx_server.ingest.progress import Progress, safe
from sdmx_server.registry.index import Registry
from sdmx_server.settings import Settings
from sdmx_server.sources import state as states
from sdmx_server.sources.files import read_files
from sdmx_server.sources.mapping import map_rows
from sdmx_server.sources.raw import PullError, RawData
from sdmx_server.sources.spec import SourceSpec
from sdmx_server.sources.sql import pull_sql
from sdmx_server.store.database import Database
from sdmx_server.store.records import LoadRecord
from sdmx_server.store.steps import ApplyResult


@dataclass
class SyncOutcome:
    source: str
    flow: str
    #: applied | pending (embargoed: kept for release_at) | unchanged | rejected (the data broke
    #: a rule) | failed (no data came)
    status: str
    message: str  # one line for people
    load_id: int | None = None
    rows: int = 0
    result: ApplyResult | None = None
    seconds: float = 0.0
    lines: list[str] = field(default_factory=list)  # the report's lines, naming the unit's rows
    where: str = ""  # what the rows were read from: the file name(s), or "the query"

    @property
    def ok(self) -> bool:
        return self.status in ("applied", "pending", "unchanged")


def pull(spec: SourceSpec, environ: dict[str, str] | None = None) -> RawData:
    if spec.kind == "sql":
        return pull_sql(spec, environ)
    return read_files(spec)


def sync_source(db: Database, registry: Registry, spec: SourceSpec, settings: Settings | None = None,
                environ: dict[str, str] | None = None, progress: Progress | None = None,
                actor: Principal | None = None) -> SyncOutcome:
    """Pull the source and load what it holds; `progress` is told of the pull (as reading),
    validation and apply (the command line draws it); `actor`: who syncs, for the audit trail
    (None: the command line; the scheduler is the server itself)."""
    settings = settings or Settings()
    states.ensure_state_tables(db)
    started = time.perf_counter()
    request = LoadRequest(spec.dataflow, spec.id, spec.action, origin="sync", release_at=spec.release_at,
                          progress=progress, principal=actor, unread_status="failed")
    told = safe(progress)

    def done(outcome: SyncOutcome) -> SyncOutcome:
        outcome.seconds = time.perf_counter() - started
        message = outcome.message if outcome.ok else "\n".join([outcome.message, *outcome.lines[:20]])
        states.record(db, spec.id, spec.flow_ref, outcome.status, message,
                      fingerprint_=fp if outcome.status in ("applied", "pending") else None,
                      load_id=outcome.load_id)
        return outcome

    fp: str | None = None
    told("pull", 0, None)
    try:
        raw = pull(spec, environ)
    except PullError as exc:
        return done(_failed_pull(db, registry, spec, request, settings, str(exc)))
    except Exception as exc:  # a reader's library failing in a way nobody foresaw: still no traceback
        message = f"{spec.data_path or 'the query'} cannot be read: {type(exc).__name__}: {exc}"
        return done(_failed_pull(db, registry, spec, request, settings, message))
    told("pull", raw.table.num_rows, raw.table.num_rows)
    fp = states.fingerprint(spec.text, raw.table)
    last = states.get_state(db, spec.id)
    if last is not None and last.last_fingerprint == fp:
        return done(SyncOutcome(spec.id, spec.flow_ref, "unchanged",
                                f"nothing new: {raw.table.num_rows:,} rows, as at the last applied pull",
                                load_id=last.last_load_id, rows=raw.table.num_rows))
    unfit: list[bool] = []

    def read(shape, report):
        incoming = map_rows(spec, raw, shape, report)
        if incoming is None and report.file_errors:
            unfit.append(True)  # the data's columns do not fit the mapping: no data came
        return incoming

    try:
        loaded = load_incoming(db, registry, request, read, settings)
    except LoadError as exc:
        return done(SyncOutcome(spec.id, spec.flow_ref, "failed", str(exc)))
    except Exception as exc:  # the apply failed and was rolled back; its record says so
        return done(SyncOutcome(spec.id, spec.flow_ref, "failed", f"the load failed: {type(exc).__name__}: {exc}"))
    lines = loaded.report.lines() + [f"warning: {w}" for w in loaded.report.warnings]
    where = raw.where
    if loaded.applied:
        result = loaded.result
        counts = f"{result.added:,} added, {result.changed:,} changed, {result.deleted:,} deleted, " \
                 f"{result.unchanged:,} unchanged" if result is not None else ""
        return done(SyncOutcome(spec.id, spec.flow_ref, "applied",
                                f"{loaded.report.rows_read:,} rows applied ({counts}), load #{loaded.record_id}",
                                loaded.record_id, loaded.report.rows_read, result, lines=lines, where=where))
    if loaded.status == "released":  # embargoed until a time that had already come: applied
        return done(SyncOutcome(spec.id, spec.flow_ref, "applied",
                                f"{loaded.report.rows_read:,} rows applied at their release time {spec.release_at} "
                                f"(load #{loaded.record_id})", loaded.record_id, loaded.report.rows_read,
                                lines=lines, where=where))
    if loaded.status == "pending":
        return done(SyncOutcome(spec.id, spec.flow_ref, "pending",
                                f"{loaded.report.rows_read:,} rows kept for release at {spec.release_at} "
                                f"(load #{loaded.record_id})", loaded.record_id, loaded.report.rows_read,
                                lines=lines, where=where))
    problems = loaded.report.lines()
    if unfit:
        # The data did not fit the mapping (missing or unexpected columns): a failed pull.
        _mark_failed(db, loaded.record_id)
        status, message = "failed", "; ".join(loaded.report.file_errors)
    else:
        status = "rejected"
        summary = loaded.report.summary().removeprefix("rejected: ")  # the status says it already
        message = summary + (f"; first: {problems[0]}" if problems else "")
    return done(SyncOutcome(spec.id, spec.flow_ref, status, f"{message} (load #{loaded.record_id})",
                            loaded.record_id, loaded.report.rows_read, lines=lines, where=where))


def _failed_pull(db, registry, spec, request, settings, message: str) -> SyncOutcome:
    """A pull that brought no data still gets its load record, failed, saying why."""

    def read(shape, report):
        report.file_error(f"{spec.path}: {message}")
        return None

    try:
        loaded = load_incoming(db, registry, request, read, settings)
    except LoadError as exc:
        return SyncOutcome(spec.id, spec.flow_ref, "failed", f"{message}; and {exc}")
    _mark_failed(db, loaded.record_id)
    return SyncOutcome(spec.id, spec.flow_ref, "failed", message, loaded.record_id)


def _mark_failed(db: Database, record_id: int) -> None:
    # load_incoming closes a load whose reading failed as rejected; for a source, no data came
    # at all, which the load statuses call failed.
    table = LoadRecord.__table__
    with db.engine.begin() as conn:
        conn.execute(table.update().where(table.c.id == record_id).values(status="failed"))


def sync_all(db: Database, registry: Registry, specs: list[SourceSpec], settings: Settings | None = None,
             environ: dict[str, str] | None = None) -> list[SyncOutcome]:
    """Each source in turn; one failing never stops the others."""
    return [sync_source(db, registry, spec, settings, environ) for spec in specs]


def last_load_status(db: Database, load_id: int) -> str | None:
    table = LoadRecord.__table__
    with db.engine.connect() as conn:
        return conn.execute(sa.select(table.c.status).where(table.c.id == load_id)).scalar()


def current_registry(db: Database) -> Registry:
    """The registry as stored now (a sync may run long after the server started)."""
    from sdmx_server.registry.store import read_all

    stored, generation = read_all(db)
    return Registry.build(stored, generation)
