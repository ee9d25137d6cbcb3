"""SDMX REST v1 (SDMX 2.1, spec 1.5): URL path and query parameters into the query model.

Parameter names are matched without regard to case, as clients in the wild send both
`startPeriod` and `startperiod`; unknown parameters are ignored, standard ones this server does
not support yet answer 501.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sdmx_server.errors import NotImplemented_, SyntaxError_
from sdmx_server.query.keys import parse_key
from sdmx_server.query.model import ArtefactRef, DataQuery, StructureQuery
from sdmx_server.query.periods import PeriodError, parse_query_period
from sdmx_server.kinds import BY_V1, V1_ANY
from sdmx_server.types import DATA_DETAILS, STRUCTURE_DETAILS
from sdmx_server.versions import ALL, LATEST, Exactly

#: v1 has neither `raw` detail nor `ancestors` references.
V1_STRUCTURE_DETAILS = tuple(d for d in STRUCTURE_DETAILS if d != "raw")
REFERENCES = ("none", "parents", "parentsandsiblings", "children", "descendants", "all")
STRUCTURE_RESOURCES = tuple(BY_V1) + (V1_ANY,)
NOT_YET_DATA_PARAMETERS = ("updatedafter", "includehistory")

_ID = re.compile(r"^[A-Za-z0-9_@$\-]+$")
_AGENCY = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*(\.[A-Za-z][A-Za-z0-9_\-]*)*$")
_VERSION = re.compile(r"^[0-9]+(\.[0-9]+)*(-[A-Za-z0-9.]+)?$")


def lower_params(params: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in params.items()}


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
    if not _ID.match(flow_id or ""):
        raise SyntaxError_(f"flowRef {text!r}: {flow_id!r} is not a dataflow id")
    if version != "latest" and not _VERSION.match(version):
        raise SyntaxError_(f"flowRef {text!r}: {version!r} is not a version")
    return ArtefactRef(agency, flow_id, version)


def parse_data_query(flow: str, key: str | None, provider: str | None, params: Mapping[str, str]) -> DataQuery:
    p = lower_params(params)
    for name in NOT_YET_DATA_PARAMETERS:
        if name in p and not (name == "includehistory" and p[name].lower() == "false"):
            raise NotImplemented_(f"the parameter {name} is not supported yet")
    detail = p.get("detail", "full")
    if detail not in DATA_DETAILS:
        raise SyntaxError_(f"detail={detail!r}: expected one of {', '.join(DATA_DETAILS)}")
    providers = None
    if provider not in (None, "", "all"):
        providers = tuple(x.split(",")[-1] for x in provider.split("+"))
    return DataQuery(
        flow=parse_flow_ref(flow),
        key=parse_key(key),
        providers=providers,
        start=_period(p, "startperiod"),
        end=_period(p, "endperiod"),
        first_n=_positive(p, "firstnobservations"),
        last_n=_positive(p, "lastnobservations"),
        dimension_at_observation=p.get("dimensionatobservation") or None,
        detail=detail,
    )


def parse_structure_query(
    resource: str,
    agency: str | None,
    artefact_id: str | None,
    version: str | None,
    item: str | None,
    params: Mapping[str, str],
) -> StructureQuery:
    if resource not in STRUCTURE_RESOURCES:
        raise SyntaxError_(f"{resource!r} is not an SDMX structure resource")
    p = lower_params(params)
    detail = p.get("detail", "full")
    if detail not in V1_STRUCTURE_DETAILS:
        raise SyntaxError_(f"detail={detail!r}: expected one of {', '.join(V1_STRUCTURE_DETAILS)}")
    references = p.get("references", "none")
    if references not in REFERENCES and references not in STRUCTURE_RESOURCES:
        raise SyntaxError_(f"references={references!r}: expected one of {', '.join(REFERENCES)} or a resource")
    if references in BY_V1:
        references = BY_V1[references][0].name
    if version in (None, "", "latest"):
        versions = LATEST
    elif version == "all":
        versions = ALL
    else:
        versions = Exactly(_many(version, _VERSION, "version"))
    return StructureQuery(
        kinds=None if resource == V1_ANY else tuple(k.name for k in BY_V1[resource]),
        resource=resource,
        agencies=None if agency in (None, "", "all") else _many(agency, _AGENCY, "agency"),
        ids=None if artefact_id in (None, "", "all") else _many(artefact_id, _ID, "id"),
        versions=versions,
        items=None if item in (None, "", "all") else _many(item, re.compile(r"^[A-Za-z0-9_@$\-.]+$"), "item id"),
        detail=detail,
        references=(references,),
        api="v1",
    )


def _many(text: str, pattern: re.Pattern, what: str) -> tuple[str, ...]:
    values = tuple(dict.fromkeys(v for v in text.split("+")))
    for value in values:
        if not pattern.match(value):
            raise SyntaxError_(f"{value!r} is not a valid {what}")
    return values


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
