"""`sdmx-server report quarterly --quarter 2026-Q3|1405-Q2 [--lang fa|en|both] [--out DIR]`:
the quarterly report as HTML and PDF (ops/report/)."""

from __future__ import annotations

import sys
from pathlib import Path


def add_parsers(sub) -> None:
    report = sub.add_parser("report", help="reports: the quarterly report (HTML and PDF)")
    kinds = report.add_subparsers(dest="report", required=True)
    quarterly = kinds.add_parser("quarterly", help="the quarterly report of the official-statistics system")
    quarterly.add_argument("--quarter", required=True, help="2026-Q3 (Gregorian) or 1405-Q2 (Solar Hijri)")
    quarterly.add_argument("--lang", choices=("fa", "en", "both"), default="both")
    quarterly.add_argument("--out", type=Path, default=Path("."), help="the folder to write into (default: here)")
    quarterly.set_defaults(run=cmd_quarterly)


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
