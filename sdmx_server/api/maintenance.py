"""Structure maintenance over HTTP, as REST maintenance.md says: POST, PUT and DELETE on /rest/v2/structure.

- POST /structure[/{type}]: one or more artefacts (SDMX-ML 2.1/3.0/3.1 or SDMX-JSON); each that
  passes is saved (201 created, 200 replaced, 207 when some failed); item schemes marked
  isPartial update the stored scheme's items instead of replacing it.
- PUT /structure/{type}/{agency}/{id}/{version}: exactly that one artefact, which must exist
  (404) and match the path (422).
- DELETE /structure/{type}/{agency}/{id}/{version}[/{itemID}]: one artefact or one item.
Every answer is a SubmitStructureResponse. The checks are registry/change.py's, the same as
the CLI's. Writes need credentials (401) and `maintain` on each artefact, by its
agency:id(version) (403 naming the missing rule, access/gate.py); an artefact the principal may
not see is "not found" to PUT and DELETE, as one that does not exist, and a reference to one
is a reference to nothing (409).
"""

from __future__ import annotations

import re

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sdmx_server.api.admin_audit import record_changes
from sdmx_server.api.structures import state_of
from sdmx_server.access.gate import Gate, ref
from sdmx_server.api.access import gate_of
from sdmx_server.errors import (Forbidden, NoResults, PayloadTooLarge, SyntaxError_, Unauthorized,
                                UnsupportedMediaType, Unprocessable)
from sdmx_server.formats.ml21 import Header
from sdmx_server.formats.submission_ml30 import MEDIA_TYPE, submission_response
from sdmx_server.kinds import BY_NAME, BY_V2, JSON_ITEMS, JSON_NESTED_ITEMS, Kind
from sdmx_server.query.params import ID, NESTED_NCNAME
from sdmx_server.registry.index import Registry
from sdmx_server.registry.change import ArtefactResult, ChangeOutcome, apply_changes, delete_artefact
from sdmx_server.registry.messages import Candidate, read_message
from sdmx_server.registry.sdmxml import StructureFileError

ACCEPTED_BODIES = ("xml", "json")
VERSION = re.compile(r"[0-9A-Za-z.+\-_~*]+")
ITEM = re.compile(r"[^\x00-\x1f\x7f,]+")  # value list items may be any text


async def _gate(request: Request) -> Gate:
    """The request's gate, after refusing the anonymous (401): maintenance is for principals
    granted `maintain` (or `admin`). A query parameter is refused first (400): maintenance
    takes none, and one ignored (`?dryRun=true`) would write what the client meant to test."""
    if request.query_params:
        unknown = ", ".join(sorted(set(request.query_params)))
        raise SyntaxError_(f"unknown parameter(s) {unknown}: structure maintenance takes no query parameters")
    gate = await run_in_threadpool(gate_of, request)
    if not gate.principal.is_authenticated and not gate.is_admin:
        raise Unauthorized("structure maintenance needs credentials: send Authorization: Bearer TOKEN")
    return gate


def _may_maintain(gate: Gate, candidates: list[Candidate]) -> None:
    """Every artefact of the message needs `maintain` on it: one that is not granted refuses
    the whole message (403), before anything changes. An artefact that exists but that the
    principal may not see is refused alike: what the message holds says nothing more."""
    for candidate in candidates:
        kind, *key = candidate.key
        try:
            gate.require("maintain", kind, tuple(key), new=True, access=candidate.access)
        except NoResults:
            raise Forbidden(f"no rule grants maintain on {ref(tuple(key))}") from None


def _as_seen(request: Request) -> Registry:
    """The registry as it is now, less what the principal may not see: the registry the
    submission's references resolve in. A reference to a hidden artefact is then answered
    exactly as one to nothing (409 "... which is not loaded"), so a maintainer can neither
    make a hidden structure public by naming it from a public dataflow (visibility follows
    "used by a visible dataflow") nor learn that it exists."""
    state = state_of(request)
    state.invalidate()  # what the database holds now, as apply_changes would read it
    gate = gate_of(request)
    registry = gate.registry
    if gate.is_admin:
        return registry
    view = gate.view
    hidden = [entry.key for entry in registry.entries() if not view(entry)]
    return registry.updated([], hidden, registry.generation) if hidden else registry


async def _body(request: Request) -> bytes:
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if not content_type:
        raise UnsupportedMediaType("set Content-Type to the format of the submitted structures")
    if not any(content_type.endswith(f"+{f}") or content_type.endswith(f"/{f}") for f in ACCEPTED_BODIES):
        raise UnsupportedMediaType(
            f"Content-Type {content_type} is not a structure message; send SDMX-ML (…+xml) or SDMX-JSON (…+json)"
        )
    limit = state_of(request).settings.max_structure_bytes
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is larger than the limit of {limit:,} bytes")
        chunks.append(chunk)
    if not size:
        raise SyntaxError_("the request has no body; send one or more structures")
    return b"".join(chunks)


def _kind(name: str) -> Kind:
    kind = BY_V2.get(name)
    if kind is None:
        raise SyntaxError_(f"{name!r} is not a structure type of REST v2")
    return kind


def _candidates(data: bytes, origin: str) -> list[Candidate]:
    try:
        return read_message(data, origin)
    except StructureFileError as exc:
        raise SyntaxError_(str(exc)) from None


async def post(request: Request) -> Response:
    gate = await _gate(request)
    type_name = request.path_params.get("type")
    kind = _kind(type_name) if type_name else None
    candidates = _candidates(await _body(request), "http")
    if not candidates:
        raise Unprocessable("the message defines no structure")
    if kind is not None:
        wrong = [c.ref for c in candidates if c.kind is not kind]
        if wrong:
            raise Unprocessable(f"under /structure/{type_name} only {kind.urn_class} artefacts: not {', '.join(wrong)}")
    _may_maintain(gate, candidates)
    state = state_of(request)
    seen = await run_in_threadpool(_as_seen, request)
    outcome = await run_in_threadpool(apply_changes, state.db, candidates, partial_success=True, registry=seen)
    state.invalidate()
    await record_changes(request, outcome)
    return _answer(request, outcome)


async def put(request: Request) -> Response:
    await _gate(request)
    kind = _kind(request.path_params["type"])
    agency, artefact_id, version = (request.path_params[p] for p in ("agency", "id", "version"))
    _check_ids(agency, artefact_id, version)
    candidates = _candidates(await _body(request), "http")
    key = (kind.name, agency, artefact_id, version)
    if len(candidates) != 1 or candidates[0].key != key:
        found = ", ".join(c.ref for c in candidates) or "nothing"
        raise Unprocessable(f"PUT on this path takes exactly {kind.name} {agency}:{artefact_id}({version}); found {found}")
    state = state_of(request)
    if _stored_entry(state, key) is None or not _visible(request, key):
        outcome = ChangeOutcome([ArtefactResult(*key, "Replace", "Failure", 404, "not found")])
        await record_changes(request, outcome)
        return _answer(request, outcome)
    _may_maintain(gate_of(request), candidates)
    seen = await run_in_threadpool(_as_seen, request)
    outcome = await run_in_threadpool(apply_changes, state.db, candidates, registry=seen)
    state.invalidate()
    await record_changes(request, outcome)
    return _answer(request, outcome)


async def delete(request: Request) -> Response:
    await _gate(request)
    kind = _kind(request.path_params["type"])
    key = (kind.name, *(request.path_params[p] for p in ("agency", "id", "version")))
    item = request.path_params.get("item")
    _check_ids(*key[1:], item)
    state = state_of(request)
    if _stored_entry(state, key) is None or not _visible(request, key):
        # Not there, or not for this principal to know of: the same answer.
        action = "Delete"
        return _answer(request, ChangeOutcome([ArtefactResult(*key, action, "Failure", 404, "not found")]))
    gate = gate_of(request)
    gate.require("maintain", key[0], key[1:])
    if item is None:
        def visible(entry) -> bool:  # by key: the delete reads the registry afresh
            known = gate.registry.entry(entry.kind, *entry.artefact_key)
            return known is not None and gate.view(known)

        outcome = await run_in_threadpool(delete_artefact, state.db, key, None, visible)
    else:
        outcome = await run_in_threadpool(_delete_item, state, key, item)
    state.invalidate()
    await record_changes(request, outcome)
    return _answer(request, outcome)


def _check_ids(agency: str, artefact_id: str, version: str, item: str | None = None) -> None:
    """A 400 for what no artefact can be named (`../`, control characters) before it is looked up
    or written back into the answer."""
    for name, value, pattern in (("agencyID", agency, NESTED_NCNAME), ("resourceID", artefact_id, ID),
                                 ("version", version, VERSION), ("itemID", item, ITEM)):
        if value is not None and not pattern.fullmatch(value):
            raise SyntaxError_(f"{name}={value!r} is not an SDMX {name}")


def _stored_entry(state, key):
    """The entry as the database holds it now (another process may have just changed it)."""
    state.invalidate()
    return state.registry().entry(*key)


def _visible(request: Request, key) -> bool:
    """Whether the principal may see the artefact, in the registry as it is now."""
    gate = gate_of(request)
    entry = gate.registry.entry(*key)
    return entry is not None and gate.view(entry)


def _delete_item(state, key, item_id: str) -> ChangeOutcome:
    """An item out of its scheme: a flat scheme's children lose their parent; a nested
    scheme's children go with it."""
    entry = _stored_entry(state, key)
    items_key = JSON_ITEMS.get(key[0])
    if entry is None or items_key is None:
        reason = "not found" if entry is None else f"a {key[0]} has no items"
        return ChangeOutcome([ArtefactResult(*key, "Delete", "Failure", 404 if entry is None else 422, reason)])
    obj = orjson.loads(entry.body)
    nested = JSON_NESTED_ITEMS.get(key[0])
    removed = _remove_item(obj, items_key, item_id.split("."), nested)
    if not removed:
        return ChangeOutcome([ArtefactResult(*key, "Delete", "Failure", 404, f"no item {item_id}")])
    candidate = Candidate(BY_NAME[key[0]], obj, "http")
    outcome = apply_changes(state.db, [candidate])
    for result in outcome.results:
        result.action = "Delete"
        if result.status == "Success":
            result.message = f"item {item_id} deleted"
    return outcome


def _remove_item(obj: dict, items_key: str, path: list[str], nested: str | None) -> bool:
    items = obj.get(items_key) or []
    for position, item in enumerate(items):
        if item.get("id") != path[0]:
            continue
        if len(path) > 1:
            return bool(nested) and _remove_item(item, nested, path[1:], nested)
        del items[position]
        if not nested:
            for other in items:
                if other.get("parent") == path[0]:
                    del other["parent"]  # orphans, as maintenance.md says for flat schemes
        if not items:
            obj.pop(items_key, None)
        return True
    return False


def _answer(request: Request, outcome: ChangeOutcome) -> Response:
    results = outcome.results
    codes = {r.code for r in results}
    succeeded = [r for r in results if r.status == "Success"]
    if outcome.errors and not results:
        raise Unprocessable("; ".join(outcome.errors))
    if succeeded and len(succeeded) < len(results):
        status = 207
    elif not succeeded:
        status = codes.pop() if len(codes) == 1 else 409
    elif request.method == "POST" and all(r.code == 201 for r in succeeded):
        status = 201
    else:
        status = 200
    header = Header(sender=state_of(request).settings.sender_id)
    return Response(submission_response(results, header), status_code=status, media_type=MEDIA_TYPE)


routes = [
    Route("/rest/v2/structure", post, methods=["POST"]),
    Route("/rest/v2/structure/", post, methods=["POST"]),
    Route("/rest/v2/structure/{type}", post, methods=["POST"]),
    Route("/rest/v2/structure/{type}/", post, methods=["POST"]),
    Route("/rest/v2/structure/{type}/{agency}/{id}/{version}", put, methods=["PUT"]),
    Route("/rest/v2/structure/{type}/{agency}/{id}/{version}", delete, methods=["DELETE"]),
    Route("/rest/v2/structure/{type}/{agency}/{id}/{version}/{item}", delete, methods=["DELETE"]),
]
