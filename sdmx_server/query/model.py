"""The query model: what a client asks for, whatever URL syntax it used.

REST v1 and v2 URLs both parse into these objects; the store and the writers never see a URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sdmx_server.query.periods import Period
from sdmx_server.types import ApiVersion, StructureDetail
from sdmx_server.versions import LATEST, VersionQuery


@dataclass(frozen=True)
class ArtefactRef:
    """A reference that may be wildcarded: None means any agency / any id; version 'latest'."""

    agency: str | None
    id: str | None
    version: str = "latest"


@dataclass(frozen=True)
class DataQuery:
    flow: ArtefactRef
    #: Per dimension in DSD order: the allowed codes, or None for any. None as a whole: all data.
    key: tuple[tuple[str, ...] | None, ...] | None = None
    providers: tuple[str, ...] | None = None
    start: Period | None = None
    end: Period | None = None
    first_n: int | None = None
    last_n: int | None = None
    #: A dimension id, "AllDimensions", or None for the default (the time dimension).
    dimension_at_observation: str | None = None
    detail: str = "full"  # full | dataonly | serieskeysonly | nodata


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

