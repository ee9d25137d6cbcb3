"""Which artefacts one reader may see, given the dataflows it may not read.

A dataflow is hidden from a reader who may not read it (access/gate.py decides which). What
is hidden with it, so that nothing names or reveals it ("structures used only by non-public
dataflows share their access level"):

- what only hidden dataflows use: the artefacts reachable from a hidden dataflow through its
  references (its DSD, the codelists and concept schemes of that DSD, ...) that no visible
  dataflow reaches. What a visible dataflow uses, and what no dataflow uses, stays visible;
- what names a hidden artefact: an artefact that refers to one (a constraint attached to a
  hidden dataflow or DSD, a categorisation or provision agreement of a hidden dataflow, a
  metadata set about it, a codelist extending a hidden codelist), and what names those, up
  to any level, unless a visible dataflow uses it.

A `View` is the predicate registry selection takes: computed once per registry (a registry
object is one generation) and set of hidden dataflows, and kept with the registry, so that
the answer for the public costs a dictionary lookup per request.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from typing import Iterable

from sdmx_server.registry.store import Key

ArtefactKey = tuple[str, str, str]


class View:
    """A visibility predicate: `view(entry)` is whether the entry may be seen. `key` names the
    view for validators and kept answers: "" for the public's view (tags stay as they were),
    else a digest of the hidden set."""

    __slots__ = ("hidden", "key")

    def __init__(self, hidden: frozenset[Key], key: str):
        self.hidden = hidden
        self.key = key

    def __call__(self, entry) -> bool:
        return entry.key not in self.hidden

    def shows(self, kind: str, key: ArtefactKey) -> bool:
        return (kind, *key) not in self.hidden


#: Sees everything, for callers that answer no HTTP request (the command line): its key is
#: never part of a validator.
EVERYTHING = View(frozenset(), "everything")

_lock = threading.Lock()
#: registry -> frozenset of hidden dataflow keys -> View. A registry never changes.
_views: "weakref.WeakKeyDictionary[object, dict[frozenset, View]]" = weakref.WeakKeyDictionary()
_MAX_VIEWS = 256
_public: "weakref.WeakKeyDictionary[object, View]" = weakref.WeakKeyDictionary()


def public_flows_hidden(registry) -> frozenset[ArtefactKey]:
    return frozenset(e.artefact_key for e in registry.entries("dataflow") if e.access != "public")


def public_view(registry) -> View:
    """What the public (anyone, anonymous included) sees: every public dataflow."""
    found = _public.get(registry)
    if found is None:
        found = view_of(registry, public_flows_hidden(registry), public=True)
        with _lock:
            _public[registry] = found
    return found


def view_of(registry, hidden_flows: Iterable[ArtefactKey], public: bool = False) -> View:
    """The view of a reader who may not read `hidden_flows` (dataflow keys)."""
    hidden_flows = frozenset(hidden_flows)
    with _lock:
        known = _views.setdefault(registry, {})
        found = known.get(hidden_flows)
    if found is not None:
        return found
    hidden = hidden_with(registry, hidden_flows) if hidden_flows else frozenset()
    if public or hidden_flows == public_flows_hidden(registry):
        key = ""  # the public's view: validators and kept answers as they always were
    else:
        key = "v" + hashlib.blake2b("\x1f".join(sorted("|".join(k) for k in hidden)).encode(), digest_size=8).hexdigest()
    view = View(hidden, key)
    with _lock:
        if len(known) >= _MAX_VIEWS:
            known.clear()
        known[hidden_flows] = view
    return view


def hidden_with(registry, hidden_flows: frozenset[ArtefactKey]) -> frozenset[Key]:
    """The keys of every artefact hidden along with these dataflows (see the module docstring)."""
    flows = list(registry.entries("dataflow"))
    hidden_roots = [e for e in flows if e.artefact_key in hidden_flows]
    used_by_visible = _closure(registry, [e for e in flows if e.artefact_key not in hidden_flows])
    hidden: set[Key] = {e.key for e in hidden_roots}
    for key, entry in _closure(registry, hidden_roots).items():
        if key not in used_by_visible:
            hidden.add(key)
    # What names a hidden artefact is hidden too, up to any level.
    frontier = [registry.entry(*k) for k in hidden]
    while frontier:
        nxt = []
        for entry in frontier:
            if entry is None:
                continue
            for parent in registry.parents_of(entry):
                if parent.key not in hidden and parent.key not in used_by_visible:
                    hidden.add(parent.key)
                    nxt.append(parent)
        frontier = nxt
    return frozenset(hidden)


def _closure(registry, start: list) -> dict[Key, object]:
    """The entries reachable from `start` through references, `start` included."""
    found = {e.key: e for e in start}
    frontier = list(start)
    while frontier:
        nxt = []
        for entry in frontier:
            for child in registry.children_of(entry):
                if child.key not in found:
                    found[child.key] = child
                    nxt.append(child)
        frontier = nxt
    return found
