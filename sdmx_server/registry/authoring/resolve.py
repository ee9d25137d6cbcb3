"""Resolving the references written in a file, with errors at the line that wrote them.

One Resolver serves a whole run. It remembers the objects whose own definition failed (a
concept without its codelist, a dataflow without its data structure), so that what uses them
stays silent instead of repeating the error.
"""

from __future__ import annotations

from sdmx_server.registry.authoring import checks
from sdmx_server.registry.authoring.errors import Reporter
from sdmx_server.registry.authoring.references import (
    CONCEPT_REF_FORMS,
    ITEM_NOUNS,
    item_forms,
    REF_FORMS,
    Index,
    parse_item_ref,
    parse_ref,
)
from sdmx_server.registry.authoring.yamlfile import Entry


class Resolver:
    def __init__(self, index: Index):
        self.index = index
        self.failed: set = set()
        #: drafts made while completing others (categorisations of the dataflow short form)
        self.generated: list = []
        #: problems spanning several artefacts, reported once (extension cycles)
        self.reported: set = set()

    def broken(self, obj, part: str | None = None) -> bool:
        """Whether the object (or one part of it, such as a metadataflow's targets) failed."""
        return obj is None or id(obj) in self.failed or (part is not None and (id(obj), part) in self.failed)

    def fail(self, obj, part: str | None = None) -> None:
        if obj is not None:
            self.failed.add(id(obj) if part is None else (id(obj), part))

    # -- maintainable artefacts --------------------------------------------------------------

    def artefact(self, report: Reporter, what: str, name: str, entry: Entry | None, kind: str, agency: str):
        value = checks.text(report, what, name, entry)
        if value is None:
            return None
        return self.artefact_text(report, what, name, value, entry.key_line, kind, agency)

    def artefact_text(self, report: Reporter, what: str, name: str, value: str, line: int, kind: str, agency: str):
        ref = parse_ref(value, agency)
        if ref is None:
            report(line, f"{what}: {name} {value!r} is not a valid reference: {REF_FORMS}")
            return None
        found, why = self.index.resolve(kind, ref)
        if found is None:
            report(line, f"{what}: {why}")
        return found

    def artefacts(self, report: Reporter, what: str, name: str, entry: Entry | None, kind: str, agency: str) -> list:
        """A list of references (or one), each resolved; the ones that fail are reported."""
        found = []
        for value, line in checks.scalars(report, what, name, entry) or []:
            artefact = self.artefact_text(report, what, name, value, line, kind, agency)
            if artefact is not None:
                if any(a is artefact for a in found):
                    report(line, f"{what}: {name} names {value} twice")
                else:
                    found.append(artefact)
        return found

    # -- items -------------------------------------------------------------------------------

    def item(self, report: Reporter, what: str, name: str, entry: Entry | None, kind: str, agency: str):
        value = checks.text(report, what, name, entry)
        if value is None:
            return None
        return self.item_text(report, what, name, value, entry.key_line, kind, agency)

    def item_text(self, report: Reporter, what: str, name: str, value: str, line: int, kind: str, agency: str):
        ref = parse_item_ref(value, agency)
        if ref is None:
            forms = item_forms(kind)
            word = ITEM_NOUNS.get(kind, "item")
            report(line, f"{what}: {name} {value!r} is not a valid {word} reference: {forms}")
            return None
        found, why = self.index.resolve_item(kind, ref)
        if found is None:
            report(line, f"{what}: {why}")
        return found

    def concept(self, report: Reporter, what: str, entry: Entry, agency: str):
        value = checks.text(report, what, "concept", entry)
        if value is None:
            return None
        ref = parse_item_ref(value, agency)
        if ref is None:
            report(entry.key_line, f"{what}: concept {value!r} is not a valid concept reference: {CONCEPT_REF_FORMS}")
            return None
        found, why = self.index.resolve_concept(ref)
        if found is None:
            report(entry.key_line, f"{what}: {why}")
        return found
