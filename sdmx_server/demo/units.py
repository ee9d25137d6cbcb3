"""The units' own data for the demo sources of loaders/: as the units keep them, not as SDMX.

- The Fars provincial directorate sends its pensioners as a CSV file with Persian column names,
  Solar Hijri periods ("۱۴۰۴/۱۰", in Persian digits) and the province, pension type and sex as
  words (loaders/data/fars_pensioners.csv, made by `write_directorate_csv`).
- The Isfahan provincial office keeps its insured persons in its own database, in a table of
  its own naming, `tbl_bimeh_shodegan(ostan, sal, mah, jens, tedad)` (province name, Solar
  Hijri year and month, sex as 1/2, count). On a bare machine a SQLite file stands for it
  (`write_unit_database`).

Both continue the demo generator's series where it stops (December 2025), from Dey 1404 to Aban
1405, starting from the generator's own December 2025 figures of that province, so the demo
reads as one story. Same seed, same rows.
"""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import numpy as np

from sdmx_server.demo.generator import DEFAULT_SEED, build_cubes
from sdmx_server.demo.content import load_content

#: (Solar Hijri year, month) of the units' months: Dey 1404 .. Aban 1405.
MONTHS = [(1404, m) for m in (10, 11, 12)] + [(1405, m) for m in range(1, 9)]
_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
PENSION_WORDS = {"OLD_AGE": "بازنشستگی", "DISABILITY": "از کارافتادگی", "SURVIVORS": "بازماندگان"}
SEX_WORDS = {"M": "مرد", "F": "زن"}


def _last_figures(flow_id: str, seed: int, fixed: dict[str, str]) -> dict[tuple[str, ...], float]:
    """The generator's December 2025 value of every cell matching `fixed`, by the other codes."""
    cube = build_cubes(load_content(), seed)[flow_id]
    axes = list(cube.axes)
    index = tuple(cube.index(a, fixed[a]) if a in fixed else slice(None) for a in axes) + (-1,)
    values = cube.values[index]
    free = [a for a in axes if a not in fixed]
    result = {}
    for position in np.ndindex(values.shape):
        key = tuple(cube.axes[a][i] for a, i in zip(free, position))
        result[key] = float(values[position])
    return result


def _grow(start: float, rng: np.random.Generator, trend: float) -> list[int]:
    """Eleven months from `start`: a steady trend with a little noise, as registers move."""
    steps = 1 + trend + rng.normal(0, 0.002, len(MONTHS))
    return [int(round(v)) for v in start * np.cumprod(steps)]


def directorate_rows(seed: int = DEFAULT_SEED) -> list[dict[str, str]]:
    last = _last_figures("DF_PENSIONERS", seed, {"PROVINCE": "IR-07"})
    rng = np.random.default_rng([seed, 7, 1404])
    rows = []
    for pension, pension_word in PENSION_WORDS.items():
        for sex, sex_word in SEX_WORDS.items():
            figures = _grow(last[(pension, sex)], rng, 0.004)
            for (year, month), count in zip(MONTHS, figures):
                rows.append({
                    "استان": "فارس",
                    "دوره": f"{year}/{month:02d}".translate(_PERSIAN_DIGITS),
                    "نوع مستمری": pension_word,
                    "جنسیت": sex_word,
                    "تعداد مستمری‌بگیران": str(count),
                    "توضیحات": "",
                })
    return rows


def write_directorate_csv(path: Path, seed: int = DEFAULT_SEED) -> int:
    rows = directorate_rows(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def unit_rows(seed: int = DEFAULT_SEED) -> list[tuple[str, int, int, int, int]]:
    """(ostan, sal, mah, jens, tedad) of the Isfahan office: all schemes and ages, by sex."""
    last = _last_figures("DF_INSURED", seed, {"PROVINCE": "IR-10", "SCHEME": "_T", "AGE_GROUP": "_T"})
    rng = np.random.default_rng([seed, 10, 1404])
    rows = []
    for sex, jens in (("M", 1), ("F", 2)):
        for (year, month), count in zip(MONTHS, _grow(last[(sex,)], rng, 0.003)):
            rows.append(("اصفهان", year, month, jens, count))
    return rows


def write_unit_database(path: Path, seed: int = DEFAULT_SEED) -> int:
    """The Isfahan office's database (a SQLite file standing for it), written afresh."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    rows = unit_rows(seed)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE tbl_bimeh_shodegan (id INTEGER PRIMARY KEY, ostan TEXT NOT NULL, "
                     "sal INTEGER NOT NULL, mah INTEGER NOT NULL, jens INTEGER NOT NULL, tedad INTEGER NOT NULL, "
                     "tarikh_sabt TEXT)")
        conn.executemany("INSERT INTO tbl_bimeh_shodegan (ostan, sal, mah, jens, tedad, tarikh_sabt) "
                         "VALUES (?, ?, ?, ?, ?, '1405/09/01')", rows)
    conn.close()
    return len(rows)
