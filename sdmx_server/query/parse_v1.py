"""SDMX REST v1 (SDMX 2.1, spec 1.5): URL path and query parameters into the query model.

Parameter names are matched without regard to case, as clients in the wild send both
`startPeriod` and `startperiod`; unknown parameters are ignored.

Structure queries follow 4_3_structural_queries.md: every resource, `+` lists, the keywords
`all` and `latest`, an itemID only for item schemes and hierarchicalcodelist; actualconstraint
and allowedconstraint select data constraints, the role kept in `StructureQuery.resource`.
Schema queries (4_5_schema_queries.md) name exactly one artefact: `all` is a 400.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sdmx_server.errors import SyntaxError_
from sdmx_server.kinds import BY_V1, V1_ANY
from sdmx_server.query.keys import parse_key
from sdmx_server.query.model import ArtefactRef, DataQuery, SchemaQuery, StructureQuery
from sdmx_server.query.params import (
    as_of,
    ID,
    NESTED_ID,
    NESTED_NCNAME,
    boolean,
    choice,
    dimension_at_observation,
    lower_params,
    path_segments,
    values,
    version_query,
)
from sdmx_server.query.periods import PeriodError, parse_query_period
from sdmx_server.types import DATA_DETAILS, STRUCTURE_DETAILS
from sdmx_server.versions import ALL, LATEST, Exactly

#: v1 has neither `raw` detail nor `ancestors` references.
V1_STRUCTURE_DETAILS = tuple(d for d in STRUCTURE_DETAILS if d != "raw")
REFERENCES = ("none", "parents", "parentsandsiblings", "children", "descendants", "all")
STRUCTURE_RESOURCES = tuple(BY_V1) + (V1_ANY,)
#: The resources whose URL may name items: item schemes, and hierarchicalcodelist (a
#: collection of hierarchies).
ITEM_RESOURCES = tuple(r for r, kinds in BY_V1.items() if all(k.item_scheme for k in kinds))
SCHEMA_CONTEXTS = ("datastructure", "metadatastructure", "dataflow", "metadataflow", "provisionagreement")
SCHEMA_SHAPE = "/schema/{context}/{agencyID}/{resourceID}/{version}"

_AGENCY = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*(\.[A-Za-z][A-Za-z0-9_\-]*)*$")
_VERSION = re.compile(r"^[0-9]+(\.[0-9]+)*(-[A-Za-z0-9.]+)?$")
_ALL = ("all",)


def parse_flow_ref(text: str) -> ArtefactRef:
    """'ECB,EXR,1.0' | 'ECB,EXR' | 'EXR' (the agency 'all' or empty means any)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) == 1:
        agency, flow_id, version = None, parts[0], "latest"
    elif len(parts) == 2:
        agency, flow_id, version = parts[0], parts[1], "latest"
    elif len(parts) == 3:
        agency, flow_id, version = parts
    else:
        raise SyntaxError_(f"flowRef {text!r}: expected AGENCY,ID,VERSION")
    if agency in ("", "all"):
        agency = None
    if version in ("", "latest", "*", "~", "+"):
        version = "latest"
    if agency is not None and not _AGENCY.match(agency):
        raise SyntaxError_(f"flowRef {text!r}: {agency!r} is not an agency id")
    if not ID.fullmatch(flow_id or ""):
        raise SyntaxError_(f"flowRef {text!r}: {flow_id!r} is not a dataflow id")
    if version != "latest" and not _VERSION.match(version):
        raise SyntaxError_(f"flowRef {text!r}: {version!r} is not a version")
    return ArtefactRef(agency, flow_id, version)


def parse_data_query(flow: str, key: str | None, provider: str | None, params: Mapping[str, str]) -> DataQuery:
    p = lower_params(params)
    detail = p.get("detail", "full")
    if detail not in DATA_DETAILS:
        raise SyntaxError_(f"detail={detail!r}: expected one of {', '.join(DATA_DETAILS)}")
    providers = None
    if provider not in (None, "", "all"):
        providers = tuple(x.split(",")[-1] for x in provider.split("+"))
    ref = parse_flow_ref(flow)
    key_ = parse_key(key)
    return DataQuery(
        agencies=(ref.agency,) if ref.agency else None,
        ids=(ref.id,),
        versions=LATEST if ref.version == "latest" else Exactly((ref.version,)),
        keys=None if key_ is None else (key_,),
        providers=providers,
        start=_period(p, "startperiod"),
        end=_period(p, "endperiod"),
        first_n=_positive(p, "firstnobservations"),
        last_n=_positive(p, "lastnobservations"),
        dimension_at_observation=p.get("dimensionatobservation") or None,
        detail=detail,
        # Revisions (service/history.py); v1 has no asOf.
        updated_after=as_of(p, "updatedAfter"),
        include_history=boolean(p, "includehistory", "includeHistory"),
    )


def parse_structure_query(
    resource: str,
    agency: str | None,
    artefact_id: str | None,
    version: str | None,
    item: str | None,
    params: Mapping[str, str],
) -> StructureQuery:
    """`/{resource}/{agencyID}/{resourceID}/{version}/{itemID}`; None or '' for a missing part."""
    if resource not in STRUCTURE_RESOURCES:
        raise SyntaxError_(
            f"{resource!r} is not an SDMX structure resource: expected one of {', '.join(STRUCTURE_RESOURCES)}"
        )
    if item not in (None, "") and resource not in ITEM_RESOURCES:
        raise SyntaxError_(
            f"itemID {item!r}: {resource} has no items; itemID is only for {', '.join(ITEM_RESOURCES)}"
        )
    p = lower_params(params)
    return StructureQuery(
        kinds=None if resource == V1_ANY else tuple(k.name for k in BY_V1[resource]),
        resource=resource,
        agencies=values(agency or None, NESTED_NCNAME, "agencyID", "an agency id", sep="+", any_words=_ALL),
        ids=values(artefact_id or None, ID, "resourceID", "an artefact id", sep="+", any_words=_ALL),
        versions=version_query(version, "v1"),
        items=values(item or None, NESTED_ID, "itemID", "an item id", sep="+", any_words=_ALL),
        detail=choice(p, "detail", V1_STRUCTURE_DETAILS, "full"),  # type: ignore[arg-type]
        references=references(p.get("references")),
        api="v1",
    )


def references(text: str | None) -> tuple[str, ...]:
    """v1 `references`: one walk, or one resource (as the kind names it selects:
    organisationscheme selects four; actual/allowedconstraint are data constraints)."""
    if text is None or text == "":
        return ("none",)
    value = text.lower()
    if value in REFERENCES:
        return (value,)
    if value in BY_V1:
        return tuple(dict.fromkeys(k.name for k in BY_V1[value]))
    raise SyntaxError_(
        f"references={text!r}: expected one of {', '.join(REFERENCES)} or a resource ({', '.join(BY_V1)})"
    )


def parse_schema_query_v1(segments: list[str], params: Mapping[str, str]) -> SchemaQuery:
    """`/schema/{context}/{agencyID}/{resourceID}/{version}` (segments after `schema`): one
    artefact, so agency and id are required and `all` is refused; version `latest` by default,
    or one explicit version."""
    context, agency, artefact_id, version = path_segments(segments, 4, SCHEMA_SHAPE)
    if context not in SCHEMA_CONTEXTS:
        raise SyntaxError_(f"context={context!r}: expected one of {', '.join(SCHEMA_CONTEXTS)} ({SCHEMA_SHAPE})")
    for name, value, pattern in (("agencyID", agency, NESTED_NCNAME), ("resourceID", artefact_id, ID)):
        if value is None or value == "all" or not pattern.fullmatch(value):
            raise SyntaxError_(
                f"{name}={value or ''!r}: a schema is for exactly one artefact; give its {name} "
                f"(not 'all', not a list) in {SCHEMA_SHAPE}"
            )
    versions = version_query(version, "v1")
    if versions is ALL or (isinstance(versions, Exactly) and len(versions.versions) > 1):
        raise SyntaxError_(f"version={version!r}: a schema is for one version; give one version or latest")
    p = lower_params(params)
    # pysdmx sends `explicit=`, the spec says `explicitMeasure=`.
    explicit = boolean(p, "explicitmeasure", "explicitMeasure") or boolean(p, "explicit", "explicit")
    return SchemaQuery(
        context=BY_V1[context][0].name,
        agency=agency,  # type: ignore[arg-type]  # checked above
        id=artefact_id,  # type: ignore[arg-type]
        versions=versions,
        dimension_at_observation=dimension_at_observation(p),
        explicit_measure=explicit,
        api="v1",
    )


def _period(p: dict[str, str], name: str):
    if not p.get(name):
        return None
    try:
        return parse_query_period(p[name], p.get("reportingyearstartday") or "--01-01")
    except PeriodError as exc:
        raise SyntaxError_(f"{name}={p[name]!r}: {exc}") from None


def _positive(p: dict[str, str], name: str) -> int | None:
    if name not in p:
        return None
    value = p[name]
    if not (value.isascii() and value.isdigit()) or int(value) < 1:  # not '²', which int() refuses
        raise SyntaxError_(f"{name}={value!r}: expected a positive integer")
    return int(value)
