"""The quarterly report as one self-contained HTML page: figures as PNG data URIs, the font
embedded, no link to anything outside it, so it can be mailed or archived as one file."""

from __future__ import annotations

import base64
from functools import lru_cache

import jinja2

from sdmx_server.ops.report.content import sections
from sdmx_server.ops.report.facts import QuarterFacts
from sdmx_server.ops.report.plots import figures
from sdmx_server.ops.report.quarters import day_text
from sdmx_server.ops.report.words import words
from sdmx_server.persian.numbers import Lang

#: Columns that hold numbers (aligned to the end), per section.
NUMERIC = {"usage": (False, False, True, True, True), "loads": (False, False, True, True, True, True, True, False),
           "releases": (False,) * 5, "kpis": (False, False, False, True, False), "units": (False,) * 3,
           "availability": (True,) * 6}


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    env = jinja2.Environment(loader=jinja2.PackageLoader("sdmx_server.ops.report", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    return env.get_template("quarterly.html")


def font_path(bold: bool = False) -> str:
    """DejaVu Sans, shipped with matplotlib: Persian and Latin in one face."""
    import os

    import matplotlib

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "fonts", "ttf", name)


def render_html(facts: QuarterFacts, lang: Lang, drawn: dict | None = None) -> str:
    drawn = figures(facts, lang) if drawn is None else drawn
    with open(font_path(), "rb") as handle:
        font = base64.b64encode(handle.read()).decode()
    return _template().render(
        lang=lang, t=words(lang), quarter=facts.quarter.title(lang), font=font,
        generated=day_text(facts.generated_at.date(), lang) + f" {facts.generated_at:%H:%M} UTC",
        sections=sections(facts, lang), numeric=NUMERIC,
        figures={k: (base64.b64encode(png).decode(), caption) for k, (png, caption) in drawn.items()})
