"""The report's sections as text tables in one language, so the HTML and the PDF say the same
thing: each section has a title, a summary sentence, a table (or the sentence saying there is
nothing) and the key of its figure."""

from __future__ import annotations

from dataclasses import dataclass, field

from sdmx_server.ops.report.facts import QuarterFacts
from sdmx_server.ops.report.quarters import day_text
from sdmx_server.ops.report.words import words
from sdmx_server.persian.numbers import Lang, format_number, localise_digits


@dataclass
class Section:
    key: str
    title: str
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    empty: str = ""
    summary: str = ""


def _n(value, lang: Lang, decimals: int | None = 0) -> str:
    return format_number(value, lang, decimals)


def _percent(share: float, lang: Lang) -> str:
    return localise_digits(f"{100 * share:.1f}%", lang) if lang == "en" else localise_digits(f"{100 * share:.1f}٪", lang)


def sections(facts: QuarterFacts, lang: Lang) -> list[Section]:
    t = words(lang)
    out = []

    usage = Section("usage", t("usage"), empty=t("usage.none"),
                    header=[t("col.dataflow"), t("col.consumer"), t("col.downloads"), t("col.queries"), t("col.megabytes")])
    for u in sorted(facts.usage, key=lambda u: (-u.downloads, -u.queries, u.dataflow, u.consumer_type)):
        usage.rows.append([facts.name(u.dataflow, lang) if u.dataflow else "—", t(f"consumer.{u.consumer_type}"),
                           _n(u.downloads, lang), _n(u.queries, lang), _n(u.bytes / 1e6, lang, 1)])
    if facts.usage:
        usage.summary = (f"{t('col.downloads')}: {_n(sum(u.downloads for u in facts.usage), lang)} · "
                         f"{t('col.queries')}: {_n(sum(u.queries for u in facts.usage), lang)}")
    out.append(usage)

    loads = Section("loads", t("loads"), empty=t("loads.none"),
                    header=[t("col.source"), t("col.dataflow"), t("col.loads"), t("col.applied"), t("col.rejected"),
                            t("col.failed"), t("col.observations"), t("col.causes")])
    for row in facts.loads:
        causes = "; ".join(f"{cause} ({_n(count, lang)})" for cause, count in row.causes)
        loads.rows.append([row.source, facts.name(row.dataflow, lang), _n(row.loads, lang), _n(row.applied, lang),
                           _n(row.rejected, lang), _n(row.failed, lang), _n(row.observations, lang), causes or "—"])
    out.append(loads)

    releases = Section("releases", t("releases"), empty=t("releases.none"),
                       header=[t("col.dataflow"), t("col.period"), t("col.due"), t("col.status"), t("col.published")])
    for r in facts.releases:
        releases.rows.append([facts.name(r.dataflow, lang), localise_digits(r.period or "—", lang),
                              day_text(r.due, lang), t(f"release.{r.status}"),
                              day_text(r.published_at.date(), lang) if r.published_at else "—"])
    if facts.releases:
        on_time = sum(r.status == "on-time" for r in facts.releases)
        judged = sum(r.status != "upcoming" for r in facts.releases)
        releases.summary = f"{t('release.on-time')}: {_n(on_time, lang)} / {_n(judged, lang)}"
    out.append(releases)

    kpis = Section("kpis", t("kpis"), empty=t("kpis.none"),
                   header=[t("col.unit"), t("col.indicator"), t("col.period"), t("col.value"), t("col.status")])
    for k in sorted(facts.kpis, key=lambda k: (k.unit, k.indicator)):
        kpis.rows.append([facts.name(k.unit, lang), facts.name(k.indicator, lang), localise_digits(k.period, lang),
                          format_number(k.value, lang, 2), t(f"kpi.{k.status}") if k.status else t("kpi.none")])
    if facts.kpis:
        counts = {s: sum(k.status == s for k in facts.kpis) for s in ("within", "warning", "outside")}
        kpis.summary = " · ".join(f"{t(f'kpi.{s}')}: {_n(c, lang)}" for s, c in counts.items())
    out.append(kpis)

    units = Section("units", t("units"), empty=t("units.none"),
                    header=[t("col.unit"), t("col.status"), t("col.missing_periods")])
    for u in facts.units:
        if u.reported != "on-time":
            units.rows.append([facts.name(u.unit, lang), t(f"unit.{u.reported}"),
                               localise_digits(", ".join(u.missing_periods) or "—", lang)])
    out.append(units)

    availability = Section("availability", t("availability"), empty=t("availability.none"))
    a = facts.availability
    if a is not None and a.requests:
        availability.header = [t("col.requests"), t("col.errors"), t("col.error_rate"), t("col.p50"), t("col.p95"),
                               t("col.p99")]
        seconds = (lambda v: "—" if v is None else f"{format_number(v, lang, 3)} {t('seconds')}")
        availability.rows.append([_n(a.requests, lang), _n(a.errors, lang), _percent(a.error_rate, lang),
                                  seconds(a.p50), seconds(a.p95), seconds(a.p99)])
    out.append(availability)
    return out
