"""What a stored artefact refers to, read off its JSON without building model objects, and the
stored form of external-reference stubs.

A reference in the stored form is always a URN. `references` walks the members that hold
structure (never texts, annotations, links or values, where a URN is only words), cuts item
URNs to their maintainable and drops the artefact's own URN.
"""

from __future__ import annotations

from typing import Any

from sdmx_server.kinds import Kind
from sdmx_server.registry.codec.base import X, CodecError, parse_urn

#: Members whose content is text or data, never a reference.
_NOT_REFERENCES = frozenset({
    "name", "names", "description", "descriptions", "annotations", "links", "value", "values", "text", "texts",
    "contacts", "pattern", "sentinelValues", "structureURL", "serviceURL", "urn", "cascadeValues",
    "wildcardedMemberValues", "memberValues", "expression", "rulesetDefinition", "operatorDefinition",
    "gridDefinition",
})
_PREFIX = "urn:sdmx:org.sdmx.infomodel."


def references(obj: dict) -> list[str]:
    """The distinct URNs of the maintainable artefacts a stored artefact refers to, sorted."""
    found: set[str] = set()
    _walk(obj, found)
    own = _own_urns(obj)
    return sorted(found - own)


def _walk(value: Any, found: set[str]) -> None:
    if type(value) is dict:
        for key, v in value.items():
            if key in _NOT_REFERENCES:
                continue
            if type(v) is str:
                _add(v, found)
            elif type(v) in (dict, list):
                _walk(v, found)
    elif type(value) is list:
        for v in value:
            if type(v) is str:
                _add(v, found)
            elif type(v) in (dict, list):
                _walk(v, found)


def _add(text: str, found: set[str]) -> None:
    if not text.startswith(_PREFIX):
        return
    try:
        u = parse_urn(text, "")
    except CodecError:
        return  # a class no kind holds (e.g. BIS PublicationTable), or not a URN
    if "*" in u.agency or "*" in u.id or u.version == "*":
        return  # a wildcard names no one artefact
    found.add(u.maintainable)


def _own_urns(obj: dict) -> set[str]:
    """The artefact's own URN under every kind that could be it (the JSON does not say its
    kind; only a URN that names this very artefact is dropped)."""
    from sdmx_server.kinds import KINDS

    agency, artefact_id, version = obj.get("agencyID"), obj.get("id"), obj.get("version") or "1.0"
    if not (isinstance(agency, str) and isinstance(artefact_id, str) and isinstance(version, str)):
        return set()
    return {k.urn(agency, artefact_id, version) for k in KINDS if _shape_fits(k, obj)}


def _shape_fits(kind: Kind, obj: dict) -> bool:
    # Only the kinds whose content can name the artefact itself (hierarchical codes and
    # levels of a hierarchy, components of a structure) matter here; a dataflow and its
    # DSD often share agency, id and version, so the check must not drop such a reference.
    if kind.name in ("hierarchy", "hierarchicalcodelist"):
        return "hierarchicalCodes" in obj or "hierarchies" in obj
    if kind.name == "datastructure":
        return "dataStructureComponents" in obj
    if kind.name == "metadatastructure":
        return "metadataStructureComponents" in obj
    return False


def stub_json(kind: Kind, agency: str, artefact_id: str, version: str, urn: str | None = None,
              structure_url: str | None = None, service_url: str | None = None, name: str | None = None) -> dict:
    """The stored form of an external-reference stub: identification, the flag, a name if
    one is known, and where the full artefact is (`structureURL`/`serviceURL`, in x-sdmx).

    The URN is not stored: it follows from kind, agency, id and version (wildcards kept). A
    `urn` that names another artefact is refused (ValueError)."""
    version = version or "1.0"
    if urn is not None and parse_urn(urn, "urn").maintainable != kind.urn(agency, artefact_id, version):
        raise CodecError(f"{urn!r} does not name {kind.name} {agency}:{artefact_id}({version})")
    out: dict[str, Any] = {"id": artefact_id, "version": version, "agencyID": agency, "isExternalReference": True}
    if name:
        out["name"] = name
        out["names"] = {"en": name}
    x: dict[str, Any] = {}
    if structure_url:
        x["structureURL"] = structure_url
    if service_url:
        x["serviceURL"] = service_url
    if x:
        out[X] = x
    return out
