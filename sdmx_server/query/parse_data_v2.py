"""REST v2 data and availability URLs (data.md, availability.md), and REST v1
`/availableconstraint/...` (v1.5.0 4_6_1_other_queries.md), into DataQuery and AvailabilityQuery.

- `/data/{context}/{agencyID}/{resourceID}/{version}/{key}`: every part defaults to `*`
  (missing, empty, or `*`); agencies, ids and versions are `,` lists; versions follow
  querying_versions.md; keys are `,` lists of `.`-separated codes, `*` or empty for any code
  (and `+` between codes, as in v1).
- `c[COMP]=...`: `,` separates alternatives (OR), `+` conditions (AND), each `op:value` or a
  bare value (eq). They are read from the raw query string, before percent-decoding: a `+`
  there is the spec's AND (form decoding would turn it into a space). Clients that encode the
  whole value (pysdmx sends `F%2CM` and `ge:2020%2Ble:2021`) mean the same: `%2C` is the OR
  (no id holds a comma, and the spec has no escape for one), and `%2B` is the AND where an
  operator follows it (`%2Ble:`), else a plus inside the value (`+01:00` of a date-time, `co:%2B`).
  Without the raw string (tests, other callers) a space counts as `+`.
- `updatedAfter`, `asOf` (xs:dateTime; UTC without an offset) and `includeHistory` read the
  data's revisions (service/history.py).
- Anything else wrong is a 400 naming the parameter; never a 500.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import unquote

from sdmx_server.errors import SyntaxError_
from sdmx_server.query.keys import parse_key
from sdmx_server.query.model import (
    OPERATORS,
    AvailabilityQuery,
    ComponentFilter,
    Condition,
    DataContext,
    DataQuery,
    Key,
)
from sdmx_server.query.params import (
    as_of,
    boolean,
    ID,
    NESTED_NCNAME,
    dimension_at_observation,
    lower_params,
    path_segments,
    values,
    version_query,
)
from sdmx_server.query.periods import PeriodError, parse_query_period
from sdmx_server.versions import ALL

DATA_SHAPE = "/data/{context}/{agencyID}/{resourceID}/{version}/{key}"
AVAILABILITY_SHAPE = "/availability/{context}/{agencyID}/{resourceID}/{version}/{key}/{componentID}"
CONTEXTS: tuple[DataContext, ...] = ("dataflow", "datastructure", "provisionagreement", "*")
MODES = ("exact", "available")
AVAILABILITY_REFERENCES = ("none", "all", "codelist", "valuelist", "datastructure", "conceptscheme", "dataflow",
                           "dataproviderscheme")
V1_AVAILABILITY_REFERENCES = ("none", "all", "codelist", "datastructure", "conceptscheme", "dataflow",
                              "dataproviderscheme")
ATTRIBUTE_WORDS = ("dsd", "msd", "dataset", "series", "obs", "all", "none")
MEASURE_WORDS = ("all", "none")
TIME = "TIME_PERIOD"
#: Larger offsets and counts than any database holds rows: refused rather than overflowing.
MAX_COUNT = 2**62
_ANY = ("*",)
_FILTER_NAME = re.compile(r"^[cC]\[(?P<component>[^\]]*)\]$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_START_DAY = re.compile(r"--[0-9]{2}-[0-9]{2}")


# -- data ----------------------------------------------------------------------------------------


def parse_data_query(segments: list[str], params: Mapping[str, str], raw_query: str | None = None) -> DataQuery:
    """`/data/{context}/{agencyID}/{resourceID}/{version}/{key}` (segments after `data`)."""
    context, agency, resource_id, version, key = path_segments(segments, 5, DATA_SHAPE)
    p = lower_params(params)
    start_day = _start_day(p)
    return DataQuery(
        context=_context(context),
        agencies=values(agency, NESTED_NCNAME, "agencyID", "an agency id", sep=",", any_words=_ANY),
        ids=values(resource_id, ID, "resourceID", "an artefact id", sep=",", any_words=_ANY),
        versions=ALL if version in (None, "*") else version_query(version, "v2"),
        keys=parse_keys(key),
        filters=parse_filters(params, raw_query, start_day),
        first_n=_count(p, "firstnobservations", "firstNObservations", minimum=1),
        last_n=_count(p, "lastnobservations", "lastNObservations", minimum=1),
        dimension_at_observation=dimension_at_observation(p),
        attributes=_words(p, "attributes", ATTRIBUTE_WORDS, ("dsd",)),
        measures=_words(p, "measures", MEASURE_WORDS, ("all",)),
        offset=_count(p, "offset", "offset", minimum=0) or 0,
        limit=_count(p, "limit", "limit", minimum=1),
        sort=parse_sort(p.get("sort")),
        api="v2",
        reporting_year_start_day=start_day,
        **_history(p),
    )


def _context(text: str | None) -> DataContext:
    if text is None:
        return "*"
    if text not in CONTEXTS:
        raise SyntaxError_(f"context={text!r}: expected one of {', '.join(CONTEXTS)} ({DATA_SHAPE})")
    return text  # type: ignore[return-value]


def parse_keys(text: str | None) -> tuple[Key, ...] | None:
    """`,`-separated keys; None when any of them selects everything (`*`, empty)."""
    if text is None:
        return None
    keys = []
    for part in text.split(","):
        if part in ("", "*"):
            return None
        try:
            key = parse_key(part)
        except SyntaxError_ as exc:
            raise SyntaxError_(f"key={text!r}: {exc.message}") from None
        if key is None or all(codes is None for codes in key):
            return None
        if key not in keys:
            keys.append(key)
    return tuple(keys)


def parse_sort(text: str | None) -> tuple[tuple[str, bool], ...] | None:
    """`sort=series_key:asc+TIME_PERIOD:desc`: (component, `*` or `series_key`; descending)."""
    if text is None or text == "":
        return None
    found: list[tuple[str, bool]] = []
    for item in re.split(r"[+ ]", text):
        name, _, direction = item.partition(":")
        if direction not in ("", "asc", "desc"):
            raise SyntaxError_(f"sort={text!r}: {item!r} ends with {direction!r}; expected :asc or :desc")
        if name not in ("*", "series_key") and not ID.fullmatch(name):
            raise SyntaxError_(f"sort={text!r}: {name!r} is not a component id, '*' or 'series_key'")
        if any(name == n for n, _ in found):
            raise SyntaxError_(f"sort={text!r}: {name} is named twice")
        found.append((name, direction == "desc"))
    return tuple(found)


# -- c[COMP] filters -----------------------------------------------------------------------------


def parse_filters(params: Mapping[str, str], raw_query: str | None = None,
                  start_day: str = "--01-01") -> tuple[ComponentFilter, ...]:
    """Every `c[COMP]` parameter, at most one per component."""
    raw = _raw_filters(raw_query) if raw_query is not None else None
    found: dict[str, ComponentFilter] = {}
    items = params.multi_items() if hasattr(params, "multi_items") else params.items()
    for name, value in items:
        m = _FILTER_NAME.match(name)
        if m is None:
            if name.lower().startswith("c["):
                raise SyntaxError_(f"{name!r}: a component filter is written c[COMPONENT_ID]=value")
            continue
        component = m["component"]
        if not ID.fullmatch(component):
            raise SyntaxError_(f"{name}: {component!r} is not a component id")
        if component in found:
            raise SyntaxError_(f"c[{component}] is given twice; give it once, with ',' for OR and '+' for AND")
        alternatives = raw.get(component) if raw is not None else None
        if alternatives is None:
            alternatives = [re.split(r"[+ ]", alternative) for alternative in value.split(",")]
        found[component] = ComponentFilter(component, tuple(
            tuple(_condition(component, term, value, start_day) for term in alternative)
            for alternative in alternatives
        ))
    return tuple(found.values())


def _raw_filters(raw_query: str) -> dict[str, list[list[str]]]:
    """c[COMP] -> alternatives -> terms, split on the raw `,` and `+` and then decoded."""
    found: dict[str, list[list[str]]] = {}
    for pair in raw_query.split("&"):
        name, _, value = pair.partition("=")
        m = _FILTER_NAME.match(unquote(name.replace("+", " ")))
        if m is None or m["component"] in found:
            continue
        found[m["component"]] = [
            [piece for term in alternative.split("+") for piece in _encoded_and.split(unquote(term))]
            for alternative in _encoded_or.split(value)
        ]
    return found


#: What clients that percent-encode the whole value send for `,` and `+` (see the docstring).
_encoded_or = re.compile(r",|%2C", re.IGNORECASE)
_encoded_and = re.compile(r"\+(?=(?:eq|ne|lt|le|gt|ge|co|nc|sw|ew):)")


def _condition(component: str, term: str, whole: str, start_day: str) -> Condition:
    operator, sep, value = term.partition(":")
    if not sep or operator not in OPERATORS:
        operator, value = "eq", term  # a bare value (which may hold ':', as a date-time does)
    where = f"c[{component}]={whole!r}"
    if value == "":
        raise SyntaxError_(f"{where}: an empty value; write e.g. c[{component}]=A or c[{component}]=ge:2020")
    if _CONTROL.search(value):
        raise SyntaxError_(f"{where}: control characters are not allowed in a value")
    if component == TIME and operator not in ("co", "nc", "sw", "ew"):
        try:
            parse_query_period(value, start_day)
        except PeriodError as exc:
            raise SyntaxError_(f"{where}: {exc}") from None
    return Condition(operator, value)  # type: ignore[arg-type]


# -- shared parameters ---------------------------------------------------------------------------


def _history(p: Mapping[str, str]) -> dict:
    """updatedAfter, includeHistory and asOf (data.md), as DataQuery fields."""
    return {"updated_after": as_of(p, "updatedAfter"), "as_of": as_of(p, "asOf"),
            "include_history": boolean(p, "includehistory", "includeHistory")}


def _start_day(p: Mapping[str, str]) -> str:
    text = p.get("reportingyearstartday")
    if text is None or text == "":
        return "--01-01"
    try:
        parse_query_period("2000", text)  # checks the day
    except PeriodError as exc:
        raise SyntaxError_(f"reportingYearStartDay={text!r}: {exc}") from None
    return text


def _count(p: Mapping[str, str], name: str, label: str, *, minimum: int) -> int | None:
    text = p.get(name)
    if text is None or text == "":
        return None
    if not (text.isascii() and text.isdigit()) or not minimum <= int(text) <= MAX_COUNT:
        what = "a positive integer" if minimum else "a non-negative integer"
        raise SyntaxError_(f"{label}={text!r}: expected {what}")
    return int(text)


def _words(p: Mapping[str, str], name: str, words: tuple[str, ...], default: tuple[str, ...]) -> tuple[str, ...]:
    text = p.get(name)
    if text is None or text == "":
        return default
    found: list[str] = []
    for item in text.split(","):
        value = item.lower() if item.lower() in words else item
        if value not in words and not ID.fullmatch(value):
            raise SyntaxError_(f"{name}={text!r}: {item!r} is neither one of {', '.join(words)} nor a component id")
        if value not in found:
            found.append(value)
    if len(found) > 1 and "none" in found:
        raise SyntaxError_(f"{name}={text!r}: 'none' cannot be combined with other values")
    return tuple(found)


# -- availability --------------------------------------------------------------------------------


def parse_availability_query(segments: list[str], params: Mapping[str, str],
                             raw_query: str | None = None) -> AvailabilityQuery:
    """`/availability/{context}/{agencyID}/{resourceID}/{version}/{key}/{componentID}`."""
    parts = path_segments(segments, 6, AVAILABILITY_SHAPE)
    component = parts[5]
    data = parse_data_query([s or "" for s in parts[:5]], params, raw_query)
    p = lower_params(params)
    return AvailabilityQuery(
        data=data,
        component=_component(component),
        mode=_mode(p),  # type: ignore[arg-type]
        references=_references(p.get("references"), AVAILABILITY_REFERENCES),
    )


def parse_availability_query_v1(flow: str, key: str | None, provider: str | None, component: str | None,
                                params: Mapping[str, str]) -> AvailabilityQuery:
    """`/availableconstraint/{flowRef}/{key}/{providerRef}/{componentID}` (REST v1.5.0)."""
    from sdmx_server.query.parse_v1 import parse_data_query as parse_v1_data

    p = lower_params(params)
    data = parse_v1_data(flow, key, provider, params)  # startPeriod, endPeriod; updatedAfter is a 501
    return AvailabilityQuery(
        data=data,
        component=None if component in (None, "", "all") else _component(component),
        mode=_mode(p),  # type: ignore[arg-type]
        references=_references(p.get("references"), V1_AVAILABILITY_REFERENCES),
    )


def _component(text: str | None) -> str | None:
    if text is None or text == "*":
        return None
    if not ID.fullmatch(text):
        raise SyntaxError_(f"componentID={text!r}: expected a dimension id or '*'")
    return text


def _mode(p: Mapping[str, str]) -> str:
    text = p.get("mode")
    if text is None or text == "":
        return "exact"
    if text.lower() not in MODES:
        raise SyntaxError_(f"mode={text!r}: expected exact or available")
    return text.lower()


def _references(text: str | None, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if text is None or text == "":
        return ("none",)
    found: list[str] = []
    for item in text.split(","):
        value = item.lower()
        if value not in allowed:
            raise SyntaxError_(f"references={text!r}: {item!r} is not one of {', '.join(allowed)}")
        if value not in found:
            found.append(value)
    return tuple(found)
