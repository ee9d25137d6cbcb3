"""Signing in and out of the portal (/signin, /signout): the form's path is POST /auth/login's
(same session cookie, throttle, audit), its errors are said on the page in the visitor's
language, both forms are protected against cross-site requests, and an expired session sends a
browser back to the form. Over HTTP (parsed HTML) and in a real Chromium (axe in both
languages, screenshots)."""

from __future__ import annotations

import re

import httpx
import pytest
from lxml import html as lxml_html

from tests.browser_support import axe_violations, fresh_demo_portal, screenshot, sign_in


def form_of(client: httpx.Client, path: str) -> dict[str, str]:
    """GET the sign-in form; its hidden fields (the form token, next)."""
    r = client.get(path)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store", r.text[:300]
    root = lxml_html.fromstring(r.content)
    forms = root.xpath("//main//form[@method='post']")
    assert len(forms) == 1
    form = forms[0]
    # every visible control has a label that names it
    for control in form.xpath(".//input[not(@type='hidden')]"):
        assert root.xpath(f"//label[@for='{control.get('id')}']"), control.get("name")
    return {i.get("name"): i.get("value") or "" for i in form.xpath(".//input[@type='hidden']")}


def problem(r: httpx.Response) -> str:
    root = lxml_html.fromstring(r.content)
    alerts = root.xpath("//*[@role='alert']")
    assert len(alerts) == 1, r.text[:500]
    return " ".join(alerts[0].text_content().split())


def client_of(portal) -> httpx.Client:
    return httpx.Client(base_url=portal.url, timeout=60, follow_redirects=False)


def test_signing_in_opens_the_same_session_as_the_api(demo_portal):
    with client_of(demo_portal) as client:
        hidden = form_of(client, "/en/signin?next=/en/%3Fq%3Dcontributions")
        assert hidden["next"] == "/en/?q=contributions"
        r = client.post("/en/signin", data={**hidden, "name": "isfahan",
                                             "password": demo_portal.users["isfahan"]["password"]})
        assert r.status_code == 303 and r.headers["location"] == "/en/?q=contributions"
        cookie = r.headers.get_list("set-cookie")
        assert any(c.startswith("sdmx_session=") and "HttpOnly" in c and re.search("SameSite=strict", c, re.I)
                   for c in cookie)
        me = client.get("/auth/me").json()
        assert (me["authenticated"], me["name"], me["method"]) == (True, "isfahan", "session")
        page = lxml_html.fromstring(client.get("/en/?q=contributions").content)
        assert page.xpath("//li[@data-flow='SSO:DF_CONTRIBUTIONS(1.0)']")
        header = " ".join(page.xpath("//header")[0].text_content().split())
        assert "Signed in as isfahan" in header
        # the header's sign-out button posts the session's CSRF token
        token = page.xpath("//header//form[@method='post']//input[@name='csrf_token']/@value")
        assert token == [me["csrf_token"]]
        r = client.post("/en/signout", data={"csrf_token": token[0]})
        assert r.status_code == 303 and r.headers["location"] == "/en/signin?signed_out=1"
        assert client.get("/auth/me").json()["authenticated"] is False
        done = lxml_html.fromstring(client.get("/en/signin?signed_out=1").content)
        assert done.xpath("//*[@role='status']")[0].text_content().strip() == "You have signed out."


@pytest.mark.parametrize("prefix, wrong, missing, expired", [
    ("", "نام کاربری یا گذرواژه درست نیست.", "نام کاربری و گذرواژه را بنویسید.", "این فرم منقضی شده است"),
    ("/en", "The user name or password is not correct.", "Enter your user name and password.", "This form has expired"),
])
def test_errors_are_said_on_the_page_in_its_language(demo_portal, prefix, wrong, missing, expired):
    with client_of(demo_portal) as client:
        hidden = form_of(client, prefix + "/signin")
        r = client.post(prefix + "/signin", data={**hidden, "name": "office", "password": "not-the-password"})
        assert r.status_code == 401 and wrong in problem(r)
        assert "sdmx_session=" not in r.headers.get("set-cookie", "")
        root = lxml_html.fromstring(r.content)
        assert root.get_element_by_id("signin-name").get("value") == "office"  # kept, the password not
        assert root.get_element_by_id("signin-password").get("value") is None
        hidden = form_of(client, prefix + "/signin")
        r = client.post(prefix + "/signin", data={**hidden, "name": "office", "password": ""})
        assert r.status_code == 400 and missing in problem(r)
    # a form posted without its token (another site's page, or an old tab): refused before any check
    r = httpx.post(demo_portal.url + prefix + "/signin", timeout=60,
                   data={"form_token": "x", "name": "office", "password": demo_portal.users["office"]["password"]})
    assert r.status_code == 403 and expired in problem(r)
    assert "sdmx_session=" not in r.headers.get("set-cookie", "")


def test_only_local_pages_are_where_signing_in_leads(demo_portal):
    for wanted, went in (("//evil.example/", "/"), ("https://evil.example/x", "/"), ("/\\evil", "/"),
                         ("/signout", "/"), ("/en/?q=x", "/en/?q=x")):
        with client_of(demo_portal) as client:
            hidden = form_of(client, "/signin")
            r = client.post("/signin", data={**hidden, "next": wanted, "name": "office",
                                             "password": demo_portal.users["office"]["password"]})
            assert r.status_code == 303 and r.headers["location"] == went, wanted


def test_signing_out_needs_the_sessions_token(demo_portal):
    with client_of(demo_portal) as client:
        hidden = form_of(client, "/signin")
        client.post("/signin", data={**hidden, "name": "office", "password": demo_portal.users["office"]["password"]})
        r = client.post("/signout", data={"csrf_token": "forged"})
        assert r.status_code == 403 and "نشست شما تأیید نشد" in " ".join(lxml_html.fromstring(r.content).text_content().split())
        assert client.get("/auth/me").json()["authenticated"] is True  # still signed in
        page = lxml_html.fromstring(client.get("/signout").content)  # a GET only shows the form
        assert page.xpath("//main//form[@method='post']//input[@name='csrf_token']")
        assert client.get("/auth/me").json()["authenticated"] is True


def test_an_expired_session_sends_the_browser_to_the_form(demo_portal):
    stale = {"sdmx_session": "no-such-session"}
    r = httpx.get(demo_portal.url + "/en/?q=pensions", cookies=stale, timeout=60)
    assert r.status_code == 303
    assert r.headers["location"] == "/en/signin?expired=1&next=/en/%3Fq%3Dpensions"
    assert any(c.startswith('sdmx_session=""') or "Max-Age=0" in c for c in r.headers.get_list("set-cookie"))
    form = httpx.get(demo_portal.url + r.headers["location"], cookies=stale, timeout=60)
    assert form.status_code == 200
    root = lxml_html.fromstring(form.content)
    assert root.xpath("//*[@role='status']")[0].text_content().strip() == "Your session has ended; please sign in again."
    assert root.xpath("//input[@name='next']/@value") == ["/en/?q=pensions"]
    # the API keeps its SDMX 401: a machine is told its credential failed
    api = httpx.get(demo_portal.url + "/rest/dataflow", cookies=stale, timeout=60)
    assert api.status_code == 401 and "xml" in api.headers["content-type"]


def test_failed_attempts_are_throttled_on_the_page(demo_template, tmp_path):
    """After the free attempts, the form says how long to wait (429, Retry-After), as /auth/login does."""
    with fresh_demo_portal(demo_template, tmp_path / "throttle") as portal:
        with client_of(portal) as client:
            answers = []
            for _ in range(7):
                hidden = form_of(client, "/en/signin")
                answers.append(client.post("/en/signin", data={**hidden, "name": "office", "password": "wrong"}))
            assert [r.status_code for r in answers[:5]] == [401] * 5
            throttled = answers[6]
            assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) >= 1
            assert re.search(r"Too many failed attempts\. Try again in \d+ seconds\.", problem(throttled))
            # the API's login is throttled by the same count
            api = client.post("/auth/login", json={"name": "office", "password": portal.users["office"]["password"]})
            assert api.status_code == 429


# -- in a browser ------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix, lang", [("", "fa"), ("/en", "en")])
def test_sign_in_page_in_a_browser(page, prefix, lang):
    page.goto(prefix + "/signin")
    assert page.locator("html").get_attribute("lang") == lang
    assert axe_violations(page) == []
    screenshot(page, f"signin-{lang}")
    page.get_by_label(re.compile("user name|نام کاربری", re.I)).fill("office")
    page.get_by_label(re.compile("password|گذرواژه", re.I)).fill("wrong")
    page.get_by_role("button", name=re.compile("^(sign in|ورود)$", re.I)).click()
    alert = page.get_by_role("alert")
    assert alert.is_visible()
    assert axe_violations(page) == []
    screenshot(page, f"signin-error-{lang}")


def test_staff_sign_in_see_internal_flows_and_sign_out(page):
    page.goto("/en/")
    assert page.locator("li.card[data-flow='SSO:DF_CONTRIBUTIONS(1.0)']").count() == 0
    page.get_by_role("link", name="Sign in").click()
    sign_in(page, "isfahan")
    page.goto("/en/")
    assert page.locator("li.card[data-flow='SSO:DF_CONTRIBUTIONS(1.0)']").count() == 1
    assert "isfahan" in page.locator("header").inner_text()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/en/signin\?signed_out=1"))
    assert page.get_by_role("status").inner_text() == "You have signed out."
    page.goto("/en/")
    assert page.locator("li.card[data-flow='SSO:DF_CONTRIBUTIONS(1.0)']").count() == 0
    assert not [c for c in page.context.cookies() if c["name"] == "sdmx_session"]
