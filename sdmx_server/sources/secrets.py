"""A SQL source's URL and credentials, from the environment: never stored in a source file.

`${NAME}` takes an environment variable; `${NAME:-default}` falls back to a default (the demo
uses it for its SQLite stand-in). A variable that is named but not set is an error that names
it, raised when the source is pulled, so `check` and `sources` work without the secrets.
"""

from __future__ import annotations

import os
import re

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

#: A default may itself name a variable (${A:-sqlite:///${B:-var}/x.db}): the inner one, which
#: holds no "$", is expanded first, then the outer.
_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}$]*))?\}")


class MissingSecret(ValueError):
    """An environment variable a source names is not set."""


def expand(text: str, environ: dict[str, str] | None = None, what: str = "url") -> str:
    env = os.environ if environ is None else environ

    def value(m: re.Match) -> str:
        name = m["name"]
        if name in env and env[name] != "":
            return env[name]
        if m["default"] is not None:
            return m["default"]
        raise MissingSecret(f"the environment variable {name} is not set ({what} of this source names it)")

    for _ in range(5):
        expanded = _VARIABLE.sub(value, text)
        if expanded == text:
            break
        text = expanded
    return text


def literal_password(url_text: str) -> bool:
    """Whether a URL as written holds a password itself rather than naming a variable."""
    masked = _VARIABLE.sub("VARIABLE", url_text)
    try:
        url = make_url(masked)
    except ArgumentError:
        return False  # not even a URL: the pull will say so
    if url.password is None:
        return False
    return "${" not in url_text.split("@", 1)[0].split("://", 1)[-1]


def resolve_url(url_text: str, credentials: dict[str, str], environ: dict[str, str] | None = None) -> URL:
    """The URL to connect to, secrets filled in from the environment."""
    url = make_url(expand(url_text, environ))
    if credentials:
        values = {name: expand(text, environ, f"credentials.{name}") for name, text in credentials.items()}
        url = url.set(**values)
    return url
