"""Who may write through the API: until users and permissions exist (the access issue), only
clients on this machine. The one check, for structure maintenance and data uploads alike, so
that permissions replace it in one place."""

from __future__ import annotations

import ipaddress

from starlette.requests import Request

from sdmx_server.errors import Forbidden


def require_local_writer(request: Request, what: str) -> None:
    """Refuse (403) a write from a client that is not on this machine; `what` names the write."""
    host = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise Forbidden(f"{what}: accepted only from this machine until users and permissions exist")
