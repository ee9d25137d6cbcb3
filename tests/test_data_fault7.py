"""Fault 7: an attribute that the layout would write once per data set (UNIT_MULT, attached to
the dataflow) or once per series (TITLE) but that holds several values in the selected rows is
written on each observation, truthfully, in every SDMX-ML format; where it holds one value it
stays where the DSD puts it. Real HTTP, SQLite and PostgreSQL. (Loads refuse such data since
issue 7; the fixture loads it as older stores hold it.)"""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import BACKENDS, fresh_database, running_server
from tests.datasets import CONTENT, FLOW_A, frame, sdmx_csv
from tests.xsd import assert_valid

SS = "application/vnd.sdmx.structurespecificdata+xml;version=2.1"
SS_TS = "application/vnd.sdmx.structurespecifictimeseriesdata+xml;version=2.1"
GENERIC = "application/vnd.sdmx.genericdata+xml;version=2.1"
GENERIC_TS = "application/vnd.sdmx.generictimeseriesdata+xml;version=2.1"
CSV = "application/vnd.sdmx.data+csv;version=1.0.0"


@pytest.fixture(scope="module", params=BACKENDS)
def mixed(request, tmp_path_factory):
    from sdmx_server.boot import create_schema
    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data
    from sdmx_server.registry.load import load_structures
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database

    directory = tmp_path_factory.mktemp(f"fault7-{request.param}")
    with fresh_database(request.param, directory) as url:
        settings = Settings(database_url=url, data_dir=directory)
        db = Database(url)
        create_schema(db)
        assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings).ok
        df = frame(seed=7, months=3, quarters=2)
        # A multiplier of 6 for one area, 0 elsewhere: one dataflow, two values.
        df["UNIT_MULT"] = ["6" if area == "IR-23" else "0" for area in df.AREA]
        # One series whose title changed on its last observation.
        changed = (df.FREQ == "M") & (df.AREA == "IR") & (df.SEX == "F") & (df.TIME_PERIOD == "2020-03")
        df.loc[changed, "TITLE"] = "renamed"
        path = directory / "mixed.csv"
        path.write_text(sdmx_csv(df, FLOW_A), encoding="utf-8")
        # Loads refuse such data now (ingest/consistency.py); stores loaded before they did hold
        # it, and the read side must still tell the truth about them: loaded without that check.
        from sdmx_server.ingest import validate as validate_module

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(validate_module, "check_attribute_conflicts", lambda *args, **kwargs: None)
            loaded = load_data(db, _registry(db), FLOW_A, path, "merge", settings)
        assert loaded.applied, loaded.report.text()
        db.dispose()
        with running_server(settings) as server:
            server.frame = df
            yield server


def get(server, path, accept):
    r = httpx.get(server.url + path, headers={"Accept": accept}, timeout=60)
    assert r.status_code == 200, r.text[:400]
    return r


def obs_values(doc, attribute, generic):
    """(series key text, period) -> the attribute's value on each observation."""
    found = {}
    if generic:
        for series in doc.iterfind(".//{*}Series"):
            key = tuple(v.get("value") for v in series.find("{*}SeriesKey"))
            for obs in series.iterfind("{*}Obs"):
                period = obs.find("{*}ObsDimension").get("value")
                value = obs.find(f"{{*}}Attributes/{{*}}Value[@id='{attribute}']")
                found[key + (period,)] = None if value is None else value.get("value")
    else:
        for series in doc.iterfind(".//Series"):
            key = (series.get("FREQ"), series.get("AREA"), series.get("SEX"))
            for obs in series.iterfind("Obs"):
                found[key + (obs.get("TIME_PERIOD"),)] = obs.get(attribute)
    return found


def expected_values(df, attribute):
    return {(r.FREQ, r.AREA, r.SEX, r.TIME_PERIOD): getattr(r, attribute) for r in df.itertuples()}


@pytest.mark.parametrize("accept", [SS, SS_TS, GENERIC, GENERIC_TS])
def test_several_multipliers_are_written_on_each_observation(mixed, accept):
    generic = "generic" in accept
    r = get(mixed, "/rest/data/TEST,DF_A,1.0/all", accept)
    doc = assert_valid(r.content) if generic else _parse(r.content)
    dataset = doc.find("{*}DataSet")
    if generic:
        assert dataset.find("{*}Attributes") is None or dataset.find("{*}Attributes/{*}Value[@id='UNIT_MULT']") is None
    else:
        assert dataset.get("UNIT_MULT") is None  # never one of several values
    assert obs_values(doc, "UNIT_MULT", generic) == expected_values(mixed.frame, "UNIT_MULT")
    # TITLE changed within one series: on each observation too, with its own value.
    assert obs_values(doc, "TITLE", generic) == expected_values(mixed.frame, "TITLE")


@pytest.mark.parametrize("accept", [SS, GENERIC])
def test_one_value_in_the_selection_stays_at_its_level(mixed, accept):
    generic = "generic" in accept
    r = get(mixed, "/rest/data/TEST,DF_A,1.0/Q.IR-23.", accept)
    doc = assert_valid(r.content) if generic else _parse(r.content)
    dataset = doc.find("{*}DataSet")
    if generic:
        value = dataset.find("{*}Attributes/{*}Value[@id='UNIT_MULT']")
        assert value is not None and value.get("value") == "6"
    else:
        assert dataset.get("UNIT_MULT") == "6"
        assert all(s.get("TITLE") for s in doc.iterfind(".//Series"))
    assert set(obs_values(doc, "UNIT_MULT", generic).values()) == {None}
    # The same through REST v2, with a component filter narrowing to one multiplier.
    r = get(mixed, "/rest/v2/data/dataflow/TEST/DF_A/1.0/*?c%5BUNIT_MULT%5D=0&c%5BFREQ%5D=Q", SS)
    assert _parse(r.content).find("{*}DataSet").get("UNIT_MULT") == "0"


def test_sdmx_csv_shows_each_row_as_it_is(mixed):
    import io

    import pandas as pd

    got = pd.read_csv(io.BytesIO(get(mixed, "/rest/data/TEST,DF_A,1.0/all", CSV).content), dtype=str,
                      keep_default_na=False)
    assert {(r.AREA, r.UNIT_MULT) for r in got.itertuples()} == {(r.AREA, r.UNIT_MULT) for r in mixed.frame.itertuples()}


def _parse(body: bytes):
    from tests.xsd import parse

    return parse(body)


def test_demoted_values_validate_against_the_dataflow_schema(mixed):
    schema = get(mixed, "/rest/schema/dataflow/TEST/DF_A/1.0", "application/vnd.sdmx.schema+xml;version=2.1")
    assert_valid(get(mixed, "/rest/data/TEST,DF_A,1.0/all", SS).content, schema.content)
