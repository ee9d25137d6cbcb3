"""The one table of media types: every answer the server gives goes out through a row of it.

A row says what it answers (data, structures, a schema, an error, metadata), through which API
(v1 under /rest/, v2 under /rest/v2/), its SDMX media type and version, the generic types and
`format=` names that also select it, the media-type parameters it honours, and the function
that writes it. Content negotiation (`negotiate`) picks a row; the API calls the row's writer.
A row whose writer is not built yet is simply not in the table: asking for it is a 406 that
lists what is offered.

Writers are named as "module:function" and imported on first use, so that this table stays a
table and importing it costs nothing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Literal

from sdmx_server.errors import NotAcceptable
from sdmx_server.types import ApiVersion

Answer = Literal["data", "structure", "schema", "metadata", "error", "submission"]

V1: tuple[ApiVersion, ...] = ("v1",)
V2: tuple[ApiVersion, ...] = ("v2",)
BOTH: tuple[ApiVersion, ...] = ("v1", "v2")

#: Media-type parameters every row honours: q is negotiation's own, and the server always
#: writes UTF-8.
UNIVERSAL_PARAMETERS = frozenset({"q", "version", "charset"})


@dataclass(frozen=True)
class MediaType:
    answer: Answer
    type: str  # e.g. "application/vnd.sdmx.structure+xml"
    version: str | None  # the `version` parameter, e.g. "2.1", "3.0.0"; None for generic types
    writer: str  # "module:function"
    apis: tuple[ApiVersion, ...]
    #: Generic media types (lower case) that also select this row: "application/xml", ...
    aliases: tuple[str, ...] = ()
    #: Values of the `format` query parameter that select this row (for browsers).
    format_names: tuple[str, ...] = ()
    #: Media-type parameters beyond q/version/charset that the writer honours (lower-case
    #: name -> the values it honours, lower case; None for any value).
    parameters: dict[str, tuple[str, ...] | None] = field(default_factory=dict, hash=False, compare=False)
    #: Whether the Content-Type names charset=utf-8 (text formats).
    text: bool = False
    #: Versions this row also answers for (e.g. SDMX-CSV "1.0" for "1.0.0").
    version_aliases: tuple[str, ...] = ()
    #: Extra keyword arguments for the writer (e.g. the CSV version).
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    #: The answer to a request without Accept (the spec's default format of its answer and
    #: API). `*/*` and `application/*` are answered by the first row instead, which may be
    #: another one: REST v2 structures default to SDMX-JSON 2.1.0, while `*/*` keeps getting
    #: SDMX-ML 3.0.0 because sdmx1 sends `*/*` and reads XML only. Without a flagged row the
    #: first row is the default too.
    default: bool = False

    @property
    def content_type(self) -> str:
        value = self.type
        if self.version is not None:
            value += f"; version={self.version}"
        if self.text:
            value += "; charset=utf-8"
        return value

    @property
    def family(self) -> Literal["xml", "json", "csv", "other"]:
        for family in ("xml", "json", "csv"):
            if self.type.endswith(f"+{family}") or self.type.endswith(f"/{family}"):
                return family  # type: ignore[return-value]
        return "other"

    @property
    def name(self) -> str:
        """A short name of the row for metrics and logs: the SDMX message kind when it is not
        the answer's own, the family, the version (csv-2.0.0, structurespecificdata-2.1,
        xml-3.0.0); the first format= name of a type outside SDMX (jsonstat, xlsx)."""
        subtype = self.type.partition("/")[2]
        if not subtype.startswith("vnd.sdmx."):
            base = self.format_names[0] if self.format_names else subtype
        else:
            kind, _, family = subtype.removeprefix("vnd.sdmx.").partition("+")
            base = family if kind in ("data", "structure", "schema", "metadata") or not family else kind
        return f"{base}-{self.version}" if self.version else base

    def accepts_version(self, version: str | None) -> bool:
        return version is None or self.version is None or version in (self.version, *self.version_aliases)

    def load(self):
        """The writer function."""
        module, _, name = self.writer.partition(":")
        return getattr(importlib.import_module(module), name)


_XML = ("application/xml", "text/xml")
#: The media-type parameters SDMX-CSV 1.0.0 defines (REST v1.5.0 4_6_conneg.md) and 2.x adds
#: to (data.md "Response types"), with every value the writer honours.
_CSV_PARAMETERS: dict[str, tuple[str, ...] | None] = {
    "labels": ("id", "both"), "timeformat": ("original", "normalized")}
_CSV2_PARAMETERS: dict[str, tuple[str, ...] | None] = {
    "labels": ("id", "name", "both"), "timeformat": ("original", "normalized"),
    "keys": ("none", "obs", "series", "both")}
_JSON = ("application/json",)

#: Every row. Within one (answer, api), the first row answers `*/*`, and the row flagged
#: `default` (else the first) a request without Accept; a media type named without a version
#: is answered by the first row of that type.
TABLE: tuple[MediaType, ...] = (
    # -- structures ----------------------------------------------------------------------------
    MediaType("structure", "application/vnd.sdmx.structure+xml", "2.1",
              "sdmx_server.formats.structure_ml21:structure_message", V1, _XML, ("structure", "sdmx-ml", "xml")),
    # REST v2: SDMX-ML 3.0 first, for clients that send */* and read XML only (sdmx1).
    MediaType("structure", "application/vnd.sdmx.structure+xml", "3.0.0",
              "sdmx_server.formats.structure_ml30:structure_message", V2, _XML, ("structure-3.0", "sdmx-ml-3.0", "xml"),
              version_aliases=("3.0",)),
    # SDMX-JSON structures and SDMX-ML 3.1 (the json part). REST v2 (structures.md, "Response
    # types"): SDMX-JSON 2.1.0 is the default, then SDMX-ML 3.1.0, SDMX-JSON 2.0.0 and
    # SDMX-ML 3.0.0; SDMX-JSON 1.0.0 for clients of SDMX 2.1. REST v1 (v1.5.0, 4_6_conneg.md):
    # SDMX-JSON 1.0.0 besides the default SDMX-ML 2.1; there `application/json` can only mean it.
    MediaType("structure", "application/vnd.sdmx.structure+json", "2.1.0",
              "sdmx_server.formats.structure_json21:structure_message", V2, (),
              ("sdmx-json", "json", "sdmx-json-2.1"), version_aliases=("2.1",), default=True),
    MediaType("structure", "application/vnd.sdmx.structure+json", "2.0.0",
              "sdmx_server.formats.structure_json20:structure_message", V2, (), ("sdmx-json-2.0",),
              version_aliases=("2.0",)),
    MediaType("structure", "application/vnd.sdmx.structure+json", "1.0.0",
              "sdmx_server.formats.structure_json10:structure_message", V2, (), ("sdmx-json-1.0",),
              version_aliases=("1.0",)),
    MediaType("structure", "application/vnd.sdmx.structure+xml", "3.1.0",
              "sdmx_server.formats.structure_ml31:structure_message", V2, (), ("structure-3.1", "sdmx-ml-3.1"),
              version_aliases=("3.1",)),
    MediaType("structure", "application/vnd.sdmx.structure+json", "1.0.0",
              "sdmx_server.formats.structure_json10:structure_message", V1, _JSON,
              ("sdmx-json", "json", "sdmx-json-1.0"), version_aliases=("1.0",)),
    # (end of the json part)
    MediaType("structure", "application/vnd.sdmx.structure+xml", "2.1",
              "sdmx_server.formats.structure_ml21:structure_message", V2, (), ("structure-2.1",)),
    # -- reference metadata (REST v2 /metadata/...; the "metadata" part) ---------------------------
    # metadata.md's order, its default (SDMX-JSON 2.1.0) first; no SDMX-CSV metadata (406).
    MediaType("metadata", "application/vnd.sdmx.metadata+json", "2.1.0",
              "sdmx_server.formats.metadata_json:metadata_message", V2, _JSON, ("metadata-json", "sdmx-json", "json"),
              version_aliases=("2.1",), options={"version": "2.1.0"}),
    MediaType("metadata", "application/vnd.sdmx.metadata+xml", "3.1.0",
              "sdmx_server.formats.metadata_ml31:metadata_message", V2, _XML, ("metadata-xml", "sdmx-ml", "xml"),
              version_aliases=("3.1",)),
    MediaType("metadata", "application/vnd.sdmx.metadata+json", "2.0.0",
              "sdmx_server.formats.metadata_json:metadata_message", V2, (), ("metadata-json-2.0", "sdmx-json-2.0"),
              version_aliases=("2.0",), options={"version": "2.0.0"}),
    MediaType("metadata", "application/vnd.sdmx.metadata+xml", "3.0.0",
              "sdmx_server.formats.metadata_ml30:metadata_message", V2, (), ("metadata-xml-3.0", "sdmx-ml-3.0"),
              version_aliases=("3.0",)),
    # -- data ------------------------------------------------------------------------------------
    MediaType("data", "application/vnd.sdmx.genericdata+xml", "2.1",
              "sdmx_server.formats.data_generic_ml21:write", V1, _XML, ("genericdata", "sdmx-ml", "xml")),
    MediaType("data", "application/vnd.sdmx.structurespecificdata+xml", "2.1",
              "sdmx_server.formats.data_specific_ml21:write", V1, (), ("structurespecificdata", "structure-specific")),
    MediaType("data", "application/vnd.sdmx.generictimeseriesdata+xml", "2.1",
              "sdmx_server.formats.data_generic_ml21:write", V1, (), ("generictimeseriesdata",),
              options={"time_series": True}),
    MediaType("data", "application/vnd.sdmx.structurespecifictimeseriesdata+xml", "2.1",
              "sdmx_server.formats.data_specific_ml21:write", V1, (), ("structurespecifictimeseriesdata",),
              options={"time_series": True}),
    MediaType("data", "application/vnd.sdmx.data+csv", "1.0.0", "sdmx_server.formats.data_csv:write", V1,
              ("text/csv",), ("csv", "sdmx-csv", "csvfile"), _CSV_PARAMETERS, text=True, version_aliases=("1.0",),
              options={"version": "1.0"}),
    MediaType("data", "application/vnd.sdmx.data+csv", "2.0.0", "sdmx_server.formats.data_csv:write", V1,
              (), ("sdmx-csv-2.0",), _CSV2_PARAMETERS, text=True, version_aliases=("2.0",), options={"version": "2.0"}),
    MediaType("data", "application/vnd.sdmx.data+csv", "2.1.0", "sdmx_server.formats.data_csv:write", V1,
              (), ("sdmx-csv-2.1",), _CSV2_PARAMETERS, text=True, version_aliases=("2.1",), options={"version": "2.1"}),
    # (jsonxl) SDMX-JSON data 1.0.0 on v1, where `application/json` can only mean it (v1.5.0
    # 4_6_conneg.md).
    MediaType("data", "application/vnd.sdmx.data+json", "1.0.0", "sdmx_server.formats.data_json:write", V1,
              _JSON, ("sdmx-json", "json", "jsondata", "sdmx-json-1.0"), version_aliases=("1.0",),
              options={"version": "1.0.0"}),
    # REST v2 (data.md, "Response types"): SDMX-JSON 2.1.0 is the default, then SDMX-ML 3.1.0,
    # SDMX-CSV 2.1.0, SDMX-JSON 2.0.0, SDMX-ML 3.0.0, SDMX-CSV 2.0.0. The SDMX-ML 3.x and
    # SDMX-CSV 2.1.0 rows (mlcsv) and then the SDMX-JSON rows (jsonxl, the default flagged) go
    # first, right here, so that `*/*` and `application/xml` get SDMX-ML 3.0 as for structures
    # (sdmx1 sends */* and reads XML only) and `text/csv` SDMX-CSV 2.1.0; the formats of SDMX 2.1
    # follow ("media types of previous SDMX versions"), SDMX-ML 2.1 structure-specific first.
    MediaType("data", "application/vnd.sdmx.data+xml", "3.0.0", "sdmx_server.formats.data_ml30:write", V2,
              _XML, ("sdmx-ml-3.0", "structurespecificdata-3.0", "xml"), version_aliases=("3.0",),
              options={"version": "3.0.0"}),
    MediaType("data", "application/vnd.sdmx.data+xml", "3.1.0", "sdmx_server.formats.data_ml30:write", V2,
              (), ("sdmx-ml-3.1", "sdmx-ml", "structurespecificdata-3.1"), version_aliases=("3.1",),
              options={"version": "3.1.0"}),
    MediaType("data", "application/vnd.sdmx.data+csv", "2.1.0", "sdmx_server.formats.data_csv:write", V2,
              ("text/csv",), ("csv", "sdmx-csv", "sdmx-csv-2.1", "csvfile"), _CSV2_PARAMETERS, text=True,
              version_aliases=("2.1",), options={"version": "2.1"}),
    # (jsonxl) SDMX-JSON data 2.1.0 (the default of REST v2 data.md) and 2.0.0.
    MediaType("data", "application/vnd.sdmx.data+json", "2.1.0", "sdmx_server.formats.data_json:write", V2,
              _JSON, ("sdmx-json", "json", "jsondata", "sdmx-json-2.1"), version_aliases=("2.1",),
              options={"version": "2.1.0"}, default=True),
    MediaType("data", "application/vnd.sdmx.data+json", "2.0.0", "sdmx_server.formats.data_json:write", V2,
              (), ("sdmx-json-2.0",), version_aliases=("2.0",), options={"version": "2.0.0"}),
    # -- the formats of SDMX 2.1 on REST v2 --
    MediaType("data", "application/vnd.sdmx.structurespecificdata+xml", "2.1",
              "sdmx_server.formats.data_specific_ml21:write", V2, _XML,
              ("structurespecificdata", "structure-specific", "sdmx-ml-2.1")),
    MediaType("data", "application/vnd.sdmx.data+csv", "2.0.0", "sdmx_server.formats.data_csv:write", V2,
              ("text/csv",), ("sdmx-csv-2.0",), _CSV2_PARAMETERS, text=True,
              version_aliases=("2.0",), options={"version": "2.0"}),
    MediaType("data", "application/vnd.sdmx.genericdata+xml", "2.1",
              "sdmx_server.formats.data_generic_ml21:write", V2, (), ("genericdata",)),
    MediaType("data", "application/vnd.sdmx.generictimeseriesdata+xml", "2.1",
              "sdmx_server.formats.data_generic_ml21:write", V2, (), ("generictimeseriesdata",),
              options={"time_series": True}),
    MediaType("data", "application/vnd.sdmx.structurespecifictimeseriesdata+xml", "2.1",
              "sdmx_server.formats.data_specific_ml21:write", V2, (), ("structurespecifictimeseriesdata",),
              options={"time_series": True}),
    MediaType("data", "application/vnd.sdmx.data+csv", "1.0.0", "sdmx_server.formats.data_csv:write", V2,
              (), ("sdmx-csv-1.0",), _CSV_PARAMETERS, text=True, version_aliases=("1.0",),
              options={"version": "1.0"}),
    # (jsonxl) SDMX-JSON 1.0.0 on v2, for clients of SDMX 2.1 (after the other formats of SDMX 2.1).
    MediaType("data", "application/vnd.sdmx.data+json", "1.0.0", "sdmx_server.formats.data_json:write", V2,
              (), ("sdmx-json-1.0",), version_aliases=("1.0",), options={"version": "1.0.0"}),
    # JSON-stat 2.0 (formats/data_jsonstat.py): JSON-stat has no media type of its own (it is
    # served as application/json, which here means SDMX-JSON), so the server names it with a
    # vendor type and the format names front-ends use.
    MediaType("data", "application/vnd.jsonstat+json", None, "sdmx_server.formats.data_jsonstat:write", BOTH,
              (), ("jsonstat", "json-stat", "json-stat2")),
    # Excel (formats/data_xlsx.py): a streamed workbook for people.
    MediaType("data", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", None,
              "sdmx_server.formats.data_xlsx:write", BOTH, (), ("xlsx", "excel")),
    # -- schemas ----------------------------------------------------------------------------------
    MediaType("schema", "application/vnd.sdmx.schema+xml", "2.1", "sdmx_server.formats.schema_ml21:data_schema",
              V1, _XML, ("schema", "xsd")),
    # REST v2 schema queries: the structures "for communication" (schema.md): SDMX-ML 3.0 for */*,
    # SDMX-JSON 2.1.0 without Accept; then the XSDs of SDMX-ML 2.1, 3.1 and 3.0 structure-specific
    # data. (The spec's default, a JSON schema of SDMX-JSON data, comes with that data format.)
    MediaType("schema", "application/vnd.sdmx.structure+xml", "3.0.0",
              "sdmx_server.formats.structure_ml30:structure_message", V2, _XML, ("structure-3.0",),
              version_aliases=("3.0",)),
    MediaType("schema", "application/vnd.sdmx.structure+json", "2.1.0",
              "sdmx_server.formats.structure_json21:structure_message", V2, (), ("sdmx-json", "json"),
              version_aliases=("2.1",), default=True),
    MediaType("schema", "application/vnd.sdmx.structure+json", "2.0.0",
              "sdmx_server.formats.structure_json20:structure_message", V2, (), ("sdmx-json-2.0",),
              version_aliases=("2.0",)),
    MediaType("schema", "application/vnd.sdmx.structure+xml", "3.1.0",
              "sdmx_server.formats.structure_ml31:structure_message", V2, (), ("structure-3.1",),
              version_aliases=("3.1",)),
    MediaType("schema", "application/vnd.sdmx.structure+xml", "2.1",
              "sdmx_server.formats.structure_ml21:structure_message", V2, (), ("structure-2.1",)),
    MediaType("schema", "application/vnd.sdmx.schema+xml", "2.1", "sdmx_server.formats.schema_ml21:data_schema",
              V2, (), ("schema", "xsd", "xsd-2.1")),
    # The XSDs that SDMX-ML 3.1.0 and 3.0.0 structure-specific data validate against.
    MediaType("schema", "application/vnd.sdmx.schema+xml", "3.1.0", "sdmx_server.formats.schema_ml21:data_schema",
              V2, (), ("xsd-3.1",), version_aliases=("3.1",), options={"version": "3.1"}),
    MediaType("schema", "application/vnd.sdmx.schema+xml", "3.0.0", "sdmx_server.formats.schema_ml21:data_schema",
              V2, (), ("xsd-3.0",), version_aliases=("3.0",), options={"version": "3.0"}),
    # -- errors -----------------------------------------------------------------------------------
    MediaType("error", "application/xml", None, "sdmx_server.formats.error_ml21:error_message", V1, _XML),
    MediaType("error", "application/xml", None, "sdmx_server.formats.error_ml30:error_message", V2, _XML),
    MediaType("error", "application/json", None, "sdmx_server.formats.error_json:error_message", V2, _JSON),
)


def rows(answer: Answer, api: ApiVersion) -> tuple[MediaType, ...]:
    return tuple(row for row in TABLE if row.answer == answer and api in row.apis)


def default_row(offers: tuple[MediaType, ...]) -> MediaType:
    """The answer to a request without Accept: the row flagged `default`, else the first."""
    return next((row for row in offers if row.default), offers[0])


def parse_accept(header: str) -> list[tuple[str, dict[str, str], float]]:
    """[(media type, parameters, q)] in the order given; parameter names in lower case."""
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
                if name.strip():  # "text/csv;;=;" has no parameter worth the name
                    params[name.strip().lower()] = value.strip().strip('"')
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            q = 0.0
        if not 0 <= q <= 1:  # NaN, inf, negative: not a q-value
            q = 0.0
        entries.append((media.lower(), params, q))
    return entries


@dataclass(frozen=True)
class Choice:
    """The negotiated row and the media-type parameters the client gave with it."""

    row: MediaType
    parameters: dict[str, str] = field(default_factory=dict, hash=False)


def negotiate(answer: Answer, api: ApiVersion, accept: str | None, format_param: str | None = None) -> Choice:
    """The row for this answer that the client prefers; NotAcceptable (406) when none is."""
    offers = rows(answer, api)
    if format_param:
        wanted = format_param.strip().lower()
        for row in offers:
            if wanted in row.format_names:
                return Choice(row)
        raise NotAcceptable(f"format={format_param!r} is not offered", offered(answer, api))
    if not accept or not accept.strip():
        return Choice(default_row(offers))
    best: tuple[tuple, Choice] | None = None
    refused: list[str] = []
    for order, (media, params, q) in enumerate(parse_accept(accept)):
        if q <= 0:
            continue
        row = _match(offers, media, params)
        if row is None:
            continue
        unknown = _unhonoured(row, params)
        if unknown:
            refused.append(f"{media} with {', '.join(unknown)}")
            continue
        specificity = 0 if media == "*/*" else 1 if media.endswith("/*") else 2
        rank = (q, specificity, -order)
        if best is None or rank > best[0]:
            best = (rank, Choice(row, {k: v for k, v in params.items() if k not in UNIVERSAL_PARAMETERS}))
    if best is None:
        why = f" (parameters this server cannot honour: {'; '.join(refused)})" if refused else ""
        raise NotAcceptable(f"none of the media types in Accept: {accept} is offered here{why}", offered(answer, api))
    return best[1]


def _unhonoured(row: MediaType, params: dict[str, str]) -> list[str]:
    """The client's media-type parameters that the row's writer cannot honour, as name=value."""
    unknown = []
    for name, value in params.items():
        if name in ("q", "version"):
            continue
        if name == "charset":
            allowed: tuple[str, ...] | None = ("utf-8", "utf8", "*")
        elif name in row.parameters:
            allowed = row.parameters[name]
        else:
            unknown.append(f"{name}={value}")
            continue
        if allowed is not None and value.lower() not in allowed:
            unknown.append(f"{name}={value}")
    return sorted(unknown)


def _match(offers: tuple[MediaType, ...], media: str, params: dict[str, str]) -> MediaType | None:
    if media in ("*/*", "application/*"):
        return offers[0]
    version = params.get("version")
    for row in offers:
        if media == row.type and row.accepts_version(version):
            return row
    for row in offers:
        if media in row.aliases and (version is None or row.accepts_version(version)):
            return row
    if media == "text/*":
        return next((row for row in offers if any(a.startswith("text/") for a in row.aliases)), None)
    return None


def error_row(api: ApiVersion, accept: str | None) -> MediaType:
    """How an error is written: REST v1 always in SDMX-ML 2.1; REST v2 in JSON when the client
    prefers a JSON format (by the `+json` of the SDMX media types too), else in SDMX-ML 3.0."""
    xml, *others = rows("error", api)
    if api == "v1" or not accept:
        return xml
    best = (0.0, xml)
    for media, _, q in parse_accept(accept):
        family = "json" if media.endswith("json") else "xml" if media.endswith("xml") or media == "*/*" else None
        if family and q > best[0]:
            best = (q, others[0] if family == "json" else xml)
    return best[1]


def offered(answer: Answer, api: ApiVersion) -> list[str]:
    return [row.content_type for row in rows(answer, api)]
