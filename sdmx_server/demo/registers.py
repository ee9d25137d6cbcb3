"""Stocks from the registers: insured persons, pensioners and covered workplaces, by month."""

from __future__ import annotations

import re
import numpy as np

from sdmx_server.demo.content import TOTAL, Codelist, ContentError
from sdmx_server.demo.cube import BREAK, ESTIMATED, NORMAL, PROVISIONAL, Cube, with_totals
from sdmx_server.demo.world import World, random_walk, stream

PROVISIONAL_MONTHS = 3
COVERED_2015 = 39.5e6  # main insured and dependants, January 2015
BREAK_SCHEMES = "2019-04"  # domestic workers split out of "other schemes"
BREAK_ACTIVITIES = "2018-04"  # households employing domestic staff moved from S to T

#: scheme -> share of the covered in 2015, yearly growth, male share, age tilt (+ = older)
SCHEMES = {
    "MANDATORY": (0.660, 0.013, 0.55, 0.00),
    "VOLUNTARY": (0.070, 0.008, 0.50, 0.60),
    "SELF_EMPLOYED": (0.090, 0.030, 0.56, 0.20),
    "DRIVERS": (0.060, 0.020, 0.58, 0.15),
    "CONSTRUCTION": (0.060, 0.025, 0.60, -0.10),
    "CARPET_WEAVERS": (0.025, -0.010, 0.40, 0.30),
    "DOMESTIC": (0.005, 0.040, 0.30, 0.10),
    "OTHER": (0.030, 0.020, 0.52, 0.00),
}
_DEFAULT_SCHEME = (0.01, 0.02, 0.5, 0.0)

#: Provinces where hand-made carpets are woven (more carpet weavers insured) or hardly at all.
CARPET_PROVINCES = {"IR-03": 3.0, "IR-04": 2.0, "IR-09": 2.5, "IR-29": 3.0, "IR-28": 2.0, "IR-10": 2.0,
                    "IR-08": 2.0, "IR-13": 2.0, "IR-19": 2.5, "IR-24": 2.0, "IR-07": 2.0, "IR-27": 2.5,
                    "IR-23": 0.2, "IR-30": 0.5, "IR-18": 0.3, "IR-22": 0.5}

#: pension type -> pensioners in January 2015, yearly growth, male share
PENSIONS = {"OLD_AGE": (1.55e6, 0.060, 0.86), "DISABILITY": (0.17e6, 0.025, 0.88),
            "SURVIVORS": (0.68e6, 0.032, 0.12)}
_DEFAULT_PENSION = (0.05e6, 0.03, 0.5)
#: share of a year's new pensions granted in each month (retirements cluster after Nowruz)
PENSION_MONTHS = [0.07, 0.07, 0.06, 0.16, 0.11, 0.08, 0.08, 0.08, 0.08, 0.07, 0.07, 0.07]

WORKPLACES_2015 = 1.9e6
#: ISIC section -> share of covered workplaces in 2015, yearly growth
SECTIONS = {"A": (0.030, 0.010), "B": (0.004, 0.010), "C": (0.150, 0.015), "D": (0.002, 0.020),
            "E": (0.003, 0.030), "F": (0.120, 0.010), "G": (0.300, 0.020), "H": (0.060, 0.025),
            "I": (0.050, 0.030), "J": (0.015, 0.060), "K": (0.010, 0.020), "L": (0.020, 0.020),
            "M": (0.040, 0.040), "N": (0.030, 0.030), "O": (0.005, 0.005), "P": (0.020, 0.030),
            "Q": (0.030, 0.040), "R": (0.008, 0.030), "S": (0.070, 0.020), "T": (0.015, 0.050),
            "U": (0.0001, 0.0)}
#: section -> {province: relative weight}: where activities concentrate
SECTION_PROVINCES = {
    "A": {"IR-27": 2.0, "IR-06": 1.5, "IR-07": 1.5, "IR-02": 1.8, "IR-01": 1.8, "IR-23": 0.4},
    "B": {"IR-08": 3.0, "IR-21": 2.5, "IR-06": 2.0, "IR-18": 2.0, "IR-20": 2.0, "IR-23": 0.3},
    "I": {"IR-09": 1.8, "IR-25": 1.6, "IR-10": 1.3, "IR-02": 1.6, "IR-01": 1.4, "IR-22": 1.4},
    "J": {"IR-23": 2.5}, "K": {"IR-23": 2.0}, "O": {"IR-23": 2.5},
    "U": {"IR-23": 40.0, "IR-09": 2.0, "IR-03": 1.5, "IR-11": 1.5, "IR-10": 1.0, "IR-22": 1.0},
}


def dependants_factor(world: World) -> np.ndarray:
    """Covered persons per main insured person: households shrink slowly."""
    return 2.95 - 0.02 * world.years


def age_bounds(code: str) -> tuple[int, int]:
    if m := re.fullmatch(r"Y(\d+)T(\d+)", code):
        return int(m[1]), int(m[2]) + 1
    if m := re.fullmatch(r"Y_LT(\d+)", code):
        return 0, int(m[1])
    if m := re.fullmatch(r"Y_GE(\d+)", code):
        return int(m[1]), 100
    raise ContentError(f"cannot read the age group {code!r}")


def age_profile(bands: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Share of the covered population in each band (children are dependants; the large cohorts
    born in the 1980s are in their thirties), and each band's mid age."""
    knots_age = [0, 10, 17, 22, 32, 40, 50, 60, 70, 80, 100]
    knots_density = [1.7, 1.4, 1.2, 1.4, 2.3, 1.8, 1.2, 0.8, 0.4, 0.2, 0.0]
    grid = np.arange(0.25, 100, 0.5)
    density = np.interp(grid, knots_age, knots_density)
    shares, mids = [], []
    for band in bands:
        low, high = age_bounds(band)
        inside = (grid >= low) & (grid < high)
        shares.append(density[inside].sum())
        mids.append((low + min(high, 85)) / 2)
    shares = np.array(shares)
    return shares / shares.sum(), np.array(mids)


def monthly_status(estimated: np.ndarray, provisional: int) -> np.ndarray:
    status = np.where(estimated, ESTIMATED, NORMAL).astype(np.int8)
    status[..., -provisional:] = PROVISIONAL
    return status


def random_cells(rng: np.random.Generator, count: int, sizes: tuple[int, ...], periods: int, avoid: set[int]) -> list[tuple[int, ...]]:
    """`count` distinct random cells (one index per size, then a month) for estimated values."""
    found: list[tuple[int, ...]] = []
    while len(found) < count:
        cell = tuple(int(rng.integers(0, s)) for s in sizes) + (int(rng.integers(12, periods - PROVISIONAL_MONTHS)),)
        if cell[-1] not in avoid and cell not in found:
            found.append(cell)
    return found


COMMENT_ESTIMATED = ("برآوردی: گزارش ماهانه اداره کل ناقص بود و مقدار از روند ماه‌های پیشین برآورد شد | "
                     "Estimated: the directorate's monthly return was incomplete, so the value was estimated "
                     "from the trend of the previous months")
COMMENT_PROVISIONAL = ("موقت: هنوز همه فهرست‌های این ماه دریافت نشده است | "
                       "Provisional: not all of this month's returns have been received yet")
COMMENT_COVID = ("کاهش ناشی از همه‌گیری کووید-۱۹ و تعطیلی کسب‌وکارها در بهار ۱۳۹۹ | "
                 'Fall due to the COVID-19 pandemic, business closures and "stay at home" rules in spring 1399')


COMMENT_BREAK_SCHEMES = ("شکست سری: از فروردین ۱۳۹۸ کارگران خانگی که پیش‌تر در «سایر طرح‌ها» ثبت می‌شدند "
                         "جداگانه شمرده می‌شوند | Series break: from April 2019, domestic workers previously "
                         'recorded under "other schemes" are counted separately')
COMMENT_SURVIVORS = ("افزایش مستمری‌بگیران بازماندگان در پی موج پنجم کرونا | "
                     "More survivors' pensions after the fifth COVID-19 wave, summer 1400")
COMMENT_BREAK_ACTIVITIES = ("شکست سری: از فروردین ۱۳۹۷ خانوارهای کارفرما از بخش S به بخش T منتقل شدند | "
                            "Series break: from April 2018, households employing domestic staff moved from "
                            'section S to section T, "as ISIC Rev.4 requires"')


def insured(world: World, codelists: dict[str, Codelist]) -> tuple[Cube, np.ndarray, list[str]]:
    """DF_INSURED, and the covered population by province, scheme and month (leaf space)."""
    rng = stream(world.seed, "DF_INSURED")
    schemes = codelists["SCHEME"].leaves
    sexes = codelists["SEX"].leaves
    bands = codelists["AGE_GROUP"].leaves
    if sorted(sexes) != ["F", "M"]:
        raise ContentError(f"CL_SEX should have the leaves F and M, not {sexes}")
    P, S, T = len(world.provinces), len(schemes), world.periods
    params = np.array([SCHEMES.get(s, _DEFAULT_SCHEME) for s in schemes])
    share, growth, male, tilt = params.T
    years = world.years

    # national level of each scheme over time (S, T)
    level = COVERED_2015 * share[:, None] / share.sum() * np.exp(growth[:, None] * years)
    if "DOMESTIC" in schemes and "OTHER" in schemes:  # reclassification: a break in both series
        moved = 0.008 * COVERED_2015 * (np.arange(T) >= world.at(BREAK_SCHEMES))
        level[schemes.index("DOMESTIC")] += moved
        level[schemes.index("OTHER")] -= moved
    for s, scheme in enumerate(schemes):
        if scheme == "CONSTRUCTION":
            level[s] *= 1 + 0.04 * np.cos(2 * np.pi * (world.month - 7) / 12)
        if scheme == "MANDATORY":  # contracts end with the Iranian year and are renewed
            level[s] *= np.where(world.month == 4, 0.992, 1.0)
        if scheme in ("MANDATORY", "SELF_EMPLOYED", "CONSTRUCTION", "DRIVERS"):
            level[s] *= world.covid({"2020-04": 0.97, "2020-05": 0.98, "2020-06": 0.99, "2020-07": 0.995})

    # province shares within each scheme (P, S, T)
    tilt_ps = np.exp(rng.normal(0, 0.12, (P, S)))
    for s, scheme in enumerate(schemes):
        if scheme == "CARPET_WEAVERS":
            tilt_ps[:, s] *= [CARPET_PROVINCES.get(p, 1.0) for p in world.provinces]
        if scheme == "MANDATORY":
            tilt_ps[:, s] *= world.coverage ** 0.5
    drift = rng.normal(0, 0.004, P)
    drift[[i for i, p in enumerate(world.provinces) if p in ("IR-30", "IR-25")]] += 0.008
    spread = world.weight[:, None, None] * tilt_ps[:, :, None] * np.exp(drift[:, None, None] * years)
    spread /= spread.sum(axis=0, keepdims=True)

    # sex (P, S, 2, T): women's share rises slowly
    male_ps = np.clip(male[None, :] + rng.normal(0, 0.01, (P, S)), 0.05, 0.95)
    male_pst = np.clip(male_ps[:, :, None] - 0.002 * years, 0.05, 0.95)
    m = sexes.index("M")
    sex = np.empty((P, S, 2, T))
    sex[:, :, m] = male_pst
    sex[:, :, 1 - m] = 1 - male_pst

    # age (S, 2, A, T): a scheme's tilt, men slightly older, the population ageing
    profile, mid = age_profile(bands)
    z = (mid - 35) / 30
    k = np.repeat(tilt[:, None, None, None] + 0.025 * years[None, None, None, :], 2, axis=1)  # (S, 2, 1, T)
    k[:, m] += 0.05
    ages = profile[None, None, :, None] * np.exp(k * z[None, None, :, None])
    ages /= ages.sum(axis=2, keepdims=True)

    covered = (level[None, :, None, None, :] * spread[:, :, None, None, :]
               * sex[:, :, :, None, :] * ages[None, :, :, :, :])
    covered *= random_walk(rng, covered.shape, 0.0025, 0.002)
    values = np.rint(covered).astype(np.int64)

    estimated = np.zeros(values.shape, dtype=bool)
    events = random_cells(rng, 3, (P, S), T, {world.at("2020-04"), world.at(BREAK_SCHEMES)})
    for p, s, t in events:
        estimated[p, s, :, :, t] = True

    leaf_axes = {"PROVINCE": world.provinces, "SCHEME": schemes, "SEX": sexes, "AGE_GROUP": bands}
    axes, (values_ext, estimated_ext) = with_totals(leaf_axes, [values, estimated], codelists)
    status = monthly_status(estimated_ext, PROVISIONAL_MONTHS)
    if "DOMESTIC" in schemes and "OTHER" in schemes:
        t = world.at(BREAK_SCHEMES)
        for scheme in ("DOMESTIC", "OTHER"):
            status[:, axes["SCHEME"].index(scheme), :, :, t] = BREAK

    # published: each province by scheme (all ages) and by age (all schemes); the country by both
    country = np.isin(axes["PROVINCE"], codelists["PROVINCE"].roots)
    all_schemes = np.array([c == TOTAL for c in axes["SCHEME"]])
    all_ages = np.array([c == TOTAL for c in axes["AGE_GROUP"]])
    publish = (country[:, None, None, None] | all_schemes[None, :, None, None]
               | all_ages[None, None, None, :])[..., None]

    cube = Cube(axes, world.months, values_ext, status, publish)
    ir, tot_s, tot_x, tot_a = (axes["PROVINCE"].index(codelists["PROVINCE"].roots[0]), axes["SCHEME"].index(TOTAL),
                               axes["SEX"].index(TOTAL), axes["AGE_GROUP"].index(TOTAL))
    cube.comments[(ir, tot_s, tot_x, tot_a, world.at("2020-04"))] = COMMENT_COVID
    cube.comments[(ir, tot_s, tot_x, tot_a, T - 1)] = COMMENT_PROVISIONAL
    if "DOMESTIC" in schemes and "OTHER" in schemes:
        for scheme in ("DOMESTIC", "OTHER"):
            cube.comments[(ir, axes["SCHEME"].index(scheme), tot_x, tot_a, world.at(BREAK_SCHEMES))] = COMMENT_BREAK_SCHEMES
    for p, s, t in events:
        cube.comments[(axes["PROVINCE"].index(world.provinces[p]), axes["SCHEME"].index(schemes[s]), tot_x, tot_a, t)] = COMMENT_ESTIMATED
    cube.attributes.update(UNIT_MEASURE="PERSONS", UNIT_MULT="0", DECIMALS="0")
    return cube, values.sum(axis=(2, 3)), schemes


def pensioners(world: World, codelists: dict[str, Codelist]) -> tuple[Cube, np.ndarray]:
    """DF_PENSIONERS, and the pensioners by province and month (leaf space)."""
    rng = stream(world.seed, "DF_PENSIONERS")
    types = codelists["PENSION_TYPE"].leaves
    sexes = codelists["SEX"].leaves
    P, K, T = len(world.provinces), len(types), world.periods
    params = np.array([PENSIONS.get(k, _DEFAULT_PENSION) for k in types])
    start, growth, male = params.T
    # years of growth elapsed, granted mostly after Nowruz: a staircase rather than a line
    elapsed = np.cumsum(np.asarray(PENSION_MONTHS)[world.month - 1]) - PENSION_MONTHS[0]
    level = start[:, None] * np.exp(growth[:, None] * elapsed[None, :])  # (K, T)
    # COVID-19 deaths (2020-03 .. 2021-10): fewer old-age pensioners, more survivors
    excess = np.clip((np.arange(T) - world.at("2020-03")) / 19, 0, 1)
    for k, kind in enumerate(types):
        level[k] *= 1 + (0.012 if kind == "SURVIVORS" else -0.005) * excess
    spread = world.weight * world.pension_factor * np.exp(rng.normal(0, 0.05, P))
    spread = spread[:, None] * np.exp(rng.normal(0, 0.004, P)[:, None] * world.years)
    spread /= spread.sum(axis=0, keepdims=True)  # (P, T)
    male_kt = np.clip(male[:, None] - np.where(np.array(types) == "OLD_AGE", 0.003, 0.0)[:, None] * world.years, 0.02, 0.98)
    m = sexes.index("M")
    sex = np.empty((K, 2, T))
    sex[:, m] = male_kt
    sex[:, 1 - m] = 1 - male_kt
    values = level[None, :, None, :] * spread[:, None, None, :] * sex[None]
    values *= random_walk(rng, values.shape, 0.0015, 0.001)
    values = np.rint(values).astype(np.int64)
    estimated = np.zeros(values.shape, dtype=bool)
    events = random_cells(rng, 2, (P,), T, set())
    for p, t in events:
        estimated[p, ..., t] = True
    axes, (values_ext, estimated_ext) = with_totals(
        {"PROVINCE": world.provinces, "PENSION_TYPE": types, "SEX": sexes}, [values, estimated], codelists)
    cube = Cube(axes, world.months, values_ext, monthly_status(estimated_ext, PROVISIONAL_MONTHS))
    ir = axes["PROVINCE"].index(codelists["PROVINCE"].roots[0])
    tot_k, tot_x = axes["PENSION_TYPE"].index(TOTAL), axes["SEX"].index(TOTAL)
    if "SURVIVORS" in types:
        cube.comments[(ir, axes["PENSION_TYPE"].index("SURVIVORS"), tot_x, world.at("2021-09"))] = COMMENT_SURVIVORS
    cube.comments[(ir, tot_k, tot_x, T - 1)] = COMMENT_PROVISIONAL
    for p, t in events:
        cube.comments[(axes["PROVINCE"].index(world.provinces[p]), tot_k, tot_x, t)] = COMMENT_ESTIMATED
    cube.attributes.update(UNIT_MEASURE="PERSONS", UNIT_MULT="0", DECIMALS="0")
    return cube, values.sum(axis=(1, 2))


def workshops(world: World, codelists: dict[str, Codelist]) -> Cube:
    rng = stream(world.seed, "DF_WORKSHOPS")
    sections = codelists["ACTIVITY"].leaves
    P, C, T = len(world.provinces), len(sections), world.periods
    params = np.array([SECTIONS.get(c, (0.01, 0.02)) for c in sections])
    share, growth = params.T
    level = WORKPLACES_2015 * share[:, None] / share.sum() * np.exp(growth[:, None] * world.years)
    for c, section in enumerate(sections):
        if section == "F":  # building work follows the seasons and slowed in 2018-2019
            level[c] *= 1 + 0.05 * np.cos(2 * np.pi * (world.month - 8) / 12)
            level[c] *= 1 - 0.06 * np.clip(1 - np.abs(world.years - 4.2) / 1.5, 0, 1)
        if section == "A":
            level[c] *= 1 + 0.06 * np.cos(2 * np.pi * (world.month - 6) / 12)
        closures = {"I": 0.92, "R": 0.90, "G": 0.97, "S": 0.95}
        if section in closures:
            low = closures[section]
            level[c] *= world.covid({"2020-04": low, "2020-05": (1 + 2 * low) / 3, "2020-06": (2 + low) / 3})
    if "S" in sections and "T" in sections:
        moved = 0.004 * WORKPLACES_2015 * np.exp(0.02 * world.years) * (np.arange(T) >= world.at(BREAK_ACTIVITIES))
        level[sections.index("S")] -= moved
        level[sections.index("T")] += moved
    tilt = np.exp(rng.normal(0, 0.15, (P, C)))
    for c, section in enumerate(sections):
        where = SECTION_PROVINCES.get(section, {})
        tilt[:, c] *= [where.get(p, 0.05 if section == "U" else 1.0) for p in world.provinces]
    spread = (world.weight ** 0.95)[:, None] * tilt
    spread = spread / spread.sum(axis=0, keepdims=True)
    values = spread[:, :, None] * level[None, :, :]
    values *= random_walk(rng, values.shape, 0.003, 0.002)
    values = np.rint(values).astype(np.int64)
    estimated = np.zeros(values.shape, dtype=bool)
    events = random_cells(rng, 2, (P,), T, {world.at(BREAK_ACTIVITIES)})
    for p, t in events:
        estimated[p, :, t] = True
    axes, (values_ext, estimated_ext) = with_totals(
        {"PROVINCE": world.provinces, "ACTIVITY": sections}, [values, estimated], codelists)
    status = monthly_status(estimated_ext, PROVISIONAL_MONTHS)
    ir, tot = axes["PROVINCE"].index(codelists["PROVINCE"].roots[0]), axes["ACTIVITY"].index(TOTAL)
    cube = Cube(axes, world.months, values_ext, status)
    if "S" in sections and "T" in sections:
        t = world.at(BREAK_ACTIVITIES)
        for section in ("S", "T"):
            status[:, axes["ACTIVITY"].index(section), t] = BREAK
            cube.comments[(ir, axes["ACTIVITY"].index(section), t)] = COMMENT_BREAK_ACTIVITIES
    if "I" in sections:
        cube.comments[(ir, axes["ACTIVITY"].index("I"), world.at("2020-04"))] = COMMENT_COVID
    cube.comments[(ir, tot, T - 1)] = COMMENT_PROVISIONAL
    for p, t in events:
        cube.comments[(axes["PROVINCE"].index(world.provinces[p]), tot, t)] = COMMENT_ESTIMATED
    cube.attributes.update(UNIT_MEASURE="WORKPLACES", UNIT_MULT="0", DECIMALS="0")
    return cube
