"""DF_KPI_STATUS's rows: DF_KPI's values judged by the rule of kpi_status.py against the norm of
the same unit, indicator and year in DF_KPI_NORMS.

In: the two dataflows' published rows (Arrow, a column per component). Out: string columns as
a reader hands them over (ingest/readers.IncomingData), one row per value that has a complete
norm: FREQ, ORG_UNIT, INDICATOR, TIME_PERIOD, OBS_VALUE (the score), KPI_STATUS, KPI_VALUE, the
norm's bounds, GOOD_DIRECTION, UNIT_MEASURE and the value's OBS_STATUS."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from sdmx_server.processing.kpi_status import SCORES, Norm, norm_year, status

COLUMNS = ("FREQ", "ORG_UNIT", "INDICATOR", "TIME_PERIOD", "OBS_VALUE", "KPI_STATUS", "KPI_VALUE",
           "NORM_LOWER", "NORM_UPPER", "NORM_TARGET", "GOOD_DIRECTION", "UNIT_MEASURE", "OBS_STATUS")


def _empty() -> pa.Table:
    return pa.table({c: pa.array([], pa.string()) for c in COLUMNS})


def _text(x) -> str:
    if x is None or (isinstance(x, float) and pd.isna(x)):
        return ""
    return repr(float(x)) if isinstance(x, float) else str(x)


def norms_frame(norms: pa.Table) -> pd.DataFrame:
    """(ORG_UNIT, INDICATOR, year) -> LOWER, UPPER, TARGET, GOOD_DIRECTION."""
    df = norms.select([c for c in ("ORG_UNIT", "INDICATOR", "NORM_BOUND", "TIME_PERIOD", "OBS_VALUE",
                                   "GOOD_DIRECTION") if c in norms.column_names]).to_pandas()
    df["YEAR"] = df["TIME_PERIOD"].astype(str).str[:4]
    wide = df.pivot_table(index=["ORG_UNIT", "INDICATOR", "YEAR"], columns="NORM_BOUND", values="OBS_VALUE",
                          aggfunc="first")
    wide = wide.reindex(columns=["LOWER", "UPPER", "TARGET"])
    if "GOOD_DIRECTION" in df:
        good = df.dropna(subset=["GOOD_DIRECTION"]).groupby("INDICATOR")["GOOD_DIRECTION"].first()
        good = good[good.astype(str) != ""]
    else:
        good = pd.Series(dtype=str)
    wide = wide.reset_index()
    wide["GOOD_DIRECTION"] = wide["INDICATOR"].map(good)
    return wide


def status_rows(kpi: pa.Table | None, norms: pa.Table | None) -> pa.Table:
    if kpi is None or norms is None or kpi.num_rows == 0 or norms.num_rows == 0:
        return _empty()
    values = kpi.to_pandas()
    values["YEAR"] = values["TIME_PERIOD"].astype(str).map(norm_year)
    merged = values.merge(norms_frame(norms), on=["ORG_UNIT", "INDICATOR", "YEAR"], how="inner")
    out: dict[str, list[str]] = {c: [] for c in COLUMNS}
    for row in merged.itertuples(index=False):
        good = row.GOOD_DIRECTION
        if good not in ("UP", "DOWN"):
            continue
        found = status(row.OBS_VALUE, Norm(row.LOWER, row.UPPER, row.TARGET), good)
        if found is None:
            continue
        record = {
            "FREQ": row.FREQ, "ORG_UNIT": row.ORG_UNIT, "INDICATOR": row.INDICATOR,
            "TIME_PERIOD": row.TIME_PERIOD, "OBS_VALUE": _text(float(SCORES[found])), "KPI_STATUS": found,
            "KPI_VALUE": _text(row.OBS_VALUE), "NORM_LOWER": _text(row.LOWER), "NORM_UPPER": _text(row.UPPER),
            "NORM_TARGET": _text(row.TARGET), "GOOD_DIRECTION": good,
            "UNIT_MEASURE": _text(getattr(row, "UNIT_MEASURE", "")), "OBS_STATUS": _text(getattr(row, "OBS_STATUS", "")),
        }
        for c in COLUMNS:
            out[c].append(record[c])
    return pa.table({c: pa.array(out[c], pa.string()) for c in COLUMNS})
