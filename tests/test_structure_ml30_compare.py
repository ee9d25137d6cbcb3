"""`describe`: an sdmx1 artefact as plain data, the same whichever family of classes holds it.

Two artefacts are "equal" for the writers' round trips when their descriptions are: ids,
versions, names and descriptions in every language, annotations, items and their own fields,
components and representations, relationships and usage, constraint regions, references (by
kind, agency, id and version). `describe(obj, fmt, detail)` leaves out what the format cannot
carry (2.1: annotation values; 3.0: isFinal) and what sdmx1 does not read back from it (3.0:
attribute usage), so that what remains must survive. Small and ours until tests/model_compare.py
(another branch) is merged; the tests at the end check that it is family-independent.
"""

from __future__ import annotations

import re
from decimal import Decimal

from sdmx.model import common, v21, v30

from sdmx_server import kinds
from sdmx_server.formats.structure_ml21_dispatch import is_final, is_partial_with_items, item_path

TIME_TYPES = set(
    """observationalTimePeriod standardTimePeriod basicTimePeriod gregorianTimePeriod gregorianYear
    gregorianYearMonth gregorianDay reportingTimePeriod reportingYear reportingSemester
    reportingTrimester reportingQuarter reportingMonth reportingWeek reportingDay dateTime
    timesRange""".split()
)


URN = re.compile(r"urn:sdmx:org\.sdmx\.infomodel\.\w+\.(?P<cls>\w+)=(?P<agency>[^:]+):(?P<id>[^(]+)\((?P<version>[^)]+)\)")


def version(obj) -> str:
    return str(obj.version) if obj.version else "1.0"


def key(obj) -> tuple | None:
    """(kind, agency, id, version) of a maintainable; its URN-like path for an item."""
    if obj is None:
        return None
    if isinstance(obj, str):  # a URN sdmx1 left unresolved (CodelistExtension.extends)
        match = URN.fullmatch(obj)
        return (kinds.BY_URN_CLASS[match["cls"]].name, match["agency"], match["id"], match["version"]) if match else (obj,)
    if isinstance(obj, common.MaintainableArtefact):
        return (kinds.kind_of(obj).name, getattr(obj.maintainer, "id", None), obj.id, version(obj))
    if isinstance(obj, common.Item):
        scheme = obj.get_scheme()
        nested = kinds.kind_of(scheme).items == "nested"
        return key(scheme) + (item_path(obj) if nested else obj.id,)
    return (type(obj).__name__, obj.id)


def texts(text) -> dict[str, str]:
    return {lang: value for lang, value in text.localizations.items() if value is not None}


def names(obj) -> dict[str, str]:
    # The schema requires a name; one sdmx1 never saw (an external reference) is written as the id.
    return texts(obj.name) or {"en": obj.id}


def annotations(obj, fmt: str) -> list:
    # AnnotationValue is SDMX 3.0's; 2.1 has nowhere to write it.
    return [
        (a.id, a.title or None, a.type or None, a.url, texts(a.text), getattr(a, "value", None) if fmt == "3.0" else None)
        for a in obj.annotations
    ]


def facet_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return format(Decimal(repr(value)).normalize(), "f")
    return str(value)


def representation(rep, fmt: str, *, time: bool = False):
    enumerated = getattr(rep, "enumerated", None)
    facets = list(getattr(rep, "non_enumerated", None) or [])
    if enumerated is not None:
        # Without the class: sdmx1 reads a class-less 2.1 Enumeration <Ref> of a measure
        # dimension as a Codelist, where the schema (and our output) says ConceptScheme.
        return ("enum",) + key(enumerated)[1:]
    if not facets:
        return ("text", "observationalTimePeriod", {}) if time else None
    value_type = next((f.value_type.name for f in facets if f.value_type is not None), "string")
    if fmt == "2.1" and value_type == "geospatialInformation":
        value_type = "string"  # no such type in 2.1
    if time and value_type not in TIME_TYPES:
        # sdmx1 reads <str:TextFormat/> as String whatever the context; for a time dimension the
        # schema's meaning (ObservationalTimePeriod) is what is written.
        value_type = "observationalTimePeriod"
    attributes = {}
    for facet in facets:
        for field, value in vars(facet.type).items():
            if value is not None and field != "sentinel_values":
                attributes.setdefault(field, facet_text(value))
    return ("text", value_type, attributes)


def relationship(rel):
    if isinstance(rel, (v21.PrimaryMeasureRelationship, v30.ObservationRelationship)):
        return ("observation",)
    if isinstance(rel, v30.MeasureRelationship):
        return ("measures",)
    dimensions = [d.id for d in getattr(rel, "dimensions", None) or []]
    group = getattr(getattr(rel, "group_key", None), "id", None)
    if dimensions:
        return ("dimensions", dimensions, group)
    if group:
        return ("group", group)
    return ("dataset",)  # None, NoSpecifiedRelationship, DataflowRelationship


def component(obj, fmt: str) -> dict:
    roles = getattr(obj, "concept_role", None)
    digest = {
        "id": obj.id,
        "class": "Measure" if isinstance(obj, (v21.PrimaryMeasure, v30.Measure)) else type(obj).__name__,
        "annotations": annotations(obj, fmt),
        "concept": key(obj.concept_identity),
        "representation": representation(obj.local_representation, fmt, time=isinstance(obj, common.TimeDimension)),
        "role": key(roles),
    }
    if isinstance(obj, common.DataAttribute):
        if fmt == "2.1":  # sdmx1's 3.0 reader ignores `usage`
            digest["usage"] = (obj.usage_status or common.UsageStatus.conditional).name
        digest["attachment"] = relationship(obj.related_to)
    return digest


def metadata_attribute(obj, fmt: str) -> dict:
    return {
        "id": obj.id,
        "concept": key(obj.concept_identity),
        "representation": representation(obj.local_representation, fmt),
        "occurs": (obj.min_occurs, obj.max_occurs, bool(obj.is_presentational)),
        "children": [metadata_attribute(c, fmt) for c in obj.child],
    }


def item(obj, fmt: str) -> dict:
    digest = {
        "id": obj.id,
        "names": names(obj) if not isinstance(obj, v30.ValueItem) else texts(obj.name),
        "descriptions": texts(obj.description),
        "annotations": annotations(obj, fmt),
        "parent": obj.parent.id if isinstance(getattr(obj, "parent", None), common.Item) else None,
    }
    if isinstance(obj, common.Concept):
        digest["core"] = representation(obj.core_representation, fmt)
    if isinstance(obj, common.Organisation):
        digest["contacts"] = [
            (texts(c.name), texts(c.org_unit), texts(c.responsibility), c.telephone, c.fax, c.x400, c.uri, c.email)
            for c in obj.contact
        ]
    for field in (
        "value", "geo_cell", "data_type", "null_value", "output_format", "vtl_literal_format", "vtl_scalar_type",
        "vtl_default_name", "personalised_name", "definition", "expression", "result",
        "to_vtl_method", "from_vtl_method",
    ):
        if hasattr(obj, field):
            value = getattr(obj, field)
            digest[field] = value.strip() if isinstance(value, str) else value
    for field in ("dataflow_alias", "concept_alias"):
        if hasattr(obj, field):
            digest[field] = key(getattr(obj, field))
    return digest


def hierarchical_code(obj) -> tuple:
    return (obj.id, key(obj.code), getattr(obj.level, "id", None), [hierarchical_code(c) for c in obj.child])


def levels(level) -> list:
    found = []
    while level is not None:
        found.append((level.id, names(level), texts(level.description)))
        level = level.child
    return found


def region(obj) -> tuple:
    members = {}
    for component_, selection in obj.member.items():
        values = sorted(repr(v) if not isinstance(v, common.BaseMemberValue) else f"{v.value}{'+' if v.cascade_values else ''}" for v in selection.values)
        members[component_.id] = (isinstance(component_, common.DimensionComponent), selection.included is not False, values)
    return (str(obj.included).lower() != "false", members)


def content(obj, fmt: str) -> dict:
    """What is particular to each kind."""
    if isinstance(obj, (common.ItemScheme, v30.ValueList)):
        items = obj.items.values() if isinstance(obj.items, dict) else obj.items
        digest = {"partial": str(getattr(obj, "is_partial", None)).lower() == "true",
                  "items": {i.id: item(i, fmt) for i in items}}
        if getattr(obj, "extends", None):
            digest["extends"] = [
                (key(e.extends), e.prefix, type(e.selection).__name__,
                 [m.value for m in getattr(e.selection, "mv", [])]) for e in obj.extends
            ]
        if isinstance(obj, v30.GeoGridCodelist):
            digest["grid"] = obj.grid_definition.strip()
        if isinstance(obj, common.TransformationScheme):
            digest["schemes"] = [key(getattr(obj, f)) for f in ("custom_type_scheme", "name_personalisation_scheme", "ruleset_scheme", "user_defined_operator_scheme", "vtl_mapping_scheme")]
        return digest
    if isinstance(obj, common.BaseDataStructureDefinition):
        return {
            "dimensions": sorted((component(c, fmt) for c in obj.dimensions.components), key=lambda d: d["id"]),
            # The order of the key; 3.0 puts the time dimension last, without a position (and
            # sdmx1 numbers dimensions in the order it meets them, whatever `position` says).
            "key order": [d.id for d in sorted(obj.dimensions.components, key=lambda d: d.order or 0)
                          if not isinstance(d, common.TimeDimension)],
            "groups": {g.id: [d.id for d in g.components] for g in obj.group_dimensions.values()},
            "attributes": [component(c, fmt) for c in obj.attributes.components],
            "measures": [component(c, fmt) for c in obj.measures.components],
            "metadata": key(getattr(obj, "metadata", None)),
        }
    if isinstance(obj, (common.BaseDataflow, common.BaseMetadataflow)):
        structure = obj.structure
        return {"structure": key(structure) if structure is not None and structure.id != common.MissingID else None}
    if isinstance(obj, common.Categorisation):
        return {"artefact": key(obj.artefact), "category": key(obj.category)}
    if isinstance(obj, (v21.ContentConstraint, v30.DataConstraint)):
        keys = obj.data_content_keys
        return {
            "role": getattr(getattr(obj.role, "role", None), "name", None),
            "content": sorted(key(c) for c in obj.content),
            "keys": None if keys is None else (str(keys.included).lower() != "false", [{c.id: str(v.value) for c, v in k.key_value.items()} for k in keys.keys]),
            "regions": [region(r) for r in obj.data_content_region],
        }
    if isinstance(obj, common.ProvisionAgreement):
        return {"usage": key(obj.structure_usage), "provider": key(obj.data_provider)}
    if isinstance(obj, v21.HierarchicalCodelist):
        return {"hierarchies": [
            (h.id, names(h), texts(h.description), bool(h.has_formal_levels), [hierarchical_code(c) for c in h.codes.values()], levels(h.level))
            for h in obj.hierarchy
        ]}
    if isinstance(obj, v30.Hierarchy):
        return {"formal": bool(obj.has_formal_levels), "levels": levels(obj.level), "codes": [hierarchical_code(c) for c in obj.codes.values()]}
    if isinstance(obj, v21.StructureSet):
        return {"maps": [
            (m.id, names(m), key(m.source), key(m.target), [(a.source.id, a.target.id) for a in m.item_association])
            for m in obj.item_scheme_map
        ]}
    if isinstance(obj, v21.MetadataStructureDefinition):
        return {
            "targets": {t.id: [(type(c).__name__, c.id, getattr(getattr(c, "object_type", None), "__name__", None)) for c in t.components] for t in obj.target.values()},
            "reports": {r.id: ([metadata_attribute(a, fmt) for a in r.components], [t.id for t in r.report_for]) for r in obj.report_structure.values()},
        }
    if isinstance(obj, v30.MetadataStructureDefinition):
        return {"attributes": [metadata_attribute(a, fmt) for a in obj.attributes.components]}
    return {}


def describe(obj, fmt: str = "3.0", detail: str = "full") -> dict:
    digest = {"key": key(obj), "names": names(obj)}
    if detail == "full" and obj.is_external_reference and not is_partial_with_items(obj):
        # Written as a stub with its URN: its identity (and finality) is all that is known.
        return digest | {"external": True} | ({"final": is_final(obj)} if fmt == "2.1" else {})
    if detail == "stub":
        return digest
    digest |= {"descriptions": texts(obj.description), "annotations": annotations(obj, fmt)}
    if detail == "completestub":
        return digest
    digest |= {
        "external": bool(obj.is_external_reference),
        "valid": (obj.valid_from, obj.valid_to),
        "urls": (obj.service_url, obj.structure_url),
    }
    if fmt == "2.1":
        digest["final"] = is_final(obj)  # 3.0 has no isFinal: finality is the version's
    return digest | content(obj, fmt)
