"""Series keys in URLs: dimensions separated by '.', alternatives by '+', empty for any."""

from __future__ import annotations

import re

from sdmx_server.errors import SyntaxError_
from sdmx_server.query.model import Key

# Codes are SDMX ids; anything else in a key is a mistake, and never reaches the database.
_CODE = re.compile(r"^[A-Za-z0-9_@$\-]+$")


def parse_key(text: str | None) -> Key | None:
    """'M.USD+JPY..A' -> (('M',), ('USD', 'JPY'), None, ('A',)); 'all' or nothing -> None."""
    if text is None or text in ("", "all", "*"):
        return None
    parts = []
    for position, part in enumerate(text.split(".")):
        if part in ("", "*"):
            parts.append(None)
            continue
        codes = tuple(dict.fromkeys(part.split("+")))
        for code in codes:
            if not _CODE.match(code):
                raise SyntaxError_(f"key {text!r}, dimension {position + 1}: {code!r} is not a valid code")
        parts.append(codes)
    return tuple(parts)


def fit_key(key: Key | None, dimension_ids: tuple[str, ...]) -> Key | None:
    """The key checked against the DSD's dimensions (the time dimension is never in a key)."""
    if key is None:
        return None
    if len(key) != len(dimension_ids):
        raise SyntaxError_(
            f"the key has {len(key)} dimension(s) but the dataflow has {len(dimension_ids)}: "
            f"{'.'.join(dimension_ids)}"
        )
    return None if all(part is None for part in key) else key


def format_key(key: Key | None, width: int) -> str:
    if key is None:
        return "." * (width - 1)
    return ".".join("" if part is None else "+".join(part) for part in key)
