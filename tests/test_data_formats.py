"""Data formats end to end: SDMX-CSV 1.0/2.0/2.1 with every media-type parameter against a pandas
oracle (over REST v1 HTTP), SDMX-ML 2.1/3.0/3.1 validated against the official XSDs with the
DSD-specific schemas and read back by sdmx1 (and SDMX-CSV by pysdmx), several data sets per
message, and a data-set-level attribute with two values (fault 7).

The oracle takes names from the structures as sdmx1 reads them from the server, not from the
server's own label service, and periods from pandas' calendar, not from query.periods.
"""

from __future__ import annotations

import io

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import sdmx

from sdmx_server.formats import data_csv, data_generic_ml21, data_ml30, data_specific_ml21
from sdmx_server.formats.data_ml21 import DataSetAttributeConflict
from sdmx_server.formats.data_message import DataMessage, DataSetPart
from sdmx_server.formats.ml21 import Header
from sdmx_server.formats.schema_ml21 import data_schema
from sdmx_server.query.layout import DataLayout
from sdmx_server.registry.shape import data_shape
from tests.datasets import DIMENSIONS, FLOW_A, FLOW_B
from tests.xsd import assert_valid

KEY = "M+Q.IR+IR-10."  # monthly and quarterly series of two areas


def get(served, path: str, accept: str | None = None, language: str | None = None, **params) -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    if language:
        headers["Accept-Language"] = language
    return httpx.get(served.rest(path), headers=headers, params=params or None, timeout=60)


@pytest.fixture(scope="module")
def structures(served):
    """The DSD and its codelists and concepts as sdmx1 reads them from the server."""
    body = get(served, "datastructure/TEST/DSD_TEST/1.0", references="all").content
    message = sdmx.read_sdmx(io.BytesIO(body))
    flows = sdmx.read_sdmx(io.BytesIO(get(served, "dataflow/TEST").content))
    return message, flows


def names(structures, language: str = "en"):
    """component id -> name, component id -> {code: name}, flow id -> name (the oracle's labels)."""
    message, flows = structures
    dsd = message.structure["DSD_TEST"]
    components, codes = {}, {}
    for component in [*dsd.dimensions.components, *dsd.measures.components, *dsd.attributes.components]:
        concept = component.concept_identity
        components[component.id] = concept.name.localizations.get(language, component.id)
        enumerated = component.local_representation.enumerated if component.local_representation else None
        if enumerated is None and concept.core_representation is not None:
            enumerated = concept.core_representation.enumerated
        if enumerated is not None:
            codes[component.id] = {c.id: c.name.localizations.get(language) for c in enumerated}
    usages = {f.id: f.name.localizations.get(language) for f in flows.dataflow.values()}
    return components, codes, usages


def selected(served, flow=FLOW_A) -> pd.DataFrame:
    df = served.frames[flow]
    df = df[df.FREQ.isin(["M", "Q"]) & df.AREA.isin(["IR", "IR-10"])]
    return df.sort_values(["FREQ", "AREA", "SEX", "TIME_PERIOD"]).reset_index(drop=True)


def normalized(period: str) -> str:
    return pd.Period(period.replace("-Q", "Q"), freq="Q" if "-Q" in period else "M").start_time.strftime("%Y-%m-%d")


def oracle_csv(served, structures, version: str, labels: str, time_format: str, keys: str, detail: str = "full",
               language: str = "en") -> pd.DataFrame:
    """The SDMX-CSV answer as pandas builds it from the loaded frame."""
    components, codes, usages = names(structures, language)
    df = selected(served).copy()
    flow = "TEST:DF_A(1.0)"
    series_dims = ["FREQ", "AREA", "SEX"]
    if detail == "nodata":
        df = df.drop_duplicates(series_dims)[series_dims + ["UNIT_MULT", "TITLE"]]
    elif detail == "serieskeysonly":
        df = df.drop_duplicates(series_dims)[series_dims]
    df = df.reset_index(drop=True)
    out = pd.DataFrame(index=df.index)
    structure_cell = f"{flow}: {usages['DF_A']}" if labels == "both" else flow
    if version == "1.0":
        out["DATAFLOW"] = structure_cell
    else:
        out["STRUCTURE"] = "dataflow"
        out["STRUCTURE_ID"] = structure_cell
        if labels == "name":
            out["STRUCTURE_NAME"] = usages["DF_A"]
        out["ACTION"] = "I"
        if keys in ("series", "both"):
            out["SERIES_KEY"] = df[series_dims].agg(".".join, axis=1)
        if keys in ("obs", "both") and detail == "full":
            out["OBS_KEY"] = df[DIMENSIONS].agg(".".join, axis=1)
    for column in df.columns:
        values = df[column].astype(str) if column != "OBS_VALUE" else df[column]
        if column == "TIME_PERIOD" and time_format == "normalized":
            values = values.map(normalized)
        code_names = codes.get(column)
        header = column
        if labels == "both" and not (version == "1.0" and column == "OBS_VALUE"):
            header = f"{column}: {components[column]}"
        if labels == "both" and code_names is not None:
            values = values.map(lambda v: f"{v}: {code_names[v]}" if v and code_names.get(v) else v)
        out[header] = values
        if labels == "name":
            out[components[column] + (" " if components[column] in out.columns else "")] = (
                values.map(lambda v: code_names.get(v) or "") if code_names is not None else "")
    return out


def read_csv(body: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False)


def same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == [c.rstrip() for c in want.columns]
    want = want.copy()
    want.columns = got.columns
    for column in got.columns:
        if column.startswith("OBS_VALUE") and column.split(":")[0] == "OBS_VALUE":
            got[column] = got[column].astype(float)
            want[column] = want[column].astype(float)
        else:
            want[column] = want[column].astype(str)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False)


CSV_CASES = [("1.0", labels, time, "none") for labels in ("id", "both") for time in ("original", "normalized")] + [
    (version, labels, time, keys) for version in ("2.0", "2.1") for labels in ("id", "name", "both")
    for time in ("original", "normalized") for keys in ("none", "obs", "series", "both")
    if version == "2.1" or (time == "original" or labels == "both")]


@pytest.mark.parametrize("version, labels, time_format, keys", CSV_CASES)
def test_sdmx_csv_parameters_equal_the_pandas_oracle(served, structures, version, labels, time_format, keys):
    accept = f"application/vnd.sdmx.data+csv; version={version}.0; labels={labels}; timeFormat={time_format}"
    if version != "1.0":
        accept += f"; keys={keys}"
    r = get(served, f"data/DF_A/{KEY}", accept)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(f"application/vnd.sdmx.data+csv; version={version}.0")
    same(read_csv(r.content), oracle_csv(served, structures, version, labels, time_format, keys))


def test_labels_follow_accept_language(served, structures):
    r = get(served, f"data/DF_A/{KEY}", "application/vnd.sdmx.data+csv;version=2.1.0;labels=both", language="fa")
    same(read_csv(r.content), oracle_csv(served, structures, "2.1", "both", "original", "none", language="fa"))
    assert "منطقه" in r.content.decode()


@pytest.mark.parametrize("version", ["1.0", "2.0", "2.1"])
@pytest.mark.parametrize("detail", ["nodata", "serieskeysonly"])
def test_sdmx_csv_series_details(served, structures, version, detail):
    # Faults 4 and 5: a record per series; nodata keeps the series' and data set's attributes,
    # serieskeysonly only the key: no period, measure or empty attribute columns.
    keys = "series" if version != "1.0" else "none"
    accept = f"application/vnd.sdmx.data+csv;version={version}.0" + (f";keys={keys}" if version != "1.0" else "")
    r = get(served, f"data/DF_A/{KEY}", accept, detail=detail)
    assert r.status_code == 200, r.text
    got = read_csv(r.content)
    assert "TIME_PERIOD" not in got.columns and "OBS_VALUE" not in got.columns and "OBS_STATUS" not in got.columns
    same(got, oracle_csv(served, structures, version, "id", "original", keys, detail=detail))


@pytest.mark.parametrize("accept", [
    "application/vnd.sdmx.data+csv;version=1.0.0;labels=name",
    "application/vnd.sdmx.data+csv;version=1.0.0;keys=both",
    "application/vnd.sdmx.data+csv;version=2.1.0;timeFormat=iso8601",
])
def test_parameters_not_defined_for_a_version_are_406(served, accept):
    r = get(served, f"data/DF_A/{KEY}", accept)
    assert r.status_code == 406
    assert_valid(r.content)


def test_pysdmx_reads_sdmx_csv_2(served, tmp_path):
    from pysdmx.io import read_sdmx

    for version in ("1.0.0", "2.0.0"):
        target = tmp_path / f"data-{version}.csv"
        target.write_bytes(get(served, f"data/DF_A/{KEY}", f"application/vnd.sdmx.data+csv;version={version}").content)
        (dataset,) = read_sdmx(target).data
        want = selected(served)
        assert sorted(dataset.data["OBS_VALUE"].astype(float)) == sorted(want.OBS_VALUE)


# -- SDMX-ML, written from hand-built messages of the loaded frame ------------------------------------


def batches(df: pd.DataFrame, layout: DataLayout, size: int = 50) -> list[pa.RecordBatch]:
    """The frame sorted as the layout says, as Arrow batches (several, to cross batch borders)."""
    df = df.sort_values(list(layout.sort_columns())).reset_index(drop=True)
    columns = {c: pa.array(df[c].replace("", None), pa.float64() if c == "OBS_VALUE" else pa.string())
               for c in df.columns}
    table = pa.table(columns)
    return table.to_batches(max_chunksize=size)


@pytest.fixture(scope="module")
def dsd(structures):
    return structures[0].structure["DSD_TEST"]


ML_FORMATS = {
    "2.1-ss": (data_specific_ml21.write, {}, "2.1"),
    "2.1-ss-ts": (data_specific_ml21.write, {"time_series": True}, "2.1"),
    "2.1-generic": (data_generic_ml21.write, {}, None),
    "3.0": (data_ml30.write, {"version": "3.0.0"}, "3.0"),
    "3.1": (data_ml30.write, {"version": "3.1.0"}, "3.1"),
}


@pytest.mark.parametrize("name, dimension", [
    (name, dimension) for name in ML_FORMATS for dimension in ("TIME_PERIOD", "SEX", "AllDimensions")
    if dimension == "TIME_PERIOD" or not ML_FORMATS[name][1].get("time_series")])  # time series: time at obs
def test_sdmx_ml_of_several_data_sets_validates_and_reads_back(served, dsd, name, dimension):
    write, options, schema_version = ML_FORMATS[name]
    shape = data_shape(dsd)
    layout = DataLayout.build(shape, dimension)
    frames = {FLOW_A: selected(served, FLOW_A), FLOW_B: selected(served, FLOW_B)}
    parts = [DataSetPart(flow, shape, layout, iter(batches(df, layout))) for flow, df in frames.items()]
    body = b"".join(bytes(piece) for piece in write(DataMessage(Header(), parts), **options))
    schemas = None if schema_version is None else [
        data_schema(part.flow_urn, shape, layout, version=schema_version) for part in parts]
    doc = assert_valid(body, schemas)
    assert len(doc.findall("{*}DataSet")) == 2
    units = doc.xpath("//*[local-name()='DataSet']/@UNIT_MULT | "
                      "//*[local-name()='DataSet']/*[local-name()='Attributes']/*[@id='UNIT_MULT']/@value")
    assert units == ["3", "3"]
    if name == "3.1":
        return  # sdmx1 reads SDMX-ML 2.1 and 3.0
    if name == "3.0":
        # sdmx1 (2.28) models no data-set attributes for SDMX 3 data sets and fails on any:
        # it reads the same data without attributes (detail=dataonly).
        layout = DataLayout.build(shape, dimension, "dataonly")
        parts = [DataSetPart(flow, shape, layout, iter(batches(df, layout))) for flow, df in frames.items()]
        body = b"".join(bytes(piece) for piece in write(DataMessage(Header(), parts), **options))
        assert_valid(body, [data_schema(part.flow_urn, shape, layout, version="3.0") for part in parts])
    message = sdmx.read_sdmx(io.BytesIO(body), structure=dsd)
    assert len(message.data) == 2
    for dataset, df in zip(message.data, frames.values()):
        got = sdmx.to_pandas(dataset, attributes="").reset_index()
        got.columns = [*got.columns[:-1], "OBS_VALUE"]
        got = got.sort_values(DIMENSIONS).reset_index(drop=True)
        want = df.sort_values(DIMENSIONS).reset_index(drop=True)
        assert list(got[DIMENSIONS].itertuples(index=False)) == list(want[DIMENSIONS].itertuples(index=False))
        np.testing.assert_allclose(got.OBS_VALUE.astype(float), want.OBS_VALUE)
        if name.startswith("2.1-ss"):  # sdmx1 leaves generic data-set attributes unread
            value = dataset.attrib["UNIT_MULT"].value
            assert getattr(value, "id", value) == "3"


@pytest.mark.parametrize("name", list(ML_FORMATS))
def test_a_data_set_attribute_with_two_values_is_refused(served, dsd, name):
    # Fault 7: UNIT_MULT is attached to the dataflow; if rows disagree, no SDMX-ML writer may
    # write one of the values for the whole data set.
    write, options, _ = ML_FORMATS[name]
    shape = data_shape(dsd)
    layout = DataLayout.build(shape, "TIME_PERIOD")
    assert layout.dataset_attrs == ("UNIT_MULT",)
    df = selected(served).copy()
    df.loc[df.index[-1], "UNIT_MULT"] = "6"  # the last row, in the last batch
    message = DataMessage(Header(), [DataSetPart(FLOW_A, shape, layout, iter(batches(df, layout)))])
    with pytest.raises(DataSetAttributeConflict, match="UNIT_MULT"):
        b"".join(bytes(piece) for piece in write(message, **options))
    # ... and a value missing from some rows is not the same value either.
    df.loc[df.index[-1], "UNIT_MULT"] = ""
    message = DataMessage(Header(), [DataSetPart(FLOW_A, shape, layout, iter(batches(df, layout)))])
    with pytest.raises(DataSetAttributeConflict):
        b"".join(bytes(piece) for piece in write(message, **options))
    # SDMX-CSV shows each row's value: nothing to refuse.
    message = DataMessage(Header(), [DataSetPart(FLOW_A, shape, layout, iter(batches(df, layout)))])
    assert b"".join(bytes(p) for p in data_csv.write(message, "2.1"))


@pytest.mark.parametrize("name", [n for n in ML_FORMATS if n != "2.1-generic"])
def test_demoted_attributes_validate_against_the_served_schema(served, dsd, name):
    # The data service writes a data-set attribute with several values on each observation
    # (DataLayout.demote); the schema of the dataflow's usual layout must accept that.
    write, options, schema_version = ML_FORMATS[name]
    shape = data_shape(dsd)
    layout = DataLayout.build(shape, "TIME_PERIOD")
    demoted = layout.demote(["UNIT_MULT", "TITLE"])
    df = selected(served).copy()
    df.loc[df.FREQ == "Q", "UNIT_MULT"] = "0"
    message = DataMessage(Header(), [DataSetPart(FLOW_A, shape, demoted, iter(batches(df, demoted)))])
    body = b"".join(bytes(piece) for piece in write(message, **options))
    doc = assert_valid(body, data_schema(message.datasets[0].flow_urn, shape, layout, version=schema_version))
    units = doc.xpath("//*[local-name()='Obs']/@UNIT_MULT")
    assert sorted(set(units)) == ["0", "3"] and len(units) == len(df)


# -- REST v2 over HTTP ----------------------------------------------------------------------------

V2_KEY = "M.IR.*,M.IR-10.*,Q.IR.*,Q.IR-10.*"  # the same selection as KEY, in v2 syntax


def get_v2(served, path: str, accept: str | None = None, **params) -> httpx.Response:
    return httpx.get(f"{served.url}/rest/v2/{path}", headers={"Accept": accept} if accept else {},
                     params=params or None, timeout=60)


@pytest.mark.parametrize("dimension", ["TIME_PERIOD", "SEX", "AllDimensions"])
@pytest.mark.parametrize("version", ["3.0.0", "3.1.0"])
def test_v2_sdmx_ml_3_validates_against_the_served_schema(served, version, dimension):
    accept = f"application/vnd.sdmx.data+xml;version={version}"
    r = get_v2(served, f"data/dataflow/TEST/DF_A/1.0/{V2_KEY}", "*/*" if version == "3.0.0" else accept,
               dimensionAtObservation=dimension)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(f"application/vnd.sdmx.data+xml; version={version}")
    schema = get_v2(served, "schema/dataflow/TEST/DF_A/1.0", f"application/vnd.sdmx.schema+xml;version={version}",
                    dimensionAtObservation=dimension)
    assert schema.status_code == 200, schema.text
    doc = assert_valid(r.content, schema.content)
    values = sorted(float(v) for v in doc.xpath("//*[local-name()='Obs']/@OBS_VALUE"))
    assert values == sorted(selected(served).OBS_VALUE)


def test_sdmx1_reads_v2_sdmx_ml_3_0(served, dsd):
    # sdmx1 (2.28) has no data-set attributes for SDMX 3 data sets: ask for none (attributes=none).
    r = get_v2(served, f"data/dataflow/TEST/DF_A/1.0/{V2_KEY}", "application/vnd.sdmx.data+xml;version=3.0.0",
               attributes="none")
    assert r.status_code == 200, r.text
    (dataset,) = sdmx.read_sdmx(io.BytesIO(r.content), structure=dsd).data
    got = sdmx.to_pandas(dataset).reset_index()
    got.columns = [*got.columns[:-1], "OBS_VALUE"]
    got = got.sort_values(DIMENSIONS).reset_index(drop=True)
    want = selected(served)
    assert list(got[DIMENSIONS].itertuples(index=False)) == list(want[DIMENSIONS].itertuples(index=False))
    np.testing.assert_allclose(got.OBS_VALUE.astype(float), want.OBS_VALUE)


@pytest.mark.parametrize("version, labels, time_format, keys",
                         [("2.1", "both", "normalized", "both"), ("2.1", "name", "original", "series"),
                          ("2.0", "id", "normalized", "obs")])
def test_v2_sdmx_csv_parameters_equal_the_pandas_oracle(served, structures, version, labels, time_format, keys):
    accept = f"application/vnd.sdmx.data+csv;version={version}.0;labels={labels};timeFormat={time_format};keys={keys}"
    r = get_v2(served, f"data/dataflow/TEST/DF_A/1.0/{V2_KEY}", accept)
    assert r.status_code == 200, r.text
    same(read_csv(r.content), oracle_csv(served, structures, version, labels, time_format, keys))


def test_v2_text_csv_is_sdmx_csv_2_1(served):
    r = get_v2(served, "data/dataflow/TEST/DF_A/1.0/M.IR.F", "text/csv")
    assert r.headers["content-type"].startswith("application/vnd.sdmx.data+csv; version=2.1.0")


def test_a_conflict_in_the_first_batch_is_an_error_before_the_first_byte(served, dsd):
    shape = data_shape(dsd)
    layout = DataLayout.build(shape, "TIME_PERIOD")
    df = selected(served).copy()
    df.loc[df.index[1], "UNIT_MULT"] = "0"
    message = DataMessage(Header(), [DataSetPart(FLOW_A, shape, layout, iter(batches(df, layout, size=10_000)))])
    with pytest.raises(DataSetAttributeConflict) as info:
        data_ml30.write(message)  # not a byte yet: the caller can still answer with an error
    assert info.value.status == 500 and "UNIT_MULT" in info.value.message


def test_generic_time_series_of_two_dataflows_is_a_406_before_the_first_byte(served, dsd):
    # Its header names one structure (GenericTimeSeriesDataHeaderType): the message cannot
    # hold data sets of two dataflows; one dataflow's data sets share that structure.
    from sdmx_server.errors import NotAcceptable

    shape = data_shape(dsd)
    layout = DataLayout.build(shape, "TIME_PERIOD")
    parts = [DataSetPart(flow, shape, layout, iter(batches(selected(served, flow), layout))) for flow in (FLOW_A, FLOW_B)]
    with pytest.raises(NotAcceptable):
        data_generic_ml21.write(DataMessage(Header(), parts), time_series=True)
    parts = [DataSetPart(FLOW_A, shape, layout, iter(batches(selected(served), layout))) for _ in range(2)]
    body = b"".join(bytes(p) for p in data_generic_ml21.write(DataMessage(Header(), parts), time_series=True))
    assert len(assert_valid(body).findall("{*}DataSet")) == 2


def test_v2_several_dataflows_make_several_data_sets(served):
    # DF_A and DF_B (one DSD): one data set each, in SDMX-ML 3.0 (each validated against its
    # dataflow's served schema) and in SDMX-CSV 2.1 (one header, each row naming its dataflow).
    path = f"data/dataflow/TEST/DF_A,DF_B/1.0/{V2_KEY}"
    r = get_v2(served, path, "application/vnd.sdmx.data+xml;version=3.0.0")
    assert r.status_code == 200, r.text
    schemas = [get_v2(served, f"schema/dataflow/TEST/{flow}/1.0", "application/vnd.sdmx.schema+xml;version=3.0.0").content
               for flow in ("DF_A", "DF_B")]
    doc = assert_valid(r.content, schemas)
    assert len(doc.findall("{*}DataSet")) == 2
    got = sorted(float(v) for v in doc.xpath("//*[local-name()='Obs']/@OBS_VALUE"))
    assert got == sorted([*selected(served, FLOW_A).OBS_VALUE, *selected(served, FLOW_B).OBS_VALUE])
    frame = read_csv(get_v2(served, path, "application/vnd.sdmx.data+csv;version=2.1.0").content)
    assert frame.STRUCTURE_ID.value_counts().to_dict() == {
        "TEST:DF_A(1.0)": len(selected(served, FLOW_A)), "TEST:DF_B(1.0)": len(selected(served, FLOW_B))}
