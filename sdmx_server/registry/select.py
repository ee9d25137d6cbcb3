"""Answering a StructureQuery: which artefacts, with which references, in how much detail.

Artefacts are chosen and references walked on the index's entries (their stored references),
so that no model is built for an artefact that is not returned. The result is a list of
(artefact, ArtefactDetail) for a structure writer. Artefacts cut down (item queries,
`referencepartial`) are copies: the index's objects are shared by every request.
"""

from __future__ import annotations

import copy
from typing import Callable, Iterable

from sdmx.model import common, v21
from sdmx.model.common import MaintainableArtefact

from sdmx_server.errors import NoResults, NotAcceptable, NotImplemented_
from sdmx_server.kinds import BY_NAME, KINDS, Kind
from sdmx_server.query.model import StructureQuery
from sdmx_server.registry.codec import supported
from sdmx_server.registry.extensions import resolved
from sdmx_server.registry.index import Entry, Registry, Visible
from sdmx_server.registry.partial import used_parts
from sdmx_server.types import ArtefactDetail
from sdmx_server.versions import Exactly, Latest

Selected = tuple[MaintainableArtefact, ArtefactDetail]


class Selection(list):
    """The selected artefacts, in order; the first `required` are what the query named one by
    one (a writer that cannot express one of them must refuse the query); the rest (listings
    with wildcards, references, any-type matches) may be left out of a format that cannot say
    them."""

    required: int = 0

#: Kinds whose referenced item schemes `referencepartial` cuts to what they use and allow.
PARTIAL_CONTEXTS = ("dataflow", "datastructure", "provisionagreement")
#: Kinds a structure query for any kind returns (metadata sets have their own API). The
#: registry may hold artefacts of kinds the codec cannot build (an SDMX-JSON message's
#: structure maps, processes...): they are not served (501 when asked for, left out otherwise).
QUERYABLE = tuple(k.name for k in KINDS if k.name != "metadataset" and supported(k))

_DETAILS: dict[str, tuple[ArtefactDetail, ArtefactDetail]] = {
    "full": ("full", "full"),
    "raw": ("full", "full"),
    "allstubs": ("stub", "stub"),
    "allcompletestubs": ("completestub", "completestub"),
    "referencestubs": ("full", "stub"),
    "referencecompletestubs": ("full", "completestub"),
    "referencepartial": ("full", "full"),
}


def select_structures(
    registry: Registry,
    query: StructureQuery,
    expressible: Callable[[Kind], bool] = lambda kind: True,
    format_name: str = "this format",
    visible: Visible | None = None,
) -> Selection:
    """The artefacts answering the query; `expressible` says which kinds the chosen format can
    write: asked for explicitly, another kind is a 406; met on the way (any kind, references)
    it is left out. Kinds not served (not QUERYABLE) are a 501 when they are all the query asks for.
    `visible`: the asker's view (access/gate.py; None: the public's): nothing else is
    selected, reached through references, or named."""
    visible = visible if visible is not None else registry.public()
    if query.kinds is not None:
        kinds = tuple(k for k in query.kinds if k in QUERYABLE)
        if not kinds:
            names = ", ".join(BY_NAME[k].urn_class for k in query.kinds)
            raise NotImplemented_(f"{names} artefacts are not served yet (sdmx1 does not model them)")
        for name in kinds:
            if not expressible(BY_NAME[name]):
                raise NotAcceptable(
                    f"{BY_NAME[name].urn_class} cannot be expressed in {format_name}; ask for another format",
                    [],
                )
    else:
        kinds = tuple(k for k in QUERYABLE if expressible(BY_NAME[k]))
    matched: list[Entry] = []
    for kind in kinds:
        matched += registry.select_entries(kind, query.agencies, query.ids, query.versions, visible)
    matched = [e for e in matched if _role_matches(registry, e, query.resource)]
    if not matched:
        raise NoResults(f"no {query.resource} matches the query")

    main_detail, ref_detail = _DETAILS[query.detail]
    chosen = Selection()
    for entry in matched:
        artefact = registry.model(entry)
        if query.detail != "raw":
            artefact = resolved(artefact)  # `full`: extended codelists with every inherited code
        if query.items is not None:
            artefact = with_items(artefact, query.items)
            if artefact is None:
                continue
        chosen.append((artefact, main_detail))
    if not chosen:
        raise NoResults(f"no item {', '.join(query.items or ())} in the {query.resource} matched")
    chosen.required = len(chosen) if _names_each(query) else 0

    seen = {e.key for e in matched}
    referenced = [
        e for e in walk(registry, matched, query.references, visible)
        if e.key not in seen and expressible(BY_NAME[e.kind])
    ]
    parts = used_parts(registry, [e for e in matched if e.kind in PARTIAL_CONTEXTS], visible)
    for entry in referenced:
        original = registry.model(entry)
        artefact = resolved(original) if query.detail != "raw" else original
        if query.detail == "referencepartial":
            artefact = parts.cut(artefact, original)
        chosen.append((artefact, ref_detail))
    return chosen


def _names_each(query: StructureQuery) -> bool:
    """Whether the query names its artefacts one by one: kinds, agencies, ids and versions all
    given, without wildcards (REST v1 `latest` counts as naming one version)."""
    return (
        query.kinds is not None and query.agencies is not None and query.ids is not None
        and isinstance(query.versions, (Exactly, Latest))
    )


def walk(registry: Registry, start: list[Entry], references: Iterable[str],
         view: Visible | None = None) -> list[Entry]:
    """The entries `references` names (walks and kinds), in a stable order, without `start`;
    only what `view` shows (None: the public's view), and nothing reached through what it hides."""
    found: dict[tuple, Entry] = {}
    view = view if view is not None else registry.public()

    def visible(entries: Iterable[Entry]) -> list[Entry]:
        # Artefacts of kinds not served are no part of the graph: nothing is reached through them.
        return [e for e in entries if e.kind in QUERYABLE and view(e)]

    def children(entries: Iterable[Entry], deep: bool) -> list[Entry]:
        result: dict[tuple, Entry] = {}
        frontier = list(entries)
        while frontier:
            nxt = []
            for entry in frontier:
                for child in visible(registry.children_of(entry)):
                    if child.key not in result:
                        result[child.key] = child
                        nxt.append(child)
            frontier = nxt if deep else []
        return list(result.values())

    def parents(entries: Iterable[Entry], deep: bool) -> list[Entry]:
        result: dict[tuple, Entry] = {}
        frontier = list(entries)
        while frontier:
            nxt = []
            for entry in frontier:
                for parent in visible(registry.parents_of(entry)):
                    if parent.key not in result:
                        result[parent.key] = parent
                        nxt.append(parent)
            frontier = nxt if deep else []
        return list(result.values())

    for which in references:
        if which == "none":
            continue
        if which == "children":
            hits = children(start, deep=False)
        elif which == "descendants":
            hits = children(start, deep=True)
        elif which == "parents":
            hits = parents(start, deep=False)
        elif which == "ancestors":
            hits = parents(start, deep=True)
        elif which == "parentsandsiblings":
            up = parents(start, deep=False)
            hits = up + children(up, deep=False)
        elif which == "all":
            up = parents(start, deep=False)
            hits = up + children(up, deep=False) + children(start, deep=True)
        else:  # a kind: every artefact of that kind among parents and descendants
            hits = [e for e in parents(start, deep=False) + children(start, deep=True) if e.kind == which]
        for entry in hits:
            found.setdefault(entry.key, entry)
    start_keys = {e.key for e in start}
    return [e for k, e in found.items() if k not in start_keys]


def _role_matches(registry: Registry, entry: Entry, resource: str) -> bool:
    """REST v1's actualconstraint and allowedconstraint select constraints by role."""
    if resource not in ("actualconstraint", "allowedconstraint"):
        return True
    role = str(entry.json().get("role", "")).lower()
    return role.startswith(resource[: -len("constraint")])


def with_items(artefact: MaintainableArtefact, item_ids: tuple[str, ...]) -> MaintainableArtefact | None:
    """A partial copy of an item scheme holding the items asked for and their ancestors
    (nested ids such as A.1.1 name a path), or None when it holds none of them. A hierarchical
    codelist's "items" are its hierarchies."""
    if isinstance(artefact, v21.HierarchicalCodelist):
        hierarchies = [h for h in artefact.hierarchy if h.id in item_ids]
        if not hierarchies:
            return None
        partial = copy.copy(artefact)
        partial.hierarchy = hierarchies
        return partial
    if not isinstance(artefact, common.ItemScheme):
        return artefact
    keep: dict[str, object] = {}
    for item_id in item_ids:
        item = artefact.items.get(item_id.split(".")[-1])
        if item is None:
            continue
        if "." in item_id and _path(item) != item_id:
            continue
        while isinstance(item, common.Item):
            keep.setdefault(item.id, item)
            item = item.parent
    if not keep:
        return None
    return _copy_with(artefact, keep)


def _path(item) -> str:
    ids = []
    while isinstance(item, common.Item):
        ids.append(item.id)
        item = item.parent
    return ".".join(reversed(ids))


def _copy_with(scheme: common.ItemScheme, keep_ids) -> common.ItemScheme:
    partial = copy.copy(scheme)
    partial.items = {i: it for i, it in scheme.items.items() if i in keep_ids}
    partial.is_partial = True
    return partial
