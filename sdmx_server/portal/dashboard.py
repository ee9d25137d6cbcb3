"""The indicator dashboard at /dashboard (and /en/dashboard): every indicator of every unit
(headquarters and the 31 provincial directorates) with its latest value, its norm, its status
and its trend; a map of the provinces coloured by status on one indicator; the ranking of the
provinces with its rule stated; every figure a link to the series behind it in the explorer.

The statuses are the server's (DF_KPI_STATUS, processing/kpi_status.py); this page only shows
them. `?indicator=ID` chooses the indicator of the map and the detail table (the state is in
the URL, so a view can be shared)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from sdmx_server.api.access import gate_of
from sdmx_server.persian.numbers import format_number, localise_digits
from sdmx_server.portal import i18n
from sdmx_server.portal.dashboard_data import Dashboard, build, explorer_url
from sdmx_server.portal.dashboard_map import ATTRIBUTION, load_shapes, province_key, sparkline
from sdmx_server.portal.render import lang_of, render
from sdmx_server.portal.values import period_label
from sdmx_server.processing.derived import KPI_STATUS
from sdmx_server.processing.kpi_status import STATUSES

i18n.words({
    "dash.title": ("داشبورد شاخص‌ها", "Indicator dashboard"),
    "dash.intro": ("ارزیابی ستاد و ادارات کل استان‌ها با شاخص‌های عملکرد در برابر هنجارهای دفتر برنامه‌ریزی. "
                   "هر رقم پیوندی به سری داده پشت آن است.",
                   "Headquarters and the provincial directorates evaluated on the performance indicators against "
                   "the planning office's norms. Every figure links to the series behind it."),
    "dash.latest": ("آخرین دوره", "Latest period"),
    "dash.no_data": ("داده‌ای برای نمایش نیست.", "There are no data to show."),
    "dash.no_status": ("وضعیت‌ها و هنجارها فقط برای کاربران مجاز نمایش داده می‌شود؛ برای دیدن آن‌ها وارد شوید.",
                       "Statuses and norms are shown to authorised users only: sign in to see them."),
    "dash.rule.title": ("قاعده وضعیت", "The status rule"),
    "dash.rule.up": ("شاخص افزایشی (بیشتر بهتر است): «خارج از هنجار» اگر مقدار کمتر از حد پایین باشد؛ «هشدار» اگر "
                     "مقدار از حد پایین کمتر نباشد ولی به نیمه راه حد پایین تا هدف نرسیده باشد؛ وگرنه «در محدوده هنجار» "
                     "(فراتر رفتن از حد بالا هم در محدوده است).",
                     "Higher is better: outside the norm when the value is below the lower bound; warning when it is "
                     "at or above the lower bound but short of half way from the lower bound to the target; "
                     "otherwise within norm (above the upper bound too)."),
    "dash.rule.down": ("شاخص کاهشی (کمتر بهتر است): «خارج از هنجار» اگر مقدار بیشتر از حد بالا باشد؛ «هشدار» اگر "
                       "مقدار از حد بالا بیشتر نباشد ولی به نیمه راه حد بالا تا هدف نرسیده باشد؛ وگرنه «در محدوده هنجار».",
                       "Lower is better: outside the norm when the value is above the upper bound; warning when it is "
                       "at or below the upper bound but short of half way from the upper bound to the target; "
                       "otherwise within norm."),
    "dash.rule.norm": ("هنجار هر مقدار، هنجار همان واحد و همان شاخص برای سال آن دوره است (DF_KPI_NORMS). "
                       "وضعیت‌ها را سرور یک بار حساب می‌کند و در جریان داده DF_KPI_STATUS منتشر می‌کند.",
                       "A value is judged against the unit's norm for the same indicator and the year of its period "
                       "(DF_KPI_NORMS). The server computes the statuses once and publishes them as the dataflow "
                       "DF_KPI_STATUS."),
    "dash.rank.title": ("رتبه‌بندی ادارات کل استان‌ها", "Ranking of the provincial directorates"),
    "dash.rank.rule": ("امتیاز هر شاخص: در محدوده ۲، هشدار ۱، خارج از هنجار ۰، در آخرین دوره هر شاخص. امتیاز اداره "
                       "کل: میانگین امتیاز شاخص‌هایش به‌صورت درصدی از بیشترین امتیاز. رتبه به ترتیب امتیاز، سپس "
                       "شاخص‌های خارج از هنجار کمتر، سپس هشدارهای کمتر؛ برابرها رتبه یکسان دارند.",
                       "Each indicator scores within 2, warning 1, outside 0, in its latest period. A directorate's "
                       "score is the mean of its indicators' scores as a percentage of the highest possible. Ranked by "
                       "score, then fewer indicators outside, then fewer warnings; equal directorates share a rank."),
    "dash.rank": ("رتبه", "Rank"),
    "dash.score": ("امتیاز (درصد)", "Score (%)"),
    "dash.unit": ("واحد", "Unit"),
    "dash.indicator": ("شاخص", "Indicator"),
    "dash.period": ("دوره", "Period"),
    "dash.value": ("مقدار", "Value"),
    "dash.norm": ("هنجار (حد پایین–حد بالا؛ هدف)", "Norm (lower–upper; target)"),
    "dash.status": ("وضعیت", "Status"),
    "dash.trend": ("روند", "Trend"),
    "dash.trend_of": ("روند {n} دوره اخیر: از {first} تا {last}", "Trend over the last {n} periods: from {first} to {last}"),
    "dash.choose": ("شاخص نقشه و جدول جزئیات", "Indicator of the map and the detail table"),
    "dash.show": ("نمایش", "Show"),
    "dash.matrix.title": ("همه شاخص‌ها در همه واحدها", "Every indicator in every unit"),
    "dash.matrix.caption": ("آخرین مقدار و وضعیت هر شاخص در هر واحد؛ هر خانه پیوند سری آن است.",
                            "The latest value and status of each indicator in each unit; each cell links to its series."),
    "dash.hq": ("ستاد", "Headquarters"),
    "dash.provinces": ("ادارات کل استان‌ها", "Provincial directorates"),
    "dash.detail.title": ("جزئیات: {indicator}", "Detail: {indicator}"),
    "dash.map.title": ("نقشه استان‌ها: {indicator}", "Map of the provinces: {indicator}"),
    "dash.map.label": ("نقشه ۳۱ استان به رنگ وضعیت {indicator}؛ هر استان پیوند سری آن است.",
                       "Map of the 31 provinces coloured by the status of {indicator}; each province links to its series."),
    "dash.map.none": ("شکل استان‌ها نصب نشده است (make)؛ نقشه نمایش داده نمی‌شود.",
                      "The province shapes are not installed (make): no map is shown."),
    "dash.map.credit": ("شکل استان‌ها: ", "Province shapes: "),
    "dash.map.licence": ("(مجوز linkware؛ نگاه کنید به docs/portal.md)", "(linkware licence; see docs/portal.md)"),
    "dash.no_norm": ("بدون وضعیت", "No status"),
    "dash.unknown_indicator": ("شاخص «{id}» در داشبورد نیست.", "The indicator “{id}” is not on the dashboard."),
    "dash.api": ("همین وضعیت‌ها از رابط برنامه‌نویسی: ", "The same statuses from the API: "),
})

_STATUS_MARK = {"WITHIN": "✓", "WARNING": "!", "OUTSIDE": "✕", None: "–"}


def _status_names(board: Dashboard, lang) -> dict:
    """CL_KPI_STATUS's names (DF_KPI_STATUS's labels), and the words for a figure without one."""
    names: dict = {s: board.name("KPI_STATUS", s, lang) for s in STATUSES}
    names[None] = i18n.translator(lang)("dash.no_norm")
    return names


def _context(request: Request) -> tuple[dict, int]:
    lang = lang_of(request)
    t = i18n.translator(lang)
    board = build(request.app.state.server, gate_of(request))
    if board is None:
        return {"board": None}, 200
    chosen = request.query_params.get("indicator") or board.indicators[0]
    if chosen not in board.indicators:
        return {"board": None, "error": t("dash.unknown_indicator").format(id=chosen)}, 404
    names = _status_names(board, lang)
    fig = board.figures

    def cell(unit: str, indicator: str) -> dict | None:
        f = fig.get((unit, indicator))
        if f is None:
            return None
        low, high, target = (f.fmt(x, lang) for x in (f.lower, f.upper, f.target))
        points = sparkline(f.trend)
        trend_text = t("dash.trend_of").format(n=localise_digits(len(f.trend), lang), first=f.fmt(f.trend[0], lang),
                                               last=f.fmt(f.trend[-1], lang)) if points else ""
        return {"figure": f, "value": f.fmt(f.value, lang), "flag": f.obs_status, "links": f.links(lang),
                "period": str(period_label(f.period, lang)), "status": f.status, "status_name": names[f.status],
                "mark": _STATUS_MARK[f.status], "norm": f"{low}–{high}" + (f"؛ {target}" if lang == "fa" else f"; {target}")
                if f.lower is not None else "", "spark": points, "trend_text": trend_text}

    matrix = {(u, i): cell(u, i) for u in board.units for i in board.indicators}
    shapes = load_shapes()
    by_key = {province_key(board.name("ORG_UNIT", u, "en")): u for u in board.provinces}
    regions = []
    for shape in shapes:
        unit = by_key.get(shape.key)
        c = matrix.get((unit, chosen)) if unit else None
        regions.append({"shape": shape, "unit": unit, "name": board.short_name(unit, lang) if unit else shape.name,
                        "cell": c, "status": c["status"] if c else None})
    context = {
        "board": board, "chosen": chosen, "matrix": matrix, "regions": regions, "status_names": names,
        "marks": _STATUS_MARK, "statuses": STATUSES, "attribution": ATTRIBUTION,
        "unit_name": lambda u: board.name("ORG_UNIT", u, lang),
        "short_name": lambda u: board.short_name(u, lang),
        "indicator_name": lambda i: board.name("INDICATOR", i, lang),
        "latest": str(period_label(board.latest_period, lang)),
        "ranking": [{"rank": localise_digits(r.rank, lang), "unit": r.unit,
                     "score": format_number(r.score, lang, 1),
                     "counts": {s: localise_digits(n, lang) for s, n in r.counts.items()},
                     "link": explorer_url(lang, KPI_STATUS, f"Q.{r.unit}.*")}
                    for r in board.ranking],
        "api_url": "/rest/v2/data/dataflow/SSO/DF_KPI_STATUS/1.0/*?format=csvfilewithlabels",
    }
    return context, 200


async def dashboard(request: Request):
    lang = lang_of(request)
    context, status = await run_in_threadpool(_context, request)
    t = i18n.translator(lang)
    return render(request, "dashboard.html", context, status_code=status, title=t("dash.title"), private=True)


PAGES = [("/dashboard", dashboard, "dashboard")]
