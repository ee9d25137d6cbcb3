"""Artefact versions: ordering, stability, the version part of a query, wildcarded references.

Versions come in two families. SDMX 3.0 *semantic* versions are `X.Y.Z` or `X.Y.Z-EXT`
(stable when they have no extension). *Legacy* versions are SDMX 2.1's: `X` and `X.Y` (and,
in old messages, any run of numbers such as `1.0.0.1`); they are never semantic.

Ordering (`version_key`): by the numbers (`1.10` > `1.9`), missing parts counting as 0; a
pre-release sorts before its release (`1.0.0-draft` < `1.0.0`) and extensions compare as
semver says (`draft.2` < `draft.10`); a legacy `1.2` sorts just before `1.2.0`.

A query's version part parses into a VersionQuery (`parse_version_query`), whose
`.select(available, final)` picks, from the versions one artefact has, those the query means:

- REST v1: `latest` (or nothing), `all`, or explicit versions joined by `+`.
- REST v2: the whole language of querying_versions.md: specific versions; `+` (latest stable)
  and its forms `X.+.0`, `X.Y.+`, `X+.Y.Z`, `X.Y+.Z`, `X.Y.Z+`; `~` (latest, stable or not)
  and `*` (all) with their forms (`~.0`, `X.~.0`, `X.Y~`, `X*.Y.Z`, ...); lists joined by `,`.
  The forms the spec calls unsupported are refused with a message that names the fix.

**Legacy versions under v2 wildcards** (our decision; querying_versions.md is silent):
- bare `~` and `*` match every version an artefact has, whatever its form;
- the 2-part forms (`~.0`, `X.~`, `X~.Y`, `X.Y~`, `*.0`, ...) match legacy `x.y` versions only;
- the 3-part forms (`+`, `X.Y+.Z`, `~.0.0`, `X.Y.*`, ...) match semantic versions, and legacy
  versions as the SDMX 3.0 Technical Notes convert them: `X.Y` (and `X`) stand for `X.Y.0`
  when the artefact is final (2.1 `isFinal="true"`, passed in `final`) and for `X.Y.0-draft`
  otherwise. So `+` finds a final `1.0` but never a non-final one, and a semantic `1.0.0`
  wins over a legacy `1.0` of the same numbers.
- legacy versions of other shapes (`1.0.0.1`) are reached only by bare `~`/`*` and exactly.

References whose version is wildcarded (a DSD using codelist `1.0+.0`) resolve with
`matches`/`resolve`: `X+.Y.Z`, `X.Y+.Z` and `X.Y.Z+` pick the latest stable version in scope;
from a pre-release artefact (`unstable=True`) pre-releases in scope count too, as the
Technical Notes' dependency rules say.

This module is a leaf: it imports nothing of the project at run time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Collection, Iterable, Literal, Protocol

if TYPE_CHECKING:
    from sdmx_server.types import ApiVersion


class VersionSyntaxError(ValueError):
    """A version or version query that the grammar refuses; the message says what to use."""


_NUM = r"(?:0|[1-9][0-9]*)"
_EXT_ID = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
#: SemanticVersionNumberType of SDMX 3.0 (common.xsd).
_SEMANTIC = re.compile(rf"{_NUM}\.{_NUM}\.{_NUM}(?:-{_EXT_ID}(?:\.{_EXT_ID})*)?")
#: Anything a stored artefact may carry: 2.1's VersionType, with an optional extension.
_STORED = re.compile(r"([0-9]+(?:\.[0-9]+)*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?")
_PART = re.compile(r"([0-9]+)|([^0-9]+)")
_TERM_PART = re.compile(r"([0-9]+)?([+~*])?")

Op = Literal["+", "~", "*"]
_V1_KEYWORDS = {"latest": "'~' (latest) or '+' (latest stable)", "all": "'*'"}


def version_key(version: str) -> tuple:
    """A total sort key: 1.10 > 1.9 > 1.0, 1.0.0 > 1.0.0-draft, draft.10 > draft.2."""
    text = str(version)
    release, dash, extension = text.partition("-")
    parts: list[tuple[int, int | str]] = []
    for chunk in release.split("."):
        parts.extend((0, int(n)) if n else (1, s) for n, s in _PART.findall(chunk))
    padded = tuple(parts) + ((0, 0),) * (3 - len(parts))
    ext = tuple((0, int(i)) if i.isascii() and i.isdigit() else (1, i) for i in extension.split(".")) if dash else ()
    # A release sorts after its pre-releases; at equal numbers the shorter (legacy) form first.
    return (padded, 0 if dash else 1, ext, len(parts), text)


def latest(versions):
    """The highest of the given version strings."""
    return max(versions, key=version_key)


def is_semantic(version: str) -> bool:
    """`X.Y.Z` or `X.Y.Z-EXT` as SDMX 3.0 defines them (no leading zeros)."""
    return _SEMANTIC.fullmatch(str(version)) is not None


def is_stable(version: str) -> bool:
    """A semantic version without extension. (A legacy version is stable only when final,
    which the version string cannot say.)"""
    return is_semantic(version) and "-" not in str(version)


def is_wildcarded(text: str) -> bool:
    """Whether a version (of a reference or a query) contains a wildcard operator."""
    release = str(text).partition("-")[0]
    return any(op in release for op in "+~*")


def _numbers(version: str) -> tuple[tuple[int, ...], str | None] | None:
    match = _STORED.fullmatch(str(version))
    if match is None:
        return None
    return tuple(int(n) for n in match.group(1).split(".")), match.group(2)


class VersionQuery(Protocol):
    """The version part of a structure query."""

    def select(self, available: Iterable[str], final: Collection[str] = ()) -> list[str]:
        """The versions of one artefact (same agency and id) that the query picks, in order.
        `final`: the legacy versions among them that are marked final (2.1 isFinal)."""
        ...


@dataclass(frozen=True)
class Latest:
    """REST v1 `latest` (and a missing version), v2 `~`: the highest version there is."""

    def select(self, available: Iterable[str], final: Collection[str] = ()) -> list[str]:
        available = list(available)
        return [latest(available)] if available else []

    def __str__(self) -> str:
        return "latest"


@dataclass(frozen=True)
class AllVersions:
    """REST v1 `all`, v2 `*`: every version."""

    def select(self, available: Iterable[str], final: Collection[str] = ()) -> list[str]:
        return sorted(set(available), key=version_key)

    def __str__(self) -> str:
        return "all"


@dataclass(frozen=True)
class Exactly:
    """Explicit versions, compared as strings."""

    versions: tuple[str, ...]

    def select(self, available: Iterable[str], final: Collection[str] = ()) -> list[str]:
        wanted = set(self.versions)
        return sorted({v for v in available if v in wanted}, key=version_key)

    def __str__(self) -> str:
        return "+".join(self.versions)


@dataclass(frozen=True)
class Wildcard:
    """One REST v2 wildcard, normalised: `X.Y+.Z` is op '+', at 1, bound (X, Y, Z).

    A version matches when its parts before `at` equal the bound's and its parts from `at` on
    are at least the bound's; `+` also wants it stable. `+` and `~` pick the latest match,
    `*` all of them. Equivalent spellings (`X.~` and `X.0~`) are equal objects.
    """

    op: Op
    at: int
    bound: tuple[int, ...]
    text: str = field(default="", compare=False)

    def matches(self, version: str, final: bool = False) -> bool:
        parsed = _numbers(version)
        if parsed is None:
            return False
        numbers, extension = parsed
        if len(self.bound) == 2:  # the x.y forms: legacy two-part versions only
            if len(numbers) != 2 or extension is not None:
                return False
        elif len(numbers) == 3:
            if self.op == "+" and extension is not None:
                return False
        elif len(numbers) in (1, 2) and extension is None:
            # Legacy X / X.Y as the Technical Notes convert it: X.Y.0 if final, else X.Y.0-draft.
            if self.op == "+" and not final:
                return False
            numbers = (numbers + (0, 0))[:3]
        else:
            return False
        return numbers[: self.at] == self.bound[: self.at] and numbers[self.at :] >= self.bound[self.at :]

    def select(self, available: Iterable[str], final: Collection[str] = ()) -> list[str]:
        hits = [v for v in dict.fromkeys(available) if self.matches(v, v in final)]
        if self.op == "*":
            return sorted(hits, key=version_key)
        return [latest(hits)] if hits else []

    def __str__(self) -> str:
        return self.text or ".".join(
            f"{n}{self.op}" if i == self.at else str(n) for i, n in enumerate(self.bound)
        )


@dataclass(frozen=True)
class AnyOf:
    """REST v2 `,`: the union of what each term picks."""

    terms: tuple[VersionQuery, ...]

    def select(self, available: Iterable[str], final: Collection[str] = ()) -> list[str]:
        available = list(available)
        chosen = {v for term in self.terms for v in term.select(available, final)}
        return sorted(chosen, key=version_key)

    def __str__(self) -> str:
        return ",".join(",".join(t.versions) if isinstance(t, Exactly) else str(t) for t in self.terms)


LATEST = Latest()
ALL = AllVersions()
#: v2 `+`: the latest stable version x.y.z with x > 0.
LATEST_STABLE = Wildcard("+", 0, (1, 0, 0), "+")


def parse_version_query(text: str | None, api: ApiVersion) -> VersionQuery:
    """The version part of a v1 or v2 query; VersionSyntaxError says what is wrong."""
    if api == "v1":
        return _parse_v1(text)
    if text is None or text == "":
        return LATEST
    exact: list[str] = []
    terms: list[VersionQuery] = []
    for term in text.split(","):
        query = _parse_term(term, reference=False)
        if isinstance(query, Exactly):
            exact.extend(v for v in query.versions if v not in exact)
        elif query not in terms:
            terms.append(query)
    if exact:
        terms.insert(0, Exactly(tuple(exact)))
    return terms[0] if len(terms) == 1 else AnyOf(tuple(terms))


def _parse_v1(text: str | None) -> VersionQuery:
    if text in (None, "", "latest"):
        return LATEST
    if text == "all":
        return ALL
    versions = tuple(dict.fromkeys(text.split("+")))
    for version in versions:
        if _STORED.fullmatch(version) is None:
            raise VersionSyntaxError(
                f"{version!r} is not a version: expected e.g. 1.0 or 2.1.0, several joined by '+', "
                "or the keywords latest and all"
            )
    return Exactly(versions)


def _parse_term(term: str, *, reference: bool) -> VersionQuery:
    """One term of a v2 version list (or a reference's version)."""
    if term == "~":
        return LATEST
    if term == "*":
        return ALL
    if term == "+":
        return LATEST_STABLE
    release, dash, _ = term.partition("-")
    if not is_wildcarded(term):
        if _STORED.fullmatch(term):
            return Exactly((term,))
        if term in _V1_KEYWORDS:
            raise VersionSyntaxError(f"{term!r} is REST v1; in REST v2 use {_V1_KEYWORDS[term]}")
        if not term:
            raise VersionSyntaxError("an empty version (two ',' in a row, or one at an end)")
        raise VersionSyntaxError(
            f"{term!r} is not a version: expected X.Y.Z, X.Y.Z-EXT, X.Y, X, or a wildcard such as "
            "+, ~, *, 1.+.0, 1.2+.0, 1.~, 1.2.* (see querying_versions.md)"
        )
    if dash:
        raise VersionSyntaxError(f"{term!r}: a wildcard cannot be combined with an extension; drop '-...'")
    parts = release.split(".")
    if len(parts) > 3:
        raise VersionSyntaxError(f"{term!r}: a version has at most three parts (X.Y.Z)")
    parsed: list[tuple[str | None, str | None]] = []
    for part in parts:
        match = _TERM_PART.fullmatch(part)
        if not part or match is None:
            raise VersionSyntaxError(
                f"{term!r}: {part!r} is not a version part (a number, optionally followed by +, ~ or *)"
            )
        parsed.append((match.group(1), match.group(2)))
    ops = [(i, op) for i, (_, op) in enumerate(parsed) if op]
    if len(ops) > 1:
        raise VersionSyntaxError(
            f"{term!r}: two or more of the wildcards +, ~, * in one version are not supported; "
            "use one, or several versions joined by ','"
        )
    at, op = ops[0]
    numbers = [None if n is None else int(n) for n, _ in parsed]
    bare = numbers[at] is None
    if bare and any(n != 0 for n in numbers[at + 1 :]):
        fixed = ".".join(p if i <= at else "0" for i, p in enumerate(parts))
        raise VersionSyntaxError(
            f"{term!r}: a positive number after a part wildcarded with {op!r} is not supported; use {fixed!r}"
        )
    if op == "+":
        if len(parts) != 3:
            hint = release + ".0" * (3 - len(parts))
            raise VersionSyntaxError(
                f"{term!r}: stable versions always have three parts, so '+' needs X.Y.Z; use {hint}"
            )
        if bare:
            numbers[at] = 1 if at == 0 else 0  # `+.0.0` is `1+.0.0`; `X.+.0` is `X.0+.0`
        if numbers[0] == 0 and not reference:
            raise VersionSyntaxError(
                f"{term!r}: the latest-stable forms need a major version above 0 (0.y.z is initial modelling)"
            )
    else:
        if len(parts) == 1:
            raise VersionSyntaxError(
                f"{term!r}: use {op!r} alone, or a form with two or three parts such as "
                f"'{numbers[0]}.{op}' or '{numbers[0]}.{op}.0'"
            )
        if bare:
            numbers[at] = 0  # `~.0` is `0~.0`, `X.*` is `X.0*`
    return Wildcard(op, at, tuple(numbers), term)


def _reference_query(pattern: str, unstable: bool) -> VersionQuery:
    query = _parse_term(pattern, reference=True)
    if unstable and isinstance(query, Wildcard) and query.op == "+":
        # From a pre-release artefact, pre-releases in scope count too.
        query = replace(query, op="~")
    return query


def matches(pattern: str, version: str, *, unstable: bool = False, final: bool = False) -> bool:
    """Whether `version` is in the scope of a reference's version `pattern` (`1.0+.0`, `2.1`, `*`).

    unstable: the referring artefact is a pre-release; final: `version` is a legacy version
    marked final. A plain pattern matches only itself.
    """
    query = _reference_query(pattern, unstable)
    if isinstance(query, Exactly):
        return version == pattern
    if isinstance(query, Wildcard):
        return query.matches(version, final)
    return True  # `*` and `~`: any version


def resolve(pattern: str, available: Iterable[str], *, unstable: bool = False,
            final: Collection[str] = ()) -> str | None:
    """The version a reference with version `pattern` points to among `available`, or None."""
    chosen = _reference_query(pattern, unstable).select(available, final)
    return chosen[-1] if chosen else None  # selections are sorted: the last is the latest
