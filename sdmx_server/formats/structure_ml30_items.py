"""SDMX-ML 3.0 codelists: extensions, geographic codelists and value lists.

Everything else about item schemes (concepts, categories, organisations, VTL schemes) is
written by the 2.1 functions, with the 3.0 writer's references.
"""

from __future__ import annotations

from lxml import etree
from sdmx.model import common, v30

from sdmx_server.formats.structure_ml21_dispatch import is_true
from sdmx_server.formats.structure_ml21_items import item_scheme
from sdmx_server.formats.structure_ml30_base import ML30


@ML30.register(common.Codelist)
def codelist(w, scheme: common.Codelist, el: etree._Element) -> None:
    item_scheme(w, scheme, el)
    if w.full:
        codelist_extensions(w, scheme, el)


def codelist_extensions(w, scheme, el: etree._Element) -> None:
    """str:CodelistExtension: the extended codelist and the codes selected from it."""
    for extension in getattr(scheme, "extends", None) or []:
        ext_el = etree.SubElement(el, w.s("CodelistExtension"))
        if extension.prefix:
            ext_el.set("prefix", extension.prefix)
        w.maintainable_ref(ext_el, "Codelist", extension.extends)
        selection = extension.selection
        if selection is not None:
            tag = "ExclusiveCodeSelection" if isinstance(selection, v30.ExclusiveCodeSelection) else "InclusiveCodeSelection"
            selection_el = etree.SubElement(ext_el, w.s(tag))
            for member in selection.mv:
                value_el = etree.SubElement(selection_el, w.s("MemberValue"))
                value_el.text = str(member.value)
                if member.cascade_values:
                    value_el.set("cascadeValues", "true")


# --- geographic codelists ------------------------------------------------------------------------


@ML30.register(v30.GeoCodelist)
def geo_codelist(w, scheme, el: etree._Element) -> None:
    # geoType is fixed by the schema, and with the grid definition required even in a stub.
    el.set("geoType", type(scheme).__name__)
    item_scheme(w, scheme, el)
    if w.full:
        codelist_extensions(w, scheme, el)
    if isinstance(scheme, v30.GeoGridCodelist):
        etree.SubElement(el, w.s("GridDefinition")).text = (scheme.grid_definition or "").strip()


@ML30.register(v30.GeoFeatureSetCode)
def geo_feature_set_code(w, code, parent: etree._Element) -> None:
    w.item_element(code, parent, "GeoFeatureSetCode").set("value", code.value or "")


@ML30.register(v30.GeoGridCode)
def geo_grid_code(w, code, parent: etree._Element) -> None:
    el = w.item_element(code, parent, "GeoGridCode")
    etree.SubElement(el, w.s("GeoCell")).text = (code.geo_cell or "").strip()


@ML30.register(v30.GeoRefCode, common.Code)
def code(w, obj, parent: etree._Element) -> None:
    # A plain code in a geographic codelist has no element of its own: the schema wants the
    # codelist's kind of code.
    if isinstance(w.artefact, v30.GeoCodelist):
        raise w.not_expressible(f"a plain code ({obj.id}) in a geographic codelist")
    w.item_element(obj, parent)


# --- value lists -----------------------------------------------------------------------------------


@ML30.register(v30.ValueList)
def value_list(w, scheme: v30.ValueList, el: etree._Element) -> None:
    if not w.full:
        return
    if is_true(getattr(scheme, "is_partial", None)):
        raise w.not_expressible("a partial value list")
    for item in scheme.items:
        item_el = etree.SubElement(el, w.s("ValueItem"), id=item.id)
        w.annotations(item_el, item)
        # Name is optional for value items.
        w.text_elements(item_el, "Name", item.name)
        w.text_elements(item_el, "Description", item.description)
