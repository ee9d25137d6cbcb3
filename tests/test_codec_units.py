"""The codec on what the samples do not hold, and its contracts.

Stored forms written by hand (SDMX-JSON 2.0 objects) for every feature the real messages lack
(time ranges and key sets in constraints, several measures, measure relationships, metadata
attribute usages, metadata sets, hierarchy associations, geographic codelists, codelist
extensions, VTL mappings...) must be schema-valid, build the model the docs promise, and
write back unchanged. The resolver contract (wildcard URNs passed through, stubs of the right
class, items kept in stubs, the registry's own schemes never changed), the fast item
construction, stub_json, the comparison's strictness and the speed on a 50,000-code codelist
are checked here too.
"""

from __future__ import annotations

import copy
import json
import time

import pytest
from sdmx.model import common, v21, v30

from sdmx_server.kinds import BY_NAME
from sdmx_server.registry.codec import CodecError, from_json, references, stub_json, to_json
from sdmx_server.registry.codec.items import new_item
from tests.model_compare import assert_same_artefact, describe, differences
from tests.test_codec_samples import StoredRegistry, assert_schema_valid, check_artefact

URN = "urn:sdmx:org.sdmx.infomodel"
CS = f"{URN}.conceptscheme.Concept=T:CS(1.0)"
CL = f"{URN}.codelist.Codelist"


def roundtrip(kind_name: str, stored: dict, resolve=None):
    kind = BY_NAME[kind_name]
    assert_schema_valid(kind, stored) if kind.json20 or kind.json10 else None
    model = from_json(kind, copy.deepcopy(stored), resolve)
    assert to_json(model) == stored
    return model


def header(artefact_id: str, **more) -> dict:
    return {"id": artefact_id, "version": "1.0", "agencyID": "T", "name": artefact_id, "names": {"en": artefact_id},
            **more}


# -- data structures --------------------------------------------------------------------------

DSD = header(
    "DSD",
    dataStructureComponents={
        "attributeList": {"id": "AttributeDescriptor", "attributes": [
            {"id": "UNIT", "usage": "mandatory", "attributeRelationship": {"dimensions": ["FREQ", "REF_AREA"],
                                                                           "areDimensionsOptional": [False, True]},
             "measureRelationship": ["M1"], "conceptIdentity": f"{CS}.UNIT",
             "conceptRoles": [f"{CS}.ROLE1", f"{CS}.ROLE2"],
             "localRepresentation": {"enumeration": f"{CL}=T:CL_UNIT(1.0+.0)", "minOccurs": 0, "maxOccurs": "unbounded"}},
            {"id": "TITLE", "usage": "optional", "attributeRelationship": {"group": "G"}, "conceptIdentity": f"{CS}.TITLE",
             "localRepresentation": {"format": {"dataType": "String", "maxLength": 200, "isMultiLingual": True}}},
            {"id": "COMMENT", "attributeRelationship": {"dataflow": {}}, "conceptIdentity": f"{CS}.COMMENT"},
        ], "metadataAttributeUsages": [
            {"metadataAttributeReference": "CONTACT", "attributeRelationship": {"observation": {}}}]},
        "dimensionList": {"id": "DimensionDescriptor", "dimensions": [
            {"id": "FREQ", "position": 1, "conceptIdentity": f"{CS}.FREQ",
             "localRepresentation": {"enumeration": f"{CL}=T:CL_FREQ(1.0)",
                                     "enumerationFormat": {"dataType": "AlphaNumeric", "maxLength": 1}}},
            {"id": "REF_AREA", "position": 2, "conceptIdentity": f"{CS}.REF_AREA",
             "localRepresentation": {"format": {"dataType": "String", "pattern": "[A-Z]{2}", "minLength": 2}}},
        ], "timeDimension": {"id": "TIME_PERIOD", "conceptIdentity": f"{CS}.TIME_PERIOD", "localRepresentation": {
            "format": {"dataType": "ObservationalTimePeriod", "startTime": "2000-01", "endTime": "2030-12"}}}},
        "groups": [{"id": "G", "groupDimensions": ["REF_AREA"]}],
        "measureList": {"id": "MeasureDescriptor", "measures": [
            {"id": "M1", "usage": "mandatory", "conceptIdentity": f"{CS}.M1",
             "localRepresentation": {"format": {"dataType": "Decimal", "decimals": 2, "minValue": -1.5, "maxValue": 1000,
                                                "isSequence": False, "interval": 0.5}}},
            {"id": "M2", "conceptIdentity": f"{CS}.M2",
             "localRepresentation": {"format": {"dataType": "Integer", "startValue": 1, "endValue": 10,
                                                "timeInterval": "P1D", "sentinelValues": [{"value": -1, "name": "Missing"}]}}},
        ]},
    },
    metadata=f"{URN}.metadatastructure.MetadataStructure=T:MSD(1.0)",
)


def test_dsd_features():
    dsd = roundtrip("datastructure", DSD)
    assert isinstance(dsd, v30.DataStructureDefinition)
    unit, title, comment, mau = dsd.attributes.components
    assert unit.usage_status is common.UsageStatus.mandatory and title.usage_status is common.UsageStatus.conditional
    assert [d.id for d in unit.related_to.dimensions] == ["FREQ", "REF_AREA"]
    assert unit.related_to.are_dimensions_optional == [False, True]
    assert unit.measure_relationship == ["M1"]
    assert unit.concept_role.id == "ROLE1" and [c.id for c in unit.concept_roles] == ["ROLE1", "ROLE2"]
    assert unit.local_representation.min_occurs == 0 and unit.local_representation.max_occurs == "unbounded"
    # a wildcard version is kept as written (the registry resolves it)
    assert unit.local_representation.enumerated.version == "1.0+.0"
    assert isinstance(title.related_to, common.GroupRelationship) and title.related_to.group_key is dsd.group_dimensions["G"]
    assert isinstance(comment.related_to, v30.DataflowRelationship)
    assert isinstance(mau, v30.MetadataAttributeUsage) and isinstance(mau.related_to, v30.ObservationRelationship)
    assert [type(d).__name__ for d in dsd.dimensions.components] == ["Dimension", "Dimension", "TimeDimension"]
    assert [d.order for d in dsd.dimensions.components] == [1, 2, 3]
    m1, m2 = dsd.measures.components
    facet = m1.local_representation.non_enumerated[0]
    assert facet.value_type is common.FacetValueType.decimal
    assert (facet.type.decimals, facet.type.min_value, facet.type.max_value, facet.type.is_sequence) == (2, -1.5, 1000, False)
    assert m2.local_representation.non_enumerated[0].type.sentinel_values == [{"value": -1, "name": "Missing"}]
    assert dsd.metadata.is_external_reference and dsd.metadata.id == "MSD"
    assert references(DSD) == sorted([f"{URN}.conceptscheme.ConceptScheme=T:CS(1.0)", f"{CL}=T:CL_FREQ(1.0)",
                                       f"{CL}=T:CL_UNIT(1.0+.0)", f"{URN}.metadatastructure.MetadataStructure=T:MSD(1.0)"])


def test_dsd_metadata_attribute_usage_links_the_msd():
    msd = header("MSD", metadataStructureComponents={"metadataAttributeList": {
        "id": "MetadataAttributeDescriptor", "metadataAttributes": [{"id": "CONTACT", "conceptIdentity": f"{CS}.CONTACT"}]}})
    registry = StoredRegistry([(BY_NAME["metadatastructure"], msd), (BY_NAME["datastructure"], DSD)])
    dsd = registry.resolve(f"{URN}.datastructure.DataStructure=T:DSD(1.0)")
    mau = dsd.attributes.components[-1]
    assert mau.metadata_attribute is dsd.metadata.attributes.components[0]


def test_v21_dsd_built_in_code():
    """As the authoring reader builds them: v21 classes, with what 3.0 says otherwise."""
    cs = common.ConceptScheme(id="CS", version="1.0", maintainer=common.Agency(id="T"), name={"en": "Concepts"})
    for cid in ("FREQ", "MEASURE", "TIME_PERIOD", "OBS_VALUE", "A1", "A2", "A3", "RYSD"):
        cs.append(common.Concept(id=cid, name={"en": cid}))
    cl = common.Codelist(id="CL_FREQ", version="1.0", maintainer=common.Agency(id="T"), name={"en": "Freq"})
    measures = common.ConceptScheme(id="CS_M", version="1.0", maintainer=common.Agency(id="T"), name={"en": "M"})
    dsd = v21.DataStructureDefinition(id="DSD", version="1.0", maintainer=common.Agency(id="T"), name={"en": "DSD"},
                                      is_final=True)
    freq = common.Dimension(id="FREQ", concept_identity=cs["FREQ"], local_representation=common.Representation(enumerated=cl))
    md = v21.MeasureDimension(id="MEASURE", concept_identity=cs["MEASURE"],
                              local_representation=common.Representation(enumerated=measures))
    time_dim = common.TimeDimension(id="TIME_PERIOD", concept_identity=cs["TIME_PERIOD"], local_representation=
                                    common.Representation(non_enumerated=[common.Facet(
                                        value_type=common.FacetValueType.observationalTimePeriod)]))
    for d in (freq, time_dim, md):  # the time dimension in the middle
        dsd.dimensions.append(d)
    group = common.GroupDimensionDescriptor(id="G", components=[freq])
    dsd.group_dimensions["G"] = group
    dsd.attributes.append(common.DataAttribute(id="A1", concept_identity=cs["A1"], usage_status=common.UsageStatus.mandatory,
                                               related_to=common.DimensionRelationship(dimensions=[freq], group_key=group)))
    dsd.attributes.append(common.DataAttribute(id="A2", concept_identity=cs["A2"], related_to=v21.NoSpecifiedRelationship()))
    dsd.attributes.append(common.DataAttribute(id="A3", concept_identity=cs["A3"], related_to=v21.PrimaryMeasureRelationship()))
    dsd.attributes.append(v21.ReportingYearStartDay(id="RYSD", concept_identity=cs["RYSD"],
                                                    related_to=v21.NoSpecifiedRelationship()))
    dsd.measures.append(v21.PrimaryMeasure(id="OBS_VALUE", concept_identity=cs["OBS_VALUE"]))
    registry = StoredRegistry([(BY_NAME["conceptscheme"], to_json(cs)), (BY_NAME["codelist"], to_json(cl))])
    stored = check_artefact(dsd, registry)
    assert stored["x-sdmx"] == {"isFinal": True, "measureDimensions": {"MEASURE": {"localRepresentation": {
        "enumeration": f"{URN}.conceptscheme.ConceptScheme=T:CS_M(1.0)"}}}, "timeDimensionPosition": 2,
        "attachmentGroups": {"A1": "G"}}
    built = from_json(BY_NAME["datastructure"], stored, registry.resolve)
    assert [type(d) for d in built.dimensions.components] == [common.Dimension, common.TimeDimension, v21.MeasureDimension]
    assert built.is_final is True
    assert built.dimensions.components[0].concept_identity is registry.models[
        f"{URN}.conceptscheme.ConceptScheme=T:CS(1.0)"]["FREQ"]


# -- constraints ------------------------------------------------------------------------------

CONSTRAINT = header(
    "CC", role="Actual",
    constraintAttachment={"dataflows": [f"{URN}.datastructure.Dataflow=T:DF(1.0)"]},
    releaseCalendar={"offset": "P1D", "periodicity": "P1M", "tolerance": "P2D"},
    dataKeySets=[{"isIncluded": False, "keys": [
        {"keyValues": [{"id": "FREQ", "value": "A"}, {"id": "REF_AREA", "value": "FR"}], "validFrom": "2020-01-01T00:00:00Z"}]}],
    cubeRegions=[
        {"components": [{"id": "UNIT", "values": ["EUR"]}],
         "keyValues": [{"id": "FREQ", "removePrefix": True, "values": ["A", {"value": "M", "cascadeValues": "excluderoot"},
                                                                       {"value": "Q", "validFrom": "2020-01-01"}]},
                       {"id": "TIME_PERIOD", "timeRange": {"startPeriod": {"period": "2000-01-01", "isInclusive": True},
                                                           "endPeriod": {"period": "2010-12-31", "isInclusive": False}}}]},
        {"include": False, "keyValues": [{"id": "REF_AREA", "include": False, "values": ["XX"]},
                                         {"id": "TIME_PERIOD", "timeRange": {"afterPeriod": {"period": "2020", "isInclusive": True}}}]},
    ],
)


def test_constraint_features():
    df = header("DF", structure=f"{URN}.datastructure.DataStructure=T:DSD(1.0)")
    registry = StoredRegistry([(BY_NAME["datastructure"], DSD), (BY_NAME["dataflow"], df)])
    c = roundtrip("dataconstraint", CONSTRAINT, registry.resolve)
    assert c.role.role is common.ConstraintRoleType.actual
    assert c.release_calendar == {"offset": "P1D", "periodicity": "P1M", "tolerance": "P2D"}
    dsd = registry.models[f"{URN}.datastructure.DataStructure=T:DSD(1.0)"]
    first, second = c.data_content_region
    members = list(first.member.values())
    assert members[0].values_for is dsd.attributes.get("UNIT")
    assert members[1].values_for is dsd.dimensions.get("FREQ") and members[1].remove_prefix is True
    assert [(v.value, v.cascade_values, v.valid_from) for v in members[1].values] == [
        ("A", None, None), ("M", "excluderoot", None), ("Q", None, "2020-01-01")]
    period = members[2].values[0]
    assert isinstance(period, v30.RangePeriod) and period.start.period == "2000-01-01" and period.end.is_inclusive is False
    assert second.included is False and list(second.member.values())[0].included is False
    assert isinstance(list(second.member.values())[1].values[0], v30.AfterPeriod)
    keys = c.data_content_keys
    assert keys.included is False
    assert [(k.id, v.value) for k, v in keys.keys[0].key_value.items()] == [("FREQ", "A"), ("REF_AREA", "FR")]
    assert references(CONSTRAINT) == [f"{URN}.datastructure.Dataflow=T:DF(1.0)"]


def test_constraint_on_a_structure_not_held():
    c = roundtrip("dataconstraint", CONSTRAINT, lambda urn: None)
    members = list(c.data_content_region[0].member)
    assert [(type(m).__name__, m.id) for m in members] == [("DataAttribute", "UNIT"), ("Dimension", "FREQ"),
                                                            ("Dimension", "TIME_PERIOD")]


# -- item schemes -----------------------------------------------------------------------------


def test_codelist_extension_and_parents():
    cl = roundtrip("codelist", header(
        "CL", isPartial=True,
        codes=[{"id": "B", "name": "B", "names": {"en": "B", "fa": "ب"}, "parent": "A"}, {"id": "A", "name": "A", "names": {"en": "A"},
                                                                                      "annotations": [{"id": "x", "value": "1"}]}],
        codelistExtensions=[
            {"prefix": "P_", "codelist": f"{CL}=T:BASE(1.0)",
             "inclusiveCodeSelection": {"wildcardedMemberValues": ["A%"], "memberValues": ["X", {"value": "Y", "cascadeValues": True}]}},
            {"codelist": f"{CL}=T:OTHER(1.0)", "exclusiveCodeSelection": {"memberValues": ["Z"]}},
        ]))
    assert cl.items["B"].parent is cl.items["A"] and cl.items["A"].child == [cl.items["B"]] and cl.items["A"].parent is cl
    assert cl.is_partial is True
    inc, exc = cl.extends
    assert inc.prefix == "P_" and isinstance(inc.selection, v30.InclusiveCodeSelection)
    assert [(m.value, m.cascade_values) for m in inc.selection.mv] == [("A%", None), ("X", None), ("Y", True)]
    assert isinstance(exc.selection, v30.ExclusiveCodeSelection) and exc.extends.id == "OTHER"
    assert cl.items["A"].annotations[0].value == "1"


def test_geographic_codelists_and_value_list():
    geo = roundtrip("codelist", header("GEO", geoType="GeographicCodelist", geoFeatureSetCodes=[
        {"id": "AT", "name": "Austria", "names": {"en": "Austria"}, "value": "POLYGON((0 0, 1 1, 0 1, 0 0))"}]))
    assert isinstance(geo, v30.GeographicCodelist) and geo.items["AT"].value.startswith("POLYGON")
    grid = roundtrip("codelist", header("GRID", geoType="GeoGridCodelist", gridDefinition="CRS:1; 0,0; 1,1",
                                        geoGridCodes=[{"id": "C1", "name": "C1", "names": {"en": "C1"}, "geoCell": "0 0"}]))
    assert isinstance(grid, v30.GeoGridCodelist) and grid.items["C1"].geo_cell == "0 0"
    vl = roundtrip("valuelist", header("VL", valueItems=[{"id": "€", "name": "Euro", "names": {"en": "Euro"}},
                                                         {"id": "€"}]))
    assert [i.id for i in vl.items] == ["€", "€"]


def test_concepts_categories_organisations():
    cs = roundtrip("conceptscheme", header("CS", concepts=[
        {"id": "A", "name": "A", "names": {"en": "A"}, "isoConceptReference": {"conceptAgency": "ISO", "conceptSchemeID": "S",
                                                                               "conceptID": "C"}},
        {"id": "B", "name": "B", "names": {"en": "B"}, "parent": "A",
         "coreRepresentation": {"enumeration": f"{CL}=T:CL(1.0)", "minOccurs": 1, "maxOccurs": 2}}]))
    assert cs["B"].parent is cs["A"] and cs["A"].iso_concept.scheme_id == "S"
    cat = roundtrip("categoryscheme", header("CAT", categories=[{"id": "A", "name": "A", "names": {"en": "A"}, "categories": [
        {"id": "A", "name": "AA", "names": {"en": "AA"}}]}]))
    assert [c.hierarchical_id for c in cat.items["A"].child] == ["A.A"]
    agencies = roundtrip("agencyscheme", {"id": "AGENCIES", "version": "1.0", "agencyID": "SDMX", "name": "Agencies",
                                          "names": {"en": "Agencies"}, "agencies": [
        {"id": "T", "name": "T", "names": {"en": "T"}, "contacts": [
            {"name": "Desk", "names": {"en": "Desk"}, "telephones": ["+1", "+2"], "emails": ["a@b.org"]}]}]})
    assert agencies.items["T"].contact[0].telephone == ["+1", "+2"]
    for kind, member, fixed_id in (("dataproviderscheme", "dataProviders", "DATA_PROVIDERS"),
                                   ("dataconsumerscheme", "dataConsumers", "DATA_CONSUMERS"),
                                   ("metadataproviderscheme", "metadataProviders", "METADATA_PROVIDERS")):
        roundtrip(kind, {**header(fixed_id), member: [{"id": "P", "name": "P", "names": {"en": "P"}}]})


def test_reporting_taxonomy_and_vtl():
    rt = roundtrip("reportingtaxonomy", header("RT", reportingCategories=[
        {"id": "R", "name": "R", "names": {"en": "R"}, "reportingCategories": [{"id": "S", "name": "S", "names": {"en": "S"}}]}]))
    assert isinstance(rt, v21.ReportingTaxonomy) and rt.items["S"].parent is rt.items["R"]
    ms = roundtrip("vtlmappingscheme", header("VM", vtlMappings=[
        {"id": "M1", "name": "M1", "names": {"en": "M1"}, "alias": "DF1",
         "toVtlMapping": {"toVtlSubSpace": {"keys": ["FREQ"]}, "method": "Basic-A2M"},
         "fromVtlMapping": {"fromVtlSuperSpace": {"keys": ["REF_AREA"]}, "method": "Unpivot"},
         "dataflow": f"{URN}.datastructure.Dataflow=T:DF(1.0)"},
        {"id": "M2", "name": "M2", "names": {"en": "M2"}, "alias": "C", "concept": f"{CS}.A"},
        {"id": "M3", "name": "M3", "names": {"en": "M3"}, "alias": "L", "codelist": f"{CL}=T:CL(1.0)"}]))
    m1, m2, m3 = ms.items.values()
    assert isinstance(m1, common.VTLDataflowMapping) and m1.to_vtl_method is common.SDMXtoVTL["basic-a2m"]
    assert m1.from_vtl_superspace[0].key == "REF_AREA" and m1.alias == "DF1"
    assert isinstance(m2, common.VTLConceptMapping) and m2.concept_alias.id == "A"
    ts = roundtrip("transformationscheme", header(
        "TS", vtlVersion="2.0", transformations=[{"id": "T1", "name": "T1", "names": {"en": "T1"}, "expression": "a + b",
                                                  "result": "c", "isPersistent": True}],
        vtlMappingScheme=f"{URN}.transformation.VtlMappingScheme=T:VM(1.0)",
        rulesetSchemes=[f"{URN}.transformation.RulesetScheme=T:RS1(1.0)", f"{URN}.transformation.RulesetScheme=T:RS2(1.0)"]))
    assert ts.items["T1"].is_persistent is True and ts.ruleset_scheme.id == "RS1" and len(ts.ruleset_schemes) == 2


# -- links, hierarchies, metadata -------------------------------------------------------------


def test_hierarchy_and_association():
    h = roundtrip("hierarchy", header("H", hasFormalLevels=True, level={
        "id": "L1", "name": "One", "names": {"en": "One"}, "codingFormat": {"dataType": "Numeric", "minLength": 2},
        "level": {"id": "L2", "name": "Two", "names": {"en": "Two"}}},
        hierarchicalCodes=[{"id": "HC", "code": f"{URN}.codelist.Code=T:CL(1.0).A", "level": "L1", "validFrom": "2020-01-01T00:00:00Z",
                            "hierarchicalCodes": [{"id": "HC2", "code": f"{URN}.codelist.Code=T:CL(1.0).B", "level": "L2"}]}]))
    hc = h.codes["HC"]
    assert hc.level is h.level and hc.child[0].level is h.level.child and hc.child[0].parent is hc
    assert hc.code.id == "A" and hc.code.get_scheme().is_external_reference
    ha = roundtrip("hierarchyassociation", header(
        "HA", linkedHierarchy=f"{URN}.codelist.Hierarchy=T:H(1.0)",
        linkedObject=f"{URN}.datastructure.Dimension=T:DSD(1.0).REF_AREA",
        contextObject=f"{URN}.datastructure.Dataflow=T:DF(1.0)"))
    assert ha.linked_hierarchy.id == "H" and ha.linked_object.urn.endswith("DSD(1.0).REF_AREA")
    assert references(to_json(ha)) == sorted([f"{URN}.codelist.Hierarchy=T:H(1.0)", f"{URN}.datastructure.Dataflow=T:DF(1.0)",
                                              f"{URN}.datastructure.DataStructure=T:DSD(1.0)"])


def test_provision_agreement_categorisation_metadataflow():
    pa = roundtrip("provisionagreement", header("PA", dataflow=f"{URN}.datastructure.Dataflow=T:DF(1.0)",
                                                dataProvider=f"{URN}.base.DataProvider=T:DATA_PROVIDERS(1.0).P"))
    assert pa.data_provider.id == "P" and pa.data_provider.get_scheme().id == "DATA_PROVIDERS"
    cat = roundtrip("categorisation", header("C", source=f"{URN}.datastructure.Dataflow=T:DF(1.0)",
                                             target=f"{URN}.categoryscheme.Category=T:CAT(1.0).A.B"))
    assert cat.category.hierarchical_id == "A.B"
    mf = roundtrip("metadataflow", header("MF", structure=f"{URN}.metadatastructure.MetadataStructure=T:MSD(1.0)",
                                          targets=[f"{URN}.datastructure.Dataflow=*:*(*)", f"{URN}.datastructure.Dataflow=T:DF(1.0)"]))
    assert mf.targets[0] == f"{URN}.datastructure.Dataflow=*:*(*)" and mf.targets[1].id == "DF"
    assert references(to_json(mf)) == [f"{URN}.datastructure.Dataflow=T:DF(1.0)",
                                       f"{URN}.metadatastructure.MetadataStructure=T:MSD(1.0)"]


def test_metadata_set():
    msd = header("MSD", metadataStructureComponents={"metadataAttributeList": {
        "id": "MetadataAttributeDescriptor", "metadataAttributes": [
            {"id": "DEF", "conceptIdentity": f"{CS}.DEF", "localRepresentation": {"format": {"dataType": "String", "isMultiLingual": True}}},
            {"id": "UNIT", "conceptIdentity": f"{CS}.UNIT", "localRepresentation": {"enumeration": f"{CL}=T:CL_UNIT(1.0)"}},
            {"id": "OWNER", "isPresentational": True, "conceptIdentity": f"{CS}.OWNER", "metadataAttributes": [
                {"id": "NAME", "conceptIdentity": f"{CS}.NAME"}, {"id": "PAGE", "conceptIdentity": f"{CS}.PAGE",
                                                                  "localRepresentation": {"format": {"dataType": "XHTML"}}}]}]}})
    mf = header("MF", structure=f"{URN}.metadatastructure.MetadataStructure=T:MSD(1.0)")
    unit = header("CL_UNIT", codes=[{"id": "PCT", "name": "Percent", "names": {"en": "Percent"}}])
    registry = StoredRegistry([(BY_NAME["metadatastructure"], msd), (BY_NAME["metadataflow"], mf),
                               (BY_NAME["codelist"], unit)])
    stored = header("MS", action="Replace", reportingBegin="2020-01", metadataflow=f"{URN}.metadatastructure.Metadataflow=T:MF(1.0)",
                    targets=[f"{URN}.datastructure.Dataflow=T:DF(1.0)", f"{URN}.codelist.Code=T:CL_IND(1.0).GDP"],
                    attributes=[{"id": "DEF", "value": {"en": "Gross domestic product", "fa": "تولید ناخالص داخلی"}},
                                {"id": "UNIT", "value": "PCT"},
                                {"id": "OWNER", "annotations": [{"type": "note", "text": "n", "texts": {"en": "n"}}], "attributes": [
                                    {"id": "NAME", "value": "Statistics office"},
                                    {"id": "PAGE", "format": {"dataType": "XHTML"}, "value": {"en": "<p>Hi</p>"}}]}])
    ms = roundtrip("metadataset", stored, registry.resolve)
    definition, unit_value, owner = ms.metadata
    assert isinstance(definition, v30.TextAttributeValue) and definition.text.localizations["fa"] == "تولید ناخالص داخلی"
    assert definition.value_for is registry.models[f"{URN}.metadatastructure.MetadataStructure=T:MSD(1.0)"].attributes.components[0]
    assert isinstance(unit_value, v30.CodedMetadataAttributeValue) and unit_value.value_of is registry.models[
        f"{CL}=T:CL_UNIT(1.0)"]["PCT"]
    assert isinstance(owner.child[1], v30.XHTMLAttributeValue) and owner.child[0].value == "Statistics office"
    assert owner.child[0].parent is owner and owner.annotations[0].type == "note"
    assert ms.action is common.ActionType.replace and ms.attaches_to[1].id == "GDP"
    assert references(stored) == sorted([f"{URN}.datastructure.Dataflow=T:DF(1.0)", f"{URN}.codelist.Codelist=T:CL_IND(1.0)",
                                         f"{URN}.metadatastructure.Metadataflow=T:MF(1.0)"])
    built_again = from_json(BY_NAME["metadataset"], stored, registry.resolve)
    assert_same_artefact(ms, built_again)


# -- resolving ----------------------------------------------------------------------------------


def test_resolver_gets_maintainable_urns_as_written():
    calls = []
    dsd = from_json(BY_NAME["datastructure"], DSD, lambda urn: calls.append(urn))
    assert f"{CL}=T:CL_UNIT(1.0+.0)" in calls
    assert all("Concept=" not in c for c in calls)  # items are looked up in their scheme
    assert len(calls) == len(set(calls))  # each once
    concept_scheme = dsd.dimensions.components[0].concept_identity.get_scheme()
    assert isinstance(concept_scheme, common.ConceptScheme) and concept_scheme.is_external_reference
    assert concept_scheme.urn == f"{URN}.conceptscheme.ConceptScheme=T:CS(1.0)"
    assert concept_scheme.maintainer.id == "T" and concept_scheme.version == "1.0"
    # every concept referred to is in the one stub
    assert set(concept_scheme.items) >= {"FREQ", "REF_AREA", "TIME_PERIOD", "UNIT", "ROLE1", "M1"}
    assert isinstance(dsd.metadata, v30.MetadataStructureDefinition)
    df = from_json(BY_NAME["dataflow"], header("DF", structure=f"{URN}.datastructure.DataStructure=T:DSD(1.0)"), lambda u: None)
    assert isinstance(df.structure, v30.DataStructureDefinition) and df.structure.is_external_reference


def test_registry_scheme_lacking_an_item_is_never_changed():
    cs = from_json(BY_NAME["conceptscheme"], header("CS", concepts=[{"id": "FREQ", "name": "F", "names": {"en": "F"}}]), None)
    dsd = from_json(BY_NAME["datastructure"], DSD, lambda urn: cs if "ConceptScheme=T:CS(1.0)" in urn else None)
    assert list(cs.items) == ["FREQ"]
    assert dsd.dimensions.get("FREQ").concept_identity is cs["FREQ"]
    ref_area = dsd.dimensions.get("REF_AREA").concept_identity
    assert ref_area.get_scheme() is not cs and ref_area.get_scheme().is_external_reference
    assert to_json(dsd) == DSD


def test_stub_json():
    kind = BY_NAME["codelist"]
    stored = stub_json(kind, "ECB", "CL_FREQ", "1.0", f"{CL}=ECB:CL_FREQ(1.0)", structure_url="https://x/s.xml")
    assert stored == {"id": "CL_FREQ", "version": "1.0", "agencyID": "ECB", "isExternalReference": True,
                      "x-sdmx": {"structureURL": "https://x/s.xml"}}
    built = from_json(kind, stored, None)
    assert built.is_external_reference and built.structure_url == "https://x/s.xml" and len(built) == 0
    assert to_json(built) == stored and references(stored) == []
    with pytest.raises(ValueError):
        stub_json(kind, "ECB", "CL_FREQ", "1.0", f"{CL}=ECB:CL_AREA(1.0)")


def test_unmodelled_kinds_refused():
    with pytest.raises(CodecError, match="sdmx1 does not model it"):
        from_json(BY_NAME["structuremap"], header("SM"), None)
    with pytest.raises(ValueError):
        to_json(object())


# -- construction and comparison --------------------------------------------------------------


@pytest.mark.parametrize("cls", [common.Code, common.Concept, common.Category, common.Agency, common.DataProvider,
                                 v30.GeoFeatureSetCode, v30.GeoGridCode, common.CustomType, common.Transformation,
                                 common.VTLConceptMapping, v21.ReportingCategory])
def test_fast_items_are_constructed_items(cls):
    name, description, annotations = common.InternationalString({"en": "N"}), common.InternationalString(), []
    fast = new_item(cls, "X", name, description, annotations)
    slow = cls(id="X", name={"en": "N"}, annotations=[])
    for attr in ("annotations", "id", "uri", "urn", "name", "description", "parent", "child"):
        assert getattr(fast, attr) == getattr(slow, attr), attr
    assert {k: v for k, v in vars(fast).items() if k != "_urn"} == {k: v for k, v in vars(slow).items() if k != "_urn"}
    assert repr(fast) == repr(slow) and fast == slow and hash(fast) == hash(slow)


def test_comparison_is_strict():
    base = from_json(BY_NAME["datastructure"], DSD, None)

    def changed(edit) -> list[str]:
        other = copy.deepcopy(DSD)
        edit(other)
        return differences(describe(base), describe(from_json(BY_NAME["datastructure"], other, None)))

    comps = "dataStructureComponents"
    assert changed(lambda d: d["names"].update(fa="داده"))
    assert changed(lambda d: d[comps]["measureList"]["measures"][0]["localRepresentation"]["format"].update(decimals=3))
    assert changed(lambda d: d[comps]["attributeList"]["attributes"][0].update(usage="optional"))
    assert changed(lambda d: d[comps]["attributeList"]["attributes"][2].update(attributeRelationship={"observation": {}}))
    assert changed(lambda d: d[comps]["dimensionList"]["dimensions"][0].update(position=3))
    assert changed(lambda d: d[comps]["dimensionList"]["dimensions"][0]["localRepresentation"].update(
        enumeration=f"{CL}=T:CL_FREQ(2.0)"))
    assert changed(lambda d: d.update(annotations=[{"title": "t"}]))
    with pytest.raises(AssertionError, match="/version: '1.0' != '2.0'"):
        assert_same_artefact(base, from_json(BY_NAME["datastructure"], {**DSD, "version": "2.0"}, None))


def test_determinism():
    """The same model gives the same dict, key order included; languages are sorted."""
    cl = common.Codelist(id="CL", version="1.0", maintainer=common.Agency(id="T"), name={"fr": "Liste", "en": "List"})
    cl.append(common.Code(id="A", name={"fa": "الف", "en": "A"}))
    first, second = to_json(cl), to_json(cl)
    assert json.dumps(first) == json.dumps(second)
    assert list(first["names"]) == ["en", "fr"] and first["name"] == "List"
    assert first["codes"][0] == {"id": "A", "name": "A", "names": {"en": "A", "fa": "الف"}}
    only_persian = common.Codelist(id="CL", version="1.0", maintainer=common.Agency(id="T"), name={"fa": "فهرست"})
    assert to_json(only_persian)["name"] == "فهرست"


# -- speed --------------------------------------------------------------------------------------


def test_speed_of_a_large_codelist():
    """from_json of a 50,000-code codelist in two languages, with parents (measured ~0.13 s)."""
    codes = []
    for i in range(50_000):
        code = {"id": f"C{i:05d}", "name": f"Code {i}", "names": {"en": f"Code {i}", "fa": f"کد {i}"}}
        if i % 10:
            code["parent"] = f"C{i - i % 10:05d}"
        codes.append(code)
    stored = header("CL_BIG", codes=codes)
    kind = BY_NAME["codelist"]
    best = min(_timed(lambda: from_json(kind, stored, None)) for _ in range(3))
    built = from_json(kind, stored, None)
    assert len(built) == 50_000 and built["C00011"].parent is built["C00010"]
    assert to_json(built) == stored
    print(f"from_json of 50,000 codes: {best:.3f} s")
    assert best < 1.5


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def test_wildcard_references_stay_as_written():
    """The registry resolves CL_UNIT(1.0+.0) to the artefact it means; the stored form keeps
    the wildcard (and artefact.written_references says which URN it was written as)."""
    unit = from_json(BY_NAME["codelist"], {**header("CL_UNIT"), "version": "1.3.0"}, None)
    resolved = {f"{CL}=T:CL_UNIT(1.0+.0)": unit}
    dsd = from_json(BY_NAME["datastructure"], DSD, lambda urn: resolved.get(urn))
    assert dsd.attributes.get("UNIT").local_representation.enumerated is unit
    assert dsd.written_references == {f"{CL}=T:CL_UNIT(1.3.0)": f"{CL}=T:CL_UNIT(1.0+.0)"}
    assert to_json(dsd) == DSD
