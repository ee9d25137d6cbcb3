"""Pages from templates: the language of a request, the words and number formats of that
language, and links that keep it.

A page's path is the same in both languages but for the prefix: `/dataflow/SSO/DF_X/1.0` in
Persian, `/en/dataflow/SSO/DF_X/1.0` in English. `link(request, path)` gives the path in the
request's language; `other_language(request)` the same page in the other one (query kept)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from sdmx_server.persian.numbers import LANGS, Lang, format_number, localise_digits
from sdmx_server.portal import i18n

EN_PREFIX = "/en"


def lang_of(request: Request) -> Lang:
    path = request.url.path
    return "en" if path == EN_PREFIX or path.startswith(EN_PREFIX + "/") else "fa"


def link(lang: Lang, path: str) -> str:
    """`path` (starting with /) in `lang`."""
    # one leading slash, always: "//host" would be a link to another site
    path = "/" + path.lstrip("/\\")
    return EN_PREFIX + path if lang == "en" else path


def page_path(request: Request) -> str:
    """The request's path without its language prefix."""
    path = request.url.path
    if lang_of(request) == "en":
        path = path[len(EN_PREFIX):] or "/"
    return "/" + path.lstrip("/\\")  # /en//evil.com is the page "/evil.com", never another site


def other_language(request: Request) -> str:
    lang: Lang = "fa" if lang_of(request) == "en" else "en"
    query = request.url.query
    return link(lang, page_path(request)) + (f"?{query}" if query else "")


def localised(text: Any, lang: Lang) -> str:
    """A name of the registry (sdmx1 InternationalString or a dict of locales) in `lang`,
    else in the other language, else its first locale."""
    if text is None:
        return ""
    values = getattr(text, "localizations", text)
    if isinstance(values, dict):
        for candidate in (lang, *[x for x in LANGS if x != lang]):
            if values.get(candidate):
                return str(values[candidate])
        return str(next(iter(values.values()), ""))
    return str(text)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("sdmx_server.portal", "templates"),
        autoescape=jinja2.select_autoescape(["html", "xml"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(link=link, localised=localised)
    env.filters["digits"] = localise_digits
    env.filters["number"] = format_number
    return env


def render(request: Request, template: str, context: dict[str, Any] | None = None, *,
           status_code: int = 200, title: str = "", private: bool | None = None) -> HTMLResponse:
    """`template` with the request's language, words and user. Pages that depend on who asks
    (anything a grant may change) are `Cache-Control: private, no-cache`; others may be kept
    by shared caches for a minute."""
    lang = lang_of(request)
    user = request.scope.get("user")
    signed_in = bool(getattr(user, "is_authenticated", False))
    values = {
        "request": request,
        "lang": lang,
        "dir": "rtl" if lang == "fa" else "ltr",
        "t": i18n.translator(lang),
        "title": title,
        "user": user if signed_in else None,
        "other_language": other_language(request),
        "page_path": page_path(request),
        # the session's CSRF token: the header's sign-out form posts it (portal/signin.py)
        "csrf_token": request.scope.get("state", {}).get("csrf_token") if signed_in else None,
        **(context or {}),
    }
    html = environment().get_template(template).render(values)
    private = signed_in if private is None else private
    cache = "private, no-cache" if private else "public, max-age=60"
    return HTMLResponse(html, status_code=status_code,
                        headers={"Cache-Control": cache, "Content-Language": lang, "Vary": "Cookie, Authorization"})
