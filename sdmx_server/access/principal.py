"""The request's principal: who is asking, as starlette's `request.user`.

Anonymous requests are the public (`ANONYMOUS`). A principal is named by the subjects rules
are granted to: `everyone`, `user:NAME` and `group:NAME` for each of its groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.authentication import BaseUser

from sdmx_server.types import AuthMethod


@dataclass(frozen=True)
class Principal(BaseUser):
    name: str | None = None  # None: anonymous
    groups: frozenset[str] = field(default_factory=frozenset)
    method: AuthMethod = "anonymous"
    #: The token's id (a machine) or the session's id, for the audit trail; never the secret.
    credential: str | None = None

    @property
    def is_authenticated(self) -> bool:
        return self.name is not None

    @property
    def display_name(self) -> str:
        return self.name or "anonymous"

    @property
    def identity(self) -> str:
        return f"user:{self.name}" if self.name else "anonymous"

    @property
    def subjects(self) -> frozenset[str]:
        """The subjects of grants that apply to this principal."""
        names = {"everyone"}
        if self.name is not None:
            names.add(f"user:{self.name}")
            names.update(f"group:{g}" for g in self.groups)
        return frozenset(names)


ANONYMOUS = Principal()
#: Whoever runs the command line on the server's machine: every action (as the database's owner).
COMMAND_LINE = Principal(name="cli", method="cli")
#: The server's own work that nobody asked for at that moment: scheduled syncs, embargoed releases.
SYSTEM = Principal(name="system", method="system")
