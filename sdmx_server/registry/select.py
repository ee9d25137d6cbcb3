"""Answering a StructureQuery: which artefacts, with which references, in how much detail.

The result is a list of (artefact, ArtefactDetail) for a structure writer. Artefacts handed out are
never the index's own objects when they are cut down (item filters, partial references): the
index is shared by every request.
"""

from __future__ import annotations

import copy

from sdmx.model import common
from sdmx.model.common import MaintainableArtefact

from sdmx_server.errors import NoResults, NotImplemented_
from sdmx_server.query.model import StructureQuery
from sdmx_server.registry import references
from sdmx_server.registry.index import Registry, artefact_key
from sdmx_server.registry.kinds import SERVED
from sdmx_server.types import ArtefactDetail

Entry = tuple[MaintainableArtefact, ArtefactDetail]


def select_structures(registry: Registry, query: StructureQuery) -> list[Entry]:
    kinds = _kinds(query)
    matched: list[tuple[str, MaintainableArtefact]] = []
    for kind in kinds:
        for artefact in registry.select(kind, query.agencies, query.ids, query.versions):
            matched.append((kind, artefact))
    if query.items is not None:
        matched = [(k, a) for k, a in ((k, _with_items(a, query.items)) for k, a in matched) if a is not None]
    if not matched:
        raise NoResults(f"no {query.resource} matches the query")

    referenced = _references(registry, matched, query.references[0])
    main_detail, ref_detail = _details(query.detail)
    entries: list[Entry] = [(a, main_detail) for _, a in matched]
    if query.detail == "referencepartial":
        referenced = [(k, _partial(a, matched)) for k, a in referenced]
    entries += [(a, ref_detail) for _, a in referenced]
    return entries


def _kinds(query: StructureQuery) -> tuple[str, ...]:
    if query.kinds is None:
        return SERVED
    served = tuple(k for k in query.kinds if k in SERVED)
    if served:
        return served
    raise NotImplemented_(f"the {query.resource} resource is not served yet")


def _details(detail: str) -> tuple[ArtefactDetail, ArtefactDetail]:
    return {
        "full": ("full", "full"),
        "allstubs": ("stub", "stub"),
        "allcompletestubs": ("completestub", "completestub"),
        "referencestubs": ("full", "stub"),
        "referencecompletestubs": ("full", "completestub"),
        "referencepartial": ("full", "full"),
    }[detail]


def _references(registry: Registry, matched, which: str) -> list[tuple[str, MaintainableArtefact]]:
    if which == "none":
        return []
    seen = {(k, *artefact_key(a)) for k, a in matched}
    found: list[tuple[str, MaintainableArtefact]] = []

    def add(kind: str, artefact: MaintainableArtefact) -> None:
        key = (kind, *artefact_key(artefact))
        if key in seen or kind not in SERVED or not registry.contains(artefact, kind):
            return
        if not registry.visible(kind, artefact_key(artefact)):
            return
        seen.add(key)
        found.append((kind, registry.get(kind, *artefact_key(artefact))))

    def children(items, deep: bool) -> None:
        frontier = list(items)
        while frontier:
            next_frontier = []
            for _, artefact in frontier:
                for child_kind, child in references.unique_children(artefact):
                    before = len(found)
                    add(child_kind, child)
                    if deep and len(found) > before:
                        next_frontier.append(found[-1])
            frontier = next_frontier

    def parents(items) -> list:
        result = []
        for kind, artefact in items:
            for parent_kind, parent in registry.parents.get((kind, *artefact_key(artefact)), []):
                before = len(found)
                add(parent_kind, parent)
                if len(found) > before:
                    result.append(found[-1])
        return result

    if which == "children":
        children(matched, deep=False)
    elif which == "descendants":
        children(matched, deep=True)
    elif which == "parents":
        parents(matched)
    elif which == "parentsandsiblings":
        children(parents(matched), deep=False)
    elif which == "all":
        children(parents(matched), deep=False)
        children(matched, deep=True)
    else:  # a resource type: every artefact of that type among parents and descendants
        parents(matched)
        children(matched, deep=True)
        found = [(k, a) for k, a in found if k == which]
    return found


def _with_items(artefact: MaintainableArtefact, item_ids: tuple[str, ...]) -> MaintainableArtefact | None:
    """A partial copy of an item scheme holding the items asked for and their ancestors."""
    if not isinstance(artefact, common.ItemScheme):
        return artefact
    keep: dict[str, object] = {}
    for item_id in item_ids:
        item = artefact.items.get(item_id.split(".")[-1])
        while isinstance(item, common.Item):
            keep.setdefault(item.id, item)
            item = item.parent
    if not keep:
        return None
    return _copy_with(artefact, keep)


def _copy_with(scheme: common.ItemScheme, keep_ids) -> common.ItemScheme:
    partial = copy.copy(scheme)
    partial.items = {i: it for i, it in scheme.items.items() if i in keep_ids}
    partial.is_partial = True
    return partial


def _partial(artefact: MaintainableArtefact, matched) -> MaintainableArtefact:
    """For referencepartial: a concept scheme reduced to the concepts the matched structures use."""
    if not isinstance(artefact, common.ConceptScheme):
        return artefact
    used = set()
    for _, owner in matched:
        dsd = owner.structure if isinstance(owner, common.BaseDataflow) else owner
        if isinstance(dsd, common.BaseDataStructureDefinition):
            for component in _components(dsd):
                concept = component.concept_identity
                if concept is not None and references.scheme_of(concept) is not None:
                    if artefact_key(references.scheme_of(concept)) == artefact_key(artefact):
                        used.add(concept.id)
    if not used:
        return artefact
    return _copy_with(artefact, used)


def _components(dsd):
    yield from dsd.dimensions.components
    yield from dsd.attributes.components
    measures = getattr(dsd, "measures", None)
    if measures is not None:
        yield from measures.components
