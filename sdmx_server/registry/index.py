"""The in-memory index of structures: every stored artefact as an sdmx.model object.

Built in one go from the stored fragments (see sdmxml.py). Queries select by kind, agency, id
and version ('latest', 'all' or explicit); internal dataflows are invisible unless asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable

from sdmx.model.common import MaintainableArtefact

from sdmx_server.registry import references
from sdmx_server.registry.kinds import BY_RESOURCE
from sdmx_server.registry.sdmxml import Fragment, assemble_message, read_model
from sdmx_server.versions import ALL, LATEST, Exactly, VersionQuery, version_key

Key = tuple[str, str, str]  # agency, id, version


def artefact_key(artefact: MaintainableArtefact) -> Key:
    agency = artefact.maintainer.id if artefact.maintainer is not None else ""
    return (agency, artefact.id, str(artefact.version) if artefact.version is not None else "1.0")


@dataclass
class Registry:
    generation: int = 0
    #: kind -> (agency, id, version) -> artefact
    artefacts: dict[str, dict[Key, MaintainableArtefact]] = field(default_factory=dict)
    #: dataflow key -> "public" | "internal"
    access: dict[Key, str] = field(default_factory=dict)

    @classmethod
    def build(cls, fragments: list[Fragment], access: dict[Key, str], generation: int) -> "Registry":
        registry = cls(generation=generation, access=dict(access))
        if not fragments:
            return registry
        message = read_model(assemble_message(fragments))
        wanted = {f.key for f in fragments}
        for kind in {f.kind for f in fragments}:
            collection = getattr(message, BY_RESOURCE[kind].collection, None)
            if collection is None:
                continue  # a kind sdmx1 does not model: kept in the database, not indexed
            for artefact in collection.values():
                key = artefact_key(artefact)
                if (kind, *key) in wanted and references.kind_matches(artefact, kind):
                    registry.artefacts.setdefault(kind, {})[key] = artefact
        return registry

    # -- lookups ---------------------------------------------------------------------------

    def get(self, kind: str, agency: str, artefact_id: str, version: str) -> MaintainableArtefact | None:
        return self.artefacts.get(kind, {}).get((agency, artefact_id, version))

    def contains(self, artefact: MaintainableArtefact, kind: str) -> bool:
        return artefact_key(artefact) in self.artefacts.get(kind, {})

    def all(self, include_internal: bool = False) -> Iterable[tuple[str, MaintainableArtefact]]:
        for kind, by_key in self.artefacts.items():
            for key, artefact in by_key.items():
                if include_internal or self.visible(kind, key):
                    yield kind, artefact

    def visible(self, kind: str, key: Key) -> bool:
        return kind != "dataflow" or self.access.get(key, "public") == "public"

    def select(
        self,
        kind: str,
        agencies: Iterable[str] | None = None,
        ids: Iterable[str] | None = None,
        versions: VersionQuery | Iterable[str] | str = LATEST,
        include_internal: bool = False,
    ) -> list[MaintainableArtefact]:
        """Artefacts of one kind; None means any agency / any id. versions is a VersionQuery,
        'latest', 'all', or a list of explicit versions. Sorted by agency, id, then version."""
        if versions == "latest":
            versions = LATEST
        elif versions == "all":
            versions = ALL
        elif not hasattr(versions, "select"):
            versions = Exactly(tuple(versions))
        agencies = set(agencies) if agencies is not None else None
        ids = set(ids) if ids is not None else None
        candidates: dict[tuple[str, str], list[Key]] = {}
        for key in self.artefacts.get(kind, {}):
            agency, artefact_id, _ = key
            if agencies is not None and agency not in agencies:
                continue
            if ids is not None and artefact_id not in ids:
                continue
            if not include_internal and not self.visible(kind, key):
                continue
            candidates.setdefault((agency, artefact_id), []).append(key)
        chosen: list[Key] = []
        for keys in candidates.values():
            by_version = {k[2]: k for k in keys}
            chosen.extend(by_version[v] for v in versions.select(by_version))
        chosen.sort(key=lambda k: (k[0], k[1], version_key(k[2])))
        return [self.artefacts[kind][k] for k in chosen]

    @cached_property
    def parents(self) -> dict[tuple, list[tuple[str, MaintainableArtefact]]]:
        """(kind, agency, id, version) -> the artefacts that refer to it, computed once per index."""
        return references.parents_index(self)
