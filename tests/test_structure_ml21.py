"""The SDMX-ML 2.1 structure writer, on structures built in code (Persian and English).

The samples' artefacts of every kind are written and read back by test_structure_ml30_samples
(both formats); here: the exact XML forms the 2.1 schema and sdmx1 need (references, URNs,
facets, item order), stubs, complete stubs, partial item schemes and language filtering (checked
on the XML structure), what SDMX-ML 2.1 cannot express from a 3.0 model (NotExpressible), and
pysdmx as a second reader.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
import sdmx
import sdmx.reader.xml.v30  # noqa: F401  (see test_structure_ml30_samples)
from lxml import etree
from sdmx.model import common, v21, v30

from sdmx_server.formats.ml21 import NS_COMMON, NS_STRUCTURE, Header
from sdmx_server.formats.structure_ml21 import Detail, NotExpressible, artefact_element, structure_message
from tests.test_structure_ml30_compare import describe
from tests.test_structure_ml30_samples import validate

S = f"{{{NS_STRUCTURE}}}"
C = f"{{{NS_COMMON}}}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def local(el) -> str:
    return etree.QName(el).localname


def children(el) -> list[str]:
    return [local(c) for c in el]


def read_back(data: bytes) -> list:
    message = sdmx.read_sdmx(io.BytesIO(data), format="XML")
    return [a for a in message.iter_objects() if getattr(a.maintainer, "id", None)]


def assert_round_trip(artefacts: list, fmt: str = "2.1") -> bytes:
    writer = structure_message if fmt == "2.1" else __import__("sdmx_server.formats.structure_ml30", fromlist=["x"]).structure_message
    data = writer([(a, "full") for a in artefacts], Header())
    validate(fmt, data)
    back = {describe(a, fmt)["key"]: describe(a, fmt) for a in read_back(data)}
    for obj in artefacts:
        assert back.get(describe(obj, fmt)["key"]) == describe(obj, fmt)
    return data


# --- structures built in code: Persian and English -------------------------------------------


def build(*, iso_concept: bool = True) -> list:
    """Codelists (one hierarchical, one an external stub), a concept scheme, a DSD with a group
    and every kind of attribute attachment, and a dataflow."""
    sso, sdmx_agency = common.Agency(id="SSO"), common.Agency(id="SDMX")
    source = v21.Annotation(
        id="SRC", title="منبع", type="SOURCE", url="https://www.amar.org.ir/",
        text={"fa": "مرکز آمار ایران", "en": "Statistical Centre of Iran"},
    )
    regions = common.Codelist(
        id="CL_REGION", maintainer=sso, version="1.0", is_final=True, annotations=[source],
        name={"fa": "تقسیمات کشوری", "en": "Regions"},
        description={"fa": "استان‌ها و شهرستان‌ها", "en": "Provinces and counties"},
        valid_from="2024-03-20T00:00:00",
    )
    iran = common.Code(id="IR", name={"fa": "ایران", "en": "Iran"}, description={"fa": "کل کشور", "en": "Whole country"})
    tehran = common.Code(id="IR_TEH", name={"fa": "استان تهران", "en": "Tehran province"}, parent=iran)
    shemiranat = common.Code(
        id="IR_TEH_SHEM", name={"fa": "شمیرانات", "en": "Shemiranat"}, parent=tehran,
        annotations=[v21.Annotation(type="NOTE", text={"fa": "شهرستان", "en": "county"})],
    )
    isfahan = common.Code(id="IR_ISF", name={"fa": "استان اصفهان", "en": "Isfahan province"}, parent=iran)
    regions.extend([iran, tehran, shemiranat, isfahan])
    freq = common.Codelist(id="CL_FREQ", maintainer=sso, version="2.0", name={"fa": "دوره", "en": "Frequency"})
    freq.extend([common.Code(id="A", name={"fa": "سالانه", "en": "Annual"}), common.Code(id="Q", name={"fa": "فصلی", "en": "Quarterly"})])
    status = common.Codelist(id="CL_OBS_STATUS", maintainer=sdmx_agency, version="2.2", is_external_reference=True)

    concepts = common.ConceptScheme(
        id="CS_POP", maintainer=sso, version="1.0", name={"fa": "مفاهیم جمعیت", "en": "Population concepts"}
    )

    def concept(cid, fa, en, rep=None, parent=None):
        # sdmx1's Concept is no dataclass of its own: its two fields are set after construction.
        c = common.Concept(id=cid, name={"fa": fa, "en": en}, parent=parent)
        c.core_representation = rep
        concepts.append(c)
        return c

    decimal = common.Representation(
        non_enumerated=[common.Facet(value_type=common.FacetValueType.decimal, type=common.FacetType(decimals=1, min_value=0))]
    )
    text200 = common.Representation(
        non_enumerated=[common.Facet(value_type=common.FacetValueType.string, type=common.FacetType(max_length=200))]
    )
    c_freq = concept("FREQ", "دوره", "Frequency", common.Representation(enumerated=freq))
    c_region = concept("REGION", "منطقه", "Region", common.Representation(enumerated=regions))
    c_time = concept("TIME_PERIOD", "زمان", "Time")
    c_value = concept("OBS_VALUE", "مقدار", "Value", decimal)
    if iso_concept:
        c_value.iso_concept = common.ISOConceptReference(agency="ISO", id="VAL", scheme_id="ISO_CS")
    c_status = concept("OBS_STATUS", "وضعیت", "Observation status", common.Representation(enumerated=status))
    c_mult = concept("UNIT_MULT", "ضریب", "Unit multiplier", parent=c_value)
    c_title = concept("TITLE", "عنوان", "Title", text200)
    c_comment = concept("COMMENT", "توضیح", "Comment")
    c_geo = concept("GEO", "نقش جغرافیایی", "Geographical role")

    dsd = v21.DataStructureDefinition(
        id="DSD_POP", maintainer=sso, version="1.0", name={"fa": "ساختار جمعیت", "en": "Population structure"}
    )
    d_freq = common.Dimension(id="FREQ", concept_identity=c_freq, local_representation=common.Representation(enumerated=freq))
    d_region = common.Dimension(
        id="REGION", concept_identity=c_region, concept_role=c_geo,
        local_representation=common.Representation(enumerated=regions),
    )
    d_time = common.TimeDimension(
        id="TIME_PERIOD", concept_identity=c_time,
        local_representation=common.Representation(non_enumerated=[common.Facet(value_type=common.FacetValueType.gregorianYear)]),
    )
    for d in (d_freq, d_region, d_time):
        dsd.dimensions.append(d)
    group = common.GroupDimensionDescriptor(id="REGION_GROUP", components=[d_region])
    dsd.group_dimensions[group.id] = group
    for c, related_to, usage, rep in (
        (c_status, v21.PrimaryMeasureRelationship(), common.UsageStatus.mandatory, common.Representation(enumerated=status)),
        (c_mult, common.DimensionRelationship(dimensions=[d_region], group_key=group), common.UsageStatus.conditional, None),
        (c_title, common.GroupRelationship(group_key=group), common.UsageStatus.conditional, text200),
        (c_comment, v21.NoSpecifiedRelationship(), common.UsageStatus.conditional, None),
    ):
        dsd.attributes.append(
            common.DataAttribute(id=c.id, concept_identity=c, related_to=related_to, usage_status=usage, local_representation=rep)
        )
    dsd.measures.append(v21.PrimaryMeasure(id="OBS_VALUE", concept_identity=c_value, local_representation=decimal))

    dataflow = v21.DataflowDefinition(
        id="DF_POP", maintainer=sso, version="1.0", structure=dsd, is_final=True, name={"fa": "جمعیت", "en": "Population"}
    )
    return [regions, freq, status, concepts, dsd, dataflow]


def test_built_structures_round_trip():
    # Without an ISOConceptReference: sdmx1 has no parser for it (NotImplementedError); see
    # test_iso_concept_reference.
    data = assert_round_trip(build(iso_concept=False))
    assert "استان تهران".encode() in data  # UTF-8 text, not character references


def test_item_order():
    concepts = build()[3]
    written = [e.get("id") for e in artefact_element(concepts).iter(f"{S}Concept")]
    assert written == list(concepts.items)  # UNIT_MULT, a child of OBS_VALUE, stays in its place


def test_iso_concept_reference():
    """Written as the schema wants, although neither sdmx1 (NotImplementedError) nor pysdmx 1.21
    ("Unexpected keyword argument 'ISOConceptReference'") can read it back."""
    concepts = build()[3]
    data = structure_message([(concepts, "full")], Header())
    validate("2.1", data)
    iso = etree.fromstring(data).find(f".//{S}ISOConceptReference")
    assert [(local(e), e.text) for e in iso] == [("ConceptAgency", "ISO"), ("ConceptSchemeID", "ISO_CS"), ("ConceptID", "VAL")]
    assert iso.getparent().get("id") == "OBS_VALUE"


def test_built_structures_read_by_pysdmx(tmp_path):
    from pysdmx.io import read_sdmx

    # pysdmx 1.21 fails on ISOConceptReference; see test_iso_concept_reference.
    artefacts = build(iso_concept=False)
    path = tmp_path / "structures.xml"
    path.write_bytes(structure_message([(a, "full") for a in artefacts], Header()))
    message = read_sdmx(path)  # pysdmx also validates against its copy of the schema

    # pysdmx keeps one language (English) and no code hierarchy.
    regions = message.get_codelist("Codelist=SSO:CL_REGION(1.0)")
    assert [c.id for c in regions] == ["IR", "IR_TEH", "IR_TEH_SHEM", "IR_ISF"]
    assert regions.name == "Regions" and regions.description == "Provinces and counties"
    assert regions.is_final and regions.codes[0].description == "Whole country"
    assert regions.annotations[0].title == "منبع" and regions.annotations[0].url == "https://www.amar.org.ir/"

    dsd = message.get_data_structure_definition("DataStructure=SSO:DSD_POP(1.0)")
    components = {c.id: c for c in dsd.components}
    assert [c.id for c in dsd.components.dimensions] == ["FREQ", "REGION", "TIME_PERIOD"]
    assert components["REGION"].enumeration.id == "CL_REGION"
    assert components["TIME_PERIOD"].dtype.value == "GregorianYear"
    assert str(components["OBS_VALUE"].facets.decimals) == "1"  # pysdmx keeps facets as text
    assert components["OBS_STATUS"].required and components["OBS_STATUS"].attachment_level == "O"
    assert components["COMMENT"].attachment_level == "D" and not components["COMMENT"].required
    assert components["TITLE"].attachment_level == "REGION"  # the group, as its dimensions
    assert str(components["TITLE"].facets.max_length) == "200"
    assert "REGION" in components["UNIT_MULT"].attachment_level
    assert message.get_dataflows()[0].structure == "DataStructure=SSO:DSD_POP(1.0)"


def test_urns_generated():
    regions = build()[0]
    regions.urn = None
    el = artefact_element(regions)
    assert el.get("urn") == "urn:sdmx:org.sdmx.infomodel.codelist.Codelist=SSO:CL_REGION(1.0)"
    assert el.find(f"{S}Code").get("urn") == "urn:sdmx:org.sdmx.infomodel.codelist.Code=SSO:CL_REGION(1.0).IR"
    dimension = artefact_element(build()[4]).find(f".//{S}TimeDimension")
    assert dimension.get("urn") == "urn:sdmx:org.sdmx.infomodel.datastructure.TimeDimension=SSO:DSD_POP(1.0).TIME_PERIOD"


def test_references_as_the_schema_wants():
    el = artefact_element(build()[4])
    identity = el.find(f".//{S}Dimension/{S}ConceptIdentity/Ref")
    assert dict(identity.attrib) == {
        "agencyID": "SSO", "maintainableParentID": "CS_POP", "maintainableParentVersion": "1.0",
        "id": "FREQ", "class": "Concept", "package": "conceptscheme",
    }
    enumeration = el.find(f".//{S}Dimension/{S}LocalRepresentation/{S}Enumeration/Ref")
    assert dict(enumeration.attrib) == {"agencyID": "SSO", "id": "CL_FREQ", "version": "2.0", "class": "Codelist", "package": "codelist"}
    relationships = {a.get("id"): children(a.find(f"{S}AttributeRelationship")) for a in el.iter(f"{S}Attribute")}
    assert relationships == {
        "OBS_STATUS": ["PrimaryMeasure"], "UNIT_MULT": ["Dimension", "AttachmentGroup"], "TITLE": ["Group"], "COMMENT": ["None"],
    }


def test_message_order_and_grouping():
    regions, freq, status, concepts, dsd, dataflow = build()
    entries = [(dsd, "full"), (freq, "full"), (dataflow, "full"), (concepts, "full"), (regions, "stub")]
    data = structure_message(entries, Header(sender="SSO", id="IREF000001"))
    validate("2.1", data)
    structures = etree.fromstring(data)[1]
    assert children(structures) == ["Dataflows", "Codelists", "Concepts", "DataStructures"]
    assert [c.get("id") for c in structures[1]] == ["CL_FREQ", "CL_REGION"]  # in the order given
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")


def test_stubs_and_complete_stubs():
    """A stub: identification and names, isExternalReference; a complete stub adds descriptions,
    annotations and isFinal. Neither has items; both keep the URLs where to find the artefact."""
    regions = build()[0]
    regions.structure_url = "https://registry.example/rest/codelist/SSO/CL_REGION/1.0"
    stub, complete = artefact_element(regions, "stub"), artefact_element(regions, "completestub")
    for el in (stub, complete):
        assert el.get("isExternalReference") == "true"
        assert el.get("structureURL") == regions.structure_url
        assert el.get("urn") == "urn:sdmx:org.sdmx.infomodel.codelist.Codelist=SSO:CL_REGION(1.0)"
        assert el.get("validFrom") is None
    assert children(stub) == ["Name", "Name"] and stub.get("isFinal") is None
    assert children(complete) == ["Annotations", "Name", "Name", "Description", "Description"]
    assert complete.get("isFinal") == "true"
    assert Detail.STUB == "stub" and Detail.COMPLETE_STUB == "completestub"  # the old names still work


def test_external_reference_is_a_stub():
    """An artefact known only as a reference is written as a stub with its URN, whatever the
    detail asked; its name, unknown, is its id (the schema requires one)."""
    dsd = v21.DataStructureDefinition(id="DSD_X", maintainer=common.Agency(id="SSO"), is_external_reference=True)
    dsd.dimensions.append(common.Dimension(id="JUNK"))  # what sdmx1 adds while resolving references
    el = artefact_element(dsd, "full")
    assert el.get("isExternalReference") == "true" and children(el) == ["Name"] and el[0].text == "DSD_X"
    data = structure_message([(dsd, "full")], Header())
    validate("2.1", data)
    back = read_back(data)[0]
    assert back.is_external_reference and back.version == "1.0"


def test_partial_item_scheme():
    regions = build()[0]
    partial = common.Codelist(id=regions.id, maintainer=regions.maintainer, version="1.0", name=regions.name, is_partial=True)
    partial.append(regions["IR_TEH"])
    el = artefact_element(partial)
    assert el.get("isPartial") == "true"
    assert [c.get("id") for c in el.iter(f"{S}Code")] == ["IR_TEH"]
    assert artefact_element(regions).get("isPartial") is None
    validate("2.1", structure_message([(partial, "full")], Header()))


def test_language_filter():
    """Only the requested languages of every text; a text without any keeps one (English, or
    its first), so that no mandatory name is lost."""
    regions = build()[0]
    regions["IR"].name.localizations["fa-IR"] = "ایران (رسمی)"
    data = structure_message([(regions, "full")], Header(), languages=("fa",))
    validate("2.1", data)
    el = etree.fromstring(data).find(f".//{S}Codelist")
    assert {e.get(XML_LANG) for e in el.iter(f"{C}Name", f"{C}Description", f"{C}AnnotationText")} == {"fa", "fa-IR"}
    only_english = common.Codelist(id="CL_EN", maintainer=common.Agency(id="SSO"), name={"en": "English", "de": "Englisch"})
    el = artefact_element(only_english, languages=("fa",))
    assert [(e.get(XML_LANG), e.text) for e in el.iter(f"{C}Name")] == [("en", "English")]
    el = artefact_element(only_english, languages=("de-CH",))  # a more specific tag finds "de"
    assert [(e.get(XML_LANG), e.text) for e in el.iter(f"{C}Name")] == [("de", "Englisch")]
    el = artefact_element(only_english, languages=("*",))
    assert [e.get(XML_LANG) for e in el.iter(f"{C}Name")] == ["en", "de"]


def test_forms_sdmx1_cannot_read():
    """Valid SDMX-ML 2.1 that sdmx1 fails on: str:ReportingYearStartDay (NotImplementedError) and
    textType="URI" (it looks up "Uri"). Checked against the schema only; facet values of every
    Python type sdmx.model allows are written in their XSD lexical forms."""
    artefacts = build(iso_concept=False)
    concepts, dsd = artefacts[3], artefacts[4]
    day = common.Concept(id="REPORTING_YEAR_START_DAY", name="Reporting year start day")
    link = common.Concept(id="LINK", name="Link")
    concepts.extend([day, link])
    facets = common.FacetType(
        is_sequence=True, interval=0.5, time_interval=timedelta(days=1, seconds=3, microseconds=250000),
        start_time=datetime(2020, 1, 1, tzinfo=timezone.utc), min_value=1e-7, pattern="[A-Z]+",
    )
    link.core_representation = common.Representation(
        non_enumerated=[common.Facet(value_type=common.FacetValueType.uri, type=facets)]
    )
    dsd.attributes.append(
        v21.ReportingYearStartDay(
            id="REPORTING_YEAR_START_DAY", concept_identity=day, related_to=v21.NoSpecifiedRelationship(),
            usage_status=common.UsageStatus.conditional,
        )
    )
    data = structure_message([(a, "full") for a in artefacts], Header())
    validate("2.1", data)
    text = etree.fromstring(data).find(f".//{{{NS_STRUCTURE}}}Concept[@id='LINK']//{{{NS_STRUCTURE}}}TextFormat")
    assert dict(text.attrib) == {
        "textType": "URI", "isSequence": "true", "interval": "0.5", "timeInterval": "P1DT0H0M3.25S",
        "startTime": "2020-01-01T00:00:00Z", "minValue": "0.0000001", "pattern": "[A-Z]+",
    }


# --- SDMX 3.0 models written as SDMX-ML 2.1 -----------------------------------------------------


def dsd30(*measures: str) -> v30.DataStructureDefinition:
    """A 3.0 DSD on the built concepts: FREQ, TIME_PERIOD, the measures, an attribute each way."""
    concepts = build()[3]
    dsd = v30.DataStructureDefinition(id="DSD_30", maintainer=common.Agency(id="SSO"), version="1.2.0", name={"en": "3.0"})
    freq = common.Dimension(id="FREQ", concept_identity=concepts["FREQ"])
    dsd.dimensions.append(freq)
    dsd.dimensions.append(common.TimeDimension(id="TIME_PERIOD", concept_identity=concepts["TIME_PERIOD"]))
    for m in measures:
        dsd.measures.append(v30.Measure(id=m, concept_identity=concepts["OBS_VALUE"]))
    for cid, rel in (("OBS_STATUS", v30.ObservationRelationship()), ("COMMENT", v30.DataflowRelationship())):
        dsd.attributes.append(common.DataAttribute(id=cid, concept_identity=concepts[cid], related_to=rel))
    return dsd


def test_dsd_30_written_as_21():
    """Its one measure is the PrimaryMeasure, an observation relationship the PrimaryMeasure
    attachment, a dataflow relationship <None/>; version 1.2.0 is final."""
    el = artefact_element(dsd30("OBS_VALUE"))
    assert el.get("version") == "1.2.0" and el.get("isFinal") == "true"
    assert children(el.find(f".//{S}MeasureList")) == ["PrimaryMeasure"]
    relationships = {a.get("id"): children(a.find(f"{S}AttributeRelationship")) for a in el.iter(f"{S}Attribute")}
    assert relationships == {"OBS_STATUS": ["PrimaryMeasure"], "COMMENT": ["None"]}
    data = assert_round_trip([dsd30("OBS_VALUE")])
    back = next(a for a in read_back(data) if a.id == "DSD_30")
    assert isinstance(back.measures[0], v21.PrimaryMeasure)
    assert isinstance(back.attributes.get("OBS_STATUS").related_to, v21.PrimaryMeasureRelationship)


@pytest.mark.parametrize(
    "change, feature",
    [
        (lambda d: d.measures.append(v30.Measure(id="OBS_COUNT", concept_identity=d.measures[0].concept_identity)), "several measures"),
        (lambda d: setattr(d.attributes.get("OBS_STATUS"), "related_to", v30.MeasureRelationship()), "MeasureRelationship"),
        (lambda d: setattr(d, "version", "1.2.0-draft"), "version '1.2.0-draft'"),
        (lambda d: setattr(d.dimensions.get("FREQ"), "local_representation", common.Representation(enumerated=v30.ValueList(id="VL", maintainer=common.Agency(id="SSO")))), "ValueList"),
        (lambda d: d.measures.components.clear(), "primary measure"),
    ],
)
def test_what_21_cannot_express(change, feature):
    dsd = dsd30("OBS_VALUE")
    change(dsd)
    with pytest.raises(NotExpressible, match=feature) as caught:
        structure_message([(dsd, "full")], Header())
    assert str(caught.value).startswith("DataStructureDefinition SSO:DSD_30(")  # names the artefact
    assert isinstance(caught.value, ValueError)
    # ...but a stub says nothing of the components.
    if "version" not in feature:
        validate("2.1", structure_message([(dsd, "stub")], Header()))


def test_kinds_21_cannot_express():
    sso = common.Agency(id="SSO")
    for obj in (v30.ValueList(id="VL", maintainer=sso), v30.Hierarchy(id="H", maintainer=sso)):
        with pytest.raises(NotExpressible, match=f"SDMX-ML 2.1 cannot express a {type(obj).__name__}"):
            artefact_element(obj)


def test_caller_errors():
    with pytest.raises(ValueError, match="at least one"):
        structure_message([], Header())
    regions = build()[0]
    with pytest.raises(ValueError, match="twice"):
        structure_message([(regions, "full"), (regions, "stub")], Header())
    with pytest.raises(ValueError, match="no maintainer"):
        artefact_element(common.Codelist(id="CL_ORPHAN"))
