"""The report commands.

    sdmx-server report usage [--from DATE|TIME] [--to DATE|TIME] [--top N] [--json]

`usage`: requests, bytes and errors by dataflow, format, consumer, consumer type, status,
surface and resource; latency percentiles; the busiest client addresses of the last day
(ops/usage_report.py, the same answer as GET /admin/api/usage). Default range: the last 30
days. A date alone as --to includes that day.
"""

from __future__ import annotations

import json
import sys

from sdmx_server.cli.common import _database
from sdmx_server.settings import Settings


def add_parsers(sub) -> None:
    report = sub.add_parser("report", help="reports: usage statistics")
    verbs = report.add_subparsers(dest="verb", required=True)
    usage = verbs.add_parser("usage", help="requests by dataflow, format, consumer, status; latency; addresses")
    usage.add_argument("--from", dest="start", metavar="DATE|TIME",
                       help="from this ISO 8601 date or time (UTC unless it says; default: 30 days before --to)")
    usage.add_argument("--to", dest="end", metavar="DATE|TIME", help="up to this date (included) or time (default: now)")
    usage.add_argument("--top", type=int, default=20, help="how many of the busiest client addresses (default 20)")
    usage.add_argument("--json", action="store_true", help="as JSON: every row of every breakdown")
    usage.set_defaults(run=cmd_report_usage)


def cmd_report_usage(args) -> int:
    from sdmx_server.ops.usage_report import parse_range, text, usage_report

    try:
        start, end = parse_range(args.start, args.end)
    except ValueError as exc:
        print(f"sdmx-server: report usage: {exc}", file=sys.stderr)
        return 2
    report = usage_report(_database(Settings.from_env()), start, end, max(args.top, 0))
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else text(report))
    return 0
