"""What the SDMX-ML structure writers dispatch with and share, apart from the writer itself.

`Registry`: functions by sdmx1 model class, looked up along the class's MRO, a child registry
falling back on its parent's (the SDMX-ML 3.0 writer's on the 2.1 one's). `NotExpressible`:
what a format cannot say of an artefact. And the small facts about sdmx1 objects every writer
needs: agency, version, finality, flags sdmx1 may keep as text, item paths, language ranges.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime

from sdmx.model import common

from sdmx_server.formats.ml21 import NS_XML, format_datetime

XML_LANG = f"{{{NS_XML}}}lang"

#: The version SDMX-ML assumes when an artefact has none; used in URNs and references too.
DEFAULT_VERSION = "1.0"

#: Organisation schemes whose id (and, in 2.1, version and isFinal) the schemas fix.
FIXED_SCHEME_IDS = {
    "agencyscheme": "AGENCIES",
    "dataconsumerscheme": "DATA_CONSUMERS",
    "dataproviderscheme": "DATA_PROVIDERS",
    "metadataproviderscheme": "METADATA_PROVIDERS",
}


class NotExpressible(ValueError):
    """The target format cannot say something the artefact holds (the API answers 406)."""

    def __init__(self, artefact, feature: str, format_name: str) -> None:
        self.artefact = artefact
        self.feature = feature
        self.format_name = format_name
        super().__init__(f"{describe(artefact)}: {format_name} cannot express {feature}")


def describe(obj) -> str:
    """'Codelist SSO:CL_REGION(1.0)' for a maintainable; the class and id of anything else."""
    if isinstance(obj, common.MaintainableArtefact):
        agency = getattr(obj.maintainer, "id", None) or "?"
        return f"{type(obj).__name__} {agency}:{obj.id}({obj.version or DEFAULT_VERSION})"
    return f"{type(obj).__name__} {getattr(obj, 'id', '')}".rstrip()


class Registry:
    """Functions by model class; a child registry falls back to its parent's functions."""

    def __init__(self, parent: Registry | None = None) -> None:
        self._own: dict[type, Callable] = {}
        self._parent = parent
        self._children: list[Registry] = []
        self._cache: dict[type, Callable | None] = {}
        if parent is not None:
            parent._children.append(self)

    def child(self) -> Registry:
        return Registry(self)

    def register(self, *classes: type) -> Callable[[Callable], Callable]:
        def decorate(func: Callable) -> Callable:
            for cls in classes:
                self._own[cls] = func
            self._clear()
            return func

        return decorate

    def _clear(self) -> None:
        self._cache.clear()
        for child in self._children:
            child._clear()

    def _exact(self, cls: type) -> Callable | None:
        func = self._own.get(cls)
        if func is None and self._parent is not None:
            return self._parent._exact(cls)
        return func

    def lookup(self, cls: type) -> Callable | None:
        """The function for the nearest class along cls's MRO that has one, in this registry or its parent's."""
        try:
            return self._cache[cls]
        except KeyError:
            pass
        func = next((f for c in cls.__mro__ if (f := self._exact(c)) is not None), None)
        self._cache[cls] = func
        return func


ML21 = Registry()


# --- small helpers -----------------------------------------------------------------------------


def is_true(value) -> bool:
    # sdmx1 leaves some flags as the attribute's text (ItemScheme.is_partial == "false").
    return value is True or (isinstance(value, str) and value.lower() == "true")


def is_false(value) -> bool:
    # sdmx1 keeps some read flags as text ("false"); None means the schema's default, true.
    return value is False or (isinstance(value, str) and value.lower() == "false")


def is_partial_with_items(artefact) -> bool:
    return isinstance(artefact, common.ItemScheme) and is_true(artefact.is_partial) and bool(artefact.items)


def agency_id(artefact: common.MaintainableArtefact) -> str:
    agency = getattr(artefact.maintainer, "id", None)
    if not agency or agency == common.MissingID:
        raise ValueError(f"{type(artefact).__name__} {artefact.id} has no maintainer; agencyID is required")
    return str(agency)


def version_of(artefact: common.MaintainableArtefact) -> str:
    return str(artefact.version) if artefact.version else DEFAULT_VERSION


def xml_datetime(value) -> str:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00"
    return str(value)  # sdmx1 keeps validFrom/validTo as the text it read


_SEMANTIC_FINAL = re.compile(r"(0|[1-9]\d*)(\.(0|[1-9]\d*)){2}")


def is_final(artefact: common.MaintainableArtefact) -> bool:
    """Final when marked so, or versioned semantically without extension (1.2.0); see the plan."""
    return is_true(artefact.is_final) or bool(_SEMANTIC_FINAL.fullmatch(version_of(artefact)))


def item_path(item: common.Item) -> str:
    """The id of an item within its scheme: dotted from the top for nested items (categories)."""
    path = [item.id]
    parent = item.parent
    while isinstance(parent, common.Item):
        path.append(parent.id)
        parent = parent.parent
    return ".".join(reversed(path))


def language_filter(languages: Iterable[str] | None) -> tuple[str, ...] | None:
    """Language ranges, lower case; None (or '*') keeps every language."""
    if languages is None:
        return None
    ranges = tuple(lang.strip().lower() for lang in languages if lang and lang.strip())
    return None if not ranges or "*" in ranges else ranges


