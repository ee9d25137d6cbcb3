"""SDMX-ML 2.1 data structure definitions (str:DataStructure), from sdmx1's v21 model.

Follows SDMXStructureDataStructure.xsd: DimensionList, Group*, AttributeList?, MeasureList, each
component with Annotations, ConceptIdentity, LocalRepresentation and the rest in that order.
"""

from __future__ import annotations

from lxml import etree
from sdmx.model import common, v21

from sdmx_server.formats.ml21 import struct
from sdmx_server.formats.structure_ml21 import (
    Detail,
    annotations,
    child_urn,
    concept_ref,
    local_ref,
    maintainable_element,
    maintainable_ref,
    representation,
    set_identity,
)

PACKAGE = "datastructure"


def data_structure_element(dsd: v21.DataStructureDefinition, detail: Detail) -> etree._Element:
    el = maintainable_element("DataStructure", dsd, detail, "DataStructure", PACKAGE)
    # DataStructureComponents is optional in DataStructureType, so a stub, or an external
    # reference sdmx1 knows only by its id, is complete with identification and names. Once
    # written, though, it must hold at least one dimension and the primary measure.
    if detail is Detail.FULL and dsd.dimensions.components:
        components_element(el, dsd)
    return el


def components_element(parent: etree._Element, dsd: v21.DataStructureDefinition) -> None:
    el = etree.SubElement(parent, struct("DataStructureComponents"))
    dimension_list(el, dsd)
    for group in dsd.group_dimensions.values():
        group_element(el, dsd, group)
    if dsd.attributes.components:  # AttributeList needs at least one attribute when present
        attribute_list(el, dsd)
    measure_list(el, dsd)


# --- shared ----------------------------------------------------------------------------------


def component_urn(dsd: v21.DataStructureDefinition, urn_class: str, component_id: str) -> str:
    return child_urn(dsd, "DataStructure", PACKAGE, urn_class, component_id)


def component_list_element(
    parent: etree._Element, tag: str, fixed_id: str, component_list: common.ComponentList, dsd
) -> etree._Element:
    """DimensionList / AttributeList / MeasureList: the schema fixes their ids."""
    el = etree.SubElement(parent, struct(tag))
    el.set("id", fixed_id)
    el.set("urn", component_urn(dsd, fixed_id, fixed_id))
    annotations(el, component_list)
    return el


def component_element(
    parent: etree._Element, tag: str, component: common.Component, dsd, urn_class: str
) -> etree._Element:
    """A component's element up to its ConceptIdentity, which every data structure component needs."""
    el = etree.SubElement(parent, struct(tag))
    set_identity(el, component, component_urn(dsd, urn_class, component.id))
    annotations(el, component)
    if component.concept_identity is None:
        raise ValueError(f"DSD {dsd.id}: component {component.id} has no concept identity")
    concept_ref(el, "ConceptIdentity", component.concept_identity)
    return el


def concept_roles(el: etree._Element, component) -> None:
    # sdmx1 holds a single concept role; the schema allows several.
    roles = getattr(component, "concept_role", None)
    for role in roles if isinstance(roles, (list, tuple)) else [roles]:
        if role is not None:
            concept_ref(el, "ConceptRole", role)


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


# --- dimensions --------------------------------------------------------------------------------


def dimension_list(parent: etree._Element, dsd: v21.DataStructureDefinition) -> None:
    el = component_list_element(parent, "DimensionList", "DimensionDescriptor", dsd.dimensions, dsd)
    for dimension in dsd.dimensions.components:
        if isinstance(dimension, common.TimeDimension):
            time_dimension(el, dsd, dimension)
        elif isinstance(dimension, v21.MeasureDimension):
            measure_dimension(el, dsd, dimension)
        elif isinstance(dimension, common.Dimension):
            dimension_element(el, dsd, dimension)
        else:
            raise ValueError(f"DSD {dsd.id}: cannot write a {type(dimension).__name__} dimension")


def _dimension_start(parent, dsd, dimension, tag: str) -> etree._Element:
    el = component_element(parent, tag, dimension, dsd, tag)
    if dimension.order is not None:
        el.set("position", str(dimension.order))
    return el


def dimension_element(parent: etree._Element, dsd, dimension: common.Dimension) -> None:
    el = _dimension_start(parent, dsd, dimension, "Dimension")
    representation(el, "LocalRepresentation", dimension.local_representation)
    concept_roles(el, dimension)


#: TimeDataType: the text types a time dimension may have.
TIME_TYPES = frozenset(
    """ObservationalTimePeriod StandardTimePeriod BasicTimePeriod GregorianTimePeriod GregorianYear
    GregorianYearMonth GregorianDay ReportingTimePeriod ReportingYear ReportingSemester
    ReportingTrimester ReportingQuarter ReportingMonth ReportingWeek ReportingDay DateTime
    TimeRange""".split()
)


def time_dimension(parent: etree._Element, dsd, dimension: common.TimeDimension) -> None:
    el = _dimension_start(parent, dsd, dimension, "TimeDimension")
    # The schema requires a TextFormat of a time type; ObservationalTimePeriod is what it means
    # when none is given. sdmx1 reads <str:TextFormat/> as String whatever the context, so a
    # non-time type here is that misreading and is written as the schema's meaning.
    rep = representation(el, "LocalRepresentation", dimension.local_representation, default_type="ObservationalTimePeriod")
    text = rep.find(struct("TextFormat"))
    if text is not None and text.get("textType") not in TIME_TYPES:
        text.set("textType", "ObservationalTimePeriod")


def measure_dimension(parent: etree._Element, dsd, dimension: v21.MeasureDimension) -> None:
    rep = dimension.local_representation
    if rep is None or rep.enumerated is None:
        raise ValueError(f"DSD {dsd.id}: measure dimension {dimension.id} enumerates no concept scheme")
    el = _dimension_start(parent, dsd, dimension, "MeasureDimension")
    # The schema makes this always a concept scheme reference. sdmx1 reads an Enumeration <Ref>
    # without a class as a Codelist, so the class is written as the schema demands, whatever
    # the Python class of the enumerated scheme.
    local = etree.SubElement(el, struct("LocalRepresentation"))
    maintainable_ref(local, "Enumeration", rep.enumerated, "ConceptScheme", "conceptscheme")
    concept_roles(el, dimension)


def group_element(parent: etree._Element, dsd, group: common.GroupDimensionDescriptor) -> None:
    if not group.components:
        # GroupType needs GroupDimensions (or an attachment constraint, which sdmx1 does not hold).
        raise ValueError(f"DSD {dsd.id}: group {group.id} has no dimensions")
    el = etree.SubElement(parent, struct("Group"))
    set_identity(el, group, component_urn(dsd, "GroupDimensionDescriptor", group.id))
    annotations(el, group)
    for dimension in group.components:
        group_dimension = etree.SubElement(el, struct("GroupDimension"))
        local_ref(group_dimension, "DimensionReference", dimension.id, dimension_class(dimension))


# --- attributes --------------------------------------------------------------------------------


def attribute_list(parent: etree._Element, dsd: v21.DataStructureDefinition) -> None:
    el = component_list_element(parent, "AttributeList", "AttributeDescriptor", dsd.attributes, dsd)
    for attribute in dsd.attributes.components:
        attribute_element(el, dsd, attribute)


def attribute_element(parent: etree._Element, dsd, attribute: common.DataAttribute) -> None:
    if isinstance(attribute, v21.ReportingYearStartDay):
        el = component_element(parent, "ReportingYearStartDay", attribute, dsd, "ReportingYearStartDay")
        # Its representation is fixed by the schema: a MonthDay TextFormat.
        text = etree.SubElement(etree.SubElement(el, struct("LocalRepresentation")), struct("TextFormat"))
        text.set("textType", "MonthDay")
    else:
        el = component_element(parent, "Attribute", attribute, dsd, "DataAttribute")
        representation(el, "LocalRepresentation", attribute.local_representation)
        concept_roles(el, attribute)
    attribute_relationship(el, dsd, attribute.related_to)
    # assignmentStatus is required; an attribute whose status is unknown claims the weaker one.
    mandatory = attribute.usage_status is common.UsageStatus.mandatory
    el.set("assignmentStatus", "Mandatory" if mandatory else "Conditional")


def attribute_relationship(parent: etree._Element, dsd, relationship) -> None:
    """One of: None (the data set), Dimension refs (+ AttachmentGroup), Group, PrimaryMeasure."""
    el = etree.SubElement(parent, struct("AttributeRelationship"))
    group = getattr(relationship, "group_key", None)
    dimensions = getattr(relationship, "dimensions", None) or []
    if isinstance(relationship, v21.PrimaryMeasureRelationship):
        local_ref(el, "PrimaryMeasure", primary_measure(dsd).id, "PrimaryMeasure")
    elif dimensions:
        for dimension in dimensions:
            local_ref(el, "Dimension", dimension.id, dimension_class(dimension))
        if group is not None:
            local_ref(el, "AttachmentGroup", group.id, "GroupDimensionDescriptor")
    elif group is not None:
        local_ref(el, "Group", group.id, "GroupDimensionDescriptor")
    else:
        etree.SubElement(el, struct("None"))


# --- the measure ---------------------------------------------------------------------------------


def primary_measure(dsd: v21.DataStructureDefinition) -> v21.PrimaryMeasure:
    measures = dsd.measures.components
    if len(measures) != 1:
        raise ValueError(f"DSD {dsd.id} has {len(measures)} primary measures; SDMX-ML 2.1 needs exactly one")
    return measures[0]


def measure_list(parent: etree._Element, dsd: v21.DataStructureDefinition) -> None:
    measure = primary_measure(dsd)
    el = component_list_element(parent, "MeasureList", "MeasureDescriptor", dsd.measures, dsd)
    measure_el = component_element(el, "PrimaryMeasure", measure, dsd, "PrimaryMeasure")
    representation(measure_el, "LocalRepresentation", measure.local_representation)
