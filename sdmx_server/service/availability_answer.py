"""The availability answer as structures: an actual data constraint per dataflow (SDMX 3.0
DataConstraint, role Actual; SDMX 2.1 ContentConstraint, type Actual), and the artefacts it
refers to when `references` asks for them.

The constraint is built in the registry's stored form (an SDMX-JSON 2.0 artefact, see
registry/codec) and turned into the model the structure writers write, so that availability
goes out through the same media rows and writers as any structure answer.

- One CubeRegion (include) with a KeyValue per answered dimension and, for the time dimension,
  a TimeRange from the first period's start to the last period's end (inclusive, to the
  second: the Technical Notes' 23:59:59 convention).
- Metrics (availability.md, "Metrics"): SDMX 3.1 formats (SDMX-ML 3.1, SDMX-JSON 2.1) write an
  AvailabilityConstraint with obsCount and seriesCount; SDMX-ML 2.1/3.0 and SDMX-JSON 1.0/2.0
  have no member for them, so there they are annotations of the constraint, as .Stat Suite
  writes them: id `obs_count` (and `series_count`), the number as title, type `sdmx_metrics`.
- References: dataflow, datastructure, conceptscheme (the concepts of the constrained
  dimensions), codelist (the codes present, with their ancestors; isPartial when cut),
  valuelist (likewise), dataproviderscheme (none: data providers are not modelled yet); `all`
  is all of them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sdmx.model import common

from sdmx_server.kinds import BY_NAME
from sdmx_server.registry.codec import from_json
from sdmx_server.registry.extensions import resolved
from sdmx_server.registry.index import Registry
from sdmx_server.registry.partial import keep_items
from sdmx_server.registry.select import Selection
from sdmx_server.service.availability import FlowAvailability

METRICS_TYPE = "sdmx_metrics"
_URN = "urn:sdmx:org.sdmx.infomodel."
_EPOCH = datetime(1970, 1, 1)

#: `references` values and the kinds they bring.
REFERENCE_KINDS = ("dataflow", "datastructure", "conceptscheme", "codelist", "valuelist", "dataproviderscheme")


def constraint_json(answer: FlowAvailability) -> dict:
    """The actual constraint in the stored form (SDMX-JSON 2.0 DataConstraint)."""
    agency, flow_id, version = answer.flow
    key_values: list[dict] = [{"id": d, "values": codes} for d, codes in answer.codes.items()]
    if answer.time_range is not None and answer.shape.time is not None:
        start, end = answer.time_range
        key_values.append({"id": answer.shape.time.id, "timeRange": {
            "startPeriod": {"period": _instant(start), "isInclusive": True},
            "endPeriod": {"period": _instant(end - 1_000_000), "isInclusive": True},
        }})
    name = f"Availability of {agency}:{flow_id}({version})"
    return {
        "id": f"AVAILABILITY_{flow_id}"[:255],
        "version": version,  # the dataflow's: two versions of one dataflow answer apart
        "agencyID": agency,
        "name": name,
        "names": {"en": name},
        "annotations": [
            {"id": "obs_count", "title": str(answer.obs_count), "type": METRICS_TYPE},
            {"id": "series_count", "title": str(answer.series_count), "type": METRICS_TYPE},
        ],
        "role": "Actual",
        "constraintAttachment": {"dataflows": [f"{_URN}datastructure.Dataflow={agency}:{flow_id}({version})"]},
        "cubeRegions": [{"include": True, "keyValues": key_values}],
    }


def _instant(epoch_us: int) -> str:
    moment = _EPOCH + timedelta(microseconds=epoch_us)
    return moment.replace(microsecond=0).isoformat()


def selection(registry: Registry, answers: list[FlowAvailability], references: tuple[str, ...]) -> Selection:
    """The constraints (what the query named: a format that cannot say them is a 406), then
    the referenced artefacts."""
    chosen = Selection()
    for answer in answers:
        stored = constraint_json(answer)
        constraint = from_json(BY_NAME["dataconstraint"], stored, registry._resolve_model)
        # SDMX 3.1 formats write it as an availability constraint, with these as attributes.
        constraint.availability_metrics = (answer.obs_count, answer.series_count)
        chosen.append((constraint, "full"))
    chosen.required = len(chosen)
    wanted = set(REFERENCE_KINDS) if "all" in references else set(references) - {"none"}
    seen: set[int] = set()

    def add(artefact) -> None:
        if artefact is not None and id(artefact) not in seen:
            seen.add(id(artefact))
            chosen.append((artefact, "full"))

    cuts: dict[int, tuple[object, set[str]]] = {}
    for answer in answers:
        dsd = answer.dataflow.structure
        if "dataflow" in wanted:
            add(answer.dataflow)
        if "datastructure" in wanted:
            add(dsd)
        for component in dsd.dimensions.components:
            concept = component.concept_identity
            if "conceptscheme" in wanted and concept is not None and component.id in _answered(answer):
                scheme = concept.get_scheme()
                if isinstance(scheme, common.ConceptScheme):
                    cuts.setdefault(id(scheme), (scheme, set()))[1].add(concept.id)
            rep = component.local_representation or (concept.core_representation if concept is not None else None)
            enumerated = rep.enumerated if rep is not None else None
            kind = "valuelist" if type(enumerated).__name__ == "ValueList" else "codelist"
            if enumerated is not None and kind in wanted and component.id in answer.codes:
                cuts.setdefault(id(enumerated), (enumerated, set()))[1].update(answer.codes[component.id])
    for scheme, keep in cuts.values():
        add(_partial(scheme, keep))
    return chosen


def _answered(answer: FlowAvailability) -> set[str]:
    out = set(answer.codes)
    if answer.time_range is not None and answer.shape.time is not None:
        out.add(answer.shape.time.id)
    return out


def _partial(scheme, keep: set[str]):
    full = resolved(scheme)
    if isinstance(full, common.ItemScheme):
        return keep_items(full, keep)
    return full
