"""SDMX-JSON 2.0.0 structure messages (SDMX 3.0), the REST v2 JSON of SDMX 3.0.

The stored form of the registry is an SDMX-JSON 2.0.0 artefact object, so this writer is the
shared one (`structure_json_base.JsonWriter`) as it is: x-sdmx stripped, details, links and
languages. What SDMX 3.0 cannot say (SDMX 2.1 measure dimensions, attachment groups, metadata
targets, and the kinds SDMX 3.0 dropped) raises NotExpressible.
"""

from __future__ import annotations

from collections.abc import Iterable

from sdmx.model.common import MaintainableArtefact

from sdmx_server.formats.ml21 import Header
from sdmx_server.formats.structure_json_base import JsonWriter, NotExpressible
from sdmx_server.types import ArtefactDetail

__all__ = ["NotExpressible", "Writer20", "structure_message"]


class Writer20(JsonWriter):
    """SDMX-JSON 2.0.0: the base writer."""


def structure_message(
    entries: Iterable[tuple[MaintainableArtefact, ArtefactDetail]],
    header: Header,
    languages: tuple[str, ...] | None = None,
) -> bytes:
    """A whole SDMX-JSON 2.0.0 structure message; `languages` keeps only those languages of
    every text (None: all)."""
    return Writer20(languages).message(entries, header)
