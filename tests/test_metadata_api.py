"""REST v2 reference metadata (`/rest/v2/metadata/...`) through a real server, on SQLite and
PostgreSQL.

The server holds the content of test_metadata_content.py, loaded as any structures are
(`load_structures`): the structures from an SDMX-JSON 2.0 structure message, three metadata
sets from an SDMX-JSON 2.0 metadata message and two from an SDMX-ML 3.0 GenericMetadata
message. DF_SECRET is made internal. Then, at a known moment, the support ratio's definition
gets a new version (1.1.0) and the dataflow's set (version 1.0, not final) changes: `asOf`
before that moment answers the registry as it was.

Every answer is checked against the official schemas and read back (by pysdmx where it reads,
and by the server's own readers) into exactly the sets that were loaded.
"""

from __future__ import annotations

import copy
import json
import re
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from sdmx_server.kinds import BY_NAME
from sdmx_server.registry import codec
from tests.principals import writes
from tests.conftest import BACKENDS, fresh_database, running_server
from tests.test_metadata_content import (
    ALL_FORMATS,
    XML_WRITERS,
    assert_valid_answer,
    content,
    other,
    pysdmx_report,
    pysdmx_shape,
    read_back,
    same_sets,
    stored_sets,
    text,
    write,
)

MEDIA = {
    "2.0.0": "application/vnd.sdmx.metadata+json;version=2.0.0",
    "2.1.0": "application/vnd.sdmx.metadata+json;version=2.1.0",
    "3.0.0": "application/vnd.sdmx.metadata+xml;version=3.0.0",
    "3.1.0": "application/vnd.sdmx.metadata+xml;version=3.1.0",
}


def _changed_sets() -> tuple[dict, dict]:
    """The support ratio's definition in a new version, and the dataflow's set changed in place."""
    sets = {ms.id: ms for ms in content().metadata_sets()}
    newer = copy.copy(sets["MDS_SUPPORT_RATIO"])
    newer.version = "1.1.0"
    newer.metadata = [text("DEFINITION", fa="تعریف تازه", en="The new definition"), other("PERIODICITY", "Q")]
    changed = copy.copy(sets["MDS_DF_IND"])
    changed.metadata = [text("DEFINITION", en="Changed"), other("PERIODICITY", "A")]
    return codec.to_json(newer), codec.to_json(changed)


def _structure_message(objects: dict[str, list[dict]]) -> bytes:
    data = {BY_NAME[kind].json20: objs for kind, objs in objects.items()}
    return json.dumps({"meta": {"schema": "https://raw.githubusercontent.com/sdmx-twg/sdmx-json/master/"
                                          "structure-message/tools/schemas/2.0.0/sdmx-json-structure-schema.json",
                                "id": "STRUCTURES", "prepared": "2024-01-01T00:00:00Z", "sender": {"id": "SSO"}},
                       "data": data}).encode()


class Served:
    def __init__(self, url: str, before: datetime):
        self.url = url
        self.before = before  # a moment after the first load, before the changes
        self.original = {o["id"]: o for o in stored_sets()}
        newer, changed = _changed_sets()
        self.newer, self.changed = newer, changed

    def get(self, path: str, accept: str | None = None, **headers) -> httpx.Response:
        if accept:
            headers["accept"] = accept
        return httpx.get(f"{self.url}/rest/v2/{path.lstrip('/')}", headers=headers, timeout=30)

    def latest(self) -> dict[str, dict]:
        """Each visible set's latest version, as stored now."""
        current = {k: v for k, v in self.original.items() if k != "MDS_SECRET"}
        current["MDS_SUPPORT_RATIO"] = self.newer
        current["MDS_DF_IND"] = self.changed
        return current


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory):
    from sdmx_server.boot import create_schema
    from sdmx_server.registry.change import apply_changes
    from sdmx_server.registry.load import load_structures
    from sdmx_server.registry.messages import Candidate
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database

    directory: Path = tmp_path_factory.mktemp(f"metadata-{request.param}")
    with fresh_database(request.param, directory) as url:
        settings = Settings(database_url=url, data_dir=directory)
        db = Database(url)
        create_schema(db)
        objects = content().structure_objects()
        sets = content().metadata_sets()
        (directory / "structures.json").write_bytes(_structure_message(objects))
        (directory / "sets.json").write_bytes(write("2.0.0", [sets[0], sets[1], sets[4]]))
        (directory / "sets.xml").write_bytes(write("3.0.0", [sets[2], sets[3]]))
        loaded = load_structures(db, [directory / "structures.json", directory / "sets.json", directory / "sets.xml"],
                                 settings)
        assert loaded.ok, loaded.errors
        assert sorted(r for r in loaded.loaded if r.startswith("metadataset")) == sorted(
            f"metadataset {ms.maintainer.id}:{ms.id}({ms.version})" for ms in sets)
        secret = next(o for o in objects["dataflow"] if o["id"] == "DF_SECRET")
        made_internal = apply_changes(db, [Candidate(BY_NAME["dataflow"], secret, "test", access="internal")])
        assert made_internal.ok, made_internal.problems()
        time.sleep(0.05)
        before = datetime.now(timezone.utc)
        time.sleep(0.05)
        newer, changed = _changed_sets()
        (directory / "changes.json").write_bytes(json.dumps({
            "meta": {"id": "CHANGES", "prepared": "2024-01-01T00:00:00Z", "sender": {"id": "SSO"}},
            "data": {"metadataSets": [newer, changed]}}).encode())
        again = load_structures(db, [directory / "changes.json"], settings)
        assert again.ok, again.errors
        db.dispose()
        with running_server(settings, writes) as running:
            yield Served(running.url, before)


def answer(server: Served, path: str, fmt: str, **headers) -> list[dict]:
    """The sets of a 200 answer in the format, after checking it is schema-valid."""
    response = server.get(path, MEDIA[fmt], **headers)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].replace(" ", "") == MEDIA[fmt]
    assert_valid_answer(fmt, response.content)
    return read_back(response.content)


def check(server: Served, path: str, expected: list[dict], fmt: str) -> None:
    same_sets(answer(server, path, fmt), expected, xml=fmt in XML_WRITERS)


# -- the three queries --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_by_metadataset(server, fmt):
    latest = server.latest()
    check(server, "metadata/metadataset/SSO/MDS_SUPPORT_RATIO", [latest["MDS_SUPPORT_RATIO"]], fmt)
    check(server, "metadata/metadataset/SSO/MDS_SUPPORT_RATIO/1.0.0", [server.original["MDS_SUPPORT_RATIO"]], fmt)
    check(server, "metadata/metadataset/*/*/*", [
        latest["MDS_DF_IND"], latest["MDS_INSURED"], server.original["MDS_SUPPORT_RATIO"], latest["MDS_SUPPORT_RATIO"],
        latest["MDS_COVERAGE_RATE"]], fmt)  # by agency (SSO, STAT_DEP), id, version; MDS_SECRET is invisible
    check(server, "metadata/metadataset/SSO/MDS_DF_IND,MDS_INSURED/", [latest["MDS_DF_IND"], latest["MDS_INSURED"]], fmt)


@pytest.mark.parametrize("provider, expected", [
    ("STAT_DEP", ["MDS_COVERAGE_RATE"]),  # a metadata provider of SSO's metadata provider scheme
    ("SSO.STAT_DEP", ["MDS_COVERAGE_RATE"]),
    ("*.STAT_DEP", ["MDS_COVERAGE_RATE"]),
    ("SDMX.SSO", ["MDS_DF_IND", "MDS_INSURED", "MDS_SUPPORT_RATIO"]),  # an agency of SDMX's agency scheme
    ("STAT_DEP,SSO", ["MDS_DF_IND", "MDS_INSURED", "MDS_SUPPORT_RATIO", "MDS_COVERAGE_RATE"]),
    ("ECB.STAT_DEP", []),  # no scheme of ECB lists STAT_DEP
    ("SSO.SSO", []),
])
def test_providers(server, provider, expected):
    response = server.get(f"metadata/metadataset/{provider}", MEDIA["2.0.0"])
    if not expected:
        assert response.status_code == 404 and "no metadata set" in response.text
        return
    assert response.status_code == 200, response.text
    assert [s["id"] for s in json.loads(response.content)["data"]["metadataSets"]] == expected


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_by_structure(server, fmt):
    latest = server.latest()
    # a report on a code of a codelist is metadata of that codelist
    check(server, "metadata/structure/codelist/SSO/CL_INDICATOR", [latest["MDS_SUPPORT_RATIO"], latest["MDS_COVERAGE_RATE"]], fmt)
    check(server, "metadata/structure/dataflow/SSO/DF_IND/1.0", [latest["MDS_DF_IND"]], fmt)
    check(server, "metadata/structure/conceptscheme/SSO/CS_META", [latest["MDS_INSURED"]], fmt)
    check(server, "metadata/structure/*/SSO", [latest[k] for k in (
        "MDS_DF_IND", "MDS_INSURED", "MDS_SUPPORT_RATIO", "MDS_COVERAGE_RATE")], fmt)
    # the spec's own examples leave out structure/
    check(server, "metadata/dataflow/SSO/DF_IND", [latest["MDS_DF_IND"]], fmt)


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_by_metadataflow(server, fmt):
    latest = server.latest()
    everything = [latest[k] for k in ("MDS_DF_IND", "MDS_INSURED", "MDS_SUPPORT_RATIO", "MDS_COVERAGE_RATE")]
    check(server, "metadata/metadataflow/SSO/MDF_DEF", everything, fmt)
    check(server, "metadata/metadataflow/*/MDF_DEF/*/", everything, fmt)
    check(server, "metadata/metadataflow/SSO/MDF_DEF/1.0/STAT_DEP", [latest["MDS_COVERAGE_RATE"]], fmt)


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_allstubs(server, fmt):
    latest = server.latest()
    for path in ("metadata/metadataset/SSO/*?detail=allstubs", "metadata/structure/codelist/SSO/CL_INDICATOR?detail=allStubs",
                 "metadata/metadataflow/SSO/MDF_DEF?detail=allstubs"):
        read = answer(server, path, fmt)
        assert read and all(o["isExternalReference"] is True for o in read)
        for got in read:
            full = latest[got["id"]] if got["version"] == latest[got["id"]].get("version", "1.0") else server.original[got["id"]]
            assert (got["agencyID"], got["names"]) == (full["agencyID"], full["names"])
            assert not any(key in got for key in ("descriptions", "annotations"))
            assert all(set(a) == {"id"} for a in got.get("attributes") or ())  # no values in a stub


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_as_of(server, fmt):
    when = server.before.isoformat().replace("+00:00", "Z")
    check(server, f"metadata/metadataset/SSO/MDS_SUPPORT_RATIO,MDS_DF_IND?asOf={when}",
          [server.original["MDS_DF_IND"], server.original["MDS_SUPPORT_RATIO"]], fmt)
    check(server, f"metadata/structure/codelist/SSO/CL_INDICATOR?asOf={when}",
          [server.original["MDS_SUPPORT_RATIO"], server.original["MDS_COVERAGE_RATE"]], fmt)
    response = server.get("metadata/metadataset?asOf=2000-01-01T00:00:00Z", MEDIA[fmt])
    assert response.status_code == 404


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_languages(server, fmt):
    [got] = answer(server, "metadata/metadataset/SSO/MDS_INSURED", fmt, **{"accept-language": "fa-IR, de;q=0.5"})
    assert got["name"] == "قواعد شمارش بیمه‌شده" and set(got["names"]) == {"fa"}
    assert got["attributes"][0]["value"] == {"fa": "کسی که حق بیمه می‌پردازد"}
    [everything] = answer(server, "metadata/metadataset/SSO/MDS_INSURED", fmt)
    assert set(everything["names"]) == {"en", "fa"}


# -- clients ------------------------------------------------------------------------------------


def test_pysdmx_registry_client(server):
    """pysdmx's RegistryClient asks for SDMX-JSON 2.0.0 metadata (/metadata/metadataset/{provider}/
    {id}/{version}, /metadata/structure/{type}/{agency}/{id}/{version})."""
    from pysdmx.api.fmr import RegistryClient

    client = RegistryClient(f"{server.url}/rest/v2")
    latest = server.latest()
    report = client.get_report("SSO", "MDS_SUPPORT_RATIO", "1.0.0")
    assert pysdmx_report(report) == pysdmx_shape(server.original["MDS_SUPPORT_RATIO"])
    report = client.get_report("STAT_DEP", "MDS_COVERAGE_RATE")
    assert pysdmx_report(report) == pysdmx_shape(latest["MDS_COVERAGE_RATE"])
    reports = client.get_reports("codelist", "SSO", "CL_INDICATOR", "1.0")
    assert [pysdmx_report(r) for r in reports] == [pysdmx_shape(latest[k]) for k in ("MDS_SUPPORT_RATIO", "MDS_COVERAGE_RATE")]
    reports = client.get_reports("dataflow", "SSO", "DF_IND")
    assert [r.id for r in reports] == ["MDS_DF_IND"]
    reports = client.get_reports("conceptscheme", "SSO", "CS_META")
    assert [pysdmx_report(r) for r in reports] == [pysdmx_shape(latest["MDS_INSURED"])]


# -- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "metadata/metadataset/NOBODY",
    "metadata/metadataset/SSO/MDS_SUPPORT_RATIO/9.9.9",
    "metadata/structure/codelist/SSO/CL_FREQ",  # a structure no set targets
    "metadata/structure/codelist/XX",  # no such structure
    "metadata/structure/dataflow/SSO/DF_SECRET",  # internal: as if it did not exist
    "metadata/metadataset/SSO/MDS_SECRET",
    "metadata/metadataflow/SSO/NO_FLOW",
    "metadata/metadataflow/SSO/MDF_DEF/~/NOBODY",
])
def test_nothing_found_is_404(server, path):
    for accept, family in ((MEDIA["2.1.0"], "json"), (MEDIA["3.0.0"], "xml"), (None, "xml")):
        response = server.get(path, accept)
        assert response.status_code == 404, (path, response.status_code)
        assert response.content  # never an empty 204
        assert response.headers["content-type"].startswith(f"application/{family}")
        if family == "json":
            assert json.loads(response.content)["errors"][0]["code"] == 100
        # an internal dataflow's answer is that of one that does not exist
        unknown = server.get(path.replace("SECRET", "NOPE"), accept)
        assert (response.status_code, _detail(response).replace("SECRET", "NOPE")) == (unknown.status_code, _detail(unknown))


def _detail(response: httpx.Response) -> str:
    """An error message without what changes with every message (its id and time, the request's id)."""
    return re.sub(r"IREF[0-9A-F]+|\d{4}-\d\d-\d\dT[0-9:]+Z|request id: [^<)]+", "", response.text)


@pytest.mark.parametrize("accept", [
    "application/vnd.sdmx.metadata+csv;version=2.0.0",
    "application/vnd.sdmx.metadata+csv;version=2.1.0",
    "application/vnd.sdmx.metadata+json;version=1.0.0",
    "application/vnd.sdmx.structure+xml;version=3.0.0",
    "application/vnd.sdmx.metadata+xml;version=2.1",
    "text/csv",
])
def test_formats_not_offered_are_406(server, accept):
    response = server.get("metadata/metadataset/SSO/MDS_INSURED", accept)
    assert response.status_code == 406, response.text[:300]
    assert "application/vnd.sdmx.metadata+json; version=2.1.0" in response.text  # the offers are listed


def test_default_format_and_generic_types(server):
    assert server.get("metadata/metadataset/SSO/MDS_INSURED").headers["content-type"] == \
        "application/vnd.sdmx.metadata+json; version=2.1.0"  # metadata.md's default
    assert server.get("metadata/metadataset/SSO/MDS_INSURED", "*/*").headers["content-type"].endswith("2.1.0")
    assert server.get("metadata/metadataset/SSO/MDS_INSURED", "application/xml").headers["content-type"] == \
        "application/vnd.sdmx.metadata+xml; version=3.1.0"
    assert server.get("metadata/metadataset/SSO/MDS_INSURED", "application/json").headers["content-type"].endswith("2.1.0")


def test_legacy_versions_cannot_be_said_in_sdmx_json(server):
    """SDMX-JSON metadata sets have semantic versions (1.0 by default); a set of version 2.0
    is served in SDMX-ML and is a 406 in SDMX-JSON, which says why."""
    legacy = dict(server.original["MDS_INSURED"], version="2.0", id="MDS_LEGACY")
    body = json.dumps({"meta": {"id": "L", "prepared": "2024-01-01T00:00:00Z", "sender": {"id": "SSO"}},
                       "data": {"metadataSets": [legacy]}})
    posted = httpx.post(f"{server.url}/rest/v2/structure", content=body,
                        headers={"content-type": "application/vnd.sdmx.metadata+json;version=2.0.0"}, timeout=30)
    assert posted.status_code in (200, 201), posted.text[:500]
    deadline = time.monotonic() + 10
    while server.get("metadata/metadataset/SSO/MDS_LEGACY", MEDIA["3.0.0"]).status_code != 200:
        assert time.monotonic() < deadline, "the loaded set never became visible"
        time.sleep(0.2)
    response = server.get("metadata/metadataset/SSO/MDS_LEGACY", MEDIA["2.0.0"])
    assert response.status_code == 406 and "version 2.0" in response.text


@pytest.mark.parametrize("path", [
    "metadata/metadataset/SSO/MDS%20X",
    "metadata/metadataset/SSO/MDS_INSURED/1.x",
    "metadata/structure/nosuchtype/SSO",
    "metadata/nosuchquery/SSO",
    "metadata/metadataset/SSO/MDS_INSURED?detail=referencestubs",
    "metadata/metadataset/SSO/MDS_INSURED?asOf=yesterday",
    "metadata/metadataflow/SSO/MDF_DEF/~/1BAD",
    "metadata/metadataset/SSO/MDS_INSURED/1.0/extra",
])
def test_bad_urls_are_400(server, path):
    response = server.get(path, MEDIA["2.1.0"])
    assert response.status_code == 400, (path, response.status_code, response.text[:300])
    assert json.loads(response.content)["errors"][0]["code"] == 140


def test_structure_queries_never_return_metadata_sets(server):
    response = server.get("structure/*/SSO?references=all", "application/vnd.sdmx.structure+xml;version=3.0.0")
    assert response.status_code == 200, response.text[:600]
    assert b"MetadataSet" not in response.content
    assert b"CL_INDICATOR" in response.content


def test_loaded_sets_are_in_the_registry(server):
    """What the loads stored is what the test built: nothing lost on the way in (SDMX-JSON and
    SDMX-ML 3.0 both)."""
    for fmt in ("2.0.0", "3.0.0"):
        response = server.get("metadata/metadataset/*/*/1.0,1.0.0", MEDIA[fmt])
        assert response.status_code == 200
        read = {o["id"]: o for o in read_back(response.content)}
        original = {k: v for k, v in server.original.items() if k != "MDS_SECRET"}
        same_sets([read[k] for k in sorted(read) if k != "MDS_DF_IND"],
                  [original[k] for k in sorted(original) if k != "MDS_DF_IND"], xml=fmt == "3.0.0")
