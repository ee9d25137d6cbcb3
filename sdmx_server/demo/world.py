"""What every demo dataflow shares: the calendar, the provinces, wages and the random streams.

The figures are synthetic. Their orders of magnitude follow public facts about Iran and its
Social Security Organization: province populations from the 2016 census, about 40 million
persons covered in 2015 (main insured and dependants) growing to about 46 million, pensioners
growing faster than the insured, nominal wages rising with inflation (30-40 % a year recently).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

FIRST_YEAR = 2015
LAST_YEAR = 2025

#: Province (ISO 3166-2:IR) -> population in millions (2016 census), SSO coverage relative to
#: the population, pensioners relative to the covered, wage level relative to the country.
PROVINCES: dict[str, tuple[float, float, float, float]] = {
    "IR-00": (1.43, 1.20, 1.25, 1.00),  # Markazi
    "IR-01": (2.53, 0.95, 1.20, 0.90),  # Gilan
    "IR-02": (3.28, 0.95, 1.10, 0.90),  # Mazandaran
    "IR-03": (3.91, 1.00, 1.10, 0.92),  # East Azerbaijan
    "IR-04": (3.27, 0.85, 0.95, 0.88),  # West Azerbaijan
    "IR-05": (1.95, 0.80, 0.95, 0.87),  # Kermanshah
    "IR-06": (4.71, 0.90, 1.05, 1.10),  # Khuzestan
    "IR-07": (4.85, 0.95, 1.00, 0.93),  # Fars
    "IR-08": (3.16, 0.90, 0.95, 0.95),  # Kerman
    "IR-09": (6.43, 0.95, 1.00, 0.90),  # Razavi Khorasan
    "IR-10": (5.12, 1.25, 1.20, 1.05),  # Isfahan
    "IR-11": (2.78, 0.50, 0.60, 0.82),  # Sistan and Baluchestan
    "IR-12": (1.60, 0.75, 0.80, 0.85),  # Kurdistan
    "IR-13": (1.74, 0.90, 1.05, 0.88),  # Hamadan
    "IR-14": (0.95, 0.85, 0.95, 0.87),  # Chaharmahal and Bakhtiari
    "IR-15": (1.76, 0.75, 0.90, 0.85),  # Lorestan
    "IR-16": (0.58, 0.70, 0.75, 0.90),  # Ilam
    "IR-17": (0.71, 0.65, 0.70, 0.92),  # Kohgiluyeh and Boyer-Ahmad
    "IR-18": (1.16, 1.05, 0.85, 1.20),  # Bushehr
    "IR-19": (1.06, 0.95, 1.00, 0.90),  # Zanjan
    "IR-20": (0.70, 1.15, 1.10, 0.97),  # Semnan
    "IR-21": (1.14, 1.20, 1.05, 0.98),  # Yazd
    "IR-22": (1.78, 0.95, 0.80, 1.05),  # Hormozgan
    "IR-23": (13.27, 1.35, 1.15, 1.30),  # Tehran
    "IR-24": (1.27, 0.85, 0.95, 0.86),  # Ardabil
    "IR-25": (1.29, 1.00, 0.90, 0.92),  # Qom
    "IR-26": (1.27, 1.15, 1.00, 1.00),  # Qazvin
    "IR-27": (1.87, 0.85, 0.85, 0.87),  # Golestan
    "IR-28": (0.86, 0.80, 0.85, 0.85),  # North Khorasan
    "IR-29": (0.77, 0.85, 0.90, 0.86),  # South Khorasan
    "IR-30": (2.71, 1.15, 0.85, 1.05),  # Alborz
}
_DEFAULT_PROVINCE = (1.0, 1.0, 1.0, 0.9)

#: Average insured wage increase decided for each Iranian year (from Farvardin, i.e. late March);
#: it reaches contributions paid from May, a month after the first wages of the year.
WAGE_RISE = {2015: 0.14, 2016: 0.12, 2017: 0.12, 2018: 0.15, 2019: 0.25, 2020: 0.22,
             2021: 0.30, 2022: 0.38, 2023: 0.27, 2024: 0.30, 2025: 0.35}
WAGE_DRIFT = 0.003  # a month, between the yearly decisions


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent random stream per (seed, name): generating one dataflow never shifts
    another's numbers."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


@dataclass(frozen=True)
class World:
    seed: int
    months: list[str]
    year: np.ndarray  # (T,) calendar year of each month
    month: np.ndarray  # (T,) 1..12
    years: np.ndarray  # (T,) years elapsed since January of FIRST_YEAR
    provinces: list[str]  # leaf codes of CL_PROVINCE
    population: np.ndarray  # (P,) millions
    coverage: np.ndarray  # (P,) relative SSO coverage
    pension_factor: np.ndarray  # (P,)
    wage_factor: np.ndarray  # (P,)
    weight: np.ndarray  # (P,) share of the covered population, sums to 1
    wage_index: np.ndarray  # (T,) nominal average insured wage, January 2015 = 1

    @property
    def periods(self) -> int:
        return len(self.months)

    def at(self, period: str) -> int:
        return self.months.index(period)

    def covid(self, profile: dict[str, float]) -> np.ndarray:
        """A (T,) multiplier: 1 except in the months named."""
        factor = np.ones(self.periods)
        for period, value in profile.items():
            if period in self.months:
                factor[self.at(period)] = value
        return factor


def build_world(seed: int, provinces: list[str]) -> World:
    rng = stream(seed, "world")
    months = [f"{y}-{m:02d}" for y in range(FIRST_YEAR, LAST_YEAR + 1) for m in range(1, 13)]
    year = np.repeat(np.arange(FIRST_YEAR, LAST_YEAR + 1), 12)
    month = np.tile(np.arange(1, 13), LAST_YEAR - FIRST_YEAR + 1)
    params = np.array([PROVINCES.get(p, _DEFAULT_PROVINCE) for p in provinces])
    population, coverage, pension_factor, wage_factor = params.T
    weight = population * coverage * np.exp(rng.normal(0, 0.04, len(provinces)))
    weight = weight / weight.sum()
    rise = np.array([WAGE_RISE.get(int(y), 0.3) for y in year])
    step = np.where(month == 5, rise, 0.0)  # the year's decision reaches contributions in May
    wage_index = np.exp(np.cumsum(np.log1p(step)) + WAGE_DRIFT * np.arange(len(months)))
    return World(seed, months, year, month, np.arange(len(months)) / 12.0, list(provinces),
                 population, coverage, pension_factor, wage_factor, weight, wage_index)


def random_walk(rng: np.random.Generator, shape: tuple[int, ...], step: float, white: float) -> np.ndarray:
    """exp(random walk along the last axis + white noise): slow wander plus month-to-month jitter."""
    walk = np.cumsum(rng.normal(0.0, step, shape), axis=-1)
    walk -= walk[..., :1]
    return np.exp(walk + rng.normal(0.0, white, shape))


def seasonal(month: np.ndarray, profile: list[float]) -> np.ndarray:
    """A (T,) multiplier from 12 monthly factors (January first), rescaled to average 1."""
    factors = np.asarray(profile, dtype=float)
    return (factors / factors.mean())[month - 1]
