"""The portal's error pages: a failure on a page's path answers an HTML page in the page's
language, with the site's header and navigation, never an SDMX error message.

The API's one dispatch point for errors (api/errors.py `error_response`) hands every failure
on a path that is not a machine interface to `error_page`: Starlette's 404 for an unknown
path, 405, a page's own NotFound or Forbidden, the rate limiter's 429, an expired session's
401 and the last-resort 500 all come here, so no page family has to format errors itself.

A page about something its visitor may not see raises the same NotFound as one about something
that does not exist; the page says only the status's own words and the error's message (which
names the address asked for, not what exists), so the two answers are the same page.

The 500 page is sent by Starlette's outermost middleware, outside api/http.py where the
security headers are added: the page sets them itself (api/security.py `secure_headers`).
"""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.responses import HTMLResponse, Response

from sdmx_server.api.security import secure_headers
from sdmx_server.errors import SdmxError
from sdmx_server.portal import i18n
from sdmx_server.portal.render import lang_of, render

#: First path segments of the machine interfaces: their errors stay SDMX (or SDMX-JSON)
#: messages. Every other path is the portal's, whose errors are pages.
MACHINE_SEGMENTS = frozenset({"rest", "admin", "auth", "api", "openapi.json", "health", "ready", "metrics",
                              "releases", "releases.ics"})

#: Statuses with words of their own; any other answers with its class's (4xx or 5xx).
KNOWN = (400, 401, 403, 404, 405, 406, 413, 414, 415, 422, 429, 431, 500, 501, 503)

i18n.words({
    "error.code": ("خطای {code}", "Error {code}"),
    "error.back_home": ("بازگشت به فهرست آمارها", "Back to the statistics"),
    "error.detail": ("جزئیات (به انگلیسی)", "Details"),
    "error.request_id": ("شناسه درخواست (برای گزارش به پشتیبانی)", "Request id (quote it to support)"),
    "error.retry": ("پس از {seconds} ثانیه دوباره تلاش کنید.", "Try again in {seconds} seconds."),
    "error.signin": ("ورود دوباره", "Sign in again"),
    "error.400.title": ("درخواست نادرست است", "The request is not valid"),
    "error.400.text": ("نشانی یا انتخاب‌های این صفحه درست نیستند.", "The address or the choices of this page are not valid."),
    "error.401.title": ("نیاز به ورود", "Please sign in"),
    "error.401.text": ("نشست شما به پایان رسیده یا اعتبارنامه شما پذیرفته نشد. دوباره وارد شوید.",
                       "Your session has ended or your credentials were not accepted. Please sign in again."),
    "error.403.title": ("اجازه ندارید", "Not allowed"),
    "error.403.text": ("شما اجازه این کار را ندارید.", "You are not allowed to do this."),
    "error.404.title": ("صفحه پیدا نشد", "Page not found"),
    "error.404.text": ("این صفحه پیدا نشد. شاید نشانی اشتباه است یا برای دیدن آن باید وارد شوید.",
                       "This page was not found. The address may be wrong, or you may need to sign in to see it."),
    "error.405.title": ("این روش درخواست پذیرفته نیست", "Method not allowed"),
    "error.405.text": ("این صفحه به این روش درخواست پاسخ نمی‌دهد.", "This page does not answer this kind of request."),
    "error.406.title": ("قالب درخواست‌شده در دسترس نیست", "Format not available"),
    "error.406.text": ("این صفحه در قالبی که خواسته شد در دسترس نیست.", "This page is not available in the format asked for."),
    "error.413.title": ("درخواست بیش از اندازه بزرگ است", "Request too large"),
    "error.413.text": ("آنچه فرستاده شد بزرگ‌تر از حد مجاز است.", "What was sent is larger than the server accepts."),
    "error.414.title": ("نشانی بیش از اندازه بلند است", "Address too long"),
    "error.414.text": ("انتخاب‌های کمتری کنید تا نشانی کوتاه‌تر شود.", "Choose fewer codes so that the address is shorter."),
    "error.415.title": ("نوع محتوا پذیرفته نیست", "Unsupported content"),
    "error.415.text": ("نوع محتوای فرستاده‌شده پذیرفته نیست.", "The kind of content sent is not accepted."),
    "error.422.title": ("درخواست قابل انجام نیست", "The request cannot be done"),
    "error.422.text": ("درخواست درست نوشته شده ولی قابل انجام نیست.", "The request is well formed but cannot be done."),
    "error.429.title": ("درخواست‌ها بیش از حد است", "Too many requests"),
    "error.429.text": ("در مدت کوتاهی درخواست‌های زیادی فرستاده شد.", "Too many requests were sent in a short time."),
    "error.431.title": ("سرآیندهای درخواست بیش از اندازه بزرگ است", "Request headers too large"),
    "error.431.text": ("سرآیندها یا کوکی‌های درخواست بیش از اندازه بزرگ‌اند.", "The request's headers or cookies are too large."),
    "error.500.title": ("خطای سرور", "Server error"),
    "error.500.text": ("سرور نتوانست به این درخواست پاسخ دهد. خطا ثبت شد؛ کمی بعد دوباره تلاش کنید.",
                       "The server failed to answer this request. The failure is logged; please try again later."),
    "error.501.title": ("هنوز پیاده‌سازی نشده", "Not implemented"),
    "error.501.text": ("این امکان هنوز در این سرور وجود ندارد.", "This server does not offer this yet."),
    "error.503.title": ("سرویس در دسترس نیست", "Service unavailable"),
    "error.503.text": ("سرور اکنون نمی‌تواند پاسخ دهد؛ کمی بعد دوباره تلاش کنید.",
                       "The server cannot answer now; please try again later."),
    "error.4xx.title": ("درخواست پذیرفته نشد", "The request was refused"),
    "error.4xx.text": ("این درخواست پذیرفته نشد.", "This request was refused."),
    "error.5xx.title": ("خطای سرور", "Server error"),
    "error.5xx.text": ("سرور نتوانست به این درخواست پاسخ دهد.", "The server failed to answer this request."),
})


def is_page(path: str) -> bool:
    """Whether `path` is the portal's (its errors are pages), not a machine interface's."""
    first = path.lstrip("/").split("/", 1)[0]
    return first not in MACHINE_SEGMENTS


def error_page(conn: HTTPConnection, error: SdmxError, headers: dict[str, str]) -> Response:
    """The page for `error` in the request's language, with `headers` (Retry-After,
    WWW-Authenticate, Vary...) that api/errors.py chose for it."""
    status = error.status
    key = str(status) if status in KNOWN else ("5xx" if status >= 500 else "4xx")
    t = i18n.translator(lang_of(conn))  # type: ignore[arg-type]
    retry = getattr(error, "retry_after", None)
    context = {
        "status": status,
        "heading": t(f"error.{key}.title"),
        "text": t(f"error.{key}.text"),
        # Server failures say nothing of their cause (it is in the log); a refusal's message
        # is the API's own (English), about the address asked for.
        "detail": error.message if status < 500 and error.message != _phrase(status) else "",
        "retry": t("error.retry").replace("{seconds}", str(retry)) if retry else "",
        "signin": status == 401,
        # the id the server's log lines carry (api/observe.py), so a visitor's report finds them
        "request_id": headers.get("X-Request-ID", ""),
    }
    response = render(conn, "error.html", context, status_code=status,  # type: ignore[arg-type]
                      title=context["heading"], private=True)
    response.headers.update(headers)
    response.headers["Cache-Control"] = "no-store"
    _secure(response, conn.url.scheme == "https")
    return response


def _phrase(status: int) -> str:
    """HTTP's own words for a status (Starlette's detail of its 404 and 405): no detail at all."""
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _secure(response: HTMLResponse, https: bool) -> None:
    """The security headers (CSP for HTML first of all), as api/http.py adds them to every
    other answer: the 500 page is sent from outside it."""
    present = [(k.lower().encode(), v.encode()) for k, v in response.headers.items()]
    for name, value in secure_headers(present, https)[len(present):]:
        response.headers[name.decode()] = value.decode()
