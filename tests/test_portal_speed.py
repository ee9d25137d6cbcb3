"""The first screen of a dataflow in under one second on the demo data (issue 9), measured by
the browser itself: from the navigation's start (performance timing's origin) to the moment
the table and the chart are both drawn, as a visitor and as the provincial user (whose pages
go through a region-limited gate).

The machine running the tests is shared: each view is timed three times with an empty cache
(a new browser context) and the fastest counts, so a busy neighbour does not fail the test
while a page that is slow every time does. The server has served one page before (the
first request of a process warms the registry, which a running server has done long before).
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

#: Resolves once the table is laid out and plotly has drawn the chart: the time since the
#: navigation started (performance.now() counts from it).
FIRST_SCREEN = """() => new Promise(done => {
  const ready = () => document.querySelector('table#pivot tbody tr') && document.querySelector('#chart .main-svg');
  const look = () => ready() ? done({screen: performance.now(),
      load: performance.getEntriesByType('navigation')[0].loadEventEnd,
      response: performance.getEntriesByType('navigation')[0].responseEnd}) : requestAnimationFrame(look);
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
    fastest = min(times, key=lambda t: t["screen"])
    assert fastest["response"] > 0 and fastest["screen"] >= fastest["response"], fastest
    assert fastest["screen"] < BUDGET_MS, (path, times)
