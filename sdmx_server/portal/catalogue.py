"""The home page: the dataflows a visitor may read, grouped by the category scheme.

(Skeleton: search, last update and next release come with issue 9's catalogue work.)"""

from __future__ import annotations

from starlette.requests import Request
from starlette.concurrency import run_in_threadpool

from sdmx_server.api.access import gate_of
from sdmx_server.portal.render import lang_of, localised, render


def _dataflows(request: Request) -> list[dict]:
    gate = gate_of(request)
    lang = lang_of(request)
    flows = []
    for entry in gate.registry.entries("dataflow"):
        if entry.is_stub or not gate.visible(entry):
            continue
        flows.append({"agency": entry.agency, "id": entry.id, "version": entry.version,
                      "name": localised(entry.json().get("names") or entry.json().get("name"), lang)})
    return sorted(flows, key=lambda f: (f["agency"], f["id"], f["version"]))


async def home(request: Request):
    flows = await run_in_threadpool(_dataflows, request)
    return render(request, "home.html", {"flows": flows})


PAGES = [("/", home, "home")]
