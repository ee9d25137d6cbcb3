"""The first screen of a dataflow in under one second on the demo data (issue 9), measured by
the browser itself from the navigation's start (performance timing's origin):

- the load event (the page, its styles, fonts and scripts) and the largest contentful paint
  (what a visitor sees of the first screen) within the budget;
- what scripts draw (the chart) within the budget too when it is on the first screen (its top
  within the window's height); below it, a visitor scrolls before it matters.

As a visitor and as the provincial user (whose pages go through a region-limited gate). The
machine running the tests is shared: each view is timed three times with an empty cache (a new
browser context) and the fastest counts, so a busy neighbour does not fail the test while a
page that is slow every time does. The server has served one page before (a running server's
registry is warm).
"""

from __future__ import annotations

import pytest

from tests.portal_proof import session_sign_in

BUDGET_MS = 1000
VIEWS = [
    pytest.param(None, "/dataflow/SSO/DF_INSURED/1.0", id="visitor-insured-fa"),
    pytest.param(None, "/en/dataflow/SSO/DF_PENSIONERS/1.0", id="visitor-pensioners-en"),
    pytest.param("isfahan", "/dataflow/SSO/DF_CONTRIBUTIONS/1.0", id="isfahan-contributions-fa"),
]

#: Resolves once the table is laid out and the chart drawn (or 10 s): the times since the
#: navigation started (performance.now() counts from it), and where the chart is.
FIRST_SCREEN = """() => new Promise(done => {
  let lcp = 0;
  new PerformanceObserver(list => { for (const e of list.getEntries()) lcp = Math.max(lcp, e.startTime); })
    .observe({type: 'largest-contentful-paint', buffered: true});
  const drawn = () => document.querySelector('#chart .main-svg');
  const look = () => {
    const nav = performance.getEntriesByType('navigation')[0];
    if ((drawn() && nav.loadEventEnd > 0) || performance.now() > 10000) {
      const chart = document.querySelector('#chart');
      done({chart: drawn() ? performance.now() : null, load: nav.loadEventEnd, response: nav.responseEnd,
            lcp: lcp, chart_top: chart ? chart.getBoundingClientRect().top + window.scrollY : null,
            table: !!document.querySelector('table#pivot tbody tr'), window: window.innerHeight});
    } else requestAnimationFrame(look);
  };
  look();
})"""


def first_screen(chromium, portal, who, path) -> dict:
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, base_url=portal.url)
    try:
        tab = context.new_page()
        tab.portal = portal
        if who:
            session_sign_in(tab, who)
        answer = tab.goto(path, wait_until="commit")
        assert answer is not None and answer.status == 200, (path, answer and answer.status)
        return tab.evaluate(FIRST_SCREEN)
    finally:
        context.close()


@pytest.mark.parametrize("who, path", VIEWS)
def test_the_first_screen_of_a_dataflow_comes_within_a_second(chromium, demo_portal, who, path):
    demo_portal.get("/", who=who)
    times = [first_screen(chromium, demo_portal, who, path) for _ in range(3)]
    for t in times:
        assert t["table"] and t["chart"] is not None and t["lcp"] > 0, t  # the page has both, drawn
    fastest = min(times, key=lambda t: max(t["load"], t["lcp"]))
    assert 0 < fastest["response"] <= fastest["load"], fastest
    assert max(fastest["load"], fastest["lcp"]) < BUDGET_MS, (path, times)
    if min(t["chart_top"] for t in times) < fastest["window"]:  # the chart is on the first screen
        assert min(t["chart"] for t in times) < BUDGET_MS, (path, times)
