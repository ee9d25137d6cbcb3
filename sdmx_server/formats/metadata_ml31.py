"""SDMX-ML 3.1.0 generic reference metadata (`application/vnd.sdmx.metadata+xml;version=3.1.0`).

SDMX-ML 3.1's generic metadata differs from 3.0's in its namespaces, in one `md:Value` per
attribute at most (the 3.0 writer writes one anyway: a repeated value is a repeated attribute)
and in `isPartialLanguage` on maintainables, said of a set that lost languages to
`Accept-Language`. Everything else is the 3.0 writer's.
"""

from __future__ import annotations

from typing import Any, Iterable

from lxml import etree

from sdmx_server.formats.metadata_ml30 import MetadataWriter30
from sdmx_server.formats.metadata_sets import PreparedSet
from sdmx_server.formats.ml21 import Header
from sdmx_server.types import ArtefactDetail


class MetadataWriter31(MetadataWriter30):
    format_name = "SDMX-ML 3.1"
    ns_message = "http://www.sdmx.org/resources/sdmxml/schemas/v3_1/message"
    ns_common = "http://www.sdmx.org/resources/sdmxml/schemas/v3_1/common"
    ns_metadata = "http://www.sdmx.org/resources/sdmxml/schemas/v3_1/metadata/generic"

    def set_extras(self, el: etree._Element, prepared: PreparedSet) -> None:
        if prepared.partial_language:
            el.set("isPartialLanguage", "true")


def metadata_message(
    entries: Iterable[tuple[Any, ArtefactDetail]],
    header: Header,
    languages: tuple[str, ...] | None = None,
) -> bytes:
    """An SDMX-ML 3.1 GenericMetadata message of the metadata sets."""
    return MetadataWriter31(languages).message(entries, header)
