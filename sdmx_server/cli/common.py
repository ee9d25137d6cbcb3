"""What the commands share: dataflow references, the store and registry, one file's load."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from sdmx_server.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
_FLOW = re.compile(r"^(?P<agency>[A-Za-z][\w.\-]*)[:,](?P<id>[\w@$\-]+)(?:\((?P<v1>[\w.\-]+)\)|,(?P<v2>[\w.\-]+))?$")


def release_time(text: str):
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


def _database(settings: Settings):
    from sdmx_server.store.database import Database
    from sdmx_server.boot import create_schema

    db = Database(settings.database_url)
    create_schema(db)
    return db


def load_structures_audited(db, paths: list[Path], settings: Settings, **options):
    """`registry.load.load_structures`, with an audit entry per artefact it changed or refused
    (the command line's: whoever runs it on this machine)."""
    from sdmx_server.access import audited
    from sdmx_server.access.principal import COMMAND_LINE
    from sdmx_server.registry.load import load_structures

    outcome = load_structures(db, paths, settings, **options)
    # Errors found before any artefact was judged (unreadable files) are the submission's own;
    # after, each is an artefact's, in its own entry.
    errors = [] if outcome.results else outcome.errors
    audited.structure_changes(db, COMMAND_LINE, outcome.results, errors=errors, stubs=outcome.stubs, via="cli")
    if outcome.ok:
        load_calendar_audited(db, paths)
    return outcome


def load_calendar_audited(db, paths: list[Path]) -> bool:
    """The release calendars of the files loaded (`releases:`, ops/calendar_authoring.py), after
    their structures, audited; problems are printed and change nothing."""
    from sdmx_server.access import audit
    from sdmx_server.access.principal import COMMAND_LINE
    from sdmx_server.ops.calendar_authoring import load_release_files

    errors, removed, added = load_release_files(db, paths, "cli")
    for error in errors:
        print(error, file=sys.stderr)
    if errors:
        print(f"release calendar not loaded: {len(errors)} error(s)", file=sys.stderr)
    elif removed or added:
        audit.record(db, actor=COMMAND_LINE, action="calendar.replace", target="release calendar", outcome="ok",
                     details={"removed": removed, "added": added})
    return not errors


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
    from sdmx_server.registry.visibility import EVERYTHING

    found = _registry(db).select("dataflow", [agency], [flow_id], "latest", EVERYTHING)  # the CLI sees all
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
