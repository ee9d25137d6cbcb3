"""The demo data generator: deterministic, complete, coherent and plausible SDMX-CSV files.

The files are generated once per module (three runs: a seed twice, another seed once)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdmx_server.demo.content import TOTAL, load_content
from sdmx_server.demo.generator import FLOWS, DemoFile, write_demo_data

SEED, OTHER_SEED = 2026, 7
FIRST, LAST = 2015, 2025
KPI_FLOWS = {"DF_KPI", "DF_KPI_NORMS"}  # indicators and norms do not add up across units
PERIOD = {"M": r"^\d{4}-(0[1-9]|1[0-2])$", "Q": r"^\d{4}-Q[1-4]$", "A": r"^\d{4}$"}


@pytest.fixture(scope="module")
def content():
    return load_content()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = {}
    for name, seed in (("a", SEED), ("b", SEED), ("other", OTHER_SEED)):
        started = time.perf_counter()
        files = write_demo_data(tmp_path_factory.mktemp(name), seed=seed)
        out[name] = (files, time.perf_counter() - started)
    return out


@pytest.fixture(scope="module")
def files(runs) -> dict[str, DemoFile]:
    return {f.flow.split(":")[1].split("(")[0]: f for f in runs["a"][0]}


@pytest.fixture(scope="module")
def frames(files) -> dict[str, pd.DataFrame]:
    return {flow: _read(f.path) for flow, f in files.items()}


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def _keys(content, flow: str) -> list[str]:
    layout = content.flows[flow]
    return [*layout.dimensions, layout.time_dimension]


def test_one_file_per_dataflow_with_its_observation_count(files, frames):
    assert list(files) == list(FLOWS)
    for flow, f in files.items():
        assert f.flow == f"SSO:{flow}(1.0)"
        assert f.path.name == f"{flow}.csv" and f.path.is_file()
        assert f.observations == len(frames[flow]) > 5_000


def test_total_row_count_is_within_bounds(files):
    total = sum(f.observations for f in files.values())
    assert 300_000 <= total <= 1_500_000


def test_generation_takes_a_few_seconds(runs):
    assert max(seconds for _, seconds in runs.values()) < 30


def test_same_seed_gives_the_same_bytes(runs):
    for first, second in zip(runs["a"][0], runs["b"][0]):
        assert first.flow == second.flow
        assert first.path.read_bytes() == second.path.read_bytes()


def test_another_seed_gives_other_values_for_the_same_keys(runs, frames, content):
    for f in runs["other"][0]:
        flow = f.flow.split(":")[1].split("(")[0]
        mine, theirs = frames[flow], _read(f.path)
        keys = _keys(content, flow)
        assert mine[keys].equals(theirs[keys])
        assert (mine["OBS_VALUE"] != theirs["OBS_VALUE"]).mean() > 0.5


def test_header_is_exactly_the_dsd_columns(frames, files, content):
    for flow, frame in frames.items():
        layout = content.flows[flow]
        assert list(frame.columns) == layout.header
        with open(files[flow].path, encoding="utf-8") as f:
            assert f.readline() == ",".join(layout.header) + "\n"
        assert set(frame["STRUCTURE"]) == {"dataflow"}
        assert set(frame["STRUCTURE_ID"]) == {f"SSO:{flow}(1.0)"}
        assert set(frame["ACTION"]) == {"M"}
    assert list(frames["DF_INSURED"].columns) == [
        "STRUCTURE", "STRUCTURE_ID", "ACTION", "FREQ", "PROVINCE", "SCHEME", "SEX", "AGE_GROUP",
        "TIME_PERIOD", "OBS_VALUE", "OBS_STATUS", "UNIT_MEASURE", "UNIT_MULT", "DECIMALS", "COMMENT"]
    assert list(frames["DF_KPI_NORMS"].columns)[3:8] == ["FREQ", "ORG_UNIT", "INDICATOR", "NORM_BOUND", "TIME_PERIOD"]
    assert "GOOD_DIRECTION" in frames["DF_KPI_NORMS"].columns


def test_the_files_are_utf8_without_bom_and_with_unix_newlines(files):
    for f in files.values():
        data = f.path.read_bytes()
        assert not data.startswith(b"\xef\xbb\xbf")
        assert b"\r\n" not in data
        data.decode("utf-8")


def test_every_code_of_every_dimension_codelist_appears(frames, content):
    seen: dict[str, set[str]] = {}
    dimension_codelists = set()
    for flow, frame in frames.items():
        layout = content.flows[flow]
        for component, codelist in layout.codelists.items():
            seen.setdefault(codelist, set()).update(frame[component].unique())
            if component in layout.dimensions:
                dimension_codelists.add(codelist)
    for codelist, values in seen.items():
        codes = set(content.codelists[codelist].ids)
        values = values - {""}
        assert values <= codes, f"{codelist}: {sorted(values - codes)} are not codes"
        if codelist in dimension_codelists:
            assert values == codes, f"{codelist}: {sorted(codes - values)} never appear"


def test_every_province_appears_in_every_provincial_flow(frames, content):
    provinces = set(content.codelists["CL_PROVINCE"].ids)
    assert len(provinces) == 32
    for flow in ("DF_INSURED", "DF_PENSIONERS", "DF_CONTRIBUTIONS", "DF_BENEFITS", "DF_WORKSHOPS"):
        assert set(frames[flow]["PROVINCE"]) == provinces
        for dimension in content.flows[flow].dimensions:
            if dimension not in ("FREQ", "UNIT_MEASURE"):
                assert set(frames[flow][dimension]) == set(content.codelist_of(flow, dimension).ids)


def test_no_duplicate_keys(frames, content):
    for flow, frame in frames.items():
        assert not frame.duplicated(_keys(content, flow)).any(), flow


def test_totals_are_the_sums_of_their_parts(frames, content):
    checked = 0
    for flow, frame in frames.items():
        if flow in KPI_FLOWS:
            continue
        layout = content.flows[flow]
        frame = frame.assign(v=frame["OBS_VALUE"].astype(np.int64))
        keys = _keys(content, flow)
        for dimension in layout.dimensions:
            if dimension in ("FREQ", "UNIT_MEASURE"):
                continue
            codelist = content.codelist_of(flow, dimension)
            for total in codelist.ids:
                parts = codelist.descendant_leaves(total)
                if total in parts:
                    continue  # a leaf
                others = [k for k in keys if k != dimension]
                summed = frame[frame[dimension].isin(parts)].groupby(others)["v"].sum()
                totals = frame[frame[dimension] == total].set_index(others)["v"]
                assert summed.index.isin(totals.index).all(), f"{flow} {dimension}={total}: parts without a total"
                joined = pd.concat([summed.rename("parts"), totals.rename("total")], axis=1, join="inner")
                assert len(joined) > 0
                bad = joined[joined["parts"] != joined["total"]]
                assert bad.empty, f"{flow} {dimension}={total}: {bad.head()}"
                checked += len(joined)
    assert checked > 100_000


def test_periods_are_valid_fixed_and_contiguous_per_series(frames, content):
    for flow, frame in frames.items():
        freq = FLOWS[flow]
        assert set(frame["FREQ"]) == {freq}
        periods = frame["TIME_PERIOD"]
        assert periods.str.match(PERIOD[freq]).all(), flow
        year = periods.str[:4].astype(int)
        step = {"M": 12, "Q": 4, "A": 1}[freq]
        within = {"M": lambda p: p.str[5:7].astype(int) - 1, "Q": lambda p: p.str[6].astype(int) - 1,
                  "A": lambda p: 0 * year}[freq](periods)
        ordinal = (year - FIRST) * step + within
        assert ordinal.min() == 0 and ordinal.max() == (LAST - FIRST + 1) * step - 1
        series = frame.groupby(list(content.flows[flow].dimensions), sort=False).ngroup()
        ordered = pd.DataFrame({"s": series, "o": ordinal}).sort_values(["s", "o"], kind="stable")
        gaps = ordered.groupby("s")["o"].diff().dropna()
        assert (gaps == 1).all(), flow
        lengths = ordered.groupby("s").size()
        assert (lengths == (LAST - FIRST + 1) * step).all(), flow


def test_values_are_numbers_and_counts_are_whole(frames):
    for flow, frame in frames.items():
        values = frame["OBS_VALUE"].astype(float)
        assert values.notna().all() and (values >= 0).all()
        if flow not in KPI_FLOWS:
            assert frame["OBS_VALUE"].str.fullmatch(r"\d+").all(), flow
        else:
            assert (values.round(2) == values).all()


def test_status_provisional_estimated_and_breaks(frames):
    for flow, frame in frames.items():
        status = frame["OBS_STATUS"]
        assert (status != "").all()
        assert set(status) <= {"A", "P", "E", "B"}
        if FLOWS[flow] == "M":
            last = frame["TIME_PERIOD"].isin(["2025-10", "2025-11", "2025-12"])
            assert (status[last] == "P").all() and (status[~last] != "P").all()
            assert (status == "E").any(), flow
            assert (status == "A").mean() > 0.9
    assert (frames["DF_KPI"]["OBS_STATUS"][frames["DF_KPI"]["TIME_PERIOD"] == "2025-Q4"] == "P").all()
    for flow in ("DF_INSURED", "DF_CONTRIBUTIONS", "DF_WORKSHOPS", "DF_KPI"):
        assert (frames[flow]["OBS_STATUS"] == "B").any(), flow


def test_comments_are_bilingual_and_exercise_csv_quoting(frames, files):
    comments = pd.concat([f["COMMENT"] for f in frames.values()])
    comments = comments[comments != ""]
    assert 10 <= len(comments) < 200
    assert comments.str.len().max() <= 1000
    assert comments.str.contains("[\u0600-\u06ff]").all() and comments.str.contains("[A-Za-z]").all()
    assert comments.str.contains(",").any() and comments.str.contains('"').any()
    raw = files["DF_INSURED"].path.read_text(encoding="utf-8")
    assert '""other schemes""' in raw  # quotes doubled inside a quoted field


def test_dataflow_attributes(frames, content):
    insured = frames["DF_INSURED"]
    assert set(insured["UNIT_MEASURE"]) == {"PERSONS"} and set(insured["UNIT_MULT"]) == {"0"}
    contributions = frames["DF_CONTRIBUTIONS"]
    assert set(contributions["UNIT_MEASURE"]) == {"IRR"} and set(contributions["UNIT_MULT"]) == {"6"}
    assert set(frames["DF_BENEFITS"]["UNIT_MEASURE"]) == {"PERSONS", "IRR_MN"}
    assert set(frames["DF_KPI"]["DECIMALS"]) == {"2"} and set(insured["DECIMALS"]) == {"0"}
    indicators = content.codelists["CL_INDICATOR"]
    for flow in KPI_FLOWS:
        frame = frames[flow].drop_duplicates("INDICATOR").set_index("INDICATOR")
        for code in indicators.codes:
            assert frame.loc[code.id, "UNIT_MEASURE"] == code.annotations["UNIT_MEASURE"]
            if flow == "DF_KPI_NORMS":
                assert frame.loc[code.id, "GOOD_DIRECTION"] == code.annotations["GOOD_DIRECTION"]


def _series(frame: pd.DataFrame, **key) -> pd.Series:
    mask = np.ones(len(frame), dtype=bool)
    for column, value in key.items():
        mask &= frame[column] == value
    return frame[mask].set_index("TIME_PERIOD")["OBS_VALUE"].astype(float)


def test_figures_are_plausible(frames):
    insured = frames["DF_INSURED"]
    june = insured[(insured["TIME_PERIOD"] == "2024-06") & (insured["SCHEME"] == TOTAL)
                   & (insured["SEX"] == TOTAL) & (insured["AGE_GROUP"] == TOTAL)].set_index("PROVINCE")["OBS_VALUE"].astype(int)
    provinces = june.drop("IR").sort_values(ascending=False)
    assert provinces.index[0] == "IR-23" and provinces.iloc[0] > 1.8 * provinces.iloc[1]  # Tehran by far
    total = _series(insured, PROVINCE="IR", SCHEME=TOTAL, SEX=TOTAL, AGE_GROUP=TOTAL)
    assert 35e6 < total["2015-01"] < total["2025-09"] < 55e6
    men = _series(insured, PROVINCE="IR", SCHEME=TOTAL, SEX="M", AGE_GROUP=TOTAL)
    assert (men > total - men).all()
    by_scheme = insured[(insured["PROVINCE"] == "IR") & (insured["SEX"] == TOTAL) & (insured["AGE_GROUP"] == TOTAL)
                        & (insured["TIME_PERIOD"] == "2024-06")].set_index("SCHEME")["OBS_VALUE"].astype(int)
    assert by_scheme.drop(TOTAL).idxmax() == "MANDATORY" and by_scheme["MANDATORY"] > 0.5 * by_scheme[TOTAL]

    pensioners = _series(frames["DF_PENSIONERS"], PROVINCE="IR", PENSION_TYPE=TOTAL, SEX=TOTAL)
    assert pensioners["2025-09"] / pensioners["2015-01"] > total["2025-09"] / total["2015-01"]
    support = _series(frames["DF_KPI"], ORG_UNIT="SSO", INDICATOR="SUPPORT_RATIO")
    assert support["2015-Q1"] > support["2020-Q1"] > support["2025-Q3"] > 2

    contributions = _series(frames["DF_CONTRIBUTIONS"], PROVINCE="IR", SCHEME=TOTAL)
    yearly = contributions.groupby(contributions.index.str[:4]).sum()
    growth = yearly.pct_change().loc["2021":"2025"]
    assert ((growth > 0.25) & (growth < 0.50)).all()
    assert contributions["2023-03"] > contributions["2023-04"]  # Esfand peak, Nowruz trough

    construction = _series(insured, PROVINCE="IR", SCHEME="CONSTRUCTION", SEX=TOTAL, AGE_GROUP=TOTAL)
    assert construction["2018-07"] > construction["2018-01"]
    marriage = _series(frames["DF_BENEFITS"], PROVINCE="IR", BENEFIT="MARRIAGE", UNIT_MEASURE="PERSONS")
    assert marriage["2019-08"] > marriage["2019-02"]


def test_kpis_mostly_sit_within_their_norms(frames):
    kpi, norms = frames["DF_KPI"], frames["DF_KPI_NORMS"]
    wide = norms.assign(v=norms["OBS_VALUE"].astype(float)).pivot_table(
        index=["ORG_UNIT", "INDICATOR", "TIME_PERIOD"], columns="NORM_BOUND", values="v")
    assert (wide["LOWER"] <= wide["TARGET"]).all() and (wide["TARGET"] <= wide["UPPER"]).all()
    wide = wide.reset_index().rename(columns={"TIME_PERIOD": "year"})
    values = kpi.assign(v=kpi["OBS_VALUE"].astype(float), year=kpi["TIME_PERIOD"].str[:4])
    joined = values.merge(wide, on=["ORG_UNIT", "INDICATOR", "year"], how="left")
    assert joined["TARGET"].notna().all()  # every value has its norm
    inside = (joined["v"] >= joined["LOWER"]) & (joined["v"] <= joined["UPPER"])
    assert 0.6 < inside.mean() < 0.97
    by_unit = inside.groupby(joined["ORG_UNIT"]).mean()
    assert by_unit.min() < 0.6  # some units clearly better or worse

    deputies = kpi[kpi["ORG_UNIT"].str.startswith("DEP_")].groupby("ORG_UNIT")["INDICATOR"].nunique()
    assert len(deputies) >= 5 and (deputies >= 1).all()
    assert kpi[kpi["ORG_UNIT"] == "SSO"]["INDICATOR"].nunique() == len(set(kpi["INDICATOR"]))
