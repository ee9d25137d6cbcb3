"""Item schemes: codelists (geographic and grid too), value lists, concept and category schemes,
reporting taxonomies; the shared item machinery of every item scheme (organisation schemes
and the VTL schemes have modules of their own).

Items are built without sdmx1's constructors (`new_item`): those validate URNs and link
parents item by item, which for a 200,000-code registry is most of the start-up time. The
objects are the same (tests compare them field by field with constructed ones).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Callable

from sdmx.model import common, v21, v30

from sdmx_server.registry.codec.base import (
    boolean, decode_annotations, fail, get_list, get_obj, get_objs, get_str, get_strs, istring,
    put_annotations, put_text, read_text, type_name,
)
from sdmx_server.registry.codec.core import Decoder, Encoder, decode_header, decodes, encodes
from sdmx_server.registry.codec.representation import decode_representation, encode_representation

#: kind -> the member holding its items.
ITEMS_MEMBER = {
    "codelist": "codes", "conceptscheme": "concepts", "categoryscheme": "categories", "agencyscheme": "agencies",
    "dataproviderscheme": "dataProviders", "dataconsumerscheme": "dataConsumers",
    "metadataproviderscheme": "metadataProviders", "reportingtaxonomy": "reportingCategories",
    "customtypescheme": "customTypes", "namepersonalisationscheme": "namePersonalisations",
    "rulesetscheme": "rulesets", "transformationscheme": "transformations",
    "userdefinedoperatorscheme": "userDefinedOperators", "vtlmappingscheme": "vtlMappings",
}
NESTED = {"categoryscheme", "reportingtaxonomy"}

# -- fast construction ------------------------------------------------------------------------

_SLOTS = ("annotations", "id", "uri", "urn")
_SHARED = {"annotations", "id", "uri", "urn", "name", "description", "parent", "child"}
_new = object.__new__
_defaults: dict[type, tuple[dict, list]] = {}


def _field_defaults(cls: type) -> tuple[dict, list]:
    found = _defaults.get(cls)
    if found is None:
        values, factories = {}, []
        for f in dataclasses.fields(cls):
            if f.name in _SHARED:
                continue
            if f.default is not dataclasses.MISSING:
                values[f.name] = f.default
            elif f.default_factory is not dataclasses.MISSING:
                factories.append((f.name, f.default_factory))
        found = _defaults[cls] = (values, factories)
    return found


def new_item(cls: type, item_id: str, name, description, annotations: list) -> Any:
    """What `cls(id=..., name=..., description=..., annotations=...)` builds, fast."""
    values, factories = _field_defaults(cls)
    obj = _new(cls)
    obj.annotations = annotations
    obj.id = item_id
    obj.uri = None
    obj.urn = None
    d = obj.__dict__
    d["_name"] = name
    d["_description"] = description
    d["parent"] = None
    d["child"] = []
    if values:
        d.update(values)
    for fname, factory in factories:
        d[fname] = factory()
    return obj


# -- encoding ---------------------------------------------------------------------------------

Extra = Callable[[Any, dict, Encoder], None]


def encode_item(item: Any, enc: Encoder, extra: Extra | None, nested_member: str | None) -> dict:
    out: dict[str, Any] = {"id": str(item.id)}
    put_text(out, "name", "names", item.name)
    put_text(out, "description", "descriptions", item.description)
    put_annotations(out, item)
    if extra is not None:
        extra(item, out, enc)
    if nested_member:
        children = [encode_item(c, enc, extra, nested_member) for c in item.child]
        if children:
            out[nested_member] = children
    elif isinstance(item.parent, common.Item):
        out["parent"] = str(item.parent.id)
    return out


def encode_items(scheme: common.ItemScheme, out: dict, enc: Encoder, member: str, extra: Extra | None = None,
                 nested: bool = False) -> None:
    if boolean(scheme.is_partial):
        out["isPartial"] = True
    items = scheme.items.values()
    if nested:
        roots = [i for i in items if not isinstance(i.parent, common.Item)]
        encoded = [encode_item(i, enc, extra, member) for i in roots]
    else:
        encoded = [encode_item(i, enc, extra, None) for i in items]
    if encoded:
        out[member] = encoded


def _codelist_extensions(cl: Any, out: dict, enc: Encoder) -> None:
    extensions = []
    for ext in getattr(cl, "extends", None) or ():
        d: dict[str, Any] = {}
        if ext.prefix:
            d["prefix"] = ext.prefix
        d["codelist"] = enc.ref(ext.extends)
        if ext.selection is not None:
            plain, wild = [], []
            for mv in ext.selection.mv:
                value = str(mv.value)
                if "%" in value:
                    wild.append(value)
                elif mv.cascade_values:
                    plain.append({"value": value, "cascadeValues": mv.cascade_values})
                else:
                    plain.append(value)
            sel: dict[str, Any] = {}
            if wild:
                sel["wildcardedMemberValues"] = wild
            if plain:
                sel["memberValues"] = plain
            key = ("exclusiveCodeSelection" if isinstance(ext.selection, v30.ExclusiveCodeSelection)
                   else "inclusiveCodeSelection")
            d[key] = sel
        extensions.append(d)
    if extensions:
        out["codelistExtensions"] = extensions


@encodes(common.Codelist)
def _codelist(cl: common.Codelist, out: dict, enc: Encoder) -> None:
    encode_items(cl, out, enc, "codes")
    _codelist_extensions(cl, out, enc)


@encodes(v30.GeographicCodelist)
def _geo_codelist(cl: Any, out: dict, enc: Encoder) -> None:
    out["geoType"] = "GeographicCodelist"
    encode_items(cl, out, enc, "geoFeatureSetCodes", _geo_value)
    _codelist_extensions(cl, out, enc)


def _geo_value(code: Any, out: dict, enc: Encoder) -> None:
    out["value"] = str(getattr(code, "value", "") or "")


@encodes(v30.GeoGridCodelist)
def _grid_codelist(cl: Any, out: dict, enc: Encoder) -> None:
    out["geoType"] = "GeoGridCodelist"
    if cl.grid_definition:
        out["gridDefinition"] = cl.grid_definition
    encode_items(cl, out, enc, "geoGridCodes", _geo_cell)
    _codelist_extensions(cl, out, enc)


def _geo_cell(code: Any, out: dict, enc: Encoder) -> None:
    out["geoCell"] = str(getattr(code, "geo_cell", "") or "")


@encodes(v30.ValueList)
def _value_list(vl: Any, out: dict, enc: Encoder) -> None:
    items = []
    for item in vl.items:
        d: dict[str, Any] = {"id": str(item.id)}
        put_text(d, "name", "names", item.name)
        put_text(d, "description", "descriptions", item.description)
        put_annotations(d, item)
        items.append(d)
    if items:
        out["valueItems"] = items


def _concept(concept: Any, out: dict, enc: Encoder) -> None:
    rep = encode_representation(concept.core_representation, enc)
    if rep:
        out["coreRepresentation"] = rep
    iso = concept.iso_concept
    if iso is not None:
        out["isoConceptReference"] = {"conceptAgency": iso.agency, "conceptSchemeID": iso.scheme_id,
                                      "conceptID": iso.id}


@encodes(common.ConceptScheme)
def _concept_scheme(cs: Any, out: dict, enc: Encoder) -> None:
    encode_items(cs, out, enc, "concepts", _concept)


@encodes(common.CategoryScheme)
def _category_scheme(cs: Any, out: dict, enc: Encoder) -> None:
    encode_items(cs, out, enc, "categories", nested=True)


@encodes(v21.ReportingTaxonomy)
def _reporting_taxonomy(rt: Any, out: dict, enc: Encoder) -> None:
    encode_items(rt, out, enc, "reportingCategories", nested=True)


# -- decoding ---------------------------------------------------------------------------------

ItemExtra = Callable[[Any, dict, str, Decoder], None]


def decode_items(scheme: common.ItemScheme, obj: dict, path: str, dec: Decoder, member: str, cls: type,
                 extra: ItemExtra | None = None, nested: bool = False) -> None:
    items = scheme.items
    parents: list[tuple[Any, str, str]] = []

    def build(o: Any, ipath: str, parent: Any) -> None:
        if type(o) is not dict:
            raise fail(ipath, f"expected an object, got {type_name(o)}")
        item_id = o.get("id")
        if type(item_id) is not str or not item_id:
            raise fail(ipath, "'id' is missing" if item_id is None else f"'id' must be a string, got {type_name(item_id)}")
        item = new_item(cls, item_id, istring(read_text(o, "name", "names", ipath)),
                        istring(read_text(o, "description", "descriptions", ipath)),
                        decode_annotations(o, ipath) if "annotations" in o else [])
        if extra is not None:
            extra(item, o, ipath, dec)
        if parent is not None:
            item.parent = parent
            parent.child.append(item)
        else:
            item.parent = scheme
            parent_id = o.get("parent")
            if parent_id is not None:
                if type(parent_id) is not str:
                    raise fail(f"{ipath}/parent", f"expected a string, got {type_name(parent_id)}")
                parents.append((item, parent_id, ipath))
        if item_id in items:
            if not nested:
                raise fail(f"{ipath}/id", f"duplicate item id {item_id!r}")
        else:
            items[item_id] = item
        if nested:
            for i, child in enumerate(get_list(o, member, ipath)):
                build(child, f"{ipath}/{member}/{i}", item)

    for i, o in enumerate(get_list(obj, member, path)):
        build(o, f"{path}/{member}/{i}", None)
    for item, parent_id, ipath in parents:
        # SDMX-JSON 1.0 and a few servers give the parent as a URN
        key = parent_id.rsplit(".", 1)[-1] if parent_id.startswith("urn:") else parent_id
        parent = items.get(key)
        if parent is None:
            if scheme.is_partial:
                continue
            raise fail(f"{ipath}/parent", f"no item {parent_id!r} in this scheme")
        if parent is item:
            raise fail(f"{ipath}/parent", "an item cannot be its own parent")
        item.parent = parent
        parent.child.append(item)
    if parents:
        _check_cycles([item for item, _, _ in parents], path)


def _check_cycles(items: list, path: str) -> None:
    """Parents given by id may form a cycle (A's parent B, B's parent A): refuse it."""
    done: set[int] = set()
    for item in items:
        walk: set[int] = set()
        node = item
        while isinstance(node, common.Item) and id(node) not in done:
            if id(node) in walk:
                raise fail(path, f"the parents of item {item.id!r} form a cycle")
            walk.add(id(node))
            node = node.parent
        done |= walk


def decode_scheme(obj: dict, path: str, dec: Decoder, cls: type, member: str, item_cls: type,
            extra: ItemExtra | None = None, nested: bool = False, **fields: Any) -> Any:
    scheme = decode_header(obj, path, dec, cls, **fields)
    partial = obj.get("isPartial")
    if partial is not None:
        scheme.is_partial = bool(partial) if type(partial) is bool else partial == "true"
    decode_items(scheme, obj, path, dec, member, item_cls, extra, nested)
    return scheme


def _decode_extensions(cl: Any, obj: dict, path: str, dec: Decoder) -> None:
    extensions = []
    for e, epath in get_objs(obj, "codelistExtensions", path):
        selection = None
        for key, cls in (("inclusiveCodeSelection", v30.InclusiveCodeSelection),
                         ("exclusiveCodeSelection", v30.ExclusiveCodeSelection)):
            sel = get_obj(e, key, epath)
            if sel is None:
                continue
            spath = f"{epath}/{key}"
            mvs = [v30.MemberValue(value=v) for v in get_strs(sel, "wildcardedMemberValues", spath)]
            for i, mv in enumerate(get_list(sel, "memberValues", spath)):
                if type(mv) is str:
                    mvs.append(v30.MemberValue(value=mv))
                elif type(mv) is dict:
                    cascade = mv.get("cascadeValues")
                    if cascade is not None and type(cascade) is not bool and cascade != "excluderoot":
                        raise fail(f"{spath}/memberValues/{i}/cascadeValues", "expected a boolean or 'excluderoot'")
                    mvs.append(v30.MemberValue(value=get_str(mv, "value", f"{spath}/memberValues/{i}", True),
                                               cascade_values=cascade))
                else:
                    raise fail(f"{spath}/memberValues/{i}", f"expected a string or an object, got {type_name(mv)}")
            selection = cls(mv=mvs)
        prefix = get_str(e, "prefix", epath)
        extensions.append(v30.CodelistExtension(
            extends=dec.maintainable(e.get("codelist"), f"{epath}/codelist"), prefix=prefix, selection=selection))
    if extensions:
        cl.extends = extensions


@decodes("codelist")
def decode_codelist(obj: dict, path: str, dec: Decoder) -> Any:
    if obj.get("geoType") == "GeoGridCodelist" or "geoGridCodes" in obj:
        cl = decode_scheme(obj, path, dec, v30.GeoGridCodelist, "geoGridCodes", v30.GeoGridCode, _read_geo_cell)
        cl.grid_definition = get_str(obj, "gridDefinition", path) or ""
    elif obj.get("geoType") == "GeographicCodelist" or "geoFeatureSetCodes" in obj:
        cl = decode_scheme(obj, path, dec, v30.GeographicCodelist, "geoFeatureSetCodes", v30.GeoFeatureSetCode,
                     _read_geo_value)
    else:
        cl = decode_scheme(obj, path, dec, common.Codelist, "codes", common.Code)
    _decode_extensions(cl, obj, path, dec)
    return cl


def _read_geo_cell(item: Any, o: dict, path: str, dec: Decoder) -> None:
    item.geo_cell = get_str(o, "geoCell", path) or ""


def _read_geo_value(item: Any, o: dict, path: str, dec: Decoder) -> None:
    item.value = get_str(o, "value", path) or ""


@decodes("valuelist")
def decode_value_list(obj: dict, path: str, dec: Decoder) -> Any:
    vl = decode_header(obj, path, dec, v30.ValueList)
    for o, ipath in get_objs(obj, "valueItems", path):
        item_id = get_str(o, "id", ipath, required=True)
        vl.items.append(v30.ValueItem(
            id=item_id, name=istring(read_text(o, "name", "names", ipath)),
            description=istring(read_text(o, "description", "descriptions", ipath)),
            annotations=decode_annotations(o, ipath)))
    return vl


_ISO_URN = re.compile(r"urn:sdmx:org\.sdmx\.infomodel\.conceptscheme\.Concept="
                      r"(?P<agency>[^:()]+):(?P<scheme>[^:()]+)\([^()]*\)\.(?P<id>[^.]+)")


def _read_concept(concept: Any, o: dict, path: str, dec: Decoder) -> None:
    rep = get_obj(o, "coreRepresentation", path)
    if rep is not None:
        concept.core_representation = decode_representation(rep, f"{path}/coreRepresentation", dec)
    iso = o.get("isoConceptReference")
    if iso is not None:
        if type(iso) is dict:
            ipath = f"{path}/isoConceptReference"
            concept.iso_concept = common.ISOConceptReference(
                agency=get_str(iso, "conceptAgency", ipath, True), id=get_str(iso, "conceptID", ipath, True),
                scheme_id=get_str(iso, "conceptSchemeID", ipath, True))
        elif type(iso) is str:  # SDMX-JSON 1.0 gives the URN of the concept
            m = _ISO_URN.fullmatch(iso)
            if m is not None:
                concept.iso_concept = common.ISOConceptReference(agency=m["agency"], scheme_id=m["scheme"],
                                                                 id=m["id"])
        else:
            raise fail(f"{path}/isoConceptReference", f"expected an object, got {type_name(iso)}")


@decodes("conceptscheme")
def decode_concept_scheme(obj: dict, path: str, dec: Decoder) -> Any:
    return decode_scheme(obj, path, dec, common.ConceptScheme, "concepts", common.Concept, _read_concept)


@decodes("categoryscheme")
def decode_category_scheme(obj: dict, path: str, dec: Decoder) -> Any:
    return decode_scheme(obj, path, dec, common.CategoryScheme, "categories", common.Category, nested=True)


@decodes("reportingtaxonomy")
def decode_reporting_taxonomy(obj: dict, path: str, dec: Decoder) -> Any:
    return decode_scheme(obj, path, dec, v21.ReportingTaxonomy, "reportingCategories", v21.ReportingCategory, nested=True)


__all__ = ["ITEMS_MEMBER", "decode_items", "decode_scheme", "encode_items", "new_item"]
