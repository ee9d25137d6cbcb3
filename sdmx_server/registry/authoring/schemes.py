"""Item schemes: codelists (with SDMX 3.0 extensions), concept schemes, category schemes,
organisation schemes (agencies, data providers, data consumers) and SDMX 3.0 value lists."""

from __future__ import annotations

from sdmx.model import common, v30

from sdmx_server.registry.authoring import checks
from sdmx_server.registry.authoring.build import Draft
from sdmx_server.registry.authoring.checks import Fields
from sdmx_server.registry.authoring.csvcodes import read_codes_csv
from sdmx_server.registry.authoring.errors import Reporter
from sdmx_server.registry.authoring.items import ItemDraft, assemble, read_item, read_nested
from sdmx_server.registry.authoring.resolve import Resolver
from sdmx_server.registry.authoring.textformat import text_format
from sdmx_server.registry.authoring.yamlfile import Scalar, Seq, short_form
from sdmx_server.registry.extensions import effective_codes, matches

EXTENSION_FIELDS = ("codelist", "prefix", "include", "exclude")
ISO_FIELDS = ("agency", "scheme", "id")
VALUE_FIELDS = ("id", "name", "description", "annotations")


# --- codelists ----------------------------------------------------------------------------------


def read_codelist(draft: Draft) -> None:
    entry = draft.fields.get("codes")
    if entry is None:
        return
    report = draft.report
    node = entry.node
    drafts: list[ItemDraft] = []
    if isinstance(node, Seq):
        for item_node in node.items:
            item, _ = read_item(report, item_node, common.Code, "code")
            if item is not None:
                drafts.append(item)
    elif isinstance(node, Scalar) and node.tag == "str" and node.text.strip():
        relative = node.text.strip()
        csv_path = report.path.parent / relative
        if not csv_path.is_file():
            report(entry.key_line, f"{draft.what}: codes file {relative} not found (looked for {csv_path})")
            return
        draft.files.append(csv_path)
        found = read_codes_csv(csv_path, Reporter(csv_path, report.sink))
        if found is None:
            return  # reported in the CSV file
        drafts = found
    else:
        report(entry.key_line, f"{draft.what}: codes must be a list of codes or the name of a CSV file, not {node.kind}")
        return
    if not drafts and isinstance(node, Seq):
        report(entry.key_line, f"{draft.what}: the codelist has no codes")
    assemble(draft.artefact, drafts, "code", "codelist")


def resolve_extensions(draft: Draft, resolver: Resolver) -> None:
    """`extends:` (SDMX 3.0): the codelists extended, in order, each with a code selection."""
    entry = draft.fields.get("extends")
    if entry is None:
        return
    report, what = draft.report, draft.what
    nodes = entry.node.items if isinstance(entry.node, Seq) else None
    if nodes is None or not nodes:
        report(entry.key_line, f"{what}: extends must be a list of codelists, not {entry.node.kind}")
        resolver.fail(draft.artefact, "extends")
        return
    extensions: list[v30.CodelistExtension] = []
    pending = []
    for node in nodes:
        if isinstance(node, Scalar):
            node = short_form(node, "codelist")  # `- CL_FREQ`: all its codes
        fields = Fields(report, node, f"{what}: extension", EXTENSION_FIELDS, ("codelist",))
        if not fields.ok:
            resolver.fail(draft.artefact, "extends")
            continue
        where = f"{what}: extension"
        base = resolver.artefact(report, where, "codelist", fields.get("codelist"), "codelist", draft.agency)
        prefix = checks.text(report, where, "prefix", fields.get("prefix"))
        if prefix is not None and not checks.check_id(prefix):
            report(fields.line_of("prefix"), f"{where}: prefix {prefix!r} is not a valid start of an SDMX id: {checks.ID_HINT}")
            resolver.fail(draft.artefact, "extends")
            prefix = None
        if "include" in fields and "exclude" in fields:
            report(fields.line_of("exclude"), f"{where}: give either include or exclude, not both")
        selection = None
        for name, cls in (("include", v30.InclusiveCodeSelection), ("exclude", v30.ExclusiveCodeSelection)):
            values = checks.scalars(report, where, name, fields.get(name))
            if values is not None:
                selection = cls(mv=[v30.MemberValue(value=v) for v, _ in values])
        if base is None or "include" in fields and "exclude" in fields:
            resolver.fail(draft.artefact, "extends")  # its codes are not known: users stay silent
            continue
        if base is draft.artefact:
            report(fields.line_of("codelist"), f"{where}: a codelist cannot extend itself")
            resolver.fail(draft.artefact, "extends")
            continue
        if selection is not None:
            pending.append((base, [(v, line) for name in ("include", "exclude")
                                   for v, line in checks.scalars(_silent, where, name, fields.get(name)) or []]))
        extensions.append(v30.CodelistExtension(extends=base, prefix=prefix, selection=selection))
    draft.artefact.extends = extensions
    draft.data["selections"] = pending


def _silent(line: int, message: str) -> None:
    """A reporter for values read a second time: their errors were reported the first."""


def check_extensions(draft: Draft, resolver: Resolver) -> None:
    """Every code an extension selects exists in the extended codelist; no extension cycle."""
    if not getattr(draft.artefact, "extends", None):
        return
    cycle = _cycle(draft.artefact)
    if cycle:
        resolver.fail(draft.artefact, "extends")
        members = frozenset(id(c) for c in cycle)
        # once per cycle, at its first codelist read (one that only extends a cycle is silent)
        if members not in resolver.reported and any(c is draft.artefact for c in cycle):
            resolver.reported.add(members)
            line = draft.fields.line_of("extends")
            draft.report(line, f"{draft.what}: extension cycle " + " → ".join(c.id for c in cycle))
        return
    if any(resolver.broken(e.extends, "extends") for e in draft.artefact.extends):
        resolver.fail(draft.artefact, "extends")  # what it extends is not known in full
    for base, values in draft.data.get("selections", []):
        if base is None or resolver.broken(base) or resolver.broken(base, "extends"):
            continue
        codes = effective_codes(base)
        for value, line in values:
            if not any(matches(value, code) for code in codes):
                resolver.fail(draft.artefact, "extends")
                kind = "no code starting with" if value.endswith("%") else "no code"
                draft.report(line, f"{draft.what}: extension: codelist {_name(base)} has {kind} {value.rstrip('%')}")


def _cycle(codelist) -> list:
    path: list = []

    def walk(cl) -> bool:
        if any(cl is p for p in path):
            path.append(cl)
            return True
        path.append(cl)
        for ext in getattr(cl, "extends", None) or ():
            if isinstance(ext.extends, common.Codelist) and walk(ext.extends):
                return True
        path.pop()
        return False

    if walk(codelist):
        start = next(i for i, p in enumerate(path) if p is path[-1])
        return path[start:]
    return []


def _name(artefact) -> str:
    return f"{artefact.maintainer.id}:{artefact.id}({artefact.version})"


# --- concept schemes ------------------------------------------------------------------------------


def read_conceptscheme(draft: Draft) -> None:
    report = draft.report
    nodes = checks.sequence(report, draft.what, "concepts", draft.fields.get("concepts"))
    if nodes is None:
        return
    drafts: list[ItemDraft] = []
    for node in nodes:
        item, fields = read_item(report, node, common.Concept, "concept", ("codelist", "valuelist", "text_format", "iso_concept"))
        if item is None:
            continue
        what = f"concept {item.item.id}"
        given = [name for name in ("codelist", "valuelist", "text_format") if name in fields]
        if len(given) > 1:
            report(fields.line_of(given[1]), f"{what}: give one representation (codelist, valuelist or text_format), not both {given[0]} and {given[1]}")
            item.broken = True
        elif given == ["codelist"]:
            item.codelist = fields.get("codelist")
        elif given == ["valuelist"]:
            item.valuelist = fields.get("valuelist")
        elif given == ["text_format"]:
            item.text_format = text_format(report, what, fields.get("text_format"))
            if item.text_format is not None:
                item.item.core_representation = common.Representation(non_enumerated=[item.text_format])
            else:
                item.broken = True
        iso = fields.get("iso_concept")
        if iso is not None:
            item.item.iso_concept = _iso(report, what, iso)
        drafts.append(item)
    if not drafts and not nodes:
        report(draft.fields.line_of("concepts"), f"{draft.what}: the concept scheme has no concepts")
    draft.items = assemble(draft.artefact, drafts, "concept", "concept scheme")


def _iso(report: Reporter, what: str, entry) -> common.ISOConceptReference | None:
    where = f"{what}: iso_concept"
    fields = Fields(report, entry.node, where, ISO_FIELDS, ISO_FIELDS)
    if not fields.ok:
        return None
    values = {name: checks.text(report, where, name, fields.get(name)) for name in ISO_FIELDS}
    if None in values.values():
        return None
    return common.ISOConceptReference(agency=values["agency"], id=values["id"], scheme_id=values["scheme"])


def complete_conceptscheme(draft: Draft, resolver: Resolver) -> None:
    for item in draft.items:
        if item.broken:
            resolver.fail(item.item)
        for name, kind in (("codelist", "codelist"), ("valuelist", "valuelist")):
            entry = getattr(item, name)
            if entry is None:
                continue
            found = resolver.artefact(item.source, f"concept {item.item.id}", name, entry, kind, draft.agency)
            if found is None or resolver.broken(found):
                resolver.fail(item.item)
            else:
                item.item.core_representation = common.Representation(enumerated=found)


# --- category schemes, organisation schemes, value lists -----------------------------------------


def read_categoryscheme(draft: Draft) -> None:
    nodes = checks.sequence(draft.report, draft.what, "categories", draft.fields.get("categories"))
    if nodes is None:
        return
    if not nodes:
        draft.report(draft.fields.line_of("categories"), f"{draft.what}: the category scheme has no categories")
    drafts = read_nested(draft.report, nodes, common.Category, "category", "categories")
    draft.items = assemble(draft.artefact, drafts, "category", "category scheme")


def organisations(key: str, cls: type, noun: str, scheme_word: str):
    def read(draft: Draft) -> None:
        nodes = checks.sequence(draft.report, draft.what, key, draft.fields.get(key))
        if nodes is None:
            return
        if not nodes:
            draft.report(draft.fields.line_of(key), f"{draft.what}: the {scheme_word} has no {key.replace('_', ' ')}")
        drafts = []
        for node in nodes:
            item, _ = read_item(draft.report, node, cls, noun, ("contacts",), parent=False)
            if item is not None:
                drafts.append(item)
        draft.items = assemble(draft.artefact, drafts, noun, scheme_word)

    return read


read_agencyscheme = organisations("agencies", common.Agency, "agency", "agency scheme")
read_dataproviderscheme = organisations("data_providers", common.DataProvider, "data provider", "data provider scheme")
read_dataconsumerscheme = organisations("data_consumers", common.DataConsumer, "data consumer", "data consumer scheme")


def read_valuelist(draft: Draft) -> None:
    """SDMX 3.0 value lists: values are any text (`€`, `0.5`), with optional labels."""
    report = draft.report
    nodes = checks.sequence(report, draft.what, "values", draft.fields.get("values"))
    if nodes is None:
        return
    if not nodes:
        report(draft.fields.line_of("values"), f"{draft.what}: the value list has no values")
    seen: dict[str, int] = {}
    for node in nodes:
        what = checks.named("value", node) if isinstance(node, Scalar) else "value"
        fields = Fields(report, node, what, VALUE_FIELDS, ("id",))
        if not fields.ok:
            continue
        value = checks.text(report, what, "id", fields.get("id"))
        if value is None:
            continue
        what = f"value {value}"
        line = fields.line_of("id")
        if value in seen:
            report(line, f"{what} is listed twice in this value list (first at line {seen[value]})")
            continue
        seen[value] = line
        item = v30.ValueItem(id=value, annotations=checks.annotations(report, what, fields.get("annotations")))
        for name in ("name", "description"):
            label = checks.labels(report, what, name, fields.get(name))
            if label is not None:
                setattr(item, name, label)
        draft.artefact.append(item)
