"""Data structure definitions and dataflows.

Both families are written as SDMX 3.0 says them: a v21 PrimaryMeasure is a measure, a
NoSpecifiedRelationship a `dataflow` relationship, a PrimaryMeasureRelationship an
`observation` one. What SDMX-JSON 2.0 cannot say is kept in `x-sdmx`:

- `measureDimensions`: {dimension id: {"localRepresentation": ...}} for SDMX 2.1 measure
  dimensions (their representation enumerates a concept scheme, which 3.0 does not allow);
  they are read back as v21.MeasureDimension, the only sdmx1 class that means it.
- `attachmentGroups`: {attribute id: group id}, SDMX 2.1's AttachmentGroup of an attribute
  that also names its dimensions.

Plain attributes keep what sdmx1 has no field for: `measure_relationship` (measure ids) and
`concept_roles` (all roles; sdmx1 holds one in `concept_role`) of components,
`are_dimensions_optional` of a DimensionRelationship, `usage_status` of a Measure.
"""

from __future__ import annotations

from typing import Any

from sdmx.model import common, v21, v30

from sdmx_server.registry.codec.base import (
    X, fail, get_list, get_obj, get_objs, get_str, get_strs, put_annotations, decode_annotations,
)
from sdmx_server.registry.codec.core import Decoder, Encoder, check_id, decode_header, decodes, encodes
from sdmx_server.registry.codec.representation import decode_representation, encode_representation

_DATAFLOW_REL = (v21.NoSpecifiedRelationship, v30.DataflowRelationship)
_OBSERVATION_REL = (v21.PrimaryMeasureRelationship, v30.ObservationRelationship)


# -- encoding ---------------------------------------------------------------------------------


def _concept_part(component: Any, out: dict, enc: Encoder, roles: bool = True) -> None:
    if component.concept_identity is not None:
        out["conceptIdentity"] = enc.item_ref(component.concept_identity)
    if roles:
        values = getattr(component, "concept_roles", None) or (
            [component.concept_role] if getattr(component, "concept_role", None) is not None else [])
        if values:
            out["conceptRoles"] = [enc.item_ref(c) for c in values]


def _usage(component: Any, out: dict) -> None:
    status = getattr(component, "usage_status", None)
    if status is not None:
        out["usage"] = "mandatory" if getattr(status, "name", status) == "mandatory" else "optional"


def encode_relationship(attr: Any, enc: Encoder) -> dict | None:
    rel = attr.related_to
    if rel is None:
        return None
    if isinstance(rel, _DATAFLOW_REL):
        return {"dataflow": {}}
    if isinstance(rel, _OBSERVATION_REL):
        return {"observation": {}}
    if isinstance(rel, common.DimensionRelationship) and rel.dimensions:
        out: dict[str, Any] = {"dimensions": [str(d.id) for d in rel.dimensions]}
        optional = getattr(rel, "are_dimensions_optional", None)
        if optional:
            out["areDimensionsOptional"] = [bool(v) for v in optional]
        if rel.group_key is not None:
            enc.x.setdefault("attachmentGroups", {})[str(attr.id)] = str(rel.group_key.id)
        return out
    group = getattr(rel, "group_key", None)
    if group is not None:
        return {"group": str(group.id)}
    return None


def _attribute(attr: Any, enc: Encoder) -> dict:
    out: dict[str, Any] = {"id": str(attr.id)}
    put_annotations(out, attr)
    _usage(attr, out)
    rel = encode_relationship(attr, enc)
    if rel is not None:
        out["attributeRelationship"] = rel
    measures = getattr(attr, "measure_relationship", None)
    if measures:
        out["measureRelationship"] = [str(getattr(m, "id", m)) for m in measures]
    _concept_part(attr, out, enc)
    rep = encode_representation(attr.local_representation, enc)
    if rep:
        out["localRepresentation"] = rep
    return out


def _metadata_attribute_usage(mau: Any, enc: Encoder) -> dict:
    out: dict[str, Any] = {}
    put_annotations(out, mau)
    target = getattr(mau, "metadata_attribute", None)
    out["metadataAttributeReference"] = str(getattr(target, "target_id", None) or getattr(target, "id", None)
                                            or mau.id)
    rel = encode_relationship(mau, enc)
    if rel is not None:
        out["attributeRelationship"] = rel
    return out


def _dimension(dim: Any, position: int, enc: Encoder) -> dict:
    out: dict[str, Any] = {"id": str(dim.id)}
    put_annotations(out, dim)
    out["position"] = dim.order if isinstance(dim.order, int) else position
    _concept_part(dim, out, enc)
    rep = encode_representation(dim.local_representation, enc)
    if isinstance(dim, v21.MeasureDimension):
        if rep:
            enc.x.setdefault("measureDimensions", {})[str(dim.id)] = {"localRepresentation": rep}
    elif rep:
        out["localRepresentation"] = rep
    return out


def _time_dimension(dim: Any, enc: Encoder) -> dict:
    out: dict[str, Any] = {"id": str(dim.id)}
    put_annotations(out, dim)
    _concept_part(dim, out, enc, roles=False)
    rep = encode_representation(dim.local_representation, enc)
    if rep:
        out["localRepresentation"] = rep
    return out


def _component_list(cl: Any, fixed_id: str) -> dict:
    out: dict[str, Any] = {"id": fixed_id}
    put_annotations(out, cl)
    return out


@encodes(v21.DataStructureDefinition, v30.DataStructureDefinition)
def _dsd(dsd: Any, out: dict, enc: Encoder) -> None:
    comps: dict[str, Any] = {}
    attributes, usages = [], []
    for a in dsd.attributes.components:
        if isinstance(a, v30.MetadataAttributeUsage):
            usages.append(_metadata_attribute_usage(a, enc))
        else:
            attributes.append(_attribute(a, enc))
    if attributes or usages or dsd.attributes.annotations:
        al = _component_list(dsd.attributes, "AttributeDescriptor")
        if attributes:
            al["attributes"] = attributes
        if usages:
            al["metadataAttributeUsages"] = usages
        comps["attributeList"] = al
    dl = _component_list(dsd.dimensions, "DimensionDescriptor")
    dims = [d for d in dsd.dimensions.components if not isinstance(d, common.TimeDimension)]
    if dims:
        dl["dimensions"] = [_dimension(d, i + 1, enc) for i, d in enumerate(dims)]
    times = [d for d in dsd.dimensions.components if isinstance(d, common.TimeDimension)]
    if times:
        dl["timeDimension"] = _time_dimension(times[0], enc)
        # SDMX-JSON has no position for the time dimension: it comes after the others, unless
        # x-sdmx says where
        index = dsd.dimensions.components.index(times[0])
        order = times[0].order if isinstance(times[0].order, int) else index + 1
        after = max((d["position"] for d in dl.get("dimensions", [])), default=0) + 1
        if index != len(dsd.dimensions.components) - 1 or order != after:
            enc.x["timeDimensionPosition"] = order
    comps["dimensionList"] = dl
    groups = []
    for g in dsd.group_dimensions.values():
        gd: dict[str, Any] = {"id": str(g.id)}
        put_annotations(gd, g)
        gd["groupDimensions"] = [str(d.id) for d in g.components]
        groups.append(gd)
    if groups:
        comps["groups"] = groups
    measures = []
    for m in dsd.measures.components:
        md: dict[str, Any] = {"id": str(m.id)}
        put_annotations(md, m)
        _usage(m, md)
        _concept_part(m, md, enc)
        rep = encode_representation(m.local_representation, enc)
        if rep:
            md["localRepresentation"] = rep
        measures.append(md)
    if measures or dsd.measures.annotations:
        ml = _component_list(dsd.measures, "MeasureDescriptor")
        if measures:
            ml["measures"] = measures
        comps["measureList"] = ml
    if len(comps) > 1 or len(dl) > 1:  # a stub, or a DSD built empty, has no components
        out["dataStructureComponents"] = comps
    msd = getattr(dsd, "metadata", None)
    if msd is not None:
        out["metadata"] = enc.ref(msd)


@encodes(v21.DataflowDefinition, v30.Dataflow)
def _dataflow(df: Any, out: dict, enc: Encoder) -> None:
    structure = df.structure
    if structure is not None and structure.id:
        out["structure"] = enc.ref(structure)


# -- decoding ---------------------------------------------------------------------------------


def _read_concept(component: Any, o: dict, path: str, dec: Decoder) -> None:
    urn = o.get("conceptIdentity")
    if urn is not None:
        component.concept_identity = dec.item(urn, f"{path}/conceptIdentity")
    roles = [dec.item(u, f"{path}/conceptRoles/{i}") for i, u in enumerate(get_strs(o, "conceptRoles", path))]
    if roles:
        component.concept_role = roles[0]
        if len(roles) > 1:
            component.concept_roles = roles


def _component(cls: type, o: dict, path: str, dec: Decoder, **fields: Any) -> Any:
    component_id = get_str(o, "id", path)
    if component_id is None and o.get("conceptIdentity") is not None:
        # SDMX: "if the id is not supplied, it is the id of the concept identity"
        component_id = dec.urn(o["conceptIdentity"], f"{path}/conceptIdentity").item
    component = cls(id=check_id(component_id, path), annotations=decode_annotations(o, path), **fields)
    _read_concept(component, o, path, dec)
    rep = get_obj(o, "localRepresentation", path)
    if rep is not None:
        component.local_representation = decode_representation(rep, f"{path}/localRepresentation", dec)
    return component


def _read_usage(component: Any, o: dict, path: str) -> None:
    usage = get_str(o, "usage", path) or get_str(o, "assignmentStatus", path)  # 1.0: Mandatory/Conditional
    if usage is None:
        return
    if usage.lower() not in ("mandatory", "optional", "conditional"):
        raise fail(f"{path}/usage", f"expected 'mandatory' or 'optional', got {usage[:50]!r}")
    component.usage_status = common.UsageStatus.mandatory if usage.lower() == "mandatory" else \
        common.UsageStatus.conditional


def _read_relationship(o: dict, path: str, dsd: Any, attr_id: str, dec: Decoder) -> Any:
    rel = get_obj(o, "attributeRelationship", path)
    if rel is None:
        return None
    rpath = f"{path}/attributeRelationship"
    dims = {d.id: d for d in dsd.dimensions.components}
    if "dataflow" in rel or "none" in rel:  # 1.0 says none
        return v30.DataflowRelationship()
    if "observation" in rel or "primaryMeasure" in rel:  # 1.0 names the primary measure
        return v30.ObservationRelationship()
    ids = get_strs(rel, "dimensions", rpath)
    group_id = get_str(rel, "group", rpath)
    groups = get_strs(rel, "attachmentGroups", rpath)  # 1.0
    attached = dec.x_obj("attachmentGroups").get(attr_id)
    if attached is not None and type(attached) is not str:
        raise fail(f"/{X}/attachmentGroups/{attr_id}", "expected a string")
    group_id = attached or (groups[0] if groups and ids else group_id)
    group = None
    if group_id is not None:
        group = dsd.group_dimensions.get(group_id)
        if group is None:
            raise fail(rpath, f"no group {group_id!r} in this structure")
    if ids:
        missing = [i for i in ids if i not in dims]
        if missing:
            raise fail(f"{rpath}/dimensions", f"no dimension {missing[0]!r} in this structure")
        out = common.DimensionRelationship(dimensions=[dims[i] for i in ids], group_key=group)
        optional = get_list(rel, "areDimensionsOptional", rpath)
        if optional:
            out.are_dimensions_optional = [bool(v) for v in optional]
        return out
    if group is not None:
        return common.GroupRelationship(group_key=group)
    return None


@decodes("datastructure")
def decode_dsd(obj: dict, path: str, dec: Decoder) -> Any:
    dsd = decode_header(obj, path, dec, v30.DataStructureDefinition)
    comps = get_obj(obj, "dataStructureComponents", path) or {}
    cpath = f"{path}/dataStructureComponents"
    measure_dims = dec.x_obj("measureDimensions")

    dl = get_obj(comps, "dimensionList", cpath) or {}
    dpath = f"{cpath}/dimensionList"
    dsd.dimensions.annotations = decode_annotations(dl, dpath)
    dims = []
    times = [(t, f"{dpath}/timeDimension") for t in [get_obj(dl, "timeDimension", dpath)] if t is not None]
    for i, (o, opath) in enumerate(get_objs(dl, "dimensions", dpath)):
        if o.get("type") == "TimeDimension":  # 1.0 may say so
            times.append((o, opath))
            continue
        position = o.get("position")
        order = position if type(position) is int else i + 1
        if o.get("type") == "MeasureDimension":  # 1.0
            dim = _component(v21.MeasureDimension, o, opath, dec, order=order)
        elif o.get("id") in measure_dims:
            xpath = f"/{X}/measureDimensions/{o['id']}"
            extra = measure_dims[o["id"]]
            if type(extra) is not dict:
                raise fail(xpath, "expected an object")
            dim = _component(v21.MeasureDimension, o, opath, dec, order=order)
            rep = get_obj(extra, "localRepresentation", xpath)
            dim.local_representation = decode_representation(rep, xpath, dec)
        else:
            dim = _component(common.Dimension, o, opath, dec, order=order)
        dims.append(dim)
    # 1.0 keeps measure and time dimensions in lists of their own
    for o, opath in get_objs(dl, "measureDimensions", dpath):
        dims.append(_component(v21.MeasureDimension, o, opath, dec, order=o.get("position")
                               if type(o.get("position")) is int else len(dims) + 1))
    dims.sort(key=lambda d: d.order)
    times += get_objs(dl, "timeDimensions", dpath)
    position = dec.x.get("timeDimensionPosition")
    if position is not None and type(position) is not int:
        raise fail(f"/{X}/timeDimensionPosition", "expected the position of the time dimension")
    for o, opath in times:
        own = o.get("position")  # SDMX-JSON 1.0 gives the time dimension a position of its own
        order = position if position is not None else own if type(own) is int else \
            max((d.order for d in dims), default=0) + 1
        time = _component(common.TimeDimension, o, opath, dec, order=order)
        at = next((i for i, d in enumerate(dims) if d.order >= order), len(dims))
        dims.insert(at, time)
    seen = set()
    for d in dims:
        if d.id in seen:
            raise fail(dpath, f"duplicate dimension id {d.id!r}")
        seen.add(d.id)
    dsd.dimensions.components = dims

    for o, gpath in get_objs(comps, "groups", cpath):
        gid = check_id(get_str(o, "id", gpath), gpath)
        by_id = {d.id: d for d in dims}
        members = []
        for i, d in enumerate(get_strs(o, "groupDimensions", gpath)):
            if d not in by_id:
                raise fail(f"{gpath}/groupDimensions/{i}", f"no dimension {d!r} in this structure")
            members.append(by_id[d])
        dsd.group_dimensions[gid] = common.GroupDimensionDescriptor(
            id=gid, components=members, annotations=decode_annotations(o, gpath))

    msd_urn = obj.get("metadata")
    if msd_urn is not None:
        dsd.metadata = dec.maintainable(msd_urn, f"{path}/metadata")

    al = get_obj(comps, "attributeList", cpath) or {}
    apath = f"{cpath}/attributeList"
    dsd.attributes.annotations = decode_annotations(al, apath)
    attrs = []
    for member in ("attributes", "reportingYearStartDays"):  # the latter: 1.0
        for o, opath in get_objs(al, member, apath):
            attr = _component(common.DataAttribute, o, opath, dec)
            _read_usage(attr, o, opath)
            attr.related_to = _read_relationship(o, opath, dsd, attr.id, dec)
            measures = get_strs(o, "measureRelationship", opath)
            if measures:
                attr.measure_relationship = list(measures)
            attrs.append(attr)
    for o, opath in get_objs(al, "metadataAttributeUsages", apath):
        ref = check_id(get_str(o, "metadataAttributeReference", opath), opath, "metadataAttributeReference")
        target = None
        if dsd.metadata is not None and hasattr(dsd.metadata, "attributes"):
            target = next((a for a in _all_metadata_attributes(dsd.metadata) if a.id == ref), None)
        mau = v30.MetadataAttributeUsage(id=ref, annotations=decode_annotations(o, opath), metadata_attribute=target)
        mau.related_to = _read_relationship(o, opath, dsd, ref, dec)
        attrs.append(mau)
    dsd.attributes.components = attrs

    ml = get_obj(comps, "measureList", cpath) or {}
    mpath = f"{cpath}/measureList"
    dsd.measures.annotations = decode_annotations(ml, mpath)
    measures = []
    for o, opath in get_objs(ml, "measures", mpath):
        measure = _component(v30.Measure, o, opath, dec)
        _read_usage(measure, o, opath)
        measures.append(measure)
    primary = get_obj(ml, "primaryMeasure", mpath)  # 1.0
    if primary is not None:
        measures.append(_component(v30.Measure, primary, f"{mpath}/primaryMeasure", dec))
    dsd.measures.components = measures
    return dsd


def _all_metadata_attributes(msd: Any):
    stack = list(getattr(msd.attributes, "components", []))
    while stack:
        a = stack.pop(0)
        yield a
        stack.extend(getattr(a, "child", []) or [])


@decodes("dataflow")
def decode_dataflow(obj: dict, path: str, dec: Decoder) -> Any:
    fields = {}
    urn = obj.get("structure")
    if urn is not None:
        fields["structure"] = dec.maintainable(urn, f"{path}/structure")
    df = decode_header(obj, path, dec, v30.Dataflow, **fields)
    return df


__all__ = ["encode_relationship"]
