"""The query model: what a client asks for, whatever URL syntax it used.

REST v1 and v2 URLs both parse into these objects; the store and the writers never see a URL.
Structure queries (`StructureQuery`), schema queries (`SchemaQuery`), reference metadata
queries (`MetadataSetQuery`, `MetadataByStructureQuery`, `MetadataByFlowQuery`), data queries
(`DataQuery`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sdmx_server.query.periods import Period
from sdmx_server.types import ApiVersion, DataDetail, StructureDetail
from sdmx_server.versions import LATEST, VersionQuery


@dataclass(frozen=True)
class ArtefactRef:
    """A reference that may be wildcarded: None means any agency / any id; version 'latest'."""

    agency: str | None
    id: str | None
    version: str = "latest"


#: Operators of REST v2 component filters (`c[COMP]=op:value`): equal, not equal, less than,
#: less or equal, greater than, greater or equal, contains, does not contain, starts with,
#: ends with.
Operator = Literal["eq", "ne", "lt", "le", "gt", "ge", "co", "nc", "sw", "ew"]
OPERATORS: tuple[Operator, ...] = ("eq", "ne", "lt", "le", "gt", "ge", "co", "nc", "sw", "ew")

#: What a data query's path names (REST v2 `{context}`; REST v1 always a dataflow).
DataContext = Literal["dataflow", "datastructure", "provisionagreement", "*"]

#: A series key: per dimension in DSD order (the time dimension excluded), the allowed codes, or
#: None for any.
Key = tuple[tuple[str, ...] | None, ...]


#: Cube regions as a hashable value: per region, (dimension id, codes) pairs.
Region = tuple[tuple[tuple[str, tuple[str, ...]], ...], ...]


@dataclass(frozen=True)
class Condition:
    operator: Operator
    value: str


@dataclass(frozen=True)
class ComponentFilter:
    """`c[COMP]=...`: the component's value must satisfy one of the alternatives (`,` is OR),
    each a conjunction of conditions (`+` is AND)."""

    component: str  # a dimension, the time dimension (TIME_PERIOD), an attribute or a measure
    alternatives: tuple[tuple[Condition, ...], ...]


@dataclass(frozen=True)
class DataQuery:
    """A data query of REST v1 or v2, after parsing; what it matches is resolved against the
    registry by the data service (service/data.py)."""

    context: DataContext = "dataflow"
    agencies: tuple[str, ...] | None = None  # None: any agency
    ids: tuple[str, ...] | None = None  # None: any id
    versions: VersionQuery = LATEST
    #: Several keys are alternatives (v2 `,` in the key); None: every series.
    keys: tuple[Key, ...] | None = None
    #: v2 `c[COMP]` filters, at most one per component, all of which must hold.
    filters: tuple[ComponentFilter, ...] = ()
    providers: tuple[str, ...] | None = None
    start: Period | None = None
    end: Period | None = None
    first_n: int | None = None
    last_n: int | None = None
    #: A dimension id, "AllDimensions", or None for the default (the time dimension).
    dimension_at_observation: str | None = None
    #: v1 `detail`; v2 says the same with `attributes` and `measures`.
    detail: DataDetail = "full"
    #: v2 `attributes`: keywords (dsd, msd, dataset, series, obs, all, none) or attribute ids.
    attributes: tuple[str, ...] = ("dsd",)
    #: v2 `measures`: all, none, or measure ids.
    measures: tuple[str, ...] = ("all",)
    offset: int = 0
    limit: int | None = None
    #: v2 `sort`: (component id, `*` or `series_key`; descending) in order; None: series order.
    sort: tuple[tuple[str, bool], ...] | None = None
    api: ApiVersion = "v1"
    #: `reportingYearStartDay` (--MM-DD), for reporting periods in `c[TIME_PERIOD]` filters.
    reporting_year_start_day: str = "--01-01"
    #: The revisions parameters: answered 501 until data keeps its history (issue 7).
    updated_after: datetime | None = None
    include_history: bool = False
    as_of: datetime | None = None
    #: The cube regions the asker may read (the gate's read allowance, access/gate.py), each
    #: ((dimension, codes), ...); a row is read when it lies in one of them. None: everywhere.
    #: No client sets it: the data service does, and store/sql.py makes it a condition.
    region: Region | None = None


AvailabilityMode = Literal["exact", "available"]


@dataclass(frozen=True)
class AvailabilityQuery:
    """v1 `/availableconstraint/...` and v2 `/availability/...`: which values the data matching
    `data` hold (mode exact), or which values could still be added to it (mode available)."""

    data: DataQuery
    #: The one component asked about (v1 componentID, v2 componentID); None: all.
    component: str | None = None
    mode: AvailabilityMode = "exact"
    references: tuple[str, ...] = ("none",)


@dataclass(frozen=True)
class StructureQuery:
    #: The kinds asked for (names of sdmx_server.kinds); None for every kind (v1 `structure`,
    #: v2 `*`).
    kinds: tuple[str, ...] | None
    agencies: tuple[str, ...] | None = None  # None: any agency
    ids: tuple[str, ...] | None = None  # None: any id
    versions: VersionQuery = LATEST
    items: tuple[str, ...] | None = None  # item ids, for item schemes; None: all items
    detail: StructureDetail = "full"
    #: Walks (`parents`, `descendants`, ...) and kind names; ("none",) for no references.
    references: tuple[str, ...] = ("none",)
    as_of: datetime | None = None
    api: ApiVersion = "v1"
    #: The resource as the URL named it ("codelist", "actualconstraint", "structure", "*").
    resource: str = "structure"



@dataclass(frozen=True)
class SchemaQuery:
    """The artefact that defines data validity (v1 and v2 `/schema/...`): exactly one agency
    and id; the version may be `latest` (v1) or a single `+`/`~` form (v2), never all."""

    #: A kind name: datastructure, dataflow, provisionagreement, metadatastructure,
    #: metadataflow, metadataprovisionagreement (v2 only).
    context: str
    agency: str
    id: str
    versions: VersionQuery = LATEST
    #: A dimension id, "AllDimensions", or None for the default (the time dimension).
    dimension_at_observation: str | None = None
    #: v1 `explicitMeasure` (cross-sectional schemas with typed measures).
    explicit_measure: bool = False
    #: v2 `deletion`: a schema for deletion messages.
    deletion: bool = False
    as_of: datetime | None = None
    api: ApiVersion = "v1"


#: `detail` of reference metadata queries.
MetadataDetail = Literal["full", "allstubs"]
METADATA_DETAILS: tuple[MetadataDetail, ...] = ("full", "allstubs")


@dataclass(frozen=True)
class ProviderRef:
    """A (metadata) provider: `AGENCY.PROVIDER`, or `PROVIDER` alone (agency None: any)."""

    agency: str | None
    id: str


@dataclass(frozen=True)
class MetadataSetQuery:
    """v2 `/metadata/metadataset/{providerID}/{metadatasetID}/{version}`; None means any."""

    providers: tuple[ProviderRef, ...] | None = None
    ids: tuple[str, ...] | None = None
    versions: VersionQuery = LATEST
    detail: MetadataDetail = "full"
    as_of: datetime | None = None


@dataclass(frozen=True)
class MetadataByStructureQuery:
    """v2 `/metadata/structure/{artefactType}/{agencyID}/{resourceID}/{version}`: the metadata
    sets that target the matching structures."""

    #: Kind names; None for any type (`*`).
    kinds: tuple[str, ...] | None = None
    agencies: tuple[str, ...] | None = None
    ids: tuple[str, ...] | None = None
    versions: VersionQuery = LATEST
    detail: MetadataDetail = "full"
    as_of: datetime | None = None
    #: The artefactType as the URL named it.
    resource: str = "*"


@dataclass(frozen=True)
class MetadataByFlowQuery:
    """v2 `/metadata/metadataflow/{agencyID}/{resourceID}/{version}/{providerID}`: the metadata
    sets reported for the matching metadataflows, by the given providers."""

    agencies: tuple[str, ...] | None = None
    ids: tuple[str, ...] | None = None
    versions: VersionQuery = LATEST
    providers: tuple[ProviderRef, ...] | None = None
    detail: MetadataDetail = "full"
    as_of: datetime | None = None


MetadataQuery = MetadataSetQuery | MetadataByStructureQuery | MetadataByFlowQuery
