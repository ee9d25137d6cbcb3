"""SDMX-ML 3.0 hierarchies and hierarchy associations, maintainable kinds new in SDMX 3.0.

A Hierarchy holds its levels first, then its hierarchical codes, each referencing its code by
URN; the hierarchical code and level functions of the 2.1 module serve unchanged (the 3.0
writer references by URN). Hierarchical codelists and structure sets have no 3.0 form: the
kinds table says so, and the writer refuses them.
"""

from __future__ import annotations

from lxml import etree
from sdmx.model import common, v30

from sdmx_server.formats.structure_ml21_hierarchies import hierarchical_code, level, unique_ids
from sdmx_server.formats.structure_ml30_base import ML30


@ML30.register(v30.Hierarchy)
def hierarchy(w, obj: v30.Hierarchy, el: etree._Element) -> None:
    """The levels and codes, even in a stub: the schema requires at least one code."""
    el.set("hasFormalLevels", "true" if obj.has_formal_levels else "false")
    if obj.level is not None:
        level(w, el, obj.level, None)
    if not obj.codes:
        if obj.is_external_reference:
            raise w.not_expressible("a hierarchy known only by reference (the schema requires its codes)")
        raise ValueError(f"hierarchy {obj.id} has no codes")
    unique_ids(w, obj.codes.values(), obj.id)
    for code in obj.codes.values():
        hierarchical_code(w, el, code, "")


@ML30.register(v30.HierarchyAssociation)
def hierarchy_association(w, obj: v30.HierarchyAssociation, el: etree._Element) -> None:
    if obj.linked_hierarchy is None or obj.linked_object is None:
        raise ValueError(f"hierarchy association {obj.id} needs a hierarchy and the object it is linked to")
    w.maintainable_ref(el, "LinkedHierarchy", obj.linked_hierarchy)
    identifiable_ref(w, el, "LinkedObject", obj.linked_object)
    if obj.context_object is not None:
        identifiable_ref(w, el, "ContextObject", obj.context_object)


def identifiable_ref(w, el: etree._Element, tag: str, target) -> None:
    """The URN of a maintainable or an item; of anything else (a dimension...), its own URN."""
    if isinstance(target, (common.MaintainableArtefact, common.Item)):
        w.any_ref(el, tag, target)
    elif getattr(target, "urn", None):
        w.text_ref(el, tag, target.urn)
    else:
        raise w.not_expressible(f"a reference to a {type(target).__name__} without a URN")
