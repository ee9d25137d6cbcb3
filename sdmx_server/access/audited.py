"""What the audit trail says of each kind of write: the one place that shapes entries for
loads, uploads, syncs, embargoed releases, structure changes and denied writes.

Callers pass what they have (a load's request and outcome, a change's per-artefact results);
this module names the action, the target and the outcome, and calls `audit.record`.

Actions: `data.load` (the command line), `data.upload` (HTTP), `data.sync` (a source),
`data.release` (an embargoed load published at its time), `structure.append`,
`structure.replace`, `structure.delete` (one entry per artefact, by URN), and whatever write
was refused, with outcome `denied`.
"""

from __future__ import annotations

import re

from sdmx_server.access.audit import record
from sdmx_server.access.principal import COMMAND_LINE, SYSTEM, Principal
from sdmx_server.store.database import Database

#: The action of a data load, by its origin (types.LoadOrigin).
LOAD_ACTIONS = {"cli": "data.load", "upload": "data.upload", "sync": "data.sync", "derived": "data.derive"}


def load(db: Database, request, outcome=None, error: BaseException | None = None,
         record_id: int | None = None) -> None:
    """One entry per load, at its end: its record, dataflow, origin, source, counts and status
    (`error`: the load stopped with it, and was rolled back)."""
    details = {"origin": request.origin, "source": request.source, "action": request.action,
               "dry_run": request.dry_run}
    if request.release_at is not None:
        details["release_at"] = request.release_at.isoformat()
    if outcome is not None:
        result = outcome.result
        details.update(load=outcome.record_id, format=outcome.format, rows=outcome.report.rows_read,
                       errors=outcome.report.error_count)
        if result is not None:
            details["counts"] = {k: getattr(result, k) for k in ("added", "changed", "deleted", "unchanged")}
        status = outcome.status
    else:
        status = "failed"
        details["error"] = f"{type(error).__name__}: {error}" if error is not None else "stopped"
        details["load"] = record_id
    record(db, actor=request.principal or COMMAND_LINE, action=LOAD_ACTIONS.get(request.origin, "data.load"),
           target=request.flow_ref, outcome=status, address=request.address, details=details)


def releases(db: Database, load_ids: list[int]) -> None:
    """Embargoed loads published at their time: the server's own doing (whoever sent them is
    in their own entry, and named here)."""
    if not load_ids:
        return
    import sqlalchemy as sa

    from sdmx_server.store.records import LoadRecord

    table = LoadRecord.__table__
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.id, table.c.flow, table.c.origin, table.c.source,
                                      table.c.submitted_by, table.c.status).where(table.c.id.in_(load_ids))).all()
    for row in sorted(rows):
        record(db, actor=SYSTEM, action="data.release", target=row.flow, outcome=row.status,
               details={"load": row.id, "origin": row.origin, "source": row.source, "submitted_by": row.submitted_by})


_STUB = re.compile(r"^(?P<kind>\w+) (?P<agency>[^:]+):(?P<id>[^(]+)\((?P<version>[^)]+)\)$")


def structure_changes(db: Database, actor: Principal, results, *, errors: list[str] = (), stubs: list[str] = (),
                      via: str, address: str | None = None) -> None:
    """One entry per artefact a structure change touched (registry/change.py's results):
    created, replaced or deleted, or refused and why; artefacts found unchanged are no
    change. `errors`: problems of the whole submission (nothing was read), one entry."""
    from sdmx_server.kinds import BY_NAME

    for result in results:
        if result.action == "Information":
            continue
        outcome = "ok" if result.status == "Success" else "rejected"
        record(db, actor=actor, action=f"structure.{result.action.lower()}", target=result.urn, outcome=outcome,
               address=address, details={"code": result.code, "message": result.message, "via": via})
    for stub in stubs:
        m = _STUB.match(stub)
        if m and m["kind"] in BY_NAME:
            urn = BY_NAME[m["kind"]].urn(m["agency"], m["id"], m["version"])
            record(db, actor=actor, action="structure.append", target=urn, outcome="ok", address=address,
                   details={"message": "recorded as an external-reference stub", "via": via})
    if errors:
        record(db, actor=actor, action="structure.submit", target="structures", outcome="rejected", address=address,
               details={"errors": list(errors)[:20], "via": via})


def denied(db: Database, actor: Principal, *, method: str, path: str, reason: str, status: int,
           address: str | None = None) -> None:
    """A write the server refused (403): who tried what, where."""
    record(db, actor=actor, action=_write_action(method, path), target=_write_target(path), outcome="denied",
           address=address, details={"method": method, "path": path, "status": status, "reason": reason})


_DATA_PATH = re.compile(r"^/rest/v2/data/dataflow/(?P<agency>[^/]+)/(?P<id>[^/]+)/(?P<version>[^/]+)/?$")
_STRUCTURE_PATH = re.compile(r"^/rest/v2/structure(?:/(?P<type>[^/]+)(?:/(?P<agency>[^/]+)/(?P<id>[^/]+)/"
                             r"(?P<version>[^/]+))?)?")
_STRUCTURE_ACTIONS = {"POST": "structure.append", "PUT": "structure.replace", "DELETE": "structure.delete"}


def _write_action(method: str, path: str) -> str:
    if _DATA_PATH.match(path):
        return "data.upload"
    if _STRUCTURE_PATH.match(path):
        return _STRUCTURE_ACTIONS.get(method, "structure.submit")
    return f"http.{method.lower()}"


def _write_target(path: str) -> str:
    """The dataflow or artefact a refused write aimed at, as entries of allowed ones name it."""
    m = _DATA_PATH.match(path)
    if m:
        return f"{m['agency']}:{m['id']}({m['version']})"
    m = _STRUCTURE_PATH.match(path)
    if m and m["version"]:
        from sdmx_server.kinds import BY_V2

        kind = BY_V2.get(m["type"])
        if kind is not None:
            return kind.urn(m["agency"], m["id"], m["version"])
    return path
