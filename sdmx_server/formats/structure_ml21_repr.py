"""Representations (Enumeration, EnumerationFormat, TextFormat) shared by every structure writer.

sdmx1 reads one TextFormat into one Facet whose FacetType holds all attributes; models built in
code may spread them over several Facets, so the facets of a representation are merged. The
same functions serve SDMX-ML 2.1 and 3.0: the writer decides how the enumeration is referenced
and which text types and enumerated schemes it can write.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from lxml import etree
from sdmx.model import common

from sdmx_server.formats.ml21 import format_datetime

#: FacetValueType member names whose SDMX-ML spelling is not just the capitalised name.
TEXT_TYPES = {
    "uri": "URI",
    "timesRange": "TimeRange",  # sdmx1's misspelling of timeRange
    "Xhtml": "XHTML",
}

#: FacetType fields and their SDMX-ML attributes, in the schema's order.
FACETS = (
    ("is_sequence", "isSequence"),
    ("interval", "interval"),
    ("start_value", "startValue"),
    ("end_value", "endValue"),
    ("time_interval", "timeInterval"),
    ("start_time", "startTime"),
    ("end_time", "endTime"),
    ("min_length", "minLength"),
    ("max_length", "maxLength"),
    ("min_value", "minValue"),
    ("max_value", "maxValue"),
    ("decimals", "decimals"),
    ("pattern", "pattern"),
)


def text_type(w, value_type) -> str:
    name = value_type.name
    return w.text_types.get(name) or TEXT_TYPES.get(name) or name[:1].upper() + name[1:]


def iso_duration(value: timedelta) -> str:
    """xs:duration, always in the full PnDTnHnMnS form."""
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    secs = decimal_text(Decimal(seconds) + Decimal(value.microseconds) / 1_000_000)
    return f"{sign}P{value.days}DT{hours}H{minutes}M{secs}S"


def decimal_text(value) -> str:
    """xs:decimal text: no exponent, no needless trailing zeros."""
    text = format(Decimal(repr(value)) if isinstance(value, float) else Decimal(value), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def facet_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, timedelta):
        return iso_duration(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, (int, float, Decimal)):
        return decimal_text(value)
    return str(value)  # sdmx1 keeps most facets as the text it read


def text_format(w, parent: etree._Element, tag: str, facets: list[common.Facet], default_type: str | None = None) -> etree._Element:
    """A TextFormat / EnumerationFormat element merging the facets of the representation.

    The textType is always written when known, because sdmx1 reads an absent one as String
    whatever the schema's default for the context.
    """
    el = etree.SubElement(parent, w.s(tag))
    value_type = next((f.value_type for f in facets if f.value_type is not None), None)
    if value_type is not None:
        el.set("textType", text_type(w, value_type))
    elif default_type:
        el.set("textType", default_type)
    for field, attribute in FACETS:
        for facet in facets:
            value = getattr(facet.type, field, None)
            if value is not None:
                el.set(attribute, facet_value(value))
                break
    return el


def representation(
    w, parent: etree._Element, tag: str, rep: common.Representation | None, *, default_type: str | None = None
) -> etree._Element | None:
    """CoreRepresentation / LocalRepresentation: Enumeration (+ EnumerationFormat) or TextFormat.

    Nothing is written for an empty representation, unless `default_type` asks for a TextFormat
    where the schema requires a representation.
    """
    enumerated = rep.enumerated if rep else None
    facets = list(rep.non_enumerated) if rep else []
    if enumerated is None and not facets and not default_type:
        return None
    el = etree.SubElement(parent, w.s(tag))
    if enumerated is not None:
        w.check_enumeration(enumerated)
        w.maintainable_ref(el, "Enumeration", enumerated)
        if facets:
            text_format(w, el, "EnumerationFormat", facets)
    else:
        text_format(w, el, "TextFormat", facets, default_type or "String")
    return el
