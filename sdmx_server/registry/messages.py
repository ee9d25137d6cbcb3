"""Structure messages in, whatever their format: each artefact they define as its stored form.

SDMX-ML 2.1, 3.0 and 3.1 messages are read by sdmx1 (after sdmxml.py's checks), SDMX-ML 3.0
and 3.1 metadata messages (GenericMetadata) by generic_metadata.py; SDMX-JSON 1.0, 2.0 and 2.1
structure messages, and SDMX-JSON 2.0 metadata messages, by the codec. Either way every
artefact comes out as a `Candidate`: the stored JSON object the registry would keep, and where
it came from. The format is recognised from the content, never from a file name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from sdmx_server.kinds import Kind, kind_of
from sdmx_server.registry import codec, sdmx1_repairs
from sdmx_server.registry.generic_metadata import is_metadata_message, read_metadata_message
from sdmx_server.registry.index import artefact_key
from sdmx_server.registry.sdmxml import (
    StructureFileError,
    defined_artefacts,
    message_version,
    parse_xml,
    read_model,
    validate,
)
from sdmx_server.versions import is_stable


@dataclass
class Candidate:
    """An artefact on its way into the registry."""

    kind: Kind
    obj: dict  # the stored form (registry/codec)
    origin: str = ""
    #: For dataflows: the access level the author gave (None: keep the stored one).
    access: str | None = None
    where: str = ""  # e.g. "structures.xml line 12", for messages

    @property
    def agency(self) -> str:
        return str(self.obj.get("agencyID", ""))

    @property
    def id(self) -> str:
        return str(self.obj.get("id", ""))

    @property
    def version(self) -> str:
        return str(self.obj.get("version") or "1.0")

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.kind.name, self.agency, self.id, self.version)

    @property
    def ref(self) -> str:
        return f"{self.kind.name} {self.agency}:{self.id}({self.version})"

    @property
    def urn(self) -> str:
        return self.kind.urn(self.agency, self.id, self.version)

    @property
    def is_stub(self) -> bool:
        return self.obj.get("isExternalReference") is True

    @property
    def is_partial(self) -> bool:
        return self.obj.get("isPartial") is True

    @property
    def is_final(self) -> bool:
        return bool(self.obj.get("x-sdmx", {}).get("isFinal")) or is_stable(self.version)


@dataclass
class ReadResult:
    candidates: list[Candidate] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def sniff(data: bytes) -> str:
    """'xml', 'json' or 'other', from the first meaningful bytes."""
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "xml"
    if head.startswith(b"{"):
        return "json"
    return "other"


def read_message(data: bytes, origin: str) -> list[Candidate]:
    """Every artefact of an SDMX-ML or SDMX-JSON structure message; StructureFileError (with a
    message a person can act on) when the message cannot be accepted."""
    if sniff(data) == "json":
        try:
            artefacts = codec.read_structure_message(data)
        except ValueError as exc:
            raise StructureFileError(f"not an SDMX-JSON structure message: {exc}") from None
        return [Candidate(k, obj, origin, where=origin) for k, obj in artefacts]
    # Anything else is taken for XML, so that the parser says what is wrong with it.
    return _read_xml(data, origin)


def _read_xml(data: bytes, origin: str) -> list[Candidate]:
    root = parse_xml(data, "structure message").getroot()
    if is_metadata_message(root):  # SDMX 3.0 metadata sets: read without sdmx1
        return [Candidate(kind, obj, origin, where=f"{origin} line {line}" if line else origin)
                for kind, obj, line in read_metadata_message(data, origin)]
    version = message_version(root)
    validate(root, version)
    defined = defined_artefacts(root, version)
    if not defined:
        return []
    wanted = {d.key: d for d in defined}
    repairs = sdmx1_repairs.prepare(root, version)
    # sdmx1 trips over namespace declarations it does not know, used or not: hand it the
    # validated document without the unused ones.
    etree.cleanup_namespaces(root)
    message = read_model(etree.tostring(root, xml_declaration=True, encoding="UTF-8"), version)
    repairs.apply(message)
    found: dict[tuple, Candidate] = {}
    for name, _ in message.iter_collections():
        for artefact in getattr(message, name).values():
            try:
                kind = kind_of(artefact)
            except ValueError:
                continue
            key = (kind.name, *artefact_key(artefact))
            if key not in wanted or key in found:
                continue
            where = f"{origin} line {wanted[key].line}" if wanted[key].line else origin
            try:
                obj = codec.to_json(artefact)
            except (ValueError, TypeError, AttributeError) as exc:
                # The caller names the file (or the request); the line is ours to say.
                line = f"line {wanted[key].line}: " if wanted[key].line else ""
                raise StructureFileError(f"{line}{kind.name} {key[1]}:{key[2]}({key[3]}) cannot be stored: {exc}")
            found[key] = Candidate(kind, obj, origin, where=where)
    for key, d in wanted.items():
        if key not in found:
            raise StructureFileError(
                f"line {d.line}: {d.kind.urn_class} {d.agency}:{d.id}({d.version}) is not supported yet"
            )
    return [found[d.key] for d in defined if d.key in found]
