"""The SDMX-JSON structure reader: real messages in, stored forms out; hostile input refused.

The official SDMX-JSON 2.0 samples (v3/json/structure/) are read with `read_structure_message`.
`constructed-sample.json` (ECB exchange rates, mixing 1.0 members into a 2.0 message) reads
whole; every artefact's stored form is schema-valid, rebuilds to itself, and means what the
same artefacts built by sdmx1 from the SDMX-ML 2.1 version of that message mean.
`generated-sample.json` is generated from the schema with random values: most of its
artefacts read, the ones listed in GENERATED_INCONSISTENT contradict themselves and are
refused with an error naming the place. SDMX-JSON 1.0 shapes (DSD, constraint, HCL with
included codelists, MSD with targets) are read into the stored form too. Anything that is not
a message, or not a structure message, or has a wrong type anywhere, gives ValueError naming
the path, never another exception.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdmx_server.kinds import BY_NAME
from sdmx_server.registry.codec.core import DECODERS
from sdmx_server.registry.codec import CodecError, from_json, read_structure_message, references, to_json
from sdmx_server.registry.codec.message import collection_kind, message_version, normalise
from tests.model_compare import describe, differences
from tests.test_codec_samples import StoredRegistry, assert_schema_valid, own_artefacts, read_sdmx_ml

#: Artefacts of generated-sample.json that contradict themselves -> what the error says.
GENERATED_INCONSISTENT = {
    "dataStructures": "groupDimensions/0: no dimension 'a' in this structure",
    "codelists": "codes/0/parent: an item cannot be its own parent",
    "hierarchyAssociations": "contextObject: no artefact kind holds a MetadataAttributeDescriptor",
    "geoGridCodelists": "geoGridCodes/0/parent: no item 'H' in this scheme",
}


def sample(samples_dir, name: str) -> bytes:
    return (samples_dir / "v3" / "json" / "structure" / name).read_bytes()


def test_constructed_sample(samples_dir):
    out = read_structure_message(sample(samples_dir, "constructed-sample.json"))
    kinds = [k.name for k, _ in out]
    assert kinds == ["datastructure", "categoryscheme", "conceptscheme"] + ["codelist"] * 5 + [
        "agencyscheme", "dataflow", "categorisation", "dataconstraint"]
    registry = StoredRegistry(out)
    for kind, stored in out:
        assert_schema_valid(kind, stored)
        assert to_json(from_json(kind, stored, registry.resolve)) == stored
        assert "links" not in json.dumps(stored)
    dsd = out[0][1]
    # 1.0 members in a 2.0 message: assignmentStatus, textType, top-level isFinal
    attrs = dsd["dataStructureComponents"]["attributeList"]["attributes"]
    assert [a["usage"] for a in attrs] == ["mandatory", "optional"]
    assert attrs[0]["localRepresentation"]["format"] == {"dataType": "String", "minLength": 3, "maxLength": 3}
    assert references(dsd) == sorted({
        "urn:sdmx:org.sdmx.infomodel.conceptscheme.ConceptScheme=ECB:ECB_CONCEPTS(1.0)",
        *(f"urn:sdmx:org.sdmx.infomodel.codelist.Codelist=ECB:{cl}(1.0)"
          for cl in ("CL_OBS_CONF", "CL_FREQ", "CL_CURRENCY", "CL_EXR_TYPE", "CL_EXR_SUFFIX"))})


def test_constructed_sample_means_what_the_xml_says(samples_dir):
    """The JSON sample is the ECB message of ECB_EXR/1/structure-full.xml; the codelists both
    hold mean the same."""
    out = read_structure_message(sample(samples_dir, "constructed-sample.json"))
    xml = {a.id: a for a in own_artefacts(read_sdmx_ml(samples_dir / "ECB_EXR" / "1" / "structure-full.xml"))}
    compared = 0
    for kind, stored in out:
        if kind.name == "codelist" and stored["id"] in xml and len(stored.get("codes", [])) == len(xml[stored["id"]]):
            # the JSON sample calls its codelists partial, the XML does not: all else is the same
            original, built = describe(xml[stored["id"]]), describe(from_json(kind, stored, None))
            original.pop("partial"), built.pop("partial")
            assert differences(original, built) == []
            compared += 1
    assert compared >= 1


def test_generated_sample(samples_dir):
    data = json.loads(sample(samples_dir, "generated-sample.json"))
    assert message_version(data) == "2.0"
    read = 0
    for name, artefacts in data["data"].items():
        kind = collection_kind(name)
        for i, obj in enumerate(artefacts):
            if name in GENERATED_INCONSISTENT:
                with pytest.raises(CodecError) as err:
                    normalise(kind, obj, f"/data/{name}/{i}")
                assert str(err.value).startswith(f"/data/{name}/{i}/")
                assert GENERATED_INCONSISTENT[name] in str(err.value)
                continue
            stored = normalise(kind, obj, f"/data/{name}/{i}")
            if kind.name in DECODERS:
                assert to_json(from_json(kind, stored, None)) == stored
                read += 1
    assert read >= 20
    with pytest.raises(ValueError, match="^/data/dataStructures/0/"):
        read_structure_message(sample(samples_dir, "generated-sample.json"))


# -- SDMX-JSON 1.0 ------------------------------------------------------------------------------

CL = "urn:sdmx:org.sdmx.infomodel.codelist.Codelist"
CONCEPT = "urn:sdmx:org.sdmx.infomodel.conceptscheme.Concept=T:CS(1.0)"

MESSAGE_10 = {
    "meta": {"schema": "https://raw.githubusercontent.com/sdmx-twg/sdmx-json/master/structure-message/tools/"
                       "schemas/1.0/sdmx-json-structure-schema.json", "id": "M", "prepared": "2020-01-01T00:00:00Z"},
    "data": {
        "dataStructures": [{
            "id": "DSD", "agencyID": "T", "version": "1.0", "isFinal": True, "name": "DSD",
            "dataStructureComponents": {
                "dimensionList": {
                    "id": "DimensionDescriptor",
                    "dimensions": [{"id": "FREQ", "position": 1, "type": "Dimension", "conceptIdentity": f"{CONCEPT}.FREQ",
                                    "localRepresentation": {"enumeration": f"{CL}=T:CL_FREQ(1.0)"}}],
                    "measureDimensions": [{"id": "MEASURE", "position": 2, "conceptIdentity": f"{CONCEPT}.MEASURE",
                                           "localRepresentation": {
                                               "enumeration": "urn:sdmx:org.sdmx.infomodel.conceptscheme.ConceptScheme=T:CS_M(1.0)"}}],
                    "timeDimensions": [{"id": "TIME_PERIOD", "position": 3, "conceptIdentity": f"{CONCEPT}.TIME_PERIOD",
                                        "localRepresentation": {"textFormat": {"textType": "ObservationalTimePeriod"}}}],
                },
                "groups": [{"id": "G", "groupDimensions": ["FREQ"]}],
                "attributeList": {"id": "AttributeDescriptor", "attributes": [
                    {"id": "A1", "assignmentStatus": "Mandatory", "conceptIdentity": f"{CONCEPT}.A1",
                     "attributeRelationship": {"dimensions": ["FREQ"], "attachmentGroups": ["G"]}},
                    {"id": "A2", "assignmentStatus": "Conditional", "conceptIdentity": f"{CONCEPT}.A2",
                     "attributeRelationship": {"primaryMeasure": "OBS_VALUE"}},
                    {"id": "A3", "conceptIdentity": f"{CONCEPT}.A3", "attributeRelationship": {"none": {}}},
                ]},
                "measureList": {"id": "MeasureDescriptor", "primaryMeasure": {
                    "id": "OBS_VALUE", "conceptIdentity": f"{CONCEPT}.OBS_VALUE",
                    "localRepresentation": {"textFormat": {"textType": "Double"}}}},
            },
        }],
        "contentConstraints": [{
            "id": "CC", "agencyID": "T", "version": "1.0", "name": "CC", "type": "Actual",
            "constraintAttachment": {"dataStructures": ["urn:sdmx:org.sdmx.infomodel.datastructure.DataStructure=T:DSD(1.0)"]},
            "cubeRegions": [{"isIncluded": False, "keyValues": [{"id": "FREQ", "values": ["A"], "cascadeValues": ["M"]}],
                             "attributes": [{"id": "A1", "values": ["x"]}]}],
            "dataKeySets": [{"isIncluded": True, "keys": [{"keyValues": [{"id": "FREQ", "value": "Q"}]}]}],
        }],
        "hierarchicalCodelists": [{
            "id": "HCL", "agencyID": "T", "version": "1.0", "name": "HCL",
            "includedCodelists": {"AL": f"{CL}=T:CL_FREQ(1.0)"},
            "hierarchies": [{"id": "H", "name": "H", "leveled": True,
                             "level": {"id": "L1", "name": "Level 1", "level": {"id": "L2", "name": "Level 2"}},
                             "hierarchicalCodes": [{"id": "HC1", "codeID": "A", "codelistAliasRef": "AL",
                                                    "level": "urn:sdmx:org.sdmx.infomodel.codelist.Level=T:HCL(1.0).H.L1",
                                                    "hierarchicalCodes": [{"id": "HC2", "code": f"{CL[:-8]}Code=T:CL_FREQ(1.0).M",
                                                                           "level": "L2"}]}]}],
        }],
        "metadataStructures": [{
            "id": "MSD", "agencyID": "T", "version": "1.0", "name": "MSD",
            "metadataStructureComponents": {
                "metadataTargets": [{"id": "TARGET", "identifiableObjectTargets": [
                    {"id": "FLOW", "objectType": "Dataflow",
                     "localRepresentation": {"textFormat": {"textType": "IdentifiableReference"}}}],
                    "reportPeriodTargets": [{"id": "PERIOD"}]}],
                "reportStructures": [{"id": "REPORT", "metadataTargets": [
                    "urn:sdmx:org.sdmx.infomodel.metadatastructure.MetadataTarget=T:MSD(1.0).TARGET"],
                    "metadataAttributes": [{"id": "CONTACT", "isPresentational": True, "conceptIdentity": f"{CONCEPT}.CONTACT",
                                            "metadataAttributes": [{"id": "NAME", "conceptIdentity": f"{CONCEPT}.NAME",
                                                                    "maxOccurs": "unbounded", "minOccurs": 0}]}]}],
            },
        }],
    },
}


def test_sdmx_json_10():
    assert message_version(MESSAGE_10) == "1.0"
    out = dict((k.name, o) for k, o in read_structure_message(json.dumps(MESSAGE_10).encode()))
    registry = StoredRegistry(list((BY_NAME[k], o) for k, o in out.items()))
    for name, stored in out.items():
        assert to_json(from_json(BY_NAME[name], stored, registry.resolve)) == stored
        assert_schema_valid(BY_NAME[name], stored)

    dsd = out["datastructure"]
    assert dsd["x-sdmx"] == {"isFinal": True, "measureDimensions": {"MEASURE": {"localRepresentation": {
        "enumeration": "urn:sdmx:org.sdmx.infomodel.conceptscheme.ConceptScheme=T:CS_M(1.0)"}}},
        "attachmentGroups": {"A1": "G"}}
    comps = dsd["dataStructureComponents"]
    assert [d["id"] for d in comps["dimensionList"]["dimensions"]] == ["FREQ", "MEASURE"]
    assert comps["dimensionList"]["timeDimension"]["localRepresentation"] == {"format": {"dataType": "ObservationalTimePeriod"}}
    assert [(a.get("usage"), a["attributeRelationship"]) for a in comps["attributeList"]["attributes"]] == [
        ("mandatory", {"dimensions": ["FREQ"]}), ("optional", {"observation": {}}), (None, {"dataflow": {}})]
    assert comps["measureList"]["measures"][0]["id"] == "OBS_VALUE"

    cc = out["dataconstraint"]
    assert cc["role"] == "Actual"
    region = cc["cubeRegions"][0]
    assert region["include"] is False
    assert region["components"] == [{"id": "A1", "values": ["x"]}]
    assert region["keyValues"] == [{"id": "FREQ", "values": ["A", {"value": "M", "cascadeValues": True}]}]
    # the constrained components are the DSD's own, found through the registry
    built = from_json(BY_NAME["dataconstraint"], cc, registry.resolve)
    dsd_model = registry.resolve("urn:sdmx:org.sdmx.infomodel.datastructure.DataStructure=T:DSD(1.0)")
    assert next(iter(built.data_content_region[0].member)) is dsd_model.attributes.get("A1")

    hcl = out["hierarchicalcodelist"]
    code = hcl["hierarchies"][0]["hierarchicalCodes"][0]
    assert code["code"] == "urn:sdmx:org.sdmx.infomodel.codelist.Code=T:CL_FREQ(1.0).A"
    assert code["level"] == "L1" and code["hierarchicalCodes"][0]["level"] == "L2"
    assert references(hcl) == [f"{CL}=T:CL_FREQ(1.0)"]

    msd = out["metadatastructure"]
    attrs = msd["metadataStructureComponents"]["metadataAttributeList"]["metadataAttributes"]
    assert attrs[0]["id"] == "CONTACT" and attrs[0]["metadataAttributes"][0]["maxOccurs"] == "unbounded"
    assert msd["x-sdmx"]["metadataTargets"][0]["targetObjects"] == [
        {"type": "IdentifiableObjectTarget", "id": "FLOW", "objectType": "Dataflow",
         "localRepresentation": {"format": {"dataType": "IdentifiableReference"}}},
        {"type": "ReportPeriodTarget", "id": "PERIOD"}]
    assert msd["x-sdmx"]["reportStructures"] == [{"id": "REPORT", "metadataTargets": ["TARGET"]}]


def test_sdmx_json_21_members():
    """2.1 adds members the stored form does not need; they are read and left."""
    message = {"meta": {"schema": "https://json.sdmx.org/2.1/sdmx-json-structure-schema.json", "id": "M",
                        "prepared": "2024-01-01", "sender": {"id": "S"}},
               "data": {"codelists": [{"id": "CL", "agencyID": "T", "version": "1.0.0", "name": "CL",
                                       "isPartialLanguage": True, "links": [{"rel": "self", "urn": f"{CL}=T:CL(1.0.0)"}],
                                       "codes": [{"id": "A", "name": "A"}]}],
                        "availabilityConstraints": [{"id": "AC"}]}}
    assert message_version(message) == "2.1"
    [(kind, stored)] = read_structure_message(json.dumps(message).encode())
    assert stored == {"id": "CL", "version": "1.0.0", "agencyID": "T", "name": "CL", "names": {"en": "CL"},
                      "codes": [{"id": "A", "name": "A", "names": {"en": "A"}}]}


# -- hostile input ----------------------------------------------------------------------------

BAD_MESSAGES = [
    (b"", "not JSON"),
    (b"{", "not JSON"),
    (b"[]", "an SDMX-JSON message is an object"),
    (b"{}", "it has no 'data'"),
    (b'{"errors": [{"code": 404}]}', "reports errors"),
    (b'{"data": []}', "/data: expected an object"),
    (b'{"data": {"dataSets": []}}', "a data message"),
    (b'{"data": {"codelists": {}}}', "/data/codelists: expected an array"),
    (b'{"data": {"widgets": []}}', "/data/widgets: not a collection"),
    (b'{"data": {"codelists": [1]}}', "/data/codelists/0: expected an object"),
    (b'{"data": {"codelists": [{"agencyID": "A"}]}}', "/data/codelists/0: 'id' is missing"),
    (b'{"data": {"codelists": [{"id": "CL"}]}}', "/data/codelists/0: 'agencyID' is missing"),
    (b'{"data": {"codelists": [{"id": "C L", "agencyID": "A"}]}}', "/data/codelists/0/id: not a valid SDMX id"),
    (b'{"data": {"codelists": [{"id": "CL", "agencyID": "A", "names": []}]}}', "/data/codelists/0/names: expected an object"),
    (b'{"data": {"codelists": [{"id": "CL", "agencyID": "A", "codes": [{"id": "X", "names": {"en": 1}}]}]}}',
     "/data/codelists/0/codes/0/names/en: expected a string"),
    (b'{"data": {"codelists": [{"id": "CL", "agencyID": "A", "codes": [{"id": "X"}, {"id": "X"}]}]}}',
     "/data/codelists/0/codes/1/id: duplicate item id"),
    (b'{"data": {"codelists": [{"id": "CL", "agencyID": "A", "codes": [{"id": "X", "parent": "Y"}, {"id": "Y", "parent": "X"}]}]}}',
     "form a cycle"),
    (b'{"data": {"dataflows": [{"id": "DF", "agencyID": "A", "structure": "urn:nonsense"}]}}',
     "/data/dataflows/0/structure: not an SDMX URN"),
    (b'{"data": {"dataflows": [{"id": "DF", "agencyID": "A", "structure": 5}]}}',
     "/data/dataflows/0/structure: expected a URN"),
    (b'{"data": {"dataStructures": [{"id": "D", "agencyID": "A", "dataStructureComponents": {"dimensionList": {"dimensions": [{"id": "X", "localRepresentation": {"format": {"dataType": "Widget"}}}]}}}]}}',
     "unknown data type 'Widget'"),
    (b'{"data": {"dataConstraints": [{"id": "C", "agencyID": "A", "role": "Maybe"}]}}', "/data/dataConstraints/0/role"),
    (b'{"data": {"codelists": [{"id": "CL", "agencyID": "A", "x-sdmx": []}]}}', "/data/codelists/0/x-sdmx: expected an object"),
]


@pytest.mark.parametrize("data, message", BAD_MESSAGES, ids=[m for _, m in BAD_MESSAGES])
def test_bad_messages(data, message):
    with pytest.raises(ValueError) as err:
        read_structure_message(data)
    assert message in str(err.value)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
    | st.sampled_from(["urn:sdmx:org.sdmx.infomodel.codelist.Codelist=A:B(1.0)", "A", "1.0", "en", "Mandatory"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["id", "agencyID", "version", "name", "names", "codes", "parent", "concepts", "annotations",
                         "dataStructureComponents", "dimensionList", "dimensions", "attributeList", "attributes",
                         "localRepresentation", "format", "enumeration", "conceptIdentity", "cubeRegions",
                         "keyValues", "values", "timeRange", "structure", "x-sdmx", "isFinal", "texts", "links",
                         "hierarchicalCodes", "level", "categories", "contacts", "role", "constraintAttachment"]),
        children, max_size=5),
    max_leaves=25,
)
COLLECTIONS = ["codelists", "conceptSchemes", "dataStructures", "dataflows", "dataConstraints", "categorySchemes",
               "hierarchies", "hierarchicalCodelists", "metadataStructures", "agencySchemes", "valueLists",
               "vtlMappingSchemes", "structureSets", "categorisations", "metadataSets"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(collection=st.sampled_from(COLLECTIONS), artefact=JSON)
def test_junk_gives_value_error_only(collection, artefact):
    if isinstance(artefact, dict):
        artefact.setdefault("id", "X")
        artefact.setdefault("agencyID", "A")
    data = json.dumps({"data": {collection: [artefact]}}).encode()
    try:
        out = read_structure_message(data)
    except ValueError:
        return
    for kind, stored in out:  # what reads is a stored form that rebuilds to itself
        assert to_json(from_json(kind, stored, None)) == stored


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=64))
def test_junk_bytes(data):
    try:
        read_structure_message(data)
    except ValueError:
        pass


# -- valid stored forms, broken in one place --------------------------------------------------

def _stored_forms() -> list[tuple]:
    from sdmx_server.kinds import BY_NAME as kinds
    from tests.test_codec_units import CONSTRAINT, DSD

    forms = [(kinds["datastructure"], DSD), (kinds["dataconstraint"], CONSTRAINT)]
    forms += [(kinds[k.name], o) for k, o in read_structure_message(json.dumps(MESSAGE_10).encode())]
    return forms


STORED = _stored_forms()


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_one_broken_member_gives_value_error_only(data):
    kind, stored = data.draw(st.sampled_from(STORED))
    obj = json.loads(json.dumps(stored))
    path = data.draw(st.sampled_from(list(_paths(obj))[1:]))
    parent = obj
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = data.draw(JSON)
    try:
        built = from_json(kind, obj, None)
    except ValueError:
        return
    stored_again = to_json(built)
    assert to_json(from_json(kind, stored_again, None)) == stored_again


def test_deep_nesting():
    def scheme(depth: int) -> dict:
        top = node = {"id": "C0", "name": "c"}
        for i in range(1, depth):
            child = {"id": f"C{i}", "name": "c"}
            node["categories"] = [child]
            node = child
        return {"id": "CS", "agencyID": "A", "name": "n", "categories": [top]}

    kind = BY_NAME["categoryscheme"]
    built = from_json(kind, scheme(300), None)
    assert built.items["C299"].hierarchical_id.count(".") == 299
    with pytest.raises(ValueError, match="nested too deeply"):
        from_json(kind, scheme(5000), None)
