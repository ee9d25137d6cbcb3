"""The `sdmx-server` command.

    sdmx-server serve [--host H] [--port P] [--workers N] [--demo] [--log-format json|text]
    sdmx-server check [PATH...]
    sdmx-server load-structures [--allow-missing-references] PATH...
    sdmx-server load-data 'AGENCY:ID(VERSION)' FILE [--action merge|replace|delete]
    sdmx-server demo-data [--out DIR] [--seed N]
    sdmx-server loads [--flow F] [--limit N] [--json]
    sdmx-server sync [SOURCE...]
    sdmx-server sources
    sdmx-server users add|list|remove|disable|enable ... / tokens create|revoke|list ...
    sdmx-server grant SUBJECT ACTION SCOPE [--where DIM=CODE[+CODE]]... / revoke ... / access list
    sdmx-server audit verify | list [--subject S] [--dataflow F] [--action A] [--since T] [--until T] [--json]
    sdmx-server export DIR / import DIR
    sdmx-server report usage [--from DATE|TIME] [--to DATE|TIME] [--top N] [--json]

The database is SDMX_DATABASE_URL (default: a SQLite file under ./var/).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sdmx_server.cli.commands import (
    cmd_check, cmd_demo_data, cmd_load_data, cmd_load_structures, cmd_loads, cmd_serve,
)
from sdmx_server.cli.access import access_parsers
from sdmx_server.cli import audit as audit_commands
from sdmx_server.cli import report as report_commands
from sdmx_server.cli import releases as release_commands
from sdmx_server.cli import backup as backup_commands
from sdmx_server.cli.common import REPO_ROOT, _registry, parse_flow, release_time
from sdmx_server.cli.demo import seed_demo
from sdmx_server.cli.sources import cmd_sources, cmd_sync
from sdmx_server.types import LOAD_ACTIONS, LOG_FORMATS

#: main, and what tests and benchmarks take from the command's modules.
__all__ = ["main", "REPO_ROOT", "_registry", "parse_flow", "seed_demo"]

def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    return _run_safely(args)


def _run_safely(args) -> int:
    """Run the command; whatever fails reaches the user as one line (with the load's record,
    when a load failed), never as a Python traceback."""
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("sdmx-server: interrupted", file=sys.stderr)
        return 130
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one clear line
        record = getattr(exc, "load_record", None)
        where = f" (load #{record}, marked failed)" if record is not None else ""
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"sdmx-server: {args.command} failed{where}: {type(exc).__name__}{': ' + text if text else ''}",
              file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sdmx-server", description="SDMX data and metadata server")
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--demo", action="store_true", help="load the demo structures and data when the store is empty")
    serve.add_argument("--no-scheduler", action="store_true", help="do not sync the sources of loaders/ on their schedules")
    serve.add_argument("--log-format", choices=LOG_FORMATS, default=None,
                       help="json: one JSON object per line (the default, SDMX_LOG_FORMAT); text: for a terminal")
    serve.set_defaults(run=cmd_serve)

    check = sub.add_parser("check", help="check authoring files (default: dsd codelists)")
    check.add_argument("paths", nargs="*", type=Path)
    check.set_defaults(run=cmd_check)

    structures = sub.add_parser(
        "load-structures", help="load authoring files and SDMX-ML / SDMX-JSON structure messages (all or nothing)"
    )
    structures.add_argument("paths", nargs="+", type=Path)
    structures.add_argument(
        "--allow-missing-references", action="store_true",
        help="record artefacts that the structures refer to but nobody loaded as external-reference stubs",
    )
    structures.set_defaults(run=cmd_load_structures)

    data = sub.add_parser("load-data", help="load a data file (SDMX-CSV, SDMX-ML, SDMX-JSON) into a dataflow")
    data.add_argument("flow", help="the dataflow, as AGENCY:ID(VERSION)")
    data.add_argument("file", type=Path)
    data.add_argument("--action", default="merge", choices=LOAD_ACTIONS,
                      help="for records without an action of their own (default: merge)")
    data.add_argument("--dry-run", action="store_true", help="validate and report; change nothing")
    data.add_argument("--json", action="store_true",
                      help="print the outcome and its validation report as JSON on stdout (see docs/loading.md)")
    data.add_argument("--release-at", type=release_time, default=None, metavar="TIME",
                      help="embargo: publish the values at this ISO 8601 time (UTC unless it says otherwise)")
    data.set_defaults(run=cmd_load_data)

    loads = sub.add_parser("loads", help="list the records of data loads, latest first")
    loads.add_argument("--flow", default=None, help="only this dataflow: AGENCY:ID(VERSION), or AGENCY:ID for any version")
    loads.add_argument("--limit", type=int, default=20, help="how many records (default 20)")
    loads.add_argument("--json", action="store_true", help="as JSON, with every count")
    loads.set_defaults(run=cmd_loads)

    demo = sub.add_parser("demo-data", help="write the seeded demo data files (SDMX-CSV)")
    demo.add_argument("--out", type=Path, default=Path("var/demo-data"))
    demo.add_argument("--seed", type=int, default=2026)
    demo.set_defaults(run=cmd_demo_data)
    _source_parsers(sub)
    access_parsers(sub)
    audit_commands.add_parsers(sub)
    report_commands.add_parsers(sub)
    release_commands.add_parsers(sub)
    backup_commands.add_parsers(sub)
    return parser


def _source_parsers(sub) -> None:
    where = "the folder of source files (default: SDMX_LOADERS_DIR, else ./loaders)"
    sync = sub.add_parser("sync", help="pull the sources of loaders/ (all, or those named) and load what is new")
    sync.add_argument("sources", nargs="*", help="source ids (default: every source)")
    sync.add_argument("--dir", type=Path, default=None, help=where)
    sync.set_defaults(run=cmd_sync)
    sources = sub.add_parser("sources", help="list the sources: dataflow, kind, schedule, last success and failure, next run")
    sources.add_argument("--dir", type=Path, default=None, help=where)
    sources.set_defaults(run=cmd_sources)
