"""Labels of data messages: the names the data service hands to writers, read from the registry
(the test content authors every name in English and Persian)."""

from __future__ import annotations

from sdmx_server.boot import create_schema
from sdmx_server.formats.data_message import Labels
from sdmx_server.registry.index import Registry
from sdmx_server.registry.load import load_structures
from sdmx_server.registry.shape import data_shape
from sdmx_server.registry.store import read_all
from sdmx_server.service.labels import labels_for
from sdmx_server.settings import Settings
from sdmx_server.store.database import Database
from tests.datasets import CONTENT


def _registry(tmp_path) -> Registry:
    db = Database(f"sqlite:///{tmp_path / 'labels.db'}")
    create_schema(db)
    try:
        outcome = load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], Settings(database_url=db.url))
        assert outcome.ok, outcome.errors
        rows, generation = read_all(db)
    finally:
        db.dispose()
    return Registry.build(rows, generation)


def test_labels_of_the_test_dataflow(tmp_path):
    registry = _registry(tmp_path)
    (flow,) = registry.select("dataflow", ["TEST"], ["DF_A"])
    dsd = flow.structure
    dsd = registry.get("datastructure", dsd.maintainer.id, dsd.id, dsd.version)
    labels = labels_for(registry, flow, dsd, data_shape(dsd))
    assert set(labels.usage) >= {"en"}
    # Every component has a concept name, every code of a coded component its name.
    for component in data_shape(dsd).components:
        assert labels.components.get(component.id), component.id
        if component.coded:
            assert set(labels.codes[component.id]) == set(component.codes), component.id
    area_names = labels.codes["AREA"]
    tehran = area_names["IR-23"]
    assert "en" in tehran and "fa" in tehran and tehran["en"] != tehran["fa"]
    assert labels.code_name("AREA", "IR-23", ("fa",)) == tehran["fa"]
    assert labels.code_name("AREA", "IR-23", ("fa-IR", "en")) == tehran["fa"]
    assert labels.code_name("AREA", "IR-23", ("de",)) == tehran["en"]  # English when none is there
    assert labels.code_name("AREA", "NOPE", ("en",)) is None
    assert labels.component_name("UNKNOWN", ("en",)) == "UNKNOWN"


def test_pick():
    assert Labels.pick({"fa": "x", "en": "y"}, None) == "y"
    assert Labels.pick({"fa": "x"}, ("en",)) == "x"
    assert Labels.pick({"en-GB": "z", "en": "y"}, ("en-gb",)) == "z"
    assert Labels.pick({}, ("en",)) is None
