"""Every structure as SDMX-ML: one SDMX-ML 3.0 structure message per artefact, by kind
(`structures/<kind>/<AGENCY>+<ID>+<VERSION>.xml`), for people and other SDMX tools.

An artefact SDMX-ML 3.0 cannot say (the kinds SDMX 3.0 dropped: hierarchical codelists,
structure sets, reporting taxonomies) is written as SDMX-ML 2.1 instead; the manifest says
which version each file is.

What the restore reads is the registry's own stored form, exported with the other tables
(`tables/sdmx_artefact.jsonl`, an SDMX-JSON 2.0 artefact object per artefact with its final
and stub flags, access level and generation, and `sdmx_artefact_change`, the structure history
that `asOf` reads): read back through the registry, that is the same artefact by the
registry's own definition (registry/codec), which a parse of the SDMX-ML would only be as far
as both writers and sdmx1's reader agree.
"""

from __future__ import annotations

import re
from pathlib import Path

from sdmx_server.formats.ml21 import Header
from sdmx_server.formats.structure_ml21_dispatch import NotExpressible
from sdmx_server.registry.index import Registry
from sdmx_server.registry.store import read_all

_UNSAFE = re.compile(r"[^A-Za-z0-9_.@$\-]")


def file_name(kind: str, agency: str, artefact_id: str, version: str) -> str:
    parts = [_UNSAFE.sub("_", p) for p in (agency, artefact_id, version)]
    return f"structures/{kind}/{'+'.join(parts)}.xml"


def write_structures(db, out: Path, sender: str) -> list[dict]:
    """One file per artefact; for each: its path, kind, reference and SDMX-ML version."""
    from sdmx_server.formats import structure_ml21, structure_ml30

    stored, generation = read_all(db)
    registry = Registry.build(stored, generation)
    written, taken = [], set()
    for entry in sorted(registry.entries(), key=lambda e: e.key):
        model = registry.model(entry)
        header = Header(sender=sender)
        try:
            body, version = structure_ml30.structure_message([(model, "full")], header), "3.0"
        except NotExpressible:
            body, version = structure_ml21.structure_message([(model, "full")], header), "2.1"
        name = file_name(entry.kind, entry.agency, entry.id, entry.version)
        if name in taken:  # ids that differ only in characters a file name cannot hold
            name = name[:-4] + f"+{len(taken)}.xml"
        taken.add(name)
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        written.append({"path": name, "kind": entry.kind, "ref": f"{entry.agency}:{entry.id}({entry.version})",
                        "sdmx_ml": version, "stub": entry.is_stub, "final": entry.is_final, "access": entry.access})
    return written
