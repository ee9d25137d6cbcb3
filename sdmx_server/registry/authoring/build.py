"""Artefacts from their YAML mappings: the fields every artefact has.

What a kind adds (items, components, references) is read by the kind's own module, named in
the table of `forms.py`; references are completed once every artefact of the files is known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdmx.model import common
from sdmx.model.common import MaintainableArtefact

from sdmx_server.registry.authoring import checks
from sdmx_server.registry.authoring.checks import Fields
from sdmx_server.registry.authoring.errors import Reporter
from sdmx_server.registry.authoring.references import noun
from sdmx_server.registry.authoring.yamlfile import Node

if TYPE_CHECKING:
    from sdmx_server.registry.authoring.forms import Form

COMMON_FIELDS = ("id", "agency", "version", "name", "description", "final", "valid_from", "valid_to", "annotations")
REQUIRED = ("id", "agency", "version", "name")
MAINTAINABLE_COPY = (
    "id", "maintainer", "version", "name", "description", "annotations", "is_final",
    "is_external_reference", "valid_from", "valid_to",
)


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
    files: list[Path] = field(default_factory=list)
    items: list = field(default_factory=list)  # item drafts of an item scheme
    access: str = "public"
    #: what a kind keeps between reading and completing
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def agency(self) -> str:
        return self.artefact.maintainer.id


def read_artefact(form: "Form", node: Node, report: Reporter, files: list[Path]) -> Draft | None:
    word = noun(form.kind)
    what = checks.named(word, node, maintainable=True)
    required = REQUIRED + form.required
    if form.fixed is not None:  # organisation schemes: id and version are fixed by SDMX
        required = tuple(name for name in required if name not in ("id", "version"))
    fields = Fields(report, node, what, COMMON_FIELDS + form.fields, required)
    if not fields.ok:
        return None
    artefact_id = checks.identifier(report, what, "id", fields.get("id"))
    agency = checks.agency(report, what, "agency", fields.get("agency"))
    version = checks.version(report, what, "version", fields.get("version"))
    if form.fixed is not None:
        artefact_id, version = _fixed(report, word, fields, form.fixed, artefact_id, version)
    key = (agency, artefact_id, version) if agency and artefact_id and version else None
    if key is not None:
        what = f"{word} {agency}:{artefact_id}({version})"
    artefact = form.cls(
        id=artefact_id or "MISSING",
        maintainer=common.Agency(id=agency or "MISSING"),
        version=version or "1.0",
        is_final=False,
        is_external_reference=False,
    )
    header(report, what, fields, artefact)
    draft = Draft(form.kind, artefact, key, what, fields.line_of("id"), fields, report, files)
    if form.read is not None:
        form.read(draft)
    return draft


def _fixed(report: Reporter, word: str, fields: Fields, fixed: tuple[str, str], artefact_id, version):
    fixed_id, fixed_version = fixed
    # reported, then the fixed value is used: what refers to the scheme still finds it
    if "id" in fields and artefact_id is not None and artefact_id != fixed_id:
        report(fields.line_of("id"), f"{word}: SDMX fixes the id of every {word}: {fixed_id} (or leave id out), not {artefact_id}")
    if "version" in fields and version is not None and version != fixed_version:
        report(fields.line_of("version"), f'{word}: SDMX fixes the version of every {word}: "{fixed_version}" (or leave version out), not "{version}"')
    return fixed_id, fixed_version


def header(report: Reporter, what: str, fields: Fields, artefact) -> None:
    """name, description, final, validity and annotations, for any nameable or maintainable."""
    name = checks.labels(report, what, "name", fields.get("name"))
    if name is not None:
        artefact.name = name
    description = checks.labels(report, what, "description", fields.get("description"))
    if description is not None:
        artefact.description = description
    if "final" in fields.entries or isinstance(artefact, MaintainableArtefact):
        final = checks.boolean(report, what, "final", fields.get("final"))
        artefact.is_final = bool(final)
    validity(report, what, fields, artefact)
    artefact.annotations = checks.annotations(report, what, fields.get("annotations"))


def validity(report: Reporter, what: str, fields: Fields, target) -> None:
    valid_from = checks.when(report, what, "valid_from", fields.get("valid_from"))
    valid_to = checks.when(report, what, "valid_to", fields.get("valid_to"))
    if valid_from is not None and valid_to is not None and as_datetime(valid_to) < as_datetime(valid_from):
        report(fields.line_of("valid_to"), f"{what}: valid_to {valid_to} is before valid_from {valid_from}")
    if "valid_from" in fields.entries or hasattr(target, "valid_from"):
        target.valid_from = valid_from
        target.valid_to = valid_to


def as_datetime(value):
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    return value


def rebuild(draft: Draft, cls: type) -> MaintainableArtefact:
    """The draft's artefact as another class (a v21 dataflow whose structure turned out to be
    an SDMX 3.0 one), with the same identification and labels."""
    old = draft.artefact
    new = cls(**{name: getattr(old, name) for name in MAINTAINABLE_COPY})
    draft.artefact = new
    return new
