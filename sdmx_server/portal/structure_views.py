"""What the structure pages show, made from the registry's stored form (SDMX-JSON 2.0 objects,
registry/codec) as plain dicts for the templates: a DSD's components with their concepts and
representations, a codelist's codes as a table and a tree, a concept scheme's concepts, a
category scheme's categories with the dataflows filed under them.

Everything goes through the visitor's view (access/gate.py): an artefact the view hides is
never named or linked, exactly as the SDMX API would not answer it. No model is built: the
stored JSON holds all a page says, in both languages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sdmx_server.access.gate import Gate
from sdmx_server.persian.numbers import Lang
from sdmx_server.portal.render import link, localised
from sdmx_server.registry.index import Entry, parse_urn

#: The kinds that have a page of this family (path segment = the REST v2 structure type).
PageKind = Literal["datastructure", "codelist", "conceptscheme", "categoryscheme"]
PAGE_KINDS: tuple[PageKind, ...] = ("datastructure", "codelist", "conceptscheme", "categoryscheme")

#: API formats offered beside every artefact: (label, `format=` name of formats/media.py).
STRUCTURE_FORMATS = (("SDMX-ML 3.0", "sdmx-ml-3.0"), ("SDMX-ML 2.1", "structure-2.1"), ("SDMX-JSON 2.1", "sdmx-json"))


@dataclass(frozen=True)
class Ref:
    """A reference as a page shows it: which artefact (and item), its name, where it is."""

    kind: str
    agency: str
    id: str
    version: str
    item: str | None
    name: str
    #: the portal page (None: no page of this family, or hidden)
    href: str | None


def names(obj: dict, lang: Lang) -> str:
    return localised(obj.get("names") or obj.get("name"), lang)


def descriptions(obj: dict, lang: Lang) -> str:
    return localised(obj.get("descriptions") or obj.get("description"), lang)


def other_names(obj: dict, lang: Lang) -> str:
    """The name in the other language (pages show both), or '' when it has no other."""
    values = obj.get("names")
    if not isinstance(values, dict):
        return ""
    other = values.get("en" if lang == "fa" else "fa", "")
    return other if other and other != names(obj, lang) else ""


def page_of(lang: Lang, kind: str, agency: str, artefact_id: str, version: str, item: str | None = None) -> str | None:
    if kind not in PAGE_KINDS:
        return None
    anchor = f"#item-{item}" if item else ""
    return link(lang, f"/structure/{kind}/{agency}/{artefact_id}/{version}") + anchor


def api_links(kind: str, agency: str, artefact_id: str, version: str) -> list[dict[str, str]]:
    """The same artefact from the SDMX REST API (v2), in each structure format."""
    path = f"/rest/v2/structure/{kind}/{agency}/{artefact_id}/{version}"
    return [{"label": label, "href": f"{path}?format={name}"} for label, name in STRUCTURE_FORMATS]


def visible_entry(gate: Gate, kind: str, agency: str, artefact_id: str, version: str) -> Entry | None:
    """The entry, or None when it does not exist, is a stub, or the visitor may not see it (the
    three answer alike: a 404 page)."""
    entry = gate.registry.entry(kind, agency, artefact_id, version)
    if entry is None or entry.is_stub or not gate.visible(entry):
        return None
    return entry


def resolve_ref(gate: Gate, urn: str | None, lang: Lang) -> Ref | None:
    """A URN as a visible reference with its name; None when absent or hidden."""
    if not urn:
        return None
    parsed = parse_urn(urn)
    if parsed is None:
        return None
    kind, agency, artefact_id, version, item = parsed
    entry = gate.registry.resolve(kind.urn(agency, artefact_id, version) if item else urn)
    if entry is None or not gate.visible(entry):
        return None
    obj = entry.json()
    name = names(obj, lang)
    if item:
        found = find_item(obj, item)
        name = names(found, lang) if found else item
    return Ref(entry.kind, entry.agency, entry.id, entry.version, item, name,
               None if entry.is_stub else page_of(lang, entry.kind, entry.agency, entry.id, entry.version, item))


#: The member holding an item scheme's items, by kind.
ITEM_MEMBERS = {"codelist": "codes", "conceptscheme": "concepts", "categoryscheme": "categories",
                "valuelist": "valueItems", "agencyscheme": "agencies"}


def items_of(obj: dict) -> list[dict]:
    for member in ITEM_MEMBERS.values():
        if isinstance(obj.get(member), list):
            return obj[member]
    return []


def find_item(obj: dict, item_path: str) -> dict | None:
    """An item by id; a category by its dotted path (PERFORMANCE.INDICATORS)."""
    items = items_of(obj)
    found = None
    for part in item_path.split("."):
        found = next((i for i in items if i.get("id") == part), None)
        if found is None:
            return None
        items = found.get("categories") or []
    return found


# -- DSD --------------------------------------------------------------------------------------


def _representation(gate: Gate, component: dict, concept: dict | None, lang: Lang) -> dict[str, Any]:
    """The component's codelist (linked) or its text format; the concept's core representation
    when the component has none of its own."""
    rep = component.get("localRepresentation") or (concept or {}).get("coreRepresentation") or {}
    enumeration = resolve_ref(gate, rep.get("enumeration"), lang)
    fmt = rep.get("format") or {}
    facets = {k: v for k, v in fmt.items() if k != "dataType"}
    return {"codelist": enumeration, "type": fmt.get("dataType"), "facets": facets}


def _concept(gate: Gate, urn: str | None, lang: Lang) -> tuple[Ref | None, dict | None]:
    ref = resolve_ref(gate, urn, lang)
    if ref is None or ref.item is None:
        return ref, None
    entry = gate.registry.entry(ref.kind, ref.agency, ref.id, ref.version)
    return ref, find_item(entry.json(), ref.item) if entry else None


def _attachment(relationship: dict | None) -> dict[str, Any]:
    """Where an attribute attaches: observation, dataflow, a group or dimensions."""
    rel = relationship or {}
    if "observation" in rel:
        return {"level": "observation"}
    if "dimensions" in rel:
        return {"level": "dimensions", "dimensions": list(rel["dimensions"])}
    if "group" in rel:
        return {"level": "group", "group": rel["group"]}
    return {"level": "dataflow"}


def _usage(usage: str | None) -> str | None:
    """SDMX 3.0 says mandatory or optional; 2.1's conditional is optional."""
    return None if usage is None else ("mandatory" if usage == "mandatory" else "optional")


def dsd_view(gate: Gate, entry: Entry, lang: Lang) -> dict[str, Any]:
    obj = entry.json()
    components = obj.get("dataStructureComponents") or {}
    dims = components.get("dimensionList") or {}
    rows: list[dict[str, Any]] = []

    def add(role: str, component: dict, **extra) -> None:
        concept_ref, concept = _concept(gate, component.get("conceptIdentity"), lang)
        rows.append({
            "role": role, "id": component.get("id"),
            "concept": concept_ref,
            "concept_description": descriptions(concept, lang) if concept else "",
            "representation": _representation(gate, component, concept, lang),
            "position": None, "usage": None, "attachment": None,
            **extra,
        })

    for dim in sorted(dims.get("dimensions") or [], key=lambda d: d.get("position") or 0):
        add("dimension", dim, position=dim.get("position"))
    for time in (dims.get("timeDimensions") or ([dims["timeDimension"]] if dims.get("timeDimension") else [])):
        add("time", time)
    measures = components.get("measureList") or {}
    for measure in measures.get("measures") or ([measures["primaryMeasure"]] if measures.get("primaryMeasure") else []):
        add("measure", measure, usage=_usage(measure.get("usage")))
    for attribute in (components.get("attributeList") or {}).get("attributes") or []:
        add("attribute", attribute, usage=_usage(attribute.get("usage")),
            attachment=_attachment(attribute.get("attributeRelationship")))
    flows = sorted(({"name": names(p.json(), lang),
                     "href": link(lang, f"/dataflow/{p.agency}/{p.id}/{p.version}"),
                     "metadata": link(lang, f"/metadata/dataflow/{p.agency}/{p.id}/{p.version}")}
                    for p in gate.registry.parents_of(entry) if p.kind == "dataflow" and gate.visible(p)),
                   key=lambda f: f["name"])
    return {"components": rows, "dataflows": flows}


# -- item schemes -----------------------------------------------------------------------------


def _item_row(obj: dict, lang: Lang) -> dict[str, Any]:
    return {"id": obj.get("id"), "name": names(obj, lang), "other_name": other_names(obj, lang),
            "description": descriptions(obj, lang), "parent": obj.get("parent")}


def codelist_view(gate: Gate, entry: Entry, lang: Lang) -> dict[str, Any]:
    """Codes in their order, and, when some have parents, the same codes as a tree (roots:
    codes without a parent, or whose parent is not in the list)."""
    rows = [_item_row(code, lang) for code in entry.json().get("codes") or []]
    known = {r["id"] for r in rows}
    children: dict[str, list[dict]] = {}
    for r in rows:
        if r["parent"] in known:
            children.setdefault(r["parent"], []).append(r)

    def node(r: dict, seen: frozenset) -> dict:
        # a parent cycle would loop forever: a code already on the path ends the branch
        kids = [node(c, seen | {c["id"]}) for c in children.get(r["id"], []) if c["id"] not in seen]
        return {**r, "children": kids}

    tree = [node(r, frozenset({r["id"]})) for r in rows if r["parent"] not in known] if children else []
    return {"codes": rows, "tree": tree, "hierarchical": bool(children)}


def conceptscheme_view(gate: Gate, entry: Entry, lang: Lang) -> dict[str, Any]:
    rows = []
    for concept in entry.json().get("concepts") or []:
        row = _item_row(concept, lang)
        rep = concept.get("coreRepresentation") or {}
        row["codelist"] = resolve_ref(gate, rep.get("enumeration"), lang)
        row["type"] = (rep.get("format") or {}).get("dataType")
        rows.append(row)
    return {"concepts": rows}


def categoryscheme_view(gate: Gate, entry: Entry, lang: Lang) -> dict[str, Any]:
    """The categories as a tree, each with the visible dataflows and metadataflows filed under
    it (categorisations of this scheme)."""
    filed: dict[str, list[dict]] = {}
    for cat in gate.registry.entries("categorisation"):
        obj = cat.json()
        target, source = parse_urn(obj.get("target") or ""), obj.get("source")
        if target is None or target[1:4] != (entry.agency, entry.id, entry.version) or not gate.visible(cat):
            continue
        flow = gate.registry.resolve(source) if source else None
        if flow is None or flow.is_stub or not gate.visible(flow):
            continue
        path = f"/{'dataflow' if flow.kind == 'dataflow' else 'metadata/metadataflow'}/{flow.agency}/{flow.id}/{flow.version}"
        href = link(lang, path)
        filed.setdefault(target[4] or "", []).append({"name": names(flow.json(), lang), "kind": flow.kind,
                                                      "href": href})

    def node(category: dict, prefix: str) -> dict:
        path = f"{prefix}{category.get('id')}"
        return {**_item_row(category, lang), "path": path,
                "flows": sorted(filed.get(path, []), key=lambda f: f["name"]),
                "children": [node(c, path + ".") for c in category.get("categories") or []]}

    return {"tree": [node(c, "") for c in entry.json().get("categories") or []]}


def listing(gate: Gate, lang: Lang) -> dict[str, list[dict]]:
    """The latest visible version of every artefact of the family's kinds, by kind."""
    found: dict[str, list[dict]] = {}
    for kind in PAGE_KINDS:
        rows = []
        for e in gate.registry.select_entries(kind, visible=gate.view):
            if e.is_stub:
                continue
            rows.append({"id": e.id, "agency": e.agency, "version": e.version, "name": names(e.json(), lang),
                         "href": page_of(lang, kind, e.agency, e.id, e.version)})
        found[kind] = rows
    return found
