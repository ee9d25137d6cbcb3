"""Validation through the whole load, against the store, on SQLite and PostgreSQL.

- Generated structures (hypothesis writes the authoring YAML: codelists, a DSD with a few coded
  dimensions and attributes at three levels, a dataflow and an allowed constraint): a clean
  file loads and reads back identical; the same file with one injected fault is rejected with
  exactly that fault and changes nothing.
- Attribute attachment against what is stored: a series or data-set attribute whose new value
  would leave stored observations with the old one is refused, unless the file rewrites them
  all (or replaces everything); the rule is the one docs/loading.md states.
"""

from __future__ import annotations

import csv
import io
import itertools
import json

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdmx_server.boot import create_schema
from sdmx_server.cli import _registry
from sdmx_server.ingest.load import load_data
from sdmx_server.registry.load import load_structures
from sdmx_server.registry.shape import data_shape
from sdmx_server.settings import Settings
from sdmx_server.store.database import Database
from sdmx_server.store.tables import find_fact_table
from tests.datasets import CONTENT, FLOW_A, frame, sdmx_csv, write

_counter = itertools.count()


@pytest.fixture
def store(database_url, tmp_path):
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    db = Database(database_url)
    create_schema(db)
    assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings).ok
    yield db, settings, tmp_path
    db.dispose()


def load(store, text: str, flow=FLOW_A, action="merge"):
    db, settings, tmp_path = store
    path = write(tmp_path / f"f{next(_counter)}.csv", text)
    return load_data(db, _registry(db), flow, path, action, settings)


def stored(store, flow=FLOW_A) -> pd.DataFrame:
    db, _, _ = store
    shape = data_shape(_registry(db).get("dataflow", *flow).structure)
    fact = find_fact_table(db, flow, shape)
    if fact is None:
        return pd.DataFrame()
    columns = [fact.column(c.id).label(c.id) for c in shape.components]
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(*columns)).mappings().all()
    df = pd.DataFrame(rows, columns=[c.id for c in shape.components]).astype(str)
    return df.sort_values(list(shape.all_dimension_ids)).reset_index(drop=True)


def errors(outcome) -> set[tuple]:
    return {(r, g.column or None, g.rule) for g in outcome.report.groups for r in g.rows}


# -- generated structures ---------------------------------------------------------------------


@st.composite
def structures(draw):
    n = next(_counter)
    names = draw(st.lists(st.sampled_from(["AREA", "SEX", "AGE", "SECTOR"]), min_size=1, max_size=3, unique=True))
    codes = {d: draw(st.lists(st.from_regex(r"[A-Z][A-Z0-9]{0,2}", fullmatch=True), min_size=2, max_size=3,
                              unique=True)) for d in names}
    constrained = draw(st.sampled_from(names))
    agency = "GEN"
    suffix = f"{n}"
    codelists = [{"id": f"CL_{d}_{suffix}", "agency": agency, "version": "1.0", "name": {"fa": "ن", "en": d},
                  "codes": [{"id": c, "name": {"fa": "ن", "en": c}} for c in codes[d]]} for d in names]
    codelists.append({"id": f"CL_FREQ_{suffix}", "agency": agency, "version": "1.0", "name": {"fa": "ن", "en": "freq"},
                      "codes": [{"id": c, "name": {"fa": "ن", "en": c}} for c in ("A", "M", "Q")]})
    codelists.append({"id": f"CL_STATUS_{suffix}", "agency": agency, "version": "1.0", "name": {"fa": "ن", "en": "status"},
                      "codes": [{"id": c, "name": {"fa": "ن", "en": c}} for c in ("A", "E")]})
    concepts = [{"id": d, "name": {"fa": "ن", "en": d}, "codelist": f"CL_{d}_{suffix}"} for d in names]
    concepts += [
        {"id": "FREQ", "name": {"fa": "ن", "en": "freq"}, "codelist": f"CL_FREQ_{suffix}"},
        {"id": "TIME_PERIOD", "name": {"fa": "ن", "en": "time"}},
        {"id": "OBS_VALUE", "name": {"fa": "ن", "en": "value"}, "text_format": {"type": "Double"}},
        {"id": "OBS_STATUS", "name": {"fa": "ن", "en": "status"}, "codelist": f"CL_STATUS_{suffix}"},
        {"id": "TITLE", "name": {"fa": "ن", "en": "title"}, "text_format": {"type": "String"}},
    ]
    allowed = codes[constrained][:-1]
    document = {
        "codelists": codelists,
        "conceptscheme": {"id": f"CS_{suffix}", "agency": agency, "version": "1.0", "name": {"fa": "ن", "en": "c"},
                          "concepts": concepts},
        "datastructure": {
            "id": f"DSD_{suffix}", "agency": agency, "version": "1.0", "name": {"fa": "ن", "en": "dsd"},
            "concepts": f"CS_{suffix}",
            "dimensions": [{"id": "FREQ"}, *[{"id": d} for d in names]],
            "time_dimension": "TIME_PERIOD",
            "measure": {"id": "OBS_VALUE"},
            "attributes": [{"id": "OBS_STATUS", "attached_to": "observation", "mandatory": True},
                           {"id": "TITLE", "attached_to": "series"}],
        },
        "dataflows": [{"id": f"DF_{suffix}", "agency": agency, "version": "1.0", "name": {"fa": "ن", "en": "df"},
                       "structure": f"DSD_{suffix}"}],
        "dataconstraints": [{"id": f"CR_{suffix}", "agency": agency, "version": "1.0", "name": {"fa": "ن", "en": "cr"},
                             "role": "allowed", "dataflows": f"DF_{suffix}", "include": {constrained: allowed}}],
    }
    months = draw(st.integers(1, 3))
    keys = [[]]
    for d in names:
        keys = [k + [c] for k in keys for c in (allowed if d == constrained else codes[d])]
    values = draw(st.lists(st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False), min_size=1, max_size=5))
    rows = []
    for key in keys:
        for m in range(months):
            rows.append({"FREQ": "M", **dict(zip(names, key)), "TIME_PERIOD": f"2021-{m + 1:02d}",
                         "OBS_VALUE": repr(values[len(rows) % len(values)]), "OBS_STATUS": "A",
                         "TITLE": "t " + "/".join(key)})
    flow = (agency, f"DF_{suffix}", "1.0")
    return document, flow, ["FREQ", *names], constrained, codes[constrained][-1], rows


def as_csv(flow, dims, rows) -> str:
    columns = [*dims, "TIME_PERIOD", "OBS_VALUE", "OBS_STATUS", "TITLE"]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["DATAFLOW", *columns])
    for row in rows:
        w.writerow([f"{flow[0]}:{flow[1]}({flow[2]})", *[row[c] for c in columns]])
    return out.getvalue()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(generated=structures(), data=st.data())
def test_generated_structures_clean_files_load_identical_and_faults_change_nothing(store, generated, data):
    db, settings_, tmp_path = store
    document, flow, dims, constrained, outside, rows = generated
    path = tmp_path / f"structures_{flow[1]}.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    outcome = load_structures(db, [path], settings_)
    assert outcome.ok, outcome.errors
    loaded = load(store, as_csv(flow, dims, rows), flow)
    assert loaded.applied, loaded.report.text()
    got = stored(store, flow)
    expected = pd.DataFrame(rows)
    expected["OBS_VALUE"] = expected["OBS_VALUE"].astype(float)
    got_values = got["OBS_VALUE"].astype(float)
    keys = [*dims, "TIME_PERIOD"]
    expected = expected.sort_values(keys).reset_index(drop=True)
    assert got[keys + ["OBS_STATUS", "TITLE"]].values.tolist() == expected[keys + ["OBS_STATUS", "TITLE"]].values.tolist()
    assert got_values.tolist() == expected["OBS_VALUE"].tolist()

    fault = data.draw(st.sampled_from(["constraint", "code", "overflow", "conflict"]))
    bad = [dict(r) for r in rows]
    i = data.draw(st.integers(0, len(bad) - 1))
    if fault == "constraint":
        bad[i][constrained] = outside
        want = {(i + 2, constrained, "constraint")}
    elif fault == "code":
        bad[i][dims[-1]] = "ZZ9"
        want = {(i + 2, dims[-1], "code")}
    elif fault == "overflow":
        bad[i]["OBS_VALUE"] = "-1e400"
        want = {(i + 2, "OBS_VALUE", "number-overflow")}
    else:
        # The stored series keeps its title for the observations this file does not send.
        bad = [dict(bad[i], TITLE="a new title", OBS_VALUE="1")]
        same_series = sum(all(r[d] == bad[0][d] for d in dims) for r in rows)
        # A series of one observation is rewritten whole by the file: no conflict then.
        want = set() if same_series == 1 else {(2, "TITLE", "attribute-stored-conflict")}
    before = stored(store, flow)
    outcome = load(store, as_csv(flow, dims, bad), flow)
    if not want:
        assert outcome.applied, outcome.report.text()
        return
    assert outcome.status == "rejected"
    assert errors(outcome) == want, outcome.report.text()
    pd.testing.assert_frame_equal(stored(store, flow), before)


# -- attributes against the store ---------------------------------------------------------------


def test_a_series_attribute_changed_for_part_of_a_series_is_refused(store):
    df = frame(months=3, quarters=0)
    assert load(store, sdmx_csv(df)).applied
    before = stored(store)
    part = df[(df.FREQ == "M") & (df.AREA == "IR") & (df.SEX == "F")].head(2).copy()
    part["TITLE"] = "renamed"
    outcome = load(store, sdmx_csv(part))
    assert outcome.status == "rejected"
    assert errors(outcome) == {(2, "TITLE", "attribute-stored-conflict"), (3, "TITLE", "attribute-stored-conflict")}
    text = outcome.report.text()
    assert "series M.IR.F: 'renamed' here, but the store holds" in text and "M.IR.F.2020-03" in text
    pd.testing.assert_frame_equal(stored(store), before)
    report = json.loads(_record(store, outcome.record_id).report_json)
    assert report["errors"][0]["rule"] == "attribute-stored-conflict"
    assert report["errors"][0]["value"] == "renamed"


def test_a_series_attribute_changed_for_the_whole_series_is_taken(store):
    df = frame(months=3, quarters=0)
    assert load(store, sdmx_csv(df)).applied
    whole = df[(df.FREQ == "M") & (df.AREA == "IR") & (df.SEX == "F")].copy()
    whole["TITLE"] = "renamed"
    outcome = load(store, sdmx_csv(whole))
    assert outcome.applied, outcome.report.text()
    after = stored(store)
    series = after[(after.FREQ == "M") & (after.AREA == "IR") & (after.SEX == "F")]
    assert set(series.TITLE) == {"renamed"}


def test_a_data_set_attribute_other_than_the_stored_one_is_refused_unless_everything_is_replaced(store):
    df = frame(months=2, quarters=0)
    assert load(store, sdmx_csv(df)).applied  # UNIT_MULT is 3 everywhere
    other = df.head(3).copy()
    other["UNIT_MULT"] = "0"
    outcome = load(store, sdmx_csv(other))
    assert outcome.status == "rejected"
    assert {e[1:] for e in errors(outcome)} == {("UNIT_MULT", "attribute-stored-conflict")}
    assert "the data set: '0' here, but the store holds '3'" in outcome.report.text()
    everything = df.copy()
    everything["UNIT_MULT"] = "0"
    outcome = load(store, sdmx_csv(everything), action="replace-all")
    assert outcome.applied, outcome.report.text()
    assert set(stored(store).UNIT_MULT) == {"0"}


def test_a_data_set_attribute_with_two_values_in_one_file_is_refused(store):
    df = frame(months=2, quarters=0)
    df.loc[4, "UNIT_MULT"] = "0"
    outcome = load(store, sdmx_csv(df))
    assert outcome.status == "rejected"
    assert errors(outcome) == {(6, "UNIT_MULT", "attribute-conflict")}


def _record(store, record_id):
    from sqlmodel import Session

    from sdmx_server.store.records import LoadRecord

    db, _, _ = store
    with Session(db.engine) as session:
        return session.get(LoadRecord, record_id)
