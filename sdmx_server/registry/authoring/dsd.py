"""Completing what refers to other artefacts: concepts' codelists, data structures, dataflows.

Runs once every artefact of the files is in the index. Components always get their
`local_representation` (their own, else a copy of the concept's core representation), so that
consumers need not look at concepts.
"""

from __future__ import annotations

import copy

from sdmx.model import common, v21

from sdmx_server.registry.authoring import checks
from sdmx_server.registry.authoring.build import Draft
from sdmx_server.registry.authoring.checks import Fields
from sdmx_server.registry.authoring.errors import Reporter
from sdmx_server.registry.authoring.references import CONCEPT_REF_FORMS, REF_FORMS, Index, parse_concept_ref, parse_ref
from sdmx_server.registry.authoring.textformat import text_format, time_period_facet
from sdmx_server.registry.authoring.yamlfile import Entry, Map, Node, Scalar

COMPONENT_FIELDS = ("id", "concept", "codelist", "text_format", "annotations")
ATTRIBUTE_FIELDS = COMPONENT_FIELDS + ("attached_to", "mandatory")
TIME_FIELDS = ("id", "concept", "annotations")
ATTACHMENTS = ("observation", "series", "dataflow")


class Resolver:
    """Resolves references for one run; remembers concepts whose representation failed, so
    that the components using them do not repeat the error."""

    def __init__(self, index: Index):
        self.index = index
        self.failed: set[int] = set()

    def artefact(self, report: Reporter, what: str, name: str, entry: Entry | None, kind: str, agency: str):
        value = checks.text(report, what, name, entry)
        if value is None:
            return None
        ref = parse_ref(value, agency)
        if ref is None:
            report(entry.key_line, f"{what}: {name} {value!r} is not a valid reference: {REF_FORMS}")
            return None
        found, why = self.index.resolve(kind, ref)
        if found is None:
            report(entry.key_line, f"{what}: {why}")
        return found

    def concept(self, report: Reporter, what: str, entry: Entry, agency: str):
        value = checks.text(report, what, "concept", entry)
        if value is None:
            return None
        ref = parse_concept_ref(value, agency)
        if ref is None:
            report(entry.key_line, f"{what}: concept {value!r} is not a valid concept reference: {CONCEPT_REF_FORMS}")
            return None
        found, why = self.index.resolve_concept(ref)
        if found is None:
            report(entry.key_line, f"{what}: {why}")
        return found


def complete_concepts(draft: Draft, resolver: Resolver) -> None:
    agency = draft.artefact.maintainer.id
    for item in draft.concepts:
        if item.broken:
            resolver.failed.add(id(item.item))
        if item.codelist is None:
            continue
        codelist = resolver.artefact(item.source, f"concept {item.item.id}", "codelist", item.codelist, "codelist", agency)
        if codelist is None:
            resolver.failed.add(id(item.item))
        else:
            item.item.core_representation = common.Representation(enumerated=codelist)


def complete_dataflow(draft: Draft, resolver: Resolver) -> None:
    agency = draft.artefact.maintainer.id
    dsd = resolver.artefact(draft.report, draft.what, "structure", draft.fields.get("structure"), "datastructure", agency)
    if dsd is not None:
        draft.artefact.structure = dsd


class _DSDBuilder:
    def __init__(self, draft: Draft, resolver: Resolver):
        self.draft = draft
        self.dsd: v21.DataStructureDefinition = draft.artefact
        self.report = draft.report
        self.resolver = resolver
        self.agency = self.dsd.maintainer.id
        self.seen: dict[str, int] = {}
        self.scheme = None
        self.scheme_failed = False
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
        time = None
        entry = fields.get("time_dimension")
        if entry is not None:
            node = entry.node
            if isinstance(node, Scalar):
                node = _id_only(node)
            made = self.component(node, "time dimension", TIME_FIELDS)
            if made is not None:
                time = common.TimeDimension(order=len(dimensions) + 1, **made[0])
                self.dsd.dimensions.append(time)
        entry = fields.get("measure")
        if entry is not None:
            made = self.component(entry.node, "measure", COMPONENT_FIELDS)
            if made is not None:
                self.dsd.measures.append(v21.PrimaryMeasure(**made[0]))
        for node in checks.sequence(self.report, what, "attributes", fields.get("attributes")) or []:
            made = self.component(node, "attribute", ATTRIBUTE_FIELDS)
            if made is not None:
                kwargs, attribute_fields = made
                self.dsd.attributes.append(self.attribute(kwargs, attribute_fields, dimensions, time))

    def component(self, node: Node, role: str, allowed: tuple[str, ...]) -> tuple[dict, Fields] | None:
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
            self.report(line, f"{what}: the component id {component_id} is used twice in this data structure (first at line {self.seen[component_id]})")
            return None
        self.seen[component_id] = line
        concept = self.concept(fields, what, component_id, line)
        kwargs = {
            "id": component_id,
            "concept_identity": concept,
            "local_representation": self.representation(fields, what, role, concept, line),
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

    def representation(self, fields: Fields, what: str, role: str, concept, line: int) -> common.Representation | None:
        if role == "time dimension":
            return common.Representation(non_enumerated=[time_period_facet()])
        if "codelist" in fields and "text_format" in fields:
            self.report(fields.line_of("text_format"), f"{what}: give either a codelist or a text_format, not both")
            return None
        if "codelist" in fields:
            codelist = self.resolver.artefact(self.report, what, "codelist", fields.get("codelist"), "codelist", self.agency)
            return common.Representation(enumerated=codelist) if codelist is not None else None
        if "text_format" in fields:
            facet = text_format(self.report, what, fields.get("text_format"))
            return common.Representation(non_enumerated=[facet]) if facet is not None else None
        core = concept.core_representation if concept is not None else None
        if core is not None and (core.enumerated is not None or core.non_enumerated):
            return common.Representation(
                enumerated=core.enumerated, non_enumerated=[copy.deepcopy(f) for f in core.non_enumerated]
            )
        if concept is not None and id(concept) not in self.resolver.failed:
            self.report(
                line,
                f"{what}: no representation: give a codelist or a text_format here or on concept {concept.id}",
            )
        return None

    def attribute(self, kwargs: dict, fields: Fields, dimensions: list, time) -> common.DataAttribute:
        what = f"attribute {kwargs['id']}"
        mandatory = checks.boolean(self.report, what, "mandatory", fields.get("mandatory"))
        status = common.UsageStatus.mandatory if mandatory else common.UsageStatus.conditional
        related = self.relationship(what, fields.get("attached_to"), dimensions, time)
        return common.DataAttribute(usage_status=status, related_to=related, **kwargs)

    def relationship(self, what: str, entry: Entry | None, dimensions: list, time):
        if entry is None:
            return v21.PrimaryMeasureRelationship()
        node = entry.node
        by_id = {d.id: d for d in dimensions + ([time] if time is not None else [])}
        if isinstance(node, Scalar):
            value = node.text
            if value == "observation" and node.tag == "str":
                return v21.PrimaryMeasureRelationship()
            if value == "series" and node.tag == "str":
                return common.DimensionRelationship(dimensions=list(dimensions))
            if value == "dataflow" and node.tag == "str":
                return v21.NoSpecifiedRelationship()
            hint = f"; for the dimension {value}, write [{value}]" if value in by_id else ""
            self.report(
                entry.key_line,
                f"{what}: attached_to must be observation, series, dataflow or a list of dimensions, not {node.kind}{hint}",
            )
            return v21.PrimaryMeasureRelationship()
        items = checks.sequence(self.report, what, "attached_to", entry)
        if items is None:
            return v21.PrimaryMeasureRelationship()
        if not items:
            self.report(entry.key_line, f"{what}: attached_to is an empty list; name at least one dimension")
        chosen: list = []
        for item in items:
            if not isinstance(item, Scalar) or item.tag == "null":
                self.report(item.line, f"{what}: attached_to lists dimension ids, not {item.kind}")
                continue
            dimension = by_id.get(item.text)
            if dimension is None:
                self.report(item.line, f"{what}: attached_to {item.text}: the data structure has no dimension {item.text}")
            elif any(d is dimension for d in chosen):
                self.report(item.line, f"{what}: attached_to names {item.text} twice")
            else:
                chosen.append(dimension)
        return common.DimensionRelationship(dimensions=chosen)


def _id_only(node: Scalar):
    """`time_dimension: TIME_PERIOD` is short for `{id: TIME_PERIOD}`."""
    return Map(node.line, {"id": Entry(node.line, node)})


def complete_dsd(draft: Draft, resolver: Resolver) -> None:
    _DSDBuilder(draft, resolver).build()
