"""Every artefact of every sample structure message, and the project's own content, written in
SDMX-JSON 1.0.0, 2.0.0 and 2.1.0 and read back.

Each SDMX-ML structure message of the samples that sdmx1 reads (each file in its own sdmx1
call) gives artefacts; each is written in each SDMX-JSON version that can express it:

- what a version cannot say must raise NotExpressible, as EXPECTED_REFUSALS lists;
- every artefact's message validates against the version's official schema, except those in
  SCHEMA_INVALID, each with its reason (the sample itself lacks what the schema requires);
- the whole file's message read back with the codec (`read_structure_message`, references
  resolved through the artefacts read) gives artefacts equal to the originals
  (`tests.model_compare`), except those in NOT_EQUAL, each with its reason; `comparable`
  leaves out only what the version has no member for (see its LENIENT notes);
- stubs and Accept-Language hold on every sample.

pysdmx reading them back is tests/test_structure_json_pysdmx.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sdmx_server.formats import structure_json10, structure_json20, structure_json21
from sdmx_server.formats.ml21 import Header
from sdmx_server.formats.structure_json_base import NotExpressible
from sdmx_server.kinds import kind_of
from sdmx_server.registry.codec import read_structure_message
from tests.conftest import ROOT
from tests.jsonschemas import errors
from tests.model_compare import describe, differences
from tests.test_codec_samples import (
    SCHEMA_INVALID as STORED_FORM_INVALID, StoredRegistry, authored, own_artefacts, read_sdmx_ml, structure_files,
)

WRITERS = {"1.0": structure_json10, "2.0": structure_json20, "2.1": structure_json21}
VERSIONS = tuple(WRITERS)

#: (versions, class name, the feature NotExpressible names): what a version cannot say.
_SDMX21 = ("2.0", "2.1")
EXPECTED_REFUSALS = {
    (_SDMX21, "HierarchicalCodelist", "a HierarchicalCodelist"),
    (_SDMX21, "StructureSet", "a StructureSet"),
    (_SDMX21, "DataStructureDefinition", "an SDMX 2.1 measure dimension"),
    (_SDMX21, "DataStructureDefinition", "an attachment group"),
    (_SDMX21, "MetadataStructureDefinition", "an SDMX 2.1 metadata structure"),
    (("2.1",), "ContentConstraint", "a constraint of actual content"),
    # sdmx1 gives some of BIS's hierarchical codes two children of one id (test_structure_ml30_samples
    # MISREAD): the codec refuses such a hierarchy.
    (("1.0",), "HierarchicalCodelist", "two children with the id"),
    (("1.0",), "Hierarchy", "a Hierarchy"),
    (("1.0",), "ValueList", "a ValueList"),
    (("1.0",), "GeographicCodelist", "a GeographicCodelist"),
    (("1.0",), "GeoGridCodelist", "a GeoGridCodelist"),
    (("1.0",), "Codelist", "a codelist extension"),
    (("1.0",), "MetadataStructureDefinition", "an SDMX 3.0 metadata structure"),
    (("1.0",), "Metadataflow", "the targets of a metadataflow"),
    # SDMX-JSON 1.0 has no collection for the VTL schemes
    (("1.0",), "CustomTypeScheme", "a CustomTypeScheme"),
    (("1.0",), "NamePersonalisationScheme", "a NamePersonalisationScheme"),
    (("1.0",), "RulesetScheme", "a RulesetScheme"),
    (("1.0",), "TransformationScheme", "a TransformationScheme"),
    (("1.0",), "UserDefinedOperatorScheme", "a UserDefinedOperatorScheme"),
    (("1.0",), "VTLMappingScheme", "a VtlMappingScheme"),
}

#: Artefacts whose message is not schema-valid, and why: version -> {(file, agency:id): reason}.
#: The stored form's exceptions (tests/test_codec_samples.py): the sample lacks what the
#: schemas require, so no writer can write it valid. SDMX-JSON 1.0 allows what 2.0 does not
#: in a few (a categorisation of a non-SDMX class, a hierarchy without name, VTL schemes).
_NO_NAME = "the sample gives it no Name, which SDMX-ML requires too and SDMX-JSON requires"
#: (The writers give a time dimension of another type, ESTAT's apro_mk_cola, the type the
#: schemas require, as the SDMX-ML writers do.)
_WRITTEN_VALID = {("ESTAT/apro_mk_cola-structure.xml", "ESTAT:DSD_apro_mk_cola")}
SCHEMA_INVALID: dict[str, dict[tuple[str, str], str]] = {
    "2.0": {k: v for k, v in STORED_FORM_INVALID.items() if k not in _WRITTEN_VALID},
    "2.1": {k: v for k, v in STORED_FORM_INVALID.items() if k not in _WRITTEN_VALID},
    "1.0": {
        ("ECB/orgscheme.xml", "ECB:AGENCIES"): "an agency of the sample has no Name",
        ("ECB/structureset-0.xml", "ECB:GLOBAL_MAPPINGS"): _NO_NAME,
        ("SGR/hierarchicalcodelist-0.xml", "SDMX:HCL_TEST_AREA"): _NO_NAME,
    },
}

#: Artefacts that cannot be read back equal, and why: (version, file, agency:id) -> reason.
_TIME_LAST = ("SDMX 3.0 puts the time dimension after the others (as SDMX-ML 3.0 does); the sample "
              "has it elsewhere, and the order of the dimensions is compared")
_TARGET_ORDER = ("SDMX-JSON 1.0 lists a metadata target's objects by type, so their order across "
                 "types is not kept")
NOT_EQUAL = {
    (v, f, a): _TIME_LAST for v in _SDMX21 for f, a in (
        ("TEST/gh-149.xml", "AGENCYID:DSD_SAMPLE_CURRENT_REV"), ("v21/xml/VTL/VTL_Sample_3.xml", "SDMX:DS31"),
        ("v21/xml/VTL/VTL_Sample_3.xml", "SDMX:DS3R1"))
} | {
    ("1.0", f, "ESTAT:ESMS_SIMPLE"): _TARGET_ORDER
    for f in ("ESTAT/esms-structure.xml", "v21/xml/demography/esms.xml", "v21/xml/query/response_esms_children.xml")
} | {
    (v, "ESTAT/apro_mk_cola-structure.xml", "ESTAT:DSD_apro_mk_cola"):
        "the sample's time dimension of type String is written ObservationalTimePeriod, as the schemas require"
    for v in VERSIONS
} | {
    ("1.0", "v3/xml/geospatial_geocomponents.xml", "EXAMPLE:DSD_GEO_EXAMPLE"):
        "SDMX 2.1 has no GeospatialInformation type: written as String, as the SDMX-ML 2.1 writer does",
}


def _name(a) -> str:
    return f"{getattr(a.maintainer, 'id', '')}:{a.id}"


def _listed(table: dict, file: str, artefact, *prefix: str) -> str | None:
    for key, reason in table.items():
        *head, pattern, aid = key
        if tuple(head) == prefix and aid == _name(artefact) and Path(file).match(pattern):
            return reason
    return None


def writable(version: str, artefacts: list) -> list:
    """The artefacts the version can express; the others must be refused, as expected."""
    out = []
    for a in artefacts:
        try:
            WRITERS[version].structure_message([(a, "full")], Header())
        except NotExpressible as exc:
            assert any(version in vs and type(a).__name__ == cls and feature in str(exc)
                       for vs, cls, feature in EXPECTED_REFUSALS), f"unexpected refusal: {exc}"
            continue
        out.append(a)
    return out


# -- what a version can carry -----------------------------------------------------------------


def comparable(artefact, version: str) -> dict:
    """describe(), less what the version has no member for."""
    d = describe(artefact)
    if version in _SDMX21:
        # LENIENT: SDMX 3.0 has no isFinal; finality is a semantic version's (SDMX-ML 3.0 too).
        d.pop("final")
        # LENIENT: a metadata attribute's occurrences and presentational flag not said are the
        # schema's defaults, 1 and false (written out for pysdmx, which requires them).
        _walk(d, _occurrences)
    if version == "1.0":
        # LENIENT: SDMX 2.1 has no annotation values (SDMX-ML 2.1 leaves them out too).
        _walk(d, _drop_annotation_values)
    # LENIENT: an SDMX 3.0 attribute without usage is optional, SDMX 2.1's Conditional.
    _walk(d, _usage)
    return d


def _walk(value: Any, fn) -> None:
    if isinstance(value, dict):
        fn(value)
        for v in value.values():
            _walk(v, fn)
    elif isinstance(value, list):
        for v in value:
            _walk(v, fn)


def _drop_annotation_values(d: dict) -> None:
    if "annotations" in d and isinstance(d["annotations"], list):
        for a in d["annotations"]:
            if isinstance(a, dict):
                a["value"] = None


def _occurrences(d: dict) -> None:
    if "presentational" in d and "children" in d:
        for key in ("min_occurs", "max_occurs"):
            if d.get(key) is None:
                d[key] = 1
        if d["presentational"] is None:
            d["presentational"] = False


def _usage(d: dict) -> None:
    if "usage" in d and "relationship" in d and d["usage"] is None:
        d["usage"] = "conditional"


def urn_of(artefact) -> str:
    return kind_of(artefact).urn(artefact.maintainer.id, artefact.id, str(artefact.version or "1.0"))


def read_back(body: bytes) -> StoredRegistry:
    return StoredRegistry(read_structure_message(body))


def check_schema(version: str, label: str, artefacts: list) -> None:
    for a in artefacts:
        found = errors(json.loads(WRITERS[version].structure_message([(a, "full")], Header())), version)
        reason = _listed(SCHEMA_INVALID[version], label, a)
        if reason is None:
            assert not found, f"{_name(a)}:\n" + "\n".join(found[:10])
        else:
            assert found, f"{_name(a)} listed as schema-invalid ({reason}) but valid: take it off the list"


def check_read_back(version: str, label: str, artefacts: list) -> None:
    registry = read_back(WRITERS[version].structure_message([(a, "full") for a in artefacts], Header()))
    for a in artefacts:
        built = registry.resolve(urn_of(a))
        assert built is not None, f"{_name(a)} not read back"
        diffs = differences(comparable(a, version), comparable(built, version))
        reason = _listed(NOT_EQUAL, label, a, version)
        if reason is None:
            assert not diffs, f"{_name(a)} differs:\n  " + "\n  ".join(diffs[:20])
        else:
            assert diffs, f"{_name(a)} listed as not read back equal ({reason}) but equal: take it off the list"


# -- the tests --------------------------------------------------------------------------------


@pytest.mark.samples
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", structure_files())
def test_sample(samples_dir, name, version):
    artefacts = writable(version, own_artefacts(read_sdmx_ml(samples_dir / name)))
    if not artefacts:
        return  # all refused, as expected (writable checked)
    check_schema(version, name, artefacts)
    check_read_back(version, name, artefacts)


def test_lists_name_real_artefacts(samples_dir):
    """Every listed exception names an artefact of a sample (the lists do not rot)."""
    seen = set()
    tables = [(SCHEMA_INVALID[v], ()) for v in VERSIONS] + [(NOT_EQUAL, None)]
    for name in structure_files():
        for a in own_artefacts(read_sdmx_ml(samples_dir / name)):
            for table, _ in tables:
                for key in table:
                    if key[-1] == _name(a) and Path(name).match(key[-2]):
                        seen.add(key)
    listed = {k for v in VERSIONS for k in SCHEMA_INVALID[v]} | set(NOT_EQUAL)
    assert listed - seen == set()


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("folders", [("dsd", "codelists"), ("tests/content/dsd", "tests/content/codelists")])
def test_project_content(version, folders):
    # metadata sets are not structures: the metadata API answers them
    structures = [a for a in authored(*(ROOT / f for f in folders)) if kind_of(a).name != "metadataset"]
    artefacts = writable(version, structures)
    assert {"codelist", "conceptscheme", "datastructure", "dataflow"} <= {kind_of(a).name for a in artefacts}
    check_schema(version, "", artefacts)
    check_read_back(version, "", artefacts)


# -- stubs and languages on every sample ---------------------------------------------------------

_STUB_MEMBERS = {"id", "version", "agencyID", "isExternalReference", "name", "names", "links"}


@pytest.mark.samples
@pytest.mark.parametrize("detail", ["stub", "completestub"])
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", structure_files())
def test_sample_stubs(samples_dir, name, version, detail):
    """Stubs of every writable artefact: valid, with identity and names (and descriptions and
    annotations for complete stubs) only, flagged as external references."""
    artefacts = writable(version, own_artefacts(read_sdmx_ml(samples_dir / name)))
    if not artefacts:
        return
    message = json.loads(WRITERS[version].structure_message([(a, detail) for a in artefacts], Header()))
    found = errors(message, version)
    assert not found, "\n".join(found[:10])
    allowed = _STUB_MEMBERS | ({"isFinal", "structureUsage", "dataProvider"} if version == "1.0" else set())
    if detail == "completestub":
        allowed |= {"description", "descriptions", "annotations"}
    objects = [o for collection in message["data"].values() for o in collection]
    assert len(objects) == len(artefacts)
    for obj in objects:
        assert obj["isExternalReference"] is True and obj["name"]
        assert set(obj) <= allowed, set(obj) - allowed


_PAIRS = {"names": "name", "descriptions": "description", "texts": "text"}


def _texts(value: Any, found: list) -> None:
    """Every localised text at any depth, as (texts by language, the best-match text)."""
    if isinstance(value, dict):
        for key, v in value.items():
            if key in _PAIRS:
                found.append((v, value.get(_PAIRS[key])))
            else:
                _texts(v, found)
    elif isinstance(value, list):
        for v in value:
            _texts(v, found)


@pytest.mark.samples
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", structure_files())
def test_sample_languages(samples_dir, name, version):
    """With Accept-Language: fr, every text of every artefact at every depth keeps one language,
    French where the sample has it, and the best match is that text."""
    artefacts = writable(version, own_artefacts(read_sdmx_ml(samples_dir / name)))
    if not artefacts:
        return
    everything = json.loads(WRITERS[version].structure_message([(a, "full") for a in artefacts], Header()))
    message = json.loads(WRITERS[version].structure_message([(a, "full") for a in artefacts], Header(), ("fr",)))
    before, after = [], []
    _texts(everything["data"], before)
    _texts(message["data"], after)
    assert len(before) == len(after)
    for (original, _), (kept, best) in zip(before, after):
        assert len(kept) == 1
        (lang, text), = kept.items()
        assert original[lang] == text == best
        assert lang == "fr" if "fr" in original else lang == ("en" if "en" in original else next(iter(original)))
    assert set(message["meta"].get("contentLanguages", [])) == {lang for kept, _ in after for lang in kept}
