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
