"""References between artefacts: what an artefact uses (children) and what uses it (parents).

Children are read off the sdmx.model objects; parents are children seen from the other side.
The same walk tells which references a set of structures leaves unresolved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from sdmx.model import common, v21
from sdmx.model.common import MaintainableArtefact

from sdmx_server.registry.kinds import kind_of

if TYPE_CHECKING:
    from sdmx_server.registry.index import Registry


def kind_matches(artefact: MaintainableArtefact, kind: str) -> bool:
    try:
        return kind_of(artefact).resource == kind
    except ValueError:
        return False


def scheme_of(item) -> MaintainableArtefact | None:
    """The item scheme an item belongs to (sdmx1 keeps it as the parent of top-level items)."""
    seen = 0
    while item is not None and seen < 1000:
        if isinstance(item, common.ItemScheme):
            return item
        item = getattr(item, "parent", None)
        seen += 1
    return None


def children(artefact: MaintainableArtefact) -> Iterator[tuple[str, MaintainableArtefact, str]]:
    """(kind, referenced artefact, where) for every artefact this one refers to directly;
    `where` says which part refers, for error messages."""
    if isinstance(artefact, common.BaseDataflow):
        # sdmx1 gives a dataflow without <Structure> a placeholder DSD without an id: no reference.
        if artefact.structure is not None and artefact.structure.id != common.MissingID:
            yield "datastructure", artefact.structure, "structure"
    elif isinstance(artefact, common.BaseDataStructureDefinition):
        yield from _dsd_children(artefact)
    elif isinstance(artefact, common.ConceptScheme):
        for concept in artefact.items.values():
            rep = concept.core_representation
            if rep is not None and rep.enumerated is not None:
                yield "codelist", rep.enumerated, f"concept {concept.id}"
    elif isinstance(artefact, v21.HierarchicalCodelist):
        for hierarchy in artefact.hierarchy:
            for code in _hierarchical_codes(hierarchy.codes.values()):
                scheme = scheme_of(code.code) if code.code is not None else None
                if scheme is not None:
                    yield "codelist", scheme, f"hierarchy {hierarchy.id}"


def _dsd_children(dsd) -> Iterator[tuple[str, MaintainableArtefact, str]]:
    components = list(dsd.dimensions.components) + list(dsd.attributes.components)
    components += list(getattr(dsd, "measures").components) if hasattr(dsd, "measures") else []
    for component in components:
        where = f"component {component.id}"
        scheme = scheme_of(component.concept_identity) if component.concept_identity is not None else None
        if scheme is not None:
            yield "conceptscheme", scheme, where
        rep = component.local_representation
        if rep is not None and rep.enumerated is not None:
            enumerated = rep.enumerated
            # A measure dimension enumerates a concept scheme (the schema says so); sdmx1 reads a
            # class-less <Ref> there as a Codelist.
            measure = isinstance(component, v21.MeasureDimension)
            kind = "conceptscheme" if measure or isinstance(enumerated, common.ConceptScheme) else "codelist"
            yield kind, enumerated, where


def _hierarchical_codes(codes) -> Iterator:
    for code in codes:
        yield code
        yield from _hierarchical_codes(code.child)


def unique_children(artefact: MaintainableArtefact) -> list[tuple[str, MaintainableArtefact]]:
    seen: dict[int, tuple[str, MaintainableArtefact]] = {}
    for kind, child, _ in children(artefact):
        seen.setdefault(id(child), (kind, child))
    return list(seen.values())


def missing(registry: "Registry") -> list[str]:
    """One line per reference that points at nothing in the registry."""
    from sdmx_server.registry.index import artefact_key

    problems = []
    for kind, artefact in registry.all(include_internal=True):
        seen = set()
        for child_kind, child, where in children(artefact):
            key = (child_kind, *artefact_key(child))
            if key in seen or registry.contains(child, child_kind):
                continue
            seen.add(key)
            agency, cid, version = key[1:]
            owner_agency, owner_id, owner_version = artefact_key(artefact)
            problems.append(
                f"{kind} {owner_agency}:{owner_id}({owner_version}), {where}: "
                f"refers to {child_kind} {agency}:{cid}({version}), which is not loaded"
            )
    return problems


def parents_index(registry: "Registry") -> dict[tuple, list[tuple[str, MaintainableArtefact]]]:
    """(kind, agency, id, version) of a child -> [(kind, parent)], over the whole registry."""
    from sdmx_server.registry.index import artefact_key

    index: dict[tuple, list[tuple[str, MaintainableArtefact]]] = {}
    for kind, artefact in registry.all(include_internal=True):
        for child_kind, child in unique_children(artefact):
            index.setdefault((child_kind, *artefact_key(child)), []).append((kind, artefact))
    return index
