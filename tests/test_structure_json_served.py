"""A real server answering structure queries in every structure format, chosen by Accept.

REST v2: SDMX-JSON 2.1.0 without Accept (the spec's default), SDMX-ML 3.0.0 for `*/*` (sdmx1
sends it and reads XML only), each SDMX-JSON version and SDMX-ML 3.0.0/3.1.0 when asked for,
with the right Content-Type; Accept-Language; errors in JSON. REST v1: SDMX-JSON 1.0.0 besides
the default SDMX-ML 2.1.
"""

from __future__ import annotations

import httpx
import pytest

from tests.jsonschemas import assert_valid
from tests.test_structure_json import only
from tests.xsd import assert_valid as assert_valid_xml

JSON = "application/vnd.sdmx.structure+json"
XML = "application/vnd.sdmx.structure+xml"
V2_CODELIST = "v2/structure/codelist/TEST/CL_FREQ/1.0"


def get(served, path: str, accept: str | None, **headers) -> httpx.Response:
    """A GET with exactly the Accept given (None: no Accept header at all; httpx would send */*)."""
    with httpx.Client(timeout=60) as client:
        request = client.build_request("GET", served.rest(path), headers=headers)
        del request.headers["accept"]
        if accept is not None:
            request.headers["accept"] = accept
        return client.send(request)


@pytest.mark.parametrize("accept, content_type, version", [
    (None, f"{JSON}; version=2.1.0", "2.1"),
    (f"{JSON};version=2.1.0", f"{JSON}; version=2.1.0", "2.1"),
    (f"{JSON};version=2.0.0", f"{JSON}; version=2.0.0", "2.0"),
    (f"{JSON};version=1.0.0", f"{JSON}; version=1.0.0", "1.0"),
])
def test_served_v2_json(served, accept, content_type, version):
    r = get(served, V2_CODELIST, accept)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == content_type
    obj = only(assert_valid(r.content, version), "codelists")
    assert obj["id"] == "CL_FREQ" and [c["id"] for c in obj["codes"]] == ["A", "Q", "M"]


@pytest.mark.parametrize("accept, content_type, namespace", [
    ("*/*", f"{XML}; version=3.0.0", "v3_0"),
    (f"{XML};version=3.1.0", f"{XML}; version=3.1.0", "v3_1"),
    (f"{XML};version=3.0.0", f"{XML}; version=3.0.0", "v3_0"),
    (f"{XML};version=2.1", f"{XML}; version=2.1", "v2_1"),
])
def test_served_v2_xml(served, accept, content_type, namespace):
    r = get(served, V2_CODELIST, accept)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == content_type
    doc = assert_valid_xml(r.content)
    assert f"/schemas/{namespace}/" in doc.tag


def test_served_languages_and_references(served):
    r = get(served, "v2/structure/dataflow/TEST/DF_A/1.0?references=all", f"{JSON};version=2.1.0",
            **{"Accept-Language": "fa"})
    assert r.status_code == 200, r.text
    msg = assert_valid(r.content, "2.1")
    assert msg["meta"]["contentLanguages"] == ["fa"]
    assert {"dataflows", "dataStructures", "conceptSchemes", "codelists"} <= set(msg["data"])
    for collection in msg["data"].values():
        for obj in collection:
            assert set(obj["names"]) == {"fa"} and obj["isPartialLanguage"] is True


def test_served_v1_json(served):
    r = get(served, "codelist/TEST/CL_FREQ/1.0", f"{JSON};version=1.0.0")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == f"{JSON}; version=1.0.0"
    assert only(assert_valid(r.content, "1.0"), "codelists")["isFinal"] is False
    r = get(served, "codelist/TEST/CL_FREQ/1.0", None)
    assert r.headers["content-type"].startswith(f"{XML}; version=2.1")


def test_served_json_errors_are_valid(served):
    r = get(served, "v2/structure/codelist/TEST/CL_NOTHING/1.0", f"{JSON};version=2.1.0")
    assert r.status_code == 404
    body = assert_valid(r.content, "2.1")
    assert body["errors"][0]["code"] == 100
