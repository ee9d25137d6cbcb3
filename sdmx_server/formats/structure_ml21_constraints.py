"""SDMX-ML 2.1 content constraints and provision agreements.

A ContentConstraint (2.1) or DataConstraint (3.0) is written as str:ContentConstraint: its
attachment (the constrained dataflows, structures, provision agreements or data provider), then
its key set and cube regions, whose key values (dimensions) and attributes are in the common
namespace. The region helpers take the element names from the writer (`region_tags`), so that
the SDMX-ML 3.0 writer reuses them with its own.
"""

from __future__ import annotations

from datetime import datetime

from lxml import etree
from sdmx.model import common, v21, v30

from sdmx_server.formats.ml21 import format_datetime
from sdmx_server.formats.structure_ml21_dispatch import ML21, agency_id, is_false, version_of

ROLES = {common.ConstraintRoleType.actual: "Actual", common.ConstraintRoleType.allowable: "Allowed"}


def role(constraint) -> str | None:
    value = getattr(constraint.role, "role", None)
    return ROLES.get(value) if value is not None else None


@ML21.register(v21.ContentConstraint, v30.DataConstraint)
def content_constraint(w, constraint, el: etree._Element) -> None:
    # The type is optional in the schema, but sdmx1's reader needs it, even in a stub.
    el.set("type", role(constraint) or "Actual")
    if not w.full:
        return
    if getattr(constraint, "metadata_content_region", None) is not None:
        raise w.not_expressible("a metadata target region")
    attachment(w, el, constraint.content)
    keys_and_regions(w, el, constraint)


def keys_and_regions(w, el: etree._Element, constraint) -> None:
    keys = constraint.data_content_keys
    if keys is not None and keys.keys:
        w.write(keys, el)
    for region in constraint.data_content_region:
        w.write(region, el)


def attachment(w, el: etree._Element, content) -> None:
    """str:ConstraintAttachment: one data provider, or artefacts of a single kind."""
    if not content:
        return
    targets = sorted(((attachment_tag(w, target), target) for target in content), key=attachment_order)
    tags = {tag for tag, _ in targets}
    if len(tags) > 1 or ("DataProvider" in tags and len(targets) > 1):
        raise w.not_expressible(f"a constraint attached to {', '.join(sorted(tags))} together")
    holder = etree.SubElement(el, w.s("ConstraintAttachment"))
    for tag, target in targets:
        w.any_ref(holder, tag, target)


def attachment_order(pair) -> tuple[str, ...]:
    tag, target = pair
    if isinstance(target, common.MaintainableArtefact):
        return (tag, agency_id(target), target.id, version_of(target))
    return (tag, "", target.id, "")


def attachment_tag(w, target) -> str:
    if isinstance(target, common.DataProvider):
        return "DataProvider"
    if isinstance(target, common.MaintainableArtefact):
        kind = w.kind_of(target)
        if kind.name in ("dataflow", "datastructure", "metadataflow", "metadatastructure", "provisionagreement"):
            return kind.urn_class
    raise w.not_expressible(f"a constraint attached to a {type(target).__name__}")


# --- keys and regions ------------------------------------------------------------------------------


@ML21.register(common.BaseDataKeySet)
def data_key_set(w, keys, el: etree._Element) -> None:
    key_tag, _, qualify = w.region_tags
    holder = etree.SubElement(el, w.s("DataKeySet"), isIncluded="false" if is_false(keys.included) else "true")
    for key in keys.keys:
        key_el = etree.SubElement(holder, w.s("Key"))
        for component, value in key.key_value.items():
            kv = etree.SubElement(key_el, qualify(w, key_tag), id=component.id)
            etree.SubElement(kv, qualify(w, "Value")).text = str(value.value)


@ML21.register(common.CubeRegion)
def cube_region(w, region: common.CubeRegion, el: etree._Element) -> None:
    key_tag, attribute_tag, qualify = w.region_tags
    # include is optional in the schema, but sdmx1's reader needs it.
    region_el = etree.SubElement(el, w.s("CubeRegion"), include="false" if is_false(region.included) else "true")
    selections = list(region.member.values())
    # Key values (dimensions) first, then the other components, as the schema orders them.
    dims = [s for s in selections if isinstance(s.values_for, common.DimensionComponent)]
    others = [s for s in selections if not isinstance(s.values_for, common.DimensionComponent)]
    for tag, group in ((key_tag, dims), (attribute_tag, others)):
        for selection in group:
            member_selection(w, region_el, qualify(w, tag), selection)


def member_selection(w, parent: etree._Element, qname: str, selection) -> None:
    _, _, qualify = w.region_tags
    el = etree.SubElement(parent, qname, id=selection.values_for.id)
    if is_false(selection.included):
        el.set("include", "false")
    if getattr(selection, "remove_prefix", False):
        w.member_selection_extras(el, selection)
    for value in selection.values:
        if isinstance(value, common.BaseMemberValue):
            value_el = etree.SubElement(el, qualify(w, "Value"))
            value_el.text = str(value.value)
            if value.cascade_values:
                value_el.set("cascadeValues", "true")
            w.selection_validity(value_el, value)
        else:
            time_range(w, el, value)


def time_range(w, parent: etree._Element, value) -> None:
    _, _, qualify = w.region_tags
    el = etree.SubElement(parent, qualify(w, "TimeRange"))
    if isinstance(value, (v21.BeforePeriod, v30.BeforePeriod)):
        period(w, el, "BeforePeriod", value)
    elif isinstance(value, (v21.AfterPeriod, v30.AfterPeriod)):
        period(w, el, "AfterPeriod", value)
    elif isinstance(value, (v21.RangePeriod, v30.RangePeriod)):
        if value.start is None or value.end is None:
            raise w.not_expressible("a time range with one bound (use BeforePeriod or AfterPeriod)")
        period(w, el, "StartPeriod", value.start)
        period(w, el, "EndPeriod", value.end)
    else:
        raise w.not_expressible(f"a selection value {type(value).__name__}")


def period(w, parent: etree._Element, tag: str, value: common.Period) -> None:
    _, _, qualify = w.region_tags
    el = etree.SubElement(parent, qualify(w, tag))
    el.text = period_text(value.period)
    # Optional (default true) in the schemas, but sdmx1's readers fail without it.
    el.set("isInclusive", "false" if is_false(value.is_inclusive) else "true")


def period_text(value) -> str:
    """A time period: a date when sdmx1's datetime is a plain day, else a dateTime."""
    if isinstance(value, datetime):
        if value.tzinfo is None and (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
            return value.date().isoformat()
        return format_datetime(value)
    return str(value)


# --- provision agreements --------------------------------------------------------------------------


@ML21.register(common.ProvisionAgreement)
def provision_agreement(w, agreement: common.ProvisionAgreement, el: etree._Element) -> None:
    # Both references are required, even in a stub.
    if agreement.structure_usage is None or agreement.data_provider is None:
        raise ValueError(f"provision agreement {agreement.id} needs a dataflow and a data provider")
    w.maintainable_ref(el, w.provision_usage_tag, agreement.structure_usage)
    w.item_ref(el, "DataProvider", agreement.data_provider)
