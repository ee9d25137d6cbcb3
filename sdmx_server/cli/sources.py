"""The commands of the sources of loaders/: sync, sources, their check, and serve's scheduler."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from sdmx_server.cli.common import REPO_ROOT, _database
from sdmx_server.settings import Settings


def check_sources(folders: list[Path], artefacts) -> int:
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


def start_scheduler(settings: Settings, base: str, demo: bool = False):
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
    if not logger.handlers and not logging.getLogger().handlers:  # serve's log (ops/logs.py) takes them else
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    print(f"syncing the sources of {folder} on their schedules (`sdmx-server sources` lists them)", flush=True)
    # Any answer will do; this one is small and, unlike /rest/, no 404 in the access log.
    return Scheduler(settings, folder).start(after=f"{base}/rest/dataflow/all/all/latest?detail=allstubs")


def cmd_sync(args) -> int:
    from sdmx_server.ingest.console import ConsoleProgress
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
            with ConsoleProgress(spec.id) as progress:  # drawn only when stderr is a terminal
                outcome = sync_source(db, current_registry(db), spec, settings, progress=progress)
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
