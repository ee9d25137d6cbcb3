"""Data structure definitions: dimensions, groups, the time dimension, measures, attributes.

A DSD is built as sdmx1's SDMX 2.1 reader builds one (v21.DataStructureDefinition, a
PrimaryMeasure, v21 attribute relationships), unless it uses what only SDMX 3.0 can say
(several measures, value lists, attributes related to measures, a metadata structure): then
as its SDMX 3.0 reader does (v30.DataStructureDefinition, v30.Measure, v30 relationships).
Components always get their `local_representation` (their own, else a copy of the concept's
core representation), so that consumers need not look at concepts.
"""

from __future__ import annotations

import copy

from sdmx.model import common, v21, v30

from sdmx_server.registry.authoring import checks
from sdmx_server.registry.authoring.build import Draft, rebuild
from sdmx_server.registry.authoring.checks import Fields
from sdmx_server.registry.authoring.resolve import Resolver
from sdmx_server.registry.authoring.textformat import text_format, time_period_facet
from sdmx_server.registry.authoring.yamlfile import Entry, Map, Node, Scalar, Seq, short_form

COMPONENT_FIELDS = ("id", "concept", "codelist", "valuelist", "text_format", "annotations")
MEASURE_FIELDS = COMPONENT_FIELDS + ("usage",)
ATTRIBUTE_FIELDS = COMPONENT_FIELDS + ("attached_to", "mandatory", "usage", "measures")
TIME_FIELDS = ("id", "concept", "annotations")
GROUP_FIELDS = ("id", "dimensions", "annotations")
ATTACHMENT_FIELDS = ("dimensions", "group")
USAGES = {"mandatory": common.UsageStatus.mandatory, "conditional": common.UsageStatus.conditional,
          "optional": common.UsageStatus.conditional}
#: what only SDMX 3.0 can say, by the field that says it
V30_FIELDS = ("measures", "metadata")
V30_COMPONENT_FIELDS = {
    "dimensions": ("valuelist",),
    "attributes": ("valuelist", "measures"),
    "measures": ("valuelist", "usage"),
    "measure": ("valuelist", "usage"),
}


def read_datastructure(draft: Draft) -> None:
    """Choose the class: SDMX 3.0 when the DSD uses what SDMX 2.1 cannot say."""
    fields = draft.fields
    if "measure" in fields and "measures" in fields:
        draft.report(fields.line_of("measures"), f"{draft.what}: give either measure (one) or measures (a list), not both")
    elif "measure" not in fields and "measures" not in fields:
        draft.report(draft.line, f"{draft.what}: missing required field 'measure' (or 'measures' for several)")
    if any(name in fields for name in V30_FIELDS) or _components_use(fields):
        rebuild(draft, v30.DataStructureDefinition)


def _components_use(fields: Fields) -> bool:
    """Whether a component says what only SDMX 3.0 can: a value list, measures an attribute
    relates to, a measure's usage."""
    for key, names in V30_COMPONENT_FIELDS.items():
        entry = fields.get(key)
        nodes = entry.node.items if entry is not None and isinstance(entry.node, Seq) else [entry.node] if entry else []
        if any(isinstance(n, Map) and any(name in n.entries for name in names) for n in nodes):
            return True
    return False


class StructureBuilder:
    """Builds the components of a structure (a DSD here, an MSD in metadata.py): ids unique
    in the structure, concepts, representations."""

    def __init__(self, draft: Draft, resolver: Resolver):
        self.draft = draft
        self.dsd = draft.artefact
        self.v30 = isinstance(self.dsd, v30.DataStructureDefinition)
        self.report = draft.report
        self.resolver = resolver
        self.agency = draft.agency
        self.seen: dict[str, int] = {}
        self.container = "data structure"  # for messages
        self.scheme = None
        self.scheme_failed = False
        self.time = None
        entry = draft.fields.get("concepts")
        if entry is not None:
            self.scheme = resolver.artefact(self.report, draft.what, "concepts", entry, "conceptscheme", self.agency)
            self.scheme_failed = self.scheme is None

    def build(self) -> None:
        fields = self.draft.fields
        what = self.draft.what
        dimensions: list[common.Dimension] = []
        nodes = checks.sequence(self.report, what, "dimensions", fields.get("dimensions"))
        if nodes is not None and not nodes:
            self.report(fields.line_of("dimensions"), f"{what}: dimensions is empty; a data structure needs at least one")
        for node in nodes or []:
            made = self.component(node, "dimension", COMPONENT_FIELDS)
            if made is not None:
                dimension = common.Dimension(order=len(dimensions) + 1, **made[0])
                dimensions.append(dimension)
                self.dsd.dimensions.append(dimension)
        entry = fields.get("time_dimension")
        if entry is not None:
            node = short_form(entry.node, "id") if isinstance(entry.node, Scalar) else entry.node
            made = self.component(node, "time dimension", TIME_FIELDS)
            if made is not None:
                self.time = common.TimeDimension(order=len(dimensions) + 1, **made[0])
                self.dsd.dimensions.append(self.time)
        self.groups(dimensions)
        self.measures()
        for node in checks.sequence(self.report, what, "attributes", fields.get("attributes")) or []:
            made = self.component(node, "attribute", ATTRIBUTE_FIELDS)
            if made is not None:
                kwargs, attribute_fields = made
                self.dsd.attributes.append(self.attribute(kwargs, attribute_fields, dimensions))
        entry = fields.get("metadata")
        if entry is not None:
            msd = self.resolver.artefact(self.report, what, "metadata", entry, "metadatastructure", self.agency)
            if msd is not None:
                self.dsd.metadata = msd

    def groups(self, dimensions: list) -> None:
        what = self.draft.what
        for node in checks.sequence(self.report, what, "groups", self.draft.fields.get("groups")) or []:
            named = checks.named("group", node)
            fields = Fields(self.report, node, named, GROUP_FIELDS, ("id", "dimensions"))
            group_id = checks.identifier(self.report, named, "id", fields.get("id")) if fields.ok else None
            if group_id is None:
                continue
            where, line = f"group {group_id}", fields.line_of("id")
            if group_id in self.seen:
                self.report(line, f"{where}: the id {group_id} is used twice in this data structure (first at line {self.seen[group_id]})")
                continue
            self.seen[group_id] = line
            chosen = self.dimension_list(where, "dimensions", fields.get("dimensions"), dimensions, time=False)
            group = common.GroupDimensionDescriptor(
                id=group_id, components=chosen, annotations=checks.annotations(self.report, where, fields.get("annotations"))
            )
            self.dsd.group_dimensions[group_id] = group

    def measures(self) -> None:
        fields, what = self.draft.fields, self.draft.what
        cls = v30.Measure if self.v30 else v21.PrimaryMeasure
        entry = fields.get("measure")
        nodes = [entry.node] if entry is not None else checks.sequence(self.report, what, "measures", fields.get("measures"))
        if entry is None and nodes is not None and not nodes:
            self.report(fields.line_of("measures"), f"{what}: measures is empty; a data structure needs at least one")
        for node in nodes or []:
            made = self.component(node, "measure", MEASURE_FIELDS if self.v30 else COMPONENT_FIELDS)
            if made is None:
                continue
            measure = cls(**made[0])
            usage = checks.choice(self.report, f"measure {measure.id}", "usage", made[1].get("usage"), tuple(USAGES))
            if usage is not None:
                measure.usage_status = USAGES[usage]  # SDMX 3.0; sdmx1's Measure has no field for it
            self.dsd.measures.append(measure)

    def component(self, node: Node, role: str, allowed: tuple[str, ...], *, optional: bool = False) -> tuple[dict, Fields] | None:
        """The common parts of a component; `optional`: it may have no representation."""
        named = checks.named(role, node)
        fields = Fields(self.report, node, named, allowed, ("id",))
        if not fields.ok:
            return None
        component_id = checks.identifier(self.report, named, "id", fields.get("id"))
        if component_id is None:
            return None
        what = f"{role} {component_id}"
        line = fields.line_of("id")
        if component_id in self.seen:
            self.report(line, f"{what}: the component id {component_id} is used twice in this {self.container} (first at line {self.seen[component_id]})")
            return None
        self.seen[component_id] = line
        concept = self.concept(fields, what, component_id, line)
        kwargs = {
            "id": component_id,
            "concept_identity": concept,
            "local_representation": self.representation(fields, what, role, concept, line, optional),
            "annotations": checks.annotations(self.report, what, fields.get("annotations")),
        }
        return kwargs, fields

    def concept(self, fields: Fields, what: str, component_id: str, line: int):
        entry = fields.get("concept")
        if entry is not None:
            return self.resolver.concept(self.report, what, entry, self.agency)
        if self.scheme is not None:
            concept = self.scheme.items.get(component_id)
            if concept is None:
                scheme = f"{self.scheme.maintainer.id}:{self.scheme.id}({self.scheme.version})"
                self.report(line, f"{what}: concept {component_id} is not in concept scheme {scheme}; add it there or give concept:")
            return concept
        if not self.scheme_failed:
            self.report(line, f"{what}: no concept: give concept: here, or concepts: (a concept scheme) on the data structure")
        return None

    def representation(self, fields: Fields, what: str, role: str, concept, line: int, optional: bool = False) -> common.Representation | None:
        if role == "time dimension":
            return common.Representation(non_enumerated=[time_period_facet()])
        given = [name for name in ("codelist", "valuelist", "text_format") if name in fields]
        if len(given) > 1:
            self.report(fields.line_of(given[1]), f"{what}: give one representation (codelist, valuelist or text_format), not both {given[0]} and {given[1]}")
            return None
        if given and given[0] in ("codelist", "valuelist"):
            if role == "dimension" and given[0] == "valuelist":
                self.report(fields.line_of("valuelist"), f"{what}: a dimension takes a codelist, not a value list")
                return None
            found = self.resolver.artefact(self.report, what, given[0], fields.get(given[0]), given[0], self.agency)
            return common.Representation(enumerated=found) if found is not None else None
        if given:
            facet = text_format(self.report, what, fields.get("text_format"))
            return common.Representation(non_enumerated=[facet]) if facet is not None else None
        core = concept.core_representation if concept is not None else None
        if core is not None and (core.enumerated is not None or core.non_enumerated):
            return common.Representation(
                enumerated=core.enumerated, non_enumerated=[copy.deepcopy(f) for f in core.non_enumerated]
            )
        if concept is not None and not self.resolver.broken(concept) and not optional:
            self.report(
                line,
                f"{what}: no representation: give a codelist or a text_format here or on concept {concept.id}",
            )
        return None

    def attribute(self, kwargs: dict, fields: Fields, dimensions: list) -> common.DataAttribute:
        what = f"attribute {kwargs['id']}"
        if "mandatory" in fields and "usage" in fields:
            self.report(fields.line_of("usage"), f"{what}: give either usage or mandatory, not both")
        mandatory = checks.boolean(self.report, what, "mandatory", fields.get("mandatory"))
        status = common.UsageStatus.mandatory if mandatory else common.UsageStatus.conditional
        usage = checks.choice(self.report, what, "usage", fields.get("usage"), tuple(USAGES))
        if usage is not None and "mandatory" not in fields:
            status = USAGES[usage]
        related = self.relationship(what, fields.get("attached_to"), dimensions)
        attribute = common.DataAttribute(usage_status=status, related_to=related, **kwargs)
        entry = fields.get("measures")
        if entry is not None:
            chosen = []
            for value, line in checks.scalars(self.report, what, "measures", entry) or []:
                measure = next((m for m in self.dsd.measures.components if m.id == value), None)
                if measure is None:
                    self.report(line, f"{what}: measures {value}: the data structure has no measure {value}")
                else:
                    chosen.append(measure)
            # sdmx1 has no field for SDMX 3.0's measure relationship: a plain attribute, as the
            # codec reads and writes it (docs/authoring.md, "For those who read the objects")
            attribute.measure_relationship = chosen
        return attribute

    def relationship(self, what: str, entry: Entry | None, dimensions: list):
        observation = v30.ObservationRelationship if self.v30 else v21.PrimaryMeasureRelationship
        if entry is None:
            return observation()
        node = entry.node
        by_id = {d.id: d for d in dimensions + ([self.time] if self.time is not None else [])}
        if isinstance(node, Scalar):
            value = node.text
            if value == "observation" and node.tag == "str":
                return observation()
            if value == "series" and node.tag == "str":
                return common.DimensionRelationship(dimensions=list(dimensions))
            if value == "dataflow" and node.tag == "str":
                return v30.DataflowRelationship() if self.v30 else v21.NoSpecifiedRelationship()
            hint = f"; for the dimension {value}, write [{value}]" if value in by_id else ""
            self.report(
                entry.key_line,
                f"{what}: attached_to must be observation, series, dataflow, a list of dimensions or {{group: ...}}, not {node.kind}{hint}",
            )
            return observation()
        if isinstance(node, Map):
            return self.group_relationship(what, entry, dimensions) or observation()
        if not isinstance(node, Seq):
            checks.sequence(self.report, what, "attached_to", entry)
            return observation()
        if not node.items:
            self.report(entry.key_line, f"{what}: attached_to is an empty list; name at least one dimension")
        return common.DimensionRelationship(dimensions=self.dimension_list(what, "attached_to", entry, list(by_id.values())))

    def group_relationship(self, what: str, entry: Entry, dimensions: list):
        where = f"{what}: attached_to"
        fields = Fields(self.report, entry.node, where, ATTACHMENT_FIELDS, ("group",))
        if not fields.ok or "group" not in fields:
            return None
        group_id = checks.text(self.report, where, "group", fields.get("group"))
        group = self.dsd.group_dimensions.get(group_id) if group_id is not None else None
        if group_id is not None and group is None:
            known = ", ".join(self.dsd.group_dimensions) or "none"
            self.report(fields.line_of("group"), f"{where}: the data structure has no group {group_id} (its groups: {known})")
            return None
        if "dimensions" not in fields:
            return common.GroupRelationship(group_key=group)
        every = dimensions + ([self.time] if self.time is not None else [])
        chosen = self.dimension_list(what, "attached_to", fields.get("dimensions"), every)
        return common.DimensionRelationship(dimensions=chosen, group_key=group)

    def dimension_list(self, what: str, name: str, entry: Entry | None, dimensions: list, time: bool = True) -> list:
        by_id = {d.id: d for d in dimensions}
        chosen: list = []
        for value, line in checks.scalars(self.report, what, name, entry) or []:
            dimension = by_id.get(value)
            if dimension is None:
                extra = " (a group holds dimensions, not the time dimension)" if not time and self.time is not None and value == self.time.id else ""
                self.report(line, f"{what}: {name} {value}: the data structure has no dimension {value}{extra}")
            elif any(d is dimension for d in chosen):
                self.report(line, f"{what}: {name} names {value} twice")
            else:
                chosen.append(dimension)
        return chosen



def complete_datastructure(draft: Draft, resolver: Resolver) -> None:
    StructureBuilder(draft, resolver).build()
