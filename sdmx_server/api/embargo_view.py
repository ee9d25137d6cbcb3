"""Whether the request's principal reads embargoed values, for the data and availability routes.

The access gate decides (access/gate.py: `gate_of(request).reads_embargoed(flow)`); until it is
merged, this adapter asks the principal's grants (access/rules.py `Permissions`, action
`read-embargoed`) from the one grants reader (access/store.py `current_grants`; none until it
exists: then nobody reads embargoed values). The principal is starlette's `request.user`, set
by the identity middleware; a request without one is anonymous.

The answer goes to the services as a predicate on dataflows (service/preview.py), or None for
a principal who reads no embargoed values anywhere (the services then read nothing more). It is
true only where `read-embargoed` covers the whole dataflow: previews narrowed to a cube region
are not built (a regional grant reads no embargoed values).
"""

from __future__ import annotations

from starlette.requests import Request

from sdmx_server.access.principal import ANONYMOUS
from sdmx_server.access.rules import Permissions
from sdmx_server.service.preview import ReadsEmbargoed


def current_grants(db) -> tuple:
    try:
        from sdmx_server.access.store import current_grants as stored  # identity's grants reader
    except ImportError:  # not merged yet: no grants, nobody reads embargoed values
        return ()
    return stored(db)


def reads_embargoed(request: Request) -> ReadsEmbargoed | None:
    grants = [g for g in current_grants(request.app.state.server.db) if g.action in ("read-embargoed", "admin")]
    if not grants:
        return None
    permissions = Permissions(request.scope.get("user") or ANONYMOUS, grants)
    if not permissions.grants:
        return None
    # Only a grant on the whole dataflow: the overlay applies every pending row, so a grant
    # narrowed to a region (PROVINCE=IR-23) must not open the others' embargoed values.
    return lambda flow: permissions.allowance("read-embargoed", flow).whole
