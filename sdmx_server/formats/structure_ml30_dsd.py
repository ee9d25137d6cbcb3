"""SDMX-ML 3.0 data structures, metadata structures and metadataflows: what differs from 2.1.

A 3.0 DSD has a MeasureList of Measure(s), attributes with `usage` and an AttributeRelationship
of Dataflow, Dimension(s), Group or Observation (plus a MeasureRelationship), the time
dimension last and without position, and a link to a metadata structure. A 2.1 DSD is written
the other way: its PrimaryMeasure becomes a Measure, a PrimaryMeasureRelationship an Observation
relationship, <None/> a Dataflow one; a measure dimension or an attachment group cannot be
said. The 3.0 metadata structure is a list of metadata attributes.
"""

from __future__ import annotations

from lxml import etree
from sdmx.model import common, v21, v30

from sdmx_server import kinds
from sdmx_server.formats.structure_ml21_dsd import (
    attribute_relationship,
    component_element,
    component_list,
    concept_roles,
    group_element,
    time_representation,
)
from sdmx_server.formats.structure_ml21_msd import OBJECT_TYPES
from sdmx_server.formats.structure_ml21_repr import representation
from sdmx_server.formats.structure_ml30_base import ML30

# --- the structure -------------------------------------------------------------------------------


@ML30.register(common.BaseDataStructureDefinition)
def data_structure(w, dsd, el: etree._Element) -> None:
    if not w.full:
        return
    if dsd.dimensions.components:
        components = etree.SubElement(el, w.s("DataStructureComponents"))
        dimensions = component_list(w, components, "DimensionList", "DimensionDescriptor", dsd.dimensions)
        # The schema wants the time dimension after the others.
        ordered = sorted(dsd.dimensions.components, key=lambda d: isinstance(d, common.TimeDimension))
        for dimension in ordered:
            w.write(dimension, dimensions)
        for group in dsd.group_dimensions.values():
            group_element(w, components, group)
        if dsd.attributes.components:
            attributes = component_list(w, components, "AttributeList", "AttributeDescriptor", dsd.attributes)
            for attribute in dsd.attributes.components:
                w.write(attribute, attributes)
        if dsd.measures.components:
            measures = component_list(w, components, "MeasureList", "MeasureDescriptor", dsd.measures)
            for measure in dsd.measures.components:
                w.write(measure, measures)
    metadata = getattr(dsd, "metadata", None)
    if metadata is not None:
        w.maintainable_ref(el, "Metadata", metadata)


@ML30.register(common.Dimension)
def dimension(w, obj: common.Dimension, parent: etree._Element) -> None:
    el = component_element(w, parent, "Dimension", obj, "Dimension")
    if obj.order is not None:
        el.set("position", str(obj.order))
    rep = obj.local_representation
    if rep is not None and rep.enumerated is not None and w.kind_of(rep.enumerated).name != "codelist":
        raise w.not_expressible(f"a dimension ({obj.id}) enumerated by a {type(rep.enumerated).__name__}")
    representation(w, el, "LocalRepresentation", rep)
    concept_roles(w, el, obj)


@ML30.register(common.TimeDimension)
def time_dimension(w, obj: common.TimeDimension, parent: etree._Element) -> None:
    if obj.id != "TIME_PERIOD":
        raise w.not_expressible(f"a time dimension with the id {obj.id} (the schema fixes TIME_PERIOD)")
    el = component_element(w, parent, "TimeDimension", obj, "TimeDimension")  # no position in 3.0
    time_representation(w, el, obj)


@ML30.register(v21.MeasureDimension)
def measure_dimension(w, obj, parent: etree._Element) -> None:
    raise w.not_expressible(f"a measure dimension ({obj.id})")


# --- attributes and their relationships ------------------------------------------------------------


@ML30.register(common.DataAttribute, v21.ReportingYearStartDay)
def attribute(w, obj: common.DataAttribute, parent: etree._Element) -> None:
    el = component_element(w, parent, "Attribute", obj, "DataAttribute")
    # `optional` is the schema's default, written all the same: pysdmx (1.21) takes an
    # attribute without `usage` for a mandatory one.
    el.set("usage", "mandatory" if obj.usage_status is common.UsageStatus.mandatory else "optional")
    if isinstance(obj, v21.ReportingYearStartDay):
        # 3.0 has no element of its own for it: an attribute of MonthDay values.
        text = etree.SubElement(etree.SubElement(el, w.s("LocalRepresentation")), w.s("TextFormat"))
        text.set("textType", "MonthDay")
    else:
        representation(w, el, "LocalRepresentation", obj.local_representation)
    concept_roles(w, el, obj)
    attribute_relationship(w, el, obj)


@ML30.register(v30.MetadataAttributeUsage)
def metadata_attribute_usage(w, obj, parent: etree._Element) -> None:
    el = etree.SubElement(parent, w.s("MetadataAttributeUsage"))
    target = obj.metadata_attribute
    msd = getattr(w.artefact, "metadata", None)
    if obj.urn:
        el.set("urn", obj.urn)
    elif isinstance(target, common.MetadataAttribute) and msd is not None:
        # sdmx1 finds the metadata attribute through this URN (the MSD's attribute).
        el.set("urn", f"{w.urn(msd)}.{target.id}".replace(".MetadataStructure=", ".MetadataAttribute=", 1))
    w.annotations(el, obj)
    etree.SubElement(el, w.s("MetadataAttributeReference")).text = getattr(target, "id", None) or obj.id
    attribute_relationship(w, el, obj)


@ML30.register(common.DimensionRelationship)
def dimension_relationship(w, rel: common.DimensionRelationship, el: etree._Element) -> None:
    if not rel.dimensions:
        group_relationship(w, rel, el)
        return
    if rel.group_key is not None:
        raise w.not_expressible(f"an attachment group ({rel.group_key.id}) besides the dimensions an attribute relates to")
    for dim in rel.dimensions:
        w.local_ref(el, "Dimension", dim.id)


@ML30.register(common.GroupRelationship)
def group_relationship(w, rel, el: etree._Element) -> None:
    if rel.group_key is None:
        etree.SubElement(el, w.s("Dataflow"))
    else:
        w.local_ref(el, "Group", rel.group_key.id)


@ML30.register(v21.PrimaryMeasureRelationship, v30.ObservationRelationship)
def observation_relationship(w, rel, el: etree._Element) -> None:
    etree.SubElement(el, w.s("Observation"))


@ML30.register(v21.NoSpecifiedRelationship, v30.DataflowRelationship, type(None))
def dataflow_relationship(w, rel, el: etree._Element) -> None:
    etree.SubElement(el, w.s("Dataflow"))


@ML30.register(v30.MeasureRelationship)
def measure_relationship(w, rel, el: etree._Element) -> None:
    """Attached to observations, for some measures: the measures listed on the relationship
    (`measures`, as a loader may set them), or else all of the structure's."""
    etree.SubElement(el, w.s("Observation"))
    measures = getattr(rel, "measures", None) or w.artefact.measures.components
    holder = etree.SubElement(el.getparent(), w.s("MeasureRelationship"))
    for measure in measures:
        w.local_ref(holder, "Measure", getattr(measure, "id", measure))


# --- measures ----------------------------------------------------------------------------------------


@ML30.register(v21.PrimaryMeasure, v30.Measure)
def measure(w, obj, parent: etree._Element) -> None:
    el = component_element(w, parent, "Measure", obj, "Measure")
    if getattr(obj, "usage_status", None) is common.UsageStatus.mandatory:
        el.set("usage", "mandatory")
    representation(w, el, "LocalRepresentation", obj.local_representation)
    concept_roles(w, el, obj)


# --- metadata structures and metadataflows -----------------------------------------------------------


@ML30.register(v30.MetadataStructureDefinition)
def metadata_structure(w, msd, el: etree._Element) -> None:
    if not w.full or not msd.attributes.components:
        return
    components = etree.SubElement(el, w.s("MetadataStructureComponents"))
    # Without a URN: the schema's type for it (MetadataAttributeDescriptorUrnType) wrongly
    # demands a VtlMappingScheme URN.
    holder = etree.SubElement(components, w.s("MetadataAttributeList"), id="MetadataAttributeDescriptor")
    w.annotations(holder, msd.attributes)
    for attribute in msd.attributes.components:
        w.write(attribute, holder)


@ML30.register(v21.MetadataStructureDefinition)
def metadata_structure_21(w, msd, el: etree._Element) -> None:
    if w.full and (msd.target or msd.report_structure):
        raise w.not_expressible("an SDMX 2.1 metadata structure (metadata targets and report structures)")


@ML30.register(common.MetadataAttribute)
def metadata_attribute(w, attribute: common.MetadataAttribute, parent: etree._Element) -> None:
    path = [attribute.id]
    up = attribute.parent
    while isinstance(up, common.MetadataAttribute):
        path.append(up.id)
        up = up.parent
    el = component_element(w, parent, "MetadataAttribute", attribute, "MetadataAttribute")
    el.set("urn", w.child_urn("MetadataAttribute", ".".join(reversed(path))))
    rep = attribute.local_representation
    if rep is not None and rep.enumerated is not None and w.kind_of(rep.enumerated).name != "codelist":
        raise w.not_expressible(f"a metadata attribute ({attribute.id}) enumerated by a {type(rep.enumerated).__name__}")
    representation(w, el, "LocalRepresentation", rep)
    for child in attribute.child:
        w.write(child, el)
    if attribute.min_occurs is not None:
        el.set("minOccurs", str(attribute.min_occurs))
    if attribute.max_occurs is not None:
        el.set("maxOccurs", str(attribute.max_occurs))
    if attribute.is_presentational:
        el.set("isPresentational", "true")


@ML30.register(common.BaseMetadataflow)
def metadataflow(w, flow, el: etree._Element) -> None:
    """Structure, then the Targets (wildcard URNs of what metadata may be attached to) the 3.0
    schema requires: the flow's own (`targets`, as a loader may set them), or else those the
    identifiable object targets of its 2.1 metadata structure name. The targets are required
    even in a stub."""
    structure = flow.structure
    if w.full and structure is not None and structure.id != common.MissingID:
        w.maintainable_ref(el, "Structure", structure)
    targets = list(getattr(flow, "targets", None) or [])
    if not targets and isinstance(structure, v21.MetadataStructureDefinition):
        for target in structure.target.values():
            for component in target.components:
                if isinstance(component, v21.IdentifiableObjectTarget) and component.object_type is not None:
                    targets.append(wildcard_urn(w, component.object_type))
    if not targets:
        raise w.not_expressible("a metadataflow without targets")
    written = set()
    for target in targets:
        # A wildcard target is a URN string; the codec resolves one naming an artefact or an item.
        urn = target if isinstance(target, str) else None
        if urn is None:
            urn = w.item_urn(target) if isinstance(target, common.Item) else w.urn(target)
        if urn not in written:
            written.add(urn)
            w.text_ref(el, "Target", urn)


def wildcard_urn(w, cls: type) -> str:
    """urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=*:*(*) for an sdmx1 class."""
    name = OBJECT_TYPES.get(cls.__name__, cls.__name__)
    kind = kinds.BY_URN_CLASS.get(name)
    if kind is not None:
        return f"urn:sdmx:org.sdmx.infomodel.{kind.package}.{kind.urn_class}=*:*(*)"
    for k in kinds.KINDS:  # an item class (DataProvider, Category...)
        if k.item_class == name:
            return f"urn:sdmx:org.sdmx.infomodel.{k.package}.{name}=*:*(*).*"
    raise w.not_expressible(f"a metadata target of {name} objects")
