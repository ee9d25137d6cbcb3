"""Loading structures from files: authoring folders and SDMX-ML / SDMX-JSON messages together.

Files are read into candidates (registry/messages.py; the format is recognised from the
content), authoring files are read against the registry and those messages, and the whole is
applied by registry/change.py: all of it or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sdmx_server.kinds import kind_of
from sdmx_server.registry import codec
from sdmx_server.registry.authoring import find_authoring_files, read_authoring
from sdmx_server.registry.change import ArtefactResult, ChangeOutcome, apply_changes
from sdmx_server.registry.index import Registry, artefact_key
from sdmx_server.registry.messages import Candidate, read_message, sniff
from sdmx_server.registry.sdmxml import StructureFileError
from sdmx_server.registry.store import read_all
from sdmx_server.settings import Settings
from sdmx_server.store.database import Database

MESSAGE_SUFFIXES = (".xml", ".json")


@dataclass
class StructureLoad:
    loaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    stubs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    generation: int | None = None
    #: What became of each artefact (registry/change.py), for the audit trail.
    results: list[ArtefactResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def load_structures(
    db: Database, paths: list[Path], settings: Settings | None = None, *, allow_missing_references: bool = False
) -> StructureLoad:
    settings = settings or Settings()
    outcome = StructureLoad()
    stored, generation = read_all(db)
    registry = Registry.build(stored, generation)

    message_files, authoring_paths = _split(paths, outcome)
    candidates: list[Candidate] = []
    for path in message_files:
        try:
            candidates += read_message(_read(path, settings), str(path))
        except (StructureFileError, OSError) as exc:
            outcome.errors.append(f"{path}: {exc}")
    if authoring_paths and not outcome.errors:
        candidates += _authored(registry, candidates, authoring_paths, outcome)
    if outcome.errors:
        return outcome
    if not candidates:
        outcome.errors.append("no structures found in " + ", ".join(str(p) for p in paths))
        return outcome

    changed: ChangeOutcome = apply_changes(
        db, candidates, allow_missing_references=allow_missing_references, registry=registry
    )
    outcome.errors += changed.problems()
    outcome.results = changed.results
    if changed.ok:
        outcome.generation = changed.generation
        outcome.loaded = sorted(r.ref for r in changed.saved)
        outcome.unchanged = sorted(r.ref for r in changed.results if r.code == 200 and r.action == "Information")
        outcome.stubs = changed.stubs
    return outcome


def _authored(registry: Registry, messages: list[Candidate], paths: list[Path], outcome: StructureLoad) -> list[Candidate]:
    """Authoring files read against the registry and the messages of the same load."""
    from sdmx_server.registry.change import put_for

    trial = registry.updated([put_for(registry, c) for c in messages], [], registry.generation + 1)
    existing = [trial.model(e) for e in trial.entries() if not e.is_stub]
    result = read_authoring(paths, existing)
    outcome.errors += [str(e) for e in result.errors]
    if result.errors:
        return []
    found = []
    for artefact in result.artefacts:
        kind = kind_of(artefact)
        access = result.access.get(artefact_key(artefact)) if kind.name == "dataflow" else None
        found.append(Candidate(kind, codec.to_json(artefact), "authoring", access=access, where="authoring"))
    return found


def _split(paths: list[Path], outcome: StructureLoad) -> tuple[list[Path], list[Path]]:
    messages: list[Path] = []
    authoring: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            messages += sorted(p for p in path.rglob("*") if p.suffix.lower() in MESSAGE_SUFFIXES and p.is_file())
            if find_authoring_files([path]):
                authoring.append(path)
        elif path.suffix.lower() in MESSAGE_SUFFIXES:
            messages.append(path)
        elif path.is_file() and sniff(path.read_bytes()[:1024]) in ("xml", "json"):
            messages.append(path)
        elif path.exists():
            authoring.append(path)
        else:
            outcome.errors.append(f"{path}: no such file or directory")
    return messages, authoring


def _read(path: Path, settings: Settings) -> bytes:
    if not path.is_file():
        raise StructureFileError("not a regular file")
    limit = settings.max_structure_bytes
    size = path.stat().st_size
    if size > limit:
        raise StructureFileError(f"{size:,} bytes is more than the limit of {limit:,}")
    with open(path, "rb") as f:
        data = f.read(limit + 1)  # never more than the limit, whatever stat() says
    if len(data) > limit:
        raise StructureFileError(f"more than the limit of {limit:,} bytes")
    return data
