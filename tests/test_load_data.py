"""Loading data: validated whole, applied all-or-nothing, reported by row and column.

Runs on SQLite and PostgreSQL (see conftest.database_url).
"""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from sdmx_server.cli import _registry
from sdmx_server.ingest.load import LoadError, load_data
from sdmx_server.registry.load import load_structures
from sdmx_server.settings import Settings
from sdmx_server.store import apply as apply_module
from sdmx_server.store.database import Database
from sdmx_server.store.records import LoadRecord
from sdmx_server.boot import create_schema
from sdmx_server.store.tables import find_fact_table
from tests.datasets import ATTRIBUTES, CONTENT, FLOW_A, FLOW_B, frame, sdmx_csv, write


@pytest.fixture
def store(database_url, tmp_path):
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    db = Database(database_url)
    create_schema(db)
    outcome = load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings)
    assert outcome.ok, outcome.errors
    yield db, settings, tmp_path
    db.dispose()


def load(store, text: str, flow=FLOW_A, action="merge", name="data.csv"):
    db, settings, tmp_path = store
    return load_data(db, _registry(db), flow, write(tmp_path / name, text), action, settings)


def stored(store, flow=FLOW_A) -> pd.DataFrame:
    db, _, _ = store
    registry = _registry(db)
    from sdmx_server.registry.shape import data_shape

    shape = data_shape(registry.get("dataflow", *flow).structure)
    fact = find_fact_table(db, flow, shape)
    if fact is None:
        return pd.DataFrame(columns=["FREQ", "AREA", "SEX", "TIME_PERIOD"])
    columns = [fact.column(c.id).label(c.id) for c in shape.components]
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(*columns)).mappings().all()
    df = pd.DataFrame(rows, columns=[c.id for c in shape.components])
    return df.sort_values(["FREQ", "AREA", "SEX", "TIME_PERIOD"]).reset_index(drop=True)


def records(store) -> list[LoadRecord]:
    db, _, _ = store
    with Session(db.engine) as session:
        return list(session.exec(select(LoadRecord).order_by(LoadRecord.id)).all())


def as_stored(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for column in ("OBS_STATUS", "UNIT_MULT", "TITLE", "COMMENT"):
        out[column] = out[column].replace("", None)
    return out.sort_values(["FREQ", "AREA", "SEX", "TIME_PERIOD"]).reset_index(drop=True)


def test_a_valid_file_is_stored_exactly(store):
    df = frame()
    outcome = load(store, sdmx_csv(df))
    assert outcome.applied, outcome.report.text()
    assert outcome.result.written == len(df)
    pd.testing.assert_frame_equal(stored(store), as_stored(df), check_dtype=False)
    assert records(store)[-1].status == "applied"
    assert records(store)[-1].observations == len(df)


def test_two_dataflows_on_one_dsd_keep_their_data_apart(store):
    a, b = frame(seed=1), frame(seed=2, months=3, quarters=1)
    assert load(store, sdmx_csv(a, FLOW_A)).applied
    assert load(store, sdmx_csv(b, FLOW_B), FLOW_B).applied
    assert len(stored(store, FLOW_A)) == len(a)
    assert len(stored(store, FLOW_B)) == len(b)
    pd.testing.assert_frame_equal(stored(store, FLOW_B), as_stored(b), check_dtype=False)


def test_sdmx_csv_2_with_actions(store):
    df = frame(months=3, quarters=0)
    assert load(store, sdmx_csv(df, version="2.0")).applied
    changed = df.iloc[:2].copy()
    changed["OBS_VALUE"] = [1.5, 2.5]
    changed["OBS_STATUS"] = ["E", "E"]
    changed["TITLE"] = ["", ""]  # merge: empty keeps the stored value
    gone = df.iloc[2:3].copy()
    gone["OBS_VALUE"] = float("nan")  # values omitted: the whole observation goes
    gone[ATTRIBUTES] = ""
    text = sdmx_csv(pd.concat([changed, gone]), version="2.0", actions=["M", "M", "D"])
    outcome = load(store, text)
    assert outcome.applied, outcome.report.text()
    after = stored(store)
    assert len(after) == len(df) - 1
    first = after[(after.AREA == df.AREA[0]) & (after.SEX == df.SEX[0]) & (after.TIME_PERIOD == df.TIME_PERIOD[0])]
    assert first.OBS_VALUE.item() == 1.5 and first.OBS_STATUS.item() == "E"
    assert first.TITLE.item() == df.TITLE[0]


def test_replace_empties_what_the_file_leaves_empty(store):
    df = frame(months=2, quarters=0)
    assert load(store, sdmx_csv(df)).applied
    again = df.iloc[:1].copy()
    again["TITLE"] = ""
    assert load(store, sdmx_csv(again), action="replace").applied
    row = stored(store).iloc[0]
    assert pd.isna(row.TITLE) and row.OBS_VALUE == again.OBS_VALUE[0]


def test_delete_with_wildcards(store):
    df = frame(months=2, quarters=2)
    assert load(store, sdmx_csv(df)).applied
    text = "DATAFLOW,FREQ,AREA,SEX,TIME_PERIOD\nTEST:DF_A(1.0),M,IR-23,,\n"
    outcome = load(store, text, action="delete")
    assert outcome.applied, outcome.report.text()
    after = stored(store)
    assert not ((after.FREQ == "M") & (after.AREA == "IR-23")).any()
    assert len(after) == len(df) - 2 * 3


def test_deleting_an_attribute_value_keeps_the_observation(store):
    df = frame(months=1, quarters=0)
    assert load(store, sdmx_csv(df)).applied
    text = "DATAFLOW,FREQ,AREA,SEX,TIME_PERIOD,TITLE\nTEST:DF_A(1.0),M,IR,F,2020-01,-\n"
    assert load(store, text, action="delete").applied
    after = stored(store)
    row = after[(after.AREA == "IR") & (after.SEX == "F")].iloc[0]
    assert pd.isna(row.TITLE) and row.OBS_VALUE == df[(df.AREA == "IR") & (df.SEX == "F")].OBS_VALUE.item()
    assert len(after) == len(df)


BAD_FILES = [
    # (what to do to the frame or text, expected report line fragment)
    (lambda df: df.assign(AREA=df.AREA.where(df.index != 5, "IR-99")), "row 7, column AREA: 'IR-99' is not a code of TEST:CL_AREA(1.0)"),
    (lambda df: df.assign(TIME_PERIOD=df.TIME_PERIOD.where(df.index != 0, "2020-13")), "row 2, column TIME_PERIOD: '2020-13' is not an SDMX time period"),
    (lambda df: df.assign(TIME_PERIOD=df.TIME_PERIOD.where(df.index != 3, "2021-Q1")), "row 5, column TIME_PERIOD: '2021-Q1' is not a period of frequency M"),
    (lambda df: df.assign(OBS_VALUE=df.OBS_VALUE.astype(object).where(df.index != 1, "12,5")), "row 3, column OBS_VALUE: '12,5' is not a number"),
    (lambda df: df.assign(OBS_STATUS=df.OBS_STATUS.where(df.index != 2, "")), "row 4, column OBS_STATUS: empty, but OBS_STATUS is mandatory"),
    (lambda df: df.assign(COMMENT=df.COMMENT.where(df.index != 4, "x" * 101)), "row 6, column COMMENT:"),
    (lambda df: pd.concat([df, df.iloc[[0]]], ignore_index=True), "duplicate observation M.IR.F.2020-01"),
    (lambda df: df.assign(SEX=df.SEX.where(df.index != 0, "")), "row 2, column SEX: empty"),
]


@pytest.mark.parametrize("corrupt, expected", BAD_FILES)
def test_a_bad_file_is_rejected_whole_with_row_and_column(store, corrupt, expected):
    good = frame(months=3, quarters=0)
    assert load(store, sdmx_csv(good)).applied
    before = stored(store)
    bad = corrupt(frame(seed=9, months=3, quarters=0))
    outcome = load(store, sdmx_csv(bad))
    assert not outcome.applied
    text = outcome.report.text()
    assert expected in text, text
    pd.testing.assert_frame_equal(stored(store), before)
    assert records(store)[-1].status == "rejected"
    assert expected.split(": ")[0] in records(store)[-1].report


@pytest.mark.parametrize(
    "text, expected",
    [
        ("FLOW,FREQ\nx,M\n", "not SDMX-CSV"),
        ("DATAFLOW,FREQ,AREA,SEX,TIME_PERIOD,OBS_VALUE\nTEST:DF_A(1.0),M,IR,F,2020-01,1,9\n", "row 2: expected 6 fields"),
        ("DATAFLOW,FREQ,AREA,TIME_PERIOD,OBS_VALUE\nTEST:DF_A(1.0),M,IR,2020-01,1\n", "the dimension column SEX is missing"),
        ("DATAFLOW,FREQ,AREA,SEX,TIME_PERIOD,OBS_VALUE,OBS_STATUS\nTEST:DF_B(1.0),M,IR,F,2020-01,1,A\n",
         "row 2, column DATAFLOW: 'TEST:DF_B(1.0)' is not the dataflow being loaded"),
    ],
)
def test_broken_files(store, text, expected):
    outcome = load(store, text)
    assert not outcome.applied
    assert expected in outcome.report.text(), outcome.report.text()


def test_not_utf8(store):
    db, settings, tmp_path = store
    path = tmp_path / "latin1.csv"
    path.write_bytes("DATAFLOW,FREQ,AREA,SEX,TIME_PERIOD,OBS_VALUE,OBS_STATUS,TITLE\nTEST:DF_A(1.0),M,IR,F,2020-01,1,A,caf\xe9\n".encode("latin-1"))
    outcome = load_data(db, _registry(db), FLOW_A, path, "merge", settings)
    assert not outcome.applied and "UTF-8" in outcome.report.text()


def test_unknown_dataflow_and_missing_file(store):
    db, settings, tmp_path = store
    with pytest.raises(LoadError, match="not loaded"):
        load_data(db, _registry(db), ("TEST", "NOPE", "1.0"), tmp_path / "x.csv", "merge", settings)
    with pytest.raises(LoadError, match="no such file"):
        load_data(db, _registry(db), FLOW_A, tmp_path / "missing.csv", "merge", settings)


def test_a_crash_during_apply_leaves_the_previous_state(store, monkeypatch):
    df = frame(months=2, quarters=0)
    assert load(store, sdmx_csv(df)).applied
    before = stored(store)

    def crash(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(apply_module, "finish_record", crash)
    changed = df.assign(OBS_VALUE=df.OBS_VALUE + 1)
    with pytest.raises(RuntimeError, match="power cut"):
        load(store, sdmx_csv(pd.concat([changed, frame(seed=3, months=4, quarters=0).iloc[100:]])))
    pd.testing.assert_frame_equal(stored(store), before)
    assert records(store)[-1].status == "failed"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_damage_is_rejected_or_applied_never_crashes(store, data):
    text = sdmx_csv(frame(months=1, quarters=1))
    lines = text.splitlines(keepends=True)
    index = data.draw(st.integers(1, len(lines) - 1))
    garbage = data.draw(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30))
    position = data.draw(st.integers(0, len(lines[index])))
    lines[index] = lines[index][:position] + garbage + lines[index][position:]
    outcome = load(store, "".join(lines))
    assert outcome.status in ("applied", "rejected")
    if not outcome.applied:
        assert outcome.report.lines()


def test_an_attribute_the_dsd_gained_is_added_by_the_next_load(store):
    # A table made before the DSD had TITLE (a series attribute): the next load's checks
    # against stored values must not read a column that is not there yet, and the load adds it.
    import json

    from sdmx_server.store.tables import FactTableRow

    db, _, _ = store
    df = frame(seed=1, months=3, quarters=0)
    assert load(store, sdmx_csv(df)).applied
    with Session(db.engine) as session:
        row = session.exec(select(FactTableRow)).one()
        layout = json.loads(row.layout)
        (column,) = [c for a, c in layout["attributes"] if a == "TITLE"]
        layout["attributes"] = [[a, c] for a, c in layout["attributes"] if a != "TITLE"]
        row.layout = json.dumps(layout)
        session.add(row)
        for table in (row.table_name, f"{row.table_name}_h"):
            session.exec(sa.text(f'ALTER TABLE "{table}" DROP COLUMN "{column}"'))
        session.commit()
    again = load(store, sdmx_csv(frame(seed=2, months=3, quarters=0)), name="again.csv")
    assert again.applied, again.report.text()
    assert stored(store)["TITLE"].notna().all()
