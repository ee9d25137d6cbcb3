"""Availability routes: REST v1 `/rest/availableconstraint/{flow}/{key}/{provider}/{componentID}`
and REST v2 `/rest/v2/availability/{context}/{agencyID}/{resourceID}/{version}/{key}/{componentID}`.

Handlers only glue: the URL becomes an AvailabilityQuery, service/availability.py computes
from the data as they are now, service/availability_answer.py makes the constraint (and the
referenced artefacts), and the negotiated structure row of formats/media.py writes it, as for
any structure answer (api/structures.py).

(Interim: the v2 URL parser belongs to query/parse_data_v2.py, being written on another
branch; `_parse_v2` here does the same until it is merged.)
"""

from __future__ import annotations

from typing import Mapping

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sdmx_server.api.language import accept_languages
from sdmx_server.api.structures import state_of, write_selection
from sdmx_server.errors import NotImplemented_, SyntaxError_
from sdmx_server.formats.media import negotiate
from sdmx_server.formats.ml21 import Header
from sdmx_server.query.keys import parse_key
from sdmx_server.query.model import OPERATORS, AvailabilityQuery, ComponentFilter, Condition, DataQuery
from sdmx_server.query.params import ID, NESTED_NCNAME, lower_params, path_segments, values, version_query
from sdmx_server.query.parse_v1 import parse_data_query
from sdmx_server.service.availability import availability
from sdmx_server.service.availability_answer import REFERENCE_KINDS, selection
from sdmx_server.types import ApiVersion

V1_SHAPE = "/availableconstraint/{flowRef}/{key}/{providerRef}/{componentID}"
V2_SHAPE = "/availability/{context}/{agencyID}/{resourceID}/{version}/{key}/{componentID}"
MODES = ("exact", "available")
CONTEXTS = ("dataflow", "datastructure", "provisionagreement", "*")
_REFERENCES = ("none", "all", *REFERENCE_KINDS)


async def available_v1(request: Request) -> Response:
    segments = request.path_params.get("path", "").split("/")
    flow, key, provider, component = path_segments(segments, 4, V1_SHAPE)
    if flow is None:
        raise SyntaxError_(f"expected {V1_SHAPE}")
    p = lower_params(request.query_params)
    if "updatedafter" in p:
        raise NotImplemented_("the parameter updatedAfter is not supported yet")
    allowed = {"mode", "references", "startperiod", "endperiod", "format", "reportingyearstartday"}
    data = parse_data_query(flow, key, provider, {k: v for k, v in request.query_params.items()
                                                  if k.lower() in allowed})
    query = AvailabilityQuery(data, _component(component, "all"), _mode(p), _references(p))
    return await _answer(request, query, "v1")


async def available_v2(request: Request) -> Response:
    query = parse_availability_v2(request.path_params.get("path", "").split("/"), request.query_params)
    return await _answer(request, query, "v2")


def parse_availability_v2(segments: list[str], params: Mapping[str, str]) -> AvailabilityQuery:
    context, agency, resource, version, key, component = path_segments(segments, 6, V2_SHAPE)
    context = context or "*"
    if context not in CONTEXTS:
        raise SyntaxError_(f"context {context!r}: expected one of {', '.join(CONTEXTS)}")
    p = lower_params(params)
    for name in ("updatedafter", "asof"):
        if name in p:
            raise NotImplemented_(f"the parameter {name} is not supported yet")
    keys = None
    if key not in (None, "*"):
        parsed = tuple(parse_key(k) for k in dict.fromkeys(key.split(",")))
        keys = None if any(k is None for k in parsed) else parsed
    filters = []
    for name, value in params.items():
        if name.startswith("c[") and name.endswith("]"):
            filters.append(_component_filter(name[2:-1], value))
    if len({f.component for f in filters}) != len(filters):
        raise SyntaxError_("c[...]: one filter per component")
    data = DataQuery(
        context=context,  # type: ignore[arg-type]
        agencies=values(agency, NESTED_NCNAME, "agencyID", "an agency id", sep=",", any_words=("*",)),
        ids=values(resource, ID, "resourceID", "an artefact id", sep=",", any_words=("*",)),
        versions=version_query(version, "v2"),
        keys=keys,
        filters=tuple(filters),
        api="v2",
    )
    return AvailabilityQuery(data, _component(component, "*"), _mode(p), _references(p))


def _component_filter(component: str, text: str) -> ComponentFilter:
    if not ID.fullmatch(component):
        raise SyntaxError_(f"c[{component}]: not a component id")
    alternatives = []
    for alternative in text.split(","):
        conditions = []
        for part in alternative.split("+"):
            operator, sep, value = part.partition(":")
            if not sep or operator not in OPERATORS:
                operator, value = "eq", part
            if not value:
                raise SyntaxError_(f"c[{component}]={text!r}: an empty value")
            conditions.append(Condition(operator, value))  # type: ignore[arg-type]
        alternatives.append(tuple(conditions))
    return ComponentFilter(component, tuple(alternatives))


def _component(text: str | None, any_word: str) -> str | None:
    if text in (None, "", any_word):
        return None
    if not ID.fullmatch(text):
        raise SyntaxError_(f"componentID {text!r} is not an id")
    return text


def _mode(p: dict[str, str]) -> str:
    mode = p.get("mode", "exact").lower() or "exact"
    if mode not in MODES:
        raise SyntaxError_(f"mode={mode!r}: expected exact or available")
    return mode


def _references(p: dict[str, str]) -> tuple[str, ...]:
    found = tuple(dict.fromkeys(r.strip().lower() for r in p.get("references", "none").split(",")))
    for r in found:
        if r not in _REFERENCES:
            raise SyntaxError_(f"references={r!r}: expected one of {', '.join(_REFERENCES)}")
    return found


async def _answer(request: Request, query: AvailabilityQuery, api: ApiVersion) -> Response:
    row = negotiate("structure", api, request.headers.get("accept"), request.query_params.get("format")).row
    languages = accept_languages(request.headers.get("accept-language"))
    state = state_of(request)

    def body() -> bytes:
        answers = availability(state, query)
        selected = selection(state.registry(), answers, query.references)
        return write_selection(row, selected, Header(sender=state.settings.sender_id), languages, answer="structure")

    content = await run_in_threadpool(body)
    # Computed from the data as they are now: never kept by a cache without asking again.
    headers = {"Vary": "Accept, Accept-Language", "Cache-Control": "no-cache"}
    return Response(content, media_type=row.content_type, headers=headers)


routes = [
    Route("/rest/availableconstraint", available_v1),
    Route("/rest/availableconstraint/{path:path}", available_v1),
    Route("/rest/v2/availability", available_v2),
    Route("/rest/v2/availability/{path:path}", available_v2),
]
