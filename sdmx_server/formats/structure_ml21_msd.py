"""SDMX-ML 2.1 metadata structure definitions (str:MetadataStructure), from sdmx1's v21 model.

SDMXStructureMetadataStructure.xsd: MetadataStructureComponents holds MetadataTarget+ (each a
list of target objects: KeyDescriptorValuesTarget, DataSetTarget, ReportPeriodTarget,
IdentifiableObjectTarget) then ReportStructure+ (nested MetadataAttributes, then references to
the targets the report is for). The SDMX 3.0 metadata structure, a bare list of attributes
without targets or report structures, has no SDMX-ML 2.1 form.

URNs of the parts of a metadata structure are left out (the schema makes them optional): real
registries disagree on their shape, and no reader needs them.
"""

from __future__ import annotations

from lxml import etree
from sdmx.model import common, v21, v30

from sdmx_server.formats.structure_ml21_dispatch import ML21
from sdmx_server.formats.structure_ml21_dsd import TIME_TYPES
from sdmx_server.formats.structure_ml21_repr import representation
from sdmx_server.formats.structure_ml21_repr import text_type as text_type_of

#: sdmx1 class names that differ from the SDMX class names objectType uses.
OBJECT_TYPES = {cls: name for name, cls in v21.CF.name_map.items()}

#: Target classes, the element, fixed id (None: free) and TextFormat type each has.
TARGETS = (
    (v21.DimensionDescriptorValuesTarget, "KeyDescriptorValuesTarget", "DIMENSION_DESCRIPTOR_VALUES_TARGET", "KeyValues"),
    (v21.DataSetTarget, "DataSetTarget", "DATA_SET_TARGET", "DataSetReference"),
    (v21.ReportPeriodTarget, "ReportPeriodTarget", "REPORT_PERIOD_TARGET", "ObservationalTimePeriod"),
    (v21.IdentifiableObjectTarget, "IdentifiableObjectTarget", None, "IdentifiableReference"),
)


@ML21.register(v21.MetadataStructureDefinition)
def metadata_structure(w, msd: v21.MetadataStructureDefinition, el: etree._Element) -> None:
    if not w.full or not msd.target and not msd.report_structure:
        return  # known by its identity only
    if not msd.target or not msd.report_structure:
        raise ValueError(f"MSD {msd.id} needs at least one metadata target and one report structure")
    components = etree.SubElement(el, w.s("MetadataStructureComponents"))
    for target in msd.target.values():
        w.write(target, components)
    for report in msd.report_structure.values():
        w.write(report, components)


@ML21.register(v30.MetadataStructureDefinition)
def metadata_structure_30(w, msd, el: etree._Element) -> None:
    # An MSD read from SDMX-ML 2.1 keeps its targets and report structures in plain attributes
    # (registry/codec/metadata.py): it has its SDMX-ML 2.1 form.
    if getattr(msd, "target", None) and getattr(msd, "report_structure", None):
        metadata_structure(w, msd, el)
        return
    if w.full and msd.attributes.components:
        raise w.not_expressible("an SDMX 3.0 metadata structure (attributes without metadata targets or report structures)")


@ML21.register(v21.MetadataTarget)
def metadata_target(w, target: v21.MetadataTarget, parent: etree._Element) -> None:
    el = etree.SubElement(parent, w.s("MetadataTarget"), id=target.id)
    w.annotations(el, target)
    for component in target.components:
        w.write(component, el)


@ML21.register(v21.TargetObject)
def target_object(w, obj, parent: etree._Element) -> None:
    for cls, tag, fixed_id, text_type in TARGETS:
        if isinstance(obj, cls):
            break
    else:
        raise w.not_expressible(f"a metadata target object {type(obj).__name__}")
    el = etree.SubElement(parent, w.s(tag))
    # sdmx1 reads a target whose id the schema fixes (and so leaves out) without an id.
    if obj.id and obj.id != common.MissingID:
        if fixed_id and obj.id != fixed_id:
            raise w.not_expressible(f"a {tag} with the id {obj.id} (the schema fixes {fixed_id})")
        el.set("id", obj.id)
    elif not fixed_id:
        raise ValueError(f"MSD {w.artefact.id}: a {tag} without an id")
    w.annotations(el, obj)
    if isinstance(obj, v21.IdentifiableObjectTarget):
        object_type = obj.object_type
        if object_type is None:
            raise ValueError(f"MSD {w.artefact.id}: identifiable object target {obj.id} has no object type")
        el.set("objectType", OBJECT_TYPES.get(object_type.__name__, object_type.__name__))
    rep = obj.local_representation
    if isinstance(obj, v21.IdentifiableObjectTarget) and rep is not None and rep.enumerated is not None:
        # Any item scheme (ItemSchemeReferenceType), e.g. the categories a report is about.
        w.maintainable_ref(etree.SubElement(el, w.s("LocalRepresentation")), "Enumeration", rep.enumerated)
        return
    # The text type is fixed by the schema for every target but the report period, whose
    # type is a time type; sdmx1 reads an absent one as String.
    local = etree.SubElement(el, w.s("LocalRepresentation"))
    text = etree.SubElement(local, w.s("TextFormat"), textType=text_type)
    if isinstance(obj, v21.ReportPeriodTarget):
        facets = list(rep.non_enumerated) if rep else []
        chosen = next((f.value_type for f in facets if f.value_type is not None), None)
        if chosen is not None and text_type_of(w, chosen) in TIME_TYPES:
            text.set("textType", text_type_of(w, chosen))


@ML21.register(v21.ReportStructure)
def report_structure(w, report: v21.ReportStructure, parent: etree._Element) -> None:
    el = etree.SubElement(parent, w.s("ReportStructure"), id=report.id)
    w.annotations(el, report)
    for attribute in report.components:
        w.write(attribute, el)
    for target in report.report_for:
        w.local_ref(el, "MetadataTarget", target.id, None)


@ML21.register(common.MetadataAttribute)
def metadata_attribute(w, attribute: common.MetadataAttribute, parent: etree._Element) -> None:
    el = etree.SubElement(parent, w.s("MetadataAttribute"), id=attribute.id)
    w.annotations(el, attribute)
    if attribute.concept_identity is None:
        raise ValueError(f"MSD {w.artefact.id}: metadata attribute {attribute.id} has no concept identity")
    w.item_ref(el, "ConceptIdentity", attribute.concept_identity)
    representation(w, el, "LocalRepresentation", attribute.local_representation)
    for child in attribute.child:
        w.write(child, el)
    if attribute.min_occurs is not None:
        el.set("minOccurs", str(attribute.min_occurs))
    if attribute.max_occurs is not None:
        # sdmx1 reads "unbounded" as None, like an absent maxOccurs; either way nothing is written.
        el.set("maxOccurs", str(attribute.max_occurs))
    if attribute.is_presentational:
        el.set("isPresentational", "true")
