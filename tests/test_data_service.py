"""The data service as the portal and reports call it: resolve (no data read) then execute."""

from __future__ import annotations

import pytest

from sdmx_server.api.state import ServerState
from sdmx_server.errors import NoResults, NotImplemented_, Unprocessable
from sdmx_server.query.model import ComponentFilter, Condition, DataQuery
from sdmx_server.service.data import execute, resolve
from sdmx_server.versions import ALL


@pytest.fixture(scope="module")
def state(served):
    state = ServerState(served.settings)
    yield state
    state.close()


def test_a_plan_names_its_flows_and_structures_before_any_data(state):
    plan = resolve(state, DataQuery(context="datastructure", ids=("DSD_TEST",), api="v2"))
    assert plan.flows == (("TEST", "DF_A", "1.0"), ("TEST", "DF_B", "1.0"))
    assert plan.structures == (("TEST", "DSD_TEST", "1.0"),)
    assert all(s.labels is None for s in plan.sets)  # only built when a writer shows them


def test_labels_are_built_on_demand_and_kept(state):
    query = DataQuery(ids=("DF_A",), api="v2", versions=ALL)
    first = resolve(state, query, labels=True).sets[0].labels
    assert first.usage["en"] == "Flow A" and first.codes["AREA"]
    assert first.component_name("SEX", ("fa",)) == "جنسیت"
    assert resolve(state, query, labels=True).sets[0].labels is first  # per registry generation


def test_execute_gives_one_data_set_per_flow_with_rows(state):
    query = DataQuery(context="*", keys=((("Q",), ("IR",), ("F",)),), api="v2", versions=ALL,
                      filters=(ComponentFilter("TIME_PERIOD", ((Condition("ge", "2021"),),)),))
    message = execute(state, resolve(state, query))
    rows = {part.flow[1]: sum(b.num_rows for b in part.batches) for part in message.datasets}
    assert rows == {"DF_A": 4}  # DF_B holds two quarters of 2020 only: no empty data set for it


def test_refusals(state):
    with pytest.raises(NotImplemented_):
        resolve(state, DataQuery(context="provisionagreement", api="v2"))
    with pytest.raises(Unprocessable):
        resolve(state, DataQuery(ids=("DF_A",), api="v2", filters=(ComponentFilter("NOPE", ((Condition("eq", "1"),),)),)))
    with pytest.raises(NoResults):
        execute(state, resolve(state, DataQuery(ids=("DF_A",), keys=((("A",), None, None),))))
