"""Grants and what they allow, in the style of .Stat Suite's permission model.

A grant is subject × action × scope, where a scope names dataflows (or other maintainable
artefacts, for `maintain`) by `AGENCY:ID(VERSION)` with `*` wildcards in any part (`SSO:*`,
`*`), and may be narrowed to a cube region (`where`: dimension → codes). The rules:

- `admin` implies every action, everywhere (its `where` is ignored); `read-embargoed` implies
  `read` on the same scope and region.
- `read` of a `public` dataflow is everyone's: no grant needed.
- An `internal` dataflow is read by those granted `read` on a scope that covers it.
- A `restricted` dataflow only through grants whose scope names it (agency and id without a
  wildcard): `SSO:*` or `*` never opens it, except to an administrator.

An `Allowance` is where an action is allowed on one dataflow: nowhere, everywhere, or within
the union of cube regions. Its `fingerprint` is what caches and ETags key answers by, so that
two principals with the same allowance share answers and others never do.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Iterable, Mapping

from sdmx_server.access.principal import Principal
from sdmx_server.types import ACCESS_ACTIONS, AccessAction, AccessLevel

#: A cube region: dimension id → the codes allowed; a row is inside when each of its codes is.
Region = Mapping[str, frozenset[str]]

_SCOPE = re.compile(r"^(?P<agency>[^:()]+):(?P<id>[^:()]+)(?:\((?P<version>[^()]+)\))?$")


class GrantError(ValueError):
    """A grant that cannot be: unknown action, malformed scope or subject."""


@dataclass(frozen=True)
class Scope:
    agency: str = "*"
    id: str = "*"
    version: str = "*"

    @classmethod
    def parse(cls, text: str) -> "Scope":
        text = text.strip()
        if text == "*":
            return cls()
        m = _SCOPE.match(text)
        if not m:
            raise GrantError(f"scope {text!r}: expected AGENCY:ID(VERSION), a pattern such as SSO:* or *")
        return cls(m["agency"], m["id"], m["version"] or "*")

    def covers(self, key: tuple[str, str, str]) -> bool:
        agency, artefact_id, version = key
        return (fnmatchcase(agency, self.agency) and fnmatchcase(artefact_id, self.id)
                and fnmatchcase(version, self.version))

    def names(self, key: tuple[str, str, str]) -> bool:
        """Covers the key and names its agency and id without a pattern (restricted flows):
        none of fnmatch's `*`, `?` or `[...]`."""
        return not any(ch in self.agency + self.id for ch in "*?[") and self.covers(key)

    def __str__(self) -> str:
        if (self.agency, self.id, self.version) == ("*", "*", "*"):
            return "*"
        return f"{self.agency}:{self.id}" + ("" if self.version == "*" else f"({self.version})")


def parse_subject(text: str) -> str:
    text = text.strip()
    if text == "everyone" or re.fullmatch(r"(user|group):[^\s:]+", text):
        return text
    raise GrantError(f"subject {text!r}: expected user:NAME, group:NAME or everyone")


def parse_where(terms: Iterable[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`DIM=CODE[+CODE]` terms (the CLI's --where) as a sorted, hashable region."""
    region: dict[str, set[str]] = {}
    for term in terms:
        dim, sep, codes = term.partition("=")
        values = [c for c in codes.split("+") if c]
        if not sep or not dim.strip() or not values:
            raise GrantError(f"--where {term!r}: expected DIM=CODE[+CODE]")
        region.setdefault(dim.strip(), set()).update(values)
    return tuple((d, tuple(sorted(c))) for d, c in sorted(region.items()))


@dataclass(frozen=True)
class Grant:
    subject: str  # everyone | user:NAME | group:NAME
    action: AccessAction
    scope: Scope
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()  # () = the whole dataflow
    id: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.action not in ACCESS_ACTIONS:
            raise GrantError(f"action {self.action!r}: expected one of {', '.join(ACCESS_ACTIONS)}")

    @property
    def region(self) -> Region | None:
        return {d: frozenset(c) for d, c in self.where} if self.where else None

    def __str__(self) -> str:
        where = "".join(f" --where {d}={'+'.join(c)}" for d, c in self.where)
        return f"{self.subject} {self.action} {self.scope}{where}"


@dataclass(frozen=True)
class Allowance:
    """Where an action is allowed on one artefact: `regions` None = everywhere, () = nowhere."""

    regions: tuple[Region, ...] | None

    @property
    def allowed(self) -> bool:
        return self.regions is None or len(self.regions) > 0

    @property
    def whole(self) -> bool:
        return self.regions is None

    @property
    def fingerprint(self) -> str:
        if self.regions is None:
            return "all"
        if not self.regions:
            return "none"
        text = "|".join(sorted(";".join(f"{d}={'+'.join(sorted(c))}" for d, c in sorted(r.items()))
                               for r in self.regions))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


EVERYWHERE = Allowance(None)
NOWHERE = Allowance(())

#: The actions a granted action implies.
_IMPLIED: dict[str, frozenset[str]] = {
    "read": frozenset({"read"}),
    "read-embargoed": frozenset({"read-embargoed", "read"}),
    "upload": frozenset({"upload"}),
    "maintain": frozenset({"maintain"}),
    "admin": frozenset(ACCESS_ACTIONS),
}


class Permissions:
    """One principal's grants, evaluated."""

    def __init__(self, principal: Principal, grants: Iterable[Grant]):
        self.principal = principal
        subjects = principal.subjects
        self.grants = tuple(g for g in grants if g.subject in subjects)

    @property
    def is_admin(self) -> bool:
        return any(g.action == "admin" and str(g.scope) == "*" for g in self.grants)

    def allowance(self, action: AccessAction, key: tuple[str, str, str],
                  access: AccessLevel = "public") -> Allowance:
        if action == "read" and access == "public":
            return EVERYWHERE
        regions: list[Region] = []
        for grant in self.grants:
            if action not in _IMPLIED[grant.action]:
                continue
            covered = grant.scope.names(key) if access == "restricted" and grant.action != "admin" else grant.scope.covers(key)
            if not covered:
                continue
            region = grant.region
            if grant.action == "admin" or region is None:
                return EVERYWHERE
            regions.append(region)
        return Allowance(tuple(regions))

    def may(self, action: AccessAction, key: tuple[str, str, str], access: AccessLevel = "public") -> bool:
        return self.allowance(action, key, access).allowed
