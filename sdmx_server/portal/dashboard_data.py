"""What the dashboard shows, read through the asker's gate like any API answer (service/tables.py):
each unit's latest value of each indicator and its trend from DF_KPI, the status and the norm it
was judged against from DF_KPI_STATUS (the server's one rule, processing/kpi_status.py: the page
never judges a value itself), and the ranking of the provincial directorates.

Published values only: a status is computed from published data, so the values beside it are
the published ones too, whoever asks. Who may not read DF_KPI_STATUS (it carries the norms,
restricted) sees values and trends, without norms, statuses or ranking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from urllib.parse import quote

from sdmx_server.access.gate import Gate
from sdmx_server.persian.numbers import Lang
from sdmx_server.portal.render import link
from sdmx_server.portal.values import ValueFormat, flag
from sdmx_server.processing.derived import KPI, KPI_NORMS, KPI_STATUS
from sdmx_server.processing.kpi_status import Rank, Status, ranking
from sdmx_server.service.data import DataState
from sdmx_server.service.tables import read_table

#: How many periods the trend line shows (two years of quarters).
TREND_PERIODS = 8
PROVINCE_PREFIX = "PD_"
#: What CL_ORG_UNIT's names of the provincial directorates share, in either language.
_DIRECTORATE_AFFIXES = ("اداره کل تأمین اجتماعی استان ", " Provincial Directorate")


def explorer_url(lang: Lang, flow: tuple[str, str, str], key: str) -> str:
    """The data explorer on one series (drill-down): `key` is the REST v2 key of the series."""
    agency, flow_id, version = flow
    return link(lang, f"/dataflow/{agency}/{flow_id}/{version}?key={quote(key, safe='.+*')}")


@dataclass
class Figure:
    """One unit's indicator in its latest period, with what stands behind it."""

    unit: str
    indicator: str
    period: str
    value: float
    obs_status: str
    unit_measure: str
    decimals: int | None
    trend: list[float | None] = field(default_factory=list)
    trend_periods: list[str] = field(default_factory=list)
    status: Status | None = None
    lower: float | None = None
    upper: float | None = None
    target: float | None = None
    good: str | None = None

    @property
    def key(self) -> str:
        return f"Q.{self.unit}.{self.indicator}"

    def links(self, lang: Lang) -> dict[str, str]:
        return {"value": explorer_url(lang, KPI, self.key),
                "norm": explorer_url(lang, KPI_NORMS, f"A.{self.unit}.{self.indicator}.*"),
                "status": explorer_url(lang, KPI_STATUS, self.key)}

    def fmt(self, value: float | None, lang: Lang) -> str:
        return ValueFormat(decimals=self.decimals).format(value, lang)


@dataclass
class Dashboard:
    units: list[str]  # in CL_ORG_UNIT's order, those with data
    indicators: list[str]
    names: dict[str, dict[str, dict[str, str]]]  # component -> code -> texts
    figures: dict[tuple[str, str], Figure]  # (unit, indicator) -> figure
    statuses_shown: bool  # the asker reads DF_KPI_STATUS
    ranking: list[Rank]
    latest_period: str

    def name(self, component: str, code: str, lang: Lang) -> str:
        texts = self.names.get(component, {}).get(code) or {}
        return texts.get(lang) or texts.get("en") or next(iter(texts.values()), code)

    def short_name(self, unit: str, lang: Lang) -> str:
        """A directorate's name without the words every one of them shares ("Isfahan"), for
        narrow columns and the map; other units keep their names."""
        name = self.name("ORG_UNIT", unit, lang)
        if unit.startswith(PROVINCE_PREFIX):
            for affix in _DIRECTORATE_AFFIXES:
                name = name.replace(affix, "")
        return name.strip()

    @property
    def provinces(self) -> list[str]:
        return [u for u in self.units if u.startswith(PROVINCE_PREFIX)]

    @property
    def headquarters(self) -> list[str]:
        return [u for u in self.units if not u.startswith(PROVINCE_PREFIX)]


def _number(x) -> float | None:
    if x is None or x == "":
        return None
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def build(state: DataState, gate: Gate) -> Dashboard | None:
    """The dashboard for `gate`'s principal; None when it reads no DF_KPI data at all."""
    kpi = read_table(state, KPI, gate, labels=True, embargoed=False)
    if kpi is None:
        return None
    rows = kpi.rows.to_pydict()
    names = {c: {code: dict(t) for code, t in codes.items()} for c, codes in (kpi.labels.codes.items() if kpi.labels else ())}
    series: dict[tuple[str, str], list[int]] = {}
    for i, (unit, indicator) in enumerate(zip(rows["ORG_UNIT"], rows["INDICATOR"])):
        series.setdefault((unit, indicator), []).append(i)
    figures: dict[tuple[str, str], Figure] = {}
    for (unit, indicator), index in series.items():
        index.sort(key=lambda i: rows["TIME_PERIOD"][i])
        last = index[-1]
        recent = index[-TREND_PERIODS:]
        decimals = _number(rows.get("DECIMALS", [None] * (last + 1))[last])
        figures[(unit, indicator)] = Figure(
            unit, indicator, rows["TIME_PERIOD"][last], rows["OBS_VALUE"][last],
            flag(rows.get("OBS_STATUS", [""] * (last + 1))[last]),
            rows.get("UNIT_MEASURE", [""] * (last + 1))[last] or "",
            int(decimals) if decimals is not None else None,
            [_number(rows["OBS_VALUE"][i]) for i in recent], [rows["TIME_PERIOD"][i] for i in recent])
    statuses = read_table(state, KPI_STATUS, gate, labels=True, embargoed=False)
    shown = statuses is not None
    if statuses is not None:
        if statuses.labels:
            names.setdefault("KPI_STATUS", {}).update({code: dict(t) for code, t in
                                                        statuses.labels.codes.get("KPI_STATUS", {}).items()})
        s = statuses.rows.to_pydict()
        for i, (unit, indicator, period) in enumerate(zip(s["ORG_UNIT"], s["INDICATOR"], s["TIME_PERIOD"])):
            figure = figures.get((unit, indicator))
            if figure is None or figure.period != period:
                continue
            figure.status = s["KPI_STATUS"][i]
            figure.lower, figure.upper = _number(s["NORM_LOWER"][i]), _number(s["NORM_UPPER"][i])
            figure.target, figure.good = _number(s["NORM_TARGET"][i]), s["GOOD_DIRECTION"][i] or None
    order = {code: i for i, code in enumerate(names.get("ORG_UNIT", {}))}
    units = sorted({u for u, _ in figures}, key=lambda u: (order.get(u, len(order)), u))
    order_i = {code: i for i, code in enumerate(names.get("INDICATOR", {}))}
    indicators = sorted({i for _, i in figures}, key=lambda i: (order_i.get(i, len(order_i)), i))
    ranked = ranking((f.unit, f.status) for f in figures.values()
                     if f.status is not None and f.unit.startswith(PROVINCE_PREFIX)) if shown else []
    latest = max(f.period for f in figures.values())
    return Dashboard(units, indicators, names, figures, shown, ranked, latest)
