"""SDMX-ML data in: every SDMX-ML data format the server writes loads back as it was.

- Round trip over HTTP: the test content is served (conftest `served`, SQLite and PostgreSQL)
  in SDMX-ML 2.1 generic, generic time series, structure-specific, structure-specific time
  series, 3.0 and 3.1, with every kind of dimensionAtObservation; each answer is loaded with
  `load_data` into a fresh store, and the stored observations must equal the frame that was
  loaded in the first place (the pandas oracle).
- Hypothesis: random frames through each writer function and back through the reader.
- Messages the writers never make: actions per data set (several data sets in order), groups
  whose attributes reach their series, a message for another dataflow, unknown components.
- Hostile files (XXE, entity bombs, truncation, wrong roots, binary garbage): a rejected load
  with a clear line, never an exception.
"""

from __future__ import annotations

import io
import re

import httpx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdmx_server.boot import create_schema
from sdmx_server.cli import _registry
from sdmx_server.formats import data_generic_ml21, data_ml30, data_specific_ml21
from sdmx_server.formats.data_message import DataMessage, DataSetPart
from sdmx_server.formats.ml21 import Header
from sdmx_server.ingest.load import load_data
from sdmx_server.ingest.readers import ACTION, ROW, detect, reader_for
from sdmx_server.ingest.report import ValidationReport
from sdmx_server.query.layout import DataLayout
from sdmx_server.registry.load import load_structures
from sdmx_server.registry.shape import data_shape
from sdmx_server.settings import Settings
from sdmx_server.store.database import Database
from tests.datasets import AREAS, ATTRIBUTES, CONTENT, DIMENSIONS, FLOW_A, FLOW_B, SEXES, frame, sdmx_csv, write
from tests.test_load_data import as_stored
from tests.test_load_data import stored as stored_frame

V1 = "v1"
V2 = "v2"
#: (API, Accept, dimensionAtObservation values the format takes)
ML_FORMATS = {
    "generic": (V1, "application/vnd.sdmx.genericdata+xml;version=2.1", ("TIME_PERIOD", "AllDimensions", "AREA")),
    "generic-ts": (V1, "application/vnd.sdmx.generictimeseriesdata+xml;version=2.1", ("TIME_PERIOD",)),
    "specific": (V1, "application/vnd.sdmx.structurespecificdata+xml;version=2.1",
                 ("TIME_PERIOD", "AllDimensions", "SEX")),
    "specific-ts": (V1, "application/vnd.sdmx.structurespecifictimeseriesdata+xml;version=2.1", ("TIME_PERIOD",)),
    "ml30": (V2, "application/vnd.sdmx.data+xml;version=3.0.0", ("TIME_PERIOD", "AllDimensions", "FREQ")),
    "ml31": (V2, "application/vnd.sdmx.data+xml;version=3.1.0", ("TIME_PERIOD", "AllDimensions")),
}


def plain(df: pd.DataFrame) -> pd.DataFrame:
    """Missing values as None whatever pandas made of them (NaN, pd.NA), for comparing."""
    out = df.astype(object)
    return out.where(out.notna(), None)


def stored(target) -> pd.DataFrame:
    return plain(stored_frame(target))


def cases(formats: dict) -> list:
    return [pytest.param(name, dao, id=f"{name}-{dao}") for name, (_, _, daos) in formats.items() for dao in daos]


def download(served, formats: dict, name: str, dao: str) -> bytes:
    api, accept, _ = formats[name]
    flow = ",".join(FLOW_A)
    path = f"data/{flow}/all" if api == V1 else "v2/data/dataflow/{}/{}/{}/*".format(*FLOW_A)
    r = httpx.get(served.rest(path), params={"dimensionAtObservation": dao}, headers={"Accept": accept}, timeout=60)
    assert r.status_code == 200, r.text[:500]
    return r.content


@pytest.fixture
def target(tmp_path):
    """A fresh, empty SQLite store holding the test structures: where messages are loaded."""
    url = f"sqlite:///{tmp_path / 'target.db'}"
    settings_ = Settings(database_url=url, data_dir=tmp_path)
    db = Database(url)
    create_schema(db)
    assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings_).ok
    yield db, settings_, tmp_path
    db.dispose()


def load_bytes(target, data: bytes, name: str = "message", action: str = "merge", flow=FLOW_A):
    db, settings_, tmp_path = target
    path = tmp_path / name
    path.write_bytes(data)
    return load_data(db, _registry(db), flow, path, action, settings_)


@pytest.mark.parametrize("name, dao", cases(ML_FORMATS))
def test_served_sdmx_ml_loads_back_identical(served, target, name, dao):
    message = download(served, ML_FORMATS, name, dao)
    outcome = load_bytes(target, message)
    assert outcome.applied, outcome.report.text()
    assert outcome.format.startswith("SDMX-ML")
    assert not outcome.report.warnings
    expected = plain(as_stored(served.frames[FLOW_A]))
    pd.testing.assert_frame_equal(stored(target), expected, check_dtype=False)


# -- the readers against the writers, on random frames ----------------------------------------


@pytest.fixture(scope="module")
def shape(tmp_path_factory):
    directory = tmp_path_factory.mktemp("shape")
    url = f"sqlite:///{directory / 'shape.db'}"
    db = Database(url)
    create_schema(db)
    assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], Settings(database_url=url, data_dir=directory)).ok
    result = data_shape(_registry(db).get("dataflow", *FLOW_A).structure)
    db.dispose()
    return result


def message_bytes(df: pd.DataFrame, shape, write, dao: str | None) -> bytes:
    """The frame written by one of the server's writer functions."""
    layout = DataLayout.build(shape, dao)
    table = pd_to_arrow(df).sort_by([(c, "ascending") for c in layout.sort_columns()])
    part = DataSetPart(FLOW_A, shape, layout, iter(table.to_batches(max_chunksize=100)))
    return b"".join(write(DataMessage(Header(), [part])))


def pd_to_arrow(df: pd.DataFrame):
    import pyarrow as pa

    def text(values):
        return [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in values]

    columns = {c: pa.array(text(df[c].tolist()), pa.string()) for c in DIMENSIONS + ATTRIBUTES}
    columns["OBS_VALUE"] = pa.array(df["OBS_VALUE"].tolist(), pa.float64())
    return pa.table(columns)


def read(data: bytes, shape, flow=FLOW_A):
    """Detect and read a message from an open binary file (as uploads pass it)."""
    report = ValidationReport()
    fmt = detect(data[: 64 * 1024])
    assert fmt is not None, data[:200]
    incoming = reader_for(fmt)(io.BytesIO(data), shape, flow, report)
    return incoming, report


def as_frame(incoming) -> pd.DataFrame:
    df = incoming.whole().drop_columns([ROW, ACTION]).to_pandas()
    for c in DIMENSIONS + ATTRIBUTES:
        if c not in df:
            df[c] = None
    df["OBS_VALUE"] = df["OBS_VALUE"].astype(float)
    df = df[DIMENSIONS + ["OBS_VALUE"] + ATTRIBUTES].replace({np.nan: None})
    df["OBS_VALUE"] = df["OBS_VALUE"].astype(float)
    return df.sort_values(DIMENSIONS).reset_index(drop=True)


def expected_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in ATTRIBUTES:
        out[c] = out[c].replace({"": None, np.nan: None})
    return out.sort_values(DIMENSIONS).reset_index(drop=True)


WRITERS = {
    "generic": lambda m: data_generic_ml21.write(m),
    "generic-ts": lambda m: data_generic_ml21.write(m, time_series=True),
    "specific": lambda m: data_specific_ml21.write(m),
    "specific-ts": lambda m: data_specific_ml21.write(m, time_series=True),
    "ml30": lambda m: data_ml30.write(m, "3.0.0"),
    "ml31": lambda m: data_ml30.write(m, "3.1.0"),
}
_TEXT = st.text(st.characters(whitelist_categories=("L", "N", "P", "S", "Zs"), blacklist_characters="\x85\xa0"),
                min_size=1, max_size=12)


@st.composite
def frames(draw):
    areas = draw(st.lists(st.sampled_from(AREAS), min_size=1, max_size=3, unique=True))
    sexes = draw(st.lists(st.sampled_from(SEXES), min_size=1, max_size=2, unique=True))
    months = draw(st.integers(1, 5))
    rows = []
    for area in areas:
        for sex in sexes:
            title = draw(_TEXT)
            for m in range(months):
                rows.append({
                    "FREQ": "M", "AREA": area, "SEX": sex, "TIME_PERIOD": f"2021-{m + 1:02d}",
                    "OBS_VALUE": draw(st.floats(allow_nan=False, allow_infinity=False, width=64)),
                    "OBS_STATUS": draw(st.sampled_from(["A", "P", "E"])), "UNIT_MULT": "3", "TITLE": title,
                    "COMMENT": draw(st.one_of(st.none(), _TEXT)),
                })
    return pd.DataFrame(rows)


@pytest.mark.parametrize("writer", list(WRITERS))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(df=frames(), flat=st.booleans())
def test_random_frames_read_back_through_each_writer(shape, writer, df, flat):
    dao = "AllDimensions" if flat and not writer.endswith("-ts") else None
    incoming, report = read(message_bytes(df, shape, WRITERS[writer], dao), shape)
    assert incoming is not None, report.text()
    assert report.ok and not report.warnings, report.text()
    pd.testing.assert_frame_equal(as_frame(incoming), expected_frame(df), check_dtype=False)
    assert incoming.row_label == "line"
    assert incoming.whole().column(ACTION).null_count == len(df)  # no action in the message: --action decides


# -- what messages say that the writers never do ------------------------------------------------


def ss_message(body: str, header_ref: str = '<com:StructureUsage><Ref agencyID="TEST" id="DF_A" version="1.0"/></com:StructureUsage>',
               dao: str = "TIME_PERIOD") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<mes:StructureSpecificData xmlns:mes="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
  xmlns:ss="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/structurespecific"
  xmlns:com="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:ns1="urn:x">
<mes:Header><mes:ID>T</mes:ID><mes:Test>false</mes:Test><mes:Prepared>2024-01-01T00:00:00Z</mes:Prepared>
<mes:Sender id="T"/><mes:Structure structureID="S1" namespace="urn:x" dimensionAtObservation="{dao}">{header_ref}</mes:Structure>
</mes:Header>
{body}
</mes:StructureSpecificData>""".encode()


def test_actions_of_several_data_sets_are_read_in_order(shape):
    data = ss_message("""
<mes:DataSet ss:structureRef="S1" ss:action="Replace" UNIT_MULT="3">
 <Series FREQ="M" AREA="IR" SEX="F" TITLE="t"><Obs TIME_PERIOD="2020-01" OBS_VALUE="1" OBS_STATUS="A"/></Series>
</mes:DataSet>
<mes:DataSet ss:structureRef="S1" ss:action="Delete">
 <Series FREQ="M" AREA="IR" SEX="M"><Obs TIME_PERIOD="2020-02"/></Series>
 <Series FREQ="M" AREA="IR-23" SEX="M"/>
</mes:DataSet>
<mes:DataSet ss:structureRef="S1" ss:action="Information">
 <Obs FREQ="Q" AREA="IR" SEX="F" TIME_PERIOD="2020-Q1" OBS_VALUE="2" OBS_STATUS="A"/>
</mes:DataSet>
<mes:DataSet ss:structureRef="S1">
 <Obs FREQ="Q" AREA="IR" SEX="M" TIME_PERIOD="2020-Q1" OBS_VALUE="3" OBS_STATUS="A"/>
</mes:DataSet>""")
    incoming, report = read(data, shape)
    assert incoming is not None, report.text()
    t = incoming.whole().to_pydict()
    assert t[ACTION] == ["R", "D", "D", "M", None]
    assert t["AREA"] == ["IR", "IR", "IR-23", "IR", "IR"]
    assert t["TIME_PERIOD"] == ["2020-01", "2020-02", None, "2020-Q1", "2020-Q1"]  # a series alone: all its periods
    assert t["UNIT_MULT"] == ["3", None, None, None, None]
    lines = data.decode().splitlines()
    for row, area in zip(t[ROW], t["AREA"]):
        assert f'AREA="{area}"' in lines[row - 1] or "Obs" in lines[row - 1]
    assert "Obs" in lines[t[ROW][0] - 1] and 'TIME_PERIOD="2020-01"' in lines[t[ROW][0] - 1]


def test_a_delete_data_set_wins_over_the_load_action(target):
    df = frame(seed=4, months=3, quarters=0)
    assert load_bytes(target, sdmx_csv(df).encode(), "a.csv").applied
    data = ss_message("""<mes:DataSet ss:structureRef="S1" ss:action="Delete">
 <Series FREQ="M" AREA="IR" SEX="F"/>
 <Series FREQ="M" AREA="IR-23" SEX="M"><Obs TIME_PERIOD="2020-02"/></Series>
</mes:DataSet>""")
    outcome = load_bytes(target, data, action="merge")
    assert outcome.applied, outcome.report.text()
    kept = df[~((df.AREA == "IR") & (df.SEX == "F")) & ~((df.AREA == "IR-23") & (df.SEX == "M") & (df.TIME_PERIOD == "2020-02"))]
    pd.testing.assert_frame_equal(stored(target), plain(as_stored(kept)), check_dtype=False)


@pytest.mark.parametrize("generic", [False, True], ids=["specific", "generic"])
def test_group_attributes_reach_the_series_they_match(shape, generic):
    if generic:
        data = generic_message("""<mes:DataSet structureRef="S1">
<g:Series><g:SeriesKey><g:Value id="FREQ" value="M"/><g:Value id="AREA" value="IR"/><g:Value id="SEX" value="F"/></g:SeriesKey>
<g:Obs><g:ObsDimension value="2020-01"/><g:ObsValue value="1.5"/><g:Attributes><g:Value id="OBS_STATUS" value="A"/></g:Attributes></g:Obs></g:Series>
<g:Series><g:SeriesKey><g:Value id="FREQ" value="M"/><g:Value id="AREA" value="IR-23"/><g:Value id="SEX" value="F"/></g:SeriesKey>
<g:Attributes><g:Value id="TITLE" value="own"/></g:Attributes>
<g:Obs><g:ObsDimension value="2020-01"/><g:ObsValue value="2"/><g:Attributes><g:Value id="OBS_STATUS" value="A"/></g:Attributes></g:Obs></g:Series>
<g:Group type="SexGroup"><g:GroupKey><g:Value id="SEX" value="F"/></g:GroupKey><g:Attributes><g:Value id="TITLE" value="from group"/></g:Attributes></g:Group>
</mes:DataSet>""")
    else:
        data = ss_message("""<mes:DataSet ss:structureRef="S1">
<Series FREQ="M" AREA="IR" SEX="F"><Obs TIME_PERIOD="2020-01" OBS_VALUE="1.5" OBS_STATUS="A"/></Series>
<Series FREQ="M" AREA="IR-23" SEX="F" TITLE="own"><Obs TIME_PERIOD="2020-01" OBS_VALUE="2" OBS_STATUS="A"/></Series>
<Group xsi:type="ns1:SexGroup" SEX="F" TITLE="from group"/>
</mes:DataSet>""")
    incoming, report = read(data, shape)
    assert incoming is not None, report.text()
    t = incoming.whole().to_pydict()
    assert t["TITLE"] == ["from group", "own"]  # a series' own value wins over its group's
    assert t["OBS_VALUE"] == ["1.5", "2"]



def rows_on_their_lines(data: bytes, shape, obs: list[str]):
    """The rows read from a message whose observations `obs` are written one per line, in
    order: (the table as a dict, the report, the line of the first); each row's ROW is its line."""
    incoming, report = read(data, shape)
    assert incoming is not None, report.text()
    t = incoming.whole().to_pydict()
    first = data.decode().splitlines().index(obs[0]) + 1
    assert t[ROW] == list(range(first, first + len(obs)))
    return t, report, first


def test_generic_observations_written_in_other_ways_than_the_first_are_read_exactly(shape):
    """The first Obs teaches the reader a layout read by position; every other shape (fewer or
    more attributes, another order, an id on ObsDimension, a comment, no value) must read as
    the general way reads it, each on its own line."""
    key = '<g:SeriesKey><g:Value id="FREQ" value="M"/><g:Value id="AREA" value="IR"/><g:Value id="SEX" value="F"/></g:SeriesKey>'
    obs = [
        '<g:Obs><g:ObsDimension value="2020-01"/><g:ObsValue value="1"/><g:Attributes><g:Value id="OBS_STATUS" value="A"/>'
        '<g:Value id="COMMENT" value="c1"/></g:Attributes></g:Obs>',
        '<g:Obs><g:ObsDimension value="2020-02"/><g:ObsValue value="2"/><g:Attributes><g:Value id="OBS_STATUS" value="B"/>'
        '<g:Value id="COMMENT" value="c2"/></g:Attributes></g:Obs>',
        '<g:Obs><g:ObsDimension value="2020-03"/><g:ObsValue value="3"/><g:Attributes><g:Value id="COMMENT" value="c3"/>'
        '<g:Value id="OBS_STATUS" value="C"/></g:Attributes></g:Obs>',
        '<g:Obs><g:ObsDimension id="TIME_PERIOD" value="2020-04"/><g:ObsValue value="4"/><g:Attributes>'
        '<g:Value id="OBS_STATUS" value="D"/><g:Value id="COMMENT" value="c4"/></g:Attributes></g:Obs>',
        '<g:Obs><g:ObsDimension value="2020-05"/><g:ObsValue value="5"/><g:Attributes><g:Value id="OBS_STATUS" value="E"/>'
        '</g:Attributes></g:Obs>',
        '<g:Obs><g:ObsDimension value="2020-06"/><g:ObsValue value="6"/><g:Attributes><g:Value id="OBS_STATUS" value="F"/>'
        '<g:Value id="COMMENT" value="c6"/><g:Value id="UNIT_MULT" value="3"/></g:Attributes></g:Obs>',
        '<g:Obs><g:ObsDimension value="2020-07"/><!-- a note --><g:ObsValue value="7"/><g:Attributes>'
        '<g:Value id="OBS_STATUS" value="G"/><g:Value id="COMMENT" value="c7"/></g:Attributes></g:Obs>',
        '<g:Obs><g:ObsDimension value="2020-08"/><g:Attributes><g:Value id="OBS_STATUS" value="H"/>'
        '<g:Value id="COMMENT" value="c8"/></g:Attributes></g:Obs>',
        '<g:Obs><g:ObsDimension value="2020-09"/><g:ObsValue value="9"/><g:Attributes><g:Value id="OBS_STATUS" value="I"/>'
        '<g:Value id="COMMENT" value="c9"/></g:Attributes></g:Obs>',
    ]
    data = generic_message('<mes:DataSet structureRef="S1">\n<g:Series>' + key + "\n" + "\n".join(obs)
                           + "</g:Series>\n</mes:DataSet>")
    t, _, _ = rows_on_their_lines(data, shape, obs)
    assert t["TIME_PERIOD"] == [f"2020-{m:02d}" for m in range(1, 10)]
    assert t["OBS_VALUE"] == ["1", "2", "3", "4", "5", "6", "7", None, "9"]
    assert t["OBS_STATUS"] == list("ABCDEFGHI")
    assert t["COMMENT"] == ["c1", "c2", "c3", "c4", None, "c6", "c7", "c8", "c9"]
    assert t["UNIT_MULT"] == [None] * 5 + ["3"] + [None] * 3
    assert t["AREA"] == ["IR"] * 9

@pytest.mark.parametrize("chunk", [3, 65_536])
def test_specific_observations_of_many_layouts_are_read_exactly_and_in_order(shape, chunk, monkeypatch):
    """Each Obs's attributes are read by their names at once, and buffered by layout (the
    names in their order): observations of other layouts than the one before (fewer or more
    attributes, another order, a namespace-qualified one, a name no component has, a series
    attribute given on an observation) must read as each says, in the message's order, each
    on its own line; also when a chunk ends between them."""
    from sdmx_server.ingest.readers import sdmx_ml

    monkeypatch.setattr(sdmx_ml, "CHUNK", chunk)
    obs = [
        '<Obs TIME_PERIOD="2020-01" OBS_VALUE="1" OBS_STATUS="A" COMMENT="c1"/>',
        '<Obs TIME_PERIOD="2020-02" OBS_VALUE="2" OBS_STATUS="B" COMMENT="c2"/>',
        '<Obs OBS_STATUS="C" TIME_PERIOD="2020-03" COMMENT="c3" OBS_VALUE="3"/>',
        '<Obs TIME_PERIOD="2020-04" OBS_VALUE="4" OBS_STATUS="D" COMMENT="c4"/>',
        '<Obs TIME_PERIOD="2020-05" OBS_VALUE="5" OBS_STATUS="E"/>',
        '<Obs TIME_PERIOD="2020-06" OBS_VALUE="6" OBS_STATUS="F" COMMENT="c6" UNIT_MULT="3"/>',
        '<Obs xsi:type="ns1:O" TIME_PERIOD="2020-07" OBS_VALUE="7" OBS_STATUS="G" COMMENT="c7"/>',
        '<Obs TIME_PERIOD="2020-08" OBS_STATUS="H" COMMENT="c8" FOOTNOTE="f"/>',
        '<Obs TIME_PERIOD="2020-09" OBS_VALUE="9" OBS_STATUS="I" COMMENT="c9"/>',
        '<Obs TIME_PERIOD="2020-10" OBS_VALUE="" OBS_STATUS="J" COMMENT="c10" TITLE="t10"/>',
        '<Obs TIME_PERIOD="2020-11" OBS_VALUE="11" OBS_STATUS="K" COMMENT="c11"/>',
    ]
    data = ss_message('<mes:DataSet ss:structureRef="S1">\n<Series FREQ="M" AREA="IR" SEX="F" TITLE="series">\n'
                      + "\n".join(obs) + "\n</Series>\n</mes:DataSet>")
    t, report, first = rows_on_their_lines(data, shape, obs)
    assert t["TIME_PERIOD"] == [f"2020-{m:02d}" for m in range(1, 12)]
    assert t["OBS_VALUE"] == ["1", "2", "3", "4", "5", "6", "7", None, "9", "", "11"]
    assert t["OBS_STATUS"] == list("ABCDEFGHIJK")
    assert t["COMMENT"] == ["c1", "c2", "c3", "c4", None, "c6", "c7", "c8", "c9", "c10", "c11"]
    assert t["UNIT_MULT"] == [None] * 5 + ["3"] + [None] * 5
    assert t["TITLE"] == ["series"] * 9 + ["t10", "series"]  # the observation's own value wins
    assert t["AREA"] == ["IR"] * 11
    assert [w for w in report.warnings if "FOOTNOTE" in w] == [
        f"line {first + 7}: 'FOOTNOTE' is not a component of TEST:DSD_TEST(1.0); ignored"]
    assert not [w for w in report.warnings if "type" in w]  # (xsi:type is the message's, not data)


def generic_message(body: str, dao: str = "TIME_PERIOD") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<mes:GenericData xmlns:mes="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
  xmlns:g="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/generic"
  xmlns:com="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common">
<mes:Header><mes:ID>T</mes:ID><mes:Test>false</mes:Test><mes:Prepared>2024-01-01T00:00:00Z</mes:Prepared>
<mes:Sender id="T"/><mes:Structure structureID="S1" dimensionAtObservation="{dao}">
<com:Structure><URN>urn:sdmx:org.sdmx.infomodel.datastructure.DataStructure=TEST:DSD_TEST(1.0)</URN></com:Structure>
</mes:Structure></mes:Header>
{body}
</mes:GenericData>""".encode()


def test_a_message_for_its_dsd_loads_and_one_for_another_dataflow_is_refused(target):
    ok = generic_message("""<mes:DataSet structureRef="S1">
<g:Obs><g:ObsKey><g:Value id="FREQ" value="M"/><g:Value id="AREA" value="IR"/><g:Value id="SEX" value="F"/><g:Value id="TIME_PERIOD" value="2020-01"/></g:ObsKey>
<g:ObsValue value="7"/><g:Attributes><g:Value id="OBS_STATUS" value="A"/></g:Attributes></g:Obs></mes:DataSet>""", "AllDimensions")
    outcome = load_bytes(target, ok)
    assert outcome.applied, outcome.report.text()
    assert stored(target)["OBS_VALUE"].tolist() == [7.0]
    other = ss_message('<mes:DataSet ss:structureRef="S1"/>',
                       '<com:StructureUsage><Ref agencyID="TEST" id="DF_B" version="1.0"/></com:StructureUsage>')
    outcome = load_bytes(target, other)
    assert outcome.status == "rejected"
    assert "line 9: the data set is for dataflow TEST:DF_B(1.0), not the dataflow being loaded (TEST:DF_A(1.0))" \
        in outcome.report.text()
    assert load_bytes(target, other, flow=FLOW_B).status == "applied"


def test_unknown_components_are_warned_of_and_ignored(target):
    data = ss_message("""<mes:DataSet ss:structureRef="S1" EXTRA="1">
<Series FREQ="M" AREA="IR" SEX="F" NOTE="n"><Obs TIME_PERIOD="2020-01" OBS_VALUE="1" OBS_STATUS="A" FOOTNOTE="x"/></Series>
</mes:DataSet>""")
    outcome = load_bytes(target, data)
    assert outcome.applied, outcome.report.text()
    warnings = "\n".join(outcome.report.warnings)
    for name, line in (("EXTRA", 9), ("NOTE", 10), ("FOOTNOTE", 10)):
        assert f"line {line}: '{name}' is not a component of TEST:DSD_TEST(1.0); ignored" in warnings


@pytest.mark.parametrize("order", ["flat-series", "flat-series-flat", "series-flat-series"])
def test_flat_data_sets_and_data_sets_of_series_mix_in_one_message(shape, order):
    """Observations directly in a data set carry the whole key; a data set of series beside
    it carries the key on its series. Each row keeps its own key, whatever came before (the
    reader once lost count of the key components read on observations: a crash, or values
    moved to other rows)."""
    flat = {"flat": ('<mes:DataSet ss:structureRef="S1"><Obs FREQ="M" AREA="IR-23" SEX="M" TIME_PERIOD="1999-0{i}" '
                     'OBS_VALUE="{i}"/></mes:DataSet>'),
            "series": ('<mes:DataSet ss:structureRef="S1"><Series FREQ="M" AREA="IR" SEX="F">'
                       '<Obs TIME_PERIOD="2000-0{i}" OBS_VALUE="{i}"/></Series></mes:DataSet>')}
    kinds = order.split("-")
    data = ss_message("\n".join(flat[kind].format(i=i + 1) for i, kind in enumerate(kinds)))
    incoming, report = read(data, shape)
    assert incoming is not None and report.ok, report.text()
    got = incoming.whole().select(["AREA", "SEX", "TIME_PERIOD", "OBS_VALUE"]).to_pylist()
    expected = [{"AREA": "IR-23", "SEX": "M", "TIME_PERIOD": f"1999-0{i + 1}", "OBS_VALUE": str(i + 1)} if kind == "flat"
                else {"AREA": "IR", "SEX": "F", "TIME_PERIOD": f"2000-0{i + 1}", "OBS_VALUE": str(i + 1)}
                for i, kind in enumerate(kinds)]
    assert got == expected


# -- hostile files -------------------------------------------------------------------------------

_ROOT_SS = ('<mes:StructureSpecificData xmlns:mes="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message" '
            'xmlns:ss="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/structurespecific">')
HOSTILE = {
    "xxe": (b'<?xml version="1.0"?>\n<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
            + _ROOT_SS.encode() + b'<mes:DataSet><Obs A="&x;"/></mes:DataSet></mes:StructureSpecificData>',
            "line 2: the document declares a DTD (<!DOCTYPE>), which SDMX messages never do; refused"),
    "entity-bomb": (b'<?xml version="1.0"?>\n<!DOCTYPE m [<!ENTITY a "aaaaaaaaaa">'
                    + b"".join(b'<!ENTITY %s "%s">' % (bytes([98 + i]), (b"&%s;" % bytes([97 + i])) * 10) for i in range(8))
                    + b"]>\n" + _ROOT_SS.encode() + b'<mes:DataSet><Obs A="&i;"/></mes:DataSet></mes:StructureSpecificData>',
                    "declares a DTD"),
    "wrong-root": (b'<?xml version="1.0"?>\n<mes:Structure xmlns:mes="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"/>',
                   "not a data message the server reads"),
    "garbage": (bytes(np.random.default_rng(7).integers(0, 256, 5000, dtype=np.uint8)), "not a data message the server reads"),
    "empty": (b"", "not a data message the server reads"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_files_are_rejected_with_a_clear_line(target, name):
    data, expected = HOSTILE[name]
    outcome = load_bytes(target, data)
    assert outcome.status == "rejected"
    assert expected in outcome.report.text()


@pytest.mark.parametrize("writer", ["generic", "specific", "ml30"])
def test_a_truncated_message_is_rejected_with_its_line(shape, target, writer):
    df = frame(seed=2, months=12, quarters=4)
    data = message_bytes(expected_frame(df), shape, WRITERS[writer], None)
    data = data.replace(b"><", b">\n<")  # a line per element, so the line number means something
    cut = data[: len(data) * 2 // 3]
    outcome = load_bytes(target, cut)
    assert outcome.status == "rejected"
    text = outcome.report.text()
    m = re.search(r"line (\d+): not well-formed XML \(is the file complete\?\)", text)
    assert m, text
    assert int(m.group(1)) in (cut.count(b"\n") + 1, cut.count(b"\n"))
