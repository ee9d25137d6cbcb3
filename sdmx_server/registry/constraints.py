"""What a context allows: the codes per component left by the allowed constraints attached to
a dataflow, its DSD and (for a provision agreement) the agreement itself.

Read off the stored form of the constraints (registry/codec/constraints.py: `role`,
`constraintAttachment`, `cubeRegions` with `keyValues`/`components`), so that no model is
built. Several allowed constraints apply together (each narrows what the others allow);
within one constraint, included cube regions add up and an excluded region that selects one
component removes its values. An excluded region over several components excludes
combinations, which a per-component answer cannot say: it is left out here (data validation
applies it in full).
"""

from __future__ import annotations

from sdmx_server.registry.index import Entry, Registry, Visible

#: component id -> the codes allowed; a component not in the mapping is not constrained.
Allowed = dict[str, set[str]]


def attached_constraints(registry: Registry, context: Entry, role: str = "Allowed",
                         visible: Visible | None = None) -> list[Entry]:
    """The constraints of `role` attached to the context or to what it is built on: a
    provision agreement's dataflow, a dataflow's DSD; those `visible` shows (None: all: a
    constraint hidden from the asker, attached to a dataflow it may not see, still applies)."""
    targets = {context.urn}
    for child in registry.children_of(context):
        if child.kind in ("dataflow", "datastructure"):
            targets.add(child.urn)
            for grandchild in registry.children_of(child):
                if grandchild.kind == "datastructure":
                    targets.add(grandchild.urn)
    found = []
    for entry in registry.entries("dataconstraint"):
        if visible is not None and not visible(entry):
            continue
        obj = entry.json()
        if str(obj.get("role", "")).lower() != role.lower():
            continue
        attachment = obj.get("constraintAttachment") or {}
        attached = set()
        for member in ("dataStructures", "dataflows", "provisionAgreements"):
            attached.update(u for u in attachment.get(member) or () if isinstance(u, str))
        resolved = {r.urn for u in attached if (r := registry.resolve(u)) is not None}
        if resolved & targets:
            found.append(entry)
    return found


def allowed_codes(registry: Registry, context: Entry, visible: Visible | None = None) -> Allowed:
    """Per component, the codes the allowed constraints of the context leave (those `visible`
    shows: what is written for an asker says nothing of what it may not see)."""
    allowed: Allowed = {}
    for constraint in attached_constraints(registry, context, visible=visible):
        for component, values in _one_constraint(constraint.json()).items():
            allowed[component] = values if component not in allowed else allowed[component] & values
    return allowed


def _one_constraint(obj: dict) -> Allowed:
    included: list[dict[str, set[str]]] = []
    excluded: dict[str, set[str]] = {}
    for region in obj.get("cubeRegions") or ():
        selections = _selections(region)
        if region.get("include", True) is not False:
            included.append(selections)
        elif len(selections) == 1:
            (component, values), = selections.items()
            excluded.setdefault(component, set()).update(values)
    result: Allowed = {}
    if included:
        components = set().union(*included)
        for component in components:
            # A region that does not name the component allows any value of it.
            if all(component in region for region in included):
                result[component] = set().union(*(region[component] for region in included))
    for component, values in excluded.items():
        if component in result:
            result[component] -= values
    return result


def _selections(region: dict) -> dict[str, set[str]]:
    """component id -> values a region allows for it (an excluded selection within an included
    region is left out: it narrows nothing that a code set can say without the codelist)."""
    out: dict[str, set[str]] = {}
    for member in ("keyValues", "components"):
        for selection in region.get(member) or ():
            if not isinstance(selection, dict) or selection.get("include", True) is False:
                continue
            values = set()
            for value in selection.get("values") or ():
                if isinstance(value, str):
                    values.add(value)
                elif isinstance(value, dict) and isinstance(value.get("value"), str):
                    values.add(value["value"])
            if values and isinstance(selection.get("id"), str):
                out[selection["id"]] = values
    return out
