"""SDMX-ML 2.1 item schemes and categorisations: codelists, concept schemes, category schemes,
organisation schemes (agencies, data providers and consumers), reporting taxonomies.

Each function is registered on the writer for an sdmx1 model class (see structure_ml21_base);
the VTL schemes, also item schemes, are in structure_ml21_vtl.
"""

from __future__ import annotations

from lxml import etree
from sdmx.model import common, v30

from sdmx_server.formats.structure_ml21_dispatch import ML21, is_true
from sdmx_server.formats.structure_ml21_repr import representation

# --- item schemes ----------------------------------------------------------------------------


@ML21.register(common.ItemScheme)
def item_scheme(w, scheme: common.ItemScheme, el: etree._Element) -> None:
    """isPartial and the items: all of them with Parent references (flat schemes), or the
    top-level ones with their children inside (nested schemes: categories)."""
    if not w.full:
        return
    if is_true(scheme.is_partial):
        el.set("isPartial", "true")
    nested = w.kind.items == "nested"
    for item in scheme.items.values():
        if nested and isinstance(item.parent, common.Item):
            continue
        w.write(item, el)


@ML21.register(common.Item)
def item(w, obj: common.Item, el: etree._Element) -> None:
    w.item_element(obj, el)


@ML21.register(common.Codelist)
def codelist(w, scheme: common.Codelist, el: etree._Element) -> None:
    # sdmx1's 3.0 reader sets `extends` (a list of v30.CodelistExtension) on the codelists it reads.
    if getattr(scheme, "extends", None) and w.full:
        raise w.not_expressible("a codelist extension (CodelistExtension)")
    item_scheme(w, scheme, el)


@ML21.register(v30.GeoCodelist)
def geo_codelist(w, scheme, el: etree._Element) -> None:
    if not w.full:
        return  # the stub of a codelist
    raise w.not_expressible(f"a geographic codelist ({type(scheme).__name__})")


@ML21.register(common.Concept)
def concept(w, obj: common.Concept, el: etree._Element) -> None:
    """A concept, then its CoreRepresentation and ISOConceptReference."""
    item_el = w.item_element(obj, el)
    rep = obj.core_representation
    if rep is not None and rep.enumerated is not None:
        w.check_core_enumeration(obj, rep.enumerated)
    representation(w, item_el, "CoreRepresentation", rep)
    iso = obj.iso_concept
    if iso is not None:
        iso_el = etree.SubElement(item_el, w.s("ISOConceptReference"))
        etree.SubElement(iso_el, w.s("ConceptAgency")).text = iso.agency
        etree.SubElement(iso_el, w.s("ConceptSchemeID")).text = iso.scheme_id
        etree.SubElement(iso_el, w.s("ConceptID")).text = iso.id


# --- organisation schemes --------------------------------------------------------------------


@ML21.register(common.Organisation)
def organisation(w, obj: common.Organisation, el: etree._Element) -> None:
    """Agencies, data providers and consumers: no Parent in SDMX-ML, then their contacts."""
    item_el = w.item_element(obj, el, hierarchy=False)
    for contact in obj.contact:
        contact_element(w, item_el, contact)


def contact_element(w, parent: etree._Element, contact: common.Contact) -> etree._Element:
    el = etree.SubElement(parent, w.s("Contact"))
    w.text_elements(el, "Name", contact.name)
    # Department and Role are in the structure namespace, unlike com:Name.
    for tag, text in (("Department", contact.org_unit), ("Role", contact.responsibility)):
        for lang, value in w.texts(text):
            etree.SubElement(el, w.s(tag), {"{http://www.w3.org/XML/1998/namespace}lang": lang}).text = value
    if contact.telephone:
        etree.SubElement(el, w.s("Telephone")).text = contact.telephone
    for tag, values in (("Fax", contact.fax), ("X400", contact.x400), ("URI", contact.uri), ("Email", contact.email)):
        for value in values:
            etree.SubElement(el, w.s(tag)).text = value
    return el


# --- categorisations -------------------------------------------------------------------------


@ML21.register(common.Categorisation)
def categorisation(w, obj: common.Categorisation, el: etree._Element) -> None:
    """Source (the categorised artefact) and Target (the category); both or neither."""
    if not w.full or obj.artefact is None and obj.category is None:
        return
    if not isinstance(obj.artefact, common.IdentifiableArtefact):
        # sdmx1 keeps a reference to a non-SDMX class (e.g. BIS's PublicationTable) as a dict.
        raise w.not_expressible(f"a categorisation of {obj.artefact!r}")
    w.any_ref(el, "Source", obj.artefact)
    w.item_ref(el, "Target", obj.category)


# --- reporting taxonomies ----------------------------------------------------------------------
#
# ReportingCategory items nest like categories. sdmx1 holds neither their StructuralMetadata nor
# their ProvisioningMetadata references, so the generic item-scheme and item functions serve.
