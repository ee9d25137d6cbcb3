"""The data explorer of one dataflow: /dataflow/{agency}/{id}/{version} (and /en/...).

A GET form whose fields are the page's URL (explorer_query.py): codes per dimension (a tree
where the codelist is a hierarchy; only codes that still give data are offered: availability,
mode `available`), a period range (the periods of the dataflow's frequency between its first
and last), the labels of the table, the kind of chart. Below: the pivot table (series down,
time across, Solar Hijri beside Gregorian in Persian, figures with DECIMALS, UNIT_MULT and
OBS_STATUS marks explained), the chart (static/explorer.js draws it with plotly.js from a JSON
block: no inline script), the downloads of exactly this selection in every format the API
writes, and the API URL.

A dataflow the asker may not see answers the same 404 page as one that does not exist.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from sdmx_server.api.access import gate_of
from sdmx_server.errors import SyntaxError_
from sdmx_server.portal import i18n
from sdmx_server.portal.explorer_data import MAX_OBSERVATIONS, MAX_SERIES, Available, available, label, table
from sdmx_server.portal.explorer_query import CHARTS, FORMATS, LABELS, Selection, selection_of
from sdmx_server.portal.reference_metadata import about_flow
from sdmx_server.portal.render import lang_of, link, localised, render
from sdmx_server.portal.values import codelist_texts, period_label

i18n.words({
    "explorer.choose": ("انتخاب داده", "Choose the data"),
    "explorer.show": ("نمایش", "Show"),
    "explorer.period": ("دوره", "Period"),
    "explorer.from": ("از", "From"),
    "explorer.to": ("تا", "To"),
    "explorer.labels": ("برچسب‌ها", "Labels"),
    "explorer.labels.name": ("نام", "Names"),
    "explorer.labels.id": ("شناسه", "Codes"),
    "explorer.labels.both": ("هر دو", "Both"),
    "explorer.chart": ("نمودار", "Chart"),
    "explorer.chart.line": ("خطی در طول زمان", "Lines over time"),
    "explorer.chart.bar": ("میله‌ای در آخرین دوره", "Bars at the latest period"),
    "explorer.table": ("جدول", "Table"),
    "explorer.counts": ("مشاهده در", "observations in"),
    "explorer.series": ("سری", "series"),
    "explorer.nodata": ("برای این انتخاب داده‌ای نیست.", "There are no data for this selection."),
    "explorer.too_large": ("این انتخاب برای نمایش بزرگ است؛ آن را محدودتر کنید یا پرونده را بارگیری کنید.",
                           "This selection is too large to show; narrow it or download it."),
    "explorer.downloads": ("بارگیری همین انتخاب", "Download this selection"),
    "explorer.api": ("نشانی همین داده در رابط SDMX", "The same data from the SDMX API"),
    "explorer.legend": ("راهنمای نشانه‌ها", "Flags"),
    "explorer.fixed": ("ثابت در این جدول", "The same for every row"),
    "explorer.any": ("همه", "all"),
    "explorer.codes_available": ("کد دارای داده", "codes with data"),
    "explorer.code_count": ("مشاهده با این انتخاب (همه دوره‌ها)", "observations with this choice (all periods)"),
    "explorer.error.bad": ("درخواست نادرست", "Bad request"),
    "explorer.back": ("بازگشت به فهرست", "Back to the statistics"),
})


def _codelist(registry, ref: str | None):
    if not ref or ":" not in ref or "(" not in ref:
        return None
    agency, rest = ref.split(":", 1)
    cl_id, version = rest[:-1].split("(", 1)
    return registry.get("codelist", agency, cl_id, version)


def _trees(codelist, codes: list[str], chosen: set[str], lang, counts: dict[str, int] | None = None) -> list[dict]:
    """The codes of a dimension as a forest in codelist order: each node {id, name, offered,
    checked, count, children}; a branch without any offered code is left out."""
    counts = counts or {}
    offered = set(codes)
    nodes: dict[str, dict] = {}
    roots: list[dict] = []
    items = list(codelist) if codelist is not None else []
    known = {c.id for c in items}
    for code in items:
        nodes[code.id] = {"id": code.id, "name": localised(code.name, lang), "offered": code.id in offered,
                          "checked": code.id in chosen, "count": counts.get(code.id), "children": []}
    for code in items:
        parent = getattr(code, "parent", None)
        parent_id = getattr(parent, "id", None)
        if parent_id in nodes and parent is not codelist:
            nodes[parent_id]["children"].append(nodes[code.id])
        else:
            roots.append(nodes[code.id])
    for extra in [c for c in codes if c not in known]:  # codes outside the codelist (a stub)
        roots.append({"id": extra, "name": extra, "offered": True, "checked": extra in chosen,
                      "count": counts.get(extra), "children": []})

    def keep(node) -> bool:
        node["children"] = [c for c in node["children"] if keep(c)]
        return node["offered"] or node["checked"] or bool(node["children"])

    return [r for r in roots if keep(r)]


def _period_options(first: datetime | None, last: datetime | None, freqs: list[str], lang) -> list[tuple[str, str]]:
    """(value, label) of every period of the frequency between the first and last data."""
    if first is None or last is None:
        return []
    freq = freqs[0] if len(freqs) == 1 else "A"
    values: list[str] = []
    for year in range(first.year, last.year + 1):
        if freq == "M":
            values += [f"{year}-{m:02d}" for m in range(1, 13)
                       if date(first.year, first.month, 1) <= date(year, m, 1) <= last.date()]
        elif freq == "Q":
            values += [f"{year}-Q{q}" for q in range(1, 5)
                       if date(first.year, first.month, 1) <= date(year, 3 * q - 2, 1) <= last.date()]
        else:
            values.append(str(year))
    return [(v, str(period_label(v, lang))) for v in values]


def _first_view(selection: Selection, whole: Available, codelists: dict) -> Selection:
    """A first view when the URL names no dimension: of each dimension its total (`_T`) or else
    its first code with data (in codelist order: a hierarchy's root comes first), the last
    three years of data."""
    codes = {}
    for d in selection.dimensions:
        offered = whole.codes.get(d, [])
        order = [c.id for c in codelists[d]] if codelists.get(d) is not None else []
        ranked = [c for c in order if c in offered] + [c for c in offered if c not in order]
        ranked = sorted(ranked, key=lambda c: c != "_T")  # the total of a dimension first, when it has one
        if ranked:
            codes[d] = (ranked[0],)
    start = selection.start
    if start is None and selection.end is None and whole.last is not None:
        start = str(max(whole.last.year - 2, whole.first.year if whole.first else 0))
    return replace(selection, codes=codes, start=start)


def _context(request: Request) -> tuple[dict, int]:
    lang = lang_of(request)
    gate = gate_of(request)
    state = request.app.state.server
    agency, flow_id, version = (request.path_params[k] for k in ("agency", "id", "version"))
    flow = (agency, flow_id, version)
    registry = gate.registry
    entry = registry.entry("dataflow", *flow)
    dataflow = registry.get("dataflow", *flow)
    if entry is None or entry.is_stub or not gate.visible(entry) or dataflow is None or dataflow.structure is None:
        return {"error": "error.not_found", "detail": ""}, 404
    shape = state.shape(dataflow.structure)
    dims = shape.dimension_ids
    codelists = {c.id: _codelist(registry, c.codelist) for c in shape.components if c.codelist}
    known = {d: {c.id for c in codelists[d]} for d in dims if codelists.get(d) is not None}
    try:
        selection = selection_of(flow, dims, request.query_params, known)
    except SyntaxError_ as exc:
        return {"error": "explorer.error.bad", "detail": str(exc)}, 400
    whole = available(state, gate, replace(selection, codes={}, start=None, end=None))
    if not selection.chosen:
        selection = _first_view(selection, whole, codelists)
    # Codes offered: those that give data with the other dimensions' choices, over every period
    # (the series table answers that at once; counting observations per period range would
    # read the fact table on every page view). The counts shown are those of the table.
    now = available(state, gate, replace(selection, start=None, end=None), per_code=True)
    statuses = {"OBS_STATUS": codelist_texts(codelists["OBS_STATUS"])} if codelists.get("OBS_STATUS") else {}
    large = now.obs_count > MAX_OBSERVATIONS or now.series_count > MAX_SERIES
    result = None if large or now.obs_count == 0 else table(state, gate, selection, lang, statuses)
    freqs = list(selection.codes.get("FREQ", ())) or whole.codes.get("FREQ", [])
    dimensions = []
    for d in dims:
        component = next(c for c in shape.dimensions if c.id == d)
        name = d
        concept = next((c for c in dataflow.structure.dimensions.components if c.id == d), None)
        if concept is not None and concept.concept_identity is not None:
            name = localised(concept.concept_identity.name, lang) or d
        offered = now.codes.get(d, [])
        dimensions.append({"id": d, "name": name, "trees": _trees(codelists.get(d), offered, set(selection.codes.get(d, ())), lang,
                                                                     now.per_code.get(d)),
                           "count": len(offered), "coded": component.codelist is not None})
    base = str(request.base_url).rstrip("/")
    page = link(lang, f"/dataflow/{agency}/{flow_id}/{version}")
    context = {
        "flow": {"agency": agency, "id": flow_id, "version": version,
                 "name": localised(entry.json().get("names") or entry.json().get("name"), lang),
                 "description": localised(entry.json().get("descriptions") or entry.json().get("description"), lang)},
        "selection": selection,
        "dimensions": dimensions,
        "periods": _period_options(whole.first, whole.last, freqs, lang),
        "counts": (result.obs_count, len(result.rows)) if result is not None else (0, 0),
        "large": large,
        "table": result,
        "api_url": base + selection.api_path(),
        "downloads": [(name, selection.download(fmt), ext) for name, fmt, ext in FORMATS],
        "page": page,
        "views": {k: f"{page}?{selection.page_query(labels=k)}" for k in LABELS},
        "charts": CHARTS,
        "label_modes": LABELS,
        # definitions and counting rules beside the data (portal/reference_metadata.py)
        "about": about_flow(gate, flow, lang),
    }
    return context, 200


async def explorer(request: Request):
    context, status = await run_in_threadpool(_context, request)
    if status != 200:
        return render(request, "explorer_error.html", context, status_code=status, private=True,
                      title=i18n.translator(lang_of(request))(context["error"]))
    return render(request, "explorer.html", context, title=context["flow"]["name"])


PAGES = [("/dataflow/{agency}/{id}/{version}", explorer, "dataflow")]

__all__ = ["PAGES", "explorer", "label"]
