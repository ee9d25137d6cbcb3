"""Reference metadata: metadata structures (MSD), metadataflows and metadata sets (SDMX 3.0).

An MSD is a tree of metadata attributes, each with a representation (text in languages,
XHTML, codes, or another text format) and min_occurs/max_occurs. A metadataflow names its
MSD and the artefacts or items its metadata may be about (wildcard targets). A metadata set
is one report: its targets and a value for each metadata attribute.

Objects follow the convention the codec reads (sdmx1's v30.MetadataSet is thin): `metadata`
holds v30 MetadataAttributeValues with the plain attributes `value_for` (the
MetadataAttribute) and `child`; TextAttributeValue.text is an InternationalString,
XHTMLAttributeValue.value a dict {language: XHTML}, CodedMetadataAttributeValue.value_of a
Code, OtherUncodedAttributeValue.value the text written. `attaches_to` holds the targets
themselves (artefacts or items); a metadataflow's `targets` its wildcard URNs.
"""

from __future__ import annotations

import re

from lxml import etree
from sdmx.model import common, v30

from sdmx_server.registry.authoring import checks
from sdmx_server.registry.authoring.build import Draft
from sdmx_server.registry.authoring.checks import Fields
from sdmx_server.registry.authoring.dsd import StructureBuilder
from sdmx_server.registry.authoring.errors import Reporter
from sdmx_server.registry.authoring.resolve import Resolver
from sdmx_server.registry.authoring.targets import matches, resolve_target, target_pattern, urn_of
from sdmx_server.registry.authoring.yamlfile import Entry, Map, Node, Scalar, Seq

ATTRIBUTE_FIELDS = ("id", "concept", "codelist", "text_format", "annotations", "presentational",
                    "min_occurs", "max_occurs", "attributes")
NESTED_VALUE = ("value", "attributes")
TEXT = common.FacetValueType.string
XHTML = common.ExtendedFacetValueType.Xhtml
NUMERIC = {"bigInteger", "integer", "long", "short", "decimal", "float", "double", "count", "numeric"}
XHTML_NS = "http://www.w3.org/1999/xhtml"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


# --- metadata structures ---------------------------------------------------------------------------


class _MSDBuilder(StructureBuilder):
    """Metadata attributes find their concepts and representations as DSD components do."""

    def build(self) -> None:
        self.container = "metadata structure"
        fields = self.draft.fields
        nodes = checks.sequence(self.report, self.draft.what, "attributes", fields.get("attributes"))
        if nodes is not None and not nodes:
            self.report(fields.line_of("attributes"), f"{self.draft.what}: attributes is empty; a metadata structure needs at least one")
        self.dsd.attributes = v30.MetadataAttributeDescriptor(
            components=[a for a in (self.metadata_attribute(n) for n in nodes or []) if a is not None]
        )

    def metadata_attribute(self, node: Node) -> common.MetadataAttribute | None:
        named = checks.named("metadata attribute", node)
        fields = Fields(self.report, node, named, ATTRIBUTE_FIELDS, ("id",))
        if not fields.ok:
            return None
        presentational = checks.boolean(self.report, named, "presentational", fields.get("presentational"))
        # a presentational attribute only holds others: it needs no representation
        made = self.component(node, "metadata attribute", ATTRIBUTE_FIELDS, optional=bool(presentational))
        if made is None:
            return None
        kwargs, fields = made
        what = f"metadata attribute {kwargs['id']}"
        attribute = common.MetadataAttribute(**kwargs)
        if presentational is not None:
            attribute.is_presentational = presentational
        low = checks.whole_number(self.report, what, "min_occurs", fields.get("min_occurs"), 0)
        high = self.max_occurs(what, fields.get("max_occurs"))
        if ("min_occurs" in fields and low is None) or ("max_occurs" in fields and high is None):
            self.resolver.fail(attribute, "occurs")  # wrong (reported): metadata sets are not counted
        if low is not None:
            attribute.min_occurs = low
        if high is not None:
            attribute.max_occurs = high
            if high != "unbounded" and high < (low if low is not None else 1):
                self.report(fields.line_of("max_occurs"), f"{what}: max_occurs {high} is less than min_occurs {low if low is not None else 1}")
        children = checks.sequence(self.report, what, "attributes", fields.get("attributes"))
        if presentational and children is None:
            self.report(fields.line_of("presentational"), f"{what}: a presentational attribute only holds others: give attributes")
        for child_node in children or []:
            # children only, as sdmx1's reader makes them: MetadataAttribute compares every
            # field, and a parent that points back would make comparing recurse forever
            child = self.metadata_attribute(child_node)
            if child is not None:
                attribute.child.append(child)
        return attribute

    def max_occurs(self, what: str, entry: Entry | None):
        if entry is not None and isinstance(entry.node, Scalar) and entry.node.text == "unbounded":
            return "unbounded"
        return checks.whole_number(self.report, what, "max_occurs", entry, 1)


def complete_metadatastructure(draft: Draft, resolver: Resolver) -> None:
    _MSDBuilder(draft, resolver).build()


def complete_metadataflow(draft: Draft, resolver: Resolver) -> None:
    report, what, fields = draft.report, draft.what, draft.fields
    msd = resolver.artefact(report, what, "structure", fields.get("structure"), "metadatastructure", draft.agency)
    if msd is None:
        resolver.fail(draft.artefact)
    else:
        draft.artefact.structure = msd
    targets = []
    for value, line in checks.scalars(report, what, "targets", fields.get("targets")) or []:
        urn = target_pattern(resolver, report, what, "targets", value, line, draft.agency)
        if urn is None:
            resolver.fail(draft.artefact, "targets")
        else:
            targets.append(urn)
    draft.artefact.targets = targets


# --- metadata sets ---------------------------------------------------------------------------------


def complete_metadataset(draft: Draft, resolver: Resolver) -> None:
    report, what, fields = draft.report, draft.what, draft.fields
    metadata_set: v30.MetadataSet = draft.artefact
    flow = resolver.artefact(report, what, "metadataflow", fields.get("metadataflow"), "metadataflow", draft.agency)
    msd = None
    if flow is not None:
        metadata_set.described_by = flow
        if not resolver.broken(flow):
            msd = flow.structure
            metadata_set.structured_by = msd.attributes
    # a metadataflow whose targets failed (reported there) restricts nothing here
    patterns = [] if resolver.broken(flow, "targets") else getattr(flow, "targets", None) or []
    for value, line in checks.scalars(report, what, "targets", fields.get("targets")) or []:
        target = resolve_target(resolver, report, what, "targets", value, line, draft.agency)
        if target is None:
            continue
        urn = urn_of(target)
        if patterns and urn is not None and not any(matches(p, urn) for p in patterns):
            report(line, f"{what}: target {value} is not one metadataflow {_name(flow)} allows ({', '.join(patterns)})")
        metadata_set.attaches_to.append(target)
    entry = fields.get("attributes")
    if entry is None or msd is None:
        return
    if not isinstance(entry.node, Map):
        report(entry.key_line, f"{what}: attributes must map metadata attribute ids to values, not {entry.node.kind}")
        return
    metadata_set.metadata = _Values(report, what, resolver).level(entry, list(msd.attributes.components), None)


class _Values:
    def __init__(self, report: Reporter, what: str, resolver: Resolver):
        self.report, self.what, self.resolver = report, what, resolver

    def level(self, entry: Entry, attributes: list, parent) -> list:
        """The values of one level: a mapping of attribute ids, checked against the MSD."""
        by_id = {a.id: a for a in attributes}
        values: list = []
        for attribute_id, value_entry in entry.node.entries.items():
            attribute = by_id.get(attribute_id)
            if attribute is None:
                hint = checks.suggest(attribute_id, by_id) if by_id else ""
                where = f"under {parent.value_for.id}" if parent is not None else "in the metadata structure"
                self.report(value_entry.key_line, f"{self.what}: no metadata attribute {attribute_id} {where}{hint}")
                continue
            occurrences = value_entry.node.items if isinstance(value_entry.node, Seq) else [value_entry.node]
            high = attribute.max_occurs if attribute.max_occurs is not None else 1
            counted = not self.resolver.broken(attribute, "occurs")
            if counted and high != "unbounded" and len(occurrences) > high:
                self.report(value_entry.key_line, f"{self.what}: {attribute_id} takes at most {high} value{'s' if high != 1 else ''}, not {len(occurrences)}")
            for node in occurrences:
                value = self.value(attribute, Entry(value_entry.key_line if node is value_entry.node else node.line, node), parent)
                if value is not None:
                    values.append(value)
        for attribute in attributes:
            low = attribute.min_occurs if attribute.min_occurs is not None else 1
            count = sum(1 for v in values if v.value_for is attribute)
            given = attribute.id in entry.node.entries
            if count < low and not given and not self.resolver.broken(attribute, "occurs"):
                where = f" under {parent.value_for.id}" if parent is not None else ""
                self.report(entry.key_line, f"{self.what}: metadata attribute {attribute.id}{where} is required (min_occurs {low}) but has no value")
        return values

    def value(self, attribute, entry: Entry, parent):
        where = f"{self.what}: {attribute.id}"
        node = entry.node
        value_entry, children_entry = entry, None
        if attribute.is_presentational:
            if not isinstance(node, Map):
                self.report(entry.key_line, f"{where} only holds other attributes: give a mapping of their ids to values")
                return None
            result, value_entry, children_entry = v30.MetadataAttributeValue(), None, entry
        else:
            if attribute.child and isinstance(node, Map) and set(node.entries) <= set(NESTED_VALUE) and node.entries:
                value_entry = node.entries.get("value")
                children_entry = node.entries.get("attributes")
            result = self.leaf(attribute, value_entry, where) if value_entry is not None else v30.MetadataAttributeValue()
            if result is None:
                return None
        result.value_for = attribute
        result.child = []
        if children_entry is not None:
            if not isinstance(children_entry.node, Map):
                self.report(children_entry.key_line, f"{where}: attributes must map ids to values, not {children_entry.node.kind}")
            else:
                result.child = self.level(children_entry, list(attribute.child), result)
        elif attribute.child:
            result.child = self.level(Entry(entry.key_line, Map(entry.key_line)), list(attribute.child), result)
        return result

    def leaf(self, attribute, entry: Entry, where: str):
        representation = attribute.local_representation
        if representation is None:
            return None  # its definition failed, and said so
        scheme = representation.enumerated
        if scheme is not None:
            text = checks.text(self.report, where, "value", entry)
            if text is None:
                return None
            code = scheme.items.get(text) if isinstance(scheme, common.Codelist) else None
            if code is None:
                self.report(entry.key_line, f"{where}: {text} is not a code of {_name(scheme)}")
                return None
            result = v30.CodedMetadataAttributeValue()
            result.value_of = code
            return result
        facet = representation.non_enumerated[0] if representation.non_enumerated else None
        value_type = facet.value_type if facet is not None else TEXT
        if value_type in (TEXT, XHTML):
            texts = checks.labels(self.report, where, "value", entry)
            if texts is None:
                return None
            if value_type is TEXT:
                return v30.TextAttributeValue(text=texts)
            for language, xhtml in texts.localizations.items():
                problem = _xhtml_problem(xhtml)
                if problem:
                    self.report(entry.key_line, f"{where}: the {language} text is not well-formed XHTML: {problem}")
                    return None
            return v30.XHTMLAttributeValue(value=dict(texts.localizations))
        node = checks.scalar(self.report, where, "value", entry)
        if node is None:
            return None
        name = getattr(value_type, "name", "")
        if name in NUMERIC and (node.tag not in ("int", "float") or node.quoted):
            self.report(entry.key_line, f"{where}: the value must be a number, not {node.kind}")
            return None
        if name == "boolean" and node.tag != "bool":
            self.report(entry.key_line, f"{where}: the value must be true or false, not {node.kind}")
            return None
        result = v30.OtherUncodedAttributeValue()
        result.value = node.text
        return result


def _xhtml_problem(text: str) -> str:
    try:
        etree.fromstring(f'<div xmlns="{XHTML_NS}">{text}</div>'.encode(), _PARSER)
    except etree.XMLSyntaxError as exc:
        # the position is in the wrapped text: it would mislead
        return re.sub(r",? line \d+, column \d+$", "", str(exc).split(" (", 1)[0])
    return ""


def _name(artefact) -> str:
    return f"{artefact.maintainer.id}:{artefact.id}({artefact.version})"
