"""`sdmx-server import DIR`: an export (ops/backup/export.py) into an empty database.

Order: the manifest and every file's checksum first (nothing is touched when one fails); the
database's tables made (boot.py) and found empty, else a refusal naming what it holds; then
the registry, load records, fact table records, embargoed loads, users, tokens, grants and
source states; the audit log with its chain head; each dataflow's observations and history
(one transaction per dataflow, with its series table and a new data stamp); the chain
verified; and the import itself recorded in the audit log, as every write is.

The restore is not one transaction (observations go through ADBC, the rest through
SQLAlchemy): an import that fails half-way leaves a partly filled database, which a second
import refuses. Drop it, make it again, and import again.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from sdmx_server.ops.backup import manifest as manifest_file
from sdmx_server.ops.backup.audit import FILE as AUDIT_FILE
from sdmx_server.ops.backup.audit import restore_audit
from sdmx_server.ops.backup.data import restore_flow
from sdmx_server.ops.backup.manifest import ExportError
from sdmx_server.ops.backup.rows import restore_table, row_count, table_specs
from sdmx_server.store.database import Database


class NotEmpty(ExportError):
    """The target database already holds something."""


def import_store(db: Database, directory: Path, progress=lambda text: None) -> dict:
    """Restore the export in `directory` into `db`; the manifest."""
    from sdmx_server.access import audit, audit_log
    from sdmx_server.access.principal import COMMAND_LINE
    from sdmx_server.boot import create_schema

    manifest = manifest_file.verify(directory)
    for flow in manifest.get("dataflows") or []:  # before anything is written
        manifest_file.check_table_name(flow.get("table"))
    progress(f"{len(manifest['files'])} files match their checksums")
    from sdmx_server.sources.state import ensure_state_tables

    create_schema(db)
    ensure_state_tables(db)
    refuse_unless_empty(db)

    expected = {t["path"]: t["rows"] for t in manifest["tables"]}
    for spec in table_specs():
        if spec.file not in expected:
            raise ExportError(f"the export has no {spec.file}")
        rows = restore_table(db, spec, directory / spec.file)
        _check(spec.file, rows, expected[spec.file])
    progress(f"{len(table_specs())} tables")
    entries = restore_audit(db, directory / AUDIT_FILE)
    _check(AUDIT_FILE, entries, expected[AUDIT_FILE])
    progress(f"audit log: {entries} entries")

    for flow in manifest["dataflows"]:
        current, past = restore_flow(db, flow["table"], flow["flow"], flow["layout"], directory / "data")
        _check(f"{flow['flow']} observations", current, flow["observations"])
        _check(f"{flow['flow']} earlier versions", past, flow["history_rows"])
        progress(f"{flow['flow']}: {current} observations, {past} earlier versions")

    check = audit_log.check_chain(db)
    if not check.intact:
        raise ExportError(f"the restored audit chain is broken at {check.broken}")
    audit.record(db, actor=COMMAND_LINE, action="ops.import", target=str(directory), outcome="ok",
                 details={"exported_at": manifest.get("created_at"), "counts": manifest.get("counts"),
                          "source_database": manifest.get("database")})
    return manifest


def _check(what: str, got: int, expected: int) -> None:
    if got != expected:
        raise ExportError(f"{what}: restored {got} rows, the manifest says {expected}")


def refuse_unless_empty(db: Database) -> None:
    """NotEmpty naming what the database holds, unless it holds nothing an import would
    restore (its tables may exist: a server that started once on it made them)."""
    from sdmx_server.access.audit import AuditEntry

    held = []
    for spec in table_specs():
        if spec.singleton:
            continue
        count = row_count(db, spec.table)
        if count:
            held.append(f"{count} rows in {spec.table.name}")
    count = row_count(db, AuditEntry.__table__)
    if count:
        held.append(f"{count} audit entries")
    facts = [t for t in sa.inspect(db.engine).get_table_names() if t.startswith("obs_")]
    if facts:
        held.append(f"{len(facts)} observation tables")
    if held:
        raise NotEmpty(f"the target database is not empty ({', '.join(held)}): import restores only into an empty "
                       "database; make a new one and import into that")
