"""docs/conformance.md is checked against a real server: every probe it shows (a request and
the status it says the server answers) is sent, and its lists of structure types are the
kinds table's. The probes of its "Data:" sections go to a server holding data (the `served`
fixture, on SQLite and PostgreSQL); those sections must name every parameter of the spec's data
and availability operations (the YAML of REST v1.5.0 and v2.2.2) and every data row of the
media table."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import zipfile
from pathlib import Path

import httpx
import pytest
from lxml import etree

from sdmx_server import kinds
from sdmx_server.query.parse_v1 import STRUCTURE_RESOURCES
from sdmx_server.formats.media import TABLE
from sdmx_server.registry.codec import supported
from tests.conftest import ROOT, require
from tests.registry_content import registry_server
from tests.xsd import assert_valid


@pytest.fixture(scope="module")
def client(tmp_path_factory, samples_dir):
    with registry_server("sqlite", tmp_path_factory.mktemp("conformance")) as server:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            yield http


CONFORMANCE = ROOT / "docs" / "conformance.md"
_PROBE = re.compile(r"`(GET) (/[^`\s]+)(?: \(([A-Za-z-]+): ([^`]+)\))?` → `(\d{3})`")


def _sections() -> list[tuple[str, str]]:
    """(heading, text) of each `## ` section of docs/conformance.md."""
    text = CONFORMANCE.read_text(encoding="utf-8") if CONFORMANCE.exists() else ""
    parts = re.split(r"^## ", text, flags=re.M)
    return [(part.split("\n", 1)[0], part) for part in parts[1:]]


def _is_data(heading: str) -> bool:
    return heading.startswith("Data:")


def _probes(data: bool):
    for heading, text in _sections():
        if _is_data(heading) != data:
            continue
        for method, path, header, value, status in _PROBE.findall(text):
            yield pytest.param(method, path, {header: value} if header else {}, int(status),
                               id=f"{path}{' ' + header + ': ' + value if header else ''}")


def _check_answer(response, status: int) -> None:
    assert response.status_code == status, response.text[:300]
    if status == 304:
        assert response.content == b""
        return
    media_type = response.headers["content-type"].split(";")[0]
    if media_type.endswith("json"):
        json.loads(response.content)  # SDMX-JSON, JSON-stat, or an SDMX-JSON error message
    elif media_type == "application/vnd.sdmx.schema+xml":
        assert etree.QName(etree.fromstring(response.content)).localname == "schema"  # an XML schema
    elif media_type.endswith("csv"):
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
        assert len(rows) > 1 and all(len(row) == len(rows[0]) for row in rows)
    elif media_type.endswith("spreadsheetml.sheet"):
        assert "xl/workbook.xml" in zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    elif "structurespecific" in media_type or media_type == "application/vnd.sdmx.data+xml":
        # Valid only with the DSD's own schema: tests/test_data_formats.py validates them so.
        assert etree.QName(etree.fromstring(response.content)).localname.startswith("StructureSpecific")
    else:
        assert_valid(response.content)  # a structure or generic data message, or an SDMX error


@pytest.mark.parametrize("method, path, headers, status", list(_probes(data=False)))
def test_conformance_probe(client, method, path, headers, status):
    """Each request docs/conformance.md shows gets the status it says."""
    _check_answer(client.request(method, path, headers=headers), status)


@pytest.fixture(scope="module")
def data_client(served):
    with httpx.Client(base_url=served.url, timeout=60) as http:
        yield http


@pytest.mark.parametrize("method, path, headers, status", list(_probes(data=True)))
def test_conformance_data_probe(data_client, method, path, headers, status):
    """Each request of the "Data:" sections gets the status they say, from a server with data."""
    _check_answer(data_client.request(method, path, headers=headers), status)


# -- the data sections list the whole spec and the whole media table ---------------------------


def spec_path() -> Path:
    return Path(os.environ.get("SDMX_SPEC_DIR") or ROOT.parent / "shared" / "sdmx-spec")


#: The data and availability operations of each spec YAML, and the "Data:" section that lists
#: their parameters.
OPERATIONS = {
    ("rest/v1.5.0/src/sdmx-rest.yaml", "/data/{flow}/{key}/{provider}"): "Data: REST v1.5.0 data queries",
    ("rest/v1.5.0/src/sdmx-rest.yaml", "/availableconstraint/{flow}/{key}/{provider}/{componentID}"):
        "Data: REST v1.5.0 availability queries",
    ("rest/api/sdmx-rest.yaml", "/data/{context}/{agencyID}/{resourceID}/{version}/{key}"):
        "Data: REST v2.2.2 data queries",
    ("rest/api/sdmx-rest.yaml", "/availability/{context}/{agencyID}/{resourceID}/{version}/{key}/{componentID}"):
        "Data: REST v2.2.2 availability queries",
}


def _spec(name: str) -> dict:
    import yaml

    path = spec_path() / name
    require(path.is_file(), f"the SDMX REST specification is missing ({path}; set SDMX_SPEC_DIR)")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _resolve(spec: dict, ref: dict) -> dict:
    while "$ref" in ref:
        node = spec
        for part in ref["$ref"].lstrip("#/").split("/"):
            node = node[part]
        ref = node
    return ref


def _first_cells(section: str) -> str:
    """The first cells of the table rows of a section, where spec items are named."""
    return "\n".join(line.split(" | ")[0] for line in section.splitlines() if line.startswith("| "))


@pytest.mark.parametrize("spec_file, operation", list(OPERATIONS))
def test_conformance_lists_every_data_parameter_of_the_spec(spec_file, operation):
    """Every parameter (path, query, header) of the spec's data and availability operations
    has a row in its "Data:" section, and every media type the spec lists for their answers is
    named in the "Data:" sections."""
    spec = _spec(spec_file)
    get = spec["paths"][operation]["get"]
    names = {_resolve(spec, p)["name"] for p in get["parameters"]}
    sections = dict(_sections())
    heading = OPERATIONS[(spec_file, operation)]
    assert heading in sections, f"docs/conformance.md has no section {heading!r}"
    cells = _first_cells(sections[heading])
    missing = sorted(n for n in names if f"`{n}`" not in cells and f"`{n}`:" not in cells)
    assert not missing, f"{heading}: the spec's parameters {missing} have no row"
    response = _resolve(spec, get["responses"]["200"])
    data_cells = "\n".join(_first_cells(text) for h, text in sections.items() if _is_data(h))
    media = sorted(m for m in response.get("content", {}) if f"`{m}`" not in data_cells)
    assert not media, f"{operation}: the spec's media types {media} have no row"


@pytest.mark.parametrize("api, title", [("v1", "REST v1.5.0"), ("v2", "REST v2.2.2")])
def test_conformance_lists_every_data_media_type(api, title):
    """Every data row of formats/media.py's TABLE has a row, with a probe asking for it, in the
    media section of its API, and that section lists no media type the table lacks."""
    sections = dict(_sections())
    heading = f"Data: media types of {title} data answers"
    assert heading in sections, f"docs/conformance.md has no section {heading!r}"
    rows = [r.type + (f";version={r.version}" if r.version else "")
            for r in TABLE if r.answer == "data" and api in r.apis]
    listed = re.findall(r"^\| `([^`]+)` \| supported \| `GET [^`(]+\(Accept: ([^)]+)\)` → `200`",
                        sections[heading], flags=re.M)
    assert [m for m, _ in listed] == rows, "the rows must be the media table's, in its order"
    assert all(media == accept for media, accept in listed), "each row's probe asks for its media type"


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
