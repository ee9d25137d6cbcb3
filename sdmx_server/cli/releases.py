"""`sdmx-server releases`: the release calendar with each release's status (ops/calendar.py)."""

from __future__ import annotations

import json
import sys
from datetime import date


def add_parsers(sub) -> None:
    releases = sub.add_parser("releases", help="the release calendar: planned releases and whether they were on time")
    releases.add_argument("--dataflow", help="one dataflow, AGENCY:ID(VERSION)")
    releases.add_argument("--from", dest="start", type=date.fromisoformat, help="due on or after this day (YYYY-MM-DD)")
    releases.add_argument("--to", dest="end", type=date.fromisoformat, help="due on or before this day (YYYY-MM-DD)")
    releases.add_argument("--late", action="store_true", help="only releases late or missing")
    releases.add_argument("--json", action="store_true", help="as JSON")
    releases.set_defaults(run=cmd_releases)


def cmd_releases(args) -> int:
    from sdmx_server.cli.common import _database
    from sdmx_server.ops.calendar import releases
    from sdmx_server.settings import Settings

    db = _database(Settings.from_env())
    found = releases(db, [args.dataflow] if args.dataflow else None, args.start, args.end)
    if args.late:
        found = [r for r in found if r.status in ("late", "missing")]
    if args.json:
        json.dump([r.as_json() for r in found], sys.stdout, ensure_ascii=False, indent=1)
        print()
        return 0
    for r in found:
        published = f"  published {r.published_at:%Y-%m-%d %H:%M}Z (load #{r.load_id})" if r.published_at else ""
        print(f"{r.due}  {r.flow:<28} {r.period or '-':<8} {r.status:<8}{published}")
    print(f"{len(found)} release(s), {sum(r.status in ('late', 'missing') for r in found)} late", file=sys.stderr)
    return 0
