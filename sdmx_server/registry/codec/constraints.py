"""Data constraints: SDMX 2.1 ContentConstraint and SDMX 3.0 DataConstraint.

sdmx1's SDMX-ML readers keep some flags as the XML text ("true"); they are written as JSON
booleans. The constrained components are found in the attached structure (the dataflow's
DSD, or the DSD itself); when it is not held, bare components with the ids are made, as
sdmx1's reader does. A release calendar (plain attribute `release_calendar`, a dict) and
attachment to simple data sources (`simple_data_sources`) are kept when the JSON gives them.
"""

from __future__ import annotations

from typing import Any

from sdmx.model import common, v21, v30

from sdmx_server.registry.codec.base import (
    boolean, decode_annotations, fail, get_bool, get_obj, get_objs, get_str, get_strs, put_annotations, time_text,
    type_name,
)
from sdmx_server.registry.codec.core import Decoder, Encoder, check_id, decode_header, decodes, encodes

_ROLE_OUT = {"allowable": "Allowed", "actual": "Actual"}
_ROLE_IN = {"allowed": "allowable", "allowable": "allowable", "actual": "actual"}

#: constraint attachment member -> the kinds it holds, in output order.
_ATTACHMENT = (("dataProvider", None), ("dataStructures", "datastructure"), ("dataflows", "dataflow"),
               ("provisionAgreements", "provisionagreement"))


# -- encoding ---------------------------------------------------------------------------------


def _period(p: Any) -> dict:
    return {"period": time_text(p.period), "isInclusive": bool(boolean(p.is_inclusive))}


def _time_range(value: Any) -> dict | None:
    if isinstance(value, (v21.BeforePeriod, v30.BeforePeriod)):
        return {"beforePeriod": _period(value)}
    if isinstance(value, (v21.AfterPeriod, v30.AfterPeriod)):
        return {"afterPeriod": _period(value)}
    if isinstance(value, (v21.RangePeriod, v30.RangePeriod)):
        out = {}
        if value.start is not None:
            out["startPeriod"] = _period(value.start)
        if value.end is not None:
            out["endPeriod"] = _period(value.end)
        return out
    return None


def _selection(ms: Any) -> dict:
    out: dict[str, Any] = {"id": str(ms.values_for.id)}
    if boolean(ms.included) is False:
        out["include"] = False
    if getattr(ms, "remove_prefix", False):
        out["removePrefix"] = True
    values = []
    for v in ms.values:
        time_range = _time_range(v)
        if time_range is not None:
            out["timeRange"] = time_range
            continue
        cascade = getattr(v, "cascade_values", None)
        valid_from, valid_to = time_text(getattr(v, "valid_from", None)), time_text(getattr(v, "valid_to", None))
        if cascade is None and not valid_from and not valid_to:
            values.append(str(v.value))
            continue
        d: dict[str, Any] = {"value": str(v.value)}
        if cascade is not None:
            d["cascadeValues"] = cascade if cascade == "excluderoot" else bool(boolean(cascade))
        if valid_from:
            d["validFrom"] = valid_from
        if valid_to:
            d["validTo"] = valid_to
        values.append(d)
    if values:
        out["values"] = values
    return out


def _cube_region(cr: Any) -> dict:
    out: dict[str, Any] = {}
    if boolean(cr.included) is False:
        out["include"] = False
    put_annotations(out, cr)
    keys, components = [], []
    for component, ms in cr.member.items():
        (keys if isinstance(component, common.DimensionComponent) else components).append(_selection(ms))
    if components:
        out["components"] = components
    if keys:
        out["keyValues"] = keys
    return out


def _data_key_set(dks: Any) -> dict:
    keys = []
    for key in dks.keys:
        d: dict[str, Any] = {}
        put_annotations(d, key)
        d["keyValues"] = [{"id": str(c.id), "value": str(getattr(cv, "value", cv))} for c, cv in key.key_value.items()]
        for field, member in (("valid_from", "validFrom"), ("valid_to", "validTo")):
            value = time_text(getattr(key, field, None))
            if value:
                d[member] = value
        keys.append(d)
    return {"isIncluded": bool(boolean(dks.included)), "keys": keys}


@encodes(v21.ContentConstraint, v30.DataConstraint)
def _constraint(c: Any, out: dict, enc: Encoder) -> None:
    if c.role is not None:
        out["role"] = _ROLE_OUT[c.role.role.name]
    attachment: dict[str, Any] = {}
    groups: dict[str, list[str]] = {}
    for obj in c.content or ():
        if isinstance(obj, common.DataProvider):
            attachment["dataProvider"] = enc.item_ref(obj)
            continue
        kind = enc_kind(obj)
        member = next((m for m, k in _ATTACHMENT if k == kind), None)
        if member is None:
            raise ValueError(f"a data constraint cannot be attached to {obj!r}")
        groups.setdefault(member, []).append(enc.ref(obj))
    for member, _ in _ATTACHMENT:
        if member in groups:
            attachment[member] = sorted(set(groups[member]))
    sources = getattr(c, "simple_data_sources", None)
    if sources:
        attachment["simpleDataSources"] = list(sources)
    if attachment:
        out["constraintAttachment"] = attachment
    calendar = getattr(c, "release_calendar", None)
    if calendar:
        out["releaseCalendar"] = {k: str(calendar[k]) for k in ("offset", "periodicity", "tolerance") if k in calendar}
    if c.data_content_keys is not None:
        out["dataKeySets"] = [_data_key_set(c.data_content_keys)]
    regions = [_cube_region(cr) for cr in c.data_content_region or ()]
    if regions:
        out["cubeRegions"] = regions


def enc_kind(obj: Any) -> str:
    from sdmx_server.kinds import kind_of

    return kind_of(obj).name


# -- decoding ---------------------------------------------------------------------------------


class _Components:
    """The components a constraint names, from its attached structure when known."""

    def __init__(self, content: list):
        self.dsd = None
        for obj in content:
            dsd = obj
            if isinstance(obj, common.ProvisionAgreement):
                dsd = getattr(obj.structure_usage, "structure", None)
            elif isinstance(obj, common.BaseDataflow):
                dsd = obj.structure
            if isinstance(dsd, common.BaseDataStructureDefinition) and dsd.dimensions.components:
                self.dsd = dsd
                break
        self.made: dict[tuple[bool, str], Any] = {}

    def get(self, component_id: str, dimension: bool) -> Any:
        if self.dsd is not None:
            lists = (self.dsd.dimensions,) if dimension else (self.dsd.attributes, self.dsd.measures,
                                                              self.dsd.dimensions)
            for cl in lists:
                for c in cl.components:
                    if c.id == component_id:
                        return c
        key = (dimension, component_id)
        if key not in self.made:
            self.made[key] = (common.Dimension if dimension else common.DataAttribute)(id=component_id)
        return self.made[key]


def _read_period(o: dict, key: str, path: str, cls: type) -> Any:
    p = get_obj(o, key, path)
    if p is None:
        return None
    ppath = f"{path}/{key}"
    inclusive = get_bool(p, "isInclusive", ppath)
    return cls(is_inclusive=True if inclusive is None else inclusive, period=get_str(p, "period", ppath, True))


def _read_selection(o: dict, path: str, components: _Components, dimension: bool) -> Any:
    component = components.get(check_id(get_str(o, "id", path), path), dimension)
    values: list = []
    for i, v in enumerate(o.get("values") or []):
        vpath = f"{path}/values/{i}"
        if type(v) is str:
            values.append(v30.MemberValue(value=v))
        elif type(v) is dict:
            cascade = v.get("cascadeValues")
            if cascade is not None and type(cascade) is not bool and cascade != "excluderoot":
                raise fail(f"{vpath}/cascadeValues", "expected a boolean or 'excluderoot'")
            values.append(v30.MemberValue(value=get_str(v, "value", vpath, True), cascade_values=cascade,
                                          valid_from=get_str(v, "validFrom", vpath),
                                          valid_to=get_str(v, "validTo", vpath)))
        else:
            raise fail(vpath, f"expected a string or an object, got {type_name(v)}")
    if type(o.get("values", [])) is not list:
        raise fail(f"{path}/values", "expected an array")
    for i, v in enumerate(get_strs(o, "cascadeValues", path)):  # SDMX-JSON 1.0
        values.append(v30.MemberValue(value=v, cascade_values=True))
    tr = get_obj(o, "timeRange", path)
    if tr is not None:
        tpath = f"{path}/timeRange"
        if "beforePeriod" in tr:
            values.append(_read_period(tr, "beforePeriod", tpath, v30.BeforePeriod))
        elif "afterPeriod" in tr:
            values.append(_read_period(tr, "afterPeriod", tpath, v30.AfterPeriod))
        else:
            values.append(v30.RangePeriod(start=_read_period(tr, "startPeriod", tpath, common.StartPeriod),
                                          end=_read_period(tr, "endPeriod", tpath, common.EndPeriod)))
    include = get_bool(o, "include", path)
    return v30.MemberSelection(values_for=component, included=True if include is None else include, values=values,
                               remove_prefix=bool(get_bool(o, "removePrefix", path)))


@decodes("dataconstraint")
def decode_constraint(obj: dict, path: str, dec: Decoder) -> Any:
    role_text = get_str(obj, "role", path) or get_str(obj, "type", path)  # 1.0 names it type
    role = None
    if role_text is not None:
        if role_text.lower() not in _ROLE_IN:
            raise fail(f"{path}/role", f"expected 'Allowed' or 'Actual', got {role_text[:50]!r}")
        role = common.ConstraintRole(role=common.ConstraintRoleType[_ROLE_IN[role_text.lower()]])
    content: list = []
    att = get_obj(obj, "constraintAttachment", path) or {}
    apath = f"{path}/constraintAttachment"
    provider = att.get("dataProvider")
    if provider is not None:
        content.append(dec.item(provider, f"{apath}/dataProvider"))
    for member, _ in _ATTACHMENT[1:]:
        for i, urn in enumerate(get_strs(att, member, apath)):
            content.append(dec.maintainable(urn, f"{apath}/{member}/{i}"))
    c = decode_header(obj, path, dec, v30.DataConstraint, role=role)
    c.content = content
    sources = get_strs(att, "simpleDataSources", apath)
    if sources:
        c.simple_data_sources = list(sources)
    calendar = get_obj(obj, "releaseCalendar", path)
    if calendar is not None:
        c.release_calendar = {k: get_str(calendar, k, f"{path}/releaseCalendar", True)
                              for k in ("offset", "periodicity", "tolerance")}
    components = _Components(content)
    regions = []
    for r, rpath in get_objs(obj, "cubeRegions", path):
        member = {}
        for key, dimension in (("components", False), ("attributes", False), ("keyValues", True)):  # 1.0: attributes
            for o, opath in get_objs(r, key, rpath):
                ms = _read_selection(o, opath, components, dimension)
                member[ms.values_for] = ms
        include = get_bool(r, "include", rpath)
        if include is None:
            include = get_bool(r, "isIncluded", rpath)  # 1.0
        cr = common.CubeRegion(included=True if include is None else include, member=member)
        annotations = decode_annotations(r, rpath)
        if annotations:
            cr.annotations = annotations
        regions.append(cr)
    c.data_content_region = regions
    key_sets = get_objs(obj, "dataKeySets", path)
    if len(key_sets) > 1:
        raise fail(f"{path}/dataKeySets", "sdmx1 holds one data key set per constraint")
    for ks, kpath in key_sets:
        keys = []
        for k, kkpath in get_objs(ks, "keys", kpath):
            key_value = {}
            for kv, kvpath in get_objs(k, "keyValues", kkpath):
                component = components.get(check_id(get_str(kv, "id", kvpath), kvpath), True)
                key_value[component] = common.ComponentValue(value_for=component,
                                                             value=get_str(kv, "value", kvpath, True))
            key = v30.DataKey(included=True, key_value=key_value, valid_from=get_str(k, "validFrom", kkpath),
                              valid_to=get_str(k, "validTo", kkpath))
            annotations = decode_annotations(k, kkpath)
            if annotations:
                key.annotations = annotations
            keys.append(key)
        included = get_bool(ks, "isIncluded", kpath)
        c.data_content_keys = v30.DataKeySet(included=True if included is None else included, keys=keys)
    return c
