"""The `sdmx-server` command.

    sdmx-server serve [--host H] [--port P] [--workers N] [--demo]
    sdmx-server check [PATH...]
    sdmx-server load-structures [--allow-missing-references] PATH...
    sdmx-server load-data 'AGENCY:ID(VERSION)' FILE [--action merge|replace|delete]
    sdmx-server demo-data [--out DIR] [--seed N]
    sdmx-server loads [--flow F] [--limit N] [--json]
    sdmx-server sync [SOURCE...]
    sdmx-server sources

The database is SDMX_DATABASE_URL (default: a SQLite file under ./var/).
"""

from __future__ import annotations

import argparse
import os
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
    serve.add_argument("--no-scheduler", action="store_true", help="do not sync the sources of loaders/ on their schedules")
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
    _source_parsers(sub)
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

    paths = args.paths or [p for p in (Path("dsd"), Path("codelists"), Path("loaders")) if p.exists()]
    if not paths:
        print("sdmx-server check: no dsd/ or codelists/ here; name the paths to check", file=sys.stderr)
        return 1
    # loaders/ holds source files, not structures: they are checked as sources.
    loaders = [p for p in paths if p.is_dir() and p.resolve().name == "loaders"]
    paths = [p for p in paths if p not in loaders]
    result = read_authoring(paths) if paths else None
    errors = list(result.errors) if result else []
    for error in errors:
        print(error)
    if result is not None:
        files = len(find_authoring_files(paths))
        print(f"checked {files} file(s): {len(result.artefacts)} artefact(s), {len(errors)} error(s)", file=sys.stderr)
    return 1 if errors or _check_sources(loaders, result.artefacts if result else []) else 0


def _check_sources(folders: list[Path], artefacts) -> int:
    """Check the source files of loaders/ folders, and their targets against the DSDs among
    `artefacts`; the number of errors."""
    from sdmx_server.sources.mapping import check_against_structures
    from sdmx_server.sources.spec import read_sources

    count = 0
    for folder in folders:
        specs, errors = read_sources(folder)
        problems = [str(e) for e in errors] + [p for spec in specs for p in check_against_structures(spec, artefacts)]
        for problem in problems:
            print(problem)
        errors = problems
        count += len(errors)
        print(f"checked {folder}: {len(specs)} source(s), {len(errors)} error(s)", file=sys.stderr)
    return count


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
    scheduler = None if args.no_scheduler else _start_scheduler(settings, base, demo=args.demo)
    print(f"SDMX REST API (v1, SDMX 2.1): {base}/rest/  e.g. {base}/rest/dataflow", flush=True)
    try:
        uvicorn.run(
            "sdmx_server.api.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level="info",
        )
    finally:
        if scheduler is not None:
            scheduler.stop()
    return 0


def _start_scheduler(settings: Settings, base: str, demo: bool = False):
    """The sources' scheduler, in this (the serving or supervising) process only: worker
    processes never start one, and a database lease keeps two servers from both running it."""
    import logging

    from sdmx_server.sources import sources_dir
    from sdmx_server.sources.schedule import Scheduler
    from sdmx_server.sources.spec import find_source_files

    folder = sources_dir()
    if demo and "SDMX_LOADERS_DIR" not in os.environ:
        folder = REPO_ROOT / "loaders"  # the demo's sources, wherever serve was started from
    if not find_source_files(folder):
        return None
    # Source URLs may name SDMX_DATA_DIR (the demo's unit database lives there).
    os.environ.setdefault("SDMX_DATA_DIR", str(settings.data_dir))
    logger = logging.getLogger("sdmx_server.sources")
    logger.setLevel(logging.INFO)
    if not logger.handlers:  # each sync as one line beside uvicorn's own
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    print(f"syncing the sources of {folder} on their schedules (`sdmx-server sources` lists them)", flush=True)
    return Scheduler(settings, folder).start(after=f"{base}/rest/")


def cmd_sync(args) -> int:
    from sdmx_server.sources import sources_dir
    from sdmx_server.sources.spec import read_sources
    from sdmx_server.sources.sync import current_registry, sync_source

    settings = Settings.from_env()
    folder = args.dir or sources_dir()
    specs, errors = read_sources(folder)
    for error in errors:
        print(error, file=sys.stderr)
    if args.sources:
        unknown = [s for s in args.sources if s not in {spec.id for spec in specs}]
        for name in unknown:
            print(f"sdmx-server sync: no source {name!r} in {folder} (sources: "
                  f"{', '.join(spec.id for spec in specs) or 'none'})", file=sys.stderr)
        specs = [spec for spec in specs if spec.id in args.sources]
        if unknown:
            return 1
    if not specs and not errors:
        print(f"sdmx-server sync: no source files in {folder}", file=sys.stderr)
        return 1
    db = _database(settings)
    failed = bool(errors)
    for spec in specs:
        try:
            outcome = sync_source(db, current_registry(db), spec, settings)
        except Exception as exc:  # the store itself failed (gone, full): say so, go on with the next
            print(f"{spec.id}: failed: {type(exc).__name__}: {exc}")
            failed = True
            continue
        where = f"{spec.path} ({outcome.where})" if outcome.where else str(spec.path)
        for line in outcome.lines:
            print(f"{where}: {line}", file=sys.stderr)
        print(f"{spec.id}: {outcome.status}: {outcome.message} [{outcome.seconds:.1f} s]")
        failed = failed or not outcome.ok
    return 1 if failed else 0


def cmd_sources(args) -> int:
    from sdmx_server.sources import sources_dir
    from sdmx_server.sources.schedule import next_run
    from sdmx_server.sources.spec import read_sources
    from sdmx_server.sources.state import all_states, ensure_state_tables, utcnow

    settings = Settings.from_env()
    folder = args.dir or sources_dir()
    specs, errors = read_sources(folder)
    for error in errors:
        print(error, file=sys.stderr)
    db = _database(settings)
    ensure_state_tables(db)
    states = all_states(db)
    now = utcnow()

    def when(t) -> str:
        return t.strftime("%Y-%m-%d %H:%M:%S UTC") if t is not None else "never"

    for spec in specs:
        state = states.get(spec.id)
        due = next_run(spec.schedule, state, now)
        print(f"{spec.id}  {spec.flow_ref}  {spec.kind}  "
              f"{spec.schedule.describe() if spec.schedule else 'by hand (sdmx-server sync)'}")
        success = when(state.last_success if state else None)
        if state is not None and state.last_outcome == "unchanged":
            success += " (nothing new)"
        print(f"    last success: {success}")
        failure = when(state.last_failure if state else None)
        if state is not None and state.last_failure is not None:
            failure += f": {state.last_failure_message.splitlines()[0] if state.last_failure_message else ''}"
        print(f"    last failure: {failure}")
        print(f"    next run:     {'now' if due is not None and due <= now else when(due) if due else '-'}")
    if not specs:
        print(f"no sources in {folder}", file=sys.stderr)
    return 1 if errors else 0


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
    _seed_embargoed_release(db, settings)
    _seed_demo_sources(db, settings)


#: The demo's embargoed release: the final figures of the dashboard's last quarter, published
#: this many days after the demo store is made (demo README: "one release is embargoed until a
#: future date").
DEMO_EMBARGO_DAYS = 30


def _seed_embargoed_release(db, settings: Settings) -> None:
    """The final figures of DF_KPI's last quarter (published provisional; 2 % higher, status
    A), validated now and kept pending until DEMO_EMBARGO_DAYS from now (store/embargo.py)."""
    from datetime import datetime, timedelta, timezone

    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv as pacsv

    source = settings.data_dir / "demo-data" / "DF_KPI.csv"
    table = pacsv.read_csv(source, convert_options=pacsv.ConvertOptions(strings_can_be_null=False))
    periods = table.column("TIME_PERIOD")
    last = pc.max(periods).as_py()
    table = table.filter(pc.equal(periods, last))
    table = table.set_column(table.schema.get_field_index("OBS_VALUE"), "OBS_VALUE",
                             pc.round(pc.multiply(table.column("OBS_VALUE"), 1.02), 2))
    table = table.set_column(table.schema.get_field_index("OBS_STATUS"), "OBS_STATUS",
                             pa.array(["A"] * table.num_rows))
    path = settings.data_dir / "demo-data" / "DF_KPI_embargoed.csv"
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))
    release_at = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=DEMO_EMBARGO_DAYS)
    if not _load_one(db, parse_flow("SSO:DF_KPI(1.0)"), path, "merge", settings, release_at=release_at):
        raise SystemExit("the demo's embargoed release does not load; see above")


    _seed_demo_sources(db, settings)


def _seed_demo_sources(db, settings: Settings) -> None:
    """The demo's sources: the Isfahan office's database (a SQLite stand-in) written, and every
    source of loaders/ synced once, as the scheduler will go on doing."""
    from sdmx_server.demo.units import write_unit_database
    from sdmx_server.sources.spec import read_sources
    from sdmx_server.sources.sync import current_registry, sync_source

    write_unit_database(settings.data_dir / "units" / "isfahan.db")
    specs, errors = read_sources(REPO_ROOT / "loaders")
    for error in errors:
        print(error, file=sys.stderr)
    environ = {"SDMX_DATA_DIR": str(settings.data_dir), **os.environ}
    for spec in specs:
        outcome = sync_source(db, current_registry(db), spec, settings, environ)
        print(f"source {spec.id}: {outcome.status}: {outcome.message}", file=sys.stderr)
        for line in outcome.lines[:20]:
            print(f"{spec.path}: {line}", file=sys.stderr)


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
