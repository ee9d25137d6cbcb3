"""The `sdmx-server` command.

    sdmx-server serve [--host H] [--port P] [--workers N] [--demo]
    sdmx-server check [PATH...]
    sdmx-server load-structures [--allow-missing-references] PATH...
    sdmx-server load-data 'AGENCY:ID(VERSION)' FILE [--action merge|replace|delete]
    sdmx-server demo-data [--out DIR] [--seed N]
    sdmx-server loads [--flow F] [--limit N] [--json]

The database is SDMX_DATABASE_URL (default: a SQLite file under ./var/).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from sdmx_server.settings import Settings
from sdmx_server.types import LOAD_ACTIONS

REPO_ROOT = Path(__file__).resolve().parent.parent
_FLOW = re.compile(r"^(?P<agency>[A-Za-z][\w.\-]*)[:,](?P<id>[\w@$\-]+)(?:\((?P<v1>[\w.\-]+)\)|,(?P<v2>[\w.\-]+))?$")


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
    data.add_argument("--release-at", type=_release_time, default=None, metavar="TIME",
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
    return parser


def _release_time(text: str):
    from datetime import datetime, timezone

    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time like 2026-12-24T08:00+03:30") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def parse_flow(text: str) -> tuple[str, str, str | None]:
    m = _FLOW.match(text.strip())
    if not m:
        raise SystemExit(f"sdmx-server: {text!r} is not a dataflow reference like 'SSO:DF_INSURED(1.0)'")
    return m["agency"], m["id"], m["v1"] or m["v2"]


# -- commands --------------------------------------------------------------------------------


def cmd_check(args) -> int:
    from sdmx_server.registry.authoring import find_authoring_files, read_authoring

    paths = args.paths or [p for p in (Path("dsd"), Path("codelists")) if p.exists()]
    if not paths:
        print("sdmx-server check: no dsd/ or codelists/ here; name the paths to check", file=sys.stderr)
        return 1
    result = read_authoring(paths)
    for error in result.errors:
        print(error)
    files = len(find_authoring_files(paths))
    print(
        f"checked {files} file(s): {len(result.artefacts)} artefact(s), {len(result.errors)} error(s)",
        file=sys.stderr,
    )
    return 1 if result.errors else 0


def cmd_load_structures(args) -> int:
    from sdmx_server.registry.load import load_structures

    settings = Settings.from_env()
    db = _database(settings)
    outcome = load_structures(db, args.paths, settings, allow_missing_references=args.allow_missing_references)
    for error in outcome.errors:
        print(error)
    if not outcome.ok:
        print(f"nothing loaded: {len(outcome.errors)} error(s)", file=sys.stderr)
        return 1
    for ref in outcome.loaded:
        print(f"loaded {ref}")
    for ref in outcome.unchanged:
        print(f"unchanged {ref}")
    for ref in outcome.stubs:
        print(f"recorded {ref} as an external-reference stub")
    summary = f"{len(outcome.loaded)} artefact(s) loaded"
    if outcome.unchanged:
        summary += f", {len(outcome.unchanged)} unchanged"
    if outcome.stubs:
        summary += f", {len(outcome.stubs)} stub(s) for missing references"
    print(summary, file=sys.stderr)
    return 0


def cmd_load_data(args) -> int:
    settings = Settings.from_env()
    db = _database(settings)
    flow = _resolve_flow(db, parse_flow(args.flow))
    options = {"dry_run": args.dry_run, "release_at": args.release_at}
    return 0 if _load_one(db, flow, args.file, args.action, settings, as_json=args.json, **options) else 1


def cmd_loads(args) -> int:
    """The load records: who loaded what, when, with what outcome and counts."""
    import json

    from sdmx_server.store.records import list_records, record_summary

    flow = parse_flow(args.flow) if args.flow is not None else None
    db = _database(Settings.from_env())
    records = [record_summary(r) for r in list_records(db, flow, max(args.limit, 0))]
    if args.json:
        print(json.dumps(records, indent=2, ensure_ascii=False))
        return 0
    if not records:
        print("no loads recorded" + (f" for {args.flow}" if args.flow else ""), file=sys.stderr)
        return 0
    header = ("id", "when (UTC)", "flow", "origin", "source", "action", "status", "added", "changed", "deleted",
              "unchanged", "errors", "seconds")
    rows = [header] + [(
        str(r["id"]), (r["started_at"] or "")[:19].replace("T", " "), r["flow"], r["origin"], _short(r["source"]),
        r["action"], r["status"], f"{r['added']:,}", f"{r['changed']:,}", f"{r['deleted']:,}", f"{r['unchanged']:,}",
        f"{r['errors']:,}", "" if r["seconds"] is None else f"{r['seconds']:.1f}",
    ) for r in records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    numeric = {0, 7, 8, 9, 10, 11, 12}
    for row in rows:
        print("  ".join(v.rjust(w) if i in numeric else v.ljust(w) for i, (v, w) in enumerate(zip(row, widths))).rstrip())
    return 0


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1):]


def cmd_demo_data(args) -> int:
    from sdmx_server.demo.generator import write_demo_data

    started = time.perf_counter()
    files = write_demo_data(args.out, seed=args.seed)
    for f in files:
        print(f"{f.path}  {f.flow}  {f.observations:,} observations")
    total = sum(f.observations for f in files)
    print(f"{total:,} observations in {len(files)} files, {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def cmd_serve(args) -> int:
    import uvicorn

    settings = Settings.from_env()
    if args.demo:
        seed_demo(settings)
    base = f"http://{args.host}:{args.port}"
    print(f"SDMX REST API (v1, SDMX 2.1): {base}/rest/  e.g. {base}/rest/dataflow", flush=True)
    uvicorn.run(
        "sdmx_server.api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
    )
    return 0


# -- helpers ---------------------------------------------------------------------------------


def seed_demo(settings: Settings) -> None:
    """Load the demo structures and data into an empty store (a store with structures is left alone)."""
    from sdmx_server.demo.generator import write_demo_data
    from sdmx_server.registry.load import load_structures
    from sdmx_server.registry.store import read_all

    db = _database(settings)
    stored, _ = read_all(db)
    if stored:
        print("the store already holds structures: demo content not loaded again", file=sys.stderr)
        return
    content = [REPO_ROOT / "codelists", REPO_ROOT / "dsd"]
    print("first start: loading the demo structures ...", file=sys.stderr, flush=True)
    outcome = load_structures(db, content, settings)
    if not outcome.ok:
        for error in outcome.errors:
            print(error, file=sys.stderr)
        raise SystemExit("the demo structures do not load; see above")
    for demo_file in write_demo_data(settings.data_dir / "demo-data"):
        flow = parse_flow(demo_file.flow)
        if not _load_one(db, flow, demo_file.path, "merge", settings):
            raise SystemExit(f"the demo data for {demo_file.flow} do not load; see above")


def _database(settings: Settings):
    from sdmx_server.store.database import Database
    from sdmx_server.boot import create_schema

    db = Database(settings.database_url)
    create_schema(db)
    return db


def _registry(db):
    from sdmx_server.registry.index import Registry
    from sdmx_server.registry.store import read_all

    stored, generation = read_all(db)
    return Registry.build(stored, generation)


def _resolve_flow(db, flow: tuple[str, str, str | None]) -> tuple[str, str, str]:
    agency, flow_id, version = flow
    if version is not None:
        return agency, flow_id, version
    from sdmx_server.registry.index import artefact_key

    found = _registry(db).select("dataflow", [agency], [flow_id], "latest", include_internal=True)
    if not found:
        raise SystemExit(f"sdmx-server: dataflow {agency}:{flow_id} is not loaded")
    return artefact_key(found[0])


def _load_one(db, flow: tuple[str, str, str], path: Path, action: str, settings: Settings, as_json: bool = False,
              **options) -> bool:
    """One file through the load pipeline, with a progress bar on a terminal, the report's
    lines and a closing summary (or, with as_json, the outcome as JSON on stdout)."""
    import json

    from sdmx_server.ingest.console import ConsoleProgress, print_outcome
    from sdmx_server.ingest.load import LoadError, load_data

    try:
        with ConsoleProgress(str(path)) as progress:
            outcome = load_data(db, _registry(db), flow, path, action, settings, progress=progress, **options)
    except LoadError as exc:
        if as_json:
            print(json.dumps({"load": None, "status": "refused", "error": str(exc)}, indent=2))
        print(f"sdmx-server: {exc}", file=sys.stderr)
        return False
    if as_json:
        print(json.dumps(outcome.as_json(), indent=2))
        print(summary_line(outcome, action, path), file=sys.stderr)
    else:
        print_outcome(outcome, action, str(path), sys.stdout, sys.stderr)
    return outcome.accepted


def summary_line(outcome, action: str, path) -> str:
    from sdmx_server.ingest.console import summary

    return summary(outcome, action, str(path))


if __name__ == "__main__":
    sys.exit(main())
