"""Structure pages: what the data mean. A DSD with its dimensions, attributes and measures, their
concepts and codelists; a codelist's codes (both languages, hierarchy as a tree, parents
linked); a concept scheme; the category scheme with the dataflows filed under each theme; a
dataflow's reference metadata (definitions and counting rules) and one metadata set. Every
page links the same artefact in the SDMX API (SDMX-ML and SDMX-JSON).

The visitor's gate (api/access.py gate_of) decides what exists: an artefact the visitor may not
see answers the same 404 page as one that does not exist (the page never repeats the path's
ids, so the two are identical). The views are built in structure_views.py and
reference_metadata.py; `about_flow` is what the explorer page includes.
"""

from __future__ import annotations

from typing import Any, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from sdmx_server.access.gate import Gate
from sdmx_server.api.access import gate_of
from sdmx_server.portal import i18n
from sdmx_server.portal.reference_metadata import about_flow, definitions_by_item, metadataflow_view, set_view
from sdmx_server.portal.render import lang_of, render
from sdmx_server.portal.structure_views import (
    api_links,
    categoryscheme_view,
    codelist_view,
    conceptscheme_view,
    dsd_view,
    listing,
    names,
    descriptions,
    visible_entry,
)

__all__ = ["PAGES", "about_flow"]

i18n.words({
    "structure.index": ("ساختارها", "Structures"),
    "structure.index.intro": ("ساختار داده‌ها، فهرست‌های کد، مفاهیم و موضوع‌ها: معنای هر عدد.",
                              "Data structures, codelists, concepts and themes: what each figure means."),
    "structure.kind.datastructure": ("ساختار داده", "Data structure"),
    "structure.kind.codelist": ("فهرست کد", "Codelist"),
    "structure.kind.conceptscheme": ("طرح مفاهیم", "Concept scheme"),
    "structure.kind.categoryscheme": ("طرح موضوع‌ها", "Category scheme"),
    "structure.kinds.datastructure": ("ساختارهای داده", "Data structures"),
    "structure.kinds.codelist": ("فهرست‌های کد", "Codelists"),
    "structure.kinds.conceptscheme": ("طرح‌های مفاهیم", "Concept schemes"),
    "structure.kinds.categoryscheme": ("طرح‌های موضوع", "Category schemes"),
    "structure.id": ("شناسه", "Identifier"),
    "structure.agency": ("نهاد نگهدارنده", "Agency"),
    "structure.version": ("نسخه", "Version"),
    "structure.api": ("همین ساختار در رابط برنامه‌نویسی SDMX", "This structure from the SDMX API"),
    "structure.components": ("اجزا", "Components"),
    "structure.role": ("نقش", "Role"),
    "structure.concept": ("مفهوم", "Concept"),
    "structure.representation": ("نمایش", "Representation"),
    "structure.attachment": ("پیوست به", "Attached to"),
    "structure.usage": ("الزام", "Usage"),
    "structure.role.dimension": ("بُعد", "Dimension"),
    "structure.role.time": ("بُعد زمان", "Time dimension"),
    "structure.role.measure": ("سنجه", "Measure"),
    "structure.role.attribute": ("ویژگی", "Attribute"),
    "structure.attach.observation": ("هر مشاهده", "each observation"),
    "structure.attach.dataflow": ("کل جریان داده", "the whole dataflow"),
    "structure.attach.dimensions": ("بُعدهای", "the dimensions"),
    "structure.attach.group": ("گروه", "the group"),
    "structure.usage.mandatory": ("الزامی", "mandatory"),
    "structure.usage.optional": ("اختیاری", "optional"),
    "structure.text": ("متن یا عدد", "Text or number"),
    "structure.used_by": ("جریان‌های داده با این ساختار", "Dataflows with this structure"),
    "structure.explore": ("دیدن داده‌ها", "See the data"),
    "structure.definitions": ("تعریف‌ها", "Definitions"),
    "structure.codes": ("کدها", "Codes"),
    "structure.code": ("کد", "Code"),
    "structure.name": ("نام", "Name"),
    "structure.other_name": ("نام انگلیسی", "Persian name"),
    "structure.description": ("توضیح", "Description"),
    "structure.parent": ("والد", "Parent"),
    "structure.tree": ("سلسله‌مراتب", "Hierarchy"),
    "structure.definition": ("تعریف", "Definition"),
    "structure.concepts": ("مفاهیم", "Concepts"),
    "structure.categories": ("موضوع‌ها", "Categories"),
    "structure.nothing": ("چیزی نیست.", "None."),
    "metadata.title": ("تعریف‌ها و قواعد شمارش", "Definitions and counting rules"),
    "metadata.about": ("درباره این داده‌ها", "About these data"),
    "metadata.none": ("برای این داده‌ها تعریفی ثبت نشده است.", "No definition is recorded for these data."),
    "metadata.defines": ("تعریفِ", "Defines"),
    "metadata.in_dimension": ("در بُعد", "in the dimension"),
    "metadata.structure": ("ساختار داده", "Data structure"),
    "metadata.all": ("همه تعریف‌ها و قواعد شمارش", "All definitions and counting rules"),
    "metadata.api": ("همین فراداده در رابط برنامه‌نویسی SDMX", "These metadata from the SDMX API"),
    "metadata.set": ("مجموعه فراداده", "Metadata set"),
    "metadata.flow": ("جریان فراداده", "Metadataflow"),
})


def _page(kind: str, build: Callable[[Gate, Any, str], dict[str, Any]], template: str):
    """A page of one artefact: 404 unless the visitor sees it; its view; its API links."""
    async def endpoint(request: Request):
        p = request.path_params
        lang = lang_of(request)

        def work():
            gate = gate_of(request)
            entry = visible_entry(gate, kind, p["agency"], p["id"], p["version"])
            if entry is None:
                return None
            obj = entry.json()
            return {"kind": kind, "entry": {"agency": entry.agency, "id": entry.id, "version": entry.version,
                                            "name": names(obj, lang), "description": descriptions(obj, lang)},
                    "api": api_links(kind, entry.agency, entry.id, entry.version), **build(gate, entry, lang)}

        context = await run_in_threadpool(work)
        if context is None:
            return not_found(request)
        return render(request, template, context, title=context["entry"]["name"], private=True)
    return endpoint


def not_found(request: Request):
    """The one answer for what does not exist and what the visitor may not see."""
    return render(request, "structure_not_found.html", {}, status_code=404, private=True)


def _codelist(gate: Gate, entry, lang) -> dict[str, Any]:
    return {**codelist_view(gate, entry, lang), "definitions": definitions_by_item(gate, entry, lang)}


def _conceptscheme(gate: Gate, entry, lang) -> dict[str, Any]:
    return {**conceptscheme_view(gate, entry, lang), "definitions": definitions_by_item(gate, entry, lang)}


async def index(request: Request):
    lang = lang_of(request)
    kinds = await run_in_threadpool(lambda: listing(gate_of(request), lang))
    return render(request, "structure_index.html", {"kinds": kinds}, private=True)


async def flow_metadata(request: Request):
    p = request.path_params
    lang = lang_of(request)
    about = await run_in_threadpool(lambda: about_flow(gate_of(request), (p["agency"], p["id"], p["version"]), lang))
    if about is None:
        return not_found(request)
    return render(request, "metadata_flow.html", {"about": about}, title=about["flow"]["name"], private=True)


async def metadataflow(request: Request):
    p = request.path_params
    lang = lang_of(request)

    def work():
        gate = gate_of(request)
        entry = visible_entry(gate, "metadataflow", p["agency"], p["id"], p["version"])
        if entry is None:
            return None
        obj = entry.json()
        return {"entry": {"agency": entry.agency, "id": entry.id, "version": entry.version,
                          "name": names(obj, lang), "description": descriptions(obj, lang)},
                **metadataflow_view(gate, entry, lang)}

    context = await run_in_threadpool(work)
    if context is None:
        return not_found(request)
    return render(request, "metadata_metadataflow.html", context, title=context["entry"]["name"], private=True)


async def metadata_set(request: Request):
    p = request.path_params
    lang = lang_of(request)

    def work():
        gate = gate_of(request)
        entry = visible_entry(gate, "metadataset", p["agency"], p["id"], p["version"])
        if entry is None:
            return None
        # as the API: a set about something hidden is hidden
        view = set_view(gate, entry, lang)
        return view if len(view["targets"]) == len(entry.json().get("targets") or ()) else None

    view = await run_in_threadpool(work)
    if view is None:
        return not_found(request)
    return render(request, "metadata_set.html", {"set": view}, title=view["name"], private=True)


_ARTEFACT = "{agency}/{id}/{version}"
PAGES = [
    ("/structure", index, "structures"),
    (f"/structure/datastructure/{_ARTEFACT}", _page("datastructure", dsd_view, "structure_dsd.html"),
     "structure-datastructure"),
    (f"/structure/codelist/{_ARTEFACT}", _page("codelist", _codelist, "structure_codelist.html"),
     "structure-codelist"),
    (f"/structure/conceptscheme/{_ARTEFACT}", _page("conceptscheme", _conceptscheme, "structure_conceptscheme.html"),
     "structure-conceptscheme"),
    (f"/structure/categoryscheme/{_ARTEFACT}",
     _page("categoryscheme", categoryscheme_view, "structure_categoryscheme.html"), "structure-categoryscheme"),
    (f"/metadata/dataflow/{_ARTEFACT}", flow_metadata, "metadata-dataflow"),
    (f"/metadata/metadataflow/{_ARTEFACT}", metadataflow, "metadata-metadataflow"),
    (f"/metadata/metadataset/{_ARTEFACT}", metadata_set, "metadata-set"),
]
