"""What every reference metadata writer shares: a metadata set as the object to write.

Metadata sets arrive as sdmx1 objects (v30.MetadataSet, following the codec's conventions);
every writer starts from the codec's `to_json` of the set, the SDMX-JSON 2.0 `metadataSets`
object the registry stores. sdmx1's MetadataSet is thin and the codec alone knows how its
plain attributes map to values, so one interpretation of the model feeds SDMX-JSON and
SDMX-ML alike. `prepared()` then cuts that object to what the answer asks for:

- languages (`Accept-Language`, best first; None for all): names, descriptions, annotation
  texts and text and XHTML values keep the requested languages, or else one (English, or the
  first) so that no text disappears; whether anything was left out is reported (SDMX-JSON 2.1
  and SDMX-ML 3.1 say it as `isPartialLanguage`);
- `stub` (REST `detail=allstubs`): identification and names only, marked as external
  reference as structure stubs are. SDMX-JSON requires a metadata set to name its
  metadataflow, targets and reported attributes, so a JSON stub keeps those, the attributes as
  their ids without values or children; SDMX-ML writes the name alone.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Iterable

from sdmx.model import common, v30

from sdmx_server.formats.structure_ml21_base import matches as _matches
from sdmx_server.formats.structure_ml21_dispatch import NotExpressible
from sdmx_server.registry import codec
from sdmx_server.registry.codec.base import X, best_text
from sdmx_server.types import ArtefactDetail

@dataclass
class PreparedSet:
    """A metadata set ready to write: its object, and what the answer made of it."""

    obj: dict
    detail: ArtefactDetail
    #: Some text lost a language to the Accept-Language filter.
    partial_language: bool
    #: The model, for messages about it (NotExpressible).
    artefact: Any = None

    def not_expressible(self, feature: str, format_name: str) -> NotExpressible:
        subject = self.artefact
        if not isinstance(subject, common.MaintainableArtefact):
            subject = v30.MetadataSet(id=str(self.obj.get("id")), version=str(self.obj.get("version") or "1.0"),
                                      maintainer=common.Agency(id=str(self.obj.get("agencyID"))))
        return NotExpressible(subject, feature, format_name)


def matches(lang: str, wanted: str) -> bool:
    """A text in `lang` answers a request for `wanted` (lower case; 'en' and 'en-GB' both ways)."""
    return _matches(lang.lower(), wanted)


class _Filter:
    def __init__(self, languages: tuple[str, ...] | None):
        self.languages = tuple(w.lower() for w in languages) if languages else None
        self.partial = False

    def texts(self, texts: dict[str, str]) -> dict[str, str]:
        if self.languages is None or not texts:
            return texts
        kept = {lang: text for lang, text in texts.items() if any(matches(lang, w) for w in self.languages)}
        if not kept:
            lang = next((lang for lang in texts if lang.lower() == "en"), next(iter(texts)))
            kept = {lang: texts[lang]}
        if len(kept) < len(texts):
            self.partial = True
        return kept

    def best(self, texts: dict[str, str]) -> str:
        """SDMX-JSON's best-match text: the client's first language that is there, else as the
        codec says (English, else the first)."""
        for wanted in self.languages or ():
            for lang, text in texts.items():
                if matches(lang, wanted):
                    return text
        return best_text(texts)

    def pair(self, obj: dict, one: str, many: str) -> None:
        texts = obj.get(many)
        if isinstance(texts, dict) and texts:
            obj[many] = self.texts(texts)
            obj[one] = self.best(obj[many])

    def annotations(self, holder: dict) -> None:
        for annotation in holder.get("annotations") or ():
            self.pair(annotation, "text", "texts")

    def attributes(self, attributes: list) -> None:
        for a in attributes:
            self.annotations(a)
            if isinstance(a.get("value"), dict):
                a["value"] = self.texts(a["value"])
            self.attributes(a.get("attributes") or [])


def prepared(artefact: Any, detail: ArtefactDetail, languages: tuple[str, ...] | None) -> PreparedSet:
    """The set's object cut to the detail and languages asked for (see the module docstring)."""
    obj = copy.deepcopy(artefact) if isinstance(artefact, dict) else codec.to_json(artefact)
    obj.pop(X, None)
    texts = _Filter(languages)
    if not obj.get("names"):
        # SDMX-JSON and SDMX-ML both require a name: the id stands in, as for structures
        obj["names"] = {"en": str(obj.get("id"))}
    texts.pair(obj, "name", "names")
    if detail == "stub":
        kept = {k: obj[k] for k in ("id", "version", "agencyID", "name", "names", "metadataflow",
                                    "metadataProvisionAgreement", "targets") if k in obj}
        kept["isExternalReference"] = True
        ids = [{"id": a["id"]} for a in obj.get("attributes") or () if isinstance(a, dict) and "id" in a]
        if ids:
            kept["attributes"] = ids
        return PreparedSet(_ordered(kept), detail, texts.partial, artefact)
    texts.pair(obj, "description", "descriptions")
    texts.annotations(obj)
    texts.attributes(obj.get("attributes") or [])
    return PreparedSet(obj, detail, texts.partial, artefact)


def prepare_all(entries: Iterable[tuple[Any, ArtefactDetail]], languages) -> list[PreparedSet]:
    return [prepared(artefact, detail, languages) for artefact, detail in entries]


#: The order of SDMX-JSON 2.0's MetadataSetType, kept for every set written.
ORDER = ("id", "version", "agencyID", "isExternalReference", "validFrom", "validTo", "name", "names", "description",
         "descriptions", "annotations", "action", "publicationPeriod", "publicationYear", "reportingBegin",
         "reportingEnd", "metadataflow", "metadataProvisionAgreement", "targets", "attributes")


def _ordered(obj: dict) -> dict:
    out = {k: obj[k] for k in ORDER if k in obj}
    out.update((k, v) for k, v in obj.items() if k not in out)
    return out


def require_report(prepared_set: PreparedSet, format_name: str) -> None:
    """Both SDMX-JSON and SDMX-ML require a (full) set to name its metadataflow or metadata
    provision agreement, at least one target and at least one reported attribute."""
    obj = prepared_set.obj
    reported_for = obj.get("metadataflow") or obj.get("metadataProvisionAgreement")
    missing = [what for what, present in (
        ("a metadataflow or metadata provision agreement", reported_for),
        ("a target", obj.get("targets")),
        ("a reported attribute", obj.get("attributes")),
    ) if not present]
    if missing:
        raise prepared_set.not_expressible(f"a metadata set without {', '.join(missing)}", format_name)


def content_languages(sets: list[PreparedSet]) -> list[str]:
    """Every language of the texts written, English first (SDMX-JSON's main language first)."""
    found: set[str] = set()

    def texts_of(holder: dict) -> None:
        for key in ("names", "descriptions"):
            found.update(holder.get(key) or ())
        for annotation in holder.get("annotations") or ():
            found.update(annotation.get("texts") or ())

    def attributes(items: list) -> None:
        for a in items:
            texts_of(a)
            if isinstance(a.get("value"), dict):
                found.update(a["value"])
            attributes(a.get("attributes") or [])

    for s in sets:
        texts_of(s.obj)
        attributes(s.obj.get("attributes") or [])
    return sorted(found, key=lambda lang: (lang != "en", lang))
