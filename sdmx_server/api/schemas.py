"""Answering schema queries (v1 /rest/schema, v2 /rest/v2/schema): what data of one context
(a dataflow, a DSD, a provision agreement) must look like.

Two kinds of answer, by the negotiated row:
- a schema (XSD) that structure-specific data validates against, for a given dimension at the
  observation level;
- a structure message "for communication" (REST v2 schema.md): the DSD, its codelists holding
  only the codes the constraints of the context allow (and their ancestors, so that the
  hierarchy stays whole), its concept schemes holding only the concepts it uses, and the
  constraints themselves.
"""

from __future__ import annotations

import dataclasses

from sdmx.model import common
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from sdmx_server.access.gate import Gate
from sdmx_server.api.conditional import not_modified, not_modified_response
from sdmx_server.api.language import accept_languages
from sdmx_server.api.structures import state_of, viewed_validators
from sdmx_server.errors import NoResults, NotImplemented_
from sdmx_server.query.layout import DataLayout
from sdmx_server.formats.media import MediaType, negotiate
from sdmx_server.formats.ml21 import Header
from sdmx_server.kinds import BY_NAME
from sdmx_server.query.model import SchemaQuery
from sdmx_server.registry.constraints import allowed_codes, attached_constraints
from sdmx_server.registry.index import Entry, Registry, Visible
from sdmx_server.registry.partial import components, dsd_of, used_parts
from sdmx_server.registry.shape import DataShape
from sdmx_server.registry.store import read_as_of


async def schema_response(request: Request, query: SchemaQuery) -> Response:
    if query.context not in ("datastructure", "dataflow", "provisionagreement"):
        raise NotImplemented_(f"schemas for {query.context} are not built yet")
    if query.explicit_measure:
        raise NotImplemented_("explicit measures are not supported")
    if query.deletion:
        raise NotImplemented_("schemas for deletion messages are not built yet")
    row = negotiate("schema", query.api, request.headers.get("accept"), request.query_params.get("format")).row
    languages = accept_languages(request.headers.get("accept-language"))
    state = state_of(request)
    gate, validators, headers = await run_in_threadpool(viewed_validators, state, request, row, languages)
    if not_modified(request, validators):
        return not_modified_response(validators, headers, request.scope.get("state", {}).get("coding", "identity"))
    body = await run_in_threadpool(_schema_body, state, query, row, languages, gate)
    return Response(body, media_type=row.content_type, headers=headers)


def _schema_body(state, query: SchemaQuery, row: MediaType, languages, gate: Gate) -> bytes:
    registry = gate.registry
    view = gate.view
    if query.as_of is not None:
        registry = Registry.build(read_as_of(state.db, query.as_of), registry.generation)
        view = gate.view_of(registry)
    found = registry.select_entries(query.context, [query.agency], [query.id], query.versions, view)
    if len(found) != 1:
        raise NoResults(f"{query.context} not found" if not found else "several artefacts match; name one version")
    context = found[0]
    dsd_entry = dsd_of(registry, context)
    if dsd_entry is None:
        raise NoResults(f"no data structure definition for {context.ref}")
    if row.type.startswith("application/vnd.sdmx.structure"):
        selected = communication(registry, context, dsd_entry, view)
        return row.load()(selected, Header(sender=state.settings.sender_id), languages=languages)
    shape = restricted(state.shape(registry.model(dsd_entry)), allowed_codes(registry, context))
    layout = DataLayout.build(shape, query.dimension_at_observation)
    return row.load()(BY_NAME[context.kind].urn(context.agency, context.id, context.version), shape, layout,
                      **row.options)


def restricted(shape: DataShape, allowed: dict[str, set[str]]) -> DataShape:
    """The shape with each constrained component's codes cut to what the constraints allow."""
    if not allowed:
        return shape

    def cut(component):
        if component.codes is None or component.id not in allowed:
            return component
        return dataclasses.replace(component, codes=component.codes & frozenset(allowed[component.id]))

    return dataclasses.replace(
        shape,
        dimensions=tuple(cut(c) for c in shape.dimensions),
        attributes=tuple(cut(c) for c in shape.attributes),
        measure=cut(shape.measure),
    )


def communication(registry: Registry, context: Entry, dsd_entry: Entry, view: Visible | None = None) -> list:
    """The structure message of REST v2 schema.md for a context: the DSD, its codelists and
    concept schemes cut to what the context uses and allows, and the constraints (those
    `view` shows: a constraint that also names a dataflow the asker may not see is left out)."""
    dsd = registry.model(dsd_entry)
    parts = used_parts(registry, [context], view)
    selected = [(dsd, "full")]
    seen: set[int] = set()
    for component in components(dsd):
        concept = component.concept_identity
        rep = component.local_representation or (concept.core_representation if concept is not None else None)
        for scheme in (concept.get_scheme() if concept is not None else None, rep.enumerated if rep else None):
            if isinstance(scheme, common.ItemScheme) and id(scheme) not in seen:
                seen.add(id(scheme))
                selected.append((parts.cut(scheme), "full"))
    for constraint in attached_constraints(registry, context, visible=view):
        selected.append((registry.model(constraint), "full"))
    return selected
