"""The query model: what a client asks for, whatever URL syntax it used.

REST v1 and v2 URLs both parse into these objects; the store and the writers never see a URL.
"""

from __future__ import annotations

from dataclasses import dataclass

from sdmx_server.query.periods import Period


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
    resource: str  # a REST resource name: codelist, dataflow, ... or "structure" for any kind
    agencies: tuple[str, ...] | None = None
    ids: tuple[str, ...] | None = None
    versions: tuple[str, ...] | str = "latest"  # "latest", "all", or explicit versions
    items: tuple[str, ...] | None = None  # item ids, for item schemes
    detail: str = "full"
    references: str = "none"

