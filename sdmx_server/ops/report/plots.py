"""The quarterly report's figures, drawn by matplotlib (Agg, no display) into PNG bytes that both
renderings embed.

matplotlib draws text as given, letter by letter, left to right: Persian would come out as
isolated letters in reverse order. `shaped` gives it the joined forms (arabic-reshaper) in
visual order (python-bidi) first. The font is DejaVu Sans, shipped with matplotlib, which
covers Persian and Latin alike.
"""

from __future__ import annotations

import io
from collections import defaultdict

from sdmx_server.ops.report.facts import QuarterFacts
from sdmx_server.ops.report.words import words
from sdmx_server.persian.numbers import Lang, localise_digits

STATUS_COLOURS = {"within": "#1a7f37", "warning": "#bf8700", "outside": "#cf222e", None: "#8c959f",
                  "on-time": "#1a7f37", "late": "#bf8700", "missing": "#cf222e", "upcoming": "#8c959f"}
CONSUMER_COLOURS = {"anonymous": "#0969da", "portal": "#54aeff", "token": "#8250df", "user": "#bf3989"}


def shaped(text: str, lang: Lang) -> str:
    if lang != "fa":
        return text
    import arabic_reshaper
    from bidi.algorithm import get_display

    return get_display(arabic_reshaper.reshape(localise_digits(text, "fa")))


def _figure(width: float = 7.5, height: float = 3.6):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.family"] = "DejaVu Sans"
    return plt, plt.subplots(figsize=(width, height), dpi=110)


def _png(plt, fig) -> bytes:
    out = io.BytesIO()
    fig.tight_layout()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()


def _ticks(ax, labels: list[str], lang: Lang, axis: str = "x") -> None:
    texts = [shaped(label, lang) for label in labels]
    if axis == "x":
        ax.set_xticks(range(len(texts)), texts, rotation=30, ha="right", fontsize=8)
    else:
        ax.set_yticks(range(len(texts)), texts, fontsize=8)


def _numbers(ax, lang: Lang, axis: str = "y") -> None:
    """Persian digits on the value axis in Persian."""
    if lang != "fa":
        return
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _: localise_digits(f"{v:,.0f}" if abs(v) >= 1 else f"{v:g}", "fa"))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def usage_plot(facts: QuarterFacts, lang: Lang) -> bytes | None:
    t = words(lang)
    flows = sorted({u.dataflow for u in facts.usage if u.dataflow and u.downloads})
    if not flows:
        return None
    plt, (fig, ax) = _figure()
    bottom = [0] * len(flows)
    for kind in ("anonymous", "portal", "token", "user"):
        counts = [sum(u.downloads for u in facts.usage if u.dataflow == f and u.consumer_type == kind) for f in flows]
        if any(counts):
            ax.bar(range(len(flows)), counts, bottom=bottom, color=CONSUMER_COLOURS[kind],
                   label=shaped(t(f"consumer.{kind}"), lang))
            bottom = [b + c for b, c in zip(bottom, counts)]
    _ticks(ax, [facts.name(f, lang) for f in flows], lang)
    _numbers(ax, lang)
    ax.set_ylabel(shaped(t("col.downloads"), lang))
    ax.legend(fontsize=8)
    return _png(plt, fig)


def loads_plot(facts: QuarterFacts, lang: Lang) -> bytes | None:
    t = words(lang)
    by_source: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in facts.loads:
        counts = by_source[row.source]
        counts[0] += row.applied
        counts[1] += row.rejected
        counts[2] += row.failed
    if not by_source:
        return None
    sources = sorted(by_source)
    plt, (fig, ax) = _figure()
    bottom = [0] * len(sources)
    for i, (key, colour) in enumerate((("col.applied", "#1a7f37"), ("col.rejected", "#cf222e"), ("col.failed", "#8c959f"))):
        counts = [by_source[s][i] for s in sources]
        ax.bar(range(len(sources)), counts, bottom=bottom, color=colour, label=shaped(t(key), lang))
        bottom = [b + c for b, c in zip(bottom, counts)]
    _ticks(ax, sources, lang)
    _numbers(ax, lang)
    ax.set_ylabel(shaped(t("col.loads"), lang))
    ax.legend(fontsize=8)
    return _png(plt, fig)


def releases_plot(facts: QuarterFacts, lang: Lang) -> bytes | None:
    t = words(lang)
    flows = sorted({r.dataflow for r in facts.releases})
    if not flows:
        return None
    plt, (fig, ax) = _figure()
    left = [0] * len(flows)
    for status in ("on-time", "late", "missing", "upcoming"):
        counts = [sum(r.dataflow == f and r.status == status for r in facts.releases) for f in flows]
        if any(counts):
            ax.barh(range(len(flows)), counts, left=left, color=STATUS_COLOURS[status],
                    label=shaped(t(f"release.{status}"), lang))
            left = [a + c for a, c in zip(left, counts)]
    _ticks(ax, [facts.name(f, lang) for f in flows], lang, axis="y")
    _numbers(ax, lang, axis="x")
    ax.legend(fontsize=8)
    return _png(plt, fig)


def kpi_plot(facts: QuarterFacts, lang: Lang) -> bytes | None:
    """A grid: units down, indicators across, each cell coloured by its status."""
    if not facts.kpis:
        return None
    from matplotlib.colors import ListedColormap

    units = sorted({k.unit for k in facts.kpis})
    indicators = sorted({k.indicator for k in facts.kpis})
    code = {None: 0, "within": 1, "warning": 2, "outside": 3}
    grid = [[0] * len(indicators) for _ in units]
    for k in facts.kpis:
        grid[units.index(k.unit)][indicators.index(k.indicator)] = code[k.status]
    plt, (fig, ax) = _figure(7.5, max(3.0, 0.22 * len(units) + 1.5))
    colours = ListedColormap([STATUS_COLOURS[None], STATUS_COLOURS["within"], STATUS_COLOURS["warning"],
                              STATUS_COLOURS["outside"]])
    ax.imshow(grid, cmap=colours, vmin=0, vmax=3, aspect="auto")
    _ticks(ax, [facts.name(i, lang) for i in indicators], lang)
    _ticks(ax, [facts.name(u, lang) for u in units], lang, axis="y")
    return _png(plt, fig)


def latency_plot(facts: QuarterFacts, lang: Lang) -> bytes | None:
    a = facts.availability
    if a is None or a.p50 is None:
        return None
    t = words(lang)
    plt, (fig, ax) = _figure(6, 2.6)
    values = [a.p50 or 0, a.p95 or 0, a.p99 or 0]
    ax.bar(range(3), values, color=["#1a7f37", "#bf8700", "#cf222e"])
    _ticks(ax, [t("col.p50"), t("col.p95"), t("col.p99")], lang)
    ax.set_ylabel(shaped(t("seconds"), lang))
    return _png(plt, fig)


FIGURES = (("usage", usage_plot, "fig.usage"), ("loads", loads_plot, "fig.loads"),
           ("releases", releases_plot, "fig.releases"), ("kpis", kpi_plot, "fig.kpis"),
           ("availability", latency_plot, "fig.latency"))


def figures(facts: QuarterFacts, lang: Lang) -> dict[str, tuple[bytes, str]]:
    """Section -> (PNG, caption) for every figure the facts allow."""
    t = words(lang)
    drawn = {}
    for section, draw, caption in FIGURES:
        png = draw(facts, lang)
        if png is not None:
            drawn[section] = (png, t(caption))
    return drawn
