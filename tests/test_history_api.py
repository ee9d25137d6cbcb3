"""asOf, updatedAfter and includeHistory over real HTTP, on SQLite and PostgreSQL.

Three loads of one dataflow through `load_data` (the CLI's path): a first load, then a load
that changes, adds and deletes observations, then one that changes again, deletes an
observation changed before and brings back one deleted before. A pandas oracle applies the
same three loads to frames: the states S1, S2, S3 and what each load wrote and deleted. The
answers (SDMX-CSV 2.0, SDMX-JSON 2.0 and 1.0, SDMX-ML 2.1 generic and 3.0) must equal it, and
validate against the official schemas; sdmx1 reads the updatedAfter answer with its Delete
data set.
"""

from __future__ import annotations

import io
import time
from datetime import datetime, timedelta, timezone

import httpx
import numpy as np
import pandas as pd
import pytest

from tests.conftest import BACKENDS, fresh_database, running_server
from tests.data_messages import canonical, oracle, read_sdmx_json
from tests.datasets import CONTENT, COLUMNS, DIMENSIONS, FLOW_A, frame, sdmx_csv
from tests.jsonschemas import assert_valid as assert_valid_json
from tests.xsd import assert_valid

CSV20 = "application/vnd.sdmx.data+csv;version=2.0.0"
JSON20 = "application/vnd.sdmx.data+json;version=2.0.0"
JSON10 = "application/vnd.sdmx.data+json;version=1.0.0"
GENERIC = "application/vnd.sdmx.genericdata+xml;version=2.1"
ML30 = "application/vnd.sdmx.data+xml;version=3.0.0"
V2 = "data/dataflow/TEST/DF_A/1.0"
VALUES = ["OBS_VALUE", "OBS_STATUS", "UNIT_MULT", "TITLE", "COMMENT"]


# -- the oracle --------------------------------------------------------------------------------


def keyed(df: pd.DataFrame) -> pd.DataFrame:
    return df.set_index(DIMENSIONS, drop=False)


def loads() -> list[tuple[pd.DataFrame, list[str]]]:
    """The three loads: (rows, action per row)."""
    first = frame(seed=1, months=4, quarters=0)
    changed = first.iloc[0:5].copy()
    changed["OBS_VALUE"] += 1000
    added = frame(seed=9, months=5, quarters=0)
    added = added[(added.TIME_PERIOD == "2020-05") & (added.AREA == "IR")]
    gone = first.iloc[10:13].copy()
    second = pd.concat([changed, added, gone], ignore_index=True)
    second_actions = ["M"] * (len(changed) + len(added)) + ["D"] * len(gone)
    again = first.iloc[5:8].copy()
    again["OBS_VALUE"] += 7
    back = first.iloc[10:11].copy()
    back["OBS_VALUE"] = 1.5
    gone_again = first.iloc[0:1].copy()
    third = pd.concat([again, back, gone_again], ignore_index=True)
    third_actions = ["M"] * (len(again) + len(back)) + ["D"]
    return [(first, ["M"] * len(first)), (second, second_actions), (third, third_actions)]


def apply(state: pd.DataFrame, rows: pd.DataFrame, actions: list[str]):
    """(new state, rows written, keys deleted) of one load, as the store applies it."""
    state = keyed(state)
    rows = keyed(rows)
    written = rows[[a == "M" for a in actions]]
    deleted = rows[[a == "D" for a in actions]]
    state = state.drop(index=[k for k in deleted.index if k in state.index])
    changed = written[[k not in state.index or not _same(state.loc[k], written.loc[k]) for k in written.index]]
    state = pd.concat([state.drop(index=[k for k in written.index if k in state.index]), written])
    return state.reset_index(drop=True), changed.reset_index(drop=True), deleted[DIMENSIONS].reset_index(drop=True)


def _same(a, b) -> bool:
    return all((a[c] == b[c]) or (pd.isna(a[c]) and pd.isna(b[c])) for c in VALUES)


def csv_for(rows: pd.DataFrame, actions: list[str]) -> str:
    rows = rows.copy()
    for position, action in enumerate(actions):
        if action == "D":  # keys alone: whole observations go
            for column in VALUES:
                rows.iloc[position, rows.columns.get_loc(column)] = np.nan if column == "OBS_VALUE" else ""
    return sdmx_csv(rows, FLOW_A, version="2.0", actions=actions)


class History:
    def __init__(self, server, states, written, deleted, times):
        self.server = server
        self.states = states  # S1, S2, S3
        self.written = written  # rows each load wrote (changed or added)
        self.deleted = deleted  # keys each load deleted
        self.times = times  # each load's transaction time (aware datetime)

    def get(self, path: str, accept: str | None = None, **params) -> httpx.Response:
        headers = {"Accept": accept} if accept else {}
        return httpx.get(f"{self.server.url}/rest/{path}", headers=headers, params=params, timeout=60)

    def between(self, i: int) -> str:
        """A time after load i (0-based) and before the next."""
        return iso(self.times[i] + timedelta(microseconds=1))


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module", params=BACKENDS)
def history(request, tmp_path_factory):
    from sdmx_server.boot import create_schema
    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data
    from sdmx_server.registry.load import load_structures
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database

    directory = tmp_path_factory.mktemp(f"history-{request.param}")
    with fresh_database(request.param, directory) as url:
        settings = Settings(database_url=url, data_dir=directory, answer_cache_bytes=0)
        db = Database(url)
        create_schema(db)
        assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings).ok
        state = pd.DataFrame(columns=COLUMNS)
        states, written, deleted, times = [], [], [], []
        for position, (rows, actions) in enumerate(loads()):
            path = directory / f"load{position}.csv"
            path.write_text(csv_for(rows, actions), encoding="utf-8")
            outcome = load_data(db, _registry(db), FLOW_A, path, "merge", settings)
            assert outcome.applied, outcome.report.text()
            state, wrote, gone = apply(state, rows, actions)
            states.append(state)
            written.append(wrote)
            deleted.append(gone)
            times.append(datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=outcome.result.tx_time))
            time.sleep(0.01)
        db.dispose()
        with running_server(settings) as server:
            yield History(server, states, written, deleted, times)


def read_csv(body: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False)


def expect(df: pd.DataFrame) -> pd.DataFrame:
    out = oracle(df)
    out["OBS_VALUE"] = out["OBS_VALUE"].astype(float)
    return out


def frame_of(df: pd.DataFrame) -> pd.DataFrame:
    return canonical(df.replace({"": None}))


# -- asOf --------------------------------------------------------------------------------------


@pytest.mark.parametrize("load", [0, 1, 2])
def test_as_of_answers_each_state(history, load):
    r = history.get(f"v2/{V2}", CSV20, asOf=history.between(load))
    assert r.status_code == 200, r.text
    got = read_csv(r.content)
    assert set(got.ACTION) == {"I"}
    pd.testing.assert_frame_equal(frame_of(got), expect(history.states[load]))


def test_as_of_before_any_load_finds_nothing(history):
    r = history.get(f"v2/{V2}", CSV20, asOf=iso(history.times[0] - timedelta(seconds=1)))
    assert r.status_code == 404, r.text


@pytest.mark.parametrize("accept,version", [(JSON20, "2.0"), (JSON10, "1.0")])
def test_as_of_in_sdmx_json(history, accept, version):
    r = history.get(f"v2/{V2}", accept, asOf=history.between(0))
    assert r.status_code == 200, r.text
    doc = assert_valid_json(r.content, version, "data")
    pd.testing.assert_frame_equal(canonical(read_sdmx_json(doc)), expect(history.states[0]))


def test_as_of_with_key_filter_period_and_last_n(history):
    r = history.get(f"v2/{V2}/M.IR+IR-23.", CSV20, asOf=history.between(1), lastNObservations="2",
                    **{"c[OBS_STATUS]": "ne:E", "c[TIME_PERIOD]": "ge:2020-02"})
    assert r.status_code == 200, r.text
    s2 = history.states[1]
    expected = s2[s2.AREA.isin(["IR", "IR-23"]) & (s2.TIME_PERIOD >= "2020-02") & (s2.OBS_STATUS != "E")]
    expected = expected.sort_values("TIME_PERIOD").groupby(["FREQ", "AREA", "SEX"]).tail(2)
    pd.testing.assert_frame_equal(frame_of(read_csv(r.content)), expect(expected))


def test_as_of_on_v1_is_not_a_parameter_and_current_state_is_unchanged(history):
    r = history.get("data/TEST,DF_A,1.0/all", "application/vnd.sdmx.data+csv;version=1.0.0")
    assert r.status_code == 200, r.text
    got = read_csv(r.content)
    pd.testing.assert_frame_equal(frame_of(got), expect(history.states[2]))


# -- updatedAfter ------------------------------------------------------------------------------


def changed_after(history, load: int):
    """(rows written after load `load`, as they are now; keys deleted after it and absent now)."""
    final = keyed(history.states[-1])
    later_keys = set()
    for wrote in history.written[load + 1:]:
        later_keys |= set(keyed(wrote).index)
    written = final[[k in later_keys for k in final.index]]
    gone = set()
    for deleted in history.deleted[load + 1:]:
        gone |= set(keyed(deleted).index)
    gone = sorted(k for k in gone if k not in final.index)
    return written.reset_index(drop=True), pd.DataFrame(gone, columns=DIMENSIONS)


@pytest.mark.parametrize("load", [0, 1])
@pytest.mark.parametrize("api", ["v1", "v2"])
def test_updated_after_returns_exactly_what_changed_deletions_included(history, load, api):
    path = f"v2/{V2}" if api == "v2" else "data/TEST,DF_A,1.0/all"
    r = history.get(path, CSV20, updatedAfter=history.between(load))
    assert r.status_code == 200, r.text
    got = read_csv(r.content)
    written, gone = changed_after(history, load)
    replaced = got[got.ACTION == "R"]
    pd.testing.assert_frame_equal(frame_of(replaced), expect(written))
    deleted = got[got.ACTION == "D"]
    assert (deleted[VALUES] == "").all().all(), "a Delete data set holds keys alone"
    assert sorted(map(tuple, deleted[DIMENSIONS].values)) == sorted(map(tuple, gone.values))
    assert set(got.ACTION) <= {"R", "D"} and len(gone) > 0
    assert list(got.ACTION) == sorted(got.ACTION), "the Delete data set comes first"


def test_updated_after_the_last_load_is_no_data(history):
    r = history.get(f"v2/{V2}", CSV20, updatedAfter=history.between(2))
    assert r.status_code == 404, r.text


def test_updated_after_with_as_of(history):
    r = history.get(f"v2/{V2}", CSV20, updatedAfter=history.between(0), asOf=history.between(1))
    assert r.status_code == 200, r.text
    got = read_csv(r.content)
    s2 = keyed(history.states[1])
    expected = s2.loc[[k for k in keyed(history.written[1]).index]]
    pd.testing.assert_frame_equal(frame_of(got[got.ACTION == "R"]), expect(expected.reset_index(drop=True)))
    assert sorted(map(tuple, got[got.ACTION == "D"][DIMENSIONS].values)) == sorted(
        map(tuple, history.deleted[1].values))


def test_updated_after_later_than_as_of_is_a_client_error(history):
    r = history.get(f"v2/{V2}", CSV20, updatedAfter=history.between(1), asOf=history.between(0))
    assert r.status_code == 400, r.text
    assert "updatedAfter" in r.text


def test_updated_after_in_sdmx_json_and_ml(history):
    written, gone = changed_after(history, 0)
    r = history.get(f"v2/{V2}", JSON20, updatedAfter=history.between(0))
    assert r.status_code == 200, r.text
    doc = assert_valid_json(r.content, "2.0", "data")
    assert [d["action"] for d in doc["data"]["dataSets"]] == ["Delete", "Replace"]
    r = history.get(f"v2/{V2}", GENERIC, updatedAfter=history.between(0))
    assert r.status_code == 200, r.text
    xml = assert_valid(r.content)
    assert xml.xpath("//*[local-name()='DataSet']/@action") == ["Delete", "Replace"]
    r = history.get(f"v2/{V2}", ML30, updatedAfter=history.between(0))
    schema = history.get(f"v2/schema/dataflow/TEST/DF_A/1.0", "application/vnd.sdmx.schema+xml;version=3.0.0")
    xml = assert_valid(r.content, schema.content)
    actions = xml.xpath("//*[local-name()='DataSet']/@*[local-name()='action']")
    assert actions == ["Delete", "Replace"]
    values = sorted(float(v) for v in xml.xpath("//*[local-name()='Obs']/@OBS_VALUE"))
    assert values == sorted(written.OBS_VALUE)  # the deleted observations carry no value


def test_sdmx1_reads_the_delete_data_set(history):
    import sdmx

    r = history.get("data/TEST,DF_A,1.0/all", GENERIC, updatedAfter=history.between(0))
    assert r.status_code == 200, r.text
    message = sdmx.read_sdmx(io.BytesIO(r.content))
    # sdmx1 (2.x) does not read a data set's action attribute (its reader skips qualified and
    # unknown attributes of mes:DataSet; checked against the XML above): the two data sets
    # and their contents are what it gives.
    assert len(message.data) == 2
    written, gone = changed_after(history, 0)
    deleted = message.data[0].obs
    deleted_keys = sorted(tuple(v.value for v in obs.key.values.values()) for obs in deleted)
    assert deleted_keys == sorted(map(tuple, gone.values))
    assert all(obs.value is None for obs in deleted)
    values = sorted(float(obs.value) for obs in message.data[1].obs)
    assert values == sorted(written.OBS_VALUE)


@pytest.mark.parametrize("accept", ["application/vnd.sdmx.data+csv;version=1.0.0", "application/vnd.jsonstat+json"])
def test_formats_that_cannot_say_deleted_refuse_by_name(history, accept):
    r = history.get(f"v2/{V2}", accept, updatedAfter=history.between(0))
    assert r.status_code == 406, r.text
    assert "deleted" in r.text


# -- includeHistory ----------------------------------------------------------------------------


def test_include_history_is_one_data_set_per_load_and_action(history):
    r = history.get(f"v2/{V2}", CSV20, includeHistory="true")
    assert r.status_code == 200, r.text
    got = read_csv(r.content)
    assert list(got.columns[-2:]) == ["VALID_FROM", "VALID_TO"]
    expected = []
    for position, moment in enumerate(history.times):
        if len(history.deleted[position]):
            expected.append(("D", "", iso_ms(moment)))
        expected.append(("R", iso_ms(moment), ""))
    seen = list(dict.fromkeys(zip(got.ACTION, got.VALID_FROM.map(iso_ms), got.VALID_TO.map(iso_ms))))
    assert seen == expected
    for position, moment in enumerate(history.times):
        mine = got[(got.ACTION == "R") & (got.VALID_FROM.map(iso_ms) == iso_ms(moment))]
        pd.testing.assert_frame_equal(frame_of(mine), expect(history.written[position]))
        gone = got[(got.ACTION == "D") & (got.VALID_TO.map(iso_ms) == iso_ms(moment))]
        assert sorted(map(tuple, gone[DIMENSIONS].values)) == sorted(map(tuple, history.deleted[position].values))


def iso_ms(text) -> str:
    if isinstance(text, datetime):
        return text.astimezone(timezone.utc).isoformat(timespec="microseconds")
    if not text:
        return ""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat(timespec="microseconds")


def test_include_history_replays_to_every_state(history):
    """Applying the data sets in order gives back each state: the replica use case."""
    r = history.get(f"v2/{V2}", JSON20, includeHistory="true")
    assert r.status_code == 200, r.text
    doc = assert_valid_json(r.content, "2.0", "data")
    datasets = doc["data"]["dataSets"]
    replica = pd.DataFrame(columns=COLUMNS)
    states = iter(history.states)
    for position, dataset in enumerate(datasets):
        one = dict(doc)
        one["data"] = {"dataSets": [dict(dataset, structure=0)],
                       "structures": [doc["data"]["structures"][dataset["structure"]]]}
        rows = canonical(read_sdmx_json(one))
        if dataset["action"] == "Delete":
            replica = keyed(replica).drop(index=list(keyed(rows).index)).reset_index(drop=True)
            continue
        assert dataset["action"] == "Replace" and "validFrom" in dataset
        replica = pd.concat([keyed(replica).drop(index=[k for k in keyed(rows).index if k in keyed(replica).index]),
                             keyed(rows)]).reset_index(drop=True)
        pd.testing.assert_frame_equal(expect(replica), expect(next(states)))


@pytest.mark.parametrize("version", ["2.1", "1.0"])
def test_include_history_in_other_sdmx_json_versions(history, version):
    r = history.get(f"v2/{V2}", f"application/vnd.sdmx.data+json;version={version}.0", includeHistory="true")
    assert r.status_code == 200, r.text
    doc = assert_valid_json(r.content, version, "data")
    sets = doc["data"]["dataSets"]
    assert [(d["action"], "validFrom" in d, "validTo" in d) for d in sets] == [
        ("Replace", True, False), ("Delete", False, True), ("Replace", True, False),
        ("Delete", False, True), ("Replace", True, False)]
    assert len(canonical(read_sdmx_json(doc))) == sum(map(len, history.written)) + sum(map(len, history.deleted))


def test_include_history_with_updated_after_and_as_of(history):
    r = history.get(f"v2/{V2}", CSV20, includeHistory="true", updatedAfter=history.between(0),
                    asOf=history.between(1))
    assert r.status_code == 200, r.text
    got = read_csv(r.content)
    assert set(got.VALID_FROM.map(iso_ms)) - {""} == {iso_ms(history.times[1])}
    pd.testing.assert_frame_equal(frame_of(got[got.ACTION == "R"]), expect(history.written[1]))


def test_include_history_on_v1_in_sdmx_ml(history):
    r = history.get("data/TEST,DF_A,1.0/M.IR.", GENERIC, includeHistory="true")
    assert r.status_code == 200, r.text
    xml = assert_valid(r.content)
    sets = xml.xpath("//*[local-name()='DataSet']")
    # IR's series: written by the first load; the second and third each deleted and wrote.
    assert [s.get("action") for s in sets] == ["Replace", "Delete", "Replace", "Delete", "Replace"]
    assert all(s.get("validFromDate") or s.get("validToDate") for s in sets)


@pytest.mark.parametrize("params", [
    {"detail": "serieskeysonly"}, {"detail": "nodata"}, {"detail": "dataonly"},
    {"dimensionAtObservation": "AllDimensions"}, {"dimensionAtObservation": "AREA"},
])
def test_history_answers_in_every_layout(history, params):
    """SDMX-ML 2.1 structure-specific (with the DSD's schema) and SDMX-JSON 1.0, whatever the
    layout: every data set of the history answer valid, with the series the oracle has."""
    dimension = params.get("dimensionAtObservation")
    schema = history.get("schema/dataflow/TEST/DF_A/1.0", None,
                         **({"dimensionAtObservation": dimension} if dimension else {}))
    assert schema.status_code == 200, schema.text
    r = history.get("data/TEST,DF_A,1.0/all", "application/vnd.sdmx.structurespecificdata+xml;version=2.1",
                    includeHistory="true", **params)
    assert r.status_code == 200, r.text
    xml = assert_valid(r.content, schema.content)
    sets = xml.xpath("//*[local-name()='DataSet']")
    # A Replace data set per load, a Delete one per load that deleted (without observations,
    # detail=serieskeysonly|nodata, a deletion shows as the series it touched).
    assert len(sets) == sum(1 + bool(len(d)) for d in history.deleted)
    if params.get("detail") not in ("serieskeysonly", "nodata"):
        total = len(xml.xpath("//*[local-name()='Obs']"))
        assert total == sum(len(w) for w in history.written) + sum(len(d) for d in history.deleted)
    r = history.get("data/TEST,DF_A,1.0/all", JSON10, updatedAfter=history.between(0), **params)
    assert r.status_code == 200, r.text
    doc = assert_valid_json(r.content, "1.0", "data")
    assert [d["action"] for d in doc["data"]["dataSets"]] == ["Delete", "Replace"]
