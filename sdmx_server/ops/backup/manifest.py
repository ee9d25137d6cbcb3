"""The manifest of an export (`manifest.json`): what it holds and how to check it.

    {"format": "sdmx-server-export/1", "created_at": ..., "server_version": ...,
     "database": "sqlite" | "postgresql", "registry_generation": N,
     "counts": {"structures": N, "dataflows": N, "observations": N, "history_rows": N,
                "tables/<name>": rows, ...},
     "structures": [{"path", "kind", "ref", "sdmx_ml", "stub", "final", "access"}, ...],
     "dataflows": [{"flow", "table", "layout", "observations", "history_rows", "files"}, ...],
     "tables": [{"table", "path", "rows"}, ...],
     "not_exported": ["<table>", ...],
     "files": {"<relative path>": {"sha256": ..., "bytes": N}, ...}}

Every file of the export is in `files` with its SHA-256 and size; `verify` checks them all,
and that nothing else is there, before an import touches the database.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path, PurePosixPath

FORMAT = "sdmx-server-export/1"
NAME = "manifest.json"


class ExportError(ValueError):
    """An export folder that cannot be imported: missing, changed, or from another format."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksums(directory: Path) -> dict[str, dict]:
    return {path.relative_to(directory).as_posix(): {"sha256": sha256(path), "bytes": path.stat().st_size}
            for path in sorted(directory.rglob("*")) if path.is_file() and path.name != NAME}


def write(directory: Path, manifest: dict) -> None:
    manifest = {"format": FORMAT, **manifest, "files": checksums(directory)}
    (directory / NAME).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


#: A fact table's name (store/tables.py table_name_for): all a manifest may name as a table,
#: which is also a file name inside the export.
FACT_TABLE_NAME = re.compile(r"obs_[a-z0-9_]{1,60}")


def check_table_name(name) -> str:
    """The manifest's table name, if it is a fact table's; else ExportError."""
    if not isinstance(name, str) or not FACT_TABLE_NAME.fullmatch(name):
        raise ExportError(f"the manifest's table {name!r} is not a fact table's name")
    return name


def verify(directory: Path) -> dict:
    """The manifest, once every file it lists is there with its checksum and size and no
    other file is; otherwise ExportError naming the first problems."""
    path = directory / NAME
    if not path.is_file():
        raise ExportError(f"{directory} is not an export: it has no {NAME}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ExportError(f"{path}: not JSON ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise ExportError(f"{path}: format {manifest.get('format')!r}, this server reads {FORMAT!r}")
    listed: dict = manifest.get("files") or {}
    problems = []
    root = directory.resolve()
    for name in listed:  # a plain path inside the folder: never "../x", "/etc/x" or a link out
        parts = PurePosixPath(name).parts
        if (not isinstance(name, str) or not parts or PurePosixPath(name).is_absolute() or ".." in parts
                or "\\" in name or not (directory / name).resolve().is_relative_to(root)):
            raise ExportError(f"{path}: the manifest names a file outside the export: {name!r}")
    for name, expected in listed.items():
        file = directory / name
        if not file.is_file():
            problems.append(f"{name} is missing")
        elif file.stat().st_size != expected["bytes"]:
            problems.append(f"{name} has {file.stat().st_size} bytes, the manifest says {expected['bytes']}")
        elif sha256(file) != expected["sha256"]:
            problems.append(f"{name} does not match its SHA-256 checksum")
    present = {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file() and p.name != NAME}
    problems += [f"{name} is not in the manifest" for name in sorted(present - set(listed))]
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise ExportError(f"the export in {directory} does not match its manifest: {'; '.join(problems[:5])}{more}")
    return manifest
