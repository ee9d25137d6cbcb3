"""The portal as visitors use it: the demo store served by the real app, and a real headless
Chromium (Debian's /usr/bin/chromium, or SDMX_CHROMIUM) driven by Playwright. No browser is
downloaded; without Chromium the browser tests skip, and under CI=true they fail.

Fixtures (imported by tests/conftest.py, so every test module may ask for them):
- `demo_template` (session): the demo store seeded once (structures, data, the embargoed
  release, the sources' first pull, the demo users), kept as files to copy;
- `demo_portal` (session): a server on a copy of it, shared by tests that only read;
- `fresh_demo_portal()`: a context manager for a server on a copy of its own, for tests that
  change data (a norm loaded during the test);
- `chromium` (per module) and `page` (a new context per test: its own cookies; `page.portal` is
  the shared demo server).

Screenshots that docs/portal.md shows are written by `screenshot(page, name)` into
docs/portal/ (PNG), so a run of the browser tests refreshes them.
"""

from __future__ import annotations

import os
import re
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, require, running_server

CHROMIUM = os.environ.get("SDMX_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "docs" / "portal"


@dataclass
class DemoPortal:
    url: str
    settings: object
    #: name -> {"groups", "password", "token"} from var/demo-users.txt
    users: dict[str, dict[str, str]]

    def get(self, path: str, who: str | None = None, **kw) -> httpx.Response:
        headers = dict(kw.pop("headers", None) or {})  # a copy: the caller's dict must not keep a token
        if who:
            headers["Authorization"] = f"Bearer {self.users[who]['token']}"
        return httpx.get(self.url + path, headers=headers, timeout=60, **kw)


def demo_users(text: str) -> dict[str, dict[str, str]]:
    users, name = {}, None
    for line in text.splitlines():
        if m := re.match(r"^(\w+): ", line):
            name = m[1]
            users[name] = {}
        elif name and (m := re.match(r"^\s+(groups|password|token):\s+(\S+)$", line)):
            users[name][m[1]] = m[2]
    return users


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """The demo store, seeded once per run into a folder of its own (SQLite and var/)."""
    from sdmx_server.cli.demo import seed_demo
    from sdmx_server.settings import Settings

    folder = tmp_path_factory.mktemp("demo-template")
    settings = Settings(database_url=f"sqlite:///{folder / 'demo.db'}", data_dir=folder / "var")
    seed_demo(settings)
    return folder


def _copy(template: Path, target: Path):
    from sdmx_server.settings import Settings

    shutil.copytree(template, target, dirs_exist_ok=True)
    return Settings(database_url=f"sqlite:///{target / 'demo.db'}", data_dir=target / "var")


@contextmanager
def fresh_demo_portal(template: Path, target: Path):
    """A server on a copy of the demo store of its own."""
    settings = _copy(template, target)
    users = demo_users((settings.data_dir / "demo-users.txt").read_text(encoding="utf-8"))
    with running_server(settings) as server:
        yield DemoPortal(server.url, settings, users)


@pytest.fixture(scope="session")
def demo_portal(demo_template, tmp_path_factory):
    with fresh_demo_portal(demo_template, tmp_path_factory.mktemp("demo-portal")) as portal:
        yield portal


# Module scope, not session: Playwright's sync API keeps an event loop running in the main
# thread while it is open, and a later test's asyncio.run() would refuse to start.
@pytest.fixture(scope="module")
def chromium():
    require(Path(CHROMIUM).exists(), f"the browser tests need Chromium at {CHROMIUM} (Debian: apt install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, demo_portal):
    """A fresh browser context (no cookies) on the shared demo portal; 1280x900 unless a test
    makes its own context (a phone's)."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, base_url=demo_portal.url)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.portal = demo_portal
    yield tab
    context.close()


def sign_in(page, who: str) -> None:
    """Sign in through the portal's own form, as a person does."""
    users = page.portal.users
    lang_prefix = "/en" if "/en/" in page.url else ""
    page.goto(f"{lang_prefix}/signin")
    page.get_by_label(re.compile("name|نام", re.I)).first.fill(who)
    page.get_by_label(re.compile("password|گذرواژه|رمز", re.I)).first.fill(users[who]["password"])
    page.get_by_role("button", name=re.compile("sign in|ورود", re.I)).click()
    page.wait_for_load_state("networkidle")


def screenshot(page, name: str) -> Path:
    """A full-page PNG under docs/portal/ (docs/portal.md shows them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page) -> list[dict]:
    """Serious and critical WCAG 2.1 A/AA violations found by axe-core on the current page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
    return [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
