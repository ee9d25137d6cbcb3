"""Availability routes: REST v1 `/rest/availableconstraint/{flow}/{key}/{provider}/{componentID}`
and REST v2 `/rest/v2/availability/{context}/{agencyID}/{resourceID}/{version}/{key}/{componentID}`.

Handlers only glue: the URL becomes an AvailabilityQuery (query/parse_data_v2.py),
service/availability.py computes
from the data as they are now (or from what changed after `updatedAfter`),
service/availability_answer.py makes the constraint (and the referenced artefacts), and the
negotiated structure row of formats/media.py writes it, as for any structure answer
(api/structures.py).

Validators: an answer depends on the same inputs as a data answer over the same dataflows
(api/conditional.py `data_validators`: the request, the data stamps of the dataflows, the
generation of their structures), so it carries their ETag and Last-Modified, and a request
whose If-None-Match / If-Modified-Since still holds is a 304; every load of a dataflow read
changes the tag.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sdmx_server.api.access import gate_of
from sdmx_server.api.conditional import data_validators, not_modified, not_modified_response
from sdmx_server.api.embargo_view import reads_embargoed
from sdmx_server.api.language import accept_languages
from sdmx_server.api.limits import checked
from sdmx_server.api.observe import flow_refs
from sdmx_server.api.structures import state_of, write_selection
from sdmx_server.errors import NoResults, SyntaxError_
from sdmx_server.formats.media import negotiate
from sdmx_server.formats.ml21 import Header
from sdmx_server.ops.requests import note
from sdmx_server.query.model import AvailabilityQuery
from sdmx_server.query.params import path_segments
from sdmx_server.query.parse_data_v2 import parse_availability_query, parse_availability_query_v1
from sdmx_server.service.availability import availability, plan_of
from sdmx_server.service.availability_answer import selection
from sdmx_server.service.preview import previewed
from sdmx_server.types import ApiVersion

V1_SHAPE = "/availableconstraint/{flowRef}/{key}/{providerRef}/{componentID}"


async def available_v1(request: Request) -> Response:
    segments = request.path_params.get("path", "").split("/")
    flow, key, provider, component = path_segments(segments, 4, V1_SHAPE)
    if flow is None:
        raise SyntaxError_(f"expected {V1_SHAPE}")
    query = parse_availability_query_v1(flow, key, provider, component, request.query_params)
    return await _answer(request, query, "v1")


async def available_v2(request: Request) -> Response:
    # c[] filters are read from the raw query string: there '+' is AND and %2B a plus.
    raw = request.scope.get("query_string", b"").decode("utf-8", "replace")
    segments = request.path_params.get("path", "").split("/")
    query = parse_availability_query(segments if segments != [""] else [], request.query_params, raw)
    return await _answer(request, query, "v2")


async def _answer(request: Request, query: AvailabilityQuery, api: ApiVersion) -> Response:
    checked(request, query)
    row = negotiate("structure", api, request.headers.get("accept"), request.query_params.get("format")).row
    note(request.scope, resource="availability", format=row.name)
    languages = accept_languages(request.headers.get("accept-language"))
    state = state_of(request)

    embargoed = None

    def prepare():
        nonlocal embargoed
        gate = gate_of(request)
        plan = plan_of(state, query, gate)
        # Embargoed values counted for those who may read them (service/preview.py); None for others.
        embargoed = None if query.data.updated_after is not None else reads_embargoed(gate)
        pending = previewed(state.db, plan.flows, embargoed)
        return plan, data_validators(state, request, row, languages, list(plan.flows), pending=pending,
                                     regions=plan.regions)

    def body(plan) -> bytes:
        answers = availability(state, query, plan, embargoed)
        selected = selection(state.registry(), answers, query.references)  # a visible dataflow's own
        return write_selection(row, selected, Header(sender=state.settings.sender_id), languages, answer="structure")

    vary = "Accept, Accept-Language"
    try:
        plan, validators = await run_in_threadpool(prepare)
        note(request.scope, dataflows=flow_refs(plan.flows))
        # no-cache: a cache may keep the answer but asks again each time (a 304 while the
        # data and structures are as they were).
        headers = {"Vary": vary, "Cache-Control": "private, no-cache" if plan.private or validators.private else "no-cache",
                   **validators.headers()}
        if not_modified(request, validators):
            return not_modified_response(validators, headers, request.scope.get("state", {}).get("coding", "identity"))
        content = await run_in_threadpool(body, plan)
    except NoResults:
        # As for data (api/data.py): REST v2 may answer "no data" with 204, as configured.
        if api == "v2" and state.settings.no_data_status == 204:
            return Response(status_code=204, headers={"Vary": vary})
        raise
    return Response(content, media_type=row.content_type, headers=headers)


routes = [
    Route("/rest/availableconstraint", available_v1),
    Route("/rest/availableconstraint/{path:path}", available_v1),
    Route("/rest/v2/availability", available_v2),
    Route("/rest/v2/availability/{path:path}", available_v2),
]
