"""The quarterly report as a PDF made in pure Python (fpdf2; no system library): the same
sections, tables and figures as the HTML page.

Persian is shaped by HarfBuzz (uharfbuzz, through fpdf2's text shaping): letters take their
joined forms and runs are laid out right to left, with Persian digits. Tables are drawn right to
left in Persian (the first column at the right edge)."""

from __future__ import annotations

import io

from sdmx_server.ops.report.content import Section, sections
from sdmx_server.ops.report.facts import QuarterFacts
from sdmx_server.ops.report.html import NUMERIC, font_path
from sdmx_server.ops.report.plots import figures
from sdmx_server.ops.report.quarters import day_text
from sdmx_server.ops.report.words import words
from sdmx_server.persian.numbers import Lang

FONT = "report"


def render_pdf(facts: QuarterFacts, lang: Lang, drawn: dict | None = None) -> bytes:
    from fpdf import FPDF

    drawn = figures(facts, lang) if drawn is None else drawn
    t = words(lang)
    rtl = lang == "fa"
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font(FONT, "", font_path())
    pdf.add_font(FONT, "B", font_path(bold=True))  # table headings
    pdf.set_text_shaping(use_shaping_engine=True, direction="rtl" if rtl else "ltr",
                         script="arab" if rtl else "latn", language="fas" if rtl else "eng")
    pdf.set_title(f"{t('title')} · {facts.quarter.label}")
    pdf.set_lang(lang)
    pdf.add_page()
    align = "R" if rtl else "L"
    width = pdf.epw

    pdf.set_font(FONT, size=18)
    pdf.multi_cell(width, 10, t("title"), align=align, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=11)
    for line in (f"{t('org')} · {facts.quarter.title(lang)}",
                 f"{t('generated')}: {day_text(facts.generated_at.date(), lang)} {facts.generated_at:%H:%M} UTC"):
        pdf.multi_cell(width, 6, line, align=align, new_x="LMARGIN", new_y="NEXT")

    for section in sections(facts, lang):
        _section(pdf, section, drawn.get(section.key), align, rtl, width)
    return bytes(pdf.output())


def _section(pdf, section: Section, figure, align: str, rtl: bool, width: float) -> None:
    pdf.ln(4)
    pdf.set_font(FONT, size=14)
    pdf.multi_cell(width, 8, section.title, align=align, new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(11, 92, 173)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
    pdf.ln(2)
    pdf.set_font(FONT, size=10)
    if section.summary:
        pdf.multi_cell(width, 6, section.summary, align=align, new_x="LMARGIN", new_y="NEXT")
    if figure is not None:
        png, caption = figure
        pdf.image(io.BytesIO(png), w=width)
        pdf.set_font(FONT, size=8)
        pdf.multi_cell(width, 5, caption, align=align, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, size=10)
    if not section.rows:
        pdf.multi_cell(width, 6, section.empty, align=align, new_x="LMARGIN", new_y="NEXT")
        return
    numeric = NUMERIC.get(section.key, ())
    header, rows = section.header, section.rows
    if rtl:  # the first column at the right edge
        header, rows, numeric = header[::-1], [r[::-1] for r in rows], tuple(numeric)[::-1]
    pdf.set_font(FONT, size=7 if len(header) > 5 else 8)
    aligns = tuple(("R" if rtl else "L") if not (numeric[i] if i < len(numeric) else False) else ("L" if rtl else "R")
                   for i in range(len(header)))
    with pdf.table(text_align=aligns, line_height=4.5, first_row_as_headings=True) as table:
        for cells in [header, *rows]:
            line = table.row()
            for cell in cells:
                line.cell(cell)
    pdf.set_font(FONT, size=10)
