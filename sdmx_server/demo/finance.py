"""Money flows: contributions collected and short-term benefits paid, by month, at current prices."""

from __future__ import annotations

import numpy as np

from sdmx_server.demo.content import TOTAL, Codelist, ContentError
from sdmx_server.demo.cube import BREAK, Cube, with_totals
from sdmx_server.demo.registers import (
    BREAK_SCHEMES, COMMENT_BREAK_SCHEMES, COMMENT_COVID, COMMENT_ESTIMATED, COMMENT_PROVISIONAL,
    PROVISIONAL_MONTHS, random_cells, monthly_status,
)
from sdmx_server.demo.world import World, seasonal, stream

#: scheme -> contributions per covered person and month, January 2015, IRR million. Employees pay
#: 30 % of wages (with their employer and the state); the special schemes pay less, subsidised.
CONTRIBUTION_RATE = {"MANDATORY": 1.14, "VOLUNTARY": 0.43, "SELF_EMPLOYED": 0.35, "DRIVERS": 0.30,
                     "CONSTRUCTION": 0.25, "CARPET_WEAVERS": 0.12, "DOMESTIC": 0.30, "OTHER": 0.30}
#: collections peak before the Iranian year ends (Esfand) and fall during the Nowruz holidays
COLLECTION_MONTHS = [1.00, 1.06, 1.24, 0.76, 0.97, 0.99, 1.00, 1.00, 0.99, 1.00, 0.99, 1.00]

#: benefit -> beneficiaries a month per million covered (2015), yearly trend, amount per
#: beneficiary (IRR million, January 2015 wages), monthly profile, exceptional months
BENEFITS = {
    "SICKNESS": (2200, 0.010, 2.9, [1.25, 1.2, 1.05, 0.85, 0.9, 0.9, 0.9, 0.9, 0.92, 1.0, 1.08, 1.2],
                 {"2020-03": 1.3, "2020-04": 1.5, "2020-07": 1.4, "2020-11": 1.6, "2021-04": 1.5, "2021-08": 1.7}),
    "MATERNITY": (300, -0.040, 7.0, [1.0] * 12, {}),
    "UNEMPLOYMENT": (3300, 0.000, 6.0, [1.05, 1.05, 1.0, 1.0, 0.97, 0.97, 0.98, 0.98, 1.0, 1.0, 1.0, 1.0],
                     {"2020-04": 2.8, "2020-05": 3.2, "2020-06": 2.4, "2020-07": 1.8, "2020-08": 1.4,
                      "2020-09": 1.25, "2020-10": 1.2, "2020-11": 1.2, "2020-12": 1.15}),
    "MARRIAGE": (380, -0.030, 7.1, [0.72, 0.75, 0.7, 0.85, 1.05, 1.2, 1.32, 1.35, 1.2, 1.0, 0.95, 0.9],
                 {"2020-04": 0.4, "2020-05": 0.7}),
    "FUNERAL": (200, 0.030, 2.8, [1.15, 1.1, 1.0, 0.95, 0.95, 0.95, 0.97, 0.97, 0.95, 0.97, 1.0, 1.1],
                {"2020-04": 1.25, "2020-11": 1.45, "2020-12": 1.2, "2021-04": 1.35, "2021-08": 1.6, "2021-09": 1.3}),
    "MEDICAL_AIDS": (900, 0.020, 1.5, [1.0, 1.0, 0.95, 0.7, 1.0, 1.05, 1.05, 1.05, 1.05, 1.05, 1.0, 1.0],
                     {"2020-04": 0.5, "2020-05": 0.8}),
    "PARTIAL_DISABILITY": (40, 0.000, 60.0, [1.0] * 12, {}),
}
_DEFAULT_BENEFIT = (100, 0.0, 5.0, [1.0] * 12, {})
RECESSION = {"2018-09": 1.1, "2018-10": 1.15, "2018-11": 1.2, "2018-12": 1.2, "2019-01": 1.2, "2019-02": 1.2,
             "2019-03": 1.15, "2019-04": 1.15, "2019-05": 1.1, "2019-06": 1.1, "2019-07": 1.05}
COMMENT_UNEMPLOYMENT = ("افزایش درخواست‌ها پس از تعطیلی‌های کرونا و ثبت‌نام برخط بیمه بیکاری | "
                        'Surge of claims after the COVID-19 closures, with online registration for "unemployment insurance"')


def contributions(world: World, codelists: dict[str, Codelist], covered: np.ndarray, schemes: list[str]) -> Cube:
    """DF_CONTRIBUTIONS (IRR, multiplier 6) from the covered population (P, S, T)."""
    rng = stream(world.seed, "DF_CONTRIBUTIONS")
    P, S, T = covered.shape
    rate = np.array([CONTRIBUTION_RATE.get(s, 0.3) for s in schemes])
    collection = seasonal(world.month, COLLECTION_MONTHS)
    collection *= world.covid({"2020-04": 0.80, "2020-05": 0.90, "2020-06": 1.06})
    year_effect = np.exp(rng.normal(0, 0.02, (P, 1, world.year.max() - world.year.min() + 1)))
    year_effect = year_effect[:, :, world.year - world.year.min()]
    amount = (covered * rate[None, :, None] * world.wage_index[None, None, :] * world.wage_factor[:, None, None]
              * collection[None, None, :] * year_effect * np.exp(rng.normal(0, 0.03, covered.shape)))
    values = np.rint(amount).astype(np.int64)
    estimated = np.zeros(values.shape, dtype=bool)
    events = random_cells(rng, 3, (P, S), T, {world.at("2020-04"), world.at(BREAK_SCHEMES)})
    for p, s, t in events:
        estimated[p, s, t] = True
    axes, (values_ext, estimated_ext) = with_totals(
        {"PROVINCE": world.provinces, "SCHEME": schemes}, [values, estimated], codelists)
    status = monthly_status(estimated_ext, PROVISIONAL_MONTHS)
    cube = Cube(axes, world.months, values_ext, status)
    ir, tot = axes["PROVINCE"].index(codelists["PROVINCE"].roots[0]), axes["SCHEME"].index(TOTAL)
    if "DOMESTIC" in schemes and "OTHER" in schemes:
        t = world.at(BREAK_SCHEMES)
        for scheme in ("DOMESTIC", "OTHER"):
            status[:, axes["SCHEME"].index(scheme), t] = BREAK
            cube.comments[(ir, axes["SCHEME"].index(scheme), t)] = COMMENT_BREAK_SCHEMES
    cube.comments[(ir, tot, world.at("2020-04"))] = COMMENT_COVID
    cube.comments[(ir, tot, T - 1)] = COMMENT_PROVISIONAL
    for p, s, t in events:
        cube.comments[(axes["PROVINCE"].index(world.provinces[p]), axes["SCHEME"].index(schemes[s]), t)] = COMMENT_ESTIMATED
    cube.attributes.update(UNIT_MEASURE="IRR", UNIT_MULT="6", DECIMALS="0")
    return cube


def benefits(world: World, codelists: dict[str, Codelist], covered_total: np.ndarray) -> Cube:
    """DF_BENEFITS: beneficiaries (PERSONS) and amounts (IRR_MN) from the covered population (P, T)."""
    rng = stream(world.seed, "DF_BENEFITS")
    kinds = codelists["BENEFIT"].leaves
    units = ["PERSONS", "IRR_MN"]
    missing = set(units) - set(codelists["UNIT_MEASURE"].ids)
    if missing:
        raise ContentError(f"CL_UNIT_MEASURE lacks {sorted(missing)}")
    P, T = covered_total.shape
    B = len(kinds)
    expected = np.empty((P, B, T))
    per_case = np.empty((B, T))
    for b, kind in enumerate(kinds):
        rate, trend, average, profile, shocks = BENEFITS.get(kind, _DEFAULT_BENEFIT)
        shape = seasonal(world.month, profile) * world.covid(shocks) * np.exp(trend * world.years)
        if kind == "UNEMPLOYMENT":
            shape *= world.covid(RECESSION)
        expected[:, b] = covered_total / 1e6 * rate * shape[None, :]
        per_case[b] = average * world.wage_index
    expected *= np.exp(rng.normal(0, 0.12, (P, B)))[:, :, None]  # local take-up differs
    expected *= np.exp(rng.normal(0, 0.04, expected.shape))
    counts = rng.poisson(expected).astype(np.int64)
    paid = counts * per_case[None] * world.wage_factor[:, None, None] ** 0.5 * np.exp(rng.normal(0, 0.03, counts.shape))
    values = np.stack([counts, np.rint(paid).astype(np.int64)], axis=2)  # (P, B, U, T)
    estimated = np.zeros(values.shape, dtype=bool)
    events = random_cells(rng, 2, (P,), T, set())
    for p, t in events:
        estimated[p, ..., t] = True
    axes, (values_ext, estimated_ext) = with_totals(
        {"PROVINCE": world.provinces, "BENEFIT": kinds, "UNIT_MEASURE": units}, [values, estimated],
        {k: v for k, v in codelists.items() if k != "UNIT_MEASURE"})
    cube = Cube(axes, world.months, values_ext, monthly_status(estimated_ext, PROVISIONAL_MONTHS))
    ir, tot = axes["PROVINCE"].index(codelists["PROVINCE"].roots[0]), axes["BENEFIT"].index(TOTAL)
    if "UNEMPLOYMENT" in kinds:
        for u in range(len(units)):
            cube.comments[(ir, axes["BENEFIT"].index("UNEMPLOYMENT"), u, world.at("2020-05"))] = COMMENT_UNEMPLOYMENT
    for u in range(len(units)):
        cube.comments[(ir, tot, u, T - 1)] = COMMENT_PROVISIONAL
    for p, t in events:
        cube.comments[(axes["PROVINCE"].index(world.provinces[p]), tot, 0, t)] = COMMENT_ESTIMATED
    cube.attributes.update(UNIT_MULT="0", DECIMALS="0")
    return cube
