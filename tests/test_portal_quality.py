"""The main page of every family, in both languages, as people with different means use it:

- on a phone (360 CSS pixels wide): no horizontal scrolling of the page (a wide table may
  scroll inside its own box);
- with the keyboard only: the skip link comes first and shows itself, Tab reaches every
  control of the page (one radio button per group, as browsers do), and each shows that it has
  the focus: its look (or its children's, for the map's shapes) differs from when it has not,
  and an outline used for that has 3:1 contrast against the page (WCAG 2.1 2.4.7, 1.4.11);
- axe-core's audit of WCAG 2.1 A and AA finds nothing serious.

Screenshots of every main page in both languages (desktop, full page) and of their first
screen on a phone go to docs/portal/ (docs/portal-proof.md shows them).

The pages are the families' of issue 9 (catalogue, explorer, structure pages, dashboard,
sign-in): each test needs its family's branch merged.
"""

from __future__ import annotations

import pytest

from tests.browser_support import SCREENSHOTS, axe_violations, screenshot
from tests.portal_proof import MAIN_PAGES, PREFIX

CELLS = [pytest.param(name, lang, id=f"{name}-{lang}") for name in MAIN_PAGES for lang in PREFIX]
PHONE = {"width": 360, "height": 740}

#: Every element the keyboard should reach (hidden ones are left out in the page).
FOCUSABLE = ("a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), "
             "textarea:not([disabled]), summary, [tabindex]:not([tabindex='-1'])")

MARK_CONTROLS = """(selector) => {
  const shown = e => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none' && !e.closest('[inert]'); };
  const found = [];
  document.querySelectorAll(selector).forEach((e, i) => {
    if (e.classList.contains('skip')) { e.dataset.proof = 'skip'; return; }
    if (!shown(e)) return;
    e.dataset.proof = 'c' + i;
    found.push({id: 'c' + i, group: e.type === 'radio' && e.name ? 'radio:' + e.form?.id + ':' + e.name : 'c' + i,
                what: e.outerHTML.slice(0, 120)});
  });
  return found;
}"""

#: What shows focus: the element's and its first descendants' looks.
LOOK = """(e) => {
  const props = ['outline-style', 'outline-width', 'outline-color', 'box-shadow', 'border-top-color',
                 'border-bottom-color', 'background-color', 'color', 'text-decoration-line', 'stroke', 'stroke-width', 'fill'];
  const parts = [e, ...Array.from(e.querySelectorAll('*')).slice(0, 8)];
  return parts.map(p => { const s = getComputedStyle(p); return props.map(n => s.getPropertyValue(n)).join('|'); }).join('\\n');
}"""

OUTLINE = """(e) => { const s = getComputedStyle(e);
  return {style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor,
          page: getComputedStyle(document.body).backgroundColor}; }"""


#: Elements that stick out of a phone's screen either side (in RTL an overflow to the right
#: cannot be scrolled to: it is lost, not scrolled). Left out: what scrolls inside its own box
#: (tables, the chart), and what is put off screen on purpose (the skip link until focused,
#: plotly's measuring box): positioned out of the screen whole, with all it holds.
OUTSIDE = """() => {
  const away = e => { for (let a = e; a && a !== document.body; a = a.parentElement) {
      const s = getComputedStyle(a); const r = a.getBoundingClientRect();
      if ((s.position === 'absolute' || s.position === 'fixed') && (r.right <= 0 || r.left >= window.innerWidth)) return true; }
    return false; };
  return Array.from(document.querySelectorAll('body *')).filter(e => {
    if (e.closest('.table-wrap, .scroll, [role=region], pre, .js-plotly-plot')) return false;
    const r = e.getBoundingClientRect(); const s = getComputedStyle(e);
    if (r.width === 0 || r.height === 0 || s.visibility === 'hidden' || away(e)) return false;
    return r.left < -1 || r.right > window.innerWidth + 1; }).map(e => e.outerHTML.slice(0, 100)).slice(0, 5);
}"""


def _rgb(css: str) -> tuple[float, float, float]:
    parts = css[css.index("(") + 1:css.index(")")].replace("/", " ").replace(",", " ").split()
    return tuple(float(p) for p in parts[:3])  # type: ignore[return-value]


def _luminance(rgb) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(_rgb(a)), _luminance(_rgb(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _open(page, name: str, lang: str):
    answer = page.goto(PREFIX[lang] + MAIN_PAGES[name])
    assert answer is not None and answer.status == 200, (name, lang, answer and answer.status)
    page.wait_for_load_state("networkidle")
    return answer


@pytest.mark.parametrize("name, lang", CELLS)
def test_axe_finds_nothing_and_screenshots(page, name, lang):
    _open(page, name, lang)
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "fa" else "ltr")
    assert axe_violations(page) == []
    screenshot(page, f"main-{name}-{lang}")


@pytest.mark.parametrize("name, lang", CELLS)
def test_a_phone_never_scrolls_sideways(chromium, demo_portal, name, lang):
    context = chromium.new_context(viewport=PHONE, base_url=demo_portal.url, is_mobile=True, has_touch=True,
                                   device_scale_factor=1)
    try:
        phone = context.new_page()
        _open(phone, name, lang)
        sizes = phone.evaluate("() => ({page: document.documentElement.scrollWidth, body: document.body.scrollWidth,"
                               " screen: window.innerWidth})")
        assert sizes["screen"] == PHONE["width"], sizes
        assert sizes["page"] <= sizes["screen"] and sizes["body"] <= sizes["screen"], (name, lang, sizes)
        # nothing sticks out of the screen either side (in RTL an overflow goes left, unscrollable)
        outside = phone.evaluate(OUTSIDE)
        assert not outside, (name, lang, outside)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        phone.screenshot(path=str(SCREENSHOTS / f"phone-{name}-{lang}.png"))
    finally:
        context.close()


@pytest.mark.parametrize("name, lang", CELLS)
def test_the_keyboard_reaches_every_control_and_shows_where_it_is(page, name, lang):
    _open(page, name, lang)
    controls = page.evaluate(MARK_CONTROLS, FOCUSABLE)
    assert controls or name == "signin", f"no control on {name}?"
    autofocus = page.evaluate("() => document.activeElement !== document.body && document.activeElement.dataset.proof")
    if not autofocus:  # from the page as loaded: the skip link first, shown when it has the focus
        page.keyboard.press("Tab")
        first = page.evaluate("() => document.activeElement.dataset.proof || document.activeElement.outerHTML.slice(0, 80)")
        assert first == "skip", f"the first Tab reaches {first}, not the skip link"
        box = page.locator(".skip").bounding_box()
        assert box and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"], box
    wanted = {c["group"] for c in controls}
    groups = {c["id"]: c["group"] for c in controls}
    reached: dict[str, str] = {}
    focused_look: dict[str, str] = {}
    # (a form that puts the focus in its first field: Tab goes on from there and comes round)
    for step in range(len(controls) + 25):
        if step or not autofocus:
            page.keyboard.press("Tab")
        handle = page.evaluate_handle("() => document.activeElement")
        mark = handle.evaluate("e => e.dataset.proof || ''")
        if mark in groups and mark not in reached:
            reached[mark] = groups[mark]
            focused_look[mark] = handle.evaluate(LOOK)
            outline = handle.evaluate(OUTLINE)
            if outline["style"] != "none" and outline["width"] >= 1 and "rgba(0, 0, 0, 0)" not in outline["color"]:
                assert contrast(outline["color"], outline["page"]) >= 3, (name, lang, mark, outline)
        if set(reached.values()) >= wanted:
            break
    missed = [c["what"] for c in controls if c["group"] not in set(reached.values())]
    assert not missed, f"Tab never reaches {len(missed)} control(s) of {name}: {missed[:5]}"
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    unseen = []
    for mark, look in focused_look.items():
        resting = page.locator(f"[data-proof='{mark}']").evaluate(LOOK)
        if resting == look:
            unseen.append(page.locator(f"[data-proof='{mark}']").evaluate("e => e.outerHTML.slice(0, 120)"))
    assert not unseen, f"focus does not show on {len(unseen)} control(s) of {name}: {unseen[:5]}"


@pytest.mark.parametrize("lang", PREFIX)
def test_the_error_page_passes_the_audit_too(page, lang):
    answer = page.goto(PREFIX[lang] + "/no/such/page")
    assert answer is not None and answer.status == 404
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("main h1").count() == 1
    assert axe_violations(page) == []
    screenshot(page, f"error-404-{lang}")
