"""References between artefacts: their syntax, and resolving them to the artefacts themselves.

`CL_SEX` (same agency, latest), `SDMX:CL_FREQ` (latest), `SDMX:CL_FREQ(2.0)` (exactly); a
concept is `CS_SSO.FREQ` or `SSO:CS_SSO(1.0).FREQ`. Latest is the highest version by numeric
comparison of its parts. Artefacts from the files replace existing ones of the same key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from sdmx.model import common
from sdmx.model.common import MaintainableArtefact

from sdmx_server.registry.authoring.checks import check_agency, check_id, check_version
from sdmx_server.versions import version_key

_REF = re.compile(r"^(?:(?P<agency>[^:()]+):)?(?P<id>[^:().]+)(?:\((?P<version>[^()]*)\))?$")
_CONCEPT_REF = re.compile(
    r"^(?:(?P<agency>[^:()]+):)?(?P<id>[^:().]+)(?:\((?P<version>[^()]*)\))?\.(?P<item>[^:().]+)$"
)

#: kind -> the words used in messages
NOUNS = {
    "codelist": "codelist",
    "conceptscheme": "concept scheme",
    "datastructure": "data structure",
    "dataflow": "dataflow",
}


@dataclass(frozen=True)
class Ref:
    agency: str  # already defaulted to the referring artefact's agency
    id: str
    version: str | None  # None: the latest
    item: str | None = None  # a concept's id, for concept references

    @property
    def scheme(self) -> str:
        if self.version is None:
            return f"{self.agency}:{self.id} (latest)"
        return f"{self.agency}:{self.id}({self.version})"


def parse_ref(text: str, default_agency: str) -> Ref | None:
    """A maintainable reference, or None when the text is not one."""
    m = _REF.match(text.strip())
    return _checked(m, default_agency, None) if m else None


def parse_concept_ref(text: str, default_agency: str) -> Ref | None:
    m = _CONCEPT_REF.match(text.strip())
    if not m or not check_id(m["item"]):
        return None
    return _checked(m, default_agency, m["item"])


def _checked(m: re.Match, default_agency: str, item: str | None) -> Ref | None:
    agency, id_, version = m["agency"], m["id"], m["version"]
    if agency is not None and not check_agency(agency):
        return None
    if not check_id(id_):
        return None
    if version is not None and not check_version(version):
        return None
    return Ref(agency or default_agency, id_, version, item)


REF_FORMS = "write CL_SEX, SSO:CL_SEX or SSO:CL_SEX(1.0)"
CONCEPT_REF_FORMS = "write CS_SSO.FREQ or SSO:CS_SSO(1.0).FREQ"


def kind_of(artefact) -> str | None:
    """The authoring kind of an sdmx.model artefact (None for kinds authoring does not use)."""
    if isinstance(artefact, common.Codelist):
        return "codelist"
    if isinstance(artefact, common.ConceptScheme):
        return "conceptscheme"
    if isinstance(artefact, common.BaseDataStructureDefinition):
        return "datastructure"
    if isinstance(artefact, common.BaseDataflow):
        return "dataflow"
    return None


def key_of(artefact: MaintainableArtefact) -> tuple[str, str, str]:
    agency = artefact.maintainer.id if artefact.maintainer is not None else ""
    return (agency, artefact.id, str(artefact.version) if artefact.version is not None else "1.0")


class Index:
    """Every artefact references may resolve to: kind -> (agency, id) -> version -> artefact."""

    def __init__(self, existing: Iterable[MaintainableArtefact] = ()):
        self.artefacts: dict[str, dict[tuple[str, str], dict[str, MaintainableArtefact]]] = {}
        for artefact in existing:
            kind = kind_of(artefact)
            # stubs (external references) are not the artefact, only its name
            if kind is None or artefact.is_external_reference:
                continue
            self.add(kind, key_of(artefact), artefact)

    def add(self, kind: str, key: tuple[str, str, str], artefact: MaintainableArtefact) -> None:
        agency, id_, version = key
        self.artefacts.setdefault(kind, {}).setdefault((agency, id_), {})[version] = artefact

    def resolve(self, kind: str, ref: Ref) -> tuple[MaintainableArtefact | None, str]:
        """(artefact, "") or (None, why not)."""
        versions = self.artefacts.get(kind, {}).get((ref.agency, ref.id), {})
        noun = NOUNS[kind]
        if ref.version is None and versions:
            return versions[max(versions, key=version_key)], ""
        if ref.version is not None and ref.version in versions:
            return versions[ref.version], ""
        message = f"{noun} {ref.scheme} not found"
        if versions:
            message += "; there is " + ", ".join(sorted(versions, key=version_key))
        else:
            others = sorted(
                f"{agency}:{id_}" for agency, id_ in self.artefacts.get(kind, {}) if id_ == ref.id
            )
            if others:
                message += "; found " + ", ".join(others) + ": name its agency"
        return None, message

    def resolve_concept(self, ref: Ref) -> tuple[common.Concept | None, str]:
        scheme, why = self.resolve("conceptscheme", ref)
        if scheme is None:
            return None, why
        concept = scheme.items.get(ref.item)
        if concept is None:
            return None, f"concept {ref.item} is not in concept scheme {ref.agency}:{ref.id}({scheme.version})"
        return concept, ""
