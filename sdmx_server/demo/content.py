"""The few facts the generator needs from the authoring files in codelists/ and dsd/.

A deliberately small reader (yaml.safe_load and csv), independent of the server's own authoring
reader: code ids, parents and annotations of each codelist, and for each dataflow the order of
its dimensions and attributes and the codelist of each. References are resolved by id alone
(`SSO:CL_X(1.0)` and `CL_X` name the same codelist): the demo content has one agency and one
version of everything.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

import sdmx_server

#: The repository root: the parent of the sdmx_server package, where codelists/ and dsd/ live.
DEFAULT_CONTENT_DIR = Path(sdmx_server.__file__).resolve().parent.parent

TOTAL = "_T"
_REFERENCE = re.compile(r"^(?:[^:]+:)?(?P<id>[^(]+)(?:\([^)]*\))?$")


class ContentError(ValueError):
    """The authoring files lack something the demo generator needs."""


@dataclass(frozen=True)
class Code:
    id: str
    parent: str | None = None
    #: annotation type -> title (e.g. GOOD_DIRECTION -> UP)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Codelist:
    id: str
    codes: tuple[Code, ...]

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.codes]

    def code(self, code_id: str) -> Code:
        for c in self.codes:
            if c.id == code_id:
                return c
        raise ContentError(f"{self.id} has no code {code_id}")

    def children(self, code_id: str) -> list[str]:
        return [c.id for c in self.codes if c.parent == code_id]

    @property
    def roots(self) -> list[str]:
        return [c.id for c in self.codes if c.parent is None and c.id != TOTAL]

    @property
    def leaves(self) -> list[str]:
        """The codes that are neither a total (_T) nor the parent of other codes."""
        parents = {c.parent for c in self.codes}
        return [c.id for c in self.codes if c.id != TOTAL and c.id not in parents]

    def descendant_leaves(self, code_id: str) -> list[str]:
        if code_id == TOTAL:
            return self.leaves
        found: list[str] = []
        stack = [code_id]
        leaves = set(self.leaves)
        while stack:
            current = stack.pop()
            if current in leaves:
                found.append(current)
            stack.extend(self.children(current))
        order = {c: i for i, c in enumerate(self.leaves)}
        return sorted(found, key=order.__getitem__)


@dataclass(frozen=True)
class FlowLayout:
    """One dataflow as the generator writes it: the SDMX-CSV columns and their codelists."""

    agency: str
    id: str
    version: str
    dimensions: tuple[str, ...]
    time_dimension: str
    measure: str
    attributes: tuple[str, ...]
    #: component id -> codelist id, for every coded dimension and attribute
    codelists: dict[str, str]
    access: str = "public"

    @property
    def ref(self) -> str:
        return f"{self.agency}:{self.id}({self.version})"

    @property
    def header(self) -> list[str]:
        return ["STRUCTURE", "STRUCTURE_ID", "ACTION", *self.dimensions, self.time_dimension,
                self.measure, *self.attributes]


@dataclass(frozen=True)
class Content:
    codelists: dict[str, Codelist]
    flows: dict[str, FlowLayout]

    def codelist_of(self, flow_id: str, component: str) -> Codelist:
        layout = self.flows[flow_id]
        try:
            return self.codelists[layout.codelists[component]]
        except KeyError:
            raise ContentError(f"{flow_id}: {component} has no codelist in the content") from None


def reference_id(reference: str) -> str:
    m = _REFERENCE.match(str(reference).strip())
    if not m:
        raise ContentError(f"cannot read the reference {reference!r}")
    return m.group("id")


def load_content(content_dir: Path | None = None) -> Content:
    root = Path(content_dir) if content_dir is not None else DEFAULT_CONTENT_DIR
    documents = [*_documents(root / "codelists"), *_documents(root / "dsd")]
    codelists: dict[str, Codelist] = {}
    schemes: dict[str, dict[str, dict]] = {}
    structures: dict[str, dict] = {}
    flows: list[dict] = []
    for path, doc in documents:
        for raw in _artefacts(doc, "codelist"):
            codelists[raw["id"]] = _codelist(path, raw)
        for raw in _artefacts(doc, "conceptscheme"):
            schemes[raw["id"]] = {c["id"]: c for c in raw.get("concepts") or []}
        for raw in _artefacts(doc, "datastructure"):
            structures[raw["id"]] = raw
        flows.extend(_artefacts(doc, "dataflow"))
    layouts = {}
    for raw in flows:
        dsd_id = reference_id(raw["structure"])
        if dsd_id not in structures:
            raise ContentError(f"dataflow {raw['id']}: no data structure {dsd_id}")
        layouts[raw["id"]] = _layout(raw, structures[dsd_id], schemes)
    return Content(codelists, layouts)


def _documents(folder: Path):
    if not folder.is_dir():
        raise ContentError(f"no folder {folder}")
    for path in sorted([*folder.rglob("*.yaml"), *folder.rglob("*.yml")]):
        with open(path, encoding="utf-8") as f:
            yield path, yaml.safe_load(f) or {}


def _artefacts(doc: dict, kind: str) -> list[dict]:
    found = []
    if isinstance(doc.get(kind), dict):
        found.append(doc[kind])
    found.extend(doc.get(kind + "s") or [])
    return found


def _codelist(path: Path, raw: dict) -> Codelist:
    items = raw.get("codes") or []
    if isinstance(items, str):
        with open(path.parent / items, encoding="utf-8", newline="") as f:
            items = [{"id": row["id"], "parent": row.get("parent") or None} for row in csv.DictReader(f)]
    codes = []
    for item in items:
        annotations = {}
        for a in item.get("annotations") or []:
            if a.get("type") is not None:
                annotations[str(a["type"])] = str(a.get("title", ""))
        parent = item.get("parent")
        codes.append(Code(str(item["id"]), str(parent) if parent not in (None, "") else None, annotations))
    return Codelist(raw["id"], tuple(codes))


def _layout(flow: dict, dsd: dict, schemes: dict[str, dict[str, dict]]) -> FlowLayout:
    scheme = schemes.get(reference_id(dsd["concepts"]), {}) if dsd.get("concepts") else {}

    def concept_of(component: dict) -> dict:
        if component.get("concept"):
            scheme_ref, _, concept_id = str(component["concept"]).rpartition(".")
            return schemes.get(reference_id(scheme_ref), {}).get(concept_id, {})
        return scheme.get(component["id"], {})

    codelists: dict[str, str] = {}
    for component in [*dsd.get("dimensions", []), *dsd.get("attributes", [])]:
        reference = component.get("codelist")
        if reference is None and "text_format" not in component:
            reference = concept_of(component).get("codelist")
        if reference is not None:
            codelists[component["id"]] = reference_id(reference)
    time = dsd.get("time_dimension", "TIME_PERIOD")
    measure = dsd.get("measure") or {"id": "OBS_VALUE"}
    return FlowLayout(
        agency=str(flow["agency"]),
        id=str(flow["id"]),
        version=str(flow["version"]),
        dimensions=tuple(d["id"] for d in dsd.get("dimensions", [])),
        time_dimension=time["id"] if isinstance(time, dict) else str(time),
        measure=measure["id"],
        attributes=tuple(a["id"] for a in dsd.get("attributes", [])),
        codelists=codelists,
        access=str(flow.get("access", "public")),
    )
