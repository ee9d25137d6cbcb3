"""What usage statistics answer: one report of a time range, as JSON-ready dicts, for
`sdmx-server report usage` (cli/report.py) and `GET /admin/api/usage` (api/admin_usage.py).

The stored rows are per quarter hour (ops/usage_tables.py), so a range is taken in whole
quarter hours: `start` rounded down, `end` exclusive and rounded up (a day or a quarter of
Iran's time, UTC+03:30, is a whole number of them). Client addresses exist for the last
day only; the report counts those of the range that are still kept, and says since when.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from sdmx_server.ops.usage import LATENCY_BOUNDS_MS, PERIOD
from sdmx_server.ops.usage_tables import UsageAddress, UsageLatency, UsageRow
from sdmx_server.store.database import Database

#: The breakdowns of a report: name → the column (or expression) grouped by.
GROUPS = ("dataflow", "format", "consumer", "consumer_type", "status", "surface", "resource")
PERCENTILES = (50, 90, 99)
TOP_ADDRESSES = 20
#: The range when no start is given: this many days before the end.
DEFAULT_DAYS = 30


def parse_moment(text: str, end: bool = False) -> datetime:
    """An ISO 8601 date or time (UTC unless it says otherwise). A date alone is its day's
    start, or, for the end of a range, its day's end: `--to 2026-12-31` includes that day.
    ValueError for anything else."""
    text = text.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    moment = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    return moment + timedelta(days=1) if end else moment


def parse_range(start: str | None, end: str | None, now: datetime | None = None) -> tuple[datetime, datetime]:
    """(start, end) from the texts of --from/--to (from=/to=): the end defaults to now, the
    start to DEFAULT_DAYS before the end. ValueError naming the bad one, or for an empty range."""
    parsed = {}
    for name, value, is_end in (("from", start, False), ("to", end, True)):
        try:
            parsed[name] = parse_moment(value, is_end) if value else None
        except ValueError:
            raise ValueError(f"{name}={value!r} is not an ISO 8601 date or time like 2026-10-01 or "
                             f"2026-10-01T08:00:00Z") from None
    stop = parsed["to"] or now or datetime.now(timezone.utc)
    begin = parsed["from"] or stop - timedelta(days=DEFAULT_DAYS)
    if begin >= stop:
        raise ValueError(f"the range from {begin.isoformat()} to {stop.isoformat()} is empty")
    return begin, stop


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat().replace("+00:00", "Z")


def period_range(start: datetime, end: datetime) -> tuple[int, int]:
    """[first period, end period) in epoch seconds: start rounded down, end rounded up."""
    first = int(start.timestamp() // PERIOD) * PERIOD
    last = -int(-end.timestamp() // PERIOD) * PERIOD
    return first, max(first, last)


def usage_report(db: Database, start: datetime, end: datetime, top: int = TOP_ADDRESSES) -> dict:
    first, last = period_range(start, end)
    table = UsageRow.__table__
    in_range = sa.and_(table.c.period >= first, table.c.period < last)
    errors = sa.func.sum(sa.case((table.c.status >= 400, table.c.requests), else_=0))
    sums = (sa.func.sum(table.c.requests), sa.func.sum(table.c.bytes), errors, sa.func.sum(table.c.seconds))
    with db.engine.connect() as conn:
        total = conn.execute(sa.select(*sums).where(in_range)).one()
        groups = {}
        for name in GROUPS:
            column = _consumer_type(table) if name == "consumer_type" else table.c[name]
            rows = conn.execute(sa.select(column.label("key"), *sums).where(in_range).group_by(column)).all()
            groups[name] = sorted((_counts(r[1:], **{name: r[0]}) for r in rows),
                                  key=lambda c: (-c["requests"], str(c[name])))
        latency = _latency(conn, first, last)
        addresses = _addresses(conn, first, last, top)
    return {
        "from": iso(first),
        "to": iso(last),
        "totals": _counts(total),
        "by": groups,
        "latency": latency,
        "addresses": addresses,
    }


def _counts(values, **key) -> dict:
    requests, sent, errors, seconds = (v or 0 for v in values)
    return {**key, "requests": int(requests), "bytes": int(sent), "errors": int(errors),
            "seconds": round(float(seconds), 3)}


def _consumer_type(table: sa.Table):
    """token, user, jwt or anonymous: the consumer's kind, before its ':'."""
    consumer = table.c.consumer
    # SQLite has instr, PostgreSQL strpos: a CASE on the known prefixes works on both.
    return sa.case(*((consumer.like(f"{kind}:%"), sa.literal(kind)) for kind in ("token", "user", "jwt")),
                   else_=consumer)


def _latency(conn: sa.Connection, first: int, last: int) -> dict:
    """Per surface and overall: requests and the bound under which 50, 90 and 99 % ended."""
    table = UsageLatency.__table__
    rows = conn.execute(
        sa.select(table.c.surface, table.c.le_ms, sa.func.sum(table.c.requests))
        .where(table.c.period >= first, table.c.period < last).group_by(table.c.surface, table.c.le_ms)).all()
    histograms: dict[str, dict[int, int]] = {}
    for surface, bound, n in rows:
        for name in (surface, "all"):
            histogram = histograms.setdefault(name, {})
            histogram[int(bound)] = histogram.get(int(bound), 0) + int(n)
    return {name: _percentiles(histogram) for name, histogram in sorted(histograms.items())}


def _percentiles(histogram: dict[int, int], percentiles=PERCENTILES) -> dict:
    total = sum(histogram.values())
    answer: dict = {"requests": total}
    for p in percentiles:
        need, seen, bound = total * p / 100, 0, None
        for le in sorted(histogram):
            seen += histogram[le]
            if seen >= need:
                bound = le
                break
        # The last bound is "longer than the one before": no number to give.
        answer[f"p{p}_ms"] = bound if bound is not None and bound < LATENCY_BOUNDS_MS[-1] else None
    return answer


# -- what the quarterly report reads (ops/report/facts.py) ---------------------------------------


def downloads_and_queries(db: Database, start: datetime, end: datetime) -> list[dict]:
    """Per dataflow and kind of consumer ("portal" for pages, else token, user or anonymous):
    downloads (data answered, status below 400), queries (every request), bytes, and errors
    (5xx: the server's failures, not the askers')."""
    first, last = period_range(start, end)
    table = UsageRow.__table__
    c = table.c
    kind = sa.case((c.surface == "portal", sa.literal("portal")), (c.consumer.like("token:%"), sa.literal("token")),
                   (c.consumer.like("user:%"), sa.literal("user")), (c.consumer.like("jwt:%"), sa.literal("user")),
                   else_=sa.literal("anonymous"))
    downloads = sa.func.sum(sa.case((sa.and_(c.resource == "data", c.status < 400), c.requests), else_=0))
    errors = sa.func.sum(sa.case((c.status >= 500, c.requests), else_=0))
    query = (sa.select(c.dataflow, kind.label("kind"), downloads, sa.func.sum(c.requests), sa.func.sum(c.bytes), errors)
             .where(c.period >= first, c.period < last).group_by(c.dataflow, kind))
    with db.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [{"dataflow": flow, "consumer_type": kind, "downloads": int(d or 0), "queries": int(q or 0),
             "bytes": int(b or 0), "errors": int(e or 0)} for flow, kind, d, q, b, e in rows]


def availability(db: Database, start: datetime, end: datetime) -> dict:
    """Requests, 5xx answers and the latency bounds (seconds) under which 50, 95 and 99 % ended."""
    first, last = period_range(start, end)
    table, latency = UsageRow.__table__, UsageLatency.__table__
    with db.engine.connect() as conn:
        requests, errors = conn.execute(
            sa.select(sa.func.sum(table.c.requests),
                      sa.func.sum(sa.case((table.c.status >= 500, table.c.requests), else_=0)))
            .where(table.c.period >= first, table.c.period < last)).one()
        histogram = dict(conn.execute(
            sa.select(latency.c.le_ms, sa.func.sum(latency.c.requests))
            .where(latency.c.period >= first, latency.c.period < last).group_by(latency.c.le_ms)).all())
    bounds = _percentiles({int(k): int(v) for k, v in histogram.items()}, (50, 95, 99))
    return {"requests": int(requests or 0), "errors": int(errors or 0),
            **{f"p{p}": (bounds[f"p{p}_ms"] / 1000 if bounds[f"p{p}_ms"] is not None else None) for p in (50, 95, 99)}}


def _addresses(conn: sa.Connection, first: int, last: int, top: int) -> dict:
    table = UsageAddress.__table__
    in_range = sa.and_(table.c.period >= first, table.c.period < last)
    kept_since = conn.execute(sa.select(sa.func.min(table.c.period))).scalar()
    distinct = conn.execute(sa.select(sa.func.count(sa.distinct(table.c.address))).where(in_range)).scalar()
    busiest = conn.execute(
        sa.select(table.c.address, sa.func.sum(table.c.requests).label("n"), sa.func.sum(table.c.bytes))
        .where(in_range).group_by(table.c.address)
        .order_by(sa.desc("n"), table.c.address).limit(top)).all()
    return {
        "kept_since": iso(kept_since) if kept_since is not None else None,
        "distinct": int(distinct or 0),
        "top": [{"address": a, "requests": int(n), "bytes": int(b)} for a, n, b in busiest],
    }


def text(report: dict, limit: int = 15) -> str:
    """The report for a terminal: totals, each breakdown's first `limit` rows, latency."""
    t = report["totals"]
    lines = [f"usage from {report['from']} to {report['to']}",
             f"{t['requests']:,} requests, {_size(t['bytes'])} sent, {t['errors']:,} answered with an error (4xx/5xx)"]
    for name in GROUPS:
        rows = report["by"][name]
        if not rows:
            continue
        lines += ["", f"by {name.replace('_', ' ')}:"]
        width = max(len(str(r[name]) or "-") for r in rows[:limit])
        for r in rows[:limit]:
            lines.append(f"  {str(r[name]) or '-':<{width}}  {r['requests']:>10,} requests  {_size(r['bytes']):>10}"
                         f"  {r['errors']:>8,} errors")
        if len(rows) > limit:
            lines.append(f"  ... {len(rows) - limit} more (--json for all)")
    if report["latency"]:
        lines += ["", "latency (requests ended within):"]
        for surface, p in report["latency"].items():
            bounds = "  ".join(f"p{q} {_ms(p[f'p{q}_ms'])}" for q in PERCENTILES)
            lines.append(f"  {surface:<10} {p['requests']:>10,} requests  {bounds}")
    a = report["addresses"]
    lines += ["", f"client addresses (kept for a day, since {a['kept_since'] or '-'}): {a['distinct']:,} in the range"]
    lines += [f"  {r['address']:<40} {r['requests']:>10,} requests  {_size(r['bytes']):>10}" for r in a["top"][:limit]]
    return "\n".join(lines)


def _ms(bound: int | None) -> str:
    if bound is None:
        return f"> {LATENCY_BOUNDS_MS[-2] // 1000} s"
    return f"<= {bound} ms" if bound < 1000 else f"<= {bound / 1000:g} s"


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"
