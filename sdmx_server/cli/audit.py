"""The audit commands: check the chain, list entries.

    sdmx-server audit verify
    sdmx-server audit list [--subject S] [--dataflow F] [--action A] [--since T] [--until T] [--limit N] [--json]

`verify` exits 0 with "N entries, chain intact", or 1 naming the first broken entry and why.
"""

from __future__ import annotations

import argparse
import json
import sys

from sdmx_server.cli.common import _database, parse_flow
from sdmx_server.settings import Settings


def add_parsers(sub) -> None:
    audit = sub.add_parser("audit", help="the audit trail of every write: verify its chain, list entries")
    verbs = audit.add_subparsers(dest="verb", required=True)
    verify = verbs.add_parser("verify", help="check the hash chain; exit 1 naming the first broken entry")
    verify.set_defaults(run=cmd_audit_verify)
    listing = verbs.add_parser("list", help="entries, latest first")
    listing.add_argument("--subject", help="who acted: user:NAME, anonymous, cli or system")
    listing.add_argument("--dataflow", type=_flow, help="AGENCY:ID(VERSION), or AGENCY:ID for every version")
    listing.add_argument("--action", help="e.g. data.upload, or a prefix such as data.* or structure.")
    listing.add_argument("--since", type=_time, metavar="TIME", help="from this ISO 8601 time (UTC unless it says)")
    listing.add_argument("--until", type=_time, metavar="TIME", help="up to this time")
    listing.add_argument("--limit", type=int, default=50, help="how many entries (default 50)")
    listing.add_argument("--json", action="store_true", help="as JSON, every field and the details")
    listing.set_defaults(run=cmd_audit_list)


def _time(text: str):
    from sdmx_server.access.audit_log import parse_time

    try:
        return parse_time(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time like 2026-12-01T08:00+03:30") from None


def _flow(text: str) -> str:
    agency, flow_id, version = parse_flow(text)
    return f"{agency}:{flow_id}" + (f"({version})" if version else "")


def cmd_audit_verify(args) -> int:
    from sdmx_server.access.audit_log import check_chain

    check = check_chain(_database(Settings.from_env()))
    if check.intact:
        print(f"{check.entries} entries, chain intact")
        return 0
    print(f"audit chain broken at {check.broken} ({check.entries} entries intact before it)", file=sys.stderr)
    return 1


def cmd_audit_list(args) -> int:
    from sdmx_server.access.audit_log import entries, entry_json

    found = entries(_database(Settings.from_env()), subject=args.subject, dataflow=args.dataflow,
                    action=args.action, since=args.since, until=args.until, limit=max(args.limit, 0))
    if args.json:
        print(json.dumps([entry_json(e) for e in found], indent=2, ensure_ascii=False))
        return 0
    if not found:
        print("no audit entries", file=sys.stderr)
        return 0
    header = ("id", "when (UTC)", "actor", "address", "action", "target", "outcome")
    rows = [header] + [(str(e["id"]), e["at"][:19].replace("T", " "), e["actor"], e["address"] or "", e["action"],
                        e["target"], e["outcome"]) for e in map(entry_json, found)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(v.rjust(w) if i == 0 else v.ljust(w) for i, (v, w) in enumerate(zip(row, widths))).rstrip())
    return 0
