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
- the answer to an availability query is an availability constraint (`availabilityConstraints`:
  annotations, a constraint attachment to one structure, one cube region, seriesCount and
  obsCount), written from a data constraint the availability service built (it carries
  `availability_metrics`);
- a maintainable whose texts the Accept-Language filter cut says so (`isPartialLanguage`).
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from sdmx.model.common import MaintainableArtefact

from sdmx_server import kinds
from sdmx_server.registry.codec import to_json
from sdmx_server.formats.ml21 import Header
from sdmx_server.formats.structure_json20 import Writer20
from sdmx_server.formats.structure_json_base import NotExpressible
from sdmx_server.formats.structure_ml31 import METRICS_TYPE, availability_metrics
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

    def entry(self, artefact, detail: ArtefactDetail) -> tuple[str, dict]:
        metrics = availability_metrics(artefact)
        if metrics is None:
            return super().entry(artefact, detail)
        self.artefact = artefact
        stored = to_json(artefact)
        regions = stored.get("cubeRegions", [])
        targets = [(k, v) for k, v in stored.get("constraintAttachment", {}).items()]
        if len(regions) != 1 or len(targets) != 1 or len(targets[0][1]) != 1:
            raise self.not_expressible("an availability constraint of other than one structure and one cube region")
        member = {"dataStructures": "dataStructure", "dataflows": "dataflow",
                  "provisionAgreements": "provisionAgreement"}.get(targets[0][0])
        if member is None:
            raise self.not_expressible(f"an availability constraint attached to {targets[0][0]}")
        obj: dict = {}
        annotations = [a for a in stored.get("annotations", []) if a.get("type") != METRICS_TYPE]
        if annotations:
            obj["annotations"] = annotations
        region = self.kind_dataconstraint({"cubeRegions": regions}, {})["cubeRegions"][0]
        obj |= {"constraintAttachment": {member: targets[0][1][0]}, "cubeRegion": region,
                "seriesCount": metrics[1], "obsCount": metrics[0]}
        return "availabilityConstraints", obj

    def message(self, entries, header: Header) -> bytes:
        # Availability constraints have no identity to check for repeats; the rest as in 2.0.
        entries = list(entries)
        available = [e for e in entries if availability_metrics(e[0]) is not None]
        if not available:
            return super().message(entries, header)
        others = [e for e in entries if availability_metrics(e[0]) is None]
        data = orjson.loads(super().message(others, header))["data"] if others else {}
        data["availabilityConstraints"] = [self.entry(a, d)[1] for a, d in available]
        return orjson.dumps(self.envelope(self.meta(header), self.ordered(data)))

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
