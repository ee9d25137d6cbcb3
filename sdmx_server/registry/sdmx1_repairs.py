"""What sdmx1 (2.28) reads wrongly from valid SDMX-ML structure messages, put right from the XML.

The registry reads SDMX-ML through sdmx1 (registry/sdmxml.py) and stores what the model holds
(registry/codec): what sdmx1 loses or mixes up would be stored wrong for good, and served
wrong in every format. The message itself is at hand (parsed and validated), so it says what
sdmx1 should have read:

- names and descriptions of maintainable artefacts, of the hierarchies of a hierarchical
  codelist and of the levels of a hierarchy: sdmx1 loses them in some messages (an
  external-reference codelist whose id another agency's codelist shares, a structure set whose
  maps have names of their own, VTL schemes, levels); one left without any is given the
  message's;
- isExternalReference: sdmx1 takes an item scheme without items that the message refers to
  later for an external reference; the message's attribute (false unless said) is what counts;
- items: sdmx1 adds to an item scheme items the message only refers to (the concepts of a
  metadata structure, to a concept scheme given without them; the agency that maintains an
  agency scheme, to that scheme); an item scheme holds the items its element lists, no others;
- value lists: sdmx1 changes the order of value items when two share an id (a sample lists
  both CNY and JPY as ¥); they are put back in document order;
- nested items (categories, reporting categories): sdmx1 gives an item its children in
  reverse document order (it pops them off a stack); they are put back in document order;
- item attributes: sdmx1 drops a transformation's isPersistent, a ruleset's rulesetType and
  rulesetScope, a name personalisation's vtlArtefact, a VTL mapping's alias and a geographic
  code's value (SDMX-ML 3.0 GeoFeatureSetCode); they are set as the codec keeps them;
- SDMX-ML 2.1 measure dimensions: the schema makes a class-less <Ref> in a MeasureDimension's
  Enumeration a ConceptScheme; sdmx1 takes it for a Codelist (and the registry would then miss
  a codelist that does not exist);
- SDMX-ML 3.0 attributes and measures: sdmx1 ignores `usage` (an attribute's is optional when
  not given);
- SDMX-ML 3.0 attribute relationships: sdmx1 reads <str:Dataflow/> there as a dataflow
  definition, which takes the names and descriptions of the structure being read with it, and
  fails on <str:Group> (AttributeError). Both are taken out of the XML before sdmx1 reads it
  and set on the model afterwards;
- SDMX-ML 3.1 data constraints: sdmx1 reads 3.1 as 3.0 and fails (UnboundLocalError) on a
  constraint without a role, which 3.1 no longer gives: every 3.1 data constraint says what is
  allowed, so it is read with role="Allowed".

`prepare` notes all this from the XML (and takes out what sdmx1 cannot read); `Repairs.apply`
puts it on sdmx1's model. The samples tests (tests/test_samples_*.py) check every repaired fact
against the XML without sdmx1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree
from sdmx.model import common, v21, v30

from sdmx_server.kinds import BY_ML21_ELEMENT, BY_ML30_ELEMENT, kind_of

_USAGE = {"mandatory": common.UsageStatus.mandatory, "optional": common.UsageStatus.conditional}
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
#: (item element, XML attribute) -> (the attribute the codec reads, its conversion).
_ITEM_FIELDS = {
    ("GeoFeatureSetCode", "value"): ("value", str),
    ("Transformation", "isPersistent"): ("is_persistent", lambda v: v.strip() in ("true", "1")),
    ("Ruleset", "rulesetType"): ("type", str),
    ("Ruleset", "rulesetScope"): ("scope", str),
    ("NamePersonalisation", "vtlArtefact"): ("vtl_artefact", str),
    ("VtlMapping", "alias"): ("alias", str),
}

Key = tuple[str, str, str, str]  # kind, agency, id, version


@dataclass
class Repairs:
    #: artefact key -> ({language: name}, {language: description}) as the message says.
    texts: dict[Key, tuple[dict[str, str], dict[str, str]]] = field(default_factory=dict)
    #: artefact key -> its isExternalReference.
    external: dict[Key, bool] = field(default_factory=dict)
    #: hierarchical codelist key -> {hierarchy id: (names, descriptions)}.
    hierarchies: dict[Key, dict[str, tuple[dict[str, str], dict[str, str]]]] = field(default_factory=dict)
    #: (hierarchy, or hierarchical codelist and hierarchy id) -> {level id: (names, descriptions)}.
    levels: dict[tuple[Key, str | None], dict[str, tuple[dict[str, str], dict[str, str]]]] = field(
        default_factory=dict)
    #: item scheme key -> the ids of the items its element lists (at any depth).
    items: dict[Key, set[str]] = field(default_factory=dict)
    #: (scheme key, item id) -> {model attribute: value} of the item attributes sdmx1 drops.
    item_fields: dict[tuple[Key, str], dict[str, object]] = field(default_factory=dict)
    #: value list key -> (id, names) of its value items in document order.
    value_items: dict[Key, list[tuple[str, dict[str, str]]]] = field(default_factory=dict)
    #: (scheme key, item id) -> ids of its children in document order.
    children: dict[tuple[Key, str], list[str]] = field(default_factory=dict)
    #: (DSD key, component id) -> usage_status (SDMX-ML 3.0).
    usage: dict[tuple[Key, str], common.UsageStatus] = field(default_factory=dict)
    #: (DSD key, attribute id) -> None for the dataflow, or the id of a group (SDMX-ML 3.0).
    relationships: dict[tuple[Key, str], str | None] = field(default_factory=dict)

    def apply(self, message) -> None:
        for name, _ in message.iter_collections():
            for artefact in getattr(message, name).values():
                try:
                    key = _key(artefact)
                except ValueError:
                    continue
                self._texts(artefact, *self.texts.get(key, ({}, {})))
                if key in self.external:
                    artefact.is_external_reference = self.external[key]
                for hierarchy in getattr(artefact, "hierarchy", None) or ():
                    self._texts(hierarchy, *self.hierarchies.get(key, {}).get(hierarchy.id, ({}, {})))
                    self._levels(getattr(hierarchy, "level", None), self.levels.get((key, hierarchy.id), {}))
                if isinstance(artefact, v30.Hierarchy):
                    self._levels(artefact.level, self.levels.get((key, None), {}))
                if key in self.items and isinstance(artefact, common.ItemScheme):
                    _keep_items(artefact, self.items[key])
                if key in self.value_items:
                    artefact.items = _in_order(artefact.items, self.value_items[key])
                if isinstance(artefact, common.ItemScheme):
                    self._order_children(key, artefact)
                    self._item_fields(key, artefact)
                elif isinstance(artefact, common.BaseDataStructureDefinition):
                    self._structure(key, artefact)

    @staticmethod
    def _texts(obj, names: dict[str, str], descriptions: dict[str, str]) -> None:
        if names and not obj.name.localizations:
            obj.name.localizations.update(names)
        if descriptions and not obj.description.localizations:
            obj.description.localizations.update(descriptions)

    def _levels(self, level, texts: dict) -> None:
        while level is not None:
            self._texts(level, *texts.get(level.id, ({}, {})))
            level = level.child

    def _item_fields(self, key: Key, scheme: common.ItemScheme) -> None:
        for item in scheme.items.values():
            for name, value in self.item_fields.get((key, item.id), {}).items():
                if getattr(item, name, None) in (None, ""):
                    setattr(item, name, value)

    def _order_children(self, key: Key, scheme: common.ItemScheme) -> None:
        for item in scheme.items.values():
            order = self.children.get((key, item.id))
            if order and len(item.child) > 1:
                item.child.sort(key=lambda c: order.index(c.id) if c.id in order else len(order))

    def _structure(self, key: Key, dsd: common.BaseDataStructureDefinition) -> None:
        for component in list(dsd.attributes.components) + list(dsd.measures.components):
            status = self.usage.get((key, component.id))
            if status is not None:
                component.usage_status = status
            if (key, component.id) in self.relationships:
                group = self.relationships[key, component.id]
                if group is None:
                    component.related_to = v30.DataflowRelationship()
                elif group in dsd.group_dimensions:
                    component.related_to = common.GroupRelationship(group_key=dsd.group_dimensions[group])
        for dimension in dsd.dimensions.components:
            rep = dimension.local_representation
            if isinstance(dimension, v21.MeasureDimension) and isinstance(getattr(rep, "enumerated", None),
                                                                          common.Codelist):
                rep.enumerated = common.ConceptScheme(
                    id=rep.enumerated.id, maintainer=rep.enumerated.maintainer, version=rep.enumerated.version,
                    is_external_reference=True)


def prepare(root: etree._Element, version: str) -> Repairs:
    """What the message says that sdmx1 will not read right; the XML is changed in place where
    sdmx1 cannot read it at all (SDMX-ML 3.0 attribute relationships, 3.1 data constraints)."""
    repairs = Repairs()
    elements = BY_ML21_ELEMENT if version == "2.1" else BY_ML30_ELEMENT
    structures = next((c for c in root if _local(c) == "Structures"), None)
    for container in structures if structures is not None else ():
        for element in container:
            kind = elements.get(_local(element))
            if kind is None or not element.get("agencyID") or not element.get("id"):
                continue
            key = (kind.name, element.get("agencyID"), element.get("id"), element.get("version") or "1.0")
            repairs.texts[key] = (_texts(element, "Name"), _texts(element, "Description"))
            repairs.external[key] = element.get("isExternalReference") == "true"
            if kind.name == "hierarchicalcodelist":
                repairs.hierarchies[key] = {h.get("id"): (_texts(h, "Name"), _texts(h, "Description"))
                                            for h in element if _local(h) == "Hierarchy"}
                for h in element:
                    if _local(h) == "Hierarchy":
                        repairs.levels[key, h.get("id")] = _level_texts(h)
            elif kind.name == "hierarchy":
                repairs.levels[key, None] = _level_texts(element)
            elif kind.name == "valuelist":
                repairs.value_items[key] = [(v.get("id"), _texts(v, "Name"))
                                            for v in element if _local(v) == "ValueItem"]
            elif kind.items in ("flat", "nested"):
                tags = {kind.item_class, "GeoFeatureSetCode", "GeoGridCode"}
                repairs.items[key] = {i.get("id") for i in element.iter() if _local(i) in tags and i.get("id")}
                for item in element:
                    fields = {name: convert(item.get(attribute))
                              for (tag, attribute), (name, convert) in _ITEM_FIELDS.items()
                              if tag == _local(item) and item.get(attribute) is not None}
                    if fields:
                        repairs.item_fields[key, item.get("id")] = fields
            if kind.items == "nested":
                _note_children(repairs, key, element, kind.item_class)
            elif kind.name == "datastructure" and version != "2.1":
                _note_structure(repairs, key, element)
            elif kind.name == "dataconstraint" and version == "3.1" and element.get("role") is None:
                element.set("role", "Allowed")
    return repairs


def _local(element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _texts(element, tag: str) -> dict[str, str]:
    return {c.get(_XML_LANG, "en"): c.text or "" for c in element if _local(c) == tag}


def _level_texts(element) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
    """Names and descriptions of the (nested) levels of a hierarchy element, by id."""
    found = {}
    level = next((c for c in element if _local(c) == "Level"), None)
    while level is not None:
        found[level.get("id")] = (_texts(level, "Name"), _texts(level, "Description"))
        level = next((c for c in level if _local(c) == "Level"), None)
    return found


def _keep_items(scheme: common.ItemScheme, listed: set[str]) -> None:
    extra = [i for i in scheme.items if i not in listed]
    for item_id in extra:
        item = scheme.items.pop(item_id)
        if isinstance(item.parent, common.Item):
            item.parent.child = [c for c in item.parent.child if c is not item]


def _in_order(items: list, listed: list[tuple[str, dict[str, str]]]) -> list:
    """Value items in the message's order, matched by id and names (ids may repeat)."""
    left = list(items)
    ordered = []
    for item_id, names in listed:
        match = next((i for i in left if i.id == item_id and dict(i.name.localizations) == names), None)
        match = match or next((i for i in left if i.id == item_id), None)
        if match is not None:
            left.remove(match)
            ordered.append(match)
    return ordered + left


def _note_children(repairs: Repairs, key: Key, element: etree._Element, item_tag: str) -> None:
    for item in element:
        if _local(item) == item_tag:
            children = [c.get("id") for c in item if _local(c) == item_tag]
            if len(children) > 1:
                repairs.children[key, item.get("id")] = children
            _note_children(repairs, key, item, item_tag)


def _note_structure(repairs: Repairs, key: Key, element: etree._Element) -> None:
    for component in element.iter():
        name = _local(component)
        if name == "Attribute" or name == "Measure" and component.get("usage"):
            # An attribute's usage is always stored (SDMX-ML 2.1 requires one); a measure's only
            # when the message gives it (SDMX-ML 2.1 has none).
            repairs.usage[key, component.get("id")] = _USAGE.get(component.get("usage") or "optional",
                                                                 common.UsageStatus.conditional)
        if name != "Attribute":
            continue
        for relationship in component:
            if _local(relationship) != "AttributeRelationship":
                continue
            for target in list(relationship):
                if _local(target) == "Dataflow":
                    repairs.relationships[key, component.get("id")] = None
                    relationship.remove(target)
                elif _local(target) == "Group":
                    repairs.relationships[key, component.get("id")] = (target.text or "").strip()
                    relationship.remove(target)


def _key(artefact: common.MaintainableArtefact) -> Key:
    version = str(artefact.version) if artefact.version is not None else "1.0"
    return (kind_of(artefact).name, getattr(artefact.maintainer, "id", None) or "", str(artefact.id),
            version or "1.0")
