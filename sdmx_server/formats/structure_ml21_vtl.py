"""SDMX-ML 2.1 VTL schemes: custom types, name personalisations, rulesets, transformations,
user defined operators and VTL mappings (SDMXStructureTransformation.xsd; the same in 3.0 but
for VtlMapping's targets).

The schema requires attributes sdmx1's reader does not keep: the schemes' vtlVersion, a
transformation's isPersistent, a name personalisation's vtlArtefact, a ruleset's type and scope,
a mapping's alias. They are read from the model object when present (`vtl_version`,
`is_persistent`, `vtl_artefact`, `type`, `scope`, `alias`, as a loader may set them) and
otherwise given the value the SDMX samples use or the definition states.
"""

from __future__ import annotations

import re

from lxml import etree
from sdmx.model import common

from sdmx_server.formats.structure_ml21_dispatch import ML21, is_true
from sdmx_server.formats.structure_ml21_items import item_scheme

DEFAULT_VTL_VERSION = "2.0"  # the VTL version SDMX 2.1 and 3.0 refer to
RULESET = re.compile(r"define\s+(datapoint|hierarchical)\s+ruleset\s+\S+\s*\(\s*(variable|valuedomain)", re.I)
TO_VTL = {"basic": "Basic", "pivot": "Pivot", "basic-a2m": "Basic-A2M", "pivot-a2m": "Pivot-A2M"}
FROM_VTL = {"basic": "Basic", "unpivot": "Unpivot", "m2a": "M2A"}

VTL_DEFINITION_SCHEMES = (
    common.CustomTypeScheme,
    common.NamePersonalisationScheme,
    common.RulesetScheme,
    common.TransformationScheme,
    common.UserDefinedOperatorScheme,
)


@ML21.register(*VTL_DEFINITION_SCHEMES)
def vtl_definition_scheme(w, scheme, el: etree._Element) -> None:
    el.set("vtlVersion", str(getattr(scheme, "vtl_version", None) or DEFAULT_VTL_VERSION))  # required, even in a stub
    item_scheme(w, scheme, el)
    if w.full and isinstance(scheme, common.TransformationScheme):
        # The schemes the transformations use, in the schema's order.
        for tag, target in (
            ("VtlMappingScheme", scheme.vtl_mapping_scheme),
            ("NamePersonalisationScheme", scheme.name_personalisation_scheme),
            ("CustomTypeScheme", scheme.custom_type_scheme),
            ("RulesetScheme", scheme.ruleset_scheme),
            ("UserDefinedOperatorScheme", scheme.user_defined_operator_scheme),
        ):
            if isinstance(target, common.MaintainableArtefact) and target.id != common.MissingID:
                w.maintainable_ref(el, tag, target)


def text_child(w, el: etree._Element, tag: str, value, *, required: bool = False) -> None:
    if value is None and not required:
        return
    etree.SubElement(el, w.s(tag)).text = "" if value is None else str(value)


@ML21.register(common.CustomType)
def custom_type(w, obj: common.CustomType, parent: etree._Element) -> None:
    el = w.item_element(obj, parent, hierarchy=False)
    text_child(w, el, "VtlScalarType", obj.vtl_scalar_type, required=True)
    text_child(w, el, "DataType", obj.data_type or "String", required=True)
    text_child(w, el, "VtlLiteralFormat", obj.vtl_literal_format)
    text_child(w, el, "OutputFormat", obj.output_format)
    text_child(w, el, "NullValue", obj.null_value)


@ML21.register(common.NamePersonalisation)
def name_personalisation(w, obj: common.NamePersonalisation, parent: etree._Element) -> None:
    el = w.item_element(obj, parent, hierarchy=False)
    el.set("vtlArtefact", str(getattr(obj, "vtl_artefact", None) or "variable"))
    text_child(w, el, "VtlDefaultName", obj.vtl_default_name, required=True)
    text_child(w, el, "PersonalisedName", getattr(obj, "personalised_name", None), required=True)


@ML21.register(common.Ruleset)
def ruleset(w, obj: common.Ruleset, parent: etree._Element) -> None:
    el = w.item_element(obj, parent, hierarchy=False)
    stated = RULESET.search(obj.definition or "")
    el.set("rulesetType", obj.type or (stated.group(1).lower() if stated else "datapoint"))
    el.set("rulesetScope", obj.scope or (stated.group(2).lower() if stated else "variable"))
    text_child(w, el, "RulesetDefinition", obj.definition, required=True)


@ML21.register(common.Transformation)
def transformation(w, obj: common.Transformation, parent: etree._Element) -> None:
    el = w.item_element(obj, parent, hierarchy=False)
    el.set("isPersistent", "true" if is_true(getattr(obj, "is_persistent", False)) else "false")
    text_child(w, el, "Expression", obj.expression, required=True)
    text_child(w, el, "Result", obj.result, required=True)


@ML21.register(common.UserDefinedOperator)
def user_defined_operator(w, obj: common.UserDefinedOperator, parent: etree._Element) -> None:
    el = w.item_element(obj, parent, hierarchy=False)
    text_child(w, el, "OperatorDefinition", obj.definition, required=True)


def mapping_element(w, obj, parent: etree._Element, urn_class: str) -> etree._Element:
    """A str:VtlMapping, whose URN names what it maps (VtlDataflowMapping, VtlCodelistMapping,
    VtlConceptMapping)."""
    el = w.item_element(obj, parent, hierarchy=False)
    el.set("urn", w.child_urn(urn_class, obj.id))
    return el


@ML21.register(common.VTLDataflowMapping)
def vtl_dataflow_mapping(w, obj: common.VTLDataflowMapping, parent: etree._Element) -> None:
    if obj.dataflow_alias is None:
        raise ValueError(f"{w.artefact.id}: VTL mapping {obj.id} maps no dataflow")
    el = mapping_element(w, obj, parent, "VtlDataflowMapping")
    el.set("alias", str(getattr(obj, "alias", None) or obj.dataflow_alias.id))
    w.maintainable_ref(el, "Dataflow", obj.dataflow_alias)
    for tag, method, keys, names, space in (
        ("ToVtlMapping", obj.to_vtl_method, obj.to_vtl_subspace, TO_VTL, "ToVtlSubSpace"),
        ("FromVtlMapping", obj.from_vtl_method, obj.from_vtl_superspace, FROM_VTL, "FromVtlSuperSpace"),
    ):
        keys = list(keys or [])
        if isinstance(method, (list, tuple)):  # sdmx1 declares from_vtl_method a list, empty by default
            method = method[0] if method else None
        if method is None and not keys:
            continue
        mapping = etree.SubElement(el, w.s(tag))
        if method is not None:
            mapping.set("method", names.get(method.name, method.name))
        if keys:
            space_el = etree.SubElement(mapping, w.s(space))
            for key in keys:
                etree.SubElement(space_el, w.s("Key")).text = getattr(key, "key", str(key))


@ML21.register(common.VTLConceptMapping)
def vtl_concept_mapping(w, obj: common.VTLConceptMapping, parent: etree._Element) -> None:
    if obj.concept_alias is None:
        raise ValueError(f"{w.artefact.id}: VTL mapping {obj.id} maps no concept")
    if isinstance(obj.concept_alias, common.MaintainableArtefact):
        # sdmx1's reader (and the codec) hold a mapped codelist where a concept would be
        el = mapping_element(w, obj, parent, "VtlCodelistMapping")
        el.set("alias", str(getattr(obj, "alias", None) or obj.concept_alias.id))
        w.maintainable_ref(el, "Codelist", obj.concept_alias)
        return
    el = mapping_element(w, obj, parent, "VtlConceptMapping")
    el.set("alias", str(getattr(obj, "alias", None) or obj.concept_alias.id))
    w.item_ref(el, "Concept", obj.concept_alias)
