"""Artefacts from their YAML mappings: the fields every artefact has, codelists, concept schemes.

Data structures and dataflows refer to other artefacts and are completed in `dsd.py`, once
every artefact of the files is known; here they get their identification only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from sdmx.model import common, v21
from sdmx.model.common import MaintainableArtefact

from sdmx_server.registry.authoring import checks
from sdmx_server.registry.authoring.checks import Fields
from sdmx_server.registry.authoring.csvcodes import read_codes_csv
from sdmx_server.registry.authoring.errors import Reporter
from sdmx_server.registry.authoring.items import ItemDraft, assemble, read_item
from sdmx_server.registry.authoring.references import NOUNS
from sdmx_server.registry.authoring.textformat import text_format
from sdmx_server.registry.authoring.yamlfile import Node, Scalar, Seq

COMMON_FIELDS = ("id", "agency", "version", "name", "description", "final", "valid_from", "valid_to", "annotations")
REQUIRED = ("id", "agency", "version", "name")
KIND_FIELDS = {
    "codelist": ("codes",),
    "conceptscheme": ("concepts",),
    "datastructure": ("concepts", "dimensions", "time_dimension", "measure", "attributes"),
    "dataflow": ("structure", "access"),
}
KIND_REQUIRED = {
    "codelist": ("codes",),
    "conceptscheme": ("concepts",),
    "datastructure": ("dimensions", "measure"),
    "dataflow": ("structure",),
}
CLASSES = {
    "codelist": common.Codelist,
    "conceptscheme": common.ConceptScheme,
    "datastructure": v21.DataStructureDefinition,
    "dataflow": v21.DataflowDefinition,
}
ACCESS = ("public", "internal")


@dataclass(eq=False)
class Draft:
    """An artefact being read, with what is needed to finish and locate it."""

    kind: str
    artefact: MaintainableArtefact
    key: tuple[str, str, str] | None  # (agency, id, version) when all three are valid
    what: str  # "codelist SSO:CL_SEX(1.0)", for messages
    line: int  # of its id (of its mapping when it has none)
    fields: Fields
    report: Reporter
    concepts: list[ItemDraft] = field(default_factory=list)
    access: str = "public"


def read_artefact(kind: str, node: Node, report: Reporter, files: list[Path]) -> Draft | None:
    noun = NOUNS[kind]
    what = checks.named(noun, node, maintainable=True)
    fields = Fields(report, node, what, COMMON_FIELDS + KIND_FIELDS[kind], REQUIRED + KIND_REQUIRED[kind])
    if not fields.ok:
        return None
    artefact_id = checks.identifier(report, what, "id", fields.get("id"))
    agency = checks.agency(report, what, "agency", fields.get("agency"))
    version = checks.version(report, what, "version", fields.get("version"))
    key = (agency, artefact_id, version) if agency and artefact_id and version else None
    if key is not None:
        what = f"{noun} {agency}:{artefact_id}({version})"
    artefact = CLASSES[kind](
        id=artefact_id or "MISSING",
        maintainer=common.Agency(id=agency or "MISSING"),
        version=version or "1.0",
        is_final=False,
        is_external_reference=False,
    )
    _header(report, what, fields, artefact)
    draft = Draft(kind, artefact, key, what, fields.line_of("id"), fields, report)
    if kind == "codelist":
        _codes(draft, files)
    elif kind == "conceptscheme":
        _concepts(draft)
    elif kind == "dataflow":
        _access(draft)
    return draft


def _header(report: Reporter, what: str, fields: Fields, artefact: MaintainableArtefact) -> None:
    name = checks.labels(report, what, "name", fields.get("name"))
    if name is not None:
        artefact.name = name
    description = checks.labels(report, what, "description", fields.get("description"))
    if description is not None:
        artefact.description = description
    final = checks.boolean(report, what, "final", fields.get("final"))
    artefact.is_final = bool(final)
    valid_from = checks.when(report, what, "valid_from", fields.get("valid_from"))
    valid_to = checks.when(report, what, "valid_to", fields.get("valid_to"))
    if valid_from is not None and valid_to is not None and _as_datetime(valid_to) < _as_datetime(valid_from):
        report(fields.line_of("valid_to"), f"{what}: valid_to {valid_to} is before valid_from {valid_from}")
    artefact.valid_from = valid_from
    artefact.valid_to = valid_to
    artefact.annotations = checks.annotations(report, what, fields.get("annotations"))


def _as_datetime(value):
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    return value


# --- codelists ----------------------------------------------------------------------------------


def _codes(draft: Draft, files: list[Path]) -> None:
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
        files.append(csv_path)
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


# --- concept schemes ------------------------------------------------------------------------------


def _concepts(draft: Draft) -> None:
    report = draft.report
    nodes = checks.sequence(report, draft.what, "concepts", draft.fields.get("concepts"))
    if nodes is None:
        return
    drafts: list[ItemDraft] = []
    for node in nodes:
        item, fields = read_item(report, node, common.Concept, "concept", ("codelist", "text_format"))
        if item is None:
            continue
        what = f"concept {item.item.id}"
        if "codelist" in fields and "text_format" in fields:
            report(fields.line_of("text_format"), f"{what}: give either a codelist or a text_format, not both")
            item.broken = True
        elif "codelist" in fields:
            item.codelist = fields.get("codelist")
        elif "text_format" in fields:
            item.text_format = text_format(report, what, fields.get("text_format"))
            if item.text_format is not None:
                item.item.core_representation = common.Representation(non_enumerated=[item.text_format])
            else:
                item.broken = True
        drafts.append(item)
    if not drafts and not nodes:
        report(draft.fields.line_of("concepts"), f"{draft.what}: the concept scheme has no concepts")
    draft.concepts = assemble(draft.artefact, drafts, "concept", "concept scheme")


# --- dataflows -------------------------------------------------------------------------------------


def _access(draft: Draft) -> None:
    entry = draft.fields.get("access")
    if entry is None:
        return
    value = checks.text(draft.report, draft.what, "access", entry)
    if value is None:
        return
    if value not in ACCESS:
        draft.report(entry.key_line, f"{draft.what}: access must be public or internal, not {value!r}")
        return
    draft.access = value
