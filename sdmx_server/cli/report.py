"""The report commands.

    sdmx-server report quarterly --quarter 2026-Q3|1405-Q2 [--lang fa|en|both] [--out DIR]
    sdmx-server report usage [--from DATE|TIME] [--to DATE|TIME] [--top N] [--json]

`quarterly`: the quarterly report as HTML and PDF (ops/report/). `usage`: requests, bytes and
errors by dataflow, format, consumer, consumer type, status, surface and resource; latency
percentiles; the busiest client addresses of the last day (ops/usage_report.py, the same
answer as GET /admin/api/usage). Default range: the last 30 days; a date alone as --to
includes that day.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def add_parsers(sub) -> None:
    report = sub.add_parser("report", help="reports: the quarterly report (HTML and PDF), usage statistics")
    kinds = report.add_subparsers(dest="report", required=True)
    quarterly = kinds.add_parser("quarterly", help="the quarterly report of the official-statistics system")
    quarterly.add_argument("--quarter", required=True, help="2026-Q3 (Gregorian) or 1405-Q2 (Solar Hijri)")
    quarterly.add_argument("--lang", choices=("fa", "en", "both"), default="both")
    quarterly.add_argument("--out", type=Path, default=Path("."), help="the folder to write into (default: here)")
    quarterly.set_defaults(run=cmd_quarterly)
    usage = kinds.add_parser("usage", help="requests by dataflow, format, consumer, status; latency; addresses")
    usage.add_argument("--from", dest="start", metavar="DATE|TIME",
                       help="from this ISO 8601 date or time (UTC unless it says; default: 30 days before --to)")
    usage.add_argument("--to", dest="end", metavar="DATE|TIME", help="up to this date (included) or time (default: now)")
    usage.add_argument("--top", type=int, default=20, help="how many of the busiest client addresses (default 20)")
    usage.add_argument("--json", action="store_true", help="as JSON: every row of every breakdown")
    usage.set_defaults(run=cmd_report_usage)


def cmd_quarterly(args) -> int:
    from sdmx_server.cli.common import _database, _registry
    from sdmx_server.ops.report.facts import gather
    from sdmx_server.ops.report.html import render_html
    from sdmx_server.ops.report.pdf import render_pdf
    from sdmx_server.ops.report.plots import figures
    from sdmx_server.ops.report.quarters import parse_quarter
    from sdmx_server.settings import Settings

    try:
        quarter = parse_quarter(args.quarter)
    except ValueError as exc:
        print(f"sdmx-server report quarterly: {exc}", file=sys.stderr)
        return 2
    db = _database(Settings.from_env())
    facts = gather(db, _registry(db), quarter)
    args.out.mkdir(parents=True, exist_ok=True)
    for lang in (("fa", "en") if args.lang == "both" else (args.lang,)):
        drawn = figures(facts, lang)
        stem = args.out / f"quarterly-{quarter.label}-{lang}"
        stem.with_suffix(".html").write_text(render_html(facts, lang, drawn), encoding="utf-8")
        stem.with_suffix(".pdf").write_bytes(render_pdf(facts, lang, drawn))
        print(f"{stem}.html\n{stem}.pdf")
    return 0


def cmd_report_usage(args) -> int:
    from sdmx_server.cli.common import _database
    from sdmx_server.ops.usage_report import parse_range, text, usage_report
    from sdmx_server.settings import Settings

    try:
        start, end = parse_range(args.start, args.end)
    except ValueError as exc:
        print(f"sdmx-server report usage: {exc}", file=sys.stderr)
        return 2
    report = usage_report(_database(Settings.from_env()), start, end, max(args.top, 0))
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else text(report))
    return 0
