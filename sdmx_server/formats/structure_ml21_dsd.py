"""SDMX-ML 2.1 data structure definitions and dataflows, from either family of sdmx1 objects.

Follows SDMXStructureDataStructure.xsd: DimensionList, Group*, AttributeList?, MeasureList, each
component with Annotations, ConceptIdentity, LocalRepresentation and the rest in that order.
A 3.0 DSD is written as 2.1 when it can be: its one measure becomes the PrimaryMeasure, an
ObservationRelationship the PrimaryMeasure attachment, a DataflowRelationship <None/>; several
measures, a MeasureRelationship or metadata attribute usages are NotExpressible.
"""

from __future__ import annotations

from lxml import etree
from sdmx.model import common, v21, v30

from sdmx_server import kinds
from sdmx_server.formats.structure_ml21_dispatch import ML21
from sdmx_server.formats.structure_ml21_repr import representation

#: TimeDataType: the text types a time dimension may have.
TIME_TYPES = frozenset(
    """ObservationalTimePeriod StandardTimePeriod BasicTimePeriod GregorianTimePeriod GregorianYear
    GregorianYearMonth GregorianDay ReportingTimePeriod ReportingYear ReportingSemester
    ReportingTrimester ReportingQuarter ReportingMonth ReportingWeek ReportingDay DateTime
    TimeRange""".split()
)

PRIMARY_MEASURE_ID = "OBS_VALUE"  # fixed by the 2.1 schema, as TIME_PERIOD is for the time dimension


# --- the structure -----------------------------------------------------------------------------


@ML21.register(common.BaseDataStructureDefinition)
def data_structure(w, dsd, el: etree._Element) -> None:
    # DataStructureComponents is optional, so a DSD sdmx1 knows only by its id (an external
    # reference) is complete with identification and names. Once written, though, it must hold
    # at least one dimension and the measure.
    if not w.full:
        return
    if getattr(dsd, "metadata", None) is not None:
        raise w.not_expressible("a data structure's link to a metadata structure")
    if not dsd.dimensions.components:
        return
    components = etree.SubElement(el, w.s("DataStructureComponents"))
    dimension_list(w, components, dsd)
    for group in dsd.group_dimensions.values():
        group_element(w, components, group)
    if dsd.attributes.components:  # AttributeList needs at least one attribute when present
        lst = component_list(w, components, "AttributeList", "AttributeDescriptor", dsd.attributes)
        for attribute in dsd.attributes.components:
            w.write(attribute, lst)
    measure_list(w, components, dsd)


def component_list(w, parent: etree._Element, tag: str, fixed_id: str, components: common.ComponentList) -> etree._Element:
    """DimensionList / AttributeList / MeasureList: the schema fixes their ids."""
    el = etree.SubElement(parent, w.s(tag), id=fixed_id, urn=w.child_urn(fixed_id, fixed_id))
    w.annotations(el, components)
    return el


def component_element(w, parent: etree._Element, tag: str, component: common.Component, urn_class: str) -> etree._Element:
    """A component's element up to its ConceptIdentity, which every data structure component needs."""
    el = etree.SubElement(parent, w.s(tag), id=component.id, urn=w.child_urn(urn_class, component.id))
    if component.uri:
        el.set("uri", component.uri)
    w.annotations(el, component)
    if component.concept_identity is None:
        raise ValueError(f"DSD {w.artefact.id}: component {component.id} has no concept identity")
    w.item_ref(el, "ConceptIdentity", component.concept_identity)
    return el


def concept_roles(w, el: etree._Element, component) -> None:
    # sdmx1 holds a single concept role; the schema allows several.
    roles = getattr(component, "concept_role", None)
    for role in roles if isinstance(roles, (list, tuple)) else [roles]:
        if role is not None:
            w.item_ref(el, "ConceptRole", role)


def dimension_class(dimension: common.DimensionComponent) -> str | None:
    """The class a local dimension reference names (DimensionTypeCodelistType).

    None for a measure dimension: sdmx1 cannot resolve a reference of class MeasureDimension
    (it knows no parent for the class), and the id alone is unambiguous within the DSD.
    """
    if isinstance(dimension, common.TimeDimension):
        return "TimeDimension"
    if isinstance(dimension, v21.MeasureDimension):
        return None
    return "Dimension"


# --- dimensions ----------------------------------------------------------------------------------


def dimension_list(w, parent: etree._Element, dsd) -> None:
    el = component_list(w, parent, "DimensionList", "DimensionDescriptor", dsd.dimensions)
    for dimension in dsd.dimensions.components:
        w.write(dimension, el)


def dimension_start(w, parent: etree._Element, dimension, tag: str) -> etree._Element:
    el = component_element(w, parent, tag, dimension, tag)
    if dimension.order is not None:
        el.set("position", str(dimension.order))
    return el


@ML21.register(common.Dimension)
def dimension(w, obj: common.Dimension, parent: etree._Element) -> None:
    el = dimension_start(w, parent, obj, "Dimension")
    representation(w, el, "LocalRepresentation", obj.local_representation)
    concept_roles(w, el, obj)


@ML21.register(common.TimeDimension)
def time_dimension(w, obj: common.TimeDimension, parent: etree._Element) -> None:
    if obj.id != "TIME_PERIOD":
        raise w.not_expressible(f"a time dimension with the id {obj.id} (the schema fixes TIME_PERIOD)")
    el = dimension_start(w, parent, obj, "TimeDimension")
    time_representation(w, el, obj)


def time_representation(w, el: etree._Element, obj: common.TimeDimension) -> None:
    # The schema requires a TextFormat of a time type; ObservationalTimePeriod is what it means
    # when none is given. sdmx1 reads <str:TextFormat/> as String whatever the context, so a
    # non-time type here is that misreading and is written as the schema's meaning.
    rep = representation(w, el, "LocalRepresentation", obj.local_representation, default_type="ObservationalTimePeriod")
    text = rep.find(w.s("TextFormat"))
    if text is None:
        raise w.not_expressible(f"an enumerated time dimension ({obj.id})")
    if text.get("textType") not in TIME_TYPES:
        text.set("textType", "ObservationalTimePeriod")


@ML21.register(v21.MeasureDimension)
def measure_dimension(w, obj: v21.MeasureDimension, parent: etree._Element) -> None:
    rep = obj.local_representation
    if rep is None or rep.enumerated is None:
        raise ValueError(f"DSD {w.artefact.id}: measure dimension {obj.id} enumerates no concept scheme")
    el = dimension_start(w, parent, obj, "MeasureDimension")
    # The schema makes this always a concept scheme reference. sdmx1 reads an Enumeration <Ref>
    # without a class as a Codelist, so the class is written as the schema demands, whatever
    # the Python class of the enumerated scheme.
    local = etree.SubElement(el, w.s("LocalRepresentation"))
    w.maintainable_ref(local, "Enumeration", rep.enumerated, kinds.kind("conceptscheme"))
    concept_roles(w, el, obj)


def group_element(w, parent: etree._Element, group: common.GroupDimensionDescriptor) -> None:
    if not group.components:
        # GroupType needs GroupDimensions (or an attachment constraint, which sdmx1 does not hold).
        raise ValueError(f"DSD {w.artefact.id}: group {group.id} has no dimensions")
    el = etree.SubElement(parent, w.s("Group"), id=group.id, urn=w.child_urn("GroupDimensionDescriptor", group.id))
    w.annotations(el, group)
    for dim in group.components:
        w.local_ref(etree.SubElement(el, w.s("GroupDimension")), "DimensionReference", dim.id, dimension_class(dim))


# --- attributes ----------------------------------------------------------------------------------


@ML21.register(common.DataAttribute)
def attribute(w, obj: common.DataAttribute, parent: etree._Element) -> None:
    el = component_element(w, parent, "Attribute", obj, "DataAttribute")
    representation(w, el, "LocalRepresentation", obj.local_representation)
    concept_roles(w, el, obj)
    attribute_relationship(w, el, obj)
    # assignmentStatus is required; an attribute whose status is unknown claims the weaker one.
    mandatory = obj.usage_status is common.UsageStatus.mandatory
    el.set("assignmentStatus", "Mandatory" if mandatory else "Conditional")


@ML21.register(v21.ReportingYearStartDay)
def reporting_year_start_day(w, obj, parent: etree._Element) -> None:
    el = component_element(w, parent, "ReportingYearStartDay", obj, "ReportingYearStartDay")
    # Its representation is fixed by the schema: a MonthDay TextFormat.
    text = etree.SubElement(etree.SubElement(el, w.s("LocalRepresentation")), w.s("TextFormat"))
    text.set("textType", "MonthDay")
    attribute_relationship(w, el, obj)
    el.set("assignmentStatus", "Mandatory" if obj.usage_status is common.UsageStatus.mandatory else "Conditional")


@ML21.register(v30.MetadataAttributeUsage)
def metadata_attribute_usage(w, obj, parent: etree._Element) -> None:
    raise w.not_expressible(f"a metadata attribute usage ({obj.id})")


def attribute_relationship(w, el: etree._Element, obj) -> None:
    """str:AttributeRelationship, its content from the function for the relationship's class
    (None, sdmx1's related_to of an attribute of the data set, has one too)."""
    w.write(obj.related_to, etree.SubElement(el, w.s("AttributeRelationship")))


@ML21.register(common.DimensionRelationship)
def dimension_relationship(w, rel: common.DimensionRelationship, el: etree._Element) -> None:
    if not rel.dimensions:
        group_relationship(w, rel, el)
        return
    for dim in rel.dimensions:
        w.local_ref(el, "Dimension", dim.id, dimension_class(dim))
    if rel.group_key is not None:
        w.local_ref(el, "AttachmentGroup", rel.group_key.id, "GroupDimensionDescriptor")


@ML21.register(common.GroupRelationship)
def group_relationship(w, rel, el: etree._Element) -> None:
    if rel.group_key is None:
        etree.SubElement(el, w.s("None"))
    else:
        w.local_ref(el, "Group", rel.group_key.id, "GroupDimensionDescriptor")


@ML21.register(v21.PrimaryMeasureRelationship, v30.ObservationRelationship)
def observation_relationship(w, rel, el: etree._Element) -> None:
    w.local_ref(el, "PrimaryMeasure", PRIMARY_MEASURE_ID, "PrimaryMeasure")


@ML21.register(v21.NoSpecifiedRelationship, v30.DataflowRelationship, type(None))
def dataset_relationship(w, rel, el: etree._Element) -> None:
    etree.SubElement(el, w.s("None"))


@ML21.register(v30.MeasureRelationship)
def measure_relationship(w, rel, el: etree._Element) -> None:
    raise w.not_expressible("an attribute related to measures (MeasureRelationship)")


# --- the measure ---------------------------------------------------------------------------------


def measure_list(w, parent: etree._Element, dsd) -> None:
    measures = dsd.measures.components
    if not measures:
        raise w.not_expressible("a data structure without its primary measure")
    if len(measures) > 1:
        raise w.not_expressible(f"several measures ({', '.join(m.id for m in measures)})")
    el = component_list(w, parent, "MeasureList", "MeasureDescriptor", dsd.measures)
    w.write(measures[0], el)


@ML21.register(v21.PrimaryMeasure, v30.Measure)
def primary_measure(w, obj, parent: etree._Element) -> None:
    if obj.id != PRIMARY_MEASURE_ID:
        raise w.not_expressible(f"a primary measure with the id {obj.id} (the schema fixes {PRIMARY_MEASURE_ID})")
    if getattr(obj, "concept_role", None) is not None:
        raise w.not_expressible(f"a concept role of the measure {obj.id}")
    el = component_element(w, parent, "PrimaryMeasure", obj, "PrimaryMeasure")
    representation(w, el, "LocalRepresentation", obj.local_representation)


# --- dataflows -----------------------------------------------------------------------------------


@ML21.register(common.BaseDataflow, common.BaseMetadataflow)
def structure_usage(w, flow, el: etree._Element) -> None:
    if not w.full:
        return
    structure = flow.structure
    # sdmx1 gives every dataflow a DSD; one without an id is its placeholder for "none known".
    if structure is not None and structure.id != common.MissingID:
        w.maintainable_ref(el, "Structure", structure)
