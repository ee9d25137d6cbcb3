"""References between artefacts: their syntax, and resolving them to the artefacts themselves.

`CL_SEX` (same agency, latest), `SDMX:CL_FREQ` (latest), `SDMX:CL_FREQ(2.0)` (exactly); an
item is `CS_SSO.FREQ` or `SSO:CS_SSO(1.0).FREQ`, a nested category `THEMES.PENSIONS.OLD_AGE`.
Latest is the highest version by numeric comparison of its parts. Artefacts from the files
replace existing ones of the same key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from sdmx.model import common, v30
from sdmx.model.common import MaintainableArtefact

from sdmx_server import kinds
from sdmx_server.registry.authoring.checks import check_agency, check_id, check_version
from sdmx_server.versions import version_key

_REF = re.compile(r"^(?:(?P<agency>[^:()]+):)?(?P<id>[^:().]+)(?:\((?P<version>[^()]*)\))?$")
_ITEM_REF = re.compile(
    r"^(?:(?P<agency>[^:()]+):)?(?P<id>[^:().]+)(?:\((?P<version>[^()]*)\))?\.(?P<item>[^:()]+)$"
)

#: kind -> the words used in messages (other kinds are named by their URN class)
NOUNS = {
    "agencyscheme": "agency scheme",
    "dataproviderscheme": "data provider scheme",
    "dataconsumerscheme": "data consumer scheme",
    "codelist": "codelist",
    "valuelist": "value list",
    "conceptscheme": "concept scheme",
    "categoryscheme": "category scheme",
    "categorisation": "categorisation",
    "datastructure": "data structure",
    "dataflow": "dataflow",
    "dataconstraint": "data constraint",
    "provisionagreement": "provision agreement",
    "hierarchy": "hierarchy",
    "hierarchicalcodelist": "hierarchical codelist",
    "structureset": "structure set",
    "metadatastructure": "metadata structure",
    "metadataflow": "metadataflow",
    "metadataset": "metadata set",
}
#: item scheme kind -> the word for one of its items
ITEM_NOUNS = {
    "agencyscheme": "agency",
    "dataproviderscheme": "data provider",
    "dataconsumerscheme": "data consumer",
    "codelist": "code",
    "valuelist": "value",
    "conceptscheme": "concept",
    "categoryscheme": "category",
}


def noun(kind: str) -> str:
    return NOUNS.get(kind) or kinds.kind(kind).urn_class


@dataclass(frozen=True)
class Ref:
    agency: str  # already defaulted to the referring artefact's agency
    id: str
    version: str | None  # None: the latest
    item: str | None = None  # an item's id, or the dotted path of a nested item

    @property
    def scheme(self) -> str:
        if self.version is None:
            return f"{self.agency}:{self.id} (latest)"
        return f"{self.agency}:{self.id}({self.version})"

    @property
    def path(self) -> list[str]:
        return self.item.split(".") if self.item else []


def parse_ref(text: str, default_agency: str) -> Ref | None:
    """A maintainable reference, or None when the text is not one."""
    m = _REF.match(text.strip())
    return _checked(m, default_agency, None) if m else None


def parse_item_ref(text: str, default_agency: str) -> Ref | None:
    """An item reference `SCHEME.ITEM` (the item may be a dotted path), or None."""
    m = _ITEM_REF.match(text.strip())
    if not m or not all(check_id(part) for part in m["item"].split(".")):
        return None
    return _checked(m, default_agency, m["item"])


#: concepts were the first items referred to; the name stays for them
parse_concept_ref = parse_item_ref


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
_ITEM_EXAMPLES = {
    "conceptscheme": ("CS_SSO", "FREQ"),
    "categoryscheme": ("THEMES", "PENSIONS"),
    "dataproviderscheme": ("DATA_PROVIDERS", "PD_IR-23"),
    "dataconsumerscheme": ("DATA_CONSUMERS", "SCI"),
    "agencyscheme": ("AGENCIES", "SSO"),
}


def item_forms(kind: str) -> str:
    """How to write a reference to an item of that kind of scheme, for messages."""
    scheme, item = _ITEM_EXAMPLES.get(kind, ("CL_SEX", "F"))
    return f"write SCHEME.ITEM, such as {scheme}.{item} or SSO:{scheme}(1.0).{item}"


def kind_of(artefact) -> str | None:
    """The kind (sdmx_server.kinds name) of an sdmx.model artefact, None for other objects."""
    try:
        return kinds.kind_of(artefact).name
    except ValueError:
        return None


def key_of(artefact: MaintainableArtefact) -> tuple[str, str, str]:
    agency = artefact.maintainer.id if artefact.maintainer is not None else ""
    return (agency, artefact.id, str(artefact.version) if artefact.version is not None else "1.0")


def items_of(scheme) -> Iterable:
    """The items of an item scheme, or a value list's values."""
    if isinstance(scheme, v30.ValueList):
        return scheme.items
    return scheme.items.values()


def find_item(scheme, path: list[str]):
    """The item at `path` (ids from a top-level item down, or a single id anywhere), or None."""
    if isinstance(scheme, v30.ValueList):
        return next((v for v in scheme.items if len(path) == 1 and v.id == path[0]), None)
    if len(path) == 1:
        return scheme.items.get(path[0])
    top = scheme.items.get(path[0])
    if top is None or isinstance(top.parent, common.Item):
        return None
    item = top
    for part in path[1:]:
        item = next((c for c in item.child if c.id == part), None)
        if item is None:
            return None
    return item


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

    def all(self, kind: str) -> Iterable[MaintainableArtefact]:
        for versions in self.artefacts.get(kind, {}).values():
            yield from versions.values()

    def resolve(self, kind: str, ref: Ref) -> tuple[MaintainableArtefact | None, str]:
        """(artefact, "") or (None, why not)."""
        versions = self.artefacts.get(kind, {}).get((ref.agency, ref.id), {})
        word = noun(kind)
        if ref.version is None and versions:
            return versions[max(versions, key=version_key)], ""
        if ref.version is not None and ref.version in versions:
            return versions[ref.version], ""
        message = f"{word} {ref.scheme} not found"
        if versions:
            message += "; there is " + ", ".join(sorted(versions, key=version_key))
        else:
            others = sorted(
                f"{agency}:{id_}" for agency, id_ in self.artefacts.get(kind, {}) if id_ == ref.id
            )
            if others:
                message += "; found " + ", ".join(others) + ": name its agency"
        return None, message

    def resolve_item(self, kind: str, ref: Ref) -> tuple[object | None, str]:
        """An item of an item scheme (a code, concept, category, data provider...)."""
        scheme, why = self.resolve(kind, ref)
        if scheme is None:
            return None, why
        item = find_item(scheme, ref.path)
        if item is None:
            word = ITEM_NOUNS.get(kind, "item")
            return None, f"{word} {ref.item} is not in {noun(kind)} {ref.agency}:{ref.id}({scheme.version})"
        return item, ""

    def resolve_concept(self, ref: Ref) -> tuple[common.Concept | None, str]:
        return self.resolve_item("conceptscheme", ref)
