"""pysdmx reads the SDMX-JSON 2.0.0 and 2.1.0 of every sample into what the originals say.

For what pysdmx models: identity and name, items (and nested categories), and each data
structure component's role, concept and enumeration (pysdmx has no parent codes in a codelist,
so parents are compared by the codec's read back, tests/test_structure_json_samples.py).
Samples pysdmx cannot read are listed with the reason.
"""

from __future__ import annotations

from typing import Any

import pytest
from pysdmx.io import read_sdmx

from sdmx_server.formats.ml21 import Header
from tests.test_codec_samples import own_artefacts, read_sdmx_ml, structure_files
from tests.test_structure_json_samples import WRITERS, writable

#: sdmx1 class -> pysdmx class, for what pysdmx models and this test compares.
PYSDMX_CLASSES = {"Codelist": "Codelist", "ConceptScheme": "ConceptScheme", "CategoryScheme": "CategoryScheme",
                  "AgencyScheme": "AgencyScheme", "DataProviderScheme": "DataProviderScheme",
                  "DataStructureDefinition": "DataStructureDefinition", "DataflowDefinition": "Dataflow",
                  "Dataflow": "Dataflow"}


#: pysdmx names organisation schemes by their fixed id, whatever the message says.
_NAMELESS = {"AgencyScheme", "DataProviderScheme"}


def _best(text) -> str | None:
    texts = {k: v for k, v in (getattr(text, "localizations", None) or {}).items() if isinstance(v, str)}
    if not texts:
        return None
    return texts.get("en") or texts[sorted(texts)[0]]


def _enumeration(rep) -> str | None:
    enumerated = getattr(rep, "enumerated", None)
    if enumerated is None:
        return None
    return f"{enumerated.maintainer.id}:{enumerated.id}({enumerated.version or '1.0'})"


def sdmx1_view(a) -> dict:
    """What pysdmx models of an sdmx1 artefact: identity, name, items, components."""
    out: dict[str, Any] = {"class": PYSDMX_CLASSES[type(a).__name__], "id": a.id, "agency": a.maintainer.id,
                           "version": str(a.version or "1.0"), "name": _best(a.name)}
    if out["class"] in _NAMELESS:
        del out["name"]
    if hasattr(a, "items") and isinstance(a.items, dict):
        def tree(items):
            return sorted((i.id, _best(i.name), tree(i.child) if type(a).__name__ == "CategoryScheme" else [])
                          for i in items)
        roots = [i for i in a.items.values() if type(a).__name__ != "CategoryScheme" or i.parent is a]
        out["items"] = tree(roots)
        if out["class"] == "AgencyScheme" and a.maintainer.id != "SDMX":
            # pysdmx names a sub-agency by its full id (ECB.DISS), as SDMX does outside the scheme
            out["items"] = sorted((f"{a.maintainer.id}.{i}", n, c) for i, n, c in out["items"])
    if type(a).__name__ == "DataStructureDefinition":
        components = []
        for role, cl in (("dimension", a.dimensions), ("attribute", a.attributes), ("measure", a.measures)):
            for c in cl.components:
                concept = c.concept_identity.id if c.concept_identity is not None else None
                components.append((c.id, role, concept, _enumeration(c.local_representation)))
        out["components"] = sorted(components)
    return out


def _pysdmx_enumeration(c) -> str | None:
    ref = getattr(c, "local_enum_ref", None)
    if not ref:
        return None
    urn = ref.split("=", 1)[1]
    return urn


def pysdmx_view(p) -> dict:
    out: dict[str, Any] = {"class": type(p).__name__, "id": p.id, "agency": getattr(p.agency, "id", p.agency),
                           "version": p.version, "name": p.name}
    if out["class"] in _NAMELESS:
        del out["name"]
    if hasattr(p, "items"):
        def tree(items):
            return sorted((i.id, i.name, tree(getattr(i, "categories", ()) or ())) for i in items)
        out["items"] = tree(p.items)
    if type(p).__name__ == "DataStructureDefinition":
        roles = {"DIMENSION": "dimension", "ATTRIBUTE": "attribute", "MEASURE": "measure"}
        out["components"] = sorted(
            # a concept the message does not hold is an ItemReference, naming it item_id
            (c.id, roles[c.role.name], getattr(c.concept, "item_id", None) or getattr(c.concept, "id", None),
             _pysdmx_enumeration(c))
            for c in p.components)
    return out


#: Samples whose SDMX-JSON pysdmx cannot read, and why (pysdmx requires what the schemas do not,
#: or what the sample lacks).
_PYSDMX_VTL = "pysdmx requires fromVtlSuperSpace in a fromVtlMapping (the schemas do not)"
PYSDMX_CANNOT_READ = {
    "SDMX/HCL_TEST_AREA.xml": "the sample's hierarchy level has no name, which pysdmx requires",
    # (in 2.1 the sample's constraint, of actual content, is not written)
    "TEST/gh-149.xml": "2.0: pysdmx requires key values in every cube region; the sample has a region of "
                       "attributes only",
    "v21/xml/VTL/VTL_Sample_1.xml": _PYSDMX_VTL,
    "v21/xml/VTL/VTL_Sample_2.xml": _PYSDMX_VTL,
    "v3/xml/VTL_Sample_1.xml": _PYSDMX_VTL,
    "v3/xml/VTL_Sample_2.xml": _PYSDMX_VTL,
    "v21/xml/VTL/VTL_Sample_3.xml": "a VTL mapping scheme of the sample has no name, which pysdmx requires",
    "v3/xml/VTL_Sample_3.xml": "a VTL mapping scheme of the sample has no name, which pysdmx requires",
    "v21/xml/query/response_demo_stub.xml": "pysdmx cannot read a data structure without components "
                                            "(the sample's DSD has none)",
}


@pytest.mark.samples
@pytest.mark.parametrize("version", ["2.0", "2.1"])
@pytest.mark.parametrize("name", structure_files())
def test_pysdmx_reads_samples(samples_dir, name, version):
    """pysdmx reads the SDMX-JSON 2.0.0 (and 2.1.0) of every sample into what the originals say,
    for what pysdmx models: identity and name, items (and nested categories), and each component's
    role, concept and enumeration."""
    artefacts = writable(version, own_artefacts(read_sdmx_ml(samples_dir / name)))
    if not artefacts:
        return
    body = WRITERS[version].structure_message([(a, "full") for a in artefacts], Header())
    reason = PYSDMX_CANNOT_READ.get(name)
    if reason is not None and not (reason.startswith("2.0: ") and version != "2.0"):
        with pytest.raises(Exception):
            read_sdmx(body.decode(), validate=False)
        return
    read = {(type(p).__name__, getattr(p.agency, "id", p.agency), p.id, p.version): p
            for p in read_sdmx(body.decode(), validate=False).structures if getattr(p, "id", None)}
    for a in artefacts:
        if type(a).__name__ in PYSDMX_CLASSES:
            p = read[PYSDMX_CLASSES[type(a).__name__], a.maintainer.id, a.id, str(a.version or "1.0")]
            assert pysdmx_view(p) == sdmx1_view(a), a


def test_pysdmx_reads_most_samples(samples_dir):
    assert len(PYSDMX_CANNOT_READ) < len(structure_files()) // 4


@pytest.mark.parametrize("version", ["2.0", "2.1"])
@pytest.mark.parametrize("folders", [("dsd", "codelists"), ("tests/content/dsd", "tests/content/codelists")])
def test_pysdmx_reads_project_content(version, folders):
    from sdmx_server.kinds import kind_of
    from tests.conftest import ROOT
    from tests.test_codec_samples import authored

    artefacts = writable(version, [a for a in authored(*(ROOT / f for f in folders))
                                   if kind_of(a).name != "metadataset"])
    body = WRITERS[version].structure_message([(a, "full") for a in artefacts], Header())
    read = {(type(p).__name__, getattr(p.agency, "id", p.agency), p.id, p.version): p
            for p in read_sdmx(body.decode(), validate=False).structures if getattr(p, "id", None)}
    compared = 0
    for a in artefacts:
        if type(a).__name__ in PYSDMX_CLASSES:
            p = read[PYSDMX_CLASSES[type(a).__name__], a.maintainer.id, a.id, str(a.version or "1.0")]
            assert pysdmx_view(p) == sdmx1_view(a), a
            compared += 1
    assert compared >= 8
