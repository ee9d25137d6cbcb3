"""The series table stays exact: after every load (merge, replace, delete with wildcards, mixed
actions in one file), it equals a recount of the fact table; fact tables loaded before series
tables existed get theirs on start.

Runs on SQLite and PostgreSQL (see conftest.database_url).
"""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdmx_server.boot import create_schema
from sdmx_server.cli import _registry
from sdmx_server.ingest.load import load_data
from sdmx_server.registry.load import load_structures
from sdmx_server.registry.shape import data_shape
from sdmx_server.settings import Settings
from sdmx_server.store.database import Database
from sdmx_server.store.series import OBS_COUNT, SeriesTable
from sdmx_server.store.tables import PERIOD_END, PERIOD_START, find_fact_table
from tests.datasets import CONTENT, FLOW_A, frame, sdmx_csv, write

DIMS = ["FREQ", "AREA", "SEX"]
POOL = frame(seed=5, months=3, quarters=2)


@pytest.fixture
def store(database_url, tmp_path):
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    db = Database(database_url)
    create_schema(db)
    outcome = load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings)
    assert outcome.ok, outcome.errors
    yield db, settings, tmp_path
    db.dispose()


def load(store, text: str, action="merge"):
    db, settings, tmp_path = store
    outcome = load_data(db, _registry(db), FLOW_A, write(tmp_path / "data.csv", text), action, settings)
    assert outcome.applied, outcome.report.text()
    return outcome


def fact_of(db):
    shape = data_shape(_registry(db).get("dataflow", *FLOW_A).structure)
    return find_fact_table(db, FLOW_A, shape)


def series_rows(db) -> pd.DataFrame:
    fact = fact_of(db)
    t = SeriesTable.of(fact).table
    cols = [t.c[fact.columns[d]].label(d) for d in DIMS] + [t.c[OBS_COUNT], t.c[PERIOD_START], t.c[PERIOD_END]]
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(*cols)).all()
    return _sorted(pd.DataFrame(rows, columns=[*DIMS, OBS_COUNT, PERIOD_START, PERIOD_END]))


def recount(db) -> pd.DataFrame:
    fact = fact_of(db)
    f = fact.table
    dims = [fact.column(d) for d in DIMS]
    select = sa.select(*[c.label(d) for c, d in zip(dims, DIMS)], sa.func.count(), sa.func.min(f.c[PERIOD_START]),
                       sa.func.max(f.c[PERIOD_END])).group_by(*dims)
    with db.engine.connect() as conn:
        rows = conn.execute(select).all()
    return _sorted(pd.DataFrame(rows, columns=[*DIMS, OBS_COUNT, PERIOD_START, PERIOD_END]))


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(DIMS).reset_index(drop=True).astype({OBS_COUNT: "int64", PERIOD_START: "int64",
                                                               PERIOD_END: "int64"})


def assert_exact(db) -> pd.DataFrame:
    found, expected = series_rows(db), recount(db)
    pd.testing.assert_frame_equal(found, expected, check_dtype=False)
    return found


def delete_rows(rows: list[dict]) -> str:
    """SDMX-CSV 2.0 delete rows; None is an empty (wildcard) field."""
    lines = ["STRUCTURE,STRUCTURE_ID,ACTION,FREQ,AREA,SEX,TIME_PERIOD,OBS_VALUE,OBS_STATUS"]
    for r in rows:
        fields = [r.get(c) or "" for c in ("FREQ", "AREA", "SEX", "TIME_PERIOD", "OBS_VALUE", "OBS_STATUS")]
        lines.append(",".join(["dataflow", "TEST:DF_A(1.0)", "D", *fields]))
    return "\n".join(lines) + "\n"


def test_first_load_then_merge_replace_delete(store):
    db, _, _ = store
    load(store, sdmx_csv(POOL))
    found = assert_exact(db)
    assert len(found) == 2 * 4 * 3 and found[OBS_COUNT].sum() == len(POOL)
    more = frame(seed=6, months=5, quarters=0)
    load(store, sdmx_csv(more))
    assert assert_exact(db)[OBS_COUNT].sum() == len(POOL) + 2 * 12  # two new months of 12 series
    load(store, sdmx_csv(more.iloc[:7]), action="replace")
    assert_exact(db)
    load(store, delete_rows([{"FREQ": "M", "AREA": "IR-23"}]))
    after = assert_exact(db)
    assert not ((after.FREQ == "M") & (after.AREA == "IR-23")).any()
    load(store, delete_rows([{"TIME_PERIOD": "2020-Q1"}]))
    assert_exact(db)
    load(store, delete_rows([{}]))  # every field empty: everything goes
    assert series_rows(db).empty


def test_deleting_values_keeps_the_counts(store):
    db, _, _ = store
    load(store, sdmx_csv(POOL))
    before = assert_exact(db)
    load(store, delete_rows([{"FREQ": "M", "OBS_VALUE": "1"}]))  # empties values, keeps observations
    pd.testing.assert_frame_equal(assert_exact(db), before)


def test_a_failed_load_leaves_the_series_as_they_were(store, monkeypatch):
    from sdmx_server.store import apply as apply_module

    db, _, _ = store
    load(store, sdmx_csv(POOL))
    before = assert_exact(db)
    monkeypatch.setattr(apply_module, "finish_record", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("cut")))
    with pytest.raises(RuntimeError):
        load(store, delete_rows([{"FREQ": "Q"}]))
    pd.testing.assert_frame_equal(series_rows(db), before)


def test_migration_builds_missing_series_tables(store):
    db, settings, _ = store
    load(store, sdmx_csv(POOL))
    before = assert_exact(db)
    name = SeriesTable.of(fact_of(db)).name
    with db.engine.begin() as conn:
        conn.execute(sa.text(f'DROP TABLE "{name}"'))
    create_schema(db)  # what every start does
    pd.testing.assert_frame_equal(assert_exact(db), before)


_ROW = st.integers(0, len(POOL) - 1)
_MAYBE = lambda values: st.one_of(st.none(), st.sampled_from(values))  # noqa: E731
_DELETE = st.fixed_dictionaries({
    "FREQ": _MAYBE(["M", "Q"]), "AREA": _MAYBE(sorted(set(POOL.AREA))), "SEX": _MAYBE(sorted(set(POOL.SEX))),
    "TIME_PERIOD": _MAYBE(sorted(set(POOL.TIME_PERIOD))), "OBS_VALUE": st.sampled_from([None, None, None, "1"]),
}).map(lambda d: d | {"TIME_PERIOD": None} if d["FREQ"] and d["TIME_PERIOD"] and (d["FREQ"] == "Q") != (
    "Q" in d["TIME_PERIOD"]) else d)  # a period of another frequency is refused, rightly
_STEP = st.one_of(
    st.tuples(st.sampled_from(["M", "R"]), st.lists(_ROW, min_size=1, max_size=30, unique=True)),
    st.tuples(st.just("D"), st.lists(_DELETE, min_size=1, max_size=3)),
    st.tuples(st.just("mixed"), st.lists(st.tuples(st.sampled_from("MRD"), _ROW), min_size=1, max_size=20,
                                         unique_by=lambda t: t[1])),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(_STEP, min_size=1, max_size=4))
def test_random_loads_keep_the_series_exact(store, steps):
    db, _, _ = store
    load(store, delete_rows([{}]))  # a clean start for each example
    for action, arg in steps:
        if action in ("M", "R"):
            part = POOL.iloc[sorted(arg)]
            load(store, sdmx_csv(part, version="2.0", actions=[action] * len(part)))
        elif action == "D":
            load(store, delete_rows(arg))
        else:
            part = POOL.iloc[[i for _, i in arg]]
            load(store, sdmx_csv(part, version="2.0", actions=[a for a, _ in arg]))
        assert_exact(db)


@pytest.mark.parametrize("early", [False, True], ids=["applied-after", "written-while-validated"])
def test_a_first_load_in_parts_that_split_series_counts_each_series_once(store, monkeypatch, early):
    """A first load's series are written part by part (store/series.FirstWrite): a series that
    goes on from one part into the next, or over three of them, is one row with its whole
    count and bounds."""
    from sdmx_server.ingest.readers import sdmx_csv as csv_reader

    monkeypatch.setattr(csv_reader, "READ_BLOCK", 300)
    monkeypatch.setattr(csv_reader, "BATCH_ROWS", 2)  # parts of 2 rows: a series of 6 spans 3
    if early:
        monkeypatch.setenv("SDMX_TEST_EARLY_ROWS", "1")
    db, _, _ = store
    df = frame(seed=9, months=7, quarters=2).sort_values([*DIMS, "TIME_PERIOD"]).reset_index(drop=True)
    load(store, sdmx_csv(df))
    found = assert_exact(db)
    assert len(found) == len(df.groupby(DIMS)) and found[OBS_COUNT].sum() == len(df)
    assert found[OBS_COUNT].max() >= 5  # (some series did span three parts)
