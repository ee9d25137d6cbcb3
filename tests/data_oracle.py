"""The pandas oracle of data queries: what a query must return, computed from the frame that
was loaded, with the rules of store/sql.py written again in pandas (docs/conformance.md,
"Data queries"), and URL builders that write those queries as clients do."""

from __future__ import annotations

import io
from urllib.parse import quote

import pandas as pd

from sdmx_server.query.periods import epoch_us, parse_period, parse_query_period

DIMS = ["FREQ", "AREA", "SEX"]
TIME = "TIME_PERIOD"
NUMERIC = {"OBS_VALUE"}
TEXT_OPS = ("co", "nc", "sw", "ew")


def with_bounds(df: pd.DataFrame) -> pd.DataFrame:
    periods = {t: parse_period(t) for t in df[TIME].unique()}
    df = df.copy()
    df["_s"] = df[TIME].map(lambda t: epoch_us(periods[t].start))
    df["_e"] = df[TIME].map(lambda t: epoch_us(periods[t].end))
    return df


def _missing(series: pd.Series) -> pd.Series:
    return series.isna() | (series.astype(str) == "")


def condition(df: pd.DataFrame, component: str, op: str, value: str) -> pd.Series:
    column = df[component]
    if op in TEXT_OPS:
        text = column.astype(str)
        present = ~_missing(column)
        if op in ("co", "nc"):
            hit = present & text.map(lambda v: value in v)
            return ~hit if op == "nc" else hit
        return present & text.map(lambda v: v.startswith(value) if op == "sw" else v.endswith(value))
    if component == TIME:
        q = parse_query_period(value)
        qs, qe = epoch_us(q.start), epoch_us(q.end)
        within = (df["_s"] >= qs) & (df["_e"] <= qe)
        return {"ge": df["_s"] >= qs, "le": df["_e"] <= qe, "gt": df["_s"] >= qe, "lt": df["_e"] <= qs,
                "eq": within, "ne": ~within}[op]
    if component in NUMERIC:
        operand, values = float(value), column.astype(float)
    else:
        operand, values = value, column.astype(str)
    compared = {"eq": values == operand, "ne": values != operand, "lt": values < operand,
                "le": values <= operand, "gt": values > operand, "ge": values >= operand}[op]
    missing = _missing(column)
    return (compared | missing) if op == "ne" else (compared & ~missing)


def select(df: pd.DataFrame, *, keys=None, filters=(), start=None, end=None, first_n=None, last_n=None,
           offset=0, limit=None) -> pd.DataFrame:
    """keys: [(codes or None per dimension)]; filters: [(component, [[(op, value)]])]."""
    df = with_bounds(df)
    mask = pd.Series(True, index=df.index)
    if keys:
        any_key = pd.Series(False, index=df.index)
        for key in keys:
            hit = pd.Series(True, index=df.index)
            for dim, codes in zip(DIMS, key):
                if codes is not None:
                    hit &= df[dim].isin(codes)
            any_key |= hit
        mask &= any_key
    if start is not None:
        mask &= df["_s"] >= epoch_us(parse_query_period(start).start)
    if end is not None:
        mask &= df["_e"] <= epoch_us(parse_query_period(end).end)
    for component, alternatives in filters:
        any_alt = pd.Series(False, index=df.index)
        for terms in alternatives:
            every = pd.Series(True, index=df.index)
            for op, value in terms:
                every &= condition(df, component, op, value)
            any_alt |= every
        mask &= any_alt
    df = df[mask]
    if first_n is not None or last_n is not None:
        ordered = df.sort_values(["_s", "_e", TIME])
        group = ordered.groupby(DIMS, sort=False)
        keep = pd.Series(False, index=ordered.index)
        if first_n is not None:
            keep |= group.cumcount() < first_n
        if last_n is not None:
            keep |= group.cumcount(ascending=False) < last_n
        df = ordered[keep]
    df = df.sort_values(DIMS + [TIME]).reset_index(drop=True)
    df = df.iloc[offset: None if limit is None else offset + limit]
    return df.drop(columns=["_s", "_e"]).reset_index(drop=True)


def csv_frame(body: bytes) -> pd.DataFrame:
    df = pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False)
    if "OBS_VALUE" in df:
        df["OBS_VALUE"] = df["OBS_VALUE"].map(lambda v: float(v) if v != "" else float("nan"))
    return df


def same_rows(got: pd.DataFrame, expected: pd.DataFrame, columns: list[str]) -> None:
    got = got[columns].reset_index(drop=True)
    expected = expected[columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


# -- URLs ----------------------------------------------------------------------------------------


def v2_key(key) -> str:
    return ".".join("*" if codes is None else "+".join(codes) for codes in key)


def filter_param(component: str, alternatives) -> str:
    """c[COMP]=... as a client writes it: raw ',' and '+', values percent-encoded."""
    text = ",".join("+".join(f"{op}:{quote(value, safe='')}" for op, value in terms) for terms in alternatives)
    return f"c%5B{component}%5D={text}"
