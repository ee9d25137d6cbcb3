"""What the quarterly report says, as plain data: gathered from the store by `gather`, or made by
tests. The renderings (html.py, pdf.py, plots.py) read only these dataclasses.

Sources: the load records (store/records.py) for loads per source and their validation
failures; the release calendar (ops/calendar.py) for releases on time; the dashboard's status
dataflow for indicators per province against their norms and the units that reported late or
not at all; usage statistics for downloads, queries and availability.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import Literal

from sqlmodel import Session, select

from sdmx_server.ops.report.quarters import Quarter
from sdmx_server.store.records import LoadRecord

ConsumerType = Literal["anonymous", "token", "user", "portal"]
KpiStatus = Literal["within", "warning", "outside"]
Reported = Literal["on-time", "late", "missing"]


@dataclass(frozen=True)
class UsageRow:
    """Requests of one dataflow (or "" for requests of no dataflow) by one kind of consumer."""

    dataflow: str
    consumer_type: ConsumerType
    downloads: int  # data answers (any format)
    queries: int  # every request: structures, availability, data, pages
    bytes: int
    errors: int  # answers with a 5xx status


@dataclass(frozen=True)
class LoadRow:
    """The loads of one source (a source of loaders/, uploads, or the command line) into one
    dataflow in the quarter."""

    origin: str  # types.LoadOrigin
    source: str
    dataflow: str
    loads: int
    applied: int
    rejected: int
    failed: int
    observations: int  # written (added + changed + deleted) by applied loads
    #: the main causes of rejection: (rule: message, rows affected), most frequent first
    causes: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class ReleaseRow:
    dataflow: str
    period: str
    due: date
    status: str  # ops/calendar.py ReleaseStatus
    published_at: datetime | None


@dataclass(frozen=True)
class KpiRow:
    """One unit's value of one indicator for the quarter's last period, against its norm."""

    unit: str
    indicator: str
    period: str
    value: float | None
    status: KpiStatus | None


@dataclass(frozen=True)
class UnitReport:
    unit: str
    reported: Reported
    #: the periods of the quarter the unit has no indicator value for
    missing_periods: tuple[str, ...] = ()


@dataclass(frozen=True)
class Availability:
    requests: int
    errors: int  # 5xx answers
    p50: float | None  # seconds
    p95: float | None
    p99: float | None

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


@dataclass
class QuarterFacts:
    quarter: Quarter
    generated_at: datetime
    #: names of dataflows, units and indicators: id -> {"fa": ..., "en": ...}
    names: dict[str, dict[str, str]] = field(default_factory=dict)
    usage: list[UsageRow] = field(default_factory=list)
    loads: list[LoadRow] = field(default_factory=list)
    releases: list[ReleaseRow] = field(default_factory=list)
    kpis: list[KpiRow] = field(default_factory=list)
    units: list[UnitReport] = field(default_factory=list)
    availability: Availability | None = None

    def name(self, key: str, lang: str) -> str:
        names = self.names.get(key) or {}
        return names.get(lang) or names.get("en") or key


# -- gathering -----------------------------------------------------------------------------------


def _bounds(quarter: Quarter) -> tuple[datetime, datetime]:
    return (datetime.combine(quarter.start, time(), timezone.utc), datetime.combine(quarter.end, time(), timezone.utc))


def gather_loads(db, quarter: Quarter, causes: int = 3) -> list[LoadRow]:
    """Loads started in the quarter, per (origin, source, dataflow), with the main causes of
    rejection from their validation reports (grouped by rule and message)."""
    start, end = _bounds(quarter)
    with Session(db.engine) as session:
        records = session.exec(select(LoadRecord).where(LoadRecord.started_at >= start, LoadRecord.started_at < end)
                               .order_by(LoadRecord.id)).all()
    groups: dict[tuple[str, str, str], list[LoadRecord]] = {}
    for record in records:
        source = record.source if record.origin == "sync" else {"upload": "upload", "cli": "command line"}.get(
            record.origin, record.origin)
        groups.setdefault((record.origin, source, record.flow), []).append(record)
    rows = []
    for (origin, source, flow), group in sorted(groups.items()):
        counted: Counter[str] = Counter()
        for record in group:
            if record.status != "rejected":
                continue
            for problem in _problems(record):
                counted[problem[0]] += problem[1]
        applied = [r for r in group if r.status in ("applied", "released", "pending")]
        rows.append(LoadRow(origin, source, flow, len(group), len(applied),
                            sum(r.status == "rejected" for r in group), sum(r.status == "failed" for r in group),
                            sum(r.added + r.changed + r.deleted for r in applied),
                            tuple(counted.most_common(causes))))
    return rows


def _problems(record: LoadRecord) -> list[tuple[str, int]]:
    try:
        report = json.loads(record.report_json) if record.report_json else None
    except ValueError:
        report = None
    if not report:
        return [("other: " + (record.report.splitlines()[0] if record.report else "no report"), 1)]
    return [(f"{e.get('rule') or 'invalid'}: {e.get('message') or ''}", int(e.get("count") or 1))
            for e in report.get("errors") or []] or [("other: rejected", 1)]


def gather_releases(db, quarter: Quarter, flows=None, now: datetime | None = None) -> list[ReleaseRow]:
    from sdmx_server.ops.calendar import releases

    # judged as of now: a release due in the quarter and published after it ended is late
    return [ReleaseRow(r.flow, r.period, r.due, r.status, r.published_at)
            for r in releases(db, flows, quarter.start, quarter.last_day, now=now)]


def gather_names(registry) -> dict[str, dict[str, str]]:
    """Names in both languages: every dataflow (by AGENCY:ID(VERSION)) and every code of the
    codelists the dashboard uses (units, indicators, provinces), by code id."""
    names: dict[str, dict[str, str]] = {}
    for entry in registry.entries("dataflow"):
        body = entry.json()
        names[f"{entry.agency}:{entry.id}({entry.version})"] = dict(body.get("names") or {})
    for entry in registry.entries("codelist"):
        if entry.id not in ("CL_ORG_UNIT", "CL_INDICATOR", "CL_PROVINCE"):
            continue
        for code in entry.json().get("codes") or []:
            names.setdefault(code["id"], dict(code.get("names") or {}))
    return names


def gather(db, registry, quarter: Quarter, now: datetime | None = None, settings=None) -> QuarterFacts:
    """Everything the report says about `quarter`, from the store."""
    from sdmx_server.processing.derived import read_published
    from sdmx_server.settings import Settings

    facts = QuarterFacts(quarter, now or datetime.now(timezone.utc), names=gather_names(registry))
    facts.loads = gather_loads(db, quarter)
    facts.releases = gather_releases(db, quarter, now=now)
    read = read_published(db, registry, settings or Settings.from_env())
    facts.kpis = gather_kpis(read(KPI_STATUS_FLOW), quarter)
    facts.units = gather_units(read(KPI_FLOW), quarter)
    facts.usage = gather_usage(db, quarter)
    facts.availability = gather_availability(db, quarter)
    return facts


def gather_usage(db, quarter: Quarter) -> list[UsageRow]:
    """Downloads and queries per dataflow and kind of consumer (ops/usage_report.py)."""
    from sdmx_server.ops.usage_report import downloads_and_queries

    return [UsageRow(**row) for row in downloads_and_queries(db, *_bounds(quarter))]


def gather_availability(db, quarter: Quarter) -> Availability | None:
    """Error rate and latency percentiles of the quarter's requests; None when none were counted."""
    from sdmx_server.ops.usage_report import availability

    found = availability(db, *_bounds(quarter))
    return Availability(**found) if found["requests"] else None


KPI_FLOW = ("SSO", "DF_KPI", "1.0")
KPI_STATUS_FLOW = ("SSO", "DF_KPI_STATUS", "1.0")


def _periods_in(periods, quarter: Quarter) -> list[str]:
    """The SDMX periods among `periods` that start within the quarter, in order."""
    from sdmx_server.query.periods import parse_period

    found = []
    for period in sorted(set(periods)):
        try:
            start = parse_period(period).start.date()
        except Exception:  # noqa: BLE001 - a period the report cannot place is left out
            continue
        if quarter.start <= start < quarter.end:
            found.append(period)
    return found


def gather_kpis(statuses, quarter: Quarter) -> list[KpiRow]:
    """Each unit's indicators in the quarter's last period with values, as DF_KPI_STATUS judged
    them (processing/kpi_status.py, the one rule: the report never judges on its own)."""
    if statuses is None or statuses.num_rows == 0:
        return []
    rows = statuses.to_pandas()
    periods = _periods_in(rows["TIME_PERIOD"], quarter)
    if not periods:
        return []
    latest = rows[rows["TIME_PERIOD"] == periods[-1]]
    found = []
    for r in latest.itertuples(index=False):
        value = getattr(r, "KPI_VALUE", None)
        try:
            value = float(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            value = None
        status = str(getattr(r, "KPI_STATUS", "") or "").lower() or None
        found.append(KpiRow(r.ORG_UNIT, r.INDICATOR, r.TIME_PERIOD, value,
                            status if status in ("within", "warning", "outside") else None))
    return found


def gather_units(values, quarter: Quarter) -> list[UnitReport]:
    """Units whose indicator values (DF_KPI) for the quarter's periods are all there (on time),
    some missing (late), or none (missing), among the units that ever reported."""
    if values is None or values.num_rows == 0:
        return []
    rows = values.to_pandas()
    # the quarters the units owe (DF_KPI is quarterly), whether or not anyone reported them
    owed = [f"{y}-Q{q}" for y in range(quarter.start.year, quarter.end.year + 1) for q in range(1, 5)]
    periods = _periods_in([*rows["TIME_PERIOD"], *owed], quarter)
    units = sorted(set(rows["ORG_UNIT"]))
    if not periods:
        return []
    reported = rows[rows["TIME_PERIOD"].isin(periods)].groupby("ORG_UNIT")["TIME_PERIOD"].agg(set).to_dict()
    found = []
    for unit in units:
        have = reported.get(unit, set())
        missing = tuple(p for p in periods if p not in have)
        state = "on-time" if not missing else ("missing" if len(missing) == len(periods) else "late")
        found.append(UnitReport(unit, state, missing))
    return found
