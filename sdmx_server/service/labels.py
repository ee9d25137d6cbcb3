"""The names a data message may show: the dataflow's, each component's concept's and each
code's, in every language the structures hold (formats/data_message.py `Labels`).

Built from the registry's models once per dataflow and structure generation by the caller;
coded components take their codes' names from the codelist the DSD enumerates (the full one
from the registry, as a dataflow's DSD may hold only a stub of it).
"""

from __future__ import annotations

import re
from typing import Any

from sdmx_server.formats.data_message import Labels, Texts
from sdmx_server.registry.shape import DataShape

_REF = re.compile(r"^(?P<agency>[^:]+):(?P<id>[^(]+)\((?P<version>[^)]+)\)$")


def texts(value: Any) -> Texts:
    """An sdmx1 InternationalString (or None) as {language: text}."""
    localizations = getattr(value, "localizations", None) or {}
    return {str(lang): str(text) for lang, text in localizations.items() if text}


def labels_for(registry, usage, dsd, shape: DataShape) -> Labels:
    """`registry`: a registry.index.Registry; `usage`, `dsd`: sdmx1 models."""
    components: dict[str, Texts] = {}
    for component in _components(dsd):
        concept = getattr(component, "concept_identity", None)
        name = texts(getattr(concept, "name", None))
        if name:
            components[component.id] = name
    codes: dict[str, dict[str, Texts]] = {}
    for component in shape.components:
        if component.codelist is None:
            continue
        codelist = _codelist(registry, component.codelist)
        if codelist is None:
            continue
        codes[component.id] = {code.id: texts(code.name) for code in codelist}
    return Labels(usage=texts(getattr(usage, "name", None)), components=components, codes=codes)


def _components(dsd):
    for holder in ("dimensions", "measures", "attributes"):
        group = getattr(dsd, holder, None)
        yield from getattr(group, "components", None) or ()


def _codelist(registry, ref: str):
    m = _REF.match(ref)
    if m is None:
        return None
    for kind in ("codelist", "valuelist"):
        found = registry.get(kind, m["agency"], m["id"], m["version"])
        if found is not None:
            return found
    return None
