"""The dashboard: each unit's indicators by quarter (DF_KPI) and their yearly norms (DF_KPI_NORMS).

Units: the organisation (root of CL_ORG_UNIT) has every indicator, organisation-wide; each
provincial directorate (PD_ + province code) has every indicator except MEDICAL_CLAIM_DAYS (the
provinces' health administrations answer to the health deputy, not to the directorate); each
headquarters deputy has only the indicators it owns, measured on the cases headquarters handles.

Values mostly sit near the norms: a norm is set from the national path and half of the unit's
track record, so most units land in their range, while a few units, clearly better or worse
than their peers on every indicator, land outside. The support ratio and the coverage rate
come from the registers (insured, pensioners) rather than from a path of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdmx_server.demo.content import Codelist, ContentError
from sdmx_server.demo.cube import BREAK, ESTIMATED, NORMAL, PROVISIONAL, Cube
from sdmx_server.demo.world import FIRST_YEAR, LAST_YEAR, World, stream


@dataclass(frozen=True)
class Indicator:
    unit: str  # UNIT_MEASURE
    good: str  # UP or DOWN
    scale: str  # where effects add up: "pp" (percentage points), "log" or "logit"
    strength: float  # effect of a clearly better (or worse) unit
    spread: float  # sd of a unit's own lasting effect
    noise: float  # sd of quarter-to-quarter noise
    band: float  # half-width of the norm's range, on the same scale


INDICATORS = {
    "SUPPORT_RATIO": Indicator("RATIO", "UP", "log", 0.0, 0.0, 0.0, 0.05),
    "COVERAGE_RATE": Indicator("PERCENT", "UP", "log", 0.0, 0.0, 0.0, 0.04),
    "COLLECTION_RATE": Indicator("PERCENT", "UP", "pp", 4.0, 1.0, 0.8, 3.0),
    "PENSION_CLAIM_DAYS": Indicator("DAYS", "DOWN", "log", 0.28, 0.07, 0.06, 0.15),
    "E_SERVICE_SHARE": Indicator("PERCENT", "UP", "logit", 0.55, 0.15, 0.06, 0.25),
    "ADMIN_COST_SHARE": Indicator("PERCENT", "DOWN", "log", 0.18, 0.05, 0.04, 0.10),
    "MEDICAL_CLAIM_DAYS": Indicator("DAYS", "DOWN", "log", 0.0, 0.05, 0.05, 0.25),
    "DISPUTE_DAYS": Indicator("DAYS", "DOWN", "log", 0.28, 0.08, 0.07, 0.18),
}
_DEFAULT_INDICATOR = Indicator("PERCENT", "UP", "logit", 0.4, 0.15, 0.06, 0.25)
#: deputy -> (indicators it owns, level at headquarters relative to the organisation's)
DEPUTIES = {
    "DEP_REVENUE": (["COLLECTION_RATE"], 1.02),
    "DEP_INSURED": (["PENSION_CLAIM_DAYS"], 1.35),
    "DEP_HEALTH": (["MEDICAL_CLAIM_DAYS"], 1.0),
    "DEP_ECONOMIC": (["ADMIN_COST_SHARE"], 0.22),
    "DEP_RESOURCES": (["E_SERVICE_SHARE"], 1.0),
    "DEP_LEGAL": (["DISPUTE_DAYS"], 1.4),
}
NOT_PROVINCIAL = {"MEDICAL_CLAIM_DAYS"}
EMPLOYED_2015 = 23.0e6
E_SERVICE_BREAK = "2021-Q1"

COMMENT_E_SERVICE = ("شکست سری: از ۱۴۰۰ درخواست‌های ثبت‌شده در برنامه همراه «تأمین من» نیز خدمت الکترونیک "
                     "شمرده می‌شود | Series break: from 2021, requests made in the \"Ta'min-e Man\" mobile app "
                     "also count as e-services")
COMMENT_WORSE = ("زیر حد هنجار: کمبود نیروی انسانی و انتقال پرونده‌ها به سامانه جدید | Outside the norm: "
                 'staff shortage, and case files moving to the new "integrated services" system')
COMMENT_BETTER = ("بهتر از هدف: ارائه کامل خدمات غیرحضوری | Better than the target: every service offered "
                  '"without visiting a branch"')
COMMENT_MEDICAL = ("تأخیر در پرداخت اسناد مراکز طرف قرارداد به دلیل کمبود نقدینگی | Payments to contracted "
                   'providers delayed by a cash shortfall, the "government debt" to the organisation unpaid')
COMMENT_ESTIMATED = ("برآوردی: داده‌های اداره کل در موعد نرسید | Estimated: the directorate's figures "
                     "arrived after the deadline")
COMMENT_TARGET_2022 = ("هدف پس از افزایش ۵۷ درصدی حداقل دستمزد در سال ۱۴۰۱ بازنگری شد | Target revised after "
                       'the 57% rise of the minimum wage in 1401, "to keep the norm attainable"')
COMMENT_MEDICAL_NORM = ("هدف برابر مهلت قراردادی پرداخت اسناد است | The target is the contractual payment term, "
                        '"45 days from receipt of the claim"')


def _forward(scale: str, v):
    if scale == "log":
        return np.log(v)
    if scale == "logit":
        p = np.clip(np.asarray(v) / 100, 1e-4, 1 - 1e-4)
        return np.log(p / (1 - p))
    return np.asarray(v, dtype=float)


def _inverse(scale: str, x):
    if scale == "log":
        return np.exp(x)
    if scale == "logit":
        return 100 / (1 + np.exp(-x))
    return x


def _at_level(scale: str, path: np.ndarray, level: float) -> np.ndarray:
    """A deputy's path: the organisation's, scaled to headquarters' level."""
    if scale == "log":
        return path + np.log(level)
    if scale == "pp":
        return path * level
    return path


def national_path(indicator: str, years: np.ndarray, quarter: np.ndarray, periods: list[str]) -> np.ndarray:
    """The organisation-wide value of an indicator whose values do not come from the registers."""
    covid = np.array([p == "2020-Q2" for p in periods])
    if indicator == "COLLECTION_RATE":
        return 88 + 4 * years / 11 + np.array([2.0, -2.5, 0.0, 0.5])[quarter] - 8 * covid
    if indicator == "PENSION_CLAIM_DAYS":
        return 45 * np.exp(-0.09 * years) * np.where(covid, 1.25, 1.0)
    if indicator == "E_SERVICE_SHARE":
        after_break = np.array([p >= E_SERVICE_BREAK for p in periods])
        return 8 + 80 / (1 + np.exp(-(years - 5.5) / 1.3)) + 6 * covid + 3 * after_break
    if indicator == "ADMIN_COST_SHARE":
        return 9.0 * np.exp(-0.035 * years) * np.array([0.97, 1.05, 0.98, 1.0])[quarter]
    if indicator == "MEDICAL_CLAIM_DAYS":
        return np.interp(years, [0, 3, 8.5, 11], [55, 55, 95, 78])
    if indicator == "DISPUTE_DAYS":
        return 120 * np.exp(-0.05 * years)
    return 40 + 4 * years  # an indicator the generator does not know: a plain rising share


def indicator_params(codelist: Codelist) -> dict[str, Indicator]:
    """The model of each indicator, with the unit and direction its code's annotations give."""
    params = {}
    for code in codelist.codes:
        base = INDICATORS.get(code.id, _DEFAULT_INDICATOR)
        unit = code.annotations.get("UNIT_MEASURE", base.unit)
        good = code.annotations.get("GOOD_DIRECTION", base.good)
        if good not in ("UP", "DOWN"):
            raise ContentError(f"CL_INDICATOR {code.id}: GOOD_DIRECTION {good!r} is neither UP nor DOWN")
        params[code.id] = Indicator(unit, good, *[getattr(base, f) for f in ("scale", "strength", "spread", "noise", "band")])
    return params


def kpi(world: World, codelists: dict[str, Codelist], main_insured: np.ndarray, pensioners: np.ndarray,
        norm_codelists: dict[str, Codelist]) -> tuple[Cube, Cube]:
    rng = stream(world.seed, "DF_KPI")
    org = codelists["ORG_UNIT"]
    indicators = codelists["INDICATOR"].ids
    params = indicator_params(codelists["INDICATOR"])
    units = org.ids
    root = org.roots[0]
    province_of = {f"PD_{p}": i for i, p in enumerate(world.provinces)}
    U, I = len(units), len(indicators)
    periods = [f"{y}-Q{q}" for y in range(FIRST_YEAR, LAST_YEAR + 1) for q in range(1, 5)]
    Q = len(periods)
    ends = np.arange(Q) * 3 + 2  # last month of each quarter
    years = (np.arange(Q) * 3 + 1) / 12.0
    quarter = np.arange(Q) % 4
    year_of = np.array([int(p[:4]) for p in periods])

    applies = np.zeros((U, I), dtype=bool)
    level = np.ones(U)  # deputies: headquarters' level relative to the organisation
    for u, unit in enumerate(units):
        if unit == root:
            applies[u] = True
        elif unit in province_of:
            applies[u] = [i not in NOT_PROVINCIAL for i in indicators]
        else:
            owned, level[u] = DEPUTIES.get(unit, (["E_SERVICE_SHARE"], 1.0))
            applies[u] = [i in owned for i in indicators]
    if not applies.any(axis=1).all():
        raise ContentError(f"CL_ORG_UNIT: no indicator applies to {[units[u] for u in np.flatnonzero(~applies.any(axis=1))]}")

    # units clearly better (+1) or worse (-1) than their peers, on every indicator they have
    quality = rng.choice([-1, 0, 1], size=U, p=[0.15, 0.7, 0.15]).astype(float)
    quality[units.index(root)] = 0
    own = rng.normal(0, 1, (U, I))
    sign = np.array([1.0 if params[i].good == "UP" else -1.0 for i in indicators])
    main_q, pens_q = main_insured[:, ends], pensioners[:, ends]
    # wage employment is denser where industry is: the employed follow population and coverage
    employed_share = world.population * world.coverage ** 0.5 * np.exp(rng.normal(0, 0.05, len(world.provinces)))
    employed = (EMPLOYED_2015 * np.exp(0.008 * world.years[ends])[None, :]
                * (employed_share / employed_share.sum())[:, None])
    pd_rows = [(u, province_of[unit]) for u, unit in enumerate(units) if unit in province_of]
    weights = main_q[[p for _, p in pd_rows]]  # the organisation's value: PDs weighted by insured

    values = np.full((U, I, Q), np.nan)
    targets = np.full((U, I, Q), np.nan)  # on the indicator's scale: where the norm centres
    for i, ind in enumerate(indicators):
        par = params[ind]
        if ind in ("SUPPORT_RATIO", "COVERAGE_RATE"):
            if ind == "SUPPORT_RATIO":
                per_province, country = main_q / pens_q, main_q.sum(0) / pens_q.sum(0)
            else:
                per_province, country = 100 * main_q / employed, 100 * main_q.sum(0) / employed.sum(0)
            for u, p in pd_rows:
                values[u, i] = per_province[p]
            values[units.index(root), i] = country
            continue
        path = _forward(par.scale, national_path(ind, years, quarter, periods))
        for u, unit in enumerate(units):
            if not applies[u, i]:
                continue
            lasting = sign[i] * (quality[u] * par.strength + own[u, i] * par.spread)
            centre = _at_level(par.scale, path, level[u])
            if unit == root:
                continue
            values[u, i] = _inverse(par.scale, centre + lasting + rng.normal(0, par.noise, Q))
            targets[u, i] = centre + sign[i] * 0.5 * own[u, i] * par.spread
        r = units.index(root)
        if ind in NOT_PROVINCIAL:
            values[r, i] = _inverse(par.scale, path + rng.normal(0, par.noise, Q))
        else:
            pd_values = values[[u for u, _ in pd_rows], i]
            values[r, i] = (pd_values * weights).sum(0) / weights.sum(0)
        targets[r, i] = path
    values = np.where(np.isnan(values), 0.0, values)
    for i, ind in enumerate(indicators):
        if params[ind].unit == "PERCENT":
            values[:, i] = np.clip(values[:, i], 0, 99.9)
    values = np.round(values, 2)

    status = np.full((U, I, Q), NORMAL, dtype=np.int8)
    comments: dict[tuple[int, ...], str] = {}
    pd_units = [u for u, _ in pd_rows]
    for _ in range(2):
        u = pd_units[int(rng.integers(len(pd_units)))]
        q = int(rng.integers(4, Q - 1))
        status[u, :, q] = ESTIMATED
        status[units.index(root), :, q] = np.where(np.isin(indicators, list(NOT_PROVINCIAL)), status[units.index(root), :, q], ESTIMATED)
        comments[(u, int(np.flatnonzero(applies[u])[0]), q)] = COMMENT_ESTIMATED
    if "E_SERVICE_SHARE" in indicators:
        i = indicators.index("E_SERVICE_SHARE")
        status[:, i, periods.index(E_SERVICE_BREAK)] = BREAK
        comments[(units.index(root), i, periods.index(E_SERVICE_BREAK))] = COMMENT_E_SERVICE
    status[..., -1] = PROVISIONAL
    if "MEDICAL_CLAIM_DAYS" in indicators:
        comments[(units.index(root), indicators.index("MEDICAL_CLAIM_DAYS"), periods.index("2023-Q2"))] = COMMENT_MEDICAL
    for flag, text in ((-1, COMMENT_WORSE), (1, COMMENT_BETTER)):
        chosen = [u for u in pd_units if quality[u] == flag][:2]
        for u in chosen:
            i = next(i for i in range(I) if applies[u, i] and params[indicators[i]].strength > 0)
            comments[(u, i, Q - 2)] = text
    unit_of = {i: params[i].unit for i in indicators}
    kpi_cube = Cube({"ORG_UNIT": units, "INDICATOR": indicators}, periods, values, status,
                    applies[:, :, None], comments,
                    {"UNIT_MEASURE": ("INDICATOR", unit_of), "UNIT_MULT": "0", "DECIMALS": "2"})
    norms = _norms(indicators, params, units, root, applies, values, targets, year_of, norm_codelists, sign)
    return kpi_cube, norms


def _norms(indicators, params, units, root, applies, values, targets, year_of, codelists, sign) -> Cube:
    bounds = codelists["NORM_BOUND"].ids
    if sorted(bounds) != ["LOWER", "TARGET", "UPPER"]:
        raise ContentError(f"CL_NORM_BOUND should have LOWER, UPPER and TARGET, not {bounds}")
    years = list(range(FIRST_YEAR, LAST_YEAR + 1))
    U, I, Y = len(units), len(indicators), len(years)
    out = np.zeros((U, I, 3, Y))
    for i, ind in enumerate(indicators):
        par = params[ind]
        for y, year in enumerate(years):
            in_year = year_of == year
            if ind in ("SUPPORT_RATIO", "COVERAGE_RATE"):
                # projected from the last quarter of the year before, at the national trend
                before = np.flatnonzero(year_of == year - 1)
                base = values[:, i, before[-1]] if len(before) else values[:, i, np.flatnonzero(in_year)[0]]
                change = -0.035 if ind == "SUPPORT_RATIO" else 0.012
                centre = np.log(np.maximum(base, 1e-6)) + change * (1.0 if len(before) else 0.3)
            else:
                centre = targets[:, i, in_year].mean(axis=1) + sign[i] * (0.2 * par.band)
                if ind == "COLLECTION_RATE" and year == 2022:
                    centre = centre - 1.0
            if ind == "MEDICAL_CLAIM_DAYS":
                centre = np.full(U, np.log(45.0))
            low, high = _inverse(par.scale, centre - par.band), _inverse(par.scale, centre + par.band)
            target = _inverse(par.scale, centre)
            if par.unit == "PERCENT":
                low, high, target = (np.clip(v, 0, 100) for v in (low, high, target))
            out[:, i, bounds.index("LOWER"), y] = low
            out[:, i, bounds.index("UPPER"), y] = high
            out[:, i, bounds.index("TARGET"), y] = target
    out = np.round(np.where(np.isfinite(out), out, 0.0), 2)
    comments = {}
    r = units.index(root)
    if "COLLECTION_RATE" in indicators and 2022 in years:
        comments[(r, indicators.index("COLLECTION_RATE"), bounds.index("TARGET"), years.index(2022))] = COMMENT_TARGET_2022
    if "MEDICAL_CLAIM_DAYS" in indicators:
        comments[(r, indicators.index("MEDICAL_CLAIM_DAYS"), bounds.index("TARGET"), 0)] = COMMENT_MEDICAL_NORM
    return Cube({"ORG_UNIT": units, "INDICATOR": indicators, "NORM_BOUND": bounds}, [str(y) for y in years], out,
                np.full(out.shape, NORMAL, dtype=np.int8), applies[:, :, None, None], comments,
                {"UNIT_MEASURE": ("INDICATOR", {i: params[i].unit for i in indicators}),
                 "GOOD_DIRECTION": ("INDICATOR", {i: params[i].good for i in indicators}),
                 "UNIT_MULT": "0", "DECIMALS": "2"})
