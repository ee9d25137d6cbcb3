"""Release calendars written by statisticians beside their dataflows: the `releases:` key of the
authoring files in dsd/ (docs/authoring.md "Release calendar").

    releases:
      - dataflow: DF_INSURED           # a dataflow of the files read, or AGENCY:ID(VERSION)
        frequency: M                   # M, Q or A: one release per period ...
        from: 2026-01                  # ... from this period ...
        to: 2027-06                    # ... to this one
        days_after: 20                 # due this many days after the period ends
        note: {fa: ..., en: ...}       # optional, on every release of the entry
      - dataflow: SSO:DF_KPI(1.0)
        dates:                         # or releases one by one
          - {period: 2026-Q4, due: 2027-02-15, note: {fa: ..., en: ...}}

The structure reader (registry/authoring) skips the key; `read_releases` reads it with the
same located YAML, so `sdmx-server check` reports a mistake as `file:line: message`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Iterable

from sdmx_server.ops.calendar import Plan
from sdmx_server.registry.authoring.errors import AuthoringError, Reporter
from sdmx_server.registry.authoring.reader import find_authoring_files
from sdmx_server.registry.authoring.yamlfile import Map, Node, Scalar, Seq, parse_yaml

KEY = "releases"
FREQUENCIES = {"M": 12, "Q": 4, "A": 1}
#: An entry that would plan more releases than this is a mistake (a range of centuries).
MAX_PER_ENTRY = 600
_ENTRY_FIELDS = {"dataflow", "frequency", "from", "to", "days_after", "note", "dates"}
_DATE_FIELDS = {"period", "due", "note"}


@dataclass
class ReleasesRead:
    plans: list[Plan] = field(default_factory=list)
    #: every dataflow an entry names (its authored releases are replaced when loaded)
    flows: set[str] = field(default_factory=set)
    errors: list[AuthoringError] = field(default_factory=list)


def read_releases(paths: Iterable[Path], dataflows: Iterable[tuple[str, str, str]] = ()) -> ReleasesRead:
    """The releases of the authoring files under `paths`. `dataflows`: (agency, id, version) of
    the dataflows defined beside them, so that an entry may name one by its id alone."""
    by_id: dict[str, list[str]] = {}
    for agency, flow_id, version in dataflows:
        by_id.setdefault(flow_id, []).append(f"{agency}:{flow_id}({version})")
    result = ReleasesRead()
    for path in find_authoring_files(paths):
        if path.suffix.lower() not in (".yaml", ".yml") or not path.is_file():
            continue
        report = Reporter(path, result.errors)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            continue  # the structure reader reports unreadable files
        if KEY + ":" not in text:
            continue
        root = parse_yaml(text, lambda line, message: None)  # YAML errors: the structure reader's
        if not isinstance(root, Map) or KEY not in root.entries:
            continue
        entry = root.entries[KEY]
        items = entry.node.items if isinstance(entry.node, Seq) else [entry.node]
        for item in items:
            _entry(item, report, by_id, result, f"{path}")
    return result


def _text(node: Node | None) -> str | None:
    return None if node is None or not isinstance(node, Scalar) or node.value is None else str(node.text)


def _entry(node: Node, report: Reporter, by_id: dict[str, list[str]], result: ReleasesRead, where: str) -> None:
    if not isinstance(node, Map):
        report(node.line, f"a release entry must be a mapping with dataflow: and frequency: or dates:, not {node.kind}")
        return
    fields = node.entries
    for name, item in fields.items():
        if name not in _ENTRY_FIELDS:
            report(item.key_line, f"unknown field {name!r} of a release entry (known: {', '.join(sorted(_ENTRY_FIELDS))})")
    flow = _flow(fields.get("dataflow"), node.line, report, by_id)
    note = _note(fields.get("note"), report)
    if flow is None or note is None:
        return
    result.flows.add(flow)
    if "dates" in fields:
        if any(k in fields for k in ("frequency", "from", "to", "days_after")):
            report(node.line, "a release entry has either dates: or frequency:/from:/to:/days_after:, not both")
            return
        dates = fields["dates"].node
        if not isinstance(dates, Seq):
            report(fields["dates"].key_line, f"dates must be a list of {{period, due}}, not {dates.kind}")
            return
        for one in dates.items:
            plan = _dated(one, flow, note, report, where)
            if plan is not None:
                result.plans.append(plan)
        return
    result.plans += _scheduled(node, flow, note, report, where)


def _flow(entry, line: int, report: Reporter, by_id: dict[str, list[str]]) -> str | None:
    import re

    text = _text(entry.node) if entry else None
    if not text:
        report(entry.key_line if entry else line, "a release entry needs dataflow: (an id of these files, or AGENCY:ID(VERSION))")
        return None
    if re.fullmatch(r"[A-Za-z0-9_@$\-]+(\.[A-Za-z0-9_@$\-]+)*:[A-Za-z0-9_@$\-]+\([0-9A-Za-z.+*\-]+\)", text):
        return text
    known = by_id.get(text, [])
    if len(known) == 1:
        return known[0]
    if known:
        report(entry.key_line, f"dataflow {text} is ambiguous here ({', '.join(known)}): write AGENCY:ID(VERSION)")
    else:
        report(entry.key_line, f"dataflow {text} is not defined in these files: write AGENCY:ID(VERSION)")
    return None


def _note(entry, report: Reporter) -> dict[str, str] | None:
    if entry is None:
        return {"fa": "", "en": ""}
    node = entry.node
    if isinstance(node, Scalar):
        return {"fa": str(node.text), "en": str(node.text)}
    if not isinstance(node, Map) or not set(node.entries) <= {"fa", "en"}:
        report(entry.key_line, "note must be a text or {fa: ..., en: ...}")
        return None
    return {lang: _text(node.entries[lang].node) or "" if lang in node.entries else "" for lang in ("fa", "en")}


def _date(entry, report: Reporter, what: str) -> date | None:
    node = entry.node
    value = node.value if isinstance(node, Scalar) else None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(_text(node)))
    except (TypeError, ValueError):
        report(entry.key_line, f"{what} must be a day as YYYY-MM-DD, not {node.kind}")
        return None


def _dated(node: Node, flow: str, note: dict[str, str], report: Reporter, where: str) -> Plan | None:
    if not isinstance(node, Map) or "due" not in node.entries:
        report(node.line, "each of dates is {period: ..., due: YYYY-MM-DD}")
        return None
    for name, item in node.entries.items():
        if name not in _DATE_FIELDS:
            report(item.key_line, f"unknown field {name!r} of a dated release (known: due, note, period)")
    due = _date(node.entries["due"], report, "due")
    period = _text(node.entries["period"].node) if "period" in node.entries else ""
    if period and _period(period) is None:
        report(node.entries["period"].key_line, f"period {period!r} is not an SDMX period (2026, 2026-Q3, 2026-11)")
        return None
    own = _note(node.entries.get("note"), report) if "note" in node.entries else note
    if due is None or own is None:
        return None
    return Plan(flow, period or "", due, own["fa"], own["en"], f"{where}:{node.line}")


def _period(text: str):
    from sdmx_server.query.periods import parse_period

    try:
        return parse_period(text)
    except Exception:  # noqa: BLE001 - any failure to parse is "not a period", reported by the caller
        return None


def _periods(first: str, last: str, frequency: str) -> list[str] | None:
    """The periods of `frequency` from `first` to `last` (both of that frequency), or None."""
    per_year = FREQUENCIES[frequency]

    def index(text: str) -> int | None:
        import re

        patterns = {"M": r"([0-9]{4})-(0[1-9]|1[0-2])", "Q": r"([0-9]{4})-Q([1-4])", "A": r"([0-9]{4})"}
        m = re.fullmatch(patterns[frequency], text)
        if not m:
            return None
        return int(m[1]) * per_year + (int(m[2]) - 1 if frequency != "A" else 0)

    start, end = index(first), index(last)
    if start is None or end is None:
        return None
    names = []
    for i in range(start, end + 1):
        year, rest = divmod(i, per_year)
        names.append({"M": f"{year}-{rest + 1:02d}", "Q": f"{year}-Q{rest + 1}", "A": f"{year}"}[frequency])
    return names


def _scheduled(node: Map, flow: str, note: dict[str, str], report: Reporter, where: str) -> list[Plan]:
    fields = node.entries
    missing = [k for k in ("frequency", "from", "to", "days_after") if k not in fields]
    if missing:
        report(node.line, f"a release entry needs dates:, or frequency:, from:, to: and days_after: (missing: {', '.join(missing)})")
        return []
    frequency = _text(fields["frequency"].node)
    if frequency not in FREQUENCIES:
        report(fields["frequency"].key_line, f"frequency must be one of {', '.join(FREQUENCIES)}, not {frequency!r}")
        return []
    days = fields["days_after"].node
    if not (isinstance(days, Scalar) and isinstance(days.value, int) and not isinstance(days.value, bool)
            and 0 <= days.value <= 3660):
        report(fields["days_after"].key_line, "days_after must be a whole number of days from 0 to 3660")
        return []
    first, last = _text(fields["from"].node) or "", _text(fields["to"].node) or ""
    periods = _periods(first, last, frequency)
    if periods is None:
        report(fields["from"].key_line, f"from and to must be periods of frequency {frequency} "
                                        f"({ {'M': '2026-01', 'Q': '2026-Q1', 'A': '2026'}[frequency] }), not {first!r} and {last!r}")
        return []
    if not periods:
        report(fields["to"].key_line, f"to ({last}) comes before from ({first})")
        return []
    if len(periods) > MAX_PER_ENTRY:
        report(node.line, f"this entry plans {len(periods)} releases; more than {MAX_PER_ENTRY} is surely a mistake")
        return []
    plans = []
    for period in periods:
        last_day = _period(period).end.date() - timedelta(days=1)
        plans.append(Plan(flow, period, last_day + timedelta(days=days.value), note["fa"], note["en"],
                          f"{where}:{node.line}"))
    return plans


def load_release_files(db, paths: Iterable[Path], by: str) -> tuple[list[AuthoringError], int, int]:
    """The releases of the files under `paths` into the calendar: each dataflow an entry names
    gets exactly the authored releases the files now give it (all or nothing; releases made by
    administrators stay). Every dataflow must be in the registry. Returns (errors, removed, added)."""
    from sdmx_server.ops.calendar import replace_authored
    from sdmx_server.registry.index import Registry
    from sdmx_server.registry.store import read_all
    from sdmx_server.versions import latest

    stored, generation = read_all(db)
    registry = Registry.build(stored, generation)
    flows = [(e.agency, e.id, e.version) for e in registry.entries("dataflow") if not e.is_stub]
    newest: dict[tuple[str, str], str] = {}
    for agency, flow_id, version in flows:
        newest[(agency, flow_id)] = latest([v for a, i, v in flows if (a, i) == (agency, flow_id)])
    read = read_releases(paths, [(a, i, v) for (a, i), v in newest.items()])
    known = {f"{a}:{i}({v})" for a, i, v in flows}
    for flow in sorted(read.flows - known):
        read.errors.append(AuthoringError(Path("."), 0, f"releases of {flow}: no such dataflow is loaded"))
    if read.errors:
        return read.errors, 0, 0
    if not read.flows:
        return [], 0, 0
    removed, added = replace_authored(db, read.flows, read.plans, by)
    return [], removed, added
