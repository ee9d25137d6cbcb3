"""`sdmx-server export DIR`: the whole store into a folder (see ops/backup/__init__.py).

The manifest is written last, so a folder whose export failed half-way has none and no
import takes it. Run it while nothing loads: each table is read in one statement (a
consistent state of that table), but not all tables in one snapshot; the manifest names the
loads that were running, if any.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from sdmx_server.ops.backup import manifest as manifest_file
from sdmx_server.ops.backup.audit import FILE as AUDIT_FILE
from sdmx_server.ops.backup.audit import write_audit
from sdmx_server.ops.backup.data import flow_ref, write_flow
from sdmx_server.ops.backup.manifest import ExportError
from sdmx_server.ops.backup.rows import NOT_COPIED, table_specs, write_table
from sdmx_server.ops.backup.structures import write_structures
from sdmx_server.store.database import Database


def export_store(db: Database, directory: Path, sender: str = "SSO", progress=lambda text: None) -> dict:
    """Write the store into `directory` (new, or empty); the manifest."""
    from sdmx_server.registry.store import current_generation
    from sdmx_server.store.history import history_table_name
    from sdmx_server.store.records import LoadRecord
    from sdmx_server.store.series import series_table_name
    from sdmx_server.store.tables import FactTableRow

    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ExportError(f"{directory} exists and is not an empty folder: export writes into a new one")
    from sdmx_server.sources.state import ensure_state_tables

    ensure_state_tables(db)  # made by the first sync: a store that never synced lacks them
    (directory / "tables").mkdir(parents=True, exist_ok=True)
    (directory / "data").mkdir(exist_ok=True)
    counts: dict[str, int] = {}
    tables = []
    for spec in table_specs():
        rows = write_table(db, spec.table, directory / spec.file)
        tables.append({"table": spec.table.name, "path": spec.file, "rows": rows})
        counts[spec.file] = rows
    progress(f"{len(tables)} tables")
    audit_rows = write_audit(db, directory / AUDIT_FILE)
    tables.append({"table": "sdmx_audit", "path": AUDIT_FILE, "rows": audit_rows})
    counts[AUDIT_FILE] = audit_rows
    progress(f"audit log: {audit_rows} entries")

    structures = write_structures(db, directory, sender)
    counts["structures"] = len(structures)
    progress(f"{len(structures)} structures")

    with Session(db.engine) as session:
        facts = session.exec(select(FactTableRow).order_by(FactTableRow.pk)).all()
        running = [r.id for r in session.exec(select(LoadRecord).where(LoadRecord.status.in_(("running", "releasing"))))]
    present = set(sa.inspect(db.engine).get_table_names())
    dataflows, known = [], set()
    counts["observations"] = counts["history_rows"] = 0
    for fact in facts:
        ref = flow_ref(fact.flow_agency, fact.flow_id, fact.flow_version)
        known |= {fact.table_name, history_table_name(fact.table_name), series_table_name(fact.table_name)}
        if fact.table_name not in present:
            raise ExportError(f"dataflow {ref}: its fact table {fact.table_name} is recorded but missing")
        layout = json.loads(fact.layout)
        current, past = write_flow(db, fact.table_name, ref, layout, directory / "data")
        dataflows.append({"flow": ref, "table": fact.table_name, "layout": layout, "observations": current,
                          "history_rows": past,
                          "files": [f"data/{fact.table_name}.csv", f"data/{fact.table_name}.history.csv"]})
        counts["observations"] += current
        counts["history_rows"] += past
        progress(f"{ref}: {current} observations, {past} earlier versions")
    counts["dataflows"] = len(dataflows)

    copied = {spec.table.name for spec in table_specs()}
    not_exported = sorted(t for t in present - copied - known - NOT_COPIED if not t.startswith("sqlite_"))
    manifest = {
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "server_version": _version(),
        "database": "sqlite" if db.is_sqlite else "postgresql",
        "registry_generation": current_generation(db),
        "running_loads": running,
        "counts": counts,
        "structures": structures,
        "dataflows": dataflows,
        "tables": tables,
        "not_exported": not_exported,
    }
    manifest_file.write(directory, manifest)
    return manifest


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sdmx-server")
    except PackageNotFoundError:
        return "unknown"
