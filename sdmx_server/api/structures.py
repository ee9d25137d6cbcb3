"""Answering structure queries, for REST v1 and v2 alike: negotiate, select, write.

The query arrives parsed (query/parse_v1.py or parse_v2.py); the format comes from the media
table; `Accept-Language` picks the languages of names and descriptions; the registry (or, for
`asOf`, the registry as it was) selects; the chosen row's writer writes.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from sdmx_server.access.gate import Gate
from sdmx_server.api.access import gate_of
from sdmx_server.api.answers import base_headers
from sdmx_server.api.conditional import not_modified, not_modified_response, structure_validators
from sdmx_server.api.language import accept_languages
from sdmx_server.api.state import ServerState
from sdmx_server.errors import NotAcceptable
from sdmx_server.formats.media import Answer, MediaType, negotiate, offered
from sdmx_server.formats.structure_ml21_dispatch import NotExpressible
from sdmx_server.formats.ml21 import Header
from sdmx_server.kinds import Kind
from sdmx_server.ops.requests import note
from sdmx_server.query.model import StructureQuery
from sdmx_server.registry.index import Registry
from sdmx_server.registry.select import Selection, select_structures
from sdmx_server.registry.store import read_as_of
from sdmx_server.types import ApiVersion


def state_of(request: Request) -> ServerState:
    return request.app.state.server


async def structure_response(request: Request, query: StructureQuery, api: ApiVersion) -> Response:
    row = negotiate("structure", api, request.headers.get("accept"), request.query_params.get("format")).row
    note(request.scope, resource="structure", format=row.name)
    languages = accept_languages(request.headers.get("accept-language"))
    state = state_of(request)
    gate, validators, headers = await run_in_threadpool(viewed_validators, state, request, row, languages)
    if not_modified(request, validators):
        return not_modified_response(validators, headers, request.scope.get("state", {}).get("coding", "identity"))
    body = await run_in_threadpool(structure_body, state, query, row, languages, gate)
    return Response(body, media_type=row.content_type, headers=headers)


def viewed_validators(state: ServerState, request: Request, row: MediaType, languages):
    """The request's gate, and the validators and headers of a structure answer as its principal
    sees the registry: a view other than the public's has tags of its own and is private. (One
    worker-thread hop for all three: a hop costs as much as the gate.)"""
    gate = gate_of(request)
    key = gate.view.key
    validators = structure_validators(state, request, row, languages, key)
    headers = base_headers(validators, "Accept, Accept-Encoding, Accept-Language", state.settings.max_age,
                           private=bool(key))
    return gate, validators, headers


def structure_body(state: ServerState, query: StructureQuery, row: MediaType, languages, gate: Gate) -> bytes:
    registry = gate.registry  # the registry the view was made of, even if a newer one came meanwhile
    view = gate.view
    if query.as_of is not None:
        registry = Registry.build(read_as_of(state.db, query.as_of), registry.generation)
        view = gate.view_of(registry)
    selected = select_structures(registry, query, expressible(row), _format_name(row), view)
    return write_selection(row, selected, Header(sender=state.settings.sender_id), languages, answer="structure")


def write_selection(row: MediaType, selected: Selection, header: Header, languages, answer: Answer) -> bytes:
    """The selection in the row's format. What the format cannot express is a 406 when the
    query named it, and is left out when it only came along (references, any type)."""
    writer = row.load()
    try:
        return writer(selected, header, languages=languages)
    except NotExpressible as first:
        failure = first
    kept = []
    for position, item in enumerate(selected):
        try:
            writer([item], header, languages=languages)
        except NotExpressible as exc:
            if position < selected.required:
                raise NotAcceptable(f"{exc}; ask for another format", offered(answer, row.apis[0])) from None
            continue
        kept.append(item)
    if not kept:
        raise NotAcceptable(f"{failure}; ask for another format", offered(answer, row.apis[0])) from None
    return writer(kept, header, languages=languages)


def expressible(row: MediaType):
    """Which kinds the row's format can write (the kinds table says which format has which)."""
    column = {
        ("xml", "2.1"): "ml21",
        ("xml", "3.0.0"): "ml30",
        ("xml", "3.1.0"): "ml30",
        ("json", "1.0.0"): "json10",
        ("json", "2.0.0"): "json20",
        ("json", "2.1.0"): "json20",
    }.get((row.family, row.version or ""))

    def can(kind: Kind) -> bool:
        return column is None or getattr(kind, column) is not None

    return can


def _format_name(row: MediaType) -> str:
    family = {"xml": "SDMX-ML", "json": "SDMX-JSON", "csv": "SDMX-CSV"}.get(row.family, row.type)
    return f"{family} {row.version}" if row.version else family
