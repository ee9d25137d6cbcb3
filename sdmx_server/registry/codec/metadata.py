"""Reference metadata: metadata structures, metadataflows and metadata sets.

A v21 MetadataStructureDefinition is written as SDMX 3.0 says it: the metadata attributes of
its (first) report structure form the attribute list. SDMX 2.1's metadata targets and
report structures, which SDMX 3.0 dropped, are kept in `x-sdmx` (`metadataTargets`,
`reportStructures`) and read back as v21.MetadataTarget / v21.ReportStructure objects in the
plain attributes `target` and `report_structure` of the v30 MSD, so that an SDMX-ML 2.1
writer can still write them.

A metadata set is stored as the `metadataSets` object of an SDMX-JSON 2.0 metadata message.
sdmx1's v30.MetadataSet is thin; the codec's convention, which authoring follows too:
`metadata` is a list of v30 MetadataAttributeValue objects, each with the plain attributes
`value_for` (the MetadataAttribute, or its id), `child` (nested values) and optionally
`annotations`; TextAttributeValue.text holds text in languages, XHTMLAttributeValue.value
XHTML (a string, or {language: XHTML}), OtherUncodedAttributeValue.value a string, number or
boolean, CodedMetadataAttributeValue.value_of a Code. `attaches_to` holds the targets
(artefacts, items, or URN strings). A set reported against a metadata provision agreement
keeps its URN in the plain attribute `provision_agreement` (a string: sdmx1 has no class for
metadata provision agreements, so the registry never builds one).
"""

from __future__ import annotations

from typing import Any

from sdmx.model import common, v21, v30

import sdmx_server.kinds as kinds
from sdmx_server.registry.codec.base import (
    X, boolean, decode_annotations, fail, get_int, get_obj, get_objs, get_str, get_strs, istring, put_annotations,
    put_text, type_name,
)
from sdmx_server.registry.codec.core import Decoder, Encoder, check_id, decode_header, decodes, encodes
from sdmx_server.registry.codec.representation import decode_representation, encode_representation

_TARGETS = (v21.IdentifiableObjectTarget, v21.DimensionDescriptorValuesTarget, v21.ReportPeriodTarget,
            v21.DataSetTarget)


# -- metadata structures ----------------------------------------------------------------------


def _metadata_attribute(ma: Any, enc: Encoder) -> dict:
    out: dict[str, Any] = {"id": str(ma.id)}
    put_annotations(out, ma)
    presentational = boolean(ma.is_presentational)
    if presentational is not None:
        out["isPresentational"] = presentational
    if ma.max_occurs is not None:
        out["maxOccurs"] = "unbounded" if ma.max_occurs == "unbounded" else int(ma.max_occurs)
    if ma.min_occurs is not None:
        out["minOccurs"] = int(ma.min_occurs)
    if ma.concept_identity is not None:
        out["conceptIdentity"] = enc.item_ref(ma.concept_identity)
    rep = encode_representation(ma.local_representation, enc)
    if rep:
        out["localRepresentation"] = rep
    children = [_metadata_attribute(c, enc) for c in ma.child or ()]
    if children:
        out["metadataAttributes"] = children
    return out


def _object_type_name(cls: Any) -> str | None:
    if cls is None:
        return None
    if isinstance(cls, str):
        return cls
    for kind in kinds.KINDS:
        for qualified in kind.classes:
            if qualified.split(".")[1] == cls.__name__:
                return kind.urn_class
    return cls.__name__


def _target(target: Any, enc: Encoder) -> dict:
    out: dict[str, Any] = {"id": str(target.id)}
    put_annotations(out, target)
    objects = []
    for t in target.components:
        d: dict[str, Any] = {"type": type(t).__name__}
        if t.id:  # SDMX 2.1 fixes the ids of some target objects; sdmx1 leaves them missing
            d["id"] = str(t.id)
        put_annotations(d, t)
        object_type = _object_type_name(getattr(t, "object_type", None))
        if object_type:
            d["objectType"] = object_type
        rep = encode_representation(t.local_representation, enc)
        if rep:
            d["localRepresentation"] = rep
        objects.append(d)
    if objects:
        out["targetObjects"] = objects
    return out


@encodes(v21.MetadataStructureDefinition, v30.MetadataStructureDefinition)
def _msd(msd: Any, out: dict, enc: Encoder) -> None:
    reports = list((getattr(msd, "report_structure", None) or {}).values())
    if isinstance(msd, v30.MetadataStructureDefinition):
        attributes = list(msd.attributes.components)
        holder = msd.attributes
    else:
        attributes = list(reports[0].components) if reports else []
        holder = None
    mal: dict[str, Any] = {"id": "MetadataAttributeDescriptor"}
    if holder is not None:
        put_annotations(mal, holder)
    encoded_attributes = [_metadata_attribute(a, enc) for a in attributes]
    if encoded_attributes:
        mal["metadataAttributes"] = encoded_attributes
    if len(mal) > 1:
        out["metadataStructureComponents"] = {"metadataAttributeList": mal}
    targets = list((getattr(msd, "target", None) or {}).values())
    if targets:
        enc.x["metadataTargets"] = [_target(t, enc) for t in targets]
    if reports:
        encoded = []
        for i, rs in enumerate(reports):
            d: dict[str, Any] = {"id": str(rs.id)}
            put_annotations(d, rs)
            d["metadataTargets"] = [str(t.id) for t in getattr(rs, "report_for", ()) or ()]
            own = [_metadata_attribute(a, enc) for a in rs.components]
            # the first report structure's attributes are the attribute list: not repeated
            if i > 0 or own != encoded_attributes:
                d["metadataAttributes"] = own
            encoded.append(d)
        enc.x["reportStructures"] = encoded


def _decode_metadata_attribute(o: dict, path: str, dec: Decoder, parent: Any = None) -> Any:
    ma = common.MetadataAttribute(id=check_id(get_str(o, "id", path) or _concept_id(o, path, dec), path),
                                  annotations=decode_annotations(o, path))
    urn = o.get("conceptIdentity")
    if urn is not None:
        ma.concept_identity = dec.item(urn, f"{path}/conceptIdentity")
    rep = get_obj(o, "localRepresentation", path)
    if rep is not None:
        ma.local_representation = decode_representation(rep, f"{path}/localRepresentation", dec)
    presentational = o.get("isPresentational")
    if presentational is not None:
        if type(presentational) is not bool:
            raise fail(f"{path}/isPresentational", f"expected a boolean, got {type_name(presentational)}")
        ma.is_presentational = presentational
    max_occurs = o.get("maxOccurs")
    if max_occurs is not None:
        ma.max_occurs = "unbounded" if max_occurs == "unbounded" else get_int(o, "maxOccurs", path)
    ma.min_occurs = get_int(o, "minOccurs", path)
    ma.parent = parent
    ma.child = [_decode_metadata_attribute(c, cpath, dec, ma) for c, cpath in get_objs(o, "metadataAttributes", path)]
    return ma


def _concept_id(o: dict, path: str, dec: Decoder) -> str | None:
    urn = o.get("conceptIdentity")
    return dec.urn(urn, f"{path}/conceptIdentity").item if urn is not None else None


@decodes("metadatastructure")
def decode_msd(obj: dict, path: str, dec: Decoder) -> Any:
    msd = decode_header(obj, path, dec, v30.MetadataStructureDefinition)
    comps = get_obj(obj, "metadataStructureComponents", path) or {}
    cpath = f"{path}/metadataStructureComponents"
    if "reportStructures" in comps or "metadataTargets" in comps:
        mal, mpath, target_objs, report_objs = _from_10(comps, cpath)
    else:
        mal = get_obj(comps, "metadataAttributeList", cpath) or {}
        mpath = f"{cpath}/metadataAttributeList"
        target_objs = get_objs(dec.x, "metadataTargets", f"/{X}")
        report_objs = get_objs(dec.x, "reportStructures", f"/{X}")
    msd.attributes.annotations = decode_annotations(mal, mpath)
    msd.attributes.components = [_decode_metadata_attribute(o, opath, dec)
                                 for o, opath in get_objs(mal, "metadataAttributes", mpath)]
    targets = {}
    for t, tpath in target_objs:
        tid = check_id(get_str(t, "id", tpath), tpath)
        components = []
        for o, opath in get_objs(t, "targetObjects", tpath):
            cls_name = get_str(o, "type", opath, True)
            cls = next((c for c in _TARGETS if c.__name__ == cls_name), None)
            if cls is None:
                raise fail(f"{opath}/type", f"unknown target object type {cls_name[:50]!r}")
            target_id = get_str(o, "id", opath)
            component = cls(id=check_id(target_id, opath) if target_id is not None else common.MissingID,
                            annotations=decode_annotations(o, opath))
            object_type = get_str(o, "objectType", opath)
            if object_type is not None:
                component.object_type = v21.get_class(object_type) or object_type
            rep = get_obj(o, "localRepresentation", opath)
            if rep is not None:
                component.local_representation = decode_representation(rep, f"{opath}/localRepresentation", dec)
            components.append(component)
        targets[tid] = v21.MetadataTarget(id=tid, components=components, annotations=decode_annotations(t, tpath))
    reports = {}
    for i, (r, rpath) in enumerate(report_objs):
        rid = check_id(get_str(r, "id", rpath), rpath)
        if "metadataAttributes" in r:
            components = [_decode_metadata_attribute(o, opath, dec) for o, opath in get_objs(r, "metadataAttributes", rpath)]
        elif i == 0:
            components = list(msd.attributes.components)
        else:
            components = []
        report_for = []
        for j, tid in enumerate(get_strs(r, "metadataTargets", rpath)):
            if tid not in targets:
                raise fail(f"{rpath}/metadataTargets/{j}", f"no metadata target {tid!r}")
            report_for.append(targets[tid])
        reports[rid] = v21.ReportStructure(id=rid, components=components, report_for=report_for,
                                           annotations=decode_annotations(r, rpath))
    if targets:
        msd.target = targets
    if reports:
        msd.report_structure = reports
    return msd


#: SDMX-JSON 1.0 member of a metadata target -> sdmx1 class of its target objects.
_TARGETS_10 = (("dataSetTargets", "DataSetTarget"), ("identifiableObjectTargets", "IdentifiableObjectTarget"),
               ("keyDescriptorValuesTargets", "DimensionDescriptorValuesTarget"),
               ("reportPeriodTargets", "ReportPeriodTarget"))


def _from_10(comps: dict, path: str) -> tuple[dict, str, list, list]:
    """An SDMX-JSON 1.0 MSD's components in the stored form's terms: the attribute list (the
    first report structure's), and metadata targets and report structures as x-sdmx has them.
    (sdmx1 has no class for SDMX 2.1's constraint content targets; they are left out.)"""
    targets = []
    for t, tpath in get_objs(comps, "metadataTargets", path):
        objects = []
        for member, cls in _TARGETS_10:
            for o, opath in get_objs(t, member, tpath):
                objects.append(({**o, "type": cls}, opath))
        targets.append(({**t, "targetObjects": [o for o, _ in objects]}, tpath))
    reports = []
    first: dict = {}
    first_path = f"{path}/reportStructures/0"
    for i, (r, rpath) in enumerate(get_objs(comps, "reportStructures", path)):
        ids = [u.rsplit(".", 1)[-1] for u in get_strs(r, "metadataTargets", rpath)]
        out = {k: v for k, v in r.items() if k != "metadataAttributes"}
        out["metadataTargets"] = ids
        if i == 0:
            first = r
        else:
            out["metadataAttributes"] = r.get("metadataAttributes")
        reports.append((out, rpath))
    return first, first_path, targets, reports


# -- metadataflows ----------------------------------------------------------------------------


@encodes(v21.MetadataflowDefinition, v30.Metadataflow)
def _metadataflow(mf: Any, out: dict, enc: Encoder) -> None:
    structure = getattr(mf, "structure", None)
    if structure is not None and structure.id:
        out["structure"] = enc.ref(structure)
    targets = [enc.any_ref(t) for t in getattr(mf, "targets", None) or ()]
    if targets:
        out["targets"] = targets


def _target_ref(value: Any, path: str, dec: Decoder) -> Any:
    if type(value) is str and "*" in value:
        return value  # a wildcard reference names no one artefact
    return dec.item(value, path)


@decodes("metadataflow")
def decode_metadataflow(obj: dict, path: str, dec: Decoder) -> Any:
    mf = decode_header(obj, path, dec, v30.Metadataflow)
    urn = obj.get("structure")
    mf.structure = dec.maintainable(urn, f"{path}/structure") if urn is not None else None
    targets = [_target_ref(u, f"{path}/targets/{i}", dec) for i, u in enumerate(get_strs(obj, "targets", path))]
    if targets:
        mf.targets = targets
    return mf


# -- metadata sets ----------------------------------------------------------------------------

_SET_FIELDS = (("action", "action"), ("publication_period", "publicationPeriod"),
               ("publication_year", "publicationYear"), ("reporting_begin", "reportingBegin"),
               ("reporting_end", "reportingEnd"))


def _attribute_value(v: Any, enc: Encoder) -> dict:
    target = getattr(v, "value_for", None)
    out: dict[str, Any] = {"id": str(getattr(target, "id", target))}
    put_annotations(out, v)
    if isinstance(v, v30.XHTMLAttributeValue):
        out["format"] = {"dataType": "XHTML"}
        value = v.value
        if isinstance(value, dict):
            value = {lang: value[lang] for lang in sorted(value)}
        out["value"] = value
    elif isinstance(v, v30.TextAttributeValue):
        texts: dict = {}
        put_text(texts, "text", "texts", v.text)
        if texts:
            out["value"] = texts["texts"]
    elif isinstance(v, v30.CodedMetadataAttributeValue):
        code = getattr(v, "value_of", None)
        out["value"] = str(getattr(code, "id", None) or getattr(v, "value", ""))
    else:
        value = getattr(v, "value", None)
        if value is not None:
            out["value"] = value if isinstance(value, (str, int, float, bool)) else str(value)
    children = [_attribute_value(c, enc) for c in getattr(v, "child", None) or () if not isinstance(c, type)]
    if children:
        out["attributes"] = children
    return out


@encodes(v30.MetadataSet)
def _metadata_set(ms: Any, out: dict, enc: Encoder) -> None:
    for field, key in _SET_FIELDS:
        value = getattr(ms, field, None)
        if value is not None:
            out[key] = getattr(value, "name", None).title() if field == "action" else str(value)
    if ms.described_by is not None:
        out["metadataflow"] = enc.ref(ms.described_by)
    agreement = getattr(ms, "provision_agreement", None)
    if agreement is not None:
        out["metadataProvisionAgreement"] = enc.any_ref(agreement)
    targets = [enc.any_ref(t) for t in ms.attaches_to or ()]
    if targets:
        out["targets"] = targets
    values = [_attribute_value(v, enc) for v in ms.metadata or ()]
    if values:
        out["attributes"] = values


def _msd_attributes(ms: Any) -> dict:
    """Metadata attributes of the set's structure by id (empty when unknown)."""
    flow = ms.described_by
    msd = getattr(flow, "structure", None)
    found = {}
    stack = list(getattr(getattr(msd, "attributes", None), "components", None) or [])
    while stack:
        a = stack.pop()
        found.setdefault(a.id, a)
        stack.extend(a.child or ())
    return found


def _decode_value(o: dict, path: str, dec: Decoder, known: dict, parent: Any) -> Any:
    attr_id = check_id(get_str(o, "id", path), path)
    target = known.get(attr_id)
    value = o.get("value")
    fmt = get_obj(o, "format", path) or {}
    if fmt.get("dataType") == "XHTML":
        if type(value) is dict:
            value = dict(sorted(_texts(value, f"{path}/value").items()))
        elif type(value) is not str:
            raise fail(f"{path}/value", f"expected XHTML text, got {type_name(value)}")
        v: Any = v30.XHTMLAttributeValue(value=value)
    elif type(value) is dict:
        v = v30.TextAttributeValue(text=istring(dict(sorted(_texts(value, f"{path}/value").items()))))
    elif value is None:
        v = v30.UncodedMetadataAttributeValue()
    elif type(value) in (str, int, float, bool):
        rep = getattr(target, "local_representation", None)
        scheme = getattr(rep, "enumerated", None)
        if type(value) is str and isinstance(scheme, common.ItemScheme):
            v = v30.CodedMetadataAttributeValue()
            v.value_of = scheme.items.get(value) or dec.item(f"{dec.urn_of(scheme)}.{value}", f"{path}/value")
            v.value = value
        else:
            v = v30.OtherUncodedAttributeValue()
            v.value = value
    else:
        raise fail(f"{path}/value", f"expected a value, got {type_name(value)}")
    v.value_for = target if target is not None else attr_id
    v.parent = parent
    annotations = decode_annotations(o, path)
    if annotations:
        v.annotations = annotations
    v.child = [_decode_value(c, cpath, dec, known, v) for c, cpath in get_objs(o, "attributes", path)]
    return v


def _texts(value: dict, path: str) -> dict:
    for lang, text in value.items():
        if type(text) is not str:
            raise fail(f"{path}/{lang}", f"expected a string, got {type_name(text)}")
    return value


@decodes("metadataset")
def decode_metadata_set(obj: dict, path: str, dec: Decoder) -> Any:
    ms = decode_header(obj, path, dec, v30.MetadataSet)
    for field, key in _SET_FIELDS:
        value = get_str(obj, key, path)
        if value is None:
            continue
        if field == "action":
            try:
                value = common.ActionType[value.lower()]
            except KeyError:
                raise fail(f"{path}/action", f"unknown action {value[:50]!r}") from None
        setattr(ms, field, value)
    urn = obj.get("metadataflow")
    if urn is not None:
        ms.described_by = dec.maintainable(urn, f"{path}/metadataflow")
        ms.structured_by = getattr(getattr(ms.described_by, "structure", None), "attributes", None)
    urn = obj.get("metadataProvisionAgreement")
    if urn is not None:
        apath = f"{path}/metadataProvisionAgreement"
        u = dec.urn(urn, apath)
        if u.kind.name != "metadataprovisionagreement" or u.item:
            raise fail(apath, f"expected the URN of a metadata provision agreement, got one of a {u.cls}")
        ms.provision_agreement = urn  # kept as written: never resolved (see the module docstring)
    ms.attaches_to = [_target_ref(u, f"{path}/targets/{i}", dec) for i, u in enumerate(get_strs(obj, "targets", path))]
    known = _msd_attributes(ms)
    ms.metadata = [_decode_value(o, opath, dec, known, None) for o, opath in get_objs(obj, "attributes", path)]
    return ms
