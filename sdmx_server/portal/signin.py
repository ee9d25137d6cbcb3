"""Signing in and out of the portal with a form: /signin and /signout (and /en/...).

The form posts name and password to /signin, which takes the one path of POST /auth/login
(api/auth.py `sign_in`: the same password check, throttle, audit and session cookie), then
sends the browser on (303) to the page it came from. What goes wrong is said on the page, in
the visitor's language: a wrong name or password (401), too many failed attempts (429 with
Retry-After), an expired form.

CSRF: before signing in there is no session, so the form carries a token that is also in a
short-lived cookie of its own (double submit; SameSite=Strict besides): a page of another site
cannot sign a visitor in under its own account. Signing out is a POST carrying the session's
CSRF token (the header bar's button, or the form at /signout); a GET only shows that form.
The access middleware lets these two paths check their tokens themselves and ignores a stale
session cookie on them, so a visitor whose session expired can always sign in again.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sdmx_server.api.auth import csrf_of, read_fields, sign_in, sign_out
from sdmx_server.access.middleware import clear_session_cookie, set_session_cookie
from sdmx_server.errors import Forbidden, PayloadTooLarge, SdmxError, SyntaxError_, TooManyRequests, Unauthorized
from sdmx_server.portal import i18n
from sdmx_server.portal.render import lang_of, link, render

#: The form's own CSRF cookie (double submit), for the time a visitor may take to type.
FORM_COOKIE = "sdmx_signin"
FORM_SECONDS = 3600

i18n.words({
    "signin.title": ("ورود به درگاه", "Sign in"),
    "signin.intro": ("کارکنان سازمان پس از ورود، آمارهای داخلی را که مجاز به دیدنشان هستند می‌بینند. "
                     "آمارهای عمومی بدون ورود در دسترس همه است.",
                     "Staff who sign in see the internal statistics they are allowed to read. "
                     "Public statistics are open to everyone without signing in."),
    "signin.name": ("نام کاربری", "User name"),
    "signin.password": ("گذرواژه", "Password"),
    "signin.submit": ("ورود", "Sign in"),
    "signin.wrong": ("نام کاربری یا گذرواژه درست نیست.", "The user name or password is not correct."),
    "signin.missing": ("نام کاربری و گذرواژه را بنویسید.", "Enter your user name and password."),
    "signin.throttled": ("تلاش‌های ناموفق زیاد بود. پس از {seconds} ثانیه دوباره امتحان کنید.",
                         "Too many failed attempts. Try again in {seconds} seconds."),
    "signin.expired": ("این فرم منقضی شده است؛ دوباره امتحان کنید.", "This form has expired; please try again."),
    "signin.session_expired": ("نشست شما به پایان رسیده است؛ دوباره وارد شوید.", "Your session has ended; please sign in again."),
    "signin.already": ("شما با این نام وارد شده‌اید:", "You are signed in as"),
    "signin.error_heading": ("ورود انجام نشد", "Could not sign in"),
    "signout.title": ("خروج از درگاه", "Sign out"),
    "signout.question": ("می‌خواهید از درگاه خارج شوید؟", "Do you want to sign out?"),
    "signout.done": ("از درگاه خارج شدید.", "You have signed out."),
    "signout.not_signed_in": ("شما وارد نشده‌اید.", "You are not signed in."),
    "signout.expired": ("نشست شما تأیید نشد؛ دوباره امتحان کنید.", "Your session could not be confirmed; please try again."),
})


def safe_next(value: str | None, lang) -> str:
    """Where to go after signing in: a path of this site only (never another host, never the
    sign-in pages themselves), else the home page of the language."""
    if value and value.startswith("/") and "//" not in value and "\\" not in value:
        parts = urlsplit(value)
        if not parts.scheme and not parts.netloc and parts.path not in ("/signin", "/en/signin", "/signout", "/en/signout"):
            return value
    return link(lang, "/")


def _form(request: Request, *, status: int = 200, error: str | None = None, name: str = "",
          next_path: str | None = None, notice: str | None = None, headers: dict | None = None) -> Response:
    token = secrets.token_urlsafe(24)
    lang = lang_of(request)
    t = i18n.translator(lang)
    response = render(request, "signin.html", {
        "form_token": token, "error": error, "name": name, "notice": notice,
        "next": safe_next(next_path if next_path is not None else request.query_params.get("next"), lang),
    }, status_code=status, title=t("signin.title"), private=True)
    response.headers["Cache-Control"] = "no-store"
    response.set_cookie(FORM_COOKIE, token, max_age=FORM_SECONDS, path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


async def signin(request: Request) -> Response:
    """The portal's sign-in form (GET) and its submission (POST, a form: name, password,
    form_token, next): a session cookie and a 303 to `next`, or the form again with the error."""
    t = i18n.translator(lang_of(request))
    if request.method != "POST":
        notice = (t("signout.done") if request.query_params.get("signed_out")
                  else t("signin.session_expired") if request.query_params.get("expired") else None)
        return _form(request, notice=notice)
    try:
        fields = await read_fields(request)
    except (SyntaxError_, PayloadTooLarge) as exc:
        return _form(request, status=exc.status, error=t("signin.missing"))
    name, password = fields.get("name", "").strip(), fields.get("password", "")
    next_path = fields.get("next")
    sent, kept = fields.get("form_token", ""), request.cookies.get(FORM_COOKIE, "")
    if not sent or not kept or not hmac.compare_digest(sent.encode(), kept.encode()):
        return _form(request, status=403, error=t("signin.expired"), name=name, next_path=next_path)
    if not name or not password:
        return _form(request, status=400, error=t("signin.missing"), name=name, next_path=next_path)
    try:
        signed = await sign_in(request, name, password)
    except TooManyRequests as exc:
        seconds = getattr(exc, "retry_after", None) or 1
        return _form(request, status=429, error=t("signin.throttled").format(seconds=seconds), name=name,
                     next_path=next_path, headers={"Retry-After": str(seconds)})
    except Unauthorized:
        return _form(request, status=401, error=t("signin.wrong"), name=name, next_path=next_path)
    response = RedirectResponse(safe_next(next_path, lang_of(request)), status_code=303,
                                headers={"Cache-Control": "no-store"})
    set_session_cookie(response, signed.cookie, signed.lifetime, request.url.scheme == "https")
    response.delete_cookie(FORM_COOKIE, path="/", httponly=True, samesite="strict")
    return response


signin.methods = ["GET", "HEAD", "POST"]  # type: ignore[attr-defined]


async def signout(request: Request) -> Response:
    """The sign-out form (GET) and its submission (POST, a form with the session's csrf_token):
    the session ended, the cookie cleared, a 303 to the sign-in page."""
    lang = lang_of(request)
    t = i18n.translator(lang)
    signed_in = request.user.is_authenticated and request.user.method == "session" and csrf_of(request)
    if request.method != "POST":
        message = None if signed_in else t("signout.not_signed_in")
        response = render(request, "signout.html", {"message": message}, title=t("signout.title"), private=True)
        response.headers["Cache-Control"] = "no-store"
        return response
    try:
        fields = await read_fields(request)
        await sign_out(request, fields.get("csrf_token", ""))
    except (Forbidden, SyntaxError_, PayloadTooLarge) as exc:
        status = exc.status if isinstance(exc, SdmxError) else 400
        response = render(request, "signout.html", {"message": t("signout.expired")}, status_code=status,
                          title=t("signout.title"), private=True)
        response.headers["Cache-Control"] = "no-store"
        return response
    response = RedirectResponse(link(lang, "/signin") + "?signed_out=1", status_code=303,
                                headers={"Cache-Control": "no-store"})
    clear_session_cookie(response, request.url.scheme == "https")
    return response


signout.methods = ["GET", "HEAD", "POST"]  # type: ignore[attr-defined]

PAGES = [("/signin", signin, "signin"), ("/signout", signout, "signout")]
