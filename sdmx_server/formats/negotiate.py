"""Content negotiation: the Accept header (or a `format` parameter) picks one representation.

Each kind of query has a list of offers, the first being the default the spec names. An Accept
header is matched with its q-values and wildcards; generic types (application/xml, text/csv)
map to the SDMX type of that family. When nothing offered is acceptable, the answer is 406
with the list of what is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sdmx_server.errors import NotAcceptable


@dataclass(frozen=True)
class Offer:
    name: str  # the writer's name, e.g. "genericdata"
    media_type: str  # what the response's Content-Type says
    #: Media types (lower case, without parameters) that select this offer, and the version
    #: parameter values each accepts (None: any, or none given).
    accepts: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    format_names: tuple[str, ...] = ()


DATA_OFFERS_V1: tuple[Offer, ...] = (
    Offer(
        "genericdata", "application/vnd.sdmx.genericdata+xml; version=2.1",
        {"application/vnd.sdmx.genericdata+xml": ("2.1",), "application/xml": None, "text/xml": None},
        ("genericdata", "sdmx-ml", "xml"),
    ),
    Offer(
        "structurespecificdata", "application/vnd.sdmx.structurespecificdata+xml; version=2.1",
        {"application/vnd.sdmx.structurespecificdata+xml": ("2.1",)},
        ("structurespecificdata", "structure-specific"),
    ),
    Offer(
        "generictimeseriesdata", "application/vnd.sdmx.generictimeseriesdata+xml; version=2.1",
        {"application/vnd.sdmx.generictimeseriesdata+xml": ("2.1",)},
        ("generictimeseriesdata",),
    ),
    Offer(
        "structurespecifictimeseriesdata", "application/vnd.sdmx.structurespecifictimeseriesdata+xml; version=2.1",
        {"application/vnd.sdmx.structurespecifictimeseriesdata+xml": ("2.1",)},
        ("structurespecifictimeseriesdata",),
    ),
    Offer(
        "csv10", "application/vnd.sdmx.data+csv; version=1.0.0; charset=utf-8",
        {"application/vnd.sdmx.data+csv": ("1.0.0", "1.0"), "text/csv": None},
        ("csv", "sdmx-csv", "csvfile"),
    ),
    Offer(
        "csv20", "application/vnd.sdmx.data+csv; version=2.0.0; charset=utf-8",
        {"application/vnd.sdmx.data+csv": ("2.0.0", "2.0")},
        ("sdmx-csv-2.0",),
    ),
)

STRUCTURE_OFFERS_V1: tuple[Offer, ...] = (
    Offer(
        "structure", "application/vnd.sdmx.structure+xml; version=2.1",
        {"application/vnd.sdmx.structure+xml": ("2.1",), "application/xml": None, "text/xml": None},
        ("structure", "sdmx-ml", "xml"),
    ),
)

SCHEMA_OFFERS_V1: tuple[Offer, ...] = (
    Offer(
        "schema", "application/vnd.sdmx.schema+xml; version=2.1",
        {"application/vnd.sdmx.schema+xml": ("2.1",), "application/xml": None, "text/xml": None},
        ("schema", "xsd"),
    ),
)


def parse_accept(header: str) -> list[tuple[str, dict[str, str], float]]:
    """[(media type, parameters, q)] in the order given."""
    entries = []
    for part in header.split(","):
        part = part.strip()
        if not part:
            continue
        media, *raw_params = [p.strip() for p in part.split(";")]
        params: dict[str, str] = {}
        for raw in raw_params:
            if "=" in raw:
                name, value = raw.split("=", 1)
                params[name.strip().lower()] = value.strip().strip('"')
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            q = 0.0
        if not 0 <= q <= 1:  # NaN, inf, negative: not a q-value
            q = 0.0
        entries.append((media.lower(), params, q))
    return entries


def negotiate(offers: tuple[Offer, ...], accept: str | None, format_param: str | None = None) -> Offer:
    if format_param:
        wanted = format_param.strip().lower()
        for offer in offers:
            if wanted in offer.format_names:
                return offer
        raise NotAcceptable(f"format={format_param!r} is not offered", _offered(offers))
    if not accept or not accept.strip():
        return offers[0]
    best: tuple[float, int, Offer] | None = None
    for order, (media, params, q) in enumerate(parse_accept(accept)):
        if q <= 0:
            continue
        offer = _match(offers, media, params)
        if offer is None:
            continue
        specificity = 0 if media in ("*/*",) else 1 if media.endswith("/*") else 2
        rank = (q, specificity, -order)
        if best is None or rank > best[0]:
            best = (rank, order, offer)
    if best is None:
        raise NotAcceptable(f"none of the media types in Accept: {accept} is offered here", _offered(offers))
    return best[2]


def _match(offers, media: str, params: dict[str, str]) -> Offer | None:
    if media == "*/*" or media == "application/*":
        return offers[0]
    for offer in offers:
        if media in offer.accepts:
            versions = offer.accepts[media]
            version = params.get("version")
            if versions is None or version is None or version in versions:
                return offer
    if media == "text/*":
        return next((o for o in offers if "text/csv" in o.accepts or "text/xml" in o.accepts), None)
    return None


def _offered(offers) -> list[str]:
    return [o.media_type for o in offers]
