"""The home page: the catalogue of the dataflows a visitor may read, grouped by the themes of
the category scheme, with search (`?q=`) over names and descriptions in both languages, and
each dataflow's last update and next release.

What is listed comes from portal/catalogue_index.py (through the request's gate); the times
from service/releases.py. A search is a GET form, so its result has a URL that can be shared
and works without scripts.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from sdmx_server.api.access import gate_of
from sdmx_server.portal import i18n
from sdmx_server.portal.catalogue_index import Catalogue, build, name_in, search
from sdmx_server.portal.moments import format_day, format_moment, iso
from sdmx_server.portal.render import lang_of, render
from sdmx_server.service.releases import last_updates, next_release

#: The longest query looked at (a search box, not a document).
MAX_QUERY = 200

i18n.words({
    "catalogue.title": ("آمارهای رسمی سازمان", "The organisation's official statistics"),
    "catalogue.intro": ("همه آمارهایی که سازمان منتشر می‌کند، بر حسب موضوع. برای دیدن جدول، نمودار و دریافت داده‌ها روی نام هر آمار بزنید.",
                        "Every statistic the organisation publishes, by theme. Choose a statistic to see its table and chart and download its data."),
    "catalogue.search_label": ("جستجو در آمارها", "Search the statistics"),
    "catalogue.search_hint": ("نام یا واژه‌ای از توضیح آمار، به فارسی یا انگلیسی", "A word of a statistic's name or description, in Persian or English"),
    "catalogue.search_button": ("جستجو", "Search"),
    "catalogue.results": ("{count} آمار برای «{query}» پیدا شد", "{count} statistics found for “{query}”"),
    "catalogue.no_results": ("آماری برای «{query}» پیدا نشد. واژه دیگری را امتحان کنید یا فهرست موضوع‌ها را ببینید.",
                             "No statistics found for “{query}”. Try another word, or browse the themes below."),
    "catalogue.clear": ("نمایش همه آمارها", "Show all statistics"),
    "catalogue.themes": ("موضوع‌ها", "Themes"),
    "catalogue.summary": ("{flows} در {themes}", "{flows} in {themes}"),
    "catalogue.flows.one": ("{n} آمار", "{n} statistic"),
    "catalogue.flows.many": ("{n} آمار", "{n} statistics"),
    "catalogue.themes.one": ("{n} موضوع", "{n} theme"),
    "catalogue.themes.many": ("{n} موضوع", "{n} themes"),
    "catalogue.other": ("آمارهای دیگر", "Other statistics"),
    "catalogue.empty": ("هنوز آماری برای نمایش به شما منتشر نشده است.", "No statistics are published for you yet."),
    "catalogue.last_update": ("آخرین به‌روزرسانی", "Last update"),
    "catalogue.next_release": ("انتشار بعدی", "Next release"),
    "catalogue.no_data": ("هنوز داده‌ای ندارد", "No data yet"),
    "catalogue.not_announced": ("اعلام نشده", "Not announced"),
    "catalogue.figures_of": ("ارقام", "figures of"),
    "catalogue.delayed": ("با تأخیر", "Delayed"),
    "catalogue.id": ("شناسه", "Identifier"),
    "catalogue.older": ("نسخه‌های پیشین", "Earlier versions"),
    "catalogue.access.internal": ("داخلی", "Internal"),
    "catalogue.access.restricted": ("محدود", "Restricted"),
    "catalogue.access.note": ("فقط برای کارکنان مجاز", "Authorised staff only"),
})


def _catalogue(request: Request) -> Catalogue:
    gate = gate_of(request)
    catalogue = build(gate)
    db = request.app.state.server.db
    keys = [card.key for card in catalogue.flows]
    updated, releases = last_updates(db, keys), next_release(db, keys)
    for card in catalogue.flows:
        card.last_update = updated.get(card.key)
        card.next_release = releases.get(card.key)
    return catalogue


async def home(request: Request):
    """The catalogue: the dataflows the visitor may read by theme, or those a search (`q`) finds."""
    lang = lang_of(request)
    t = i18n.translator(lang)
    query = " ".join(request.query_params.get("q", "").split())[:MAX_QUERY]
    catalogue = await run_in_threadpool(_catalogue, request)
    found = search(catalogue, query) if query else None
    themes = sum(len(s.themes) for s in catalogue.schemes) + (1 if catalogue.unfiled else 0)
    summary = t("catalogue.summary").format(flows=_counted(t, "catalogue.flows", len(catalogue.flows)),
                                            themes=_counted(t, "catalogue.themes", themes))
    return render(request, "home.html", {
        "catalogue": catalogue, "query": query, "found": found, "summary": summary,
        "name_in": name_in, "moment": lambda m: format_moment(m, lang), "iso": iso,
        "day": lambda d: format_day(d, lang),
    }, title=(query if query else t("catalogue.title")))


def _counted(t, key: str, n: int) -> str:
    """`n` things, in the singular or plural form (Persian counts take the singular)."""
    return t(f"{key}.one" if n == 1 else f"{key}.many").format(n=n)


PAGES = [("/", home, "home")]
