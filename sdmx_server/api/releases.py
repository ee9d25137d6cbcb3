"""The release calendar over HTTP (ops/calendar.py):

    GET /releases[?dataflow=AGENCY:ID(VERSION)&from=YYYY-MM-DD&to=YYYY-MM-DD&status=late]
        JSON: every planned release of the dataflows the asker may see, with its status
    GET /releases.ics[?...same...&lang=fa|en]
        the same as an iCalendar (RFC 5545) feed, one all-day event per release, for calendar
        programs to subscribe to
    POST   /admin/api/releases        {dataflow, due, period?, note?: {fa, en}}   (administrators)
    PATCH  /admin/api/releases/{id}   {due?, period?, note?}
    DELETE /admin/api/releases/{id}

A dataflow the asker may not read is invisible here as everywhere (its releases are not
listed, and naming it is like naming one that does not exist). `status=late` lists releases
late or missing (api: both are flagged with "late": true).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sdmx_server.api.access import gate_of
from sdmx_server.api.admin import _admin, _body, _change, _field, _json
from sdmx_server.api.language import accept_languages
from sdmx_server.errors import NoResults, SyntaxError_, Unprocessable
from sdmx_server.ops import calendar
from sdmx_server.ops.calendar import Plan, Release

_REF = re.compile(r"^(?P<agency>[A-Za-z][\w.\-]*):(?P<id>[\w@$\-]+)\((?P<version>[\w.\-+]+)\)$")


def _day(text: str | None, name: str) -> date | None:
    if text is None or text == "":
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise SyntaxError_(f"{name} must be a day as YYYY-MM-DD, not {text!r}") from None


def _visible_flows(request: Request, wanted: str | None) -> dict[str, object]:
    """Visible dataflows by reference (-> registry entry); `wanted` narrows to one, or 404."""
    gate = gate_of(request)
    flows = {e.ref.split(" ", 1)[1]: e for e in gate.registry.entries("dataflow") if gate.visible(e)}
    if wanted is None:
        return flows
    if not _REF.match(wanted):
        raise SyntaxError_(f"dataflow must be AGENCY:ID(VERSION), not {wanted!r}")
    if wanted not in flows:
        raise NoResults(f"no dataflow {wanted}")
    return {wanted: flows[wanted]}


def _selected(request: Request) -> tuple[list[Release], dict[str, object]]:
    params = request.query_params
    unknown = set(params) - {"dataflow", "from", "to", "status", "lang"}
    if unknown:
        raise SyntaxError_(f"unknown parameter(s): {', '.join(sorted(unknown))}")
    status = params.get("status")
    if status is not None and status not in (*calendar.RELEASE_STATUSES, "late"):
        raise SyntaxError_(f"status must be one of {', '.join((*calendar.RELEASE_STATUSES, 'late'))}")
    flows = _visible_flows(request, params.get("dataflow"))
    found = calendar.releases(request.app.state.server.db, flows, _day(params.get("from"), "from"),
                              _day(params.get("to"), "to"))
    if status == "late":
        found = [r for r in found if r.status in ("late", "missing")]
    elif status is not None:
        found = [r for r in found if r.status == status]
    return found, flows


async def releases_json(request: Request) -> Response:
    found, _ = await run_in_threadpool(_selected, request)
    signed_in = bool(getattr(request.scope.get("user"), "is_authenticated", False))
    return JSONResponse({"releases": [r.as_json() for r in found]}, headers=_cache(signed_in))


def _cache(signed_in: bool) -> dict[str, str]:
    """Who asks changes the answer (hidden dataflows' releases): caches keep one per credential."""
    return {"Cache-Control": "private, no-cache" if signed_in else "public, max-age=60",
            "Vary": "Authorization, Cookie"}


def _name(entry, lang: str) -> str:
    names = entry.json().get("names") or {}
    return names.get(lang) or names.get("en") or next(iter(names.values()), entry.id)


async def releases_ics(request: Request) -> Response:
    from icalendar import Calendar, Event

    found, flows = await run_in_threadpool(_selected, request)
    asked = accept_languages(request.headers.get("accept-language")) or ()
    lang = request.query_params.get("lang") or next((a[:2] for a in asked if a[:2] in ("fa", "en")), "en")
    if lang not in ("fa", "en"):
        raise SyntaxError_("lang must be fa or en")
    feed = Calendar()
    feed.add("prodid", "-//sdmx-server//release calendar//EN")
    feed.add("version", "2.0")
    feed.add("x-wr-calname", "تقویم انتشار" if lang == "fa" else "Release calendar")
    stamp = datetime.now(timezone.utc)
    host = request.url.hostname or "sdmx-server"
    late = {"fa": "دیرکرد", "en": "LATE"}[lang]
    for release in found:
        event = Event()
        title = _name(flows[release.flow], lang) + (f" {release.period}" if release.period else "")
        if release.status in ("late", "missing"):
            title = f"[{late}] {title}"
        event.add("uid", f"release-{release.id}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", release.due)
        event.add("summary", title)
        event.add("categories", [release.status])
        event.add("x-sdmx-dataflow", release.flow)
        event.add("x-sdmx-status", release.status)
        note = release.notes.get(lang) or ""
        if release.published_at:
            note = (note + "\n" if note else "") + f"published {release.published_at.isoformat()}"
        if note:
            event.add("description", note)
        feed.add_component(event)
    signed_in = bool(getattr(request.scope.get("user"), "is_authenticated", False))
    return Response(feed.to_ical(), media_type="text/calendar; charset=utf-8",
                    headers={**_cache(signed_in), "Content-Disposition": 'inline; filename="releases.ics"'})


# -- administrators ----------------------------------------------------------------------------


def _note(fields: dict) -> dict[str, str] | None:
    note = fields.get("note")
    if note is None:
        return None
    if isinstance(note, str):
        return {"fa": note, "en": note}
    if not isinstance(note, dict) or not set(note) <= {"fa", "en"} or not all(isinstance(v, str) for v in note.values()):
        raise Unprocessable("note must be a text or {fa: ..., en: ...}")
    return {"fa": note.get("fa", ""), "en": note.get("en", "")}


def _period(fields: dict) -> str | None:
    from sdmx_server.query.periods import parse_period

    period = _field(fields, "period", str)
    if period:
        try:
            parse_period(period)
        except Exception:  # noqa: BLE001 - whatever the parser says, it is not a period
            raise Unprocessable(f"period {period!r} is not an SDMX period (2026, 2026-Q3, 2026-11)") from None
    return period


async def admin_releases(request: Request) -> Response:
    actor = _admin(request)
    db = request.app.state.server.db
    fields = await _body(request)
    flow = _field(fields, "dataflow", str, required=True)
    await run_in_threadpool(_visible_flows, request, flow)
    due = _day(_field(fields, "due", str, required=True), "due")
    note = _note(fields) or {"fa": "", "en": ""}
    plan = Plan(flow, _period(fields) or "", due, note["fa"], note["en"], "admin api")
    row = await _change(request, actor, "release.add", flow, lambda: calendar.add_release(db, plan, actor.identity),
                        {"due": due.isoformat(), "period": plan.period})
    return _json({"id": row.id, "dataflow": row.flow, "period": row.period, "due": row.due.isoformat()}, 201)


async def admin_release(request: Request) -> Response:
    actor = _admin(request)
    db = request.app.state.server.db
    release_id = request.path_params["id"]
    if request.method == "DELETE":
        row = await _change(request, actor, "release.delete", f"release {release_id}",
                            lambda: calendar.delete_release(db, release_id), {"id": release_id})
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    fields = await _body(request)
    note = _note(fields)
    due = _day(_field(fields, "due", str), "due")
    changes = {"due": due, "period": _period(fields)}
    if note is not None:
        changes.update(note_fa=note["fa"], note_en=note["en"])
    row = await _change(request, actor, "release.update", f"release {release_id}",
                        lambda: calendar.update_release(db, release_id, actor.identity, **changes),
                        {k: (v.isoformat() if isinstance(v, date) else v) for k, v in changes.items() if v is not None})
    return _json({"id": row.id, "dataflow": row.flow, "period": row.period, "due": row.due.isoformat(),
                  "origin": row.origin})


routes = [
    Route("/releases", releases_json, methods=["GET", "HEAD"]),
    Route("/releases.ics", releases_ics, methods=["GET", "HEAD"]),
    Route("/admin/api/releases", admin_releases, methods=["POST"]),
    Route("/admin/api/releases/{id:int}", admin_release, methods=["PATCH", "DELETE"]),
]
