"""docs/conformance.md is checked against a real server: every probe it shows (a request and
the status it says the server answers) is sent, and its lists of structure types are the
kinds table's."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from lxml import etree

from sdmx_server import kinds
from sdmx_server.query.parse_v1 import STRUCTURE_RESOURCES
from sdmx_server.registry.codec import supported
from tests.conftest import ROOT
from tests.registry_content import registry_server
from tests.xsd import assert_valid


@pytest.fixture(scope="module")
def client(tmp_path_factory, samples_dir):
    with registry_server("sqlite", tmp_path_factory.mktemp("conformance")) as server:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            yield http


CONFORMANCE = ROOT / "docs" / "conformance.md"
_PROBE = re.compile(r"`(GET) (/[^`\s]+)(?: \(([A-Za-z-]+): ([^`]+)\))?` → `(\d{3})`")


def _probes():
    text = CONFORMANCE.read_text(encoding="utf-8") if CONFORMANCE.exists() else ""
    for method, path, header, value, status in _PROBE.findall(text):
        yield pytest.param(method, path, {header: value} if header else {}, int(status),
                           id=f"{path}{' ' + header + ': ' + value if header else ''}")


@pytest.mark.parametrize("method, path, headers, status", list(_probes()))
def test_conformance_probe(client, method, path, headers, status):
    """Each request docs/conformance.md shows gets the status it says."""
    response = client.request(method, path, headers=headers)
    assert response.status_code == status, response.text[:300]
    media_type = response.headers["content-type"].split(";")[0]
    if media_type.endswith("json"):
        json.loads(response.content)  # an SDMX-JSON error message (REST v2 errors follow Accept)
    elif media_type == "application/vnd.sdmx.schema+xml":
        assert etree.QName(etree.fromstring(response.content)).localname == "schema"  # an XML schema
    else:
        assert_valid(response.content)  # a structure message or an SDMX error message


def _listed(row_start: str) -> dict[str, set[str]]:
    """Status -> the `names` the rows of docs/conformance.md that start so list in their first cell."""
    found: dict[str, set[str]] = {}
    for line in CONFORMANCE.read_text(encoding="utf-8").splitlines():
        if line.startswith(row_start):
            first, status = line.split(" | ")[0:2]
            names = set(re.findall(r"`([a-z*]+)`", first.split(":", 1)[-1] if ":" in first else first))
            found.setdefault(status.strip(), set()).update(names - {"*"})
    return found


def test_conformance_lists_the_types_of_the_kinds_table():
    """The types docs/conformance.md calls supported or 501 are those the kinds table and the
    codec say (REST v2: the spec's 34 types; REST v1: the resources of 1.5.0)."""
    v2 = _listed("| `structureType`: `")
    assert v2["supported"] == {k.v2 for k in kinds.BY_V2.values() if supported(k)}
    assert v2["501"] == {k.v2 for k in kinds.BY_V2.values() if not supported(k)}
    v1 = _listed("| resources ")
    built = {r for r in STRUCTURE_RESOURCES if r == kinds.V1_ANY or any(supported(k) for k in kinds.BY_V1[r])}
    assert v1["supported"] == built
    assert v1["501"] == set(STRUCTURE_RESOURCES) - built
