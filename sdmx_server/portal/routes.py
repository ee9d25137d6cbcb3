"""Every page under both language prefixes, and the static files the pages load.

Each page module lists its pages as `PAGES`: (path, endpoint, name). The same endpoint answers
`/path` (Persian) and `/en/path` (English); it reads the language from the request
(render.lang_of). Static files come from this package (`static/`: our CSS, scripts and
icons), from the plotly package (plotly.js, never a CDN), and the fonts (`fonts.py`)."""

from __future__ import annotations

from pathlib import Path

import plotly
from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.staticfiles import StaticFiles

from sdmx_server.portal import catalogue, dashboard, explorer, fonts, signin, structure_pages

PAGE_MODULES = (catalogue, signin, structure_pages, explorer, dashboard)

STATIC = Path(__file__).parent / "static"
PLOTLY = Path(plotly.__file__).parent / "package_data"


def _pages() -> list[BaseRoute]:
    found: list[BaseRoute] = []
    for module in PAGE_MODULES:
        for path, endpoint, name in module.PAGES:
            methods = getattr(endpoint, "methods", ["GET", "HEAD"])
            found.append(Route(path, endpoint, name=f"fa:{name}", methods=methods))
            found.append(Route("/en" + path, endpoint, name=f"en:{name}", methods=methods))
    return found


PAGE_ROUTES = _pages()


def is_page(scope) -> bool:
    """Whether a request is for one of the portal's pages (not the API, not a static file)."""
    return any(route.matches(scope)[0] == Match.FULL for route in PAGE_ROUTES)


def signin_after_expiry(request) -> str:
    """The sign-in form, in the request's language, saying the session ended and coming back
    to the page asked for."""
    from urllib.parse import quote

    from sdmx_server.portal.render import lang_of, link

    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return link(lang_of(request), "/signin") + "?expired=1&next=" + quote(wanted, safe="/")


routes: list[BaseRoute] = [
    *PAGE_ROUTES,
    Route("/en", lambda request: RedirectResponse("/en/", 308)),
    *fonts.routes,
    Mount("/static/portal", StaticFiles(directory=STATIC), name="portal-static"),
    Mount("/static/vendor/plotly", StaticFiles(directory=PLOTLY), name="plotly"),
]
