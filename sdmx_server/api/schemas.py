"""Answering schema queries (v1 /rest/schema, v2 /rest/v2/schema): the XML schema that data of
one dataflow or DSD must follow, for a given dimension at the observation level."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from sdmx_server.api.structures import state_of
from sdmx_server.errors import NoResults, NotImplemented_
from sdmx_server.formats.data_layout import DataLayout
from sdmx_server.formats.media import negotiate
from sdmx_server.kinds import BY_NAME
from sdmx_server.query.model import SchemaQuery


async def schema_response(request: Request, query: SchemaQuery) -> Response:
    if query.context not in ("datastructure", "dataflow"):
        raise NotImplemented_(f"schemas for {query.context} are not built yet")
    if query.explicit_measure:
        raise NotImplemented_("explicit measures are not supported")
    if query.deletion:
        raise NotImplemented_("schemas for deletion messages are not built yet")
    row = negotiate("schema", query.api, request.headers.get("accept"), request.query_params.get("format")).row
    body = await run_in_threadpool(_schema_body, state_of(request), query, row)
    return Response(body, media_type=row.content_type, headers={"Vary": "Accept"})


def _schema_body(state, query: SchemaQuery, row) -> bytes:
    registry = state.registry()
    found = registry.select_entries(query.context, [query.agency], [query.id], query.versions)
    if len(found) != 1:
        raise NoResults(f"{query.context} not found" if not found else "several artefacts match; name one version")
    entry = found[0]
    artefact = registry.model(entry)
    dsd = artefact.structure if query.context == "dataflow" else artefact
    if dsd is None or not registry.contains(dsd, "datastructure"):
        raise NoResults("no data structure definition for this dataflow")
    shape = state.shape(dsd)
    layout = DataLayout.build(shape, query.dimension_at_observation)
    urn = BY_NAME[entry.kind].urn(entry.agency, entry.id, entry.version)
    return row.load()(urn, shape, layout)
