"""Text formats: `{type: ..., ...facets}` into the Facet sdmx1 itself makes of a TextFormat.

sdmx1 reads one `<str:TextFormat>` into one `Facet` whose `value_type` is the textType and
whose `FacetType` holds every facet; a representation has that single Facet in its
`non_enumerated` list. Consumers (the SDMX-ML writer, the data shape) rely on that.
"""

from __future__ import annotations

import re
from decimal import Decimal

from sdmx.model import common
from sdmx.model.common import ExtendedFacetValueType, FacetType, FacetValueType

from sdmx_server.registry.authoring.checks import Fields, scalar, suggest
from sdmx_server.registry.authoring.yamlfile import Entry, Report, Scalar

#: The SDMX data types as written in authoring files (and SDMX-ML), to sdmx1's enumeration.
TYPE_NAMES = (
    "String Alpha AlphaNumeric Numeric BigInteger Integer Long Short Decimal Float Double Boolean "
    "URI Count InclusiveValueRange ExclusiveValueRange Incremental ObservationalTimePeriod "
    "StandardTimePeriod BasicTimePeriod GregorianTimePeriod GregorianYear GregorianYearMonth "
    "GregorianDay ReportingTimePeriod ReportingYear ReportingSemester ReportingTrimester "
    "ReportingQuarter ReportingMonth ReportingWeek ReportingDay DateTime TimeRange Month MonthDay "
    "Day Time Duration XHTML"
).split()

_SPECIAL = {"URI": FacetValueType.uri, "TimeRange": FacetValueType.timesRange, "XHTML": ExtendedFacetValueType.Xhtml}
TYPES = {name: _SPECIAL.get(name) or FacetValueType[name[0].lower() + name[1:]] for name in TYPE_NAMES}

#: facet -> kind of value
FACETS = {
    "min_length": "positive",
    "max_length": "positive",
    "min_value": "number",
    "max_value": "number",
    "decimals": "positive",
    "pattern": "regex",
    "interval": "number",
    "start_value": "number",
    "end_value": "number",
    "is_sequence": "bool",
}

TIME_PERIOD = FacetValueType.observationalTimePeriod


def time_period_facet() -> common.Facet:
    return common.Facet(value_type=TIME_PERIOD)


def text_format(report: Report, what: str, entry: Entry) -> common.Facet | None:
    """The Facet for a `text_format:` entry, or None when it is wrong (reported)."""
    where = f"{what}: text_format"
    fields = Fields(report, entry.node, where, ("type", *FACETS), ("type",))
    if not fields.ok:
        return None
    ok = True
    value_type = None
    type_entry = fields.get("type")
    node = scalar(report, where, "type", type_entry)
    if node is not None:
        value_type = TYPES.get(node.text)
        if value_type is None:
            by_case = {name.lower(): name for name in TYPE_NAMES}
            hint = f" (did you mean {by_case[node.text.lower()]!r}?)" if node.text.lower() in by_case else suggest(node.text, TYPE_NAMES)
            report(type_entry.key_line, f"{where}: unknown type {node.text!r}{hint}")
    if value_type is None:
        ok = False
    facets: dict = {}
    for name, kind in FACETS.items():
        facet_entry = fields.get(name)
        if facet_entry is None:
            continue
        value = _facet_value(report, where, name, kind, facet_entry)
        if value is None:
            ok = False
        else:
            facets[name] = value
    ok &= _consistent(report, where, fields, facets)
    if not ok:
        return None
    return common.Facet(type=FacetType(**facets), value_type=value_type)


def _facet_value(report: Report, where: str, name: str, kind: str, entry: Entry):
    node = scalar(report, where, name, entry)
    if node is None:
        return None
    value = node.value
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool) and not node.quoted
    if kind == "positive":
        if not (is_number and isinstance(value, int) and value >= 1):
            report(entry.key_line, f"{where}: {name} must be a whole number of at least 1, not {node.kind}")
            return None
        return value
    if kind == "number":
        if not is_number or value != value or value in (float("inf"), float("-inf")):
            report(entry.key_line, f"{where}: {name} must be a number, not {node.kind}")
            return None
        return value
    if kind == "bool":
        if node.tag != "bool":
            report(entry.key_line, f"{where}: {name} must be true or false, not {node.kind}")
            return None
        return bool(value)
    # a regular expression
    if not isinstance(node, Scalar) or node.tag not in ("str",):
        report(entry.key_line, f"{where}: {name} must be text (a regular expression), not {node.kind}; quote it")
        return None
    try:
        re.compile(node.text)
    except (re.error, RecursionError, OverflowError) as exc:
        report(entry.key_line, f"{where}: {name} {node.text!r} is not a valid regular expression: {exc}")
        return None
    return node.text


def _consistent(report: Report, where: str, fields: Fields, facets: dict) -> bool:
    ok = True
    for low, high in (("min_length", "max_length"), ("min_value", "max_value"), ("start_value", "end_value")):
        if low in facets and high in facets and Decimal(repr(facets[low])) > Decimal(repr(facets[high])):
            report(fields.line_of(high), f"{where}: {high} {facets[high]} is less than {low} {facets[low]}")
            ok = False
    return ok
