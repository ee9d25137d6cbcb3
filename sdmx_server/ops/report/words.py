"""The quarterly report's words, in Persian and English (key -> (fa, en))."""

from __future__ import annotations

from typing import Callable

from sdmx_server.persian.numbers import Lang

WORDS: dict[str, tuple[str, str]] = {
    "title": ("گزارش فصلی نظام آمار رسمی", "Quarterly report of the official statistics system"),
    "org": ("سازمان تأمین اجتماعی", "Social Security Organisation"),
    "generated": ("تهیه‌شده در", "Generated"),
    "summary": ("خلاصه", "Summary"),
    "usage": ("دریافت‌ها و پرسش‌ها", "Downloads and queries"),
    "usage.none": ("در این فصل درخواستی ثبت نشده است.", "No requests were recorded in this quarter."),
    "usage.by_flow": ("دریافت داده به تفکیک جریان داده و نوع مصرف‌کننده",
                      "Data downloads by dataflow and consumer type"),
    "consumer.anonymous": ("عمومی (بی‌نام)", "public (anonymous)"),
    "consumer.token": ("سامانه‌ها (توکن)", "systems (token)"),
    "consumer.user": ("کارکنان واردشده", "signed-in staff"),
    "consumer.portal": ("بازدیدکنندگان درگاه", "portal visitors"),
    "col.dataflow": ("جریان داده", "Dataflow"),
    "col.consumer": ("مصرف‌کننده", "Consumer"),
    "col.downloads": ("دریافت داده", "Downloads"),
    "col.queries": ("پرسش‌ها", "Queries"),
    "col.megabytes": ("مگابایت", "MB"),
    "loads": ("بارگذاری‌ها به تفکیک منبع", "Loads per source"),
    "loads.none": ("در این فصل داده‌ای بارگذاری نشده است.", "No data were loaded in this quarter."),
    "col.source": ("منبع", "Source"),
    "col.loads": ("بارگذاری", "Loads"),
    "col.applied": ("اعمال‌شده", "Applied"),
    "col.rejected": ("ردشده", "Rejected"),
    "col.failed": ("ناموفق", "Failed"),
    "col.observations": ("مشاهده نوشته‌شده", "Observations written"),
    "col.causes": ("علت‌های اصلی رد", "Main causes of rejection"),
    "releases": ("انتشارها در برابر تقویم انتشار", "Releases against the calendar"),
    "releases.none": ("در این فصل انتشاری برنامه‌ریزی نشده بود.", "No release was planned in this quarter."),
    "col.period": ("دوره", "Period"),
    "col.due": ("موعد", "Due"),
    "col.status": ("وضعیت", "Status"),
    "col.published": ("انتشار", "Published"),
    "release.on-time": ("به‌موقع", "on time"),
    "release.late": ("با تأخیر", "late"),
    "release.missing": ("منتشرنشده", "not published"),
    "release.upcoming": ("پیش رو", "upcoming"),
    "kpis": ("شاخص‌های داشبورد در برابر هنجارها", "Dashboard indicators against their norms"),
    "kpis.none": ("برای این فصل مقدار شاخصی در دست نیست.", "No indicator values for this quarter."),
    "col.unit": ("واحد", "Unit"),
    "col.indicator": ("شاخص", "Indicator"),
    "col.value": ("مقدار", "Value"),
    "kpi.within": ("در محدوده هنجار", "within norm"),
    "kpi.warning": ("هشدار", "warning"),
    "kpi.outside": ("خارج از هنجار", "outside norm"),
    "kpi.none": ("بی‌هنجار", "no norm"),
    "units": ("واحدهایی که دیر یا هیچ گزارش نکردند", "Units that reported late or not at all"),
    "units.none": ("همه واحدها به‌موقع گزارش کردند.", "Every unit reported on time."),
    "unit.late": ("با تأخیر", "late"),
    "unit.missing": ("گزارش نکرده", "not reported"),
    "col.missing_periods": ("دوره‌های بی‌گزارش", "Periods not reported"),
    "availability": ("دسترس‌پذیری", "Availability"),
    "availability.none": ("آماری از درخواست‌ها در دست نیست.", "No request statistics are available."),
    "col.requests": ("درخواست‌ها", "Requests"),
    "col.errors": ("خطای سرور", "Server errors"),
    "col.error_rate": ("نرخ خطا", "Error rate"),
    "col.p50": ("میانه زمان پاسخ", "Median latency"),
    "col.p95": ("صدک ۹۵ زمان پاسخ", "95th percentile latency"),
    "col.p99": ("صدک ۹۹ زمان پاسخ", "99th percentile latency"),
    "seconds": ("ثانیه", "s"),
    "fig.usage": ("شکل: دریافت داده به تفکیک جریان داده", "Figure: data downloads by dataflow"),
    "fig.loads": ("شکل: بارگذاری‌ها به تفکیک منبع", "Figure: loads per source"),
    "fig.releases": ("شکل: انتشارها به تفکیک وضعیت", "Figure: releases by status"),
    "fig.kpis": ("شکل: وضعیت شاخص‌ها در استان‌ها", "Figure: indicator status by province"),
    "fig.latency": ("شکل: زمان پاسخ", "Figure: response times"),
}


def words(lang: Lang) -> Callable[[str], str]:
    index = 0 if lang == "fa" else 1
    return lambda key: WORDS[key][index]
