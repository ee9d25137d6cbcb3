"""What an artefact means, independent of which sdmx1 family holds it, for tests to compare.

`describe(artefact)` gives a plain dict of everything an artefact says: ids, versions, names
and descriptions in every language, annotations, items with their own fields and parents,
components with their concepts, roles and representations (enumerations and text formats
with every facet), attribute relationships and usage, constraint regions and key sets,
hierarchies, and every reference, by URN. `assert_same_artefact(a, b)` fails with the paths
where two descriptions differ.

It is strict about meaning and lenient only where the two families (or sdmx1's readers)
represent one meaning differently; each leniency is marked LENIENT below. It does not use the
codec, so that a mistake in the codec cannot hide itself.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta
from typing import Any

from sdmx.model import common, v21, v30

from sdmx_server.kinds import kind_of

# -- values -----------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    # LENIENT: sdmx1's SDMX-ML 2.1 reader puts a falsy sentinel (not a str) where an element
    # was empty; it means the same as no value.
    if isinstance(value, str):
        return value
    if value is None or not value:
        return None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return f"{value.total_seconds()}s"
    return str(value)


def _bool(value: Any, default: bool | None = None) -> bool | None:
    # LENIENT: sdmx1's readers keep some flags as the XML text ("true"/"false"); a flag that
    # is not set means its default.
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


def _number(value: Any) -> Any:
    # LENIENT: facets read from SDMX-ML are text ("10", "1.5"); built in code or read from JSON
    # they are numbers. The same number is the same facet.
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _duration(value: Any) -> Any:
    # LENIENT: a time interval built in code is a timedelta; read from SDMX-ML or JSON it is
    # an ISO 8601 duration. Durations of days and times compare by their seconds.
    import re

    if isinstance(value, timedelta):
        return value.total_seconds()
    m = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?", value or "")
    if m and any(m.groups()):
        d, h, mi, sec = (float(g or 0) for g in m.groups())
        return d * 86400 + h * 3600 + mi * 60 + sec
    return _text(value)


def _texts(value: Any) -> dict[str, str]:
    # LENIENT: sdmx1 keeps an empty <Name/> as a language without text; it says nothing.
    return {k: v for k, v in (getattr(value, "localizations", None) or {}).items() if isinstance(v, str)}


def _version(value: Any) -> str:
    # LENIENT: an SDMX 2.1 artefact or reference without a version has version 1.0.
    text = str(value) if value is not None else ""
    return text if text and text != "None" else "1.0"


def _enum(value: Any) -> Any:
    return value.name if isinstance(value, enum.Enum) else value


# -- references -------------------------------------------------------------------------------


class _Refs:
    """URNs of what an artefact refers to, built from the kinds table (not by the codec)."""

    def __init__(self, artefact: common.MaintainableArtefact):
        self.agency = getattr(artefact.maintainer, "id", None) or ""

    def urn(self, obj: Any) -> str | None:
        if obj is None:
            return None
        if isinstance(obj, str):
            return obj
        if isinstance(obj, dict):  # sdmx1's reference to a class SDMX does not have
            return (f"urn:sdmx:org.sdmx.infomodel.{obj['package']}.{obj['class']}={obj['agency']}:"
                    f"{obj['id']}({obj.get('version') or '1.0'})")
        if isinstance(obj, common.MaintainableArtefact):
            kind = kind_of(obj)
            # LENIENT: a reference without agency is to the referring artefact's agency.
            return kind.urn(getattr(obj.maintainer, "id", None) or self.agency, str(obj.id), _version(obj.version))
        if isinstance(obj, common.Item):
            scheme = obj.get_scheme()
            if isinstance(scheme, common.MaintainableArtefact):
                kind = kind_of(scheme)
                path = obj.hierarchical_id if kind.items == "nested" else obj.id
                base = self.urn(scheme)
                head, _, rest = base.partition("=")
                return f"{head.rsplit('.', 1)[0]}.{kind.item_class}={rest}.{path}"
        return getattr(obj, "urn", None) or f"<{type(obj).__name__} {getattr(obj, 'id', '?')}>"


# -- parts ------------------------------------------------------------------------------------


def _annotations(obj: Any) -> list[dict]:
    # LENIENT: v21.Annotation and v30.Annotation are one thing (v21 has no value).
    return [{"id": _text(a.id), "title": _text(a.title), "type": _text(a.type), "url": _text(a.url),
             "text": _texts(a.text), "value": _text(getattr(a, "value", None))}
            for a in getattr(obj, "annotations", None) or ()]


def _nameable(obj: Any) -> dict:
    return {"id": _text(obj.id) or "", "name": _texts(getattr(obj, "name", None)),
            "description": _texts(getattr(obj, "description", None)), "annotations": _annotations(obj)}


_FACETS = ("is_sequence", "interval", "start_value", "end_value", "time_interval", "start_time", "end_time",
           "min_length", "max_length", "min_value", "max_value", "decimals", "pattern", "is_multi_lingual",
           "sentinel_values")


def _facet(f: Any) -> dict:
    out: dict[str, Any] = {"value_type": _enum(f.value_type)}
    for name in _FACETS:
        value = getattr(f.type, name, None)
        if name.startswith("is_"):
            value = _bool(value)
        elif name == "time_interval":
            value = _duration(value)
        elif name in ("start_time", "end_time", "pattern"):
            value = _text(value)
        elif name != "sentinel_values":
            value = _number(value)
        if value is not None:
            out[name] = value
    return out


def _rep(rep: Any, refs: _Refs) -> dict | None:
    if rep is None:
        return None
    out = {"enumerated": refs.urn(rep.enumerated),
           "formats": [_facet(f) for f in rep.non_enumerated or () if isinstance(f, common.Facet)],
           "min_occurs": getattr(rep, "min_occurs", None), "max_occurs": getattr(rep, "max_occurs", None)}
    # LENIENT: an empty representation says nothing, as no representation.
    return out if any(v not in (None, []) for v in out.values()) else None


def _roles(c: Any, refs: _Refs) -> list:
    roles = getattr(c, "concept_roles", None) or (
        [c.concept_role] if getattr(c, "concept_role", None) is not None else [])
    return [refs.urn(r) for r in roles]


def _component(c: Any, refs: _Refs) -> dict:
    return {"id": c.id, "annotations": _annotations(c), "concept": refs.urn(c.concept_identity),
            "roles": _roles(c, refs), "rep": _rep(c.local_representation, refs)}


def _relationship(rel: Any) -> Any:
    # LENIENT: SDMX 2.1's NoSpecifiedRelationship is SDMX 3.0's DataflowRelationship, and its
    # PrimaryMeasureRelationship the ObservationRelationship; a DimensionRelationship that
    # names no dimension but a group is a GroupRelationship.
    if rel is None:
        return None
    if isinstance(rel, (v21.NoSpecifiedRelationship, v30.DataflowRelationship)):
        return ["dataflow"]
    if isinstance(rel, (v21.PrimaryMeasureRelationship, v30.ObservationRelationship)):
        return ["observation"]
    group = getattr(getattr(rel, "group_key", None), "id", None)
    dims = [d.id for d in getattr(rel, "dimensions", None) or ()]
    if dims:
        return ["dimensions", dims, group, [bool(v) for v in getattr(rel, "are_dimensions_optional", None) or ()]]
    if group is not None:
        return ["group", group]
    return [type(rel).__name__]


def _usage(c: Any) -> str | None:
    status = getattr(c, "usage_status", None)
    return None if status is None else _enum(status)


def _dsd(dsd: Any, refs: _Refs) -> dict:
    dims = []
    for index, d in enumerate(dsd.dimensions.components):
        # LENIENT: the class of a dimension is its role; v21 and v30 share them.
        cls = "time" if isinstance(d, common.TimeDimension) else (
            "measure" if isinstance(d, v21.MeasureDimension) else "dimension")
        # LENIENT: a dimension without order is at its place in the list.
        dims.append({**_component(d, refs), "class": cls, "order": d.order if isinstance(d.order, int) else index + 1})
    attrs, usages = [], []
    for a in dsd.attributes.components:
        if isinstance(a, v30.MetadataAttributeUsage):
            target = a.metadata_attribute
            usages.append({"id": a.id, "annotations": _annotations(a), "relationship": _relationship(a.related_to),
                           "target": getattr(target, "target_id", None) or getattr(target, "id", None) or a.id})
        else:
            # LENIENT: v21.ReportingYearStartDay is a data attribute like any other.
            attrs.append({**_component(a, refs), "usage": _usage(a), "relationship": _relationship(a.related_to),
                          "measures": [getattr(m, "id", m) for m in getattr(a, "measure_relationship", None) or ()]})
    # LENIENT: v21.PrimaryMeasure is the (single) v30.Measure.
    measures = [{**_component(m, refs), "usage": _usage(m)} for m in dsd.measures.components]
    groups = [{"id": g.id, "annotations": _annotations(g), "dimensions": [d.id for d in g.components]}
              for g in dsd.group_dimensions.values()]
    # LENIENT: the ids of the component lists are fixed by SDMX and not compared.
    return {"dimensions": dims, "attributes": attrs, "metadata_attribute_usages": usages, "measures": measures,
            "groups": groups, "metadata": refs.urn(getattr(dsd, "metadata", None)),
            "list_annotations": [_annotations(dsd.dimensions), _annotations(dsd.attributes),
                                 _annotations(dsd.measures)]}


def _items(scheme: Any, refs: _Refs) -> list[dict]:
    out = []
    nested = kind_of(scheme).items == "nested"
    values = scheme.items.values()
    if nested:  # walk the tree: items of one id in two branches are both kept
        order: list = []
        stack = [i for i in values if not isinstance(i.parent, common.Item)]
        def walk(items):
            for i in items:
                order.append(i)
                walk(i.child)
        walk(stack)
        values = order
    for item in values:
        d = _nameable(item)
        parent = item.parent if isinstance(item.parent, common.Item) else None
        d["parent"] = (parent.hierarchical_id if nested else parent.id) if parent is not None else None
        if isinstance(item, common.Concept):
            d["core_representation"] = _rep(item.core_representation, refs)
            iso = item.iso_concept
            d["iso_concept"] = None if iso is None else [iso.agency, iso.scheme_id, iso.id]
        if isinstance(item, common.Organisation):
            d["contacts"] = [_contact(c) for c in item.contact or ()]
        if isinstance(item, v30.GeoFeatureSetCode):
            d["value"] = item.value
        if isinstance(item, v30.GeoGridCode):
            d["geo_cell"] = item.geo_cell
        for name in ("data_type", "null_value", "output_format", "vtl_literal_format", "vtl_scalar_type",
                     "vtl_default_name", "personalised_name", "vtl_artefact", "definition", "scope", "expression",
                     "result", "alias"):
            if hasattr(item, name) and not callable(getattr(item, name)) and not isinstance(item, common.Concept):
                d[name] = _text(getattr(item, name))
        if isinstance(item, common.Ruleset):
            d["ruleset_type"] = _text(item.type)
        if isinstance(item, common.Transformation):
            # LENIENT: a transformation not said persistent is not persistent.
            d["is_persistent"] = _bool(getattr(item, "is_persistent", None), False)
        if isinstance(item, common.VTLMapping):
            d.update(_vtl_mapping(item, refs))
        out.append(d)
    return out


def _vtl_mapping(m: Any, refs: _Refs) -> dict:
    if isinstance(m, common.VTLDataflowMapping):
        def keys(value):
            value = value or []
            return [str(getattr(k, "key", k)) for k in (value if isinstance(value, (list, tuple)) else [value])]
        return {"dataflow": refs.urn(m.dataflow_alias), "to_method": _enum(m.to_vtl_method),
                "to_keys": keys(m.to_vtl_subspace),
                "from_method": _enum(m.from_vtl_method) if not isinstance(m.from_vtl_method, list) else None,
                "from_keys": keys(m.from_vtl_superspace)}
    return {"alias_of": refs.urn(getattr(m, "concept_alias", None))}


def _contact(c: Any) -> dict:
    phones = [c.telephone] if isinstance(c.telephone, str) else list(c.telephone or ())
    return {"name": _texts(c.name), "department": _texts(c.org_unit), "role": _texts(c.responsibility),
            "telephones": phones, "emails": list(c.email or ()), "faxes": list(c.fax or ()),
            "uris": list(c.uri or ()), "x400s": list(c.x400 or ())}


def _extensions(cl: Any, refs: _Refs) -> list:
    out = []
    for ext in getattr(cl, "extends", None) or ():
        sel = ext.selection
        out.append({"codelist": refs.urn(ext.extends), "prefix": ext.prefix,
                    "selection": None if sel is None else [
                        "exclusive" if isinstance(sel, v30.ExclusiveCodeSelection) else "inclusive",
                        # LENIENT: wildcarded and plain member values are one set.
                        sorted((str(mv.value), str(mv.cascade_values)) for mv in sel.mv)]})
    return out


def _period(p: Any) -> Any:
    return None if p is None else [_text(p.period), _bool(p.is_inclusive, True)]


def _selection_value(v: Any) -> Any:
    # LENIENT: v21 and v30 selection values and periods are one thing.
    if isinstance(v, (v21.BeforePeriod, v30.BeforePeriod)):
        return ["before", _period(v)]
    if isinstance(v, (v21.AfterPeriod, v30.AfterPeriod)):
        return ["after", _period(v)]
    if isinstance(v, (v21.RangePeriod, v30.RangePeriod)):
        return ["range", _period(v.start), _period(v.end)]
    cascade = getattr(v, "cascade_values", None)
    return [str(v.value), cascade if cascade == "excluderoot" else _bool(cascade),
            _text(getattr(v, "valid_from", None)), _text(getattr(v, "valid_to", None))]


def _constraint(c: Any, refs: _Refs) -> dict:
    regions = []
    for cr in c.data_content_region or ():
        members = []
        for component, ms in cr.member.items():
            members.append({"id": component.id, "dimension": isinstance(component, common.DimensionComponent),
                            "included": _bool(ms.included, True), "remove_prefix": _bool(getattr(ms, "remove_prefix", None), False),
                            "values": [_selection_value(v) for v in ms.values]})
        # LENIENT: the selections of a cube region are a set; their order means nothing.
        regions.append({"included": _bool(cr.included, True), "annotations": _annotations(cr),
                        "members": sorted(members, key=lambda m: (m["dimension"], m["id"]))})
    keys = None
    if c.data_content_keys is not None:
        keys = {"included": _bool(c.data_content_keys.included, True),
                "keys": [{"values": [[comp.id, str(getattr(cv, "value", cv))] for comp, cv in k.key_value.items()],
                          "valid_from": _text(getattr(k, "valid_from", None)),
                          "valid_to": _text(getattr(k, "valid_to", None))} for k in c.data_content_keys.keys]}
    # LENIENT: what a constraint is attached to is a set (sdmx1 holds a set).
    return {"role": _enum(c.role.role) if c.role is not None else None,
            "content": sorted(refs.urn(o) for o in c.content or ()),
            "regions": regions, "keys": keys, "release_calendar": getattr(c, "release_calendar", None)}


def _level(level: Any) -> Any:
    out = []
    while level is not None:
        fmt = getattr(getattr(level, "code_format", None), "coding_format", None)
        facet = _facet(fmt) if isinstance(fmt, common.Facet) else None
        # LENIENT: sdmx1 gives every level an empty coding format; empty is none.
        out.append({**_nameable(level), "format": None if facet == {"value_type": None} else facet})
        level = level.child
    return out


def _hcode(hc: Any, refs: _Refs) -> dict:
    return {"id": hc.id, "annotations": _annotations(hc), "code": refs.urn(hc.code),
            "level": getattr(hc.level, "id", None), "valid_from": _text(hc.valid_from), "valid_to": _text(hc.valid_to),
            "children": [_hcode(c, refs) for c in hc.child]}


def _hierarchy(h: Any, refs: _Refs) -> dict:
    return {"formal_levels": _bool(h.has_formal_levels, False), "levels": _level(h.level),
            "codes": [_hcode(c, refs) for c in h.codes.values()]}


def _metadata_attribute(ma: Any, refs: _Refs) -> dict:
    max_occurs = ma.max_occurs
    return {**_component(ma, refs), "presentational": _bool(ma.is_presentational),
            "min_occurs": _number(ma.min_occurs), "max_occurs": max_occurs if max_occurs == "unbounded" else _number(max_occurs),
            "children": [_metadata_attribute(c, refs) for c in ma.child or ()]}


def _msd(msd: Any, refs: _Refs) -> dict:
    reports = list((getattr(msd, "report_structure", None) or {}).values())
    # LENIENT: a v21 MSD's attributes are those of its (first) report structure.
    attributes = msd.attributes.components if isinstance(msd, v30.MetadataStructureDefinition) else (
        reports[0].components if reports else [])
    targets = [{"id": t.id, "annotations": _annotations(t),
                "objects": [{"class": type(o).__name__, "id": _text(o.id), "annotations": _annotations(o),
                             "object_type": getattr(getattr(o, "object_type", None), "__name__",
                                                    getattr(o, "object_type", None)),
                             "rep": _rep(o.local_representation, refs)} for o in t.components]}
               for t in (getattr(msd, "target", None) or {}).values()]
    return {"attributes": [_metadata_attribute(a, refs) for a in attributes], "targets": targets,
            "reports": [{"id": r.id, "annotations": _annotations(r), "targets": [t.id for t in r.report_for],
                         "attributes": [_metadata_attribute(a, refs) for a in r.components]} for r in reports]}


def _metadata_value(v: Any, refs: _Refs) -> dict:
    target = getattr(v, "value_for", None)
    if isinstance(v, v30.TextAttributeValue):
        value: Any = ["text", _texts(v.text)]
    elif isinstance(v, v30.XHTMLAttributeValue):
        value = ["xhtml", v.value]
    elif isinstance(v, v30.CodedMetadataAttributeValue):
        value = ["code", refs.urn(v.value_of)]
    else:
        value = ["value", getattr(v, "value", None)]
    return {"id": getattr(target, "id", target), "value": value, "annotations": _annotations(v),
            "children": [_metadata_value(c, refs) for c in getattr(v, "child", None) or () if not isinstance(c, type)]}


def describe(artefact: common.MaintainableArtefact) -> dict:
    """Everything an artefact says, as plain data that compares across the two families."""
    kind = kind_of(artefact)
    refs = _Refs(artefact)
    out: dict[str, Any] = {
        "kind": kind.name, "urn": refs.urn(artefact), **_nameable(artefact),
        "version": _version(artefact.version),
        # LENIENT: an unset flag is false.
        "final": _bool(artefact.is_final, False), "external": _bool(artefact.is_external_reference, False),
        "valid_from": _text(artefact.valid_from), "valid_to": _text(artefact.valid_to),
        "structure_url": _text(getattr(artefact, "structure_url", None)),
        "service_url": _text(getattr(artefact, "service_url", None)),
        "uri": _text(getattr(artefact, "uri", None)),
    }
    a = artefact
    if isinstance(a, v30.ValueList):
        out["items"] = [_nameable(i) for i in a.items]
    elif isinstance(a, common.ItemScheme):
        out["partial"] = _bool(a.is_partial, False)
        out["items"] = _items(a, refs)
        if isinstance(a, common.Codelist) or isinstance(a, v30.GeoCodelist):
            out["extensions"] = _extensions(a, refs)
        if isinstance(a, v30.GeoGridCodelist):
            out["grid_definition"] = a.grid_definition
        for name in ("custom_type_scheme", "name_personalisation_scheme", "ruleset_scheme",
                     "user_defined_operator_scheme", "vtl_mapping_scheme"):
            values = getattr(a, name + "s", None) or (
                [getattr(a, name)] if getattr(a, name, None) is not None else [])
            if values:
                out[name] = [refs.urn(v) for v in values]
        if getattr(a, "vtl_version", None):
            out["vtl_version"] = a.vtl_version
    elif isinstance(a, common.BaseDataStructureDefinition):
        out.update(_dsd(a, refs))
    elif isinstance(a, common.BaseDataflow):
        # LENIENT: a dataflow without structure holds sdmx1's empty placeholder DSD.
        out["structure"] = refs.urn(a.structure) if a.structure is not None and a.structure.id else None
    elif isinstance(a, (v21.ContentConstraint, v30.DataConstraint)):
        out.update(_constraint(a, refs))
    elif isinstance(a, common.Categorisation):
        out["source"] = refs.urn(a.artefact)
        out["target"] = refs.urn(a.category)
    elif isinstance(a, common.ProvisionAgreement):
        out["structure_usage"] = refs.urn(a.structure_usage)
        out["data_provider"] = refs.urn(a.data_provider)
    elif isinstance(a, v30.Hierarchy):
        out.update(_hierarchy(a, refs))
    elif isinstance(a, v21.HierarchicalCodelist):
        out["hierarchies"] = [{**_nameable(h), **_hierarchy(h, refs)} for h in a.hierarchy]
    elif isinstance(a, v30.HierarchyAssociation):
        out.update({name: refs.urn(getattr(a, name)) for name in ("linked_hierarchy", "linked_object", "context_object")})
    elif isinstance(a, v21.StructureSet):
        out["maps"] = [{**_nameable(m), "class": type(m).__name__, "source": refs.urn(m.source),
                        "target": refs.urn(m.target),
                        "associations": [[refs.urn(i.source), refs.urn(i.target), _annotations(i)]
                                         for i in m.item_association]} for m in a.item_scheme_map]
    elif isinstance(a, common.BaseMetadataStructureDefinition):
        out.update(_msd(a, refs))
    elif isinstance(a, common.BaseMetadataflow):
        structure = getattr(a, "structure", None)
        out["structure"] = refs.urn(structure) if structure is not None and structure.id else None
        out["targets"] = [refs.urn(t) for t in getattr(a, "targets", None) or ()]
    elif isinstance(a, v30.MetadataSet):
        out.update({"action": _enum(a.action), "reporting_begin": _text(a.reporting_begin),
                    "reporting_end": _text(a.reporting_end), "publication_period": _text(a.publication_period),
                    "publication_year": _text(a.publication_year), "flow": refs.urn(a.described_by),
                    "targets": [refs.urn(t) for t in a.attaches_to or ()],
                    "values": [_metadata_value(v, refs) for v in a.metadata or ()]})
    else:
        raise AssertionError(f"describe() does not know a {type(a).__name__}")
    return out


# -- comparing --------------------------------------------------------------------------------


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    if type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
        return [f"{path or '/'}: {a!r} != {b!r}"]
    if isinstance(a, dict):
        out = []
        for key in list(a) + [k for k in b if k not in a]:
            if key not in b:
                out.append(f"{path}/{key}: only in the first: {a[key]!r}"[:300])
            elif key not in a:
                out.append(f"{path}/{key}: only in the second: {b[key]!r}"[:300])
            else:
                out += differences(a[key], b[key], f"{path}/{key}")
        return out
    if isinstance(a, list):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += differences(x, y, f"{path}/{i}")
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} entries != {len(b)} entries")
        return out
    return [] if a == b else [f"{path or '/'}: {a!r} != {b!r}"[:300]]


def assert_same_artefact(a: common.MaintainableArtefact, b: common.MaintainableArtefact) -> None:
    """Fail, listing where they differ, unless a and b mean the same artefact."""
    diffs = differences(describe(a), describe(b))
    if diffs:
        shown = "\n  ".join(diffs[:25])
        more = f"\n  ... and {len(diffs) - 25} more" if len(diffs) > 25 else ""
        raise AssertionError(f"{a!r} and {b!r} differ:\n  {shown}{more}")
