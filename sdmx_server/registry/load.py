"""Loading structures: authoring files and SDMX-ML messages into the registry, checked as a whole.

Nothing is saved unless everything is right: the new artefacts, together with everything the
registry already holds, must read back as one consistent set with no dangling reference, and
must still fit the data already stored for their dataflows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from sdmx_server.registry import references
from sdmx_server.registry.authoring import find_authoring_files, read_authoring
from sdmx_server.registry.index import Registry, artefact_key
from sdmx_server.registry.kinds import kind_of
from sdmx_server.registry.sdmxml import Fragment, StructureFileError, assemble_message, parse_xml, read_model, split_structure_message
from sdmx_server.registry.shape import ShapeError, data_shape
from sdmx_server.registry.store import read_all, save
from sdmx_server.settings import Settings
from sdmx_server.store.database import Database
from sdmx_server.store.tables import IncompatibleStructure, fact_table_row

XML_SUFFIXES = (".xml",)


@dataclass
class StructureLoad:
    loaded: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    generation: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def load_structures(db: Database, paths: list[Path], settings: Settings | None = None) -> StructureLoad:
    settings = settings or Settings()
    outcome = StructureLoad()
    stored, access, generation = read_all(db)
    current = Registry.build(stored, access, generation)

    xml_files, authoring_paths = _split(paths, outcome)
    incoming: dict[tuple, Fragment] = {}
    origins: dict[tuple, str] = {}
    for path in xml_files:
        try:
            data = _read(path, settings)
            for fragment in split_structure_message(data):
                twin = incoming.get(fragment.key)
                if twin is not None and _is_stub(fragment) and not _is_stub(twin):
                    continue  # given in full in this load: the stub only names it
                if twin is not None and not _is_stub(twin) and not _same_content(twin.xml, fragment.xml):
                    raise StructureFileError(f"{fragment.ref} is given twice, with different content")
                incoming[fragment.key] = fragment
                origins[fragment.key] = str(path)
        except (StructureFileError, OSError) as exc:
            outcome.errors.append(f"{path}: {exc}")

    new_access: dict[tuple[str, str, str], str] = {}
    if authoring_paths:
        existing = [a for _, a in current.all(include_internal=True)]
        if incoming:
            try:
                existing += _artefacts(read_model(assemble_message(list(incoming.values()))))
            except StructureFileError as exc:
                outcome.errors.append(str(exc))
        result = read_authoring(authoring_paths, existing)
        outcome.errors += [str(e) for e in result.errors]
        if not result.errors:
            from sdmx_server.formats.structure_ml21 import artefact_element

            for artefact in result.artefacts:
                agency, artefact_id, version = artefact_key(artefact)
                kind = kind_of(artefact).resource
                xml = etree.tostring(artefact_element(artefact))
                fragment = Fragment(kind, agency, artefact_id, version, bool(artefact.is_final), xml)
                incoming[fragment.key] = fragment
                origins[fragment.key] = "authoring"
            new_access = dict(result.access)
    if outcome.errors:
        return outcome
    if not incoming:
        outcome.errors.append("no structures found in " + ", ".join(str(p) for p in paths))
        return outcome

    combined = {f.key: f for f in stored}
    for key, fragment in list(incoming.items()):
        old = combined.get(key)
        if old is not None and _is_stub(fragment) and not _is_stub(old):
            del incoming[key]  # a stub only names what the registry holds in full: that stays
            continue
        if old is not None and old.is_final and not _same_content(old.xml, fragment.xml):
            outcome.errors.append(
                f"{fragment.ref} is final and cannot change; publish the change under a new version"
            )
        combined[key] = fragment
    merged_access = {**access, **new_access}
    try:
        candidate = Registry.build(list(combined.values()), merged_access, generation + 1)
    except StructureFileError as exc:
        outcome.errors.append(str(exc))
        return outcome
    new_owners = {(k[0], k[1], k[2], k[3]) for k in incoming}
    for problem in references.missing(candidate):
        if any(problem.startswith(f"{k[0]} {k[1]}:{k[2]}({k[3]})") for k in new_owners):
            outcome.errors.append(problem)
    outcome.errors += _data_conflicts(db, candidate)
    if outcome.errors:
        return outcome
    outcome.generation = save(db, list(incoming.values()), merged_access, origins)
    outcome.loaded = sorted(f.ref for f in incoming.values())
    return outcome


def _split(paths: list[Path], outcome: StructureLoad) -> tuple[list[Path], list[Path]]:
    xml_files: list[Path] = []
    authoring: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            xml_files += sorted(p for p in path.rglob("*") if p.suffix.lower() in XML_SUFFIXES)
            if find_authoring_files([path]):
                authoring.append(path)
        elif path.suffix.lower() in XML_SUFFIXES:
            xml_files.append(path)
        elif path.exists():
            authoring.append(path)
        else:
            outcome.errors.append(f"{path}: no such file or directory")
    return xml_files, authoring


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


def _is_stub(fragment: Fragment) -> bool:
    """An isExternalReference="true" artefact: one that only names an artefact maintained elsewhere."""
    start_tag = fragment.xml[: fragment.xml.find(b">") + 1]  # lxml writes '>' in attributes as &gt;
    return re.search(rb'\sisExternalReference="(true|1)"', start_tag) is not None


def _same_content(old: bytes, new: bytes) -> bool:
    """Whether two fragments say the same thing, whatever namespace prefixes and unused
    namespace declarations the messages they came in had (C14N 2.0, prefixes rewritten)."""
    if old == new:
        return True
    try:
        return etree.canonicalize(parse_xml(old), rewrite_prefixes=True) == etree.canonicalize(
            parse_xml(new), rewrite_prefixes=True
        )
    except (StructureFileError, ValueError):
        return False


def _artefacts(message) -> list:
    found = []
    for name in ("codelist", "concept_scheme", "structure", "dataflow"):
        found += [a for a in getattr(message, name).values() if not a.is_external_reference]
    return found


def _data_conflicts(db: Database, registry: Registry) -> list[str]:
    """Dataflows whose stored data no longer fit their (new) structure."""
    import json

    from sqlmodel import Session

    from sdmx_server.store.tables import check_compatible

    problems = []
    with Session(db.engine) as session:
        for key, dataflow in registry.artefacts.get("dataflow", {}).items():
            row = fact_table_row(session, key)
            if row is None or dataflow.structure is None:
                continue
            try:
                check_compatible(json.loads(row.layout), data_shape(dataflow.structure), key)
            except (IncompatibleStructure, ShapeError) as exc:
                problems.append(str(exc))
    return problems
