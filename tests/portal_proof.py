"""What the cross-family proofs of the portal share (tests/test_portal_gate.py,
test_portal_province.py, test_portal_quality.py, test_portal_speed.py):

- `api_view(portal, who)`: the artefacts the SDMX API lists for a principal, by kind, and
  `secrets(portal, who)`: the ids and names of what the API hides from that principal (what the
  admin sees and the principal does not), which no page may show to them;
- `crawl(portal, who)`: the portal as that principal walks it (every page linked from home,
  both languages), with the links each page holds;
- `session_sign_in(page, who)`: a browser context signed in through POST /auth/login (the same
  session cookie the portal's sign-in form sets), for scenarios that are not about the form;
- `MAIN_PAGES`: the main pages of every family, the paths issue 9's plan gives them.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from lxml import html as lxml_html

JSON_STRUCTURE = {"Accept": "application/vnd.sdmx.structure+json;version=2.0.0"}
CSV_DATA = {"Accept": "application/vnd.sdmx.data+csv;version=2.0.0"}
KINDS = ("dataflow", "datastructure", "codelist", "conceptscheme", "categoryscheme", "metadataflow",
         "dataconstraint")
#: First path segments of the machine interfaces (portal/errors.py MACHINE_SEGMENTS) and of
#: static files: links to them are not pages to walk.
NOT_PAGES = ("rest", "admin", "auth", "api", "openapi.json", "health", "ready", "metrics", "releases", "releases.ics",
             "static")

#: The main page of each family (issue 9's plan): name -> path (Persian; /en + path in English).
MAIN_PAGES = {
    "home": "/",
    "explorer": "/dataflow/SSO/DF_INSURED/1.0",
    "datastructure": "/structure/datastructure/SSO/DSD_INSURED/1.0",
    "codelist": "/structure/codelist/SSO/CL_PROVINCE/1.0",
    "categoryscheme": "/structure/categoryscheme/SSO/THEMES/1.0",
    "dashboard": "/dashboard",
    "signin": "/signin",
}
PREFIX = {"fa": "", "en": "/en"}
#: The provinces' codes (CL_PROVINCE: IR is the country, IR-00..IR-30 its 31 provinces).
PROVINCE_CODE = re.compile(r"^IR-\d\d$")
ISFAHAN = "IR-10"


@dataclass(frozen=True)
class Artefact:
    kind: str
    agency: str
    id: str
    version: str
    names: tuple[str, ...]


def api_view(portal, who: str | None) -> dict[str, set[Artefact]]:
    """Every artefact the structure API lists for `who`, by kind."""
    view: dict[str, set[Artefact]] = {}
    for kind in KINDS:
        r = portal.get(f"/rest/v2/structure/{kind}/*/*/*", who=who, headers=JSON_STRUCTURE)
        assert r.status_code in (200, 404), (kind, r.status_code, r.text[:300])
        found = set()
        if r.status_code == 200:
            for values in r.json().get("data", {}).values():
                for a in values if isinstance(values, list) else []:
                    names = tuple(sorted({str(v) for v in (a.get("names") or {}).values()} | {str(a.get("name") or "")} - {""}))
                    found.add(Artefact(kind, a["agencyID"], a["id"], a["version"], names))
        view[kind] = found
    return view


@dataclass
class Secrets:
    """What the API hides from a principal: the ids and names of artefacts it does not list for
    them, but for words the API itself shows them (a public code's description may use a
    hidden dataflow's name: the page may show what the API shows)."""
    ids: set[str]
    names: set[str]
    artefacts: set[Artefact]

    def found_in(self, text: str) -> list[str]:
        hits = [i for i in self.ids if re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", text)]
        return hits + [n for n in self.names if n in text]


def api_text(portal, who: str | None) -> str:
    """Everything the structure and metadata APIs show `who`, in full, as one text."""
    import json

    texts = []
    for path in [f"/rest/v2/structure/{kind}/*/*/*?detail=full" for kind in KINDS] + ["/rest/v2/metadata/metadataset/*/*/*"]:
        r = portal.get(path, who=who, headers=JSON_STRUCTURE if "/structure/" in path else {"Accept": "application/json"})
        if r.status_code == 200 and r.content.lstrip().startswith(b"{"):
            texts.append(json.dumps(r.json(), ensure_ascii=False))
        elif r.status_code == 200:
            texts.append(r.text)
    return "\n".join(texts)


def secrets(portal, who: str | None) -> Secrets:
    everything, seen = api_view(portal, "admin"), api_view(portal, who)
    hidden = {a for kind in KINDS for a in everything[kind] - seen[kind]}
    shown = api_text(portal, who)
    ids = {a.id for a in hidden if not re.search(rf"(?<![\w-]){re.escape(a.id)}(?![\w-])", shown)}
    names = {n for a in hidden for n in a.names if len(n) > 3 and n not in shown}
    return Secrets(ids, names, hidden)


def visible_flows(portal, who: str | None) -> set[tuple[str, str, str]]:
    return {(a.agency, a.id, a.version) for a in api_view(portal, who)["dataflow"]}


@dataclass
class Crawled:
    path: str
    status: int
    content_type: str
    text: str
    links: list[str] = field(default_factory=list)
    #: where the crawl first found the link to this page
    found_on: str = ""


def links_of(base: str, text: str) -> list[str]:
    """The same-site addresses (path?query) a page links to, its forms' actions among them."""
    doc = lxml_html.fromstring(text)
    found = []
    for element, attribute in ((e, "href") for e in doc.xpath("//a[@href]")):
        target = urljoin(base, element.get(attribute))
        parts = urlsplit(target)
        if parts.scheme in ("http", "https") and parts.netloc == urlsplit(base).netloc:
            found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def is_page(path: str) -> bool:
    return path.lstrip("/").split("/", 1)[0] not in NOT_PAGES


def crawl(portal, who: str | None, starts=("/", "/en/"), limit: int = 160, per_path: int = 2) -> dict[str, Crawled]:
    """The portal's pages as `who` reaches them by following links from `starts`: at most
    `per_path` addresses of one path (the explorer's views differ by their query) and `limit`
    pages in all. Sign-out is not followed (it ends the session), nor machine addresses."""
    pages: dict[str, Crawled] = {}
    queue = deque((s, "") for s in starts)
    queued = set(starts)
    by_path: dict[str, int] = {}
    while queue and len(pages) < limit:
        address, source = queue.popleft()
        r = portal.get(address, who=who)
        kind = r.headers.get("content-type", "")
        crawled = Crawled(address, r.status_code, kind, r.text if kind.startswith(("text/", "application/json")) else "",
                          found_on=source)
        pages[address] = crawled
        if r.status_code != 200 or not kind.startswith("text/html"):
            continue
        crawled.links = links_of(portal.url + address, r.text)
        for link in crawled.links:
            path = link.split("?", 1)[0]
            if link in queued or not is_page(path) or path.rstrip("/").endswith("/signout"):
                continue
            if by_path.get(path, 0) >= per_path:
                continue
            by_path[path] = by_path.get(path, 0) + 1
            queued.add(link)
            queue.append((link, address))
    return pages


def artefact_links(links: list[str]) -> set[tuple[str, str, str, str]]:
    """(kind, agency, id, version) of every link to a dataflow's or a structure's page."""
    found = set()
    for link in links:
        path = link.split("?", 1)[0]
        if path.startswith("/en/"):
            path = path[3:]
        if m := re.match(r"^/dataflow/([^/]+)/([^/]+)/([^/]+)", path):
            found.add(("dataflow", *m.groups()))
        elif m := re.match(r"^/structure/([a-z]+)/([^/]+)/([^/]+)/([^/?]+)", path):
            found.add(m.groups())  # type: ignore[arg-type]
    return found


def session_sign_in(page, who: str) -> dict:
    """Sign the browser context in with POST /auth/login: its session cookie is the portal's."""
    r = page.request.post(page.portal.url + "/auth/login",
                          data={"name": who, "password": page.portal.users[who]["password"]})
    assert r.status == 200, (r.status, r.text()[:300])
    cookies = {c["name"] for c in page.context.cookies()}
    assert "sdmx_session" in cookies, cookies
    return r.json()


def provinces_in(content: bytes) -> set[str]:
    """The provinces whose data a download holds: JSON-stat lists every code of a dimension's
    codelist among its categories, so there only those with a value count; the other formats
    (SDMX-CSV, -JSON, -ML, Excel's sheets) name only the codes of their data."""
    import io
    import zipfile

    import orjson

    if content[:2] == b"PK":  # Excel: its sheets' XML
        with zipfile.ZipFile(io.BytesIO(content)) as book:
            content = b" ".join(book.read(n) for n in book.namelist() if n.endswith(".xml"))
    if content.lstrip().startswith(b"{") and b'"class"' in content[:2000] and b'"dataset"' in content[:2000]:
        stat = orjson.loads(content)
        ids, sizes = stat["id"], stat["size"]
        values = stat["value"]
        filled = ([i for i, v in enumerate(values) if v is not None] if isinstance(values, list)
                  else [int(i) for i, v in values.items() if v is not None])
        at = ids.index("PROVINCE")
        stride = 1
        for size in sizes[at + 1:]:
            stride *= size
        index = stat["dimension"]["PROVINCE"]["category"]["index"]
        codes = index if isinstance(index, list) else sorted(index, key=index.get)
        return {codes[(i // stride) % sizes[at]] for i in filled}
    return set(re.findall(r"IR-\d\d", content.decode("utf-8", "replace")))
