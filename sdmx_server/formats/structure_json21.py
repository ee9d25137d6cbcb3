"""SDMX-JSON 2.1.0 structure messages (SDMX 3.1), the REST v2 default answer to structure queries.

A child of the SDMX-JSON 2.0.0 writer that overrides what SDMX-JSON 2.1.0 says otherwise
(the two schemas' definitions side by side):

- the schema is named by `$schema` at the top of the message (meta.schema is deprecated);
- value lists are `ValueList` in URNs (2.0's schema said Valuelist);
- a data constraint has no `role` and no release calendar: SDMX 3.1 data constraints say what
  is allowed; what is actually present is an availability constraint, which is not a
  maintainable artefact and is answered by availability queries. An actual constraint, a
  release calendar, and attachment to simple data sources are NotExpressible;
- every object is closed (`unevaluatedProperties: false`; only `x-` members may be added), and
  a time dimension's text format must name its data type;
- a maintainable whose texts the Accept-Language filter cut says so (`isPartialLanguage`).
"""

from __future__ import annotations

from collections.abc import Iterable

from sdmx.model.common import MaintainableArtefact

from sdmx_server import kinds
from sdmx_server.formats.ml21 import Header
from sdmx_server.formats.structure_json20 import Writer20
from sdmx_server.formats.structure_json_base import NotExpressible
from sdmx_server.types import ArtefactDetail

__all__ = ["NotExpressible", "Writer21", "structure_message"]

#: The data type SDMX-ML gives a time dimension's text format when it names none.
TIME_DATA_TYPE = "ObservationalTimePeriod"


class Writer21(Writer20):
    """SDMX-JSON 2.1.0."""

    version = "2.1.0"
    format_name = "SDMX-JSON 2.1.0"
    schema_url = "https://json.sdmx.org/2.1/sdmx-json-structure-schema.json"
    value_list_class = "ValueList"

    def envelope(self, meta: dict, data: dict) -> dict:
        return {"$schema": self.schema_url, "meta": meta, "data": data}

    def meta(self, header: Header) -> dict:
        out = super().meta(header)
        del out["schema"]
        return out

    def mark_partial_language(self, obj: dict) -> None:
        obj["isPartialLanguage"] = True

    def header(self, kind: kinds.Kind, obj: dict, x: dict) -> dict:
        # Checked for stubs too: a stub of an actual constraint is still no SDMX 3.1 structure.
        if kind.name == "dataconstraint" and obj.get("role") == "Actual":
            raise self.not_expressible("a constraint of actual content (SDMX 3.1 has availability constraints "
                                       "for it, answered by availability queries)")
        return obj

    def kind_dataconstraint(self, obj: dict, x: dict) -> dict:
        obj = super().kind_dataconstraint(obj, x)
        obj.pop("role", None)
        if "releaseCalendar" in obj:
            raise self.not_expressible("a release calendar of a constraint")
        if "simpleDataSources" in obj.get("constraintAttachment", {}):
            raise self.not_expressible("a constraint attached to simple data sources")
        return obj

    def kind_datastructure(self, obj: dict, x: dict) -> dict:
        time = obj.get("dataStructureComponents", {}).get("dimensionList", {}).get("timeDimension")
        fmt = (time or {}).get("localRepresentation", {}).get("format")
        if fmt is not None and "dataType" not in fmt:
            fmt["dataType"] = TIME_DATA_TYPE
        return obj


def structure_message(
    entries: Iterable[tuple[MaintainableArtefact, ArtefactDetail]],
    header: Header,
    languages: tuple[str, ...] | None = None,
) -> bytes:
    """A whole SDMX-JSON 2.1.0 structure message; `languages` keeps only those languages of
    every text (None: all)."""
    return Writer21(languages).message(entries, header)
