"""SDMX REST v2 (spec 2.2.2): structure, schema and reference metadata URLs into the query model.

Each parser takes the path segments after its resource word (`structure`, `schema`,
`metadata`) and the query parameters; never a request. Missing trailing segments take the
spec's defaults (`*` for types, agencies, ids and items, `~` for versions); an empty segment
(pysdmx ends paths with '/') counts as missing. Lists use `,`, `*` means any, versions follow
querying_versions.md (sdmx_server.versions). Parameter names and closed-set values match
without regard to case; unknown parameters are ignored; a bad value is a 400 naming the
parameter and what it allows. Beyond the spec, REST v1's `all` and its constraint and
organisation scheme type names are read as what they mean (clients send them).

Data and availability queries of v2 are parsed elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping

from sdmx_server.errors import NotImplemented_, SyntaxError_
from sdmx_server.kinds import BY_NAME, BY_V1, BY_V2, KINDS, V2_ANY
from sdmx_server.query.model import (
    METADATA_DETAILS,
    MetadataByFlowQuery,
    MetadataByStructureQuery,
    MetadataQuery,
    MetadataSetQuery,
    ProviderRef,
    SchemaQuery,
    StructureQuery,
)
from sdmx_server.query.params import (
    ANY_VALUE,
    ID,
    NCNAME,
    NESTED_ID,
    NESTED_NCNAME,
    as_of,
    boolean,
    choice,
    dimension_at_observation,
    lower_params,
    path_segments,
    values,
    version_query,
)
from sdmx_server.types import REFERENCE_WALKS, STRUCTURE_DETAILS
from sdmx_server.versions import AllVersions, AnyOf, Exactly, Wildcard

STRUCTURE_SHAPE = "/structure/{artefactType}/{agencyID}/{resourceID}/{version}/{itemID}"
SCHEMA_SHAPE = "/schema/{context}/{agencyID}/{resourceID}/{version}"
METADATA_SHAPES = (
    "/metadata/metadataset/{providerID}/{metadatasetID}/{version}",
    "/metadata/structure/{artefactType}/{agencyID}/{resourceID}/{version}",
    "/metadata/metadataflow/{agencyID}/{resourceID}/{version}/{providerID}",
)
ARTEFACT_TYPES: tuple[str, ...] = tuple(BY_V2) + (V2_ANY,)
#: REST v1 names read on v2 paths too: sdmx1 in SDMX 3.0 mode has no `dataconstraint` and
#: asks for /structure/contentconstraint/...; the spec lists organisationscheme for metadata
#: queries. Each stands for the kinds it selects in v1 (the constraint role stays in
#: `resource`).
V1_TYPES: dict[str, tuple[str, ...]] = {
    name: tuple(k.name for k in BY_V1[name])
    for name in ("contentconstraint", "actualconstraint", "allowedconstraint", "organisationscheme")
}
#: The spec's own example writes /structure/all/ECB; `all` is REST v1's word for `*`.
_TYPE_ALIASES = {"all": V2_ANY}
#: The types whose URL may name items: item schemes and value lists.
ITEM_TYPES: tuple[str, ...] = tuple(k.v2 for k in KINDS if k.v2 and k.item_scheme)
SCHEMA_CONTEXTS: tuple[str, ...] = (
    "datastructure", "metadatastructure", "dataflow", "metadataflow", "provisionagreement",
    "metadataprovisionagreement",
)
#: `references` may name kinds by their v2 type, and structureset (listed by the spec's YAML).
REFERENCE_KINDS: tuple[str, ...] = tuple(BY_V2) + ("structureset",)
#: Listed by the spec's YAML, but no kind of the information model holds it: 501, not 400.
_UNKNOWN_REFERENCE_KINDS = ("namealiasscheme",)
_ANY = ("*",)


def parse_structure_query(segments: list[str], params: Mapping[str, str]) -> StructureQuery:
    """`/structure/{artefactType}/{agencyID}/{resourceID}/{version}/{itemID}` (segments after
    `structure`)."""
    artefact_type, agency, artefact_id, version, item = path_segments(segments, 5, STRUCTURE_SHAPE)
    resource, kinds = _artefact_type(artefact_type, "artefactType")
    if item is not None and kinds is not None and not all(BY_NAME[k].item_scheme for k in kinds):
        raise SyntaxError_(
            f"itemID {item!r}: {resource} has no items; itemID is only for {', '.join(ITEM_TYPES)}"
        )
    p = lower_params(params)
    return StructureQuery(
        kinds=kinds,
        resource=resource,
        agencies=values(agency, NESTED_NCNAME, "agencyID", "an agency id", sep=",", any_words=_ANY),
        ids=values(artefact_id, ID, "resourceID", "an artefact id", sep=",", any_words=_ANY),
        versions=version_query(version, "v2"),
        items=values(item, ANY_VALUE if resource == "valuelist" else NESTED_ID, "itemID", "an item id",
                     sep=",", any_words=_ANY),
        detail=choice(p, "detail", STRUCTURE_DETAILS, "full"),  # type: ignore[arg-type]
        references=references(p.get("references")),
        as_of=as_of(p),
        api="v2",
    )


def references(text: str | None) -> tuple[str, ...]:
    """`references`: a `,` list of walks (none, parents, ..., ancestors, all) and types, as
    walk names and kind names in the order given."""
    if text is None or text == "":
        return ("none",)
    found: list[str] = []
    for value in (v.lower() for v in text.split(",")):
        if value in REFERENCE_WALKS:
            name = value
        elif value in REFERENCE_KINDS:
            name = BY_V2[value].name if value in BY_V2 else BY_NAME[value].name
        elif value in V1_TYPES:  # sdmx1 in SDMX 3.0 mode may send REST v1 names
            found.extend(k for k in V1_TYPES[value] if k not in found)
            continue
        elif value in _UNKNOWN_REFERENCE_KINDS:
            raise NotImplemented_(f"references={text!r}: {value} is not a kind this server holds")
        else:
            raise SyntaxError_(
                f"references={text!r}: {value!r} is not one of {', '.join(REFERENCE_WALKS)} "
                f"or an artefact type ({', '.join(REFERENCE_KINDS)}); several are joined by ','"
            )
        if name not in found:
            found.append(name)
    if len(found) > 1 and "none" in found:
        found.remove("none")  # 'none' next to anything else adds nothing
    return tuple(found)


def parse_schema_query(segments: list[str], params: Mapping[str, str]) -> SchemaQuery:
    """`/schema/{context}/{agencyID}/{resourceID}/{version}` (segments after `schema`): one
    artefact, one version (`~` by default; `+`/`~` forms allowed, `*` and lists are not)."""
    context, agency, artefact_id, version = path_segments(segments, 4, SCHEMA_SHAPE)
    if context not in SCHEMA_CONTEXTS:
        raise SyntaxError_(f"context={context!r}: expected one of {', '.join(SCHEMA_CONTEXTS)} ({SCHEMA_SHAPE})")
    _one(agency, NESTED_NCNAME, "agencyID", "an agency id")
    _one(artefact_id, ID, "resourceID", "an artefact id")
    versions = version_query(version, "v2")
    if (isinstance(versions, (AllVersions, AnyOf)) or (isinstance(versions, Wildcard) and versions.op == "*")
            or (isinstance(versions, Exactly) and len(versions.versions) > 1)):
        raise SyntaxError_(
            f"version={version!r}: a schema is for one version; give one version, or a '+' or '~' form"
        )
    p = lower_params(params)
    return SchemaQuery(
        context=BY_V2[context].name,
        agency=agency,  # type: ignore[arg-type]  # checked by _one
        id=artefact_id,  # type: ignore[arg-type]
        versions=versions,
        dimension_at_observation=dimension_at_observation(p),
        explicit_measure=boolean(p, "explicitmeasure", "explicitMeasure"),
        deletion=boolean(p, "deletion", "deletion"),
        as_of=as_of(p),
        api="v2",
    )


def parse_metadata_query(segments: list[str], params: Mapping[str, str]) -> MetadataQuery:
    """The three metadata queries (segments after `metadata`)."""
    head, rest = (segments[0], segments[1:]) if segments else ("", [])
    p = lower_params(params)
    detail = choice(p, "detail", METADATA_DETAILS, "full")
    moment = as_of(p)
    if head == "metadataset":
        provider, set_id, version = path_segments(rest, 3, METADATA_SHAPES[0])
        return MetadataSetQuery(
            providers=providers(provider),
            ids=values(set_id, NESTED_NCNAME, "metadatasetID", "a metadata set id", sep=",", any_words=_ANY),
            versions=version_query(version, "v2"),
            detail=detail,  # type: ignore[arg-type]
            as_of=moment,
        )
    if head == "metadataflow":
        agency, flow_id, version, provider = path_segments(rest, 4, METADATA_SHAPES[2])
        return MetadataByFlowQuery(
            agencies=values(agency, NESTED_NCNAME, "agencyID", "an agency id", sep=",", any_words=_ANY),
            ids=values(flow_id, ID, "resourceID", "a metadataflow id", sep=",", any_words=_ANY),
            versions=version_query(version, "v2"),
            providers=providers(provider),
            detail=detail,  # type: ignore[arg-type]
            as_of=moment,
        )
    if head == "structure" or head in BY_V2:
        # The spec's own examples leave out `structure/` (/metadata/datastructure/ECB/...);
        # the YAML has it. Both are read the same; `metadataflow` keeps its own meaning.
        if head != "structure":
            rest = [head, *rest]
        artefact_type, agency, artefact_id, version = path_segments(rest, 4, METADATA_SHAPES[1])
        resource, kinds = _artefact_type(artefact_type, "artefactType")
        return MetadataByStructureQuery(
            kinds=kinds,
            resource=resource,
            agencies=values(agency, NESTED_NCNAME, "agencyID", "an agency id", sep=",", any_words=_ANY),
            ids=values(artefact_id, ID, "resourceID", "an artefact id", sep=",", any_words=_ANY),
            versions=version_query(version, "v2"),
            detail=detail,  # type: ignore[arg-type]
            as_of=moment,
        )
    raise SyntaxError_(f"{head!r} is not a metadata query: expected one of {'; '.join(METADATA_SHAPES)}")


def providers(text: str | None) -> tuple[ProviderRef, ...] | None:
    """`providerID`: a `,` list of `AGENCY.PROVIDER` or `PROVIDER` (any agency); `*`: any."""
    if text is None:
        return None
    found: list[ProviderRef] = []
    for value in dict.fromkeys(text.split(",")):
        if value == "*":
            return None
        agency, _, provider = value.rpartition(".")
        if not NCNAME.fullmatch(provider) or not (agency in ("", "*") or NESTED_NCNAME.fullmatch(agency)):
            raise SyntaxError_(
                f"providerID={text!r}: {value!r} is not a provider; expected PROVIDER_ID or AGENCY_ID.PROVIDER_ID, "
                "several joined by ',', or '*'"
            )
        found.append(ProviderRef(agency if agency not in ("", "*") else None, provider))
    return tuple(found)


def _artefact_type(text: str | None, name: str) -> tuple[str, tuple[str, ...] | None]:
    """The type as the URL named it, and the kind names it selects (None: any)."""
    resource = _TYPE_ALIASES.get(text or V2_ANY, text or V2_ANY)
    if resource == V2_ANY:
        return resource, None
    if resource in BY_V2:
        return resource, (BY_V2[resource].name,)
    if resource in V1_TYPES:
        return resource, V1_TYPES[resource]
    raise SyntaxError_(f"{name}={text!r}: expected one of {', '.join(ARTEFACT_TYPES)}")


def _one(text: str | None, pattern, name: str, what: str) -> None:
    if text is None or not pattern.fullmatch(text):
        raise SyntaxError_(
            f"{name}={text or ''!r}: a schema is for one artefact; expected {what} ({SCHEMA_SHAPE}), "
            "not a list or '*'"
        )
