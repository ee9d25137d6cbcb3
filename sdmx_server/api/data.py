"""Answering data queries, for REST v1 and v2 alike: negotiate, resolve, execute, write.

The query arrives parsed (query/parse_v1.py or parse_data_v2.py); the format comes from the
media table; the data service (service/data.py) plans and runs the query; the chosen row's
writer writes. `Accept-Language` picks the languages of labels, which are only built for
writers that show them. REST v2 answers "no data" with 404 or, when the operator prefers the
spec's "empty but healthy" reading, with 204 (settings.no_data_status); REST v1 keeps 404.
"""

from __future__ import annotations

from dataclasses import replace

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from sdmx_server.api.access import gate_of
from sdmx_server.api.answers import close_batches, closing_chunks, data_answer
from sdmx_server.api.conditional import data_validators
from sdmx_server.api.embargo_view import reads_embargoed
from sdmx_server.api.language import accept_languages
from sdmx_server.api.observe import flow_refs
from sdmx_server.api.structures import state_of
from sdmx_server.errors import NoResults, NotAcceptable
from sdmx_server.formats.data_message import carries_actions
from sdmx_server.formats.media import Choice, negotiate
from sdmx_server.ops.requests import note
from sdmx_server.query.model import DataQuery
from sdmx_server.service.data import execute, resolve
from sdmx_server.service.history import is_history
from sdmx_server.service.preview import previewed
from sdmx_server.types import ApiVersion

VARY = "Accept, Accept-Encoding, Accept-Language"
#: Formats that answer updatedAfter and includeHistory (formats/data_message.carries_actions).
ACTION_FORMATS = ("application/vnd.sdmx.genericdata+xml;version=2.1", "application/vnd.sdmx.data+xml;version=3.0.0",
                  "application/vnd.sdmx.data+csv;version=2.0.0", "application/vnd.sdmx.data+json;version=2.0.0")


def needs_labels(choice: Choice) -> bool:
    """Whether the writer shows names: SDMX-CSV with labels=name|both, and every format that
    is neither SDMX-ML nor SDMX-CSV (SDMX-JSON, JSON-stat, Excel)."""
    if choice.parameters.get("labels", "id").lower() != "id":
        return True
    return choice.row.family not in ("xml", "csv")


async def data_response(request: Request, query: DataQuery, api: ApiVersion) -> Response:
    choice = negotiate("data", api, request.headers.get("accept"), request.query_params.get("format"))
    row = choice.row
    note(request.scope, resource="data", format=row.name)
    state = state_of(request)
    languages = accept_languages(request.headers.get("accept-language"))

    time_series = bool(row.options.get("time_series"))
    if (query.updated_after is not None or query.include_history) and not carries_actions(row.writer, row.options):
        # What changed includes deletions, and history has validity times: a format that
        # cannot say either would answer something else than what was asked.
        raise NotAcceptable(
            f"{row.content_type} cannot mark deleted observations or data set validity, which updatedAfter and "
            "includeHistory answers need: ask for SDMX-ML, SDMX-JSON or SDMX-CSV 2.0/2.1", list(ACTION_FORMATS))

    embargoed = None  # the asker's, once the plan has its gate

    def produce():
        message = replace(execute(state, plan, embargoed), languages=languages, parameters=dict(choice.parameters))
        try:
            chunks = row.load()(message, **row.options)
        except Exception:
            close_batches(message)  # a writer refusing before the first byte (406): the connection goes back now
            raise
        return closing_chunks(chunks, message)

    try:
        # The plan names the dataflows before any data is read: validators first, so that a
        # 304 or a kept answer costs no data read (api/answers.py).
        plan = await run_in_threadpool(
            lambda: resolve(state, query, time_series=time_series, labels=needs_labels(choice), gate=gate_of(request)))
        note(request.scope, dataflows=flow_refs(plan.flows))  # those the asker may read, as the gate said
        # Embargoed values shown to those who may read them (service/preview.py); None for others.
        embargoed = None if is_history(query) else reads_embargoed(plan.gate)
        validators = await run_in_threadpool(
            lambda: data_validators(state, request, row, languages, list(plan.flows), query.as_of,
                                    parameters=dict(choice.parameters), regions=plan.regions,
                                    pending=previewed(state.db, plan.flows, embargoed)))
        return await data_answer(request, validators, row.content_type, VARY, produce, private=plan.private)
    except NoResults:
        if api == "v2" and state.settings.no_data_status == 204:
            return Response(status_code=204, headers={"Vary": VARY})
        raise
