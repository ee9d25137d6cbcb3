"""Whether the asker reads embargoed values, for the data and availability routes.

The access gate decides (access/gate.py `Gate.reads_embargoed`: `read-embargoed` on the whole
dataflow; an administrator everywhere). The answer goes to the services as a predicate on
dataflows (service/preview.py), or None for a principal who reads no embargoed values anywhere,
so that the public's answers look up nothing more. A grant narrowed to a region opens no
preview: the overlay applies every pending row, and would show the other regions' values.
"""

from __future__ import annotations

from sdmx_server.access.gate import Gate
from sdmx_server.service.preview import ReadsEmbargoed


def reads_embargoed(gate: Gate) -> ReadsEmbargoed | None:
    if not gate.is_admin and not any(g.action in ("read-embargoed", "admin") for g in gate.permissions.grants):
        return None
    return gate.reads_embargoed
