"""What the explorer shows of a selection, from the same services as the API and through the
asker's gate: the codes still available (service/availability.py, mode `available`: a code
whose choice would give no data is never offered), the counts and the time range, and the
observations (service/data.py) as a pivot table (series down, time across) and chart series.

Never SQL: `resolve` narrows the query to the part of the dataflow the asker may read, exactly
as for the REST API, so the page shows what the API answers the same person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from sdmx_server.api.answers import close_batches
from sdmx_server.api.embargo_view import reads_embargoed
from sdmx_server.errors import NoResults
from sdmx_server.formats.data_message import Labels
from sdmx_server.persian.numbers import Lang
from sdmx_server.portal.explorer_query import TIME, Selection
from sdmx_server.portal.values import PeriodLabel, ValueFormat, flag, period_label, status_legend
from sdmx_server.service.availability import availability, plan_of
from sdmx_server.service.data import execute, resolve

#: Larger selections are not drawn (the page stays fast); they may still be downloaded.
MAX_OBSERVATIONS = 50_000
MAX_SERIES = 400
_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class Available:
    """Codes a choice may still take per dimension, and what the selection holds."""

    codes: dict[str, list[str]]
    obs_count: int
    series_count: int
    first: datetime | None  # start of the first period
    last: datetime | None  # start of the last day of the last period
    #: dimension -> code -> observations with that choice (when asked for)
    per_code: dict[str, dict[str, int]] = field(default_factory=dict)


def available(state, gate, selection: Selection, per_code: bool = False) -> Available:
    query = selection.availability_query()
    try:
        plan = plan_of(state, query, gate)
        answers = availability(state, query, plan, reads_embargoed(gate), per_code=per_code)
    except NoResults:
        return Available({}, 0, 0, None, None)
    answer = answers[0]
    first = last = None
    if answer.time_range is not None:
        first = _EPOCH + timedelta(microseconds=answer.time_range[0])
        last = _EPOCH + timedelta(microseconds=answer.time_range[1]) - timedelta(days=1)
    return Available(answer.codes, answer.obs_count, answer.series_count, first, last, answer.per_code)


@dataclass
class Cell:
    value: float | None
    text: str
    full: str  # the value in the unit itself (UNIT_MULT applied), for a tooltip
    flag: str


@dataclass
class Row:
    key: dict[str, str]  # dimension -> code, for every dimension
    heads: list[str]  # the row's header cells (the varying dimensions), as labels say
    cells: list[Cell]
    scale: str


@dataclass
class Table:
    dimensions: list[str]  # the dimensions that vary (row headers)
    fixed: list[tuple[str, str]]  # (dimension name, code label) of those with one code
    periods: list[PeriodLabel]
    rows: list[Row]
    legend: list = field(default_factory=list)
    explain: str = ""
    chart: dict[str, Any] = field(default_factory=dict)
    obs_count: int = 0


def table(state, gate, selection: Selection, lang: Lang, codelists: dict[str, dict[str, tuple]]) -> Table | None:
    """The selection's observations, pivoted; None when it holds none. `codelists`: the
    OBS_STATUS codelist's texts {code: (name, description)} under "OBS_STATUS"."""
    query = selection.data_query()
    try:
        plan = resolve(state, query, labels=True, gate=gate)
        message = execute(state, plan, reads_embargoed(gate))
    except NoResults:
        return None
    part = message.datasets[0]
    try:
        batches = list(part.batches)
    finally:
        close_batches(message)  # the database cursor goes back now, not at garbage collection
    if not batches:
        return None
    data = pa.Table.from_batches(batches).to_pandas()
    labels = part.labels or Labels()
    dims = list(part.shape.dimension_ids)
    return pivot(data, dims, labels, selection, lang, codelists.get("OBS_STATUS", {}))


def label(labels: Labels, component: str, code: str, mode: str, lang: Lang) -> str:
    """A code as the table's labels say: its name, its id, or both. The id is isolated
    (U+2068..U+2069) so that `_T` stays `_T` in a right-to-left line."""
    name = labels.pick(labels.codes.get(component, {}).get(code), [lang])
    shown = f"\u2068{code}\u2069"
    if mode == "id" or not name:
        return shown
    return name if mode == "name" else f"{shown}: {name}"


def pivot(data, dims: list[str], labels: Labels, selection: Selection, lang: Lang, statuses) -> Table:
    periods = sorted(data[TIME].unique())
    varying = [d for d in dims if data[d].nunique() > 1]
    fixed = [(labels.pick(labels.components.get(d), [lang]) or d, label(labels, d, str(data[d].iloc[0]),
                                                                           selection.labels, lang))
             for d in dims if d not in varying]
    names = {d: labels.pick(labels.components.get(d), [lang]) or d for d in dims}
    at = {p: i for i, p in enumerate(periods)}
    code_names = {a: labels.codes.get(a, {}) for a in ("UNIT_MULT", "UNIT_MEASURE")}
    rows: list[Row] = []
    used_status: list[str] = []
    formats: list[ValueFormat] = []
    for key, group in data.groupby(dims, sort=False, observed=True):
        key = key if isinstance(key, tuple) else (key,)
        first = group.iloc[0]
        fmt = ValueFormat.of({a: first.get(a) for a in ("DECIMALS", "UNIT_MULT", "UNIT_MEASURE")}, code_names)
        formats.append(fmt)
        cells = [Cell(None, "", "", "") for _ in periods]
        for period, value, status in zip(group[TIME], group["OBS_VALUE"],
                                         group["OBS_STATUS"] if "OBS_STATUS" in group else [None] * len(group)):
            number = None if value is None or value != value else float(value)
            mark = flag(status)
            used_status.append(status)
            cells[at[period]] = Cell(number, fmt.format(number, lang), fmt.format_full(number, lang), mark)
        codes = dict(zip(dims, (str(k) for k in key)))
        heads = [label(labels, d, codes[d], selection.labels, lang) for d in varying]
        rows.append(Row(codes, heads, cells, fmt.scale(lang)))
    rows.sort(key=lambda r: [list(labels.codes.get(d, {})).index(r.key[d]) if r.key[d] in labels.codes.get(d, {})
                             else 10**6 for d in varying] + [r.key[d] for d in varying])
    period_labels = [period_label(str(p), lang) for p in periods]
    explain = formats[0].explain(lang) if formats and all(f == formats[0] for f in formats) else ""
    result = Table([names[d] for d in varying], fixed, period_labels, rows,
                   status_legend(used_status, statuses, lang), explain, obs_count=len(data))
    result.chart = chart(result, selection, lang, formats[0] if formats else ValueFormat())
    return result


def chart(result: Table, selection: Selection, lang: Lang, fmt: ValueFormat) -> dict[str, Any]:
    """The chart's data for static/explorer.js: lines over time (one per row), or bars across
    the rows at the latest period with a value (provinces side by side)."""
    x = [p.gregorian for p in result.periods]  # short ticks; the hover names both calendars
    names = [" · ".join(r.heads) or (result.fixed[-1][1] if result.fixed else "") for r in result.rows]
    if selection.chart == "line":
        series = [{"name": n, "x": x, "y": [c.value for c in r.cells],
                   "text": [f"{p}: {c.text}{(' ' + c.flag) if c.flag else ''}" for p, c in zip(result.periods, r.cells)]}
                  for n, r in zip(names, result.rows)]
        title = ""
    else:
        latest = max((i for r in result.rows for i, c in enumerate(r.cells) if c.value is not None), default=None)
        series = [] if latest is None else [{
            "name": str(result.periods[latest]), "x": names,
            "y": [r.cells[latest].value for r in result.rows], "text": [r.cells[latest].text for r in result.rows]}]
        title = str(result.periods[latest]) if latest is not None else ""
    return {"kind": selection.chart, "series": series, "title": title, "yTitle": fmt.scale(lang),
            "rtl": lang == "fa"}
