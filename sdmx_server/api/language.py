"""Accept-Language: which languages of names and descriptions a client wants.

Returns the language ranges the client accepts, best first (RFC 9110 q-values); None when it
accepts any (no header, or `*`), in which case every language is written.
"""

from __future__ import annotations

import re

_RANGE = re.compile(r"^(\*|[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*)$")


def accept_languages(header: str | None) -> tuple[str, ...] | None:
    if not header or not header.strip():
        return None
    ranked: list[tuple[float, int, str]] = []
    for order, part in enumerate(header.split(",")):
        tag, *params = [p.strip() for p in part.split(";")]
        if not tag or not _RANGE.match(tag):
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if not 0 < q <= 1:
            continue
        ranked.append((-q, order, tag.lower()))
    tags = [tag for _, _, tag in sorted(ranked)]
    if not tags or "*" in tags:
        return None
    return tuple(dict.fromkeys(tags))


def matches(language: str, wanted: tuple[str, ...]) -> bool:
    """Whether a text in `language` is one the client wants ('en' matches 'en-GB' both ways)."""
    language = language.lower()
    return any(language == tag or language.startswith(tag + "-") or tag.startswith(language + "-") for tag in wanted)
