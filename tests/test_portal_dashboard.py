"""The dashboard (issue 9): the status a hand computation gives for three provinces, a norm
loaded during the test that changes it, DF_KPI_STATUS over the REST API equal to the rule, who
sees norms and statuses, drill-down links, accessibility audits and screenshots in both
languages. Statuses are computed here by hand from the published values and norms the API
serves (the rule as the page states it), independently of sdmx_server/processing."""

from __future__ import annotations

import io
import re
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
from lxml import html as lxml_html

from tests.browser_support import axe_violations, fresh_demo_portal, screenshot

CSV2 = "application/vnd.sdmx.data+csv;version=2.0.0"
PROVINCES = ("PD_IR-10", "PD_IR-23", "PD_IR-07")  # Isfahan, Tehran, Fars
INDICATOR = "COLLECTION_RATE"  # higher is better
LATIN = str.maketrans("۰۱۲۳۴۵۶۷۸۹٫٬", "0123456789.,")


def api_frame(portal, flow: str, who: str | None = "office") -> pd.DataFrame:
    """The API's SDMX-CSV of the flow for `who`. DF_KPI as the public reads it: office also
    reads the embargoed release, while the dashboard shows published figures only."""
    r = portal.get(f"/rest/v2/data/dataflow/SSO/{flow}/1.0/*", who, headers={"Accept": CSV2})
    assert r.status_code == 200, r.text[:300]
    return pd.read_csv(io.StringIO(r.text), dtype=str, keep_default_na=False)


def hand_status(value: float, lower: float, upper: float, target: float, good: str) -> str:
    """The rule as the page states it, worked out again here."""
    if good == "UP":
        return "OUTSIDE" if value < lower else "WARNING" if value < (lower + target) / 2 else "WITHIN"
    return "OUTSIDE" if value > upper else "WARNING" if value > (target + upper) / 2 else "WITHIN"


def expected(portal, unit: str, indicator: str) -> dict:
    """The latest published value of the unit's indicator and its status against the norm of its year."""
    kpi = api_frame(portal, "DF_KPI", None)
    kpi = kpi[(kpi.ORG_UNIT == unit) & (kpi.INDICATOR == indicator)].sort_values("TIME_PERIOD")
    last = kpi.iloc[-1]
    norms = api_frame(portal, "DF_KPI_NORMS")
    norms = norms[(norms.ORG_UNIT == unit) & (norms.INDICATOR == indicator) & (norms.TIME_PERIOD == last.TIME_PERIOD[:4])]
    bound = {b: float(v) for b, v in zip(norms.NORM_BOUND, norms.OBS_VALUE)}
    good = norms.GOOD_DIRECTION.iloc[0]
    value = float(last.OBS_VALUE)
    return {"period": last.TIME_PERIOD, "value": value, **bound, "good": good,
            "status": hand_status(value, bound["LOWER"], bound["UPPER"], bound["TARGET"], good)}


def number(text: str) -> float:
    return float(text.translate(LATIN).replace(",", "").strip())


def shown(page, unit: str) -> dict:
    """What the detail table and the map show for the unit."""
    row = page.locator(f"#detail tr[data-unit='{unit}']")
    value = number(row.locator("a.value").inner_text())
    status = row.get_attribute("data-status")
    region = page.locator(f"svg.map a[data-unit='{unit}']")
    return {"value": value, "status": status, "map": region.get_attribute("data-status"),
            "norm": row.locator("a.norm").inner_text().translate(LATIN)}


def context_as(chromium, portal, who: str | None):
    headers = {"Authorization": f"Bearer {portal.users[who]['token']}"} if who else {}
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, base_url=portal.url,
                                   extra_http_headers=headers)
    context.set_default_timeout(15_000)
    return context


def test_the_status_of_three_provinces_is_the_hand_computed_one(chromium, demo_portal):
    context = context_as(chromium, demo_portal, "office")
    page = context.new_page()
    page.goto(f"/en/dashboard?indicator={INDICATOR}")
    for unit in PROVINCES:
        want = expected(demo_portal, unit, INDICATOR)
        got = shown(page, unit)
        assert got["value"] == pytest.approx(want["value"]), unit
        assert got["status"] == got["map"] == want["status"], (unit, got, want)
        low, high, target = (float(x) for x in re.split(r"[–;]\s*", got["norm"]))
        assert (low, high, target) == pytest.approx((want["LOWER"], want["UPPER"], want["TARGET"]))
    context.close()


def test_a_norm_loaded_during_the_test_changes_the_dashboard(chromium, demo_template, tmp_path):
    with fresh_demo_portal(demo_template, tmp_path / "portal") as portal:
        unit = "PD_IR-10"
        before = expected(portal, unit, INDICATOR)
        value, year = before["value"], before["period"][:4]
        # A norm that turns the status around: above the value (outside), or around it (within).
        if before["status"] == "OUTSIDE":
            bounds, want = {"LOWER": value - 10, "UPPER": value + 10, "TARGET": value - 5}, "WITHIN"
        else:
            bounds, want = {"LOWER": value + 1, "UPPER": value + 9, "TARGET": value + 5}, "OUTSIDE"
        context = context_as(chromium, portal, "office")
        page = context.new_page()
        page.goto(f"/en/dashboard?indicator={INDICATOR}")
        assert shown(page, unit)["status"] == before["status"]
        lines = ["STRUCTURE,STRUCTURE_ID,ACTION,FREQ,ORG_UNIT,INDICATOR,NORM_BOUND,TIME_PERIOD,OBS_VALUE,OBS_STATUS"]
        lines += [f"dataflow,SSO:DF_KPI_NORMS(1.0),M,A,{unit},{INDICATOR},{b},{year},{v:.2f},A" for b, v in bounds.items()]
        r = page.request.post("/rest/v2/data/dataflow/SSO/DF_KPI_NORMS/1.0", data="\n".join(lines) + "\n",
                              headers={"Content-Type": "text/csv",
                                       "Authorization": f"Bearer {portal.users['admin']['token']}"})
        assert r.ok, r.text()
        page.goto(f"/en/dashboard?indicator={INDICATOR}")
        after = shown(page, unit)
        assert after["status"] == after["map"] == want == expected(portal, unit, INDICATOR)["status"]
        assert [float(x) for x in re.split(r"[–;]\s*", after["norm"])] == pytest.approx(
            [round(bounds[b], 2) for b in ("LOWER", "UPPER", "TARGET")])
        # ... and the API's DF_KPI_STATUS says the same at once
        status = api_frame(portal, "DF_KPI_STATUS")
        row = status[(status.ORG_UNIT == unit) & (status.INDICATOR == INDICATOR) & (status.TIME_PERIOD == before["period"])]
        assert row.KPI_STATUS.tolist() == [want]
        context.close()


def test_the_status_dataflow_over_the_api_equals_the_rule(demo_portal):
    kpi = api_frame(demo_portal, "DF_KPI", None)
    norms = api_frame(demo_portal, "DF_KPI_NORMS")
    wide = norms.pivot_table(index=["ORG_UNIT", "INDICATOR", "TIME_PERIOD"], columns="NORM_BOUND",
                             values="OBS_VALUE", aggfunc="first").reset_index()
    good = norms.groupby("INDICATOR").GOOD_DIRECTION.first()
    kpi["YEAR"] = kpi.TIME_PERIOD.str[:4]
    both = kpi.merge(wide.rename(columns={"TIME_PERIOD": "YEAR"}), on=["ORG_UNIT", "INDICATOR", "YEAR"])
    want = {(r.ORG_UNIT, r.INDICATOR, r.TIME_PERIOD): hand_status(float(r.OBS_VALUE), float(r.LOWER), float(r.UPPER),
                                                                  float(r.TARGET), good[r.INDICATOR])
            for r in both.itertuples()}
    status = api_frame(demo_portal, "DF_KPI_STATUS")
    got = {(r.ORG_UNIT, r.INDICATOR, r.TIME_PERIOD): r.KPI_STATUS for r in status.itertuples()}
    assert len(want) > 9000 and got == want
    points = {"WITHIN": 2.0, "WARNING": 1.0, "OUTSIDE": 0.0}
    assert all(float(v) == points[s] for v, s in zip(status.OBS_VALUE, status.KPI_STATUS))
    values = {(r.ORG_UNIT, r.INDICATOR, r.TIME_PERIOD): float(r.OBS_VALUE) for r in kpi.itertuples()}
    assert all(float(r.KPI_VALUE) == values[(r.ORG_UNIT, r.INDICATOR, r.TIME_PERIOD)] for r in status.itertuples())
    assert set(status.GOOD_DIRECTION) == {"UP", "DOWN"}


def test_the_status_dataflow_is_recomputed_by_the_system_and_audited(demo_portal):
    import sqlalchemy as sa

    from sdmx_server.store.database import Database

    db = Database(demo_portal.settings.database_url)
    try:
        with db.engine.connect() as conn:
            loads = conn.execute(sa.text("SELECT origin, action, status, submitted_by FROM sdmx_load "
                                         "WHERE flow = 'SSO:DF_KPI_STATUS(1.0)'")).all()
            audits = conn.execute(sa.text("SELECT actor, action, outcome FROM sdmx_audit "
                                          "WHERE target = 'SSO:DF_KPI_STATUS(1.0)'")).all()
    finally:
        db.dispose()
    assert loads and {tuple(r) for r in loads} == {("derived", "replace-all", "applied", "system")}
    assert audits and {tuple(r) for r in audits} == {("system", "data.derive", "applied")}


def _page(portal, path: str, who: str | None):
    r = portal.get(path, who)
    return r, lxml_html.fromstring(r.content)


def test_norms_and_statuses_only_for_those_who_read_them(demo_portal):
    # office reads DF_KPI_STATUS (a grant that names it); the public and Isfahan's users do not
    r, office = _page(demo_portal, "/en/dashboard", "office")
    assert r.status_code == 200 and r.headers["cache-control"].startswith("private")
    assert len(office.xpath("//table[@id='ranking']/tbody/tr")) == 31
    assert office.xpath("//table[@id='detail']//a[@class='norm']")
    for who in (None, "isfahan"):
        r, doc = _page(demo_portal, "/en/dashboard", who)
        assert r.status_code == 200
        assert not doc.xpath("//table[@id='ranking']") and not doc.xpath("//a[@class='norm']")
        assert {td.get("data-status") for td in doc.xpath("//table[@id='matrix']//td[@data-indicator]")} == {""}
        # values and trends from the public DF_KPI are there, for all 38 units with data
        assert len(doc.xpath("//table[@id='detail']/tbody/tr")) == len(office.xpath("//table[@id='detail']/tbody/tr"))
        assert "DF_KPI_STATUS" not in r.text


def test_every_figure_links_to_its_series(demo_portal):
    r, doc = _page(demo_portal, "/dashboard?indicator=DISPUTE_DAYS", "office")
    kpi = api_frame(demo_portal, "DF_KPI", None)
    series = set(zip(kpi.FREQ, kpi.ORG_UNIT, kpi.INDICATOR))
    rows = doc.xpath("//table[@id='detail']/tbody/tr")
    assert rows
    for row in rows:
        unit = row.get("data-unit")
        links = {a.get("class"): urlparse(a.get("href")) for a in row.iter("a")}
        for cls, flow in (("value", "DF_KPI"), ("norm", "DF_KPI_NORMS")):
            assert links[cls].path == f"/dataflow/SSO/{flow}/1.0"
        key = parse_qs(links["value"].query)["key"][0]
        assert tuple(key.split(".")) in series and key == f"Q.{unit}.DISPUTE_DAYS"
        status_link = [a for a in row.iter("a") if "st" in (a.get("class") or "").split()]
        assert urlparse(status_link[0].get("href")).path == "/dataflow/SSO/DF_KPI_STATUS/1.0"
    matrix_links = doc.xpath("//table[@id='matrix']//td[@data-indicator]/a")
    assert len(matrix_links) == len(series)


def test_an_unknown_indicator_is_a_404_page(demo_portal):
    r, doc = _page(demo_portal, "/en/dashboard?indicator=NOPE", "office")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "NOPE" in doc.xpath("string(//*[@role='alert'])") and not doc.xpath("//table")


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_accessible_with_screenshots(chromium, demo_portal, lang):
    context = context_as(chromium, demo_portal, "office")
    page = context.new_page()
    prefix = "/en" if lang == "en" else ""
    page.goto(f"{prefix}/dashboard?indicator=PENSION_CLAIM_DAYS")
    assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "fa" else "ltr")
    assert page.locator("svg.map a").count() == 31
    assert axe_violations(page) == []
    screenshot(page, f"dashboard-{lang}")
    # a phone: nothing wider than the screen but the tables' own scrolling regions
    phone = chromium.new_context(viewport={"width": 360, "height": 740}, base_url=demo_portal.url,
                                 extra_http_headers={"Authorization": f"Bearer {demo_portal.users['office']['token']}"})
    tab = phone.new_page()
    tab.goto(f"{prefix}/dashboard")
    assert tab.evaluate("document.documentElement.scrollWidth") <= 360
    phone.close()
    context.close()
