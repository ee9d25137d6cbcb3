"""Item schemes cut down to what some structures use: `detail=referencepartial` and the REST v2
schema "for communication" both need it.

For a DSD (reached from a dataflow or a provision agreement, or given itself): its concept
schemes keep the concepts its components use; its codelists keep the codes the allowed
constraints of the context leave (registry/constraints.py), with their ancestors so that
hierarchies stay whole. Copies are returned; the index's objects are never changed.
"""

from __future__ import annotations

import copy

from sdmx.model import common
from sdmx.model.common import MaintainableArtefact

from sdmx_server.registry.constraints import allowed_codes
from sdmx_server.registry.index import Entry, Registry, Visible


class Parts:
    """What a set of contexts uses: item ids per item scheme (None: all of its items)."""

    def __init__(self) -> None:
        self.keep: dict[int, set[str] | None] = {}

    def add(self, scheme: object, ids: set[str] | None) -> None:
        previous = self.keep.get(id(scheme), set())
        self.keep[id(scheme)] = None if ids is None or previous is None else previous | ids

    def cut(self, scheme: MaintainableArtefact, original: object = None) -> MaintainableArtefact:
        """The scheme cut to what is used; the scheme itself when all of it is, or when none of
        these contexts uses it. `original`: the index's object a resolved copy was made from."""
        key = id(original if original is not None else scheme)
        if key not in self.keep or not isinstance(scheme, common.ItemScheme):
            return scheme
        return keep_items(scheme, self.keep[key])


def used_parts(registry: Registry, contexts: list[Entry], visible: Visible | None = None) -> Parts:
    """What the contexts use, codelists cut by the constraints `visible` shows (None: all)."""
    parts = Parts()
    for context in contexts:
        dsd_entry = dsd_of(registry, context)
        if dsd_entry is None:
            continue
        allowed = allowed_codes(registry, context, visible) if context.kind != "datastructure" else {}
        dsd = registry.model(dsd_entry)
        for component in components(dsd):
            concept = component.concept_identity
            scheme = concept.get_scheme() if concept is not None else None
            if isinstance(scheme, common.ConceptScheme):
                parts.add(scheme, {concept.id})
            rep = component.local_representation or (concept.core_representation if concept is not None else None)
            codelist = rep.enumerated if rep is not None else None
            if isinstance(codelist, common.Codelist):
                parts.add(codelist, allowed.get(component.id))
    return parts


def dsd_of(registry: Registry, entry: Entry) -> Entry | None:
    """The DSD of a DSD, a dataflow or a provision agreement."""
    if entry.kind == "datastructure":
        return entry
    for child in registry.children_of(entry):
        found = dsd_of(registry, child) if child.kind in ("dataflow", "datastructure") else None
        if found is not None:
            return found
    return None


def components(dsd):
    for name in ("dimensions", "attributes", "measures"):
        component_list = getattr(dsd, name, None)
        if component_list is not None:
            yield from component_list.components


def keep_items(scheme, wanted: set[str] | None):
    """A partial copy of an item scheme with the wanted items and their ancestors."""
    if wanted is None or set(scheme.items) <= wanted:
        return scheme
    keep = set()
    for item_id in wanted:
        item = scheme.items.get(item_id)
        while isinstance(item, common.Item) and item.id not in keep:
            keep.add(item.id)
            item = item.parent
    partial = copy.copy(scheme)
    partial.items = {i: it for i, it in scheme.items.items() if i in keep}
    partial.is_partial = True
    return partial
