"""Comparing versions: 'latest' means the highest by the numbers, not by the letters."""

from __future__ import annotations

import re

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
