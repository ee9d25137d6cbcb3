"""Pieces shared by the REST v1 and v2 URL parsers: id syntax, lists, booleans, dates, versions.

Every failure is a SyntaxError_ (400) whose message names the parameter and says what is
allowed, so that a client can fix its URL from the error alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone

from sdmx_server.errors import SyntaxError_
from sdmx_server.types import ApiVersion
from sdmx_server.versions import VersionQuery, VersionSyntaxError, parse_version_query

# The SDMX id types (common.xsd), as REST patterns use them.
ID = re.compile(r"[A-Za-z0-9_@$\-]+")  # IDType
NESTED_ID = re.compile(r"[A-Za-z0-9_@$\-]+(\.[A-Za-z0-9_@$\-]+)*")  # NestedIDType
NCNAME = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*")  # NCNameIDType
NESTED_NCNAME = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*(\.[A-Za-z][A-Za-z0-9_\-]*)*")  # NestedNCNameIDType
ANY_VALUE = re.compile(r"[^,]+")  # value list items: "any type"

# A '+' sent unencoded in a query string arrives as a space: '2024-01-31T12:00:00 01:00'.
_SPACE_OFFSET = re.compile(r"(.*T[0-9:.]+) ([0-9]{2}(?::?[0-9]{2})?)")


def lower_params(params: Mapping[str, str]) -> dict[str, str]:
    """Parameter names without regard to case: clients send both startPeriod and startperiod."""
    return {str(k).lower(): v for k, v in params.items()}


def path_segments(segments: list[str], count: int, shape: str) -> list[str | None]:
    """`count` segments, trailing ones missing as None; empty segments (a trailing '/', as
    pysdmx sends) are None too. More than `count` segments is a 400 showing `shape`."""
    parts: list[str | None] = [s if s else None for s in segments]
    while parts and parts[-1] is None:
        parts.pop()
    if len(parts) > count:
        raise SyntaxError_(f"too many path segments: expected {shape}")
    return parts + [None] * (count - len(parts))


def values(text: str | None, pattern: re.Pattern, name: str, what: str, *,
           sep: str, any_words: tuple[str, ...]) -> tuple[str, ...] | None:
    """A `sep`-separated list checked against `pattern`; None (any) when missing or when one
    of `any_words` ('*' in v2, 'all' in v1) is among the values."""
    if text is None:
        return None
    found = tuple(dict.fromkeys(text.split(sep)))
    if any(v in any_words for v in found):
        return None
    for value in found:
        if not pattern.fullmatch(value):
            alternatives = " or ".join(repr(w) for w in any_words)
            raise SyntaxError_(
                f"{name}={text!r}: {value!r} is not {what}; give one or more joined by {sep!r}, or {alternatives}"
            )
    return found


def version_query(text: str | None, api: ApiVersion, name: str = "version") -> VersionQuery:
    try:
        return parse_version_query(text, api)
    except VersionSyntaxError as exc:
        raise SyntaxError_(f"{name}={text!r}: {exc}") from None


def choice(p: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str, label: str | None = None) -> str:
    """A closed-set parameter, matched without regard to case (the spec's own examples write
    `detail=allStubs`)."""
    if name not in p:
        return default
    value = p[name].lower()
    if value not in allowed:
        raise SyntaxError_(f"{label or name}={p[name]!r}: expected one of {', '.join(allowed)}")
    return value


def boolean(p: Mapping[str, str], name: str, label: str) -> bool:
    value = p.get(name)
    if value is None or value == "":
        return False
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise SyntaxError_(f"{label}={value!r}: expected true or false")


def as_of(p: Mapping[str, str], name: str = "asOf") -> datetime | None:
    """`asOf` (or another xs:dateTime parameter, e.g. updatedAfter) as an aware datetime;
    without an offset it is taken as UTC (the spec's "local time of the web service": this
    server keeps its times in UTC)."""
    text = p.get(name.lower())
    if text is None or text == "":
        return None
    candidate = text.strip()
    if not candidate.isprintable():  # fromisoformat stops at a NUL: '2020-01-01\x00junk' would pass
        raise SyntaxError_(f"{name}={text!r}: control characters are not allowed in a time")
    if match := _SPACE_OFFSET.fullmatch(candidate):
        candidate = f"{match.group(1)}+{match.group(2)}"
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        raise SyntaxError_(
            f"{name}={text!r}: expected an xs:dateTime such as 2024-01-31T12:00:00Z or 2024-01-31T12:00:00+01:00"
        ) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    try:
        # In UTC, as the store keeps times: one form for validators and comparisons.
        return moment.astimezone(timezone.utc)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the year 1 in UTC
        raise SyntaxError_(f"{name}={text!r}: out of the range of dates") from None


def dimension_at_observation(p: Mapping[str, str]) -> str | None:
    value = p.get("dimensionatobservation")
    if value is None or value == "":
        return None
    if not NCNAME.fullmatch(value):
        raise SyntaxError_(
            f"dimensionAtObservation={value!r}: expected a dimension id (NCName) or AllDimensions"
        )
    return value
