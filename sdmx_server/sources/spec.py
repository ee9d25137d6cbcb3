"""A source file of `loaders/`: one YAML file per source, read with its line numbers.

Every problem is an `AuthoringError` (`path:line: message`), as `sdmx-server check` reports
authoring files. Only the file itself is checked here; what needs the registry (is the
dataflow loaded, is each target a component of its DSD) is checked at sync time, and what needs
the environment (credentials) only when the source is pulled, so that `check` runs anywhere.
The fields are documented, with an example each, in docs/sources.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sdmx_server.registry.authoring.errors import AuthoringError, Reporter
from sdmx_server.registry.authoring.yamlfile import Map, Node, Scalar, Seq, parse_yaml
from sdmx_server.sources.periods import CALENDARS, RESOLUTIONS, PeriodRule
from sdmx_server.persian.text import normalise_text
from sdmx_server.types import LOAD_ACTIONS

KINDS = ("csv", "excel", "sql")
_FLOW = re.compile(r"^(?P<agency>[A-Za-z][\w.\-]*):(?P<id>[\w@$\-]+)\((?P<version>[\w.\-]+)\)$")
_ID = re.compile(r"^[A-Za-z0-9_@$\-]+$")
_INTERVAL = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_FIELDS = {
    "id", "description", "dataflow", "kind", "action", "schedule", "columns", "fixed", "period", "ignore",
    "release_at",
    "path", "sheet", "header_row", "encoding", "delimiter",  # files
    "url", "credentials", "query", "connect_timeout", "batch_size",  # sql
}
_FILE_ONLY = {"path", "sheet", "header_row", "encoding", "delimiter", "ignore"}
_SQL_ONLY = {"url", "credentials", "query", "connect_timeout", "batch_size"}


@dataclass(frozen=True)
class ColumnMap:
    """One column of the unit's data and the component it feeds."""

    source: str  # the unit's column name
    target: str  # a dimension, attribute or measure id of the DSD
    line: int
    values: dict[str, str] = field(default_factory=dict)  # the unit's value -> the code
    scale: float | int | None = None  # multiply numbers by this (thousands -> persons: 1000)


@dataclass(frozen=True)
class Schedule:
    cron: str | None = None
    every: float | None = None  # seconds

    def describe(self) -> str:
        return f"cron {self.cron}" if self.cron else f"every {_seconds_text(self.every or 0)}"


@dataclass
class SourceSpec:
    path: Path  # the YAML file
    id: str
    dataflow: tuple[str, str, str]
    kind: str
    action: str = "merge"
    description: str = ""
    schedule: Schedule | None = None
    columns: list[ColumnMap] = field(default_factory=list)
    fixed: dict[str, str] = field(default_factory=dict)
    fixed_lines: dict[str, int] = field(default_factory=dict)
    period: PeriodRule | None = None
    period_target: str = "TIME_PERIOD"
    period_line: int = 0
    ignore: tuple[str, ...] = ()
    # files
    data_path: str | None = None  # a path or glob, relative to the YAML file
    sheet: str | int | None = None
    header_row: int = 1
    encoding: str = "utf-8"
    delimiter: str = ","
    # sql
    url: str | None = None  # may name environment variables: ${NAME} or ${NAME:-default}
    credentials: dict[str, str] = field(default_factory=dict)
    query: str | None = None
    connect_timeout: float = 10.0
    batch_size: int = 50_000
    release_at: datetime | None = None  # embargo: the loads' values are published at this time (UTC)
    text: str = ""  # the file as read: part of the fingerprint, so that a changed mapping applies

    @property
    def flow_ref(self) -> str:
        return f"{self.dataflow[0]}:{self.dataflow[1]}({self.dataflow[2]})"

    @property
    def expected_columns(self) -> list[str]:
        names = [c.source for c in self.columns]
        if self.period is not None:
            names += [c for c in self.period.columns if c not in names]
        return names

    def data_files(self) -> list[Path]:
        """The files a file source reads now (a glob may match none, or several: in name order)."""
        base = self.path.parent
        pattern = self.data_path or ""
        if any(ch in pattern for ch in "*?["):
            return sorted(p for p in base.glob(pattern) if p.is_file())
        return [base / pattern]


def find_source_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def read_sources(directory: Path) -> tuple[list[SourceSpec], list[AuthoringError]]:
    """Every source file of a folder; each bad file is reported and left out, and two files
    with one id are both an error."""
    specs: list[SourceSpec] = []
    errors: list[AuthoringError] = []
    seen: dict[str, Path] = {}
    for path in find_source_files(directory):
        spec, file_errors = read_source(path)
        errors += file_errors
        if spec is None:
            continue
        if spec.id in seen:
            errors.append(AuthoringError(path, 1, f"source id {spec.id!r} is also the id of {seen[spec.id]}"))
            continue
        seen[spec.id] = path
        specs.append(spec)
    return specs, errors


def read_source(path: Path) -> tuple[SourceSpec | None, list[AuthoringError]]:
    errors: list[AuthoringError] = []
    report = Reporter(path, errors)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        report(0, f"cannot be read: {exc}")
        return None, errors
    root = parse_yaml(text, report)
    if errors:
        return None, errors
    if not isinstance(root, Map):
        report(getattr(root, "line", 1), "a source file is a mapping of fields (id, dataflow, kind, columns ...)")
        return None, errors
    spec = _build(path, text, root, report)
    return (spec if not errors else None), errors


def _build(path: Path, text: str, root: Map, report: Reporter) -> SourceSpec | None:
    entries = root.entries
    for name, entry in entries.items():
        if name not in _FIELDS:
            report(entry.key_line, f"unknown field {name!r}; a source has: {', '.join(sorted(_FIELDS))}")
    for name in ("dataflow", "kind", "columns"):
        if name not in entries:
            report(root.line, f"missing required field {name!r}")
    if "dataflow" not in entries or "kind" not in entries:
        return None

    def text_of(name: str, default=None):
        entry = entries.get(name)
        if entry is None:
            return default
        if not isinstance(entry.node, Scalar) or entry.node.value is None:
            report(entry.key_line, f"{name} must be a single value, not {entry.node.kind}")
            return default
        return entry.node.text

    def line(name: str) -> int:
        return entries[name].key_line if name in entries else root.line

    source_id = text_of("id", path.stem)
    if not _ID.match(source_id or ""):
        report(line("id"), f"id {source_id!r} may hold only letters, digits, _, -, @ and $")
    flow_text = text_of("dataflow", "")
    m = _FLOW.match(flow_text.strip())
    if not m:
        report(line("dataflow"), f"dataflow {flow_text!r} is not a reference like SSO:DF_INSURED(1.0)")
    kind = text_of("kind", "")
    if kind not in KINDS:
        report(line("kind"), f"kind {kind!r} is not one of {', '.join(KINDS)}")
    action = text_of("action", "merge")
    if action not in LOAD_ACTIONS:
        report(line("action"), f"action {action!r} is not one of {', '.join(LOAD_ACTIONS)}")
    spec = SourceSpec(path=path, id=source_id, dataflow=(m["agency"], m["id"], m["version"]) if m else ("", "", ""),
                      kind=kind, action=action, description=text_of("description", "") or "", text=text)
    others = _SQL_ONLY if kind in ("csv", "excel") else _FILE_ONLY if kind == "sql" else set()
    for name in others & set(entries):
        report(line(name), f"{name} is not a field of a {kind} source")
    if kind in ("csv", "excel"):
        _files(spec, entries, text_of, line, report)
    elif kind == "sql":
        _sql(spec, entries, text_of, line, report)
    if "schedule" in entries:
        spec.schedule = _schedule(entries["schedule"].node, line("schedule"), report)
    if "release_at" in entries:
        spec.release_at = _moment(text_of("release_at", ""), line("release_at"), report)
    if "columns" in entries:
        spec.columns = _columns(entries["columns"].node, line("columns"), report)
    if "fixed" in entries:
        _fixed(spec, entries["fixed"].node, line("fixed"), report)
    if "period" in entries:
        _period(spec, entries["period"].node, line("period"), report)
    if "ignore" in entries:
        node = entries["ignore"].node
        if not isinstance(node, Seq) or not all(isinstance(i, Scalar) for i in node.items):
            report(line("ignore"), "ignore must be a list of column names")
        else:
            spec.ignore = tuple(str(i.text) for i in node.items)
    _check_targets(spec, report)
    return spec


def _files(spec, entries, text_of, line, report) -> None:
    spec.data_path = text_of("path")
    if not spec.data_path:
        report(line("path"), f"a {spec.kind} source needs path: the file (or a glob), relative to this file")
    if spec.kind == "csv" and "sheet" in entries:
        report(line("sheet"), "sheet is for excel sources")
    sheet = entries.get("sheet")
    if sheet is not None and isinstance(sheet.node, Scalar):
        spec.sheet = sheet.node.value if sheet.node.tag == "int" else sheet.node.text
    header = entries.get("header_row")
    if header is not None:
        if not (isinstance(header.node, Scalar) and header.node.tag == "int" and header.node.value >= 1):
            report(header.key_line, "header_row must be a row number from 1 (the row holding the column names)")
        else:
            spec.header_row = header.node.value
    spec.encoding = text_of("encoding", "utf-8")
    try:
        "".encode(spec.encoding)
    except LookupError:
        report(line("encoding"), f"encoding {spec.encoding!r} is not one Python knows (utf-8, cp1256, utf-16 ...)")
    spec.delimiter = text_of("delimiter", ",")
    if spec.delimiter == "\\t":
        spec.delimiter = "\t"
    if len(spec.delimiter) != 1:
        report(line("delimiter"), f"delimiter {spec.delimiter!r} must be one character")


def _sql(spec, entries, text_of, line, report) -> None:
    from sdmx_server.sources.secrets import literal_password

    spec.url = text_of("url")
    spec.query = text_of("query")
    if not spec.url:
        report(line("url"), "an sql source needs url: a SQLAlchemy URL, its secrets in ${VARIABLES}")
    elif literal_password(spec.url):
        report(line("url"), "the url holds a password: name an environment variable instead, "
                            "e.g. mysql+pymysql://user:${UNIT_DB_PASSWORD}@host/db")
    if not spec.query:
        report(line("query"), "an sql source needs query: the SELECT that reads the unit's table")
    credentials = entries.get("credentials")
    if credentials is not None:
        node = credentials.node
        if not isinstance(node, Map):
            report(credentials.key_line, "credentials must be a mapping: username: ${VAR}, password: ${VAR}")
        else:
            for name, entry in node.entries.items():
                if name not in ("username", "password"):
                    report(entry.key_line, f"credentials: unknown field {name!r} (username, password)")
                elif not isinstance(entry.node, Scalar) or "${" not in entry.node.text:
                    report(entry.key_line, f"credentials: {name} must name an environment variable, "
                                           "like ${UNIT_DB_PASSWORD}: secrets are never written in the file")
                else:
                    spec.credentials[name] = entry.node.text
    for name, attr, cast in (("connect_timeout", "connect_timeout", float), ("batch_size", "batch_size", int)):
        value = text_of(name)
        if value is not None:
            try:
                number = cast(value)
                if number <= 0:
                    raise ValueError
                setattr(spec, attr, number)
            except ValueError:
                report(line(name), f"{name} must be a positive number, not {value!r}")


def _schedule(node: Node, line: int, report) -> Schedule | None:
    from croniter import croniter

    if isinstance(node, Map):
        if set(node.entries) - {"cron", "every"} or len(node.entries) != 1:
            report(line, "schedule is a cron expression, or {every: 15m}, or {cron: '0 2 * * *'}")
            return None
        name, entry = next(iter(node.entries.items()))
        node = entry.node
        if not isinstance(node, Scalar):
            report(entry.key_line, f"schedule: {name} must be a single value")
            return None
        text = node.text.strip()
    elif isinstance(node, Scalar):
        text = node.text.strip()
        name = "cron" if " " in text else "every"
    else:
        report(line, "schedule is a cron expression, or {every: 15m}, or {cron: '0 2 * * *'}")
        return None
    if name == "cron":
        if not croniter.is_valid(text):
            report(line, f"schedule: {text!r} is not a cron expression (minute hour day month weekday)")
            return None
        return Schedule(cron=text)
    m = _INTERVAL.match(text)
    if not m or float(m[1]) <= 0:
        report(line, f"schedule: every {text!r} is not an interval such as 30s, 15m, 6h or 1d")
        return None
    return Schedule(every=float(m[1]) * _UNITS[m[2]])


def _moment(text: str, line: int, report) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        report(line, f"release_at {text!r} is not an ISO 8601 time like 2026-12-24T08:00+03:30")
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _columns(node: Node, line: int, report) -> list[ColumnMap]:
    if not isinstance(node, Map) or not node.entries:
        report(line, "columns must map each of the unit's columns to a component: ostan: PROVINCE")
        return []
    result = []
    for source, entry in node.entries.items():
        value = entry.node
        if isinstance(value, Scalar) and value.tag == "str":
            result.append(ColumnMap(source, value.text, entry.key_line))
            continue
        if not isinstance(value, Map) or "to" not in value.entries:
            report(entry.key_line, f"columns: {source}: give the component (ostan: PROVINCE) or a mapping with to:")
            continue
        unknown = set(value.entries) - {"to", "values", "scale"}
        if unknown:
            report(entry.key_line, f"columns: {source}: unknown field(s) {', '.join(sorted(unknown))} (to, values, scale)")
        target = value.entries["to"].node
        values: dict[str, str] = {}
        if "values" in value.entries:
            vnode = value.entries["values"]
            if not isinstance(vnode.node, Map):
                report(vnode.key_line, f"columns: {source}: values must map the unit's values to codes")
            else:
                for key, item in vnode.node.entries.items():
                    if not isinstance(item.node, Scalar) or item.node.value is None:
                        report(item.key_line, f"columns: {source}: values: {key!r} must map to one code")
                    else:
                        values[normalise_text(key)] = item.node.text
        scale = None
        if "scale" in value.entries:
            snode = value.entries["scale"].node
            if not (isinstance(snode, Scalar) and snode.tag in ("int", "float") and snode.value != 0):
                report(value.entries["scale"].key_line, f"columns: {source}: scale must be a number (1000: thousands)")
            else:
                scale = snode.value
        if not isinstance(target, Scalar):
            report(entry.key_line, f"columns: {source}: to must be a component id")
            continue
        result.append(ColumnMap(source, target.text, entry.key_line, values, scale))
    return result


def _fixed(spec: SourceSpec, node: Node, line: int, report) -> None:
    if not isinstance(node, Map):
        report(line, "fixed must map components to one value each: FREQ: M")
        return
    for name, entry in node.entries.items():
        if not isinstance(entry.node, Scalar) or entry.node.value is None:
            report(entry.key_line, f"fixed: {name} must be one value")
            continue
        spec.fixed[name] = entry.node.text
        spec.fixed_lines[name] = entry.key_line


def _period(spec: SourceSpec, node: Node, line: int, report) -> None:
    allowed = {"column", "year", "month", "quarter", "calendar", "as", "gregorian", "to"}
    if not isinstance(node, Map):
        report(line, "period must be a mapping: {column: dore, calendar: solar-hijri} or {year: sal, month: mah}")
        return
    values = {}
    for name, entry in node.entries.items():
        if name not in allowed:
            report(entry.key_line, f"period: unknown field {name!r} ({', '.join(sorted(allowed))})")
        elif not isinstance(entry.node, Scalar):
            report(entry.key_line, f"period: {name} must be one value")
        else:
            values[name] = entry.node.text
    cal = values.get("calendar", "gregorian")
    if cal not in CALENDARS:
        report(line, f"period: calendar {cal!r} is not one of {', '.join(CALENDARS)}")
    resolution = values.get("as")
    if resolution is not None and resolution not in RESOLUTIONS:
        report(line, f"period: as {resolution!r} is not one of {', '.join(RESOLUTIONS)}")
    gregorian = values.get("gregorian", "exact")
    if gregorian not in ("exact", "majority"):
        report(line, "period: gregorian is exact (a time range of the Solar Hijri days, the default) or majority")
    if bool(values.get("column")) == bool(values.get("year")):
        report(line, "period: give either column (one column holds the period) or year (with month or quarter)")
    if values.get("month") and values.get("quarter"):
        report(line, "period: give month or quarter, not both")
    if (values.get("month") or values.get("quarter")) and not values.get("year"):
        report(line, "period: month and quarter columns go with a year column")
    spec.period = PeriodRule(calendar=cal, column=values.get("column"), year=values.get("year"),
                             month=values.get("month"), quarter=values.get("quarter"), resolution=resolution,
                             majority=gregorian == "majority")
    spec.period_target = values.get("to", "TIME_PERIOD")
    spec.period_line = line


def _check_targets(spec: SourceSpec, report) -> None:
    seen: dict[str, int] = {}
    for column in spec.columns:
        if column.target in seen:
            report(column.line, f"columns: {column.target} is also fed by the column at line {seen[column.target]}")
        seen[column.target] = column.line
    for name, line in spec.fixed_lines.items():
        if name in seen:
            report(line, f"fixed: {name} is also fed by the column at line {seen[name]}")
    if spec.period is not None and spec.period_target in seen:
        report(spec.period_line, f"period: {spec.period_target} is also fed by the column at line {seen[spec.period_target]}")


def _seconds_text(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
