"""Column checks: each looks at a whole column at once and reports the rows that fail.

Work is done on distinct values wherever values repeat (codes, periods), so that a check costs
a hash lookup per row and a Python call per distinct value, never a Python call per row.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sdmx_server.ingest.report import ValidationReport
from sdmx_server.registry.shape import INTEGER_TYPES, NUMERIC_TYPES, Component

#: How many distinct bad values of one column get a line of their own in a report.
MAX_VALUES_ITEMISED = 50

NUMBER = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$|^NaN$|^[+-]?INF$"
INTEGER = r"^[+-]?[0-9]+$"
_LEXICAL = {
    "alpha": (r"^[A-Za-z]*$", "letters only"),
    "alphaNumeric": (r"^[A-Za-z0-9]*$", "letters and digits only"),
    "numeric": (r"^[0-9]*$", "digits only"),
    "boolean": (r"^(true|false|1|0)$", "true or false"),
    "uri": (r"^\S+$", "a URI"),
}


def empty_to_null(column) -> pa.Array:
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)


def report_by_value(
    report: ValidationReport,
    column_name: str,
    values: pa.Array,
    bad: pa.Array,
    rows: np.ndarray,
    message,
    rule: str = "invalid",
) -> None:
    """Report rows where `bad` is true, one line per distinct offending value.
    `message(value)` words the problem for that value; `rule` names the check."""
    bad = pc.fill_null(bad, False)
    if not pc.any(bad).as_py():
        return
    idx = pc.indices_nonzero(bad).to_numpy()
    offending = pc.take(values, pa.array(idx))
    encoded = pc.dictionary_encode(offending)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    dictionary = encoded.dictionary.to_pylist()
    bad_rows = rows[idx]
    order = np.argsort(codes, kind="stable")
    boundaries = np.flatnonzero(np.diff(codes[order])) + 1
    groups = np.split(order, boundaries)
    groups.sort(key=lambda g: bad_rows[g[0]])
    for group in groups[:MAX_VALUES_ITEMISED]:
        value = dictionary[codes[group[0]]]
        report.add(column_name, message(value), bad_rows[group], rule=rule, value=value)
    rest = groups[MAX_VALUES_ITEMISED:]
    if rest:
        report.add(column_name, f"further invalid values ({len(rest):,} distinct)", bad_rows[np.concatenate(rest)],
                   rule=rule)


def check_codes(report, component: Component, values: pa.Array, rows: np.ndarray) -> None:
    value_set = pa.array(sorted(component.codes), pa.string())
    bad = pc.and_(pc.is_valid(values), pc.invert(pc.is_in(values, value_set=value_set)))
    report_by_value(
        report, component.id, values, bad, rows,
        lambda v: f"{v!r} is not a code of {component.codelist}", rule="code",
    )


#: Characters XML 1.0 cannot carry (and PostgreSQL text cannot hold NUL): refused on the way in,
#: so that every stored value can go out in every format.
CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x{fffe}\x{ffff}]"


def check_text(report, component: Component, values: pa.Array, rows: np.ndarray) -> None:
    """An uncoded value against its text format (type and facets)."""
    present = pc.is_valid(values)
    control = pc.and_(present, pc.match_substring_regex(values, CONTROL))
    report_by_value(report, component.id, values, control, rows,
                    lambda v: f"{_short(v)} contains a control character, which no SDMX format can carry",
                    rule="control-character")
    kind = component.text_type
    if kind in NUMERIC_TYPES:
        pattern = INTEGER if kind in INTEGER_TYPES else NUMBER
        wording = "an integer" if kind in INTEGER_TYPES else "a number"
        bad = pc.and_(present, pc.invert(pc.match_substring_regex(values, pattern)))
        report_by_value(report, component.id, values, bad, rows, lambda v: f"{v!r} is not {wording}", rule="type")
        check_facets(report, component, values, rows, numbers=pc.and_(present, pc.invert(bad)))
        return
    if kind in _LEXICAL:
        pattern, wording = _LEXICAL[kind]
        bad = pc.and_(present, pc.invert(pc.match_substring_regex(values, pattern)))
        report_by_value(report, component.id, values, bad, rows, lambda v: f"{v!r} is not {wording}", rule="type")
    check_facets(report, component, values, rows)


def check_facets(report, component: Component, values: pa.Array, rows: np.ndarray, numbers=None) -> None:
    """The facets of a text format: the range of the rows that `numbers` marks (rows holding
    numbers; None: no number to check), the length and the pattern."""
    if numbers is not None:
        _check_range(report, component, values, numbers, rows)
    _check_length(report, component, values, rows)
    if component.pattern:
        regex = _anchored(component.pattern)
        if regex is not None:
            bad = pc.and_(pc.is_valid(values), pc.invert(pc.match_substring_regex(values, regex)))
            report_by_value(
                report, component.id, values, bad, rows,
                lambda v: f"{v!r} does not match the pattern {component.pattern}", rule="pattern",
            )


def _check_length(report, component: Component, values, rows) -> None:
    if component.min_length is None and component.max_length is None:
        return
    lengths = pc.utf8_length(values)
    bad = pa.array(np.zeros(len(values), dtype=bool))
    if component.max_length is not None:
        bad = pc.or_(bad, pc.greater(lengths, component.max_length))
    if component.min_length is not None:
        bad = pc.or_(bad, pc.less(lengths, component.min_length))
    limits = f"{component.min_length or 0}..{component.max_length if component.max_length is not None else ''}"
    report_by_value(
        report, component.id, values, bad, rows,
        lambda v: f"{_short(v)} has {len(v)} characters; allowed {limits}", rule="length",
    )


def _check_range(report, component: Component, values, valid, rows) -> None:
    if component.min_value is None and component.max_value is None:
        return
    numbers = pc.cast(pc.if_else(valid, values, pa.scalar(None, pa.string())), pa.float64())
    bad = pa.array(np.zeros(len(values), dtype=bool))
    if component.min_value is not None:
        bad = pc.or_(bad, pc.less(numbers, component.min_value))
    if component.max_value is not None:
        bad = pc.or_(bad, pc.greater(numbers, component.max_value))
    report_by_value(
        report, component.id, values, bad, rows,
        lambda v: f"{v} is outside {component.min_value}..{component.max_value}", rule="range",
    )


#: A number whose mantissa is not zero (its digits before any exponent hold a 1-9).
_NONZERO_MANTISSA = r"^[+-]?[0-9]*\.?[0-9]*[1-9]"
#: The literal infinities SDMX allows (xs:double's INF, with a sign).
_INFINITY = r"^[+-]?INF$"


def check_float_range(report, component: Component, values: pa.Array, rows: np.ndarray) -> pa.Array:
    """Checked number strings to float64, reporting the ones a double cannot hold: a number too
    large becomes infinity and one too small becomes 0, which would change the value silently.
    Literal INF and -INF stay infinities; NaN stays NaN."""
    numbers = pc.cast(values, pa.float64())
    # The text is looked at only where the number is an infinity or a zero (few rows).
    infinite = pc.fill_null(pc.is_inf(numbers), False)
    if pc.any(infinite).as_py():
        infinite = _only_where(values, infinite, lambda v: pc.invert(pc.match_substring_regex(v, _INFINITY)))
        report_by_value(report, component.id, values, infinite, rows,
                        lambda v: f"{_short(v)} is too large for a number (a double holds up to about 1.8e308)",
                        rule="number-overflow")
    zero = pc.fill_null(pc.equal(numbers, 0.0), False)
    if pc.any(zero).as_py():
        zero = _only_where(values, zero, lambda v: pc.match_substring_regex(v, _NONZERO_MANTISSA))
        report_by_value(report, component.id, values, zero, rows,
                        lambda v: f"{_short(v)} is too small for a number: it would be stored as 0 "
                                  "(a double holds down to about 4.9e-324)", rule="number-underflow")
    return numbers


def _only_where(values: pa.Array, mask: pa.Array, test) -> pa.Array:
    """`test` (a kernel on strings) run on the rows of `mask` only; false elsewhere."""
    where = pc.indices_nonzero(mask).to_numpy()
    out = np.zeros(len(values), dtype=bool)
    out[where] = pc.fill_null(test(pc.take(values, pa.array(where))), False).to_numpy(zero_copy_only=False)
    return pa.array(out)


def to_number(values: pa.Array) -> pa.Array:
    """Checked number strings to float64 (empty -> null)."""
    return pc.cast(values, pa.float64())


def _anchored(pattern: str) -> str | None:
    # XML Schema patterns match the whole value; RE2 searches. Patterns RE2 cannot compile are
    # skipped rather than guessed at.
    candidate = f"^(?:{pattern})$"
    try:
        re.compile(candidate)
    except re.error:
        return None
    return candidate


def _short(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:37] + "...")
