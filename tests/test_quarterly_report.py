"""The quarterly report (issue 10): quarters of both calendars, the same facts in HTML and PDF,
in Persian shaped right to left (checked on the PDF's rendered pages) and in English."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import deque
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from lxml import html as lxml_html
from PIL import Image
from sqlmodel import Session

from sdmx_server.boot import create_schema
from sdmx_server.ops.report.facts import (Availability, KpiRow, LoadRow, QuarterFacts, ReleaseRow, UnitReport,
                                          UsageRow, gather_loads)
from sdmx_server.ops.report.html import font_path, render_html
from sdmx_server.ops.report.pdf import render_pdf
from sdmx_server.ops.report.quarters import parse_quarter
from sdmx_server.ops.report.words import words
from sdmx_server.store.records import LoadRecord
from tests.cli_support import run_cli
from tests.conftest import require

UTC = timezone.utc
PERSIAN_DIGITS = set("۰۱۲۳۴۵۶۷۸۹")


# -- quarters --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "start", "end", "calendar"), [
    ("2026-Q3", date(2026, 7, 1), date(2026, 10, 1), "gregorian"),
    ("2026-Q4", date(2026, 10, 1), date(2027, 1, 1), "gregorian"),
    ("1405-Q1", date(2026, 3, 21), date(2026, 6, 22), "solar-hijri"),  # Farvardin to Khordad: 31 days each
    ("1405-Q2", date(2026, 6, 22), date(2026, 9, 23), "solar-hijri"),
    ("1405-Q4", date(2026, 12, 22), date(2027, 3, 21), "solar-hijri"),  # Dey to Esfand, to Nowruz 1406
    ("۱۴۰۵-Q3", date(2026, 9, 23), date(2026, 12, 22), "solar-hijri"),
])
def test_quarters_of_both_calendars(text, start, end, calendar):
    quarter = parse_quarter(text)
    assert (quarter.start, quarter.end, quarter.calendar) == (start, end, calendar)


@pytest.mark.parametrize("text", ["2026-Q5", "2026Q3", "Q3-2026", "1250-Q1", "", "2026-Q3x"])
def test_a_wrong_quarter_says_what_is_expected(text):
    with pytest.raises(ValueError, match="YYYY-Qn|not supported"):
        parse_quarter(text)


# -- facts as tests make them ------------------------------------------------------------------------


def generated_facts() -> QuarterFacts:
    """A quarter of generated usage, loads, releases and indicators."""
    rng = np.random.default_rng(7)
    flows = {"SSO:DF_INSURED(1.0)": {"fa": "بیمه‌شدگان", "en": "Insured persons"},
             "SSO:DF_KPI(1.0)": {"fa": "شاخص‌های داشبورد", "en": "Dashboard indicators"},
             "SSO:DF_CONTRIBUTIONS(1.0)": {"fa": "حق بیمه وصولی", "en": "Contributions collected"}}
    units = {f"PD_IR-{i:02d}": {"fa": f"اداره کل استان {i}", "en": f"Province directorate {i}"} for i in range(6)}
    indicators = {"SUPPORT_RATIO": {"fa": "ضریب پشتیبانی", "en": "Support ratio"},
                  "CLAIM_DAYS": {"fa": "روزهای رسیدگی", "en": "Days to process a claim"}}
    facts = QuarterFacts(parse_quarter("1405-Q2"), datetime(2026, 10, 2, 9, 30, tzinfo=UTC),
                         names={**flows, **units, **indicators})
    for flow in flows:
        for kind in ("anonymous", "portal", "token", "user"):
            downloads = int(rng.integers(0, 5000))
            facts.usage.append(UsageRow(flow, kind, downloads, downloads + int(rng.integers(0, 3000)),
                                        int(rng.integers(1, 10**9)), int(rng.integers(0, 5))))
    facts.loads = [
        LoadRow("sync", "isfahan_insured", "SSO:DF_INSURED(1.0)", 13, 12, 1, 0, 2_640,
                (("code: code not in codelist CL_PROVINCE", 3),)),
        LoadRow("sync", "fars_pensioners", "SSO:DF_INSURED(1.0)", 3, 1, 2, 0, 198,
                (("period: not a period", 40), ("mandatory: OBS_STATUS is missing", 2))),
        LoadRow("upload", "upload", "SSO:DF_KPI(1.0)", 2, 2, 0, 0, 420),
    ]
    facts.releases = [ReleaseRow("SSO:DF_INSURED(1.0)", "2026-06", date(2026, 7, 25), "on-time",
                                 datetime(2026, 7, 20, tzinfo=UTC)),
                      ReleaseRow("SSO:DF_INSURED(1.0)", "2026-07", date(2026, 8, 25), "late",
                                 datetime(2026, 8, 29, tzinfo=UTC)),
                      ReleaseRow("SSO:DF_KPI(1.0)", "2026-Q2", date(2026, 8, 14), "missing", None)]
    statuses = ("within", "warning", "outside", None)
    facts.kpis = [KpiRow(unit, indicator, "2026-Q2", float(rng.uniform(1, 100)), statuses[(i + j) % 4])
                  for i, unit in enumerate(units) for j, indicator in enumerate(indicators)]
    facts.units = [UnitReport("PD_IR-00", "on-time"), UnitReport("PD_IR-03", "late"),
                   UnitReport("PD_IR-05", "missing", ("2026-04", "2026-05"))]
    facts.availability = Availability(120_000, 84, 0.012, 0.180, 0.950)
    return facts


# -- HTML ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_the_html_report_holds_every_fact_and_needs_nothing_outside_it(lang):
    facts = generated_facts()
    page = lxml_html.fromstring(render_html(facts, lang))
    assert (page.get("lang"), page.get("dir")) == (lang, "rtl" if lang == "fa" else "ltr")
    t = words(lang)
    sections = {s.get("id"): s for s in page.iter("section")}
    assert list(sections) == ["usage", "loads", "releases", "kpis", "units", "availability"]

    def rows(section):
        return [[td.text_content() for td in tr.iter("td")] for tr in sections[section].iter("tr") if tr.find("td") is not None]

    assert len(rows("usage")) == len(facts.usage)
    assert len(rows("loads")) == len(facts.loads) and len(rows("releases")) == len(facts.releases)
    assert len(rows("kpis")) == len(facts.kpis)
    assert [r[0] for r in rows("units")] == [facts.name("PD_IR-03", lang), facts.name("PD_IR-05", lang)]
    top = max(facts.usage, key=lambda u: (u.downloads, u.queries))
    first = rows("usage")[0]
    assert first[0] == facts.name(top.dataflow, lang) and first[1] == t(f"consumer.{top.consumer_type}")
    expected = f"{top.downloads:,}"
    if lang == "fa":
        expected = expected.translate(str.maketrans("0123456789,", "۰۱۲۳۴۵۶۷۸۹٬"))
    assert first[2] == expected
    late = rows("releases")[1]
    assert late[3] == t("release.late")
    assert (set(late[2]) & PERSIAN_DIGITS) if lang == "fa" else ("Aug 2026" in late[2])
    # figures are PNG data, the font is embedded: no reference leaves the file
    images = [img.get("src") for img in page.iter("img")]
    assert len(images) == 5 and all(src.startswith("data:image/png;base64,") for src in images)
    for img in page.iter("img"):
        assert img.get("alt")
    assert not [e for e in page.iter() if any((e.get(a) or "").startswith(("http:", "https:", "//"))
                                               for a in ("src", "href"))]


# -- PDF -------------------------------------------------------------------------------------------


def _pdftotext(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def _pages(pdf: bytes, tmp_path: Path, last: int = 2) -> list[np.ndarray]:
    path = tmp_path / "pages.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", str(last), str(path), str(tmp_path / "page")],
                   check=True)
    return [np.asarray(Image.open(p).convert("L")) for p in sorted(tmp_path.glob("page-*.png"))]


def _ink_components(band: np.ndarray) -> int:
    """Connected groups of dark pixels (8-neighbours) in a strip of a page."""
    ink = band < 128
    seen = np.zeros_like(ink)
    count = 0
    for y, x in zip(*np.nonzero(ink)):
        if seen[y, x]:
            continue
        count += 1
        queue = deque([(y, x)])
        seen[y, x] = True
        while queue:
            cy, cx = queue.popleft()
            for ny in range(max(cy - 1, 0), min(cy + 2, ink.shape[0])):
                for nx in range(max(cx - 1, 0), min(cx + 2, ink.shape[1])):
                    if ink[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        queue.append((ny, nx))
    return count


def _first_line(page: np.ndarray) -> np.ndarray:
    rows = np.nonzero((page < 128).any(axis=1))[0]
    top = rows[0]
    gaps = np.nonzero(np.diff(rows) > 3)[0]
    bottom = rows[gaps[0]] if len(gaps) else rows[-1]
    return page[top:bottom + 1]


def _title_alone(shaping: bool) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("f", "", font_path())
    pdf.set_font("f", size=18)
    if shaping:
        pdf.set_text_shaping(use_shaping_engine=True, direction="rtl", script="arab", language="fas")
    pdf.add_page()
    pdf.multi_cell(pdf.epw, 10, words("fa")("title"), align="R")
    return bytes(pdf.output())


def test_the_persian_pdf_is_shaped_right_to_left_not_reversed_or_boxed(tmp_path):
    require(shutil.which("pdftoppm") is not None and shutil.which("pdftotext") is not None,
            "the PDF tests need poppler-utils (pdftoppm, pdftotext)")
    pdf = render_pdf(generated_facts(), "fa")
    assert pdf.startswith(b"%PDF-")
    text = _pdftotext(pdf, tmp_path)
    title = words("fa")("title")
    # in logical order: text laid out reversed (left to right, unshaped) extracts backwards
    assert title in text.replace("\u202b", "").replace("\u202c", ""), text[:300]
    assert title[::-1] not in text
    assert "اداره کل استان" in text and "۱۲۰٬۰۰۰" in text  # names and Persian digits
    # every letter of the report is in the font: nothing is drawn as a box
    from fontTools.ttLib import TTFont

    covered = TTFont(font_path()).getBestCmap()
    letters = {ch for ch in text if ch.isalpha() or ch in PERSIAN_DIGITS}
    assert not {ch for ch in letters if ord(ch) not in covered}
    # shaped: the title's letters join, so its first line has far fewer separate marks than the
    # same title drawn letter by letter (isolated forms), on rendered pages
    pages = _pages(pdf, tmp_path)
    assert len(pages) == 2
    shaped_title = _first_line(_pages(_title_alone(True), tmp_path / "a" if (tmp_path / "a").mkdir() is None else tmp_path)[0])
    (tmp_path / "b").mkdir()
    isolated_title = _first_line(_pages(_title_alone(False), tmp_path / "b")[0])
    joined, apart = _ink_components(shaped_title), _ink_components(isolated_title)
    assert joined < 0.75 * apart, (joined, apart)
    report_title = _first_line(pages[0])
    assert abs(_ink_components(report_title) - joined) <= 2  # the report's title is the shaped one
    # right to left: the title line ends at the right margin
    ink_columns = np.nonzero((report_title < 128).any(axis=0))[0]
    assert ink_columns[-1] > 0.85 * pages[0].shape[1] and ink_columns[0] > 0.2 * pages[0].shape[1]


def test_the_english_pdf(tmp_path):
    require(shutil.which("pdftotext") is not None, "the PDF tests need poppler-utils (pdftotext)")
    facts = generated_facts()
    text = _pdftotext(render_pdf(facts, "en"), tmp_path)
    assert "Quarterly report of the official statistics system" in text
    assert "Q2 1405" in text and "isfahan_insured" in text and "120,000" in text
    assert "period: not a period (40)" in " ".join(text.split())  # a cause and its count (cells wrap)


# -- from the store and the command line -----------------------------------------------------------


def test_loads_per_source_with_their_main_causes(db):
    create_schema(db)
    quarter = parse_quarter("2026-Q3")
    inside = datetime(2026, 8, 1, tzinfo=UTC)
    report = {"errors": [{"rule": "code", "message": "code not in CL_PROVINCE", "count": 12},
                         {"rule": "period", "message": "not a period", "count": 3}]}
    with Session(db.engine) as session:
        for status, origin, source, added in (("applied", "sync", "isfahan", 10), ("rejected", "sync", "isfahan", 0),
                                              ("rejected", "sync", "isfahan", 0), ("failed", "upload", "x.csv", 0),
                                              ("applied", "cli", "f.csv", 5)):
            session.add(LoadRecord(flow="SSO:DF_X(1.0)", action="merge", source=source, status=status, origin=origin,
                                   added=added, started_at=inside,
                                   report_json=json.dumps(report) if status == "rejected" else ""))
        session.add(LoadRecord(flow="SSO:DF_X(1.0)", action="merge", source="isfahan", status="applied",
                               origin="sync", added=99, started_at=datetime(2026, 10, 1, tzinfo=UTC)))  # next quarter
        session.commit()
    rows = {(r.origin, r.source): r for r in gather_loads(db, quarter)}
    assert set(rows) == {("sync", "isfahan"), ("upload", "upload"), ("cli", "command line")}
    isfahan = rows[("sync", "isfahan")]
    assert (isfahan.loads, isfahan.applied, isfahan.rejected, isfahan.observations) == (3, 1, 2, 10)
    assert isfahan.causes == (("code: code not in CL_PROVINCE", 24), ("period: not a period", 6))
    assert rows[("upload", "upload")].failed == 1


def test_the_command_writes_both_languages(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SDMX_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    code, out, _ = run_cli(capsys, "report", "quarterly", "--quarter", "1405-Q2", "--out", str(tmp_path / "out"))
    assert code == 0
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["quarterly-1405-Q2-en.html", "quarterly-1405-Q2-en.pdf",
                       "quarterly-1405-Q2-fa.html", "quarterly-1405-Q2-fa.pdf"]
    assert all(str(tmp_path / "out" / name) in out for name in written)
    page = lxml_html.fromstring((tmp_path / "out" / "quarterly-1405-Q2-fa.html").read_text(encoding="utf-8"))
    assert page.get("dir") == "rtl"
    code, _, err = run_cli(capsys, "report", "quarterly", "--quarter", "2026-Q9", "--out", str(tmp_path / "bad"))
    assert code == 2 and "YYYY-Qn" in err and not (tmp_path / "bad").exists()


def test_indicators_and_units_come_from_the_status_dataflow_and_the_values():
    import pyarrow as pa

    from sdmx_server.ops.report.facts import gather_kpis, gather_units

    quarter = parse_quarter("2026-Q3")
    statuses = pa.table({"ORG_UNIT": ["PD_IR-10", "PD_IR-10", "PD_IR-07", "PD_IR-07"],
                         "INDICATOR": ["SUPPORT_RATIO"] * 4,
                         "TIME_PERIOD": ["2026-Q2", "2026-Q3", "2026-Q3", "2026-Q4"],
                         "KPI_VALUE": ["5.5", "6.25", "", "1"], "KPI_STATUS": ["OUTSIDE", "WITHIN", "WARNING", "WITHIN"]})
    got = [(k.unit, k.period, k.value, k.status) for k in gather_kpis(statuses, quarter)]
    assert got == [("PD_IR-10", "2026-Q3", 6.25, "within"), ("PD_IR-07", "2026-Q3", None, "warning")]
    assert gather_kpis(statuses, parse_quarter("2025-Q1")) == []
    values = pa.table({"ORG_UNIT": ["PD_IR-10", "PD_IR-07", "PD_IR-00"], "TIME_PERIOD": ["2026-Q3", "2026-Q2", "2026-Q3"]})
    units = {u.unit: (u.reported, u.missing_periods) for u in gather_units(values, quarter)}
    assert units == {"PD_IR-10": ("on-time", ()), "PD_IR-00": ("on-time", ()), "PD_IR-07": ("missing", ("2026-Q3",))}
    # a Solar Hijri quarter owes the Gregorian quarters that start in it (1405-Q2 holds 2026-07-01)
    units = {u.unit: u.reported for u in gather_units(values, parse_quarter("1405-Q2"))}
    assert units["PD_IR-07"] == "missing" and units["PD_IR-10"] == "on-time"
