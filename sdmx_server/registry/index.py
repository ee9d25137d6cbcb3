"""The in-memory index of structures: every stored artefact, its model built when first needed.

The index holds one `Entry` per stored artefact: identification, flags, the stored JSON and
the URNs it refers to. Parents and children come from those URNs, so that selecting artefacts
and walking references never builds a model. The sdmx.model object of an artefact is built
from its stored JSON on first use (registry/codec), resolving its references through the
index, and kept.

A change (another process loaded structures) makes a new Registry that shares every unchanged
entry, with its model, and rebuilds only the changed artefacts and those that hold them (their
models point at the old objects). Requests holding the previous Registry keep a consistent
view until they finish.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import orjson
from sdmx.model.common import MaintainableArtefact

from sdmx_server.kinds import BY_NAME, BY_URN_CLASS, Kind
from sdmx_server.registry.store import Key, Stored
from sdmx_server.versions import ALL, LATEST, Exactly, VersionQuery, is_wildcarded, resolve, version_key

ArtefactKey = tuple[str, str, str]  # agency, id, version

_URN = re.compile(
    r"^urn:sdmx:org\.sdmx\.infomodel\.(?P<package>[a-z]+)\.(?P<cls>[A-Za-z]+)="
    r"(?P<agency>[^:()]+):(?P<id>[^()]+)\((?P<version>[^()]*)\)(?:\.(?P<item>.+))?$"
)


def parse_urn(urn: str) -> tuple[Kind, str, str, str, str | None] | None:
    """(kind, agency, id, version, item id) of a maintainable's or an item's URN; None when the
    URN names no kind the registry knows."""
    m = _URN.match(urn)
    if m is None:
        return None
    kind = BY_URN_CLASS.get(m["cls"])
    if kind is None:
        kind = _ITEM_CLASSES.get(m["cls"])
        if kind is None:
            return None
    return kind, m["agency"], m["id"], m["version"] or "1.0", m["item"]


_ITEM_CLASSES: dict[str, Kind] = {k.item_class: k for k in BY_NAME.values() if k.item_class}


def artefact_key(artefact: MaintainableArtefact) -> ArtefactKey:
    agency = artefact.maintainer.id if artefact.maintainer is not None else ""
    return (agency, artefact.id, str(artefact.version) if artefact.version is not None else "1.0")


@dataclass(eq=False)
class Entry:
    """One stored artefact. Immutable but for the model, built once under the registry's lock."""

    kind: str
    agency: str
    id: str
    version: str
    is_final: bool
    is_stub: bool
    access: str
    body: bytes
    refs: tuple[str, ...]
    generation: int
    model: MaintainableArtefact | None = field(default=None, repr=False)
    _json: dict | None = field(default=None, repr=False)

    @classmethod
    def of(cls, stored: Stored) -> "Entry":
        return cls(stored.kind, stored.agency, stored.id, stored.version, stored.is_final, stored.is_stub,
                   stored.access, stored.body, tuple(orjson.loads(stored.refs or "[]")), stored.generation)

    @property
    def key(self) -> Key:
        return (self.kind, self.agency, self.id, self.version)

    @property
    def artefact_key(self) -> ArtefactKey:
        return (self.agency, self.id, self.version)

    @property
    def urn(self) -> str:
        return BY_NAME[self.kind].urn(self.agency, self.id, self.version)

    @property
    def ref(self) -> str:
        return f"{self.kind} {self.agency}:{self.id}({self.version})"

    def json(self) -> dict:
        """The stored object, parsed once (callers must not change it)."""
        if self._json is None:
            self._json = orjson.loads(self.body)
        return self._json

    def fresh(self) -> "Entry":
        """The same stored artefact without its built model (for a registry where something it
        refers to changed)."""
        return Entry(self.kind, self.agency, self.id, self.version, self.is_final, self.is_stub, self.access,
                     self.body, self.refs, self.generation, None, self._json)


#: Whether an entry may be seen by whoever asks (registry/visibility.py View).
Visible = Callable[[Entry], bool]

#: Builds a model from an entry's stored JSON; `resolve` gives referenced models by URN.
ModelBuilder = Callable[[Kind, dict, Callable[[str], MaintainableArtefact | None]], MaintainableArtefact]


def _default_builder() -> ModelBuilder:
    from sdmx_server.registry.codec import from_json

    return from_json


class Registry:
    def __init__(self, entries: Iterable[Entry] = (), generation: int = 0, builder: ModelBuilder | None = None):
        self.generation = generation
        self._by_kind: dict[str, dict[ArtefactKey, Entry]] = {}
        for entry in entries:
            self._by_kind.setdefault(entry.kind, {})[entry.artefact_key] = entry
        self._builder = builder
        self._lock = threading.RLock()
        self._parents: dict[Key, list[Entry]] | None = None
        self._resolved: dict[str, Entry | None] = {}

    @classmethod
    def build(cls, stored: Iterable[Stored], generation: int, builder: ModelBuilder | None = None) -> "Registry":
        return cls((Entry.of(s) for s in stored), generation, builder)

    # -- entries -----------------------------------------------------------------------------

    def entries(self, kind: str | None = None) -> Iterator[Entry]:
        if kind is not None:
            yield from self._by_kind.get(kind, {}).values()
            return
        for by_key in self._by_kind.values():
            yield from by_key.values()

    def entry(self, kind: str, agency: str, artefact_id: str, version: str) -> Entry | None:
        return self._by_kind.get(kind, {}).get((agency, artefact_id, version))

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_kind.values())

    def versions_of(self, kind: str, agency: str, artefact_id: str) -> list[str]:
        return [k[2] for k in self._by_kind.get(kind, {}) if k[0] == agency and k[1] == artefact_id]

    def resolve(self, urn: str) -> Entry | None:
        """The entry a reference names; a wildcarded version (SDMX 3.0, e.g. 1.2+.0) resolves
        to the version the dependency rules pick."""
        if urn in self._resolved:
            return self._resolved[urn]
        parsed = parse_urn(urn)
        found = None
        if parsed is not None:
            kind, agency, artefact_id, version, _ = parsed
            if is_wildcarded(version):
                by_version = {e.version: e for e in self.entries(kind.name) if (e.agency, e.id) == (agency, artefact_id)}
                final = [v for v, e in by_version.items() if e.is_final]
                chosen = resolve(version, by_version, final=final)
                found = by_version.get(chosen) if chosen else None
            else:
                found = self.entry(kind.name, agency, artefact_id, version)
        self._resolved[urn] = found
        return found

    def children_of(self, entry: Entry) -> list[Entry]:
        """The artefacts this one refers to (that the registry holds)."""
        found = []
        for urn in entry.refs:
            child = self.resolve(urn)
            if child is not None and child is not entry:
                found.append(child)
        return found

    def missing_of(self, entry: Entry) -> list[str]:
        """The references of this artefact that resolve to nothing."""
        return [urn for urn in entry.refs if self.resolve(urn) is None]

    def parents_of(self, entry: Entry) -> list[Entry]:
        """The artefacts that refer to this one."""
        with self._lock:
            if self._parents is None:
                parents: dict[Key, list[Entry]] = {}
                for candidate in self.entries():
                    for child in self.children_of(candidate):
                        parents.setdefault(child.key, []).append(candidate)
                self._parents = parents
        return self._parents.get(entry.key, [])

    # -- selection ---------------------------------------------------------------------------

    def public(self) -> Visible:
        """The public's view (registry/visibility.py): what selection shows when no view is
        given. Every route passes its request's view (access/gate.py) instead."""
        from sdmx_server.registry.visibility import public_view

        return public_view(self)

    def select_entries(
        self,
        kind: str,
        agencies: Iterable[str] | None = None,
        ids: Iterable[str] | None = None,
        versions: VersionQuery | Iterable[str] | str = LATEST,
        visible: Visible | None = None,
    ) -> list[Entry]:
        """Entries of one kind that `visible` shows (None: the public's view); None means any
        agency / any id. Sorted by agency, id, version. Invisible versions are not there at
        all: `latest` is the latest the viewer may see."""
        versions = _version_query(versions)
        visible = visible if visible is not None else self.public()
        agencies = set(agencies) if agencies is not None else None
        ids = set(ids) if ids is not None else None
        candidates: dict[tuple[str, str], dict[str, Entry]] = {}
        for (agency, artefact_id, version), entry in self._by_kind.get(kind, {}).items():
            if agencies is not None and agency not in agencies:
                continue
            if ids is not None and artefact_id not in ids:
                continue
            if not visible(entry):
                continue
            candidates.setdefault((agency, artefact_id), {})[version] = entry
        chosen: list[Entry] = []
        for by_version in candidates.values():
            final = [v for v, e in by_version.items() if e.is_final]
            chosen.extend(by_version[v] for v in versions.select(by_version, final))
        chosen.sort(key=lambda e: (e.agency, e.id, version_key(e.version)))
        return chosen

    def select(self, kind: str, agencies=None, ids=None, versions=LATEST, visible: Visible | None = None):
        """Like select_entries, as models."""
        return [self.model(e) for e in self.select_entries(kind, agencies, ids, versions, visible)]

    # -- models ------------------------------------------------------------------------------

    def model(self, entry: Entry) -> MaintainableArtefact:
        """The entry's sdmx.model object, built on first use and kept."""
        if entry.model is not None:
            return entry.model
        with self._lock:
            if entry.model is None:
                builder = self._builder or _default_builder()
                entry.model = builder(BY_NAME[entry.kind], entry.json(), self._resolve_model)
            return entry.model

    def _resolve_model(self, urn: str) -> MaintainableArtefact | None:
        entry = self.resolve(urn)
        return self.model(entry) if entry is not None else None

    def get(self, kind: str, agency: str, artefact_id: str, version: str) -> MaintainableArtefact | None:
        entry = self.entry(kind, agency, artefact_id, version)
        return self.model(entry) if entry is not None else None

    def contains(self, artefact: MaintainableArtefact, kind: str) -> bool:
        return artefact_key(artefact) in self._by_kind.get(kind, {})

    def all(self, visible: Visible | None = None) -> Iterator[tuple[str, MaintainableArtefact]]:
        """Every artefact `visible` shows (None: the public's view) as (kind, model); builds
        every model."""
        visible = visible if visible is not None else self.public()
        for entry in list(self.entries()):
            if visible(entry):
                yield entry.kind, self.model(entry)

    @property
    def access(self) -> dict[ArtefactKey, str]:
        return {k: e.access for k, e in self._by_kind.get("dataflow", {}).items()}

    # -- change ------------------------------------------------------------------------------

    def updated(self, stored: Iterable[Stored], deleted: Iterable[Key], generation: int) -> "Registry":
        """A new registry with these changes; unchanged entries (and their models) are shared,
        except those that refer, directly or not, to a changed artefact."""
        changed: set[Key] = set(deleted)
        replacements = {}
        for s in stored:
            replacements[s.key] = Entry.of(s)
            changed.add(s.key)
        # Whatever refers to a changed artefact holds its old model; so does whatever refers to
        # the id of a new one (a stub was built in its place, or a wildcard now resolves to it).
        changed_ids = {(k[0], k[1], k[2]) for k in changed}
        seeds = [e for k in changed if (e := self.entry(*k)) is not None]
        seeds += [
            e for e in self.entries()
            if e.key not in changed
            and any((p := parse_urn(u)) is not None and (p[0].name, p[1], p[2]) in changed_ids for u in e.refs)
        ]
        # ... and so does everything above those, up to any level.
        stale: set[Key] = {e.key for e in seeds}
        frontier = seeds
        while frontier:
            nxt = []
            for e in frontier:
                for parent in self.parents_of(e):
                    if parent.key not in stale:
                        stale.add(parent.key)
                        nxt.append(parent)
            frontier = nxt
        entries = [
            entry.fresh() if entry.key in stale else entry for entry in self.entries() if entry.key not in changed
        ]
        deleted_keys = set(deleted)
        entries += [e for k, e in replacements.items() if k not in deleted_keys]
        return Registry(entries, generation, self._builder)


def _version_query(versions) -> VersionQuery:
    if isinstance(versions, str):
        return {"latest": LATEST, "all": ALL}.get(versions) or Exactly((versions,))
    if hasattr(versions, "select"):
        return versions
    return Exactly(tuple(versions))
