"""Hierarchies of codes and maps between codelists.

- `hierarchy` (SDMX 3.0 Hierarchy): one hierarchy of codes, drawn from any codelists, with
  optional formal levels; served to SDMX 3.0 clients.
- `hierarchicalcodelist` (SDMX 2.1 HierarchicalCodelist): one or more such hierarchies in one
  artefact; served to SDMX 2.1 clients.
- `structureset` (SDMX 2.1 StructureSet): codelist maps, each pairing codes of a source
  codelist with codes of a target codelist.

They are built as sdmx1's readers build them: a hierarchy's `codes` holds its top-level
HierarchicalCodes, each child in its parent's `child`, each level in its parent's `child`.
"""

from __future__ import annotations

import re

from sdmx.model import common, v21

from sdmx_server.registry.authoring import checks
from sdmx_server.registry.authoring.build import Draft, header, validity
from sdmx_server.registry.authoring.checks import Fields
from sdmx_server.registry.authoring.resolve import Resolver
from sdmx_server.registry.authoring.textformat import text_format
from sdmx_server.registry.authoring.yamlfile import Map, Node, Scalar, short_form

HIERARCHY_FIELDS = ("id", "name", "description", "annotations", "codelist", "levels", "codes")
LEVEL_FIELDS = ("id", "name", "description", "annotations", "format")
CODE_FIELDS = ("code", "id", "codes", "valid_from", "valid_to", "annotations")
MAP_FIELDS = ("id", "name", "description", "annotations", "source", "target", "codes")
#: the text types SDMX allows for a level's codes, with what they mean
CODING_TYPES = {
    "alpha": ("letters only (Alpha)", lambda v: v.isascii() and v.isalpha()),
    "alphaNumeric": ("letters and digits only (AlphaNumeric)", lambda v: v.isascii() and v.isalnum()),
    "numeric": ("digits only (Numeric)", lambda v: v.isascii() and v.isdigit()),
}


class _Hierarchy:
    """Reads the levels and codes of one hierarchy into an sdmx1 hierarchy object."""

    def __init__(self, draft: Draft, resolver: Resolver, fields: Fields, where: str, target):
        self.draft, self.resolver, self.fields, self.where, self.target = draft, resolver, fields, where, target
        self.report = draft.report
        self.ids: dict[str, int] = {}
        self.levels: list[common.Level] = []
        self.codelist = None
        entry = fields.get("codelist")
        if entry is not None:
            self.codelist = resolver.artefact(self.report, where, "codelist", entry, "codelist", draft.agency)
            self.codelist_failed = self.codelist is None
        else:
            self.codelist_failed = False

    def build(self) -> None:
        self.read_levels()
        nodes = checks.sequence(self.report, self.where, "codes", self.fields.get("codes"))
        if nodes is not None and not nodes:
            self.report(self.fields.line_of("codes"), f"{self.where}: codes is an empty list")
        codes = [c for c in (self.code(node, 0) for node in nodes or []) if c is not None]
        self.target.codes = {c.id: c for c in codes}
        self.target.has_formal_levels = bool(self.levels)
        self.target.level = self.levels[0] if self.levels else None

    def read_levels(self) -> None:
        seen: dict[str, int] = {}
        for node in checks.sequence(self.report, self.where, "levels", self.fields.get("levels")) or []:
            named = checks.named("level", node)
            fields = Fields(self.report, node, f"{self.where}: {named}", LEVEL_FIELDS, ("id", "name"))
            level_id = checks.identifier(self.report, named, "id", fields.get("id")) if fields.ok else None
            if level_id is None:
                continue
            what = f"{self.where}: level {level_id}"
            if level_id in seen:
                self.report(fields.line_of("id"), f"{what} is defined twice (first at line {seen[level_id]})")
                continue
            seen[level_id] = fields.line_of("id")
            level = common.Level(id=level_id)
            header(self.report, what, fields, level)
            if "format" in fields:
                facet = text_format(self.report, what, fields.get("format"))
                if facet is not None and self.coding_format_ok(facet, what, fields.get("format")):
                    level.code_format = common.CodingFormat(coding_format=facet)
            if self.levels:
                self.levels[-1].child = level
            self.levels.append(level)

    def code(self, node: Node, depth: int) -> common.HierarchicalCode | None:
        if isinstance(node, Scalar):
            node = short_form(node, "code")
        fields = Fields(self.report, node, f"{self.where}: hierarchical code", CODE_FIELDS, ("code",))
        if not fields.ok:
            return None
        code = self.resolve_code(fields)
        hc_id = checks.identifier(self.report, self.where, "id", fields.get("id")) if "id" in fields else (code.id if code is not None else None)
        children = checks.sequence(self.report, self.where, "codes", fields.get("codes")) or []
        kids = [c for c in (self.code(child, depth + 1) for child in children) if c is not None]
        if hc_id is None:
            return None
        what = f"{self.where}: hierarchical code {hc_id}"
        line = fields.line_of("id") if "id" in fields else fields.line_of("code")
        if hc_id in self.ids:
            self.report(line, f"{what} appears twice in the hierarchy (first at line {self.ids[hc_id]}); give it an id of its own (id:)")
            return None
        self.ids[hc_id] = line
        level = None
        if self.levels:
            if depth >= len(self.levels):
                self.report(line, f"{what} is at depth {depth + 1}, below the last of the {len(self.levels)} levels")
            else:
                level = self.levels[depth]
                if code is not None:
                    self.check_format(level, code, what, fields.line_of("code"))
        hc = common.HierarchicalCode(
            id=hc_id, code=code, level=level, annotations=checks.annotations(self.report, what, fields.get("annotations"))
        )
        validity(self.report, what, fields, hc)  # dates, as an artefact's validity
        hc.child.extend(kids)
        return hc

    def coding_format_ok(self, facet: common.Facet, what: str, entry) -> bool:
        """SDMX allows codes to be formatted as Alpha, AlphaNumeric or Numeric, without decimals."""
        name = getattr(facet.value_type, "name", "")
        if name not in CODING_TYPES:
            self.report(entry.key_line, f"{what}: format: a level's codes are Alpha, AlphaNumeric or Numeric, not {name[:1].upper() + name[1:]}")
            return False
        if facet.type.decimals is not None:
            self.report(entry.key_line, f"{what}: format: codes have no decimals")
            return False
        return True

    def check_format(self, level: common.Level, code, what: str, line: int) -> None:
        """A level's coding format (pattern, lengths) holds for the codes at that level."""
        facet = level.code_format.coding_format if level.code_format is not None else None
        facets = facet.type if facet is not None and facet.value_type is not None else None
        if facets is None:
            return
        problems = []
        kind = CODING_TYPES.get(getattr(facet.value_type, "name", ""))
        if kind is not None and not kind[1](code.id):
            problems.append(f"is not {kind[0]}")
        if facets.pattern is not None and not re.fullmatch(facets.pattern, code.id):
            problems.append(f"does not match the pattern {facets.pattern}")
        if facets.min_length is not None and len(code.id) < facets.min_length:
            problems.append(f"is shorter than {facets.min_length}")
        if facets.max_length is not None and len(code.id) > facets.max_length:
            problems.append(f"is longer than {facets.max_length}")
        if problems:
            self.report(line, f"{what}: code {code.id} " + " and ".join(problems) + f", the coding format of level {level.id}")

    def resolve_code(self, fields: Fields):
        entry = fields.get("code")
        value = checks.text(self.report, self.where, "code", entry)
        if value is None:
            return None
        if "." in value:
            return self.resolver.item_text(self.report, self.where, "code", value, entry.key_line, "codelist", self.draft.agency)
        if self.codelist is None:
            if not self.codelist_failed:
                self.report(entry.key_line, f"{self.where}: code {value} names no codelist: write CODELIST.{value}, or give codelist: on the hierarchy")
            return None
        code = self.codelist.items.get(value)
        if code is None:
            self.report(entry.key_line, f"{self.where}: code {value} is not in codelist {_name(self.codelist)}")
        return code



def _name(artefact) -> str:
    return f"{artefact.maintainer.id}:{artefact.id}({artefact.version})"


def complete_hierarchy(draft: Draft, resolver: Resolver) -> None:
    _Hierarchy(draft, resolver, draft.fields, draft.what, draft.artefact).build()


def complete_hierarchicalcodelist(draft: Draft, resolver: Resolver) -> None:
    nodes = checks.sequence(draft.report, draft.what, "hierarchies", draft.fields.get("hierarchies"))
    if nodes is not None and not nodes:
        draft.report(draft.fields.line_of("hierarchies"), f"{draft.what}: hierarchies is an empty list")
    seen: dict[str, int] = {}
    for node in nodes or []:
        named = checks.named("hierarchy", node)
        fields = Fields(draft.report, node, f"{draft.what}: {named}", HIERARCHY_FIELDS, ("id", "name", "codes"))
        hierarchy_id = checks.identifier(draft.report, named, "id", fields.get("id")) if fields.ok else None
        if hierarchy_id is None:
            continue
        where = f"{draft.what}: hierarchy {hierarchy_id}"
        if hierarchy_id in seen:
            draft.report(fields.line_of("id"), f"{where} is defined twice (first at line {seen[hierarchy_id]})")
            continue
        seen[hierarchy_id] = fields.line_of("id")
        hierarchy = v21.Hierarchy(id=hierarchy_id)
        header(draft.report, where, fields, hierarchy)
        _Hierarchy(draft, resolver, fields, where, hierarchy).build()
        draft.artefact.hierarchy.append(hierarchy)


def complete_structureset(draft: Draft, resolver: Resolver) -> None:
    report, agency = draft.report, draft.agency
    nodes = checks.sequence(report, draft.what, "codelist_maps", draft.fields.get("codelist_maps"))
    if nodes is not None and not nodes:
        report(draft.fields.line_of("codelist_maps"), f"{draft.what}: codelist_maps is an empty list")
    seen: dict[str, int] = {}
    for node in nodes or []:
        named = checks.named("codelist map", node)
        fields = Fields(report, node, f"{draft.what}: {named}", MAP_FIELDS, ("id", "name", "source", "target", "codes"))
        map_id = checks.identifier(report, named, "id", fields.get("id")) if fields.ok else None
        if map_id is None:
            continue
        where = f"{draft.what}: codelist map {map_id}"
        if map_id in seen:
            report(fields.line_of("id"), f"{where} is defined twice (first at line {seen[map_id]})")
            continue
        seen[map_id] = fields.line_of("id")
        source = resolver.artefact(report, where, "source", fields.get("source"), "codelist", agency)
        target = resolver.artefact(report, where, "target", fields.get("target"), "codelist", agency)
        codelist_map = v21.CodelistMap(id=map_id, source=source, target=target)
        header(report, where, fields, codelist_map)
        codelist_map.item_association = _code_maps(draft, where, fields, source, target)
        draft.artefact.item_scheme_map.append(codelist_map)


def _code_maps(draft: Draft, where: str, fields: Fields, source, target) -> list[v21.CodeMap]:
    report = draft.report
    entry = fields.get("codes")
    if entry is None:
        return []
    if not isinstance(entry.node, Map):
        report(entry.key_line, f"{where}: codes must map each source code to its target code (or a list of them), not {entry.node.kind}")
        return []
    found: list[v21.CodeMap] = []
    for source_id, value in entry.node.entries.items():
        targets = checks.scalars(report, where, source_id, value) or []
        source_code = source.items.get(source_id) if source is not None else None
        if source is not None and source_code is None:
            report(value.key_line, f"{where}: {source_id} is not a code of the source codelist {_name(source)}")
        for target_id, line in targets:
            target_code = target.items.get(target_id) if target is not None else None
            if target is not None and target_code is None:
                report(line, f"{where}: {target_id} is not a code of the target codelist {_name(target)}")
            if source_code is not None and target_code is not None:
                found.append(v21.CodeMap(source=source_code, target=target_code))
    return found

