"""Items of a scheme (codes, concepts): read from YAML lists, then put into their scheme."""

from __future__ import annotations

from dataclasses import dataclass

from sdmx.model import common

from sdmx_server.registry.authoring import checks
from sdmx_server.registry.authoring.checks import Fields
from sdmx_server.registry.authoring.errors import Reporter
from sdmx_server.registry.authoring.yamlfile import Entry, Node

ITEM_FIELDS = ("id", "name", "description", "annotations", "parent")


@dataclass(eq=False)
class ItemDraft:
    item: common.Item
    line: int  # of its id
    source: Reporter  # the file it comes from (a YAML or a CSV file)
    parent: str | None = None
    parent_line: int = 0
    codelist: Entry | None = None  # concepts: the core representation, resolved later
    text_format: common.Facet | None = None
    broken: bool = False  # its representation is wrong (reported): users of it stay silent


def read_item(report: Reporter, node: Node, cls: type, noun: str, extra: tuple[str, ...] = ()) -> tuple[ItemDraft | None, Fields]:
    """One item of an inline list; None when it has no usable id."""
    what = checks.named(noun, node)
    fields = Fields(report, node, what, ITEM_FIELDS + extra, ("id", "name"))
    if not fields.ok:
        return None, fields
    item_id = checks.identifier(report, what, "id", fields.get("id"))
    name = checks.labels(report, what, "name", fields.get("name"))
    description = checks.labels(report, what, "description", fields.get("description"))
    annotations = checks.annotations(report, what, fields.get("annotations"))
    parent = checks.identifier(report, what, "parent", fields.get("parent"))
    if item_id is None:
        return None, fields
    item = cls(id=item_id, name=name or common.InternationalString(), annotations=annotations)
    if description is not None:
        item.description = description
    draft = ItemDraft(item, fields.line_of("id"), report, parent, fields.line_of("parent"))
    return draft, fields


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
