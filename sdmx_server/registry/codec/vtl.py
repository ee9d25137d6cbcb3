"""The VTL schemes: custom types, name personalisations, rulesets, transformations, user
defined operators and VTL mappings.

sdmx1 models only part of these (its SDMX-ML readers drop e.g. a transformation's
isPersistent, a ruleset's type and scope, a mapping's alias). What SDMX-JSON gives beyond
sdmx1's fields is kept as plain attributes of the objects (`is_persistent`, `alias`,
`vtl_artefact`, `vtl_version`...), so JSON read by the codec writes back unchanged.
"""

from __future__ import annotations

from typing import Any

from sdmx.model import common

from sdmx_server.registry.codec.base import boolean, fail, get_bool, get_obj, get_str, get_strs
from sdmx_server.registry.codec.core import Decoder, Encoder, decodes, encodes
from sdmx_server.registry.codec.items import decode_scheme, encode_items

#: (sdmx1 attribute, SDMX-JSON member) of each item class, in the schema's order.
ITEM_FIELDS: dict[type, tuple[tuple[str, str], ...]] = {
    common.CustomType: (("vtl_scalar_type", "vtlScalarType"), ("data_type", "dataType"),
                        ("vtl_literal_format", "vtlLiteralFormat"), ("output_format", "outputFormat"),
                        ("null_value", "nullValue")),
    common.NamePersonalisation: (("vtl_default_name", "vtlDefaultName"), ("personalised_name", "personalisedName"),
                                 ("vtl_artefact", "vtlArtefact")),
    common.Ruleset: (("definition", "rulesetDefinition"), ("type", "rulesetType"), ("scope", "rulesetScope")),
    common.Transformation: (("expression", "expression"), ("result", "result")),
    common.UserDefinedOperator: (("definition", "operatorDefinition"),),
}

SCHEMES = {
    common.CustomTypeScheme: ("customtypescheme", "customTypes", common.CustomType),
    common.NamePersonalisationScheme: ("namepersonalisationscheme", "namePersonalisations", common.NamePersonalisation),
    common.RulesetScheme: ("rulesetscheme", "rulesets", common.Ruleset),
    common.TransformationScheme: ("transformationscheme", "transformations", common.Transformation),
    common.UserDefinedOperatorScheme: ("userdefinedoperatorscheme", "userDefinedOperators", common.UserDefinedOperator),
}

#: scheme-level references: (sdmx1 attribute, SDMX-JSON member, is a list in JSON).
SCHEME_REFS = (
    ("vtl_mapping_scheme", "vtlMappingScheme", False),
    ("name_personalisation_scheme", "namePersonalisationScheme", False),
    ("custom_type_scheme", "customTypeScheme", False),
    ("ruleset_scheme", "rulesetSchemes", True),
    ("user_defined_operator_scheme", "userDefinedOperatorSchemes", True),
)

_TO_VTL = {"basic": "Basic", "pivot": "Pivot", "basic-a2m": "Basic-A2M", "pivot-a2m": "Pivot-A2M"}
_FROM_VTL = {"basic": "Basic", "unpivot": "Unpivot", "m2a": "M2A"}


def _item_fields(cls: type):
    for klass in cls.__mro__:
        if klass in ITEM_FIELDS:
            return ITEM_FIELDS[klass]
    return ()


def _encode_fields(item: Any, out: dict, enc: Encoder) -> None:
    for attr, member in _item_fields(type(item)):
        value = getattr(item, attr, None)
        if isinstance(value, str) and value != "" or (value and not isinstance(value, str)):
            out[member] = str(value)
    if isinstance(item, common.Transformation):
        persistent = boolean(getattr(item, "is_persistent", None))
        if persistent is not None:
            out["isPersistent"] = persistent


def _encode_scheme_refs(scheme: Any, out: dict, enc: Encoder) -> None:
    version = getattr(scheme, "vtl_version", None)
    if version:
        out["vtlVersion"] = str(version)
    for attr, member, many in SCHEME_REFS:
        values = getattr(scheme, attr + "s", None) if many else None
        if not values:
            value = getattr(scheme, attr, None)
            values = [value] if value is not None else []
        urns = [enc.ref(v) for v in values]
        if urns:
            out[member] = urns if many else urns[0]


@encodes(*SCHEMES)
def _vtl_scheme(scheme: Any, out: dict, enc: Encoder) -> None:
    _, member, _ = next(v for cls, v in SCHEMES.items() if isinstance(scheme, cls))
    _encode_scheme_refs(scheme, out, enc)
    encode_items(scheme, out, enc, member, _encode_fields)


def _encode_mapping(m: Any, out: dict, enc: Encoder) -> None:
    alias = getattr(m, "alias", None)
    if alias:
        out["alias"] = str(alias)
    if isinstance(m, common.VTLDataflowMapping):
        if m.dataflow_alias is not None:
            out["dataflow"] = enc.ref(m.dataflow_alias)
        elif getattr(m, "generic_dataflow", False):
            out["genericDataflow"] = {}
        for key, space, attr_method, attr_keys, names in (
            ("toVtlMapping", "toVtlSubSpace", "to_vtl_method", "to_vtl_subspace", _TO_VTL),
            ("fromVtlMapping", "fromVtlSuperSpace", "from_vtl_method", "from_vtl_superspace", _FROM_VTL),
        ):
            d: dict[str, Any] = {}
            keys = getattr(m, attr_keys, None) or []
            keys = keys if isinstance(keys, (list, tuple)) else [keys]
            if keys:
                d[space] = {"keys": [str(getattr(k, "key", k)) for k in keys]}
            method = getattr(m, attr_method, None)
            if method is not None and not isinstance(method, (list, tuple)):
                name = getattr(method, "name", str(method))
                d["method"] = names.get(name, name)
            if d:
                out[key] = d
    else:
        target = getattr(m, "concept_alias", None)
        if isinstance(target, common.MaintainableArtefact):
            # sdmx1's reader puts a mapped codelist where a concept would be
            out["codelist"] = enc.ref(target)
        elif target is not None:
            out["concept"] = enc.item_ref(target)


@encodes(common.VTLMappingScheme)
def _vtl_mapping_scheme(scheme: Any, out: dict, enc: Encoder) -> None:
    encode_items(scheme, out, enc, "vtlMappings", _encode_mapping)


# -- decoding ---------------------------------------------------------------------------------


def _read_fields(item: Any, o: dict, path: str, dec: Decoder) -> None:
    for attr, member in _item_fields(type(item)):
        value = get_str(o, member, path)
        if value is not None:
            setattr(item, attr, value)
    if isinstance(item, common.Transformation):
        persistent = get_bool(o, "isPersistent", path)
        if persistent is not None:
            item.is_persistent = persistent


def _read_scheme_refs(scheme: Any, obj: dict, path: str, dec: Decoder) -> None:
    version = get_str(obj, "vtlVersion", path)
    if version:
        scheme.vtl_version = version
    for attr, member, many in SCHEME_REFS:
        urns = (get_strs(obj, member, path) if many else
                [u for u in [get_str(obj, member, path)] if u])
        values = [dec.maintainable(u, f"{path}/{member}" + (f"/{i}" if many else "")) for i, u in enumerate(urns)]
        if not values:
            continue
        setattr(scheme, attr, values[0])
        if many and len(values) > 1:
            setattr(scheme, attr + "s", values)


def _vtl_decoder(kind: str, cls: type, member: str, item_cls: type) -> None:
    @decodes(kind)
    def decode(obj: dict, path: str, dec: Decoder) -> Any:
        scheme = decode_scheme(obj, path, dec, cls, member, item_cls, _read_fields)
        _read_scheme_refs(scheme, obj, path, dec)
        return scheme


for _cls, (_kind, _member, _item) in SCHEMES.items():
    _vtl_decoder(_kind, _cls, _member, _item)


@decodes("vtlmappingscheme")
def decode_vtl_mapping_scheme(obj: dict, path: str, dec: Decoder) -> Any:
    # The item class depends on each mapping: built as concept mappings, the dataflow mappings
    # are then given their class (_read_vtl).
    return decode_scheme(obj, path, dec, common.VTLMappingScheme, "vtlMappings", common.VTLConceptMapping, _read_vtl)


def _read_vtl(m: Any, o: dict, path: str, dec: Decoder) -> None:
    alias = get_str(o, "alias", path)
    if alias is not None:
        m.alias = alias
    if "dataflow" in o or "genericDataflow" in o:
        m.__class__ = common.VTLDataflowMapping
        d = m.__dict__
        d.update(dataflow_alias=None, from_vtl_method=[], from_vtl_superspace=None, to_vtl_method=None,
                 to_vtl_subspace=[])
        d.pop("concept_alias", None)
        if o.get("dataflow") is not None:
            m.dataflow_alias = dec.maintainable(o["dataflow"], f"{path}/dataflow")
        else:
            m.generic_dataflow = True
        for key, space, attr_method, attr_keys, enum, cls in (
            ("toVtlMapping", "toVtlSubSpace", "to_vtl_method", "to_vtl_subspace", common.SDMXtoVTL,
             common.ToVTLSpaceKey),
            ("fromVtlMapping", "fromVtlSuperSpace", "from_vtl_method", "from_vtl_superspace", common.VTLtoSDMX,
             common.FromVTLSpaceKey),
        ):
            sub = get_obj(o, key, path)
            if sub is None:
                continue
            spath = f"{path}/{key}"
            keys_obj = get_obj(sub, space, spath)
            if keys_obj is not None:
                setattr(m, attr_keys, [cls(key=k) for k in get_strs(keys_obj, "keys", f"{spath}/{space}")])
            method = get_str(sub, "method", spath)
            if method is not None:
                try:
                    setattr(m, attr_method, enum[method.lower()])
                except KeyError:
                    raise fail(f"{spath}/method", f"unknown method {method[:50]!r}") from None
    elif o.get("codelist") is not None:
        m.concept_alias = dec.maintainable(o["codelist"], f"{path}/codelist")
    elif o.get("concept") is not None:
        m.concept_alias = dec.item(o["concept"], f"{path}/concept")
