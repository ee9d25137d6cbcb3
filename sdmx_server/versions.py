"""Artefact versions: ordering, and the version part of a query.

Legacy versions (`1.0`, `2.3.1`) and SDMX 3.0 semantic versions (`1.2.0`, `1.2.0-draft`) sort
together by their numbers (`1.10` > `1.9`), a release after its drafts (`1.0.0` >
`1.0.0-draft`). A query's version part ('latest', 'all', explicit versions, and in REST v2 the
wildcards of querying_versions.md) parses into a VersionQuery that picks, from the versions an
artefact has, the ones the query means.

This module is a leaf: it imports nothing of the project.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Protocol

_PART = re.compile(r"(\d+)|(\D+)")


def version_key(version: str) -> tuple:
    """A sort key under which 1.10 > 1.9 > 1.0 and 1.0.0 > 1.0.0-draft (SDMX 3.0 style)."""
    release, _, extension = str(version).partition("-")
    parts: list[tuple[int, int | str]] = []
    for chunk in release.split("."):
        parts.extend((0, int(n)) if n else (1, s) for n, s in _PART.findall(chunk))
    # A release without extension sorts after the same release with one (draft < stable).
    return (tuple(parts), 1 if not extension else 0, extension)


def latest(versions):
    """The highest of the given version strings."""
    return max(versions, key=version_key)


class VersionQuery(Protocol):
    """The version part of a structure query."""

    def select(self, available: Iterable[str]) -> list[str]:
        """The versions of one artefact (same agency and id) that the query picks, in order."""
        ...


@dataclass(frozen=True)
class Latest:
    """REST v1 `latest` (and a missing version): the highest version there is."""

    def select(self, available: Iterable[str]) -> list[str]:
        available = list(available)
        return [latest(available)] if available else []

    def __str__(self) -> str:
        return "latest"


@dataclass(frozen=True)
class AllVersions:
    def select(self, available: Iterable[str]) -> list[str]:
        return sorted(available, key=version_key)

    def __str__(self) -> str:
        return "all"


@dataclass(frozen=True)
class Exactly:
    versions: tuple[str, ...]

    def select(self, available: Iterable[str]) -> list[str]:
        wanted = set(self.versions)
        return sorted((v for v in available if v in wanted), key=version_key)

    def __str__(self) -> str:
        return "+".join(self.versions)


LATEST = Latest()
ALL = AllVersions()


_WILDCARD = re.compile(r"[+~*]")


def is_wildcard(version: str) -> bool:
    """Whether a version in a reference (SDMX 3.0) is wildcarded, e.g. `1.2+.0`."""
    return bool(_WILDCARD.search(version))


def resolve_reference(pattern: str, available: Iterable[str]) -> str | None:
    """The version a wildcarded reference resolves to among `available` (None: none fits).

    SDMX 3.0 references may only wildcard with `+` (latest stable at or above the given
    version within the same major version, e.g. `1.2+.0`)."""
    m = re.fullmatch(r"(\d+)(\+)?\.(\d+)(\+)?\.(\d+)(\+)?", pattern)
    if not m:
        return None
    major, minor, patch = int(m[1]), int(m[3]), int(m[5])
    best = None
    for version in available:
        v = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", version)  # stable semantic versions only
        if not v:
            continue
        x, y, z = int(v[1]), int(v[2]), int(v[3])
        if m[2]:
            ok = (x, y, z) >= (major, minor, patch)
        elif m[4]:
            ok = x == major and (y, z) >= (minor, patch)
        elif m[6]:
            ok = x == major and y == minor and z >= patch
        else:
            ok = (x, y, z) == (major, minor, patch)
        if ok and (best is None or version_key(version) > version_key(best)):
            best = version
    return best


_SEMANTIC = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$")


def is_semantic(version: str) -> bool:
    """An SDMX 3.0 semantic version: MAJOR.MINOR.PATCH with an optional -EXTENSION."""
    return bool(_SEMANTIC.match(version))


def is_stable(version: str) -> bool:
    """A semantic version without extension: stable, hence immutable (SDMX 3.0)."""
    return is_semantic(version) and "-" not in version
