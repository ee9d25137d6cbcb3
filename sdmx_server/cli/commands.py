"""The commands on structures and data: check, load-structures, load-data, loads, demo-data, serve."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sdmx_server.cli.common import _database, _load_one, _resolve_flow, load_structures_audited, parse_flow
from sdmx_server.cli.sources import check_sources, start_scheduler
from sdmx_server.settings import Settings


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
    if result is not None:
        from sdmx_server.ops.calendar_authoring import read_releases
        from sdmx_server.registry.index import artefact_key

        flows = [artefact_key(a) for a in result.artefacts if type(a).__name__ == "DataflowDefinition"
                 or type(a).__name__ == "Dataflow"]
        errors += read_releases(paths, flows).errors
    for error in errors:
        print(error)
    if result is not None:
        files = len(find_authoring_files(paths))
        print(f"checked {files} file(s): {len(result.artefacts)} artefact(s), {len(errors)} error(s)", file=sys.stderr)
    return 1 if errors or check_sources(loaders, result.artefacts if result else []) else 0


def cmd_load_structures(args) -> int:
    settings = Settings.from_env()
    db = _database(settings)
    outcome = load_structures_audited(db, args.paths, settings, allow_missing_references=args.allow_missing_references)
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
    import logging.config

    import uvicorn

    from sdmx_server.ops import metrics
    from sdmx_server.ops.logs import log_config

    settings = Settings.from_env()
    logging_config = log_config(args.log_format or settings.log_format)
    logging.config.dictConfig(logging_config)  # this process (the scheduler, the banner); uvicorn's workers too below
    say = logging.getLogger("sdmx_server.serve").info
    # Before any worker starts (and before prometheus_client is imported): every process of
    # this server counts into files of one fresh directory, which /metrics adds up.
    metrics_dir = metrics.prepare_multiprocess(settings.data_dir)
    if args.demo:
        from sdmx_server.cli.demo import seed_demo

        seed_demo(settings)
    base = f"http://{args.host}:{args.port}"
    scheduler = None if args.no_scheduler else start_scheduler(settings, base, demo=args.demo)
    say(f"SDMX REST API (v1, SDMX 2.1): {base}/rest/  e.g. {base}/rest/dataflow")
    say(f"SDMX REST API (v2, SDMX 3.0): {base}/rest/v2/  e.g. {base}/rest/v2/structure/dataflow")
    say(f"Portal: {base}/ (Persian)  {base}/en/ (English)")
    say(f"Health: {base}/health  {base}/ready  Metrics: {base}/metrics")
    try:
        uvicorn.run(
            "sdmx_server.api.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level="info",
            # Applied in every worker (ops/logs.py); one access line per request comes from
            # api/observe.py, with the request id, instead of uvicorn's.
            log_config=logging_config,
            access_log=False,
            # Head size, head time and body idle limits on every connection (api/protocol.py).
            http="sdmx_server.api.protocol:GuardedHttpToolsProtocol",
            h11_max_incomplete_event_size=settings.max_header_bytes,  # should h11 ever be chosen
        )
    finally:
        if scheduler is not None:
            scheduler.stop()
        metrics.finish_multiprocess(metrics_dir)
    return 0
