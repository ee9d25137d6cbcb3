"""SDMX-JSON 1.0.0 data structures, content constraints and metadata structures.

Each function takes the writer (`structure_json10.Writer10`, whose `kind_<name>` methods they
are), the full stored object without x-sdmx, and x-sdmx; it returns the SDMX-JSON 1.0 object.

- Data structures: dimensions say their `type`; SDMX 2.1 measure dimensions (x-sdmx) are in
  `measureDimensions` with the concept scheme they enumerate, the time dimension in
  `timeDimensions` with its position; the single measure is the `primaryMeasure`; attributes
  have an `assignmentStatus` and always a relationship (`none`, `dimensions` with their
  `attachmentGroups`, `group` or `primaryMeasure`). The same rules as the SDMX-ML 2.1 writer
  refuse what SDMX 2.1 cannot say (several measures, a measure other than OBS_VALUE, a time
  dimension other than TIME_PERIOD or enumerated, relationships to measures...).
- Content constraints: `type` for the role, regions with `isIncluded` and `attributes`, values
  as strings (cascaded ones in `cascadeValues`).
- Metadata structures: the SDMX 2.1 metadata targets and report structures kept in x-sdmx;
  an SDMX 3.0 metadata structure (none) is NotExpressible.
"""

from __future__ import annotations

from typing import Any

#: Ids SDMX 2.1 fixes.
PRIMARY_MEASURE_ID = "OBS_VALUE"
TIME_DIMENSION_ID = "TIME_PERIOD"

#: sdmx1 class of a metadata target object (the stored form's `type`) -> 1.0 member.
TARGET_MEMBERS = {"DataSetTarget": "dataSetTargets", "IdentifiableObjectTarget": "identifiableObjectTargets",
                  "DimensionDescriptorValuesTarget": "keyDescriptorValuesTargets",
                  "ReportPeriodTarget": "reportPeriodTargets"}


# -- data structures --------------------------------------------------------------------------


def data_structure(w, obj: dict, x: dict) -> dict:
    if "metadata" in obj:
        raise w.not_expressible("a data structure's link to a metadata structure")
    comps = obj.get("dataStructureComponents")
    if comps is None:
        return obj
    out: dict[str, Any] = {}
    if "attributeList" in comps:
        out["attributeList"] = _attribute_list(w, comps["attributeList"], x)
    out["dimensionList"] = _dimension_list(w, comps.get("dimensionList") or {"id": "DimensionDescriptor"}, x)
    if "groups" in comps:
        out["groups"] = comps["groups"]
    out["measureList"] = _measure_list(w, comps.get("measureList") or {"id": "MeasureDescriptor"})
    obj["dataStructureComponents"] = out
    return obj


def _dimension_list(w, dl: dict, x: dict) -> dict:
    measure_dimensions = x.get("measureDimensions") or {}
    out = {k: v for k, v in dl.items() if k not in ("dimensions", "timeDimension")}
    dimensions, measures = [], []
    for d in dl.get("dimensions", ()):
        d = dict(d)
        if d["id"] in measure_dimensions:
            d["type"] = "MeasureDimension"
            # SDMX 2.1: a measure dimension enumerates a concept scheme
            scheme = measure_dimensions[d["id"]]["localRepresentation"]["enumeration"]
            d["localRepresentation"] = {"enumeration": scheme}
            measures.append(d)
            continue
        d["type"] = "Dimension"
        rep = w.representation(d.get("localRepresentation"))
        if rep is not None:
            d["localRepresentation"] = rep
        dimensions.append(d)
    if dimensions:
        out["dimensions"] = dimensions
    if measures:
        out["measureDimensions"] = measures
    time = dl.get("timeDimension")
    if time is not None:
        time = dict(time)
        if time["id"] != TIME_DIMENSION_ID:
            raise w.not_expressible(f"a time dimension with the id {time['id']} (SDMX 2.1 fixes {TIME_DIMENSION_ID})")
        rep = time.get("localRepresentation") or {}
        if "enumeration" in rep:
            raise w.not_expressible(f"an enumerated time dimension ({time['id']})")
        time["type"] = "TimeDimension"
        positions = [d["position"] for d in dimensions + measures if type(d.get("position")) is int]
        time["position"] = x.get("timeDimensionPosition") or max(positions, default=0) + 1
        time["localRepresentation"] = w.representation(rep or None, time=True)
        out["timeDimensions"] = [time]
    return out


def _attribute_list(w, al: dict, x: dict) -> dict:
    if al.get("metadataAttributeUsages"):
        raise w.not_expressible("a metadata attribute usage of a data structure")
    groups = x.get("attachmentGroups") or {}
    out = {k: v for k, v in al.items() if k != "attributes"}
    attributes = []
    for a in al.get("attributes", ()):
        if a.get("measureRelationship"):
            raise w.not_expressible(f"an attribute related to measures ({a['id']})")
        a = dict(a)
        usage = a.pop("usage", None)
        a["assignmentStatus"] = "Mandatory" if usage == "mandatory" else "Conditional"
        a["attributeRelationship"] = _relationship(w, a.get("attributeRelationship"), groups.get(a["id"]))
        rep = w.representation(a.get("localRepresentation"))
        if rep is not None:
            a["localRepresentation"] = rep
        attributes.append(a)
    if attributes:
        out["attributes"] = attributes
    return out


def _relationship(w, rel: dict | None, group: str | None) -> dict:
    if not rel or "dataflow" in rel:
        return {"none": {}}
    if "observation" in rel:
        return {"primaryMeasure": PRIMARY_MEASURE_ID}
    if "dimensions" in rel:
        if any(rel.get("areDimensionsOptional") or ()):
            raise w.not_expressible("an attribute related to optional dimensions")
        out: dict[str, Any] = {"dimensions": rel["dimensions"]}
        if group is not None:
            out["attachmentGroups"] = [group]
        return out
    return dict(rel)  # group


def _measure_list(w, ml: dict) -> dict:
    measures = ml.get("measures") or []
    if not measures:
        raise w.not_expressible("a data structure without its primary measure")
    if len(measures) > 1:
        raise w.not_expressible(f"several measures ({', '.join(m['id'] for m in measures)})")
    measure = {k: v for k, v in measures[0].items() if k != "usage"}
    if measure["id"] != PRIMARY_MEASURE_ID:
        raise w.not_expressible(f"a primary measure with the id {measure['id']} (SDMX 2.1 fixes {PRIMARY_MEASURE_ID})")
    if measure.pop("conceptRoles", None):
        raise w.not_expressible(f"a concept role of the measure {measure['id']}")
    rep = w.representation(measure.get("localRepresentation"))
    if rep is not None:
        measure["localRepresentation"] = rep
    out = {k: v for k, v in ml.items() if k != "measures"}
    out["primaryMeasure"] = measure
    return out


# -- content constraints ----------------------------------------------------------------------


def data_constraint(w, obj: dict, x: dict) -> dict:
    role = obj.pop("role", None)
    if role is not None:
        obj["type"] = role  # 1.0 calls the role type
    attachment = obj.get("constraintAttachment")
    if attachment and "simpleDataSources" in attachment:
        sources = attachment.pop("simpleDataSources")
        if len(sources) > 1:
            raise w.not_expressible("a constraint attached to several simple data sources")
        attachment["simpleDataSource"] = sources[0]
    regions = []
    for region in obj.get("cubeRegions", ()):
        if region.get("annotations"):
            raise w.not_expressible("annotations of a cube region")
        out: dict[str, Any] = {"isIncluded": region.get("include") is not False}
        for member, target in (("keyValues", "keyValues"), ("components", "attributes")):
            if member in region:
                out[target] = [_selection(w, s) for s in region[member]]
        regions.append(out)
    if regions:
        obj["cubeRegions"] = regions
    for key_set in obj.get("dataKeySets", ()):
        for key in key_set.get("keys", ()):
            if set(key) - {"keyValues"}:
                raise w.not_expressible("annotations or validity of a data key")
    return obj


def _selection(w, selection: dict) -> dict:
    if selection.get("include") is False:
        raise w.not_expressible(f"a cube region that excludes values of {selection['id']}")
    if selection.get("removePrefix"):
        raise w.not_expressible(f"a selection of {selection['id']} that removes a prefix")
    out: dict[str, Any] = {"id": selection["id"]}
    values, cascaded = [], []
    for v in selection.get("values", ()):
        if type(v) is str:
            values.append(v)
            continue
        if set(v) - {"value", "cascadeValues"} or v.get("cascadeValues") not in (None, True, False):
            raise w.not_expressible(f"a selected value of {selection['id']} with a validity or excluding its root")
        (cascaded if v.get("cascadeValues") else values).append(v["value"])
    if values:
        out["values"] = values
    if cascaded:
        out["cascadeValues"] = cascaded
    if "timeRange" in selection:
        out["timeRange"] = selection["timeRange"]
    return out


# -- metadata structures ----------------------------------------------------------------------


def metadata_structure(w, obj: dict, x: dict) -> dict:
    comps = obj.pop("metadataStructureComponents", None) or {}
    attributes = (comps.get("metadataAttributeList") or {}).get("metadataAttributes") or []
    targets, reports = x.get("metadataTargets"), x.get("reportStructures")
    if not targets or not reports:
        if not attributes:
            return obj
        raise w.not_expressible("an SDMX 3.0 metadata structure (without metadata targets and report structures)")
    base = w.urn(_kind("metadatastructure"), obj)
    head, _, rest = base.partition("=")
    target_prefix = f"{head.rsplit('.', 1)[0]}.MetadataTarget={rest}."
    out_targets = []
    for t in targets:
        d = {k: t[k] for k in ("id", "annotations") if k in t}
        for o in t.get("targetObjects", ()):
            o = dict(o)
            member = TARGET_MEMBERS[o.pop("type")]
            rep = w.representation(o.get("localRepresentation"))
            if rep is not None:
                o["localRepresentation"] = rep
            d.setdefault(member, []).append(o)
        out_targets.append(d)
    out_reports = []
    for i, r in enumerate(reports):
        d = {k: r[k] for k in ("id", "annotations") if k in r}
        own = r["metadataAttributes"] if "metadataAttributes" in r else attributes if i == 0 else []
        d["metadataAttributes"] = [_metadata_attribute(w, a) for a in own]
        d["metadataTargets"] = [target_prefix + tid for tid in r.get("metadataTargets", ())]
        out_reports.append(d)
    obj["metadataStructureComponents"] = {"metadataTargets": out_targets, "reportStructures": out_reports}
    return obj


def _metadata_attribute(w, a: dict) -> dict:
    out = dict(a)
    rep = w.representation(a.get("localRepresentation"))
    if rep is not None:
        out["localRepresentation"] = rep
    if "metadataAttributes" in a:
        out["metadataAttributes"] = [_metadata_attribute(w, c) for c in a["metadataAttributes"]]
    return out


def _kind(name: str):
    from sdmx_server.kinds import BY_NAME

    return BY_NAME[name]
