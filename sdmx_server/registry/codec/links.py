"""Artefacts that link others: categorisations, provision agreements, hierarchies (3.0),
hierarchy associations, and the SDMX 2.1 kinds SDMX 3.0 dropped, hierarchical codelists and
structure sets, which take the SDMX-JSON 1.0 shape.

In a hierarchical codelist a hierarchical code names its level by the level's id (SDMX-JSON
1.0 says a URN; the id is what a Level inside the same hierarchy needs, and a URN of a Level
would look like a reference to another artefact).
"""

from __future__ import annotations

from typing import Any

from sdmx.model import common, v21, v30

from sdmx_server.registry.codec.base import (
    CodecError, decode_annotations, fail, get_bool, get_obj, get_objs, get_str, put_annotations, time_text,
)
from sdmx_server.registry.codec.core import (
    Decoder, Encoder, check_id, decode_header, decode_nameable, decodes, encode_nameable, encodes,
)
from sdmx_server.registry.codec.representation import decode_format, encode_format

# -- categorisations and provision agreements -------------------------------------------------


@encodes(common.Categorisation)
def _categorisation(c: Any, out: dict, enc: Encoder) -> None:
    source = c.artefact
    if isinstance(source, dict):
        # sdmx1 keeps a reference to a class SDMX does not have (BIS PublicationTable) as a dict
        source = (f"urn:sdmx:org.sdmx.infomodel.{source['package']}.{source['class']}={source['agency']}:"
                  f"{source['id']}({source.get('version') or '1.0'})")
    if source is not None:
        out["source"] = enc.any_ref(source)
    if c.category is not None:
        out["target"] = enc.item_ref(c.category)


@decodes("categorisation")
def decode_categorisation(obj: dict, path: str, dec: Decoder) -> Any:
    fields: dict[str, Any] = {}
    source = obj.get("source")
    if source is not None:
        try:
            fields["artefact"] = dec.item(source, f"{path}/source")
        except CodecError:
            # a class no artefact kind holds: keep the reference as its URN
            if type(source) is not str or not source.startswith("urn:sdmx:"):
                raise
            fields["artefact"] = source
    target = obj.get("target")
    if target is not None:
        fields["category"] = dec.item(target, f"{path}/target")
    return decode_header(obj, path, dec, common.Categorisation, **fields)


@encodes(common.ProvisionAgreement)
def _provision_agreement(pa: Any, out: dict, enc: Encoder) -> None:
    if pa.structure_usage is not None:
        out["dataflow"] = enc.ref(pa.structure_usage)
    if pa.data_provider is not None:
        out["dataProvider"] = enc.item_ref(pa.data_provider)


@decodes("provisionagreement")
def decode_provision_agreement(obj: dict, path: str, dec: Decoder) -> Any:
    fields: dict[str, Any] = {}
    for member in ("dataflow", "structureUsage"):  # the latter: 1.0
        if obj.get(member) is not None:
            fields["structure_usage"] = dec.maintainable(obj[member], f"{path}/{member}")
            break
    if obj.get("dataProvider") is not None:
        fields["data_provider"] = dec.item(obj["dataProvider"], f"{path}/dataProvider")
    return decode_header(obj, path, dec, common.ProvisionAgreement, **fields)


# -- hierarchies ------------------------------------------------------------------------------


def _level(level: Any) -> dict:
    out = encode_nameable(level)
    fmt = getattr(getattr(level, "code_format", None), "coding_format", None)
    if isinstance(fmt, common.Facet):
        encoded = encode_format(fmt)
        if encoded:
            out["codingFormat"] = encoded
    if level.child is not None:
        out["level"] = _level(level.child)
    return out


def _hierarchical_code(hc: Any, enc: Encoder, nested: str) -> dict:
    out: dict[str, Any] = {"id": str(hc.id)}
    put_annotations(out, hc)
    for field, key in (("valid_from", "validFrom"), ("valid_to", "validTo")):
        value = time_text(getattr(hc, field, None))
        if value:
            out[key] = value
    if hc.code is not None:
        out["code"] = enc.item_ref(hc.code)
    if hc.level is not None:
        out["level"] = str(hc.level.id)
    children = [_hierarchical_code(c, enc, nested) for c in hc.child]
    _unique_codes(children, hc.id)
    if children:
        out[nested] = children
    return out


def _unique_codes(codes: list[dict], parent: str) -> None:
    """Sibling hierarchical codes need distinct ids: their URNs are paths of ids. (sdmx1's
    SDMX-ML 2.1 reader mixes up the children of consecutive hierarchical codes in some real
    messages; such a model is refused rather than stored wrong.)"""
    seen: set[str] = set()
    for code in codes:
        if code["id"] in seen:
            raise CodecError(f"hierarchical code {parent} has two children with the id {code['id']!r}")
        seen.add(code["id"])


def _hierarchy_body(h: Any, out: dict, enc: Encoder, formal_key: str) -> None:
    if h.has_formal_levels:  # false when not said
        out[formal_key] = True
    if h.level is not None:
        out["level"] = _level(h.level)
    codes = [_hierarchical_code(c, enc, "hierarchicalCodes") for c in h.codes.values()]
    _unique_codes(codes, h.id)
    if codes:
        out["hierarchicalCodes"] = codes


@encodes(v30.Hierarchy)
def _hierarchy(h: Any, out: dict, enc: Encoder) -> None:
    _hierarchy_body(h, out, enc, "hasFormalLevels")


@encodes(v21.HierarchicalCodelist)
def _hierarchical_codelist(hcl: Any, out: dict, enc: Encoder) -> None:
    hierarchies = []
    for h in hcl.hierarchy:
        d = encode_nameable(h)
        _hierarchy_body(h, d, enc, "leveled")
        hierarchies.append(d)
    if hierarchies:
        out["hierarchies"] = hierarchies


def _decode_level(o: dict, path: str, parent: Any) -> Any:
    level = decode_nameable(o, path, common.Level)
    level.parent = parent
    fmt = get_obj(o, "codingFormat", path)
    if fmt is not None:
        level.code_format = common.CodingFormat(coding_format=decode_format(fmt, f"{path}/codingFormat"))
    child = get_obj(o, "level", path)
    if child is not None:
        level.child = _decode_level(child, f"{path}/level", level)
    return level


def _levels_by_id(level: Any) -> dict:
    found = {}
    while level is not None:
        found[level.id] = level
        level = level.child
    return found


def _decode_code(o: dict, path: str, dec: Decoder, levels: dict, parent: Any) -> Any:
    hc = common.HierarchicalCode(id=check_id(get_str(o, "id", path), path), annotations=decode_annotations(o, path),
                                 valid_from=get_str(o, "validFrom", path), valid_to=get_str(o, "validTo", path))
    code = o.get("code")
    if code is None and o.get("codeID") is not None:
        # SDMX-JSON 1.0: the code by id, in a codelist named by its alias
        alias = get_str(o, "codelistAliasRef", path, True)
        codelist = dec.aliases.get(alias)
        if codelist is None:
            raise fail(f"{path}/codelistAliasRef", f"no included codelist {alias!r}")
        head, _, rest = codelist.partition("=")
        code = f"{head.rsplit('.', 1)[0]}.Code={rest}.{get_str(o, 'codeID', path)}"
    if code is not None:
        hc.code = dec.item(code, f"{path}/code")
    level = get_str(o, "level", path)
    if level is not None:
        level_id = level.rsplit(".", 1)[-1] if level.startswith("urn:") else level  # 1.0 gives a URN
        hc.level = levels.get(level_id) or common.Level(id=level_id)
    hc.parent = parent
    hc.child = []
    for c, cpath in get_objs(o, "hierarchicalCodes", path):
        child = _decode_code(c, cpath, dec, levels, hc)
        if any(sibling.id == child.id for sibling in hc.child):
            raise fail(f"{cpath}/id", f"duplicate hierarchical code id {child.id!r}")
        hc.child.append(child)
    return hc


def _decode_hierarchy_body(h: Any, o: dict, path: str, dec: Decoder, formal_key: str) -> None:
    h.has_formal_levels = bool(get_bool(o, formal_key, path))
    level = get_obj(o, "level", path)
    h.level = _decode_level(level, f"{path}/level", h) if level is not None else None
    levels = _levels_by_id(h.level)
    codes = {}
    for c, cpath in get_objs(o, "hierarchicalCodes", path):
        hc = _decode_code(c, cpath, dec, levels, h)
        if hc.id in codes:
            raise fail(f"{cpath}/id", f"duplicate hierarchical code id {hc.id!r}")
        codes[hc.id] = hc
    h.codes = codes


@decodes("hierarchy")
def decode_hierarchy(obj: dict, path: str, dec: Decoder) -> Any:
    h = decode_header(obj, path, dec, v30.Hierarchy)
    _decode_hierarchy_body(h, obj, path, dec, "hasFormalLevels")
    return h


@decodes("hierarchicalcodelist")
def decode_hierarchical_codelist(obj: dict, path: str, dec: Decoder) -> Any:
    hcl = decode_header(obj, path, dec, v21.HierarchicalCodelist)
    aliases = get_obj(obj, "includedCodelists", path) or {}
    for alias, urn in aliases.items():
        if type(urn) is not str:
            raise fail(f"{path}/includedCodelists/{alias}", "expected a URN")
    dec.aliases = aliases
    for o, hpath in get_objs(obj, "hierarchies", path):
        h = decode_nameable(o, hpath, v21.Hierarchy)
        _decode_hierarchy_body(h, o, hpath, dec, "leveled")
        hcl.hierarchy.append(h)
    return hcl


@encodes(v30.HierarchyAssociation)
def _hierarchy_association(ha: Any, out: dict, enc: Encoder) -> None:
    for field, key in (("linked_hierarchy", "linkedHierarchy"), ("linked_object", "linkedObject"),
                       ("context_object", "contextObject")):
        value = getattr(ha, field, None)
        if value is not None:
            out[key] = enc.any_ref(value)


@decodes("hierarchyassociation")
def decode_hierarchy_association(obj: dict, path: str, dec: Decoder) -> Any:
    ha = decode_header(obj, path, dec, v30.HierarchyAssociation)
    if obj.get("linkedHierarchy") is not None:
        ha.linked_hierarchy = dec.maintainable(obj["linkedHierarchy"], f"{path}/linkedHierarchy")
    for field, key in (("linked_object", "linkedObject"), ("context_object", "contextObject")):
        if obj.get(key) is not None:
            setattr(ha, field, dec.item(obj[key], f"{path}/{key}"))
    return ha


# -- structure sets ---------------------------------------------------------------------------


@encodes(v21.StructureSet)
def _structure_set(ss: Any, out: dict, enc: Encoder) -> None:
    maps = []
    for m in ss.item_scheme_map:
        if not isinstance(m, v21.CodelistMap):
            raise ValueError(f"the codec cannot store a {type(m).__name__} of a structure set")
        d = encode_nameable(m)
        if m.source is not None:
            d["source"] = enc.ref(m.source)
        if m.target is not None:
            d["target"] = enc.ref(m.target)
        code_maps = []
        for ia in m.item_association:
            cm: dict[str, Any] = {}
            put_annotations(cm, ia)
            cm["source"] = enc.item_ref(ia.source)
            cm["target"] = enc.item_ref(ia.target)
            code_maps.append(cm)
        d["codeMaps"] = code_maps
        maps.append(d)
    if maps:
        out["codelistMaps"] = maps


@decodes("structureset")
def decode_structure_set(obj: dict, path: str, dec: Decoder) -> Any:
    ss = decode_header(obj, path, dec, v21.StructureSet)
    for o, mpath in get_objs(obj, "codelistMaps", path):
        m = decode_nameable(o, mpath, v21.CodelistMap)
        if o.get("source") is not None:
            m.source = dec.maintainable(o["source"], f"{mpath}/source")
        if o.get("target") is not None:
            m.target = dec.maintainable(o["target"], f"{mpath}/target")
        for cm, cpath in get_objs(o, "codeMaps", mpath):
            m.item_association.append(v21.CodeMap(
                annotations=decode_annotations(cm, cpath),
                source=dec.item(cm.get("source"), f"{cpath}/source"),
                target=dec.item(cm.get("target"), f"{cpath}/target")))
        ss.item_scheme_map.append(m)
    return ss



