"""SDMX-ML 2.1 hierarchical codelists and structure sets: the two kinds SDMX 3.0 dropped.

A HierarchicalCodelist lists the codelists its codes come from (IncludedCodelist, with an alias
sdmx1 needs although the schema does not) and then its hierarchies; each hierarchical code
references its code directly (str:Code), each level nests the next. The SDMX 3.0 Hierarchy,
a maintainable of its own, has no SDMX-ML 2.1 form (the kinds table says so). A StructureSet is
written with its codelist maps, the only maps sdmx1 models.
"""

from __future__ import annotations

from lxml import etree
from sdmx.model import common, v21

from sdmx_server.formats.structure_ml21_dispatch import ML21, xml_datetime
from sdmx_server.formats.structure_ml21_repr import text_format


def hierarchical_codes(codes) -> list[common.HierarchicalCode]:
    """Every hierarchical code, depth first."""
    found = []
    for code in codes:
        found.append(code)
        found.extend(hierarchical_codes(code.child))
    return found


def included_codelists(hierarchies) -> list[common.Codelist]:
    """The codelists the codes of the hierarchies belong to, in order of first use."""
    seen: dict[int, common.Codelist] = {}
    for hierarchy in hierarchies:
        for hcode in hierarchical_codes(hierarchy.codes.values()):
            scheme = hcode.code.get_scheme() if hcode.code is not None else None
            if isinstance(scheme, common.ItemScheme):
                seen.setdefault(id(scheme), scheme)
    return list(seen.values())


@ML21.register(v21.HierarchicalCodelist)
def hierarchical_codelist(w, hcl: v21.HierarchicalCodelist, el: etree._Element) -> None:
    if not w.full:
        return
    for n, codelist in enumerate(included_codelists(hcl.hierarchy), start=1):
        w.maintainable_ref(el, "IncludedCodelist", codelist).set("alias", f"CL{n}")
    for hierarchy in hcl.hierarchy:
        w.write(hierarchy, el)


@ML21.register(v21.Hierarchy)
def hierarchy(w, obj: v21.Hierarchy, parent: etree._Element) -> None:
    el = etree.SubElement(parent, w.s("Hierarchy"), id=obj.id, urn=w.child_urn("Hierarchy", obj.id))
    if obj.has_formal_levels:
        el.set("leveled", "true")
    w.annotations(el, obj)
    w.names(el, obj)
    if not obj.codes:
        raise ValueError(f"{w.artefact.id}: hierarchy {obj.id} has no codes")
    unique_ids(w, obj.codes.values(), obj.id)
    for code in obj.codes.values():
        hierarchical_code(w, el, code, obj.id)
    if obj.level is not None:
        level(w, el, obj.level, obj.id)


def hierarchical_code(w, parent: etree._Element, hcode: common.HierarchicalCode, path: str) -> None:
    path = f"{path}.{hcode.id}" if path else hcode.id
    el = etree.SubElement(parent, w.s("HierarchicalCode"), id=hcode.id, urn=w.child_urn("HierarchicalCode", path))
    for attribute, value in (("validFrom", hcode.valid_from), ("validTo", hcode.valid_to)):
        if value:
            el.set(attribute, xml_datetime(value))
    w.annotations(el, hcode)
    if hcode.code is None:
        raise ValueError(f"{w.artefact.id}: hierarchical code {path} references no code")
    w.item_ref(el, "Code", hcode.code)
    hierarchical_code_body(w, el, hcode, path)


def hierarchical_code_body(w, el: etree._Element, hcode: common.HierarchicalCode, path: str) -> None:
    """The children, then the level the code is at (both versions write them in this order)."""
    unique_ids(w, hcode.child, path)
    for child in hcode.child:
        hierarchical_code(w, el, child, path)
    if hcode.level is not None:
        w.local_ref(el, "Level", hcode.level.id, "Level")


def unique_ids(w, codes, path: str) -> None:
    """Sibling hierarchical codes need distinct ids (the schema's uniqueness constraints).

    sdmx1's 2.1 reader mixes up the children of consecutive hierarchical codes in some real
    messages, giving a code two children with the same id: such a model cannot be written.
    """
    seen: set[str] = set()
    for code in codes:
        if code.id in seen:
            raise ValueError(f"{w.artefact.id}: {path} has two hierarchical codes {code.id}")
        seen.add(code.id)


def level(w, parent: etree._Element, obj: common.Level, path: str | None) -> None:
    """A level, its coding format, then the next level inside it. Its URN ends with the path of
    level ids under the hierarchy's id `path` (2.1), or with its own id when `path` is None (3.0)."""
    own = obj.id if path is None else f"{path}.{obj.id}"
    el = etree.SubElement(parent, w.s("Level"), id=obj.id, urn=w.child_urn("Level", own))
    w.annotations(el, obj)
    w.names(el, obj)
    facet = getattr(obj.code_format, "coding_format", None)
    if facet is not None and (facet.value_type is not None or any(v is not None for v in vars(facet.type).values())):
        text_format(w, el, "CodingFormat", [facet])
    if obj.child is not None:
        level(w, el, obj.child, None if path is None else own)


# --- structure sets ------------------------------------------------------------------------------


@ML21.register(v21.StructureSet)
def structure_set(w, obj: v21.StructureSet, el: etree._Element) -> None:
    if not w.full:
        return
    for item_map in obj.item_scheme_map:
        w.write(item_map, el)


@ML21.register(v21.ItemSchemeMap)
def item_scheme_map(w, obj, parent: etree._Element) -> None:
    if not isinstance(obj, v21.CodelistMap):
        raise w.not_expressible(f"a {type(obj).__name__}")
    el = etree.SubElement(parent, w.s("CodelistMap"), id=obj.id, urn=w.child_urn("CodelistMap", obj.id))
    w.annotations(el, obj)
    w.names(el, obj)
    w.maintainable_ref(el, "Source", obj.source)
    w.maintainable_ref(el, "Target", obj.target)
    if not obj.item_association:
        raise ValueError(f"{w.artefact.id}: codelist map {obj.id} maps no code")
    for association in obj.item_association:
        map_el = etree.SubElement(el, w.s("CodeMap"))
        w.annotations(map_el, association)
        w.local_ref(map_el, "Source", association.source.id)
        w.local_ref(map_el, "Target", association.target.id)
