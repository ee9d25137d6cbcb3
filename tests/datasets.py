"""Test data for the structures in tests/content: SDMX-CSV files and the pandas frames they hold.

The frame is the oracle: what a query returns is compared with what pandas selects from it.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

CONTENT = Path(__file__).resolve().parent / "content"
FLOW_A = ("TEST", "DF_A", "1.0")
FLOW_B = ("TEST", "DF_B", "1.0")
FLOW_SECRET = ("TEST", "DF_SECRET", "1.0")
DIMENSIONS = ["FREQ", "AREA", "SEX", "TIME_PERIOD"]
ATTRIBUTES = ["OBS_STATUS", "UNIT_MULT", "TITLE", "COMMENT"]
COLUMNS = DIMENSIONS + ["OBS_VALUE"] + ATTRIBUTES
AREAS = ["IR", "IR-23", "IR-10", "IR-03"]
SEXES = ["F", "M", "_T"]


def frame(seed: int = 1, months: int = 24, quarters: int = 8) -> pd.DataFrame:
    """Monthly and quarterly series for every area and sex, with attributes at every level."""
    rng = np.random.default_rng(seed)
    rows = []
    for freq, periods in (
        ("M", [f"{2020 + m // 12}-{m % 12 + 1:02d}" for m in range(months)]),
        ("Q", [f"{2020 + q // 4}-Q{q % 4 + 1}" for q in range(quarters)]),
    ):
        for area in AREAS:
            for sex in SEXES:
                title = f"{area} {sex} ({freq}), \"quoted\" & <escaped>"
                for period in periods:
                    rows.append({
                        "FREQ": freq, "AREA": area, "SEX": sex, "TIME_PERIOD": period,
                        "OBS_VALUE": float(np.round(rng.gamma(2.0, 500.0), 2)),
                        "OBS_STATUS": str(rng.choice(["A", "A", "A", "P", "E"])),
                        "UNIT_MULT": "3",
                        "TITLE": title,
                        "COMMENT": "توضیح, با ویرگول" if rng.random() < 0.05 else "",
                    })
    return pd.DataFrame(rows, columns=COLUMNS)


def sdmx_csv(df: pd.DataFrame, flow=FLOW_A, version: str = "1.0", actions: list[str] | None = None) -> str:
    """The frame as SDMX-CSV text (1.0: DATAFLOW column; 2.0: STRUCTURE, STRUCTURE_ID, ACTION)."""
    ref = f"{flow[0]}:{flow[1]}({flow[2]})"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    cols = list(df.columns)
    if version == "1.0":
        writer.writerow(["DATAFLOW", *cols])
        for values in df.itertuples(index=False):
            writer.writerow([ref, *[_text(v) for v in values]])
    else:
        writer.writerow(["STRUCTURE", "STRUCTURE_ID", "ACTION", *cols])
        for i, values in enumerate(df.itertuples(index=False)):
            action = actions[i] if actions else "M"
            writer.writerow(["dataflow", ref, action, *[_text(v) for v in values]])
    return out.getvalue()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _text(value) -> str:
    if isinstance(value, float):
        return "" if np.isnan(value) else repr(value)
    return "" if value is None else str(value)
