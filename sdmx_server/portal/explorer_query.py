"""The explorer's state: what a visitor chose, read from the page's URL, and the REST v2 URL of
the same selection.

The page's URL holds the whole state (a view can be shared): one parameter per dimension, named
by its id and given once per chosen code (`?PROVINCE=IR-10&PROVINCE=IR-23`), `start` and `end`
(SDMX periods), `labels` (name | id | both) and `chart` (line | bar); links from elsewhere
(the dashboard's drill-down) may give the series key instead: `?key=Q.IR-10.CLAIMS`. The selection becomes a
REST v2 data URL (`/rest/v2/data/dataflow/A/ID/V/KEY?c[TIME_PERIOD]=ge:S+le:E`), and the
DataQuery the page runs is parsed from that very URL by the API's own parser, so the table, the
downloads and the "API URL" shown are one query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, Mapping
from urllib.parse import parse_qsl, quote, unquote

from sdmx_server.errors import SyntaxError_
from sdmx_server.query.model import AvailabilityQuery, DataQuery
from sdmx_server.query.params import ID
from sdmx_server.query.parse_data_v2 import parse_availability_query, parse_data_query
from sdmx_server.query.periods import PeriodError, parse_query_period

Labels = Literal["name", "id", "both"]
Chart = Literal["line", "bar"]
LABELS: tuple[Labels, ...] = ("name", "id", "both")
CHARTS: tuple[Chart, ...] = ("line", "bar")
TIME = "TIME_PERIOD"
Flow = tuple[str, str, str]

#: Downloads: (what a person calls it, the API's `format` value), every data format the API writes.
FORMATS: tuple[tuple[str, str, str], ...] = (
    ("SDMX-CSV 2.1", "csv", "csv"),
    ("SDMX-CSV 2.0", "sdmx-csv-2.0", "csv"),
    ("SDMX-CSV 1.0", "sdmx-csv-1.0", "csv"),
    ("SDMX-JSON 2.1", "sdmx-json", "json"),
    ("SDMX-JSON 2.0", "sdmx-json-2.0", "json"),
    ("SDMX-JSON 1.0", "sdmx-json-1.0", "json"),
    ("SDMX-ML 3.1", "sdmx-ml-3.1", "xml"),
    ("SDMX-ML 3.0", "sdmx-ml-3.0", "xml"),
    ("SDMX-ML 2.1 structure-specific", "structurespecificdata", "xml"),
    ("SDMX-ML 2.1 structure-specific time series", "structurespecifictimeseriesdata", "xml"),
    ("SDMX-ML 2.1 generic", "genericdata", "xml"),
    ("SDMX-ML 2.1 generic time series", "generictimeseriesdata", "xml"),
    ("JSON-stat 2.0", "jsonstat", "json"),
    ("Excel", "xlsx", "xlsx"),
)


@dataclass(frozen=True)
class Selection:
    """What the visitor chose. `codes`: dimension -> chosen codes (empty: any code)."""

    flow: Flow
    dimensions: tuple[str, ...]
    codes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    start: str | None = None
    end: str | None = None
    labels: Labels = "both"
    chart: Chart = "line"
    #: Whether the URL named any dimension (else the page chooses a first view itself).
    chosen: bool = False

    @property
    def key(self) -> str:
        return ".".join("+".join(self.codes.get(d, ())) or "*" for d in self.dimensions)

    def time_filter(self) -> str:
        """The raw `c[TIME_PERIOD]` parameter ('' when no period is chosen)."""
        terms = ([f"ge:{self.start}"] if self.start else []) + ([f"le:{self.end}"] if self.end else [])
        return f"c[{TIME}]=" + "+".join(terms) if terms else ""

    def api_path(self, kind: str = "data") -> str:
        """The REST v2 path and query of this selection (`kind`: data or availability)."""
        agency, flow_id, version = self.flow
        path = f"/rest/v2/{kind}/dataflow/{quote(agency)}/{quote(flow_id)}/{quote(version)}/{quote(self.key, safe='.+*')}"
        query = self.time_filter()
        return path + (f"?{query}" if query else "")

    def download(self, format_name: str) -> str:
        path = self.api_path()
        return path + ("&" if "?" in path else "?") + f"format={format_name}"

    def data_query(self) -> DataQuery:
        return _parsed(self.api_path(), parse_data_query, 5)

    def availability_query(self) -> AvailabilityQuery:
        return _parsed(self.api_path("availability") + ("&" if self.time_filter() else "?") + "mode=available",
                       parse_availability_query, 6)

    def page_query(self, **changes) -> str:
        """The page's own query string, with `changes` (labels=, chart=) applied."""
        pairs = [(d, c) for d in self.dimensions for c in self.codes.get(d, ())]
        values = {"start": self.start, "end": self.end, "labels": self.labels, "chart": self.chart, **changes}
        pairs += [(k, v) for k, v in values.items() if v]
        return "&".join(f"{quote(k)}={quote(str(v))}" for k, v in pairs)


def _parsed(url: str, parse, parts: int):
    path, _, raw = url.partition("?")
    segments = [unquote(s) for s in path.split("/")[4:]][:parts]  # after /rest/v2/{data|availability}
    params = _Params(parse_qsl(raw, keep_blank_values=True))
    return parse(segments, params, raw)


class _Params(dict):
    """Query parameters as the API's parsers read them (a mapping with `multi_items`)."""

    def __init__(self, pairs):
        super().__init__(pairs)
        self._pairs = pairs

    def multi_items(self):
        return list(self._pairs)


def selection_of(flow: Flow, dimensions: tuple[str, ...], params, known: Mapping[str, set[str]]) -> Selection:
    """The selection in a page's query parameters (`params`: a starlette QueryParams);
    `known`: dimension -> the codes of its codelist. Anything wrong is a SyntaxError_ (a 400
    page) that names the parameter."""
    codes: dict[str, tuple[str, ...]] = {}
    key = _key(params.get("key"), dimensions)
    for d in dimensions:
        chosen = [c for c in params.getlist(d) if c != ""] or list(key.get(d, ()))
        for c in chosen:
            if not ID.fullmatch(c) or (known.get(d) and c not in known[d]):
                raise SyntaxError_(f"{d}={c!r}: not a code of the dimension {d}")
        if chosen:
            codes[d] = tuple(dict.fromkeys(chosen))
    start, end = _period(params, "start"), _period(params, "end")
    if start and end and parse_query_period(start).start > parse_query_period(end).start:
        raise SyntaxError_(f"start={start} comes after end={end}")
    labels = params.get("labels") or "both"
    chart = params.get("chart") or "line"
    if labels not in LABELS:
        raise SyntaxError_(f"labels={labels!r}: expected one of {', '.join(LABELS)}")
    if chart not in CHARTS:
        raise SyntaxError_(f"chart={chart!r}: expected one of {', '.join(CHARTS)}")
    return Selection(flow, dimensions, codes, start, end, labels, chart,  # type: ignore[arg-type]
                     chosen=bool(key) or any(d in params for d in dimensions))


def _key(text: str | None, dimensions: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """`key=Q.IR-10+IR-23.X` (an SDMX series key, as links from the dashboard give it): the
    codes per dimension, in the dimensions' order; empty or `*` parts choose any code."""
    if not text:
        return {}
    parts = text.split(".")
    if len(parts) > len(dimensions):
        raise SyntaxError_(f"key={text!r} has {len(parts)} parts but the dataflow has {len(dimensions)} "
                           f"dimensions: {'.'.join(dimensions)}")
    # a '+' arrives as a space when the link did not encode it (form decoding)
    return {d: tuple(c for c in re.split(r"[+ ]", part) if c) for d, part in zip(dimensions, parts)
            if part not in ("", "*")}


def _period(params, name: str) -> str | None:
    text = (params.get(name) or "").strip()
    if not text:
        return None
    try:
        parse_query_period(text)
    except PeriodError as exc:
        raise SyntaxError_(f"{name}={text!r}: {exc}") from None
    return text
