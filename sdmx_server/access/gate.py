"""The one gate: what one principal may see and do, asked by every route.

`Gate(principal, permissions, registry)` (built per request by api/access.py `gate_of`)
answers, with access/rules.py's grant semantics:

- which artefacts are visible (`view`, the predicate registry selection takes): a dataflow
  when the principal's read allowance on it is not nowhere; every structure used only by
  dataflows it may not read, and whatever names one of those, is hidden with them
  (registry/visibility.py);
- where it may read a dataflow's data (`read`: everywhere, or within cube regions, which the
  data service turns into SQL conditions), upload (`allowance("upload", ...)`), maintain;
- whether it reads embargoed values (`reads_embargoed`);
- `require(action, kind, key)`: the allowance, or the refusal: 404 exactly as for an artefact
  that does not exist when the principal may not see it, 401 for the anonymous, 403 with the
  rule that is missing otherwise.

The command line (COMMAND_LINE) may do anything. What a principal sees is computed once per
registry generation and set of grants (the principal's permissions fingerprint), so the
public's path costs a dictionary lookup.
"""

from __future__ import annotations

import threading
import weakref

from sdmx_server.access.principal import ANONYMOUS, COMMAND_LINE, Principal
from sdmx_server.access.rules import EVERYWHERE, NOWHERE, Allowance, Permissions
from sdmx_server.errors import Forbidden, NoResults, Unauthorized
from sdmx_server.registry.index import Entry, Registry
from sdmx_server.registry.visibility import View, public_view, view_of
from sdmx_server.types import AccessAction

ArtefactKey = tuple[str, str, str]

_lock = threading.Lock()
#: registry -> permissions fingerprint -> the dataflows hidden from whoever has them.
_hidden: "weakref.WeakKeyDictionary[Registry, dict[tuple, frozenset[ArtefactKey]]]" = weakref.WeakKeyDictionary()
_MAX_FINGERPRINTS = 1024


def ref(key: ArtefactKey) -> str:
    return f"{key[0]}:{key[1]}({key[2]})"


class Gate:
    def __init__(self, principal: Principal, permissions: Permissions, registry: Registry):
        self.principal = principal
        self.permissions = permissions
        self.registry = registry
        self._view: View | None = None

    @classmethod
    def of(cls, principal: Principal, grants, registry: Registry) -> "Gate":
        return cls(principal, Permissions(principal, grants), registry)

    # -- who ---------------------------------------------------------------------------------

    @property
    def is_admin(self) -> bool:
        return self.principal.method == "cli" or self.permissions.is_admin

    @property
    def fingerprint(self) -> tuple:
        """What this principal's rights depend on: its grants (whoever holds the same grants
        sees the same), or 'admin'."""
        if self.is_admin:
            return ("admin",)
        return tuple(sorted(self.permissions.grants, key=str))

    # -- what it sees ------------------------------------------------------------------------

    @property
    def view(self) -> View:
        """The visibility predicate of this principal on the request's registry."""
        if self._view is None:
            self._view = self.view_of(self.registry)
        return self._view

    def view_of(self, registry: Registry) -> View:
        """The same principal's view of another registry (e.g. as of a past time)."""
        fingerprint = self.fingerprint
        if not fingerprint:
            return public_view(registry)  # the public (no grant applies): kept with the registry
        with _lock:
            known = _hidden.setdefault(registry, {})
            hidden = known.get(fingerprint)
        if hidden is None:
            hidden = frozenset(e.artefact_key for e in registry.entries("dataflow")
                               if not self._allowance("read", e).allowed)
            with _lock:
                if len(known) >= _MAX_FINGERPRINTS:
                    known.clear()
                known[fingerprint] = hidden
        return view_of(registry, hidden)

    def visible(self, entry: Entry) -> bool:
        return self.view(entry)

    # -- what it may do ----------------------------------------------------------------------

    def _allowance(self, action: AccessAction, entry: Entry) -> Allowance:
        if self.is_admin:
            return EVERYWHERE
        access = entry.access if entry.kind == "dataflow" else "public"
        return self.permissions.allowance(action, entry.artefact_key, access)  # type: ignore[arg-type]

    def allowance(self, action: AccessAction, kind: str, key: ArtefactKey) -> Allowance:
        """Where the action is allowed on the artefact; NOWHERE when the principal cannot see it."""
        entry = self.registry.entry(kind, *key)
        if entry is None or not self.view(entry):
            return NOWHERE
        return self._allowance(action, entry)

    def read(self, flow: ArtefactKey) -> Allowance:
        """Where this principal may read the dataflow's data."""
        return self.allowance("read", "dataflow", flow)

    def reads_embargoed(self, flow: ArtefactKey) -> bool:
        """Whether it sees the dataflow's embargoed values before their release: only with
        `read-embargoed` on the whole dataflow (the preview of service/preview.py overlays
        every pending row; a grant narrowed to a region reads what is published)."""
        return self.allowance("read-embargoed", "dataflow", flow).whole

    def require(self, action: AccessAction, kind: str, key: ArtefactKey, not_found: str | None = None, *,
                new: bool = False, access: str | None = None) -> Allowance:
        """The allowance of the action on an artefact, or the refusal:
        - a write by the anonymous: 401, whatever the artefact (nothing said of it);
        - an artefact this principal cannot see: "not found" (404, `not_found` the message),
          exactly as for one that does not exist; `new`: one that does not exist yet may be
          created (structure maintenance), with the `access` level it comes with;
        - else 403 naming the rule that is missing."""
        if action != "read" and not self.principal.is_authenticated and not self.is_admin:
            raise Unauthorized(f"{action} needs credentials: send Authorization: Bearer TOKEN")
        entry = self.registry.entry(kind, *key)
        if (entry is not None and not self.view(entry)) or (entry is None and not new):
            raise NoResults(not_found or f"{kind} {ref(key)} not found")
        if entry is not None:
            allowance = self._allowance(action, entry)
        elif self.is_admin:
            allowance = EVERYWHERE
        else:
            level = access if kind == "dataflow" and access else "public"
            allowance = self.permissions.allowance(action, key, level)  # type: ignore[arg-type]
        if not allowance.allowed:
            if not self.principal.is_authenticated:
                raise Unauthorized(f"{action} on {kind} {ref(key)} needs credentials: send Authorization: Bearer TOKEN")
            raise Forbidden(f"no rule grants {action} on {ref(key)}")
        return allowance


def as_region(allowance: Allowance) -> tuple | None:
    """An allowance's cube regions in the hashable form DataQuery.region takes; None: everywhere."""
    if allowance.regions is None:
        return None
    return tuple(tuple(sorted((d, tuple(sorted(codes))) for d, codes in region.items()))
                 for region in allowance.regions)


def public_gate(registry: Registry) -> Gate:
    """The anonymous public's gate (callers that answer no request: reports, tests)."""
    return Gate(ANONYMOUS, Permissions(ANONYMOUS, ()), registry)


def command_line_gate(registry: Registry) -> Gate:
    return Gate(COMMAND_LINE, Permissions(COMMAND_LINE, ()), registry)
