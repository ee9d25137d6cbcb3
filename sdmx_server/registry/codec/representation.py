"""Representations: an enumeration (a codelist, value list, concept scheme...) and text formats.

sdmx1 holds a representation as `Representation(enumerated, non_enumerated=[Facet])`: the
`EnumerationFormat` of an enumerated representation, or the `TextFormat` otherwise, is one
Facet whose `type` (FacetType) holds the facets and `value_type` the data type. Its SDMX-ML
readers keep facet values as the XML text ("true", "10"); the codec writes them as the JSON
types the schema says and reads them back as Python bool, int and float.

What sdmx1 has no field for is kept as plain attributes of its objects, read and written
with getattr: `min_occurs`/`max_occurs` of a Representation, `is_multi_lingual` of a
FacetType (sdmx1's reader drops it; JSON input keeps it).
"""

from __future__ import annotations

from typing import Any

from sdmx.model import common

from sdmx_server.registry.codec.base import (
    boolean, fail, get_bool, get_int, get_number, get_obj, get_str, number, time_text,
)

#: FacetType field -> SDMX-JSON member, in the schema's order.
FACETS = (
    ("is_sequence", "isSequence"), ("interval", "interval"), ("start_value", "startValue"),
    ("end_value", "endValue"), ("time_interval", "timeInterval"), ("start_time", "startTime"),
    ("end_time", "endTime"), ("min_length", "minLength"), ("max_length", "maxLength"),
    ("min_value", "minValue"), ("max_value", "maxValue"), ("decimals", "decimals"), ("pattern", "pattern"),
    ("is_multi_lingual", "isMultiLingual"), ("sentinel_values", "sentinelValues"),
)
_BOOLEAN = {"is_sequence", "is_multi_lingual"}
_INTEGER = {"min_length", "max_length", "decimals"}
_NUMBER = {"interval", "start_value", "end_value", "min_value", "max_value"}
_TEXT = {"time_interval", "start_time", "end_time", "pattern"}

#: sdmx1 FacetValueType names whose SDMX-JSON dataType is not the name with a capital.
_DATA_TYPE_OUT = {"uri": "URI", "Xhtml": "XHTML", "timesRange": "TimeRange"}
_DATA_TYPE_IN = {v: k for k, v in _DATA_TYPE_OUT.items()}


def data_type(value_type: Any) -> str | None:
    if value_type is None:
        return None
    name = getattr(value_type, "name", None) or str(value_type)
    return _DATA_TYPE_OUT.get(name) or name[:1].upper() + name[1:]


def value_type(name: str, path: str):
    """The sdmx1 enumeration member for an SDMX-JSON dataType (or 1.0 textType)."""
    key = _DATA_TYPE_IN.get(name) or name[:1].lower() + name[1:]
    for enum in (common.FacetValueType, common.ExtendedFacetValueType):
        try:
            return enum[key]
        except KeyError:
            continue
    raise fail(path, f"unknown data type {name[:100]!r}")


def encode_format(facet: common.Facet) -> dict:
    out: dict[str, Any] = {}
    dt = data_type(facet.value_type)
    if dt is not None:
        out["dataType"] = dt
    ft = facet.type
    for field, member in FACETS:
        value = getattr(ft, field, None)
        if value is None:
            continue
        if field in _BOOLEAN:
            value = boolean(value)
        elif field in _INTEGER:
            value = int(value)
        elif field in _NUMBER:
            value = number(value) if isinstance(value, str) else value
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"facet {field} is not a number: {value!r}")
        elif field in _TEXT:
            value = time_text(value)
        out[member] = value
    return out


def decode_format(obj: dict, path: str) -> common.Facet:
    ft = common.FacetType()
    for field, member in FACETS:
        if member not in obj or obj[member] is None:
            continue
        if field in _BOOLEAN:
            value = get_bool(obj, member, path)
        elif field in _INTEGER:
            value = get_int(obj, member, path)
        elif field in _NUMBER:
            value = get_number(obj, member, path)
        elif field == "sentinel_values":
            value = obj[member]
            if type(value) is not list:
                raise fail(f"{path}/{member}", "expected an array")
        else:
            value = get_str(obj, member, path)
        setattr(ft, field, value)
    # SDMX-JSON 1.0 calls the data type textType
    name = get_str(obj, "dataType", path) or get_str(obj, "textType", path)
    return common.Facet(type=ft, value_type=value_type(name, f"{path}/dataType") if name else None)


def encode_representation(rep: common.Representation | None, enc, enumeration_key: str = "enumeration") -> dict | None:
    """`localRepresentation`/`coreRepresentation`; None when there is nothing to say."""
    if rep is None:
        return None
    out: dict[str, Any] = {}
    if rep.enumerated is not None:
        out[enumeration_key] = enc.ref(rep.enumerated)
    facets = [f for f in rep.non_enumerated or () if isinstance(f, common.Facet)]
    if facets:
        out["enumerationFormat" if rep.enumerated is not None else "format"] = encode_format(facets[0])
    for field, member in (("min_occurs", "minOccurs"), ("max_occurs", "maxOccurs")):
        value = getattr(rep, field, None)
        if value is not None:
            out[member] = "unbounded" if value == "unbounded" else int(value)
    return out or None


def decode_representation(obj: dict | None, path: str, dec) -> common.Representation | None:
    if obj is None:
        return None
    rep = common.Representation()
    urn = obj.get("enumeration")
    if urn is not None:
        rep.enumerated = dec.maintainable(urn, f"{path}/enumeration")
    # SDMX-JSON 1.0 names the format textFormat
    for member in ("enumerationFormat", "format", "textFormat"):
        fmt = get_obj(obj, member, path)
        if fmt is not None:
            rep.non_enumerated = [decode_format(fmt, f"{path}/{member}")]
            break
    min_occurs = get_int(obj, "minOccurs", path)
    if min_occurs is not None:
        rep.min_occurs = min_occurs
    max_occurs = obj.get("maxOccurs")
    if max_occurs is not None:
        rep.max_occurs = "unbounded" if max_occurs == "unbounded" else get_int(obj, "maxOccurs", path)
    return rep
