"""Answering reference metadata queries (REST v2 `/metadata/...`): select metadata sets, write.

The three queries (query/parse_v2.py) select metadata sets among the registry's entries, from
their stored form (no model is built for a set that is not returned):

- by metadata set (`/metadata/metadataset/{providerID}/{metadatasetID}/{version}`): the sets
  of those providers, ids and versions (`~` by default: each set's latest version);
- by metadataflow (`/metadata/metadataflow/{agencyID}/{resourceID}/{version}/{providerID}`):
  the latest version of every set whose metadataflow reference resolves to one of the
  matching metadataflows, by those providers;
- by structure (`/metadata/structure/{artefactType}/{agencyID}/{resourceID}/{version}`): the
  latest version of every set with a target in one of the matching structures: the structure
  itself, or an item or component of it (a report on a code of CL_INDICATOR is metadata of
  CL_INDICATOR).

**Providers.** SDMX 3.0 makes a metadata set maintainable and says its agency *is* its
metadata provider (SDMX-ML 3.0 MetadataSetType): the provider is named by the set's `agencyID`,
which is the id of a metadata provider of a metadata provider scheme, or else of an agency (an
agency reporting its own metadata, as the demo's SSO does). So `providerID` `P` selects the
sets whose agencyID is `P`; `A.P` (REST's AGENCY_ID.PROVIDER_ID) those whose agencyID is `P`
where a metadata provider scheme or agency scheme of agency `A` in the registry lists `P`, or
whose agencyID is the nested agency id `A.P`. A provider no scheme of `A` lists is not `A`'s.

Sets reported against a metadata provision agreement only (no metadataflow) are found by the
first and third queries; the registry cannot hold metadata provision agreements (sdmx1 has no
class for them), so the second cannot follow one to its metadataflow.

`detail=allstubs` writes stubs (identification and names); `asOf` answers from the registry's
history as structure queries do; `Accept-Language` keeps the languages asked for. Nothing found
is 404 (never 204: clients fail on an empty answer). Sets that target a dataflow the asker may
not read (or anything hidden with it, access/gate.py) are as invisible as the dataflow itself.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sdmx_server.access.gate import Gate
from sdmx_server.api.access import gate_of
from sdmx_server.api.language import accept_languages
from sdmx_server.api.state import ServerState
from sdmx_server.errors import NoResults, NotAcceptable
from sdmx_server.formats.media import MediaType, negotiate, offered
from sdmx_server.formats.ml21 import Header
from sdmx_server.formats.structure_ml21_dispatch import NotExpressible
from sdmx_server.query.model import (
    MetadataByFlowQuery,
    MetadataByStructureQuery,
    MetadataQuery,
    MetadataSetQuery,
    ProviderRef,
)
from sdmx_server.query.parse_v2 import parse_metadata_query
from sdmx_server.registry.codec.base import CodecError, parse_urn
from sdmx_server.registry.index import Entry, Registry, Visible
from sdmx_server.registry.select import QUERYABLE
from sdmx_server.registry.store import read_as_of
from sdmx_server.versions import LATEST

METADATASET = "metadataset"
#: Organisation schemes whose items may be metadata providers, and the member listing them.
_PROVIDER_SCHEMES = (("metadataproviderscheme", "metadataProviders"), ("agencyscheme", "agencies"))


async def metadata(request: Request) -> Response:
    path = request.path_params.get("path", "")
    query = parse_metadata_query(path.split("/") if path else [], request.query_params)
    return await metadata_response(request, query)


#: The routes api/rest_v2.py mounts (before its catch-all).
routes = [
    Route("/rest/v2/metadata", metadata),
    Route("/rest/v2/metadata/{path:path}", metadata),
]


async def metadata_response(request: Request, query: MetadataQuery) -> Response:
    row = negotiate("metadata", "v2", request.headers.get("accept"), request.query_params.get("format")).row
    languages = accept_languages(request.headers.get("accept-language"))
    gate, body = await run_in_threadpool(
        lambda: (g := gate_of(request), metadata_body(request.app.state.server, query, row, languages, g)))
    headers = {"Vary": "Accept, Accept-Language"}
    if gate.view.key:
        headers["Cache-Control"] = "private"  # a view with non-public artefacts: for this principal only
    return Response(body, media_type=row.content_type, headers=headers)


def metadata_body(state: ServerState, query: MetadataQuery, row: MediaType, languages, gate: Gate) -> bytes:
    registry = gate.registry
    view = gate.view
    if query.as_of is not None:
        registry = Registry.build(read_as_of(state.db, query.as_of), registry.generation)
        view = gate.view_of(registry)
    entries = select_metadata(registry, query, view)
    detail = "stub" if query.detail == "allstubs" else "full"
    selected = [(registry.model(e), detail) for e in entries]
    try:
        return row.load()(selected, Header(sender=state.settings.sender_id), languages=languages, **row.options)
    except NotExpressible as exc:
        raise NotAcceptable(f"{exc}; ask for another format", offered("metadata", "v2")) from None


# -- selection --------------------------------------------------------------------------------


def select_metadata(registry: Registry, query: MetadataQuery, view: Visible | None = None) -> list[Entry]:
    """The metadata sets answering the query that `view` shows (None: the public's view),
    sorted by agency, id and version; NoResults when there are none."""
    view = view if view is not None else registry.public()
    if isinstance(query, MetadataSetQuery):
        found = [e for e in registry.select_entries(METADATASET, None, query.ids, query.versions, view)
                 if provided_by(registry, e.agency, query.providers)]
        nothing = "no metadata set matches the query"
    elif isinstance(query, MetadataByFlowQuery):
        flows = registry.select_entries("metadataflow", query.agencies, query.ids, query.versions, view)
        if not flows:
            raise NoResults(f"no metadataflow matches {_named(query.agencies, query.ids)}")
        keys = {f.key for f in flows}
        found = [e for e in _latest_sets(registry, view)
                 if (flow := _flow_of(registry, e)) is not None and flow.key in keys
                 and provided_by(registry, e.agency, query.providers)]
        nothing = f"no metadata set is reported for the {_counted(len(flows), 'matching metadataflow')}" + (
            " by the providers asked for" if query.providers else "")
    elif isinstance(query, MetadataByStructureQuery):
        kinds = query.kinds if query.kinds is not None else QUERYABLE
        structures = [e for kind in kinds if kind != METADATASET
                      for e in registry.select_entries(kind, query.agencies, query.ids, query.versions, view)]
        if not structures:
            raise NoResults(f"no {query.resource} matches {_named(query.agencies, query.ids)}")
        keys = {s.key for s in structures}
        found = [e for e in _latest_sets(registry, view) if any(t.key in keys for t in targets_of(registry, e))]
        nothing = f"no metadata set targets the {_counted(len(structures), 'matching ' + query.resource)}"
    else:  # pragma: no cover - the parser makes only the three
        raise TypeError(f"not a metadata query: {query!r}")
    found = [e for e in found if _visible(registry, e, view)]
    if not found:
        raise NoResults(nothing)
    return found


def provided_by(registry: Registry, agency: str, wanted: tuple[ProviderRef, ...] | None) -> bool:
    """Whether a set of this agencyID is provided by one of the providers asked for (None: any);
    see the module docstring."""
    if wanted is None:
        return True
    return any(_provider_matches(registry, agency, ref) for ref in wanted)


def _provider_matches(registry: Registry, agency: str, ref: ProviderRef) -> bool:
    if ref.agency is None:
        return agency == ref.id
    if agency == f"{ref.agency}.{ref.id}":
        return True
    return agency == ref.id and ref.id in _organisations_of(registry, ref.agency)


def _organisations_of(registry: Registry, maintainer: str) -> set[str]:
    """Ids of the metadata providers and agencies that schemes of this agency list."""
    found: set[str] = set()
    for kind, member in _PROVIDER_SCHEMES:
        for entry in registry.entries(kind):
            if entry.agency == maintainer and not entry.is_stub:
                found.update(str(item.get("id")) for item in entry.json().get(member) or () if isinstance(item, dict))
    return found


def _latest_sets(registry: Registry, view: Visible) -> list[Entry]:
    return registry.select_entries(METADATASET, versions=LATEST, visible=view)


def _flow_of(registry: Registry, entry: Entry) -> Entry | None:
    urn = entry.json().get("metadataflow")
    return registry.resolve(urn) if isinstance(urn, str) else None


def targets_of(registry: Registry, entry: Entry) -> list[Entry]:
    """The artefacts a set's targets are, or are items or components of (those the registry
    holds; wildcard targets name no one artefact)."""
    found = []
    for urn in entry.json().get("targets") or ():
        try:
            u = parse_urn(urn, "")
        except CodecError:
            continue
        if "*" in u.agency or "*" in u.id or "*" in u.version:
            continue
        target = registry.resolve(u.maintainable)
        if target is not None:
            found.append(target)
    return found


def _visible(registry: Registry, entry: Entry, view: Visible) -> bool:
    """A set about an artefact the asker may not see is as invisible as the artefact (the view
    hides what names a hidden artefact already; its targets are checked all the same)."""
    return view(entry) and all(view(t) for t in targets_of(registry, entry))


def _named(agencies, ids) -> str:
    return f"{','.join(agencies) if agencies else '*'}:{','.join(ids) if ids else '*'}"


def _counted(n: int, what: str) -> str:
    return what if n == 1 else f"{n} {what}s"

