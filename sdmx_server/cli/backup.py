"""The export and import commands (ops/backup).

    sdmx-server export DIR
    sdmx-server import DIR

Both use SDMX_DATABASE_URL. `import` refuses a database that holds anything (exit 1, saying
what it holds) and an export whose files do not match their manifest (exit 1, naming them).
"""

from __future__ import annotations

import sys
from pathlib import Path

from sdmx_server.settings import Settings


def add_parsers(sub) -> None:
    export = sub.add_parser("export", help="write every structure, dataflow (with history), user, grant, token "
                                           "hash, load record and the audit log into a new folder")
    export.add_argument("directory", type=Path, metavar="DIR", help="a new (or empty) folder")
    export.set_defaults(run=cmd_export)
    restore = sub.add_parser("import", help="restore an export into an empty database (checksums verified first)")
    restore.add_argument("directory", type=Path, metavar="DIR", help="a folder written by `export`")
    restore.set_defaults(run=cmd_import)


def _say(text: str) -> None:
    print(text, file=sys.stderr)


def cmd_export(args) -> int:
    from sdmx_server.boot import create_schema
    from sdmx_server.ops.backup import ExportError, export_store
    from sdmx_server.store.database import Database

    db = Database(Settings.from_env().database_url)
    try:
        create_schema(db)
        manifest = export_store(db, args.directory, progress=_say)
    except ExportError as exc:
        print(f"sdmx-server: export refused: {exc}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    counts = manifest["counts"]
    if manifest["running_loads"]:
        _say(f"warning: loads were running during the export: {manifest['running_loads']}")
    if manifest["not_exported"]:
        _say(f"warning: tables this server version does not export: {', '.join(manifest['not_exported'])}")
    print(f"exported {counts['structures']} structures, {counts['dataflows']} dataflows "
          f"({counts['observations']} observations, {counts['history_rows']} earlier versions) to {args.directory}")
    return 0


def cmd_import(args) -> int:
    from sdmx_server.ops.backup import ExportError, import_store
    from sdmx_server.store.database import Database

    db = Database(Settings.from_env().database_url)
    try:
        manifest = import_store(db, args.directory, progress=_say)
    except ExportError as exc:
        print(f"sdmx-server: import refused: {exc}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    counts = manifest["counts"]
    print(f"imported {counts['structures']} structures, {counts['dataflows']} dataflows "
          f"({counts['observations']} observations, {counts['history_rows']} earlier versions) from {args.directory}")
    return 0
