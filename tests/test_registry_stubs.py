"""External-reference stubs give way to the full artefacts, and what a DSD uses is the registry's own.

Issue 5 promised that a full artefact loaded later replaces a stub. Two things kept the ECB
samples' DSDs on stubs (so the server refused their data, ingest/load.py `stub_references`):
- an item scheme sent as a partial scheme (isPartial="true", as SDMX:CROSS_DOMAIN_CONCEPTS is)
  was merged into the stored stub, and the merge kept the stub's isExternalReference: the
  artefact stayed a stub whatever was loaded after;
- a concept with a parent concept (CONF_STATUS under CONF) is referred to by its own id, as
  every item of a scheme whose URNs do not nest (all but categories and reporting categories);
  the codec looked for it at CONF.CONF_STATUS, missed it, and gave the DSD a private
  external-reference stub of the scheme in its place.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sdmx_server.ingest.load import stub_references
from sdmx_server.registry import codec
from sdmx_server.registry.index import Registry
from sdmx_server.registry.load import load_structures
from sdmx_server.registry.store import read_all
from sdmx_server.settings import Settings
from tests.test_registry import message

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

CS_URN = "urn:sdmx:org.sdmx.infomodel.conceptscheme.Concept=SDMX:CROSS(1.0)"


def concepts(*, stub: bool = False, partial: bool = False) -> str:
    """SDMX:CROSS(1.0): CONF, and CONF_STATUS whose parent is CONF (as in SDMX's cross-domain
    concepts); as an external-reference stub it lists no concept."""
    flags = (' isExternalReference="true"' if stub else "") + (' isPartial="true"' if partial else "")
    items = "" if stub else (
        '<str:Concept id="CONF"><com:Name xml:lang="en">Confidentiality</com:Name></str:Concept>'
        '<str:Concept id="CONF_STATUS"><com:Name xml:lang="en">Confidentiality - status</com:Name>'
        '<str:Parent><Ref id="CONF"/></str:Parent></str:Concept>'
        '<str:Concept id="OBS_VALUE"><com:Name xml:lang="en">Value</com:Name></str:Concept>'
        '<str:Concept id="TIME_PERIOD"><com:Name xml:lang="en">Time</com:Name></str:Concept>'
        '<str:Concept id="FREQ"><com:Name xml:lang="en">Frequency</com:Name></str:Concept>'
    )
    return (f'<str:Concepts><str:ConceptScheme id="CROSS" agencyID="SDMX" version="1.0"{flags}>'
            f'<com:Name xml:lang="en">Cross-domain concepts</com:Name>{items}</str:ConceptScheme></str:Concepts>')


def dsd() -> str:
    def concept(cid: str) -> str:
        return f"<str:ConceptIdentity><URN>{CS_URN}.{cid}</URN></str:ConceptIdentity>"

    return (
        '<str:DataStructures><str:DataStructure id="DSD" agencyID="T" version="1.0">'
        '<com:Name xml:lang="en">DSD</com:Name><str:DataStructureComponents>'
        f'<str:DimensionList id="DimensionDescriptor"><str:Dimension id="FREQ" position="1">{concept("FREQ")}'
        '</str:Dimension>'
        f'<str:TimeDimension id="TIME_PERIOD" position="2">{concept("TIME_PERIOD")}'
        '<str:LocalRepresentation><str:TextFormat textType="ObservationalTimePeriod"/></str:LocalRepresentation>'
        '</str:TimeDimension></str:DimensionList>'
        f'<str:AttributeList id="AttributeDescriptor"><str:Attribute id="CONF_STATUS_OBS" '
        f'assignmentStatus="Conditional">{concept("CONF_STATUS")}<str:AttributeRelationship><str:PrimaryMeasure>'
        '<Ref id="OBS_VALUE"/></str:PrimaryMeasure></str:AttributeRelationship></str:Attribute></str:AttributeList>'
        f'<str:MeasureList id="MeasureDescriptor"><str:PrimaryMeasure id="OBS_VALUE">{concept("OBS_VALUE")}'
        '</str:PrimaryMeasure></str:MeasureList>'
        '</str:DataStructureComponents></str:DataStructure></str:DataStructures>'
    )


def _load(db, tmp_path: Path, name: str, structures: str, **options):
    path = tmp_path / name
    path.write_text(message(structures), encoding="utf-8")
    outcome = load_structures(db, [path], Settings(database_url=str(db.url)), **options)
    assert outcome.ok, outcome.errors
    return outcome


def _registry(db) -> Registry:
    return Registry.build(*read_all(db))


def _cross_domain_concepts_used(registry: Registry) -> set[int]:
    """The identities of the concept scheme objects the DSD's components take concepts from."""
    model = registry.get("datastructure", "T", "DSD", "1.0")
    return {id(c.concept_identity.get_scheme())
            for name in ("dimensions", "attributes", "measures") for c in getattr(model, name).components}


@pytest.mark.parametrize("partial", [False, True], ids=["whole", "partial"])
@pytest.mark.parametrize("stub_from", ["message", "missing-reference"])
def test_a_full_scheme_replaces_the_stub_whole(db, tmp_path, partial, stub_from):
    """The stub came in the message (isExternalReference="true") or was recorded for a missing
    reference (--allow-missing-references); the full scheme, partial or not, replaces it."""
    if stub_from == "message":
        _load(db, tmp_path, "stub.xml", concepts(stub=True) + dsd())
    else:
        assert _load(db, tmp_path, "dsd.xml", dsd(), allow_missing_references=True).stubs == [
            "conceptscheme SDMX:CROSS(1.0)"]
    registry = _registry(db)
    assert registry.entry("conceptscheme", "SDMX", "CROSS", "1.0").is_stub
    assert stub_references(registry.get("datastructure", "T", "DSD", "1.0")) == ["ConceptScheme SDMX:CROSS(1.0)"]

    _load(db, tmp_path, "full.xml", concepts(partial=partial))
    registry = _registry(db)
    entry = registry.entry("conceptscheme", "SDMX", "CROSS", "1.0")
    assert not entry.is_stub
    assert "isExternalReference" not in entry.json()
    scheme = registry.model(entry)
    assert not scheme.is_external_reference
    assert list(scheme.items) == ["CONF", "CONF_STATUS", "OBS_VALUE", "TIME_PERIOD", "FREQ"]
    assert bool(entry.json().get("isPartial")) is partial
    assert stub_references(registry.get("datastructure", "T", "DSD", "1.0")) == []
    # A stub sent again changes nothing.
    again = _load(db, tmp_path, "stub-again.xml", concepts(stub=True))
    assert again.unchanged == ["conceptscheme SDMX:CROSS(1.0)"]
    assert not _registry(db).entry("conceptscheme", "SDMX", "CROSS", "1.0").is_stub


def test_a_concept_with_a_parent_is_found_by_its_id(db, tmp_path):
    """CONF_STATUS (parent CONF) is the registry's concept, in the registry's scheme: the DSD
    uses no private stub, and writes its URN back as given."""
    _load(db, tmp_path, "all.xml", concepts() + dsd())
    registry = _registry(db)
    scheme = registry.get("conceptscheme", "SDMX", "CROSS", "1.0")
    model = registry.get("datastructure", "T", "DSD", "1.0")
    attribute = model.attributes.get("CONF_STATUS_OBS")
    assert attribute.concept_identity is scheme.items["CONF_STATUS"]
    assert attribute.concept_identity.parent is scheme.items["CONF"]
    assert _cross_domain_concepts_used(registry) == {id(scheme)}
    assert stub_references(model) == []
    written = codec.to_json(model)
    identities = [a["conceptIdentity"] for a in written["dataStructureComponents"]["attributeList"]["attributes"]]
    assert identities == [f"{CS_URN}.CONF_STATUS"]


def test_a_nested_category_is_still_found_only_by_its_path():
    """Categories nest in URNs: B under A is A.B, and a bare B is not it (kept in a stub)."""
    from sdmx.model import common

    from sdmx_server.registry.codec.core import find_item

    scheme = common.CategoryScheme(id="CAT", maintainer=common.Agency(id="T"), version="1.0")
    a = common.Category(id="A")
    b = common.Category(id="B")
    a.append_child(b)
    scheme.append(a)
    scheme.append(b)
    assert find_item(scheme, "A.B") is b
    assert find_item(scheme, "B") is None
    concepts_scheme = common.ConceptScheme(id="C", maintainer=common.Agency(id="T"), version="1.0")
    parent, child = common.Concept(id="P"), common.Concept(id="CH")
    parent.append_child(child)
    concepts_scheme.append(parent)
    concepts_scheme.append(child)
    assert find_item(concepts_scheme, "CH") is child
