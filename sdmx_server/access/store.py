"""FALLBACK from the gate branch, to be replaced at merge by identity's access/store.py.

`current_grants(db)` is the one way grants are read (plan issue8.md): identity stores them in
the database and caches them per process. Until that lands, nobody holds a grant: the public's
rights (public dataflows) are all there is, and tests set grants by replacing this function.
"""

from __future__ import annotations

from sdmx_server.access.rules import Grant


def current_grants(db) -> tuple[Grant, ...]:
    return ()
