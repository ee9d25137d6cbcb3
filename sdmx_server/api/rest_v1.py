"""SDMX REST v1 routes (SDMX 2.1, spec 1.5) under /rest/.

Handlers only glue: the URL is parsed by query.parse_v1, the representation chosen by
formats.media, the rows selected by store.select, the bytes written by the chosen row's writer.
Paths are split here by hand so that trailing slashes and empty segments mean what clients
mean by them.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import chain

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from sdmx_server.api.language import accept_languages
from sdmx_server.api.state import ServerState
from sdmx_server.api.schemas import schema_response
from sdmx_server.api.structures import structure_response
from sdmx_server.errors import NoResults, NotImplemented_, SyntaxError_
from sdmx_server.formats.data_message import DataMessage, DataSetPart
from sdmx_server.query.layout import DataLayout
from sdmx_server.formats.media import negotiate
from sdmx_server.formats.ml21 import Header
from sdmx_server.query.keys import fit_key
from sdmx_server.query.model import DataQuery
from sdmx_server.query.parse_v1 import parse_data_query, parse_schema_query_v1, parse_structure_query
from sdmx_server.registry.index import artefact_key
from sdmx_server.service.labels import labels_for
from sdmx_server.store.select import select_batches

#: Resources of the v1.5.0 spec not served: availability and reference metadata are other APIs;
#: namealiasscheme is in the spec's YAML only, and no class of the information model holds it.
NOT_YET = ("availableconstraint", "metadata", "namealiasscheme")


def _segments(path: str) -> list[str]:
    parts = path.split("/")
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def _state(request: Request) -> ServerState:
    return request.app.state.server


async def data(request: Request) -> Response:
    parts = _segments(request.path_params["path"])
    if not parts or not parts[0] or len(parts) > 3:
        raise SyntaxError_("expected /data/{flowRef}/{key}/{providerRef}")
    query = parse_data_query(parts[0], parts[1] if len(parts) > 1 else None,
                             parts[2] if len(parts) > 2 else None, request.query_params)
    choice = negotiate("data", "v1", request.headers.get("accept"), request.query_params.get("format"))
    row = choice.row
    time_series = bool(row.options.get("time_series"))
    # Names only when the client asked for them (SDMX-CSV labels=name|both).
    with_labels = choice.parameters.get("labels", "id").lower() in ("name", "both")
    message = await run_in_threadpool(_prepare_data, _state(request), query, time_series, with_labels)
    message = replace(message, parameters=choice.parameters,
                      languages=accept_languages(request.headers.get("accept-language")))
    body = row.load()(message, **row.options)
    return StreamingResponse(body, media_type=row.content_type, headers={"Vary": "Accept, Accept-Language"})


def _prepare_data(state: ServerState, query: DataQuery, time_series: bool, with_labels: bool = False):
    registry = state.registry()
    flows = registry.select("dataflow", query.agencies, query.ids, query.versions)
    wanted = f"{'+'.join(query.agencies or ('*',))}:{'+'.join(query.ids or ('*',))}({query.versions})"
    if not flows:
        raise NoResults(f"dataflow {wanted} not found")
    if len(flows) > 1:
        agencies = ", ".join(artefact_key(f)[0] for f in flows)
        raise SyntaxError_(f"dataflow {wanted} exists for several agencies ({agencies}); name the agency")
    dataflow = flows[0]
    if dataflow.structure is None or not registry.contains(dataflow.structure, "datastructure"):
        raise NoResults(f"dataflow {ref.id} has no data structure definition")
    if query.providers is not None:
        raise NotImplemented_("data providers are not modelled yet: use providerRef 'all'")
    shape = state.shape(dataflow.structure)
    requested = query.dimension_at_observation
    if time_series:
        if requested not in (None, shape.time.id if shape.time else None):
            raise SyntaxError_("time series formats put the time dimension at the observation level")
        if shape.time is None:
            raise SyntaxError_("this dataflow has no time dimension: time series formats do not apply")
    layout = DataLayout.build(shape, requested, query.detail)
    keys = None if query.keys is None else tuple(fit_key(k, shape.dimension_ids) for k in query.keys)
    query = replace(query, keys=None if keys is None or None in keys else keys)
    flow = artefact_key(dataflow)
    fact = state.fact_table(flow, shape)
    if fact is None:
        raise NoResults(f"dataflow {flow[0]}:{flow[1]}({flow[2]}) has no data yet")
    batches = select_batches(state.db, fact, query, layout, state.settings.batch_rows)
    first = next(batches, None)
    if first is None:
        batches.close()  # gives the database connection back now, not at garbage collection
        raise NoResults("no data match the query")
    header = Header(sender=state.settings.sender_id)
    labels = labels_for(registry, dataflow, dataflow.structure, shape) if with_labels else None
    return DataMessage(header, [DataSetPart(flow, shape, layout, chain([first], batches), labels=labels)])


async def structure(request: Request) -> Response:
    resource = request.path_params["resource"]
    if resource in NOT_YET:
        raise NotImplemented_(f"the {resource} resource is not built yet")
    parts = _segments(request.path_params.get("path", ""))
    if len(parts) > 4:
        raise SyntaxError_(f"expected /{resource}/{{agencyID}}/{{resourceID}}/{{version}}/{{itemID}}")
    parts += [None] * (4 - len(parts))
    query = parse_structure_query(resource, *parts, request.query_params)
    return await structure_response(request, query, "v1")


async def schema(request: Request) -> Response:
    query = parse_schema_query_v1(_segments(request.path_params["path"]), request.query_params)
    return await schema_response(request, query)


routes = [
    Route("/rest/data/{path:path}", data),
    Route("/rest/schema/{path:path}", schema),
    Route("/rest/{resource}", structure),
    Route("/rest/{resource}/{path:path}", structure),
]
