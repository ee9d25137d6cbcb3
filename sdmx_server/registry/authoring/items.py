"""Items of a scheme (codes, concepts, categories, agencies, data providers...): read from YAML
lists, then put into their scheme with their parents linked."""

from __future__ import annotations

from dataclasses import dataclass

from sdmx.model import common

from sdmx_server.registry.authoring import checks
from sdmx_server.registry.authoring.checks import Fields
from sdmx_server.registry.authoring.errors import Reporter
from sdmx_server.registry.authoring.yamlfile import Entry, Node

ITEM_FIELDS = ("id", "name", "description", "annotations", "parent")
CONTACT_FIELDS = ("name", "department", "role", "telephone", "fax", "email", "uri", "x400")


@dataclass(eq=False)
class ItemDraft:
    item: common.Item
    line: int  # of its id
    source: Reporter  # the file it comes from (a YAML or a CSV file)
    parent: str | None = None
    parent_line: int = 0
    codelist: Entry | None = None  # concepts: the core representation, resolved later
    valuelist: Entry | None = None
    text_format: common.Facet | None = None
    broken: bool = False  # its representation is wrong (reported): users of it stay silent


def read_item(
    report: Reporter, node: Node, cls: type, noun: str, extra: tuple[str, ...] = (), *, parent: bool = True
) -> tuple[ItemDraft | None, Fields]:
    """One item of an inline list; None when it has no usable id."""
    what = checks.named(noun, node)
    allowed = ITEM_FIELDS + extra if parent else tuple(f for f in ITEM_FIELDS if f != "parent") + extra
    fields = Fields(report, node, what, allowed, ("id", "name"))
    if not fields.ok:
        return None, fields
    item_id = checks.identifier(report, what, "id", fields.get("id"))
    name = checks.labels(report, what, "name", fields.get("name"))
    description = checks.labels(report, what, "description", fields.get("description"))
    annotations = checks.annotations(report, what, fields.get("annotations"))
    parent_id = checks.identifier(report, what, "parent", fields.get("parent"))
    if item_id is None:
        return None, fields
    item = cls(id=item_id, name=name or common.InternationalString(), annotations=annotations)
    if description is not None:
        item.description = description
    if "contacts" in extra:
        item.contact = contacts(report, f"{noun} {item_id}", fields.get("contacts"))
    draft = ItemDraft(item, fields.line_of("id"), report, parent_id, fields.line_of("parent"))
    return draft, fields


def read_nested(report: Reporter, nodes: list[Node], cls: type, noun: str, key: str, parent: str | None = None) -> list[ItemDraft]:
    """Items nested under their parents (`categories:` inside a category), flattened in
    document order with each child's parent named, so that they assemble like any items."""
    found: list[ItemDraft] = []
    for node in nodes:
        draft, fields = read_item(report, node, cls, noun, (key,), parent=False)
        if draft is None:
            continue
        draft.parent, draft.parent_line = parent, draft.line
        found.append(draft)
        children = checks.sequence(report, f"{noun} {draft.item.id}", key, fields.get(key))
        if children is not None:
            if not children:
                report(fields.line_of(key), f"{noun} {draft.item.id}: {key} is an empty list")
            found += read_nested(report, children, cls, noun, key, draft.item.id)
    return found


def contacts(report: Reporter, what: str, entry: Entry | None) -> list[common.Contact]:
    """Contacts of an organisation: names, department and role in languages, the rest text."""
    result: list[common.Contact] = []
    for node in checks.sequence(report, what, "contacts", entry) or []:
        where = f"{what}: contact"
        fields = Fields(report, node, where, CONTACT_FIELDS)
        if not fields.ok:
            continue
        contact = common.Contact()
        for name, target in (("name", "name"), ("department", "org_unit"), ("role", "responsibility")):
            value = checks.labels(report, where, name, fields.get(name))
            if value is not None:
                setattr(contact, target, value)
        contact.telephone = checks.text(report, where, "telephone", fields.get("telephone"))
        for name in ("fax", "email", "uri", "x400"):
            values = checks.scalars(report, where, name, fields.get(name)) or []
            setattr(contact, name, [v for v, _ in values])
        for value, line in checks.scalars(report, where, "email", fields.get("email")) or []:
            if "@" not in value or " " in value:
                report(line, f"{where}: email {value!r} is not an e-mail address")
        if not any(name in fields for name in CONTACT_FIELDS):
            report(fields.line, f"{where}: a contact needs at least a name, an e-mail address or a telephone")
        result.append(contact)
    return result


def assemble(scheme: common.ItemScheme, drafts: list[ItemDraft], noun: str, scheme_word: str) -> list[ItemDraft]:
    """Append the items to the scheme in order, link parents; returns the drafts kept."""
    kept: list[ItemDraft] = []
    first: dict[str, ItemDraft] = {}
    for draft in drafts:
        earlier = first.get(draft.item.id)
        if earlier is not None:
            where = f"line {earlier.line}" if earlier.source.path == draft.source.path else f"{earlier.source.path}:{earlier.line}"
            draft.source(draft.line, f"{noun} {draft.item.id} is defined twice in this {scheme_word} (first at {where})")
            continue
        first[draft.item.id] = draft
        kept.append(draft)
    checks.link_parents(lambda d: d.source, kept, noun, scheme_word)
    for draft in kept:
        scheme.append(draft.item)
    return kept

