"""What the SDMX-JSON structure writers share: the message, detail levels, links, languages.

Every SDMX-JSON structure writer starts from the registry's stored form of each artefact
(`sdmx_server.registry.codec.to_json`: an SDMX-JSON 2.0.0 artefact object plus the `x-sdmx`
extension member) and transforms it. `JsonWriter` writes SDMX-JSON 2.0.0; the writers of the
other versions (structure_json21, structure_json10) are its children and override only the
methods whose output differs: per kind, a method `kind_<kind name>(obj, x)` turns the full
stored object into the version's shape (called only for artefacts written in full).

Per artefact, in this order:

1. the stored form, its `x-sdmx` member taken off (what the version can say of it is put back
   by the version's own members, or the artefact is NotExpressible);
2. `header(obj, x)`: what every maintainable of the version has (1.0's isFinal...);
3. full: `kind_<name>(obj, x)`; stub / completestub: the members those details keep. An
   external reference is always a stub (its URN and where it is, in `links`), except an item
   scheme that is partial and has items (a source may send part of another agency's codelist);
4. `links`: the `self` link with the artefact's URN (and `uri`), and the `structure` and
   `service` links of an external reference (SDMX-ML's structureURL and serviceURL);
5. languages: with Accept-Language, every localised text at every depth keeps the languages
   asked for (at least one: English, else the first) and its best-match member (`name` for
   `names`) the best of them; the message's `meta.contentLanguages` lists every language left.

What a version cannot say raises `NotExpressible` (the API answers 406). The selected values of
a data constraint's cube regions are written as objects (`{"value": "A"}`), which the schemas
allow as they allow plain strings, because pysdmx reads objects only; for the same reason a
metadata attribute says its minOccurs, maxOccurs and isPresentational even when they are the
defaults (1, 1, false).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from sdmx.model import common

from sdmx_server import kinds
from sdmx_server.formats.ml21 import Header, format_datetime
from sdmx_server.formats.structure_ml21_base import matches
from sdmx_server.formats.structure_ml21_dsd import TIME_TYPES
from sdmx_server.formats.structure_ml21_dispatch import (
    NotExpressible, is_partial_with_items, is_true, language_filter,
)
from sdmx_server.registry.codec import X, to_json
from sdmx_server.types import ArtefactDetail

#: Localised members: the best-match text and the texts by language (SDMX-JSON pairs them so).
TEXT_PAIRS = (("name", "names"), ("description", "descriptions"), ("text", "texts"),
              ("department", "departments"), ("role", "roles"), ("title", "titles"))
_PLURALS = frozenset(many for _, many in TEXT_PAIRS)

_URN_PREFIX = "urn:sdmx:org.sdmx.infomodel."
_VALUE_LIST_URN = _URN_PREFIX + "codelist.ValueList="

#: Members every stub keeps, and what a complete stub keeps besides.
STUB_MEMBERS = ("id", "version", "agencyID", "isExternalReference", "name", "names")
COMPLETE_STUB_MEMBERS = STUB_MEMBERS + ("description", "descriptions", "annotations")

#: x-sdmx members that SDMX 3.0 (so SDMX-JSON 2.0 and 2.1) cannot say, and what they are. (A
#: time dimension's place among the dimensions is left out, as SDMX-ML 3.0 leaves it: SDMX 3.0
#: puts it after the others, and series keys do not include it.)
SDMX21_ONLY = {
    "measureDimensions": "an SDMX 2.1 measure dimension",
    "attachmentGroups": "an attachment group besides the dimensions an attribute relates to",
    "metadataTargets": "an SDMX 2.1 metadata structure (metadata targets and report structures)",
    "reportStructures": "an SDMX 2.1 metadata structure (metadata targets and report structures)",
}


class JsonWriter:
    """SDMX-JSON 2.0.0 structure messages (SDMX 3.0). One instance per message."""

    version = "2.0.0"
    format_name = "SDMX-JSON 2.0.0"
    schema_url = ("https://raw.githubusercontent.com/sdmx-twg/sdmx-json/master/structure-message/tools/schemas/"
                  "2.0.0/sdmx-json-structure-schema.json")
    #: The kinds table's column naming each kind's collection in this version.
    column = "json20"
    #: The URN class of value lists: SDMX-JSON 2.0's schema spells it Valuelist (SDMX-ML 3.0
    #: and SDMX-JSON 2.1 ValueList, as the stored form does).
    value_list_class = "Valuelist"

    def __init__(self, languages: Iterable[str] | None = None) -> None:
        self.languages = language_filter(languages)
        #: Languages of the texts written, in the order met.
        self.used: dict[str, None] = {}
        #: Whether the language filter left out a language of the artefact being written.
        self.partial_language = False
        self.artefact: common.MaintainableArtefact | None = None

    # -- the message ------------------------------------------------------------------------

    def message(self, entries: Iterable[tuple[common.MaintainableArtefact, ArtefactDetail]], header: Header) -> bytes:
        data: dict[str, list[dict]] = {}
        seen: set[tuple[str, str, str, str]] = set()
        for artefact, detail in entries:
            collection, obj = self.entry(artefact, detail)
            key = (collection, obj["agencyID"], obj["id"], obj.get("version", "1.0"))
            if key in seen:
                raise ValueError(f"{collection} {key[1]}:{key[2]}({key[3]}) given twice")
            seen.add(key)
            data.setdefault(collection, []).append(obj)
        if not data:
            raise ValueError("a structure message needs at least one artefact")
        return orjson.dumps(self.envelope(self.meta(header), self.ordered(data)))

    def envelope(self, meta: dict, data: dict) -> dict:
        return {"meta": meta, "data": data}

    def meta(self, header: Header) -> dict:
        out: dict[str, Any] = {"schema": self.schema_url, "id": header.id, "test": header.test,
                               "prepared": format_datetime(header.prepared)}
        languages = self.content_languages()
        if languages:
            out["contentLanguages"] = languages
        out["sender"] = {"id": header.sender}
        return out

    def content_languages(self) -> list[str]:
        """Every language written, the main one first: the best asked for, else English."""
        used = list(self.used)
        preferred = [lang for wanted in self.languages or ("en",) for lang in used if matches(lang.lower(), wanted)]
        return list(dict.fromkeys(preferred + used))

    def ordered(self, data: dict[str, list[dict]]) -> dict[str, list[dict]]:
        """Collections in the kinds table's order, so that the same answer is the same bytes."""
        order = {name: i for i, name in enumerate(self.collections())}
        return {name: data[name] for name in sorted(data, key=lambda n: order.get(n, len(order)))}

    def collections(self) -> list[str]:
        names = [getattr(k, self.column) for k in kinds.KINDS if getattr(k, self.column)]
        return names + ["geographicCodelists", "geoGridCodelists"]

    # -- one artefact -----------------------------------------------------------------------

    def entry(self, artefact: common.MaintainableArtefact, detail: ArtefactDetail) -> tuple[str, dict]:
        """(collection, the artefact's object) for one maintainable artefact."""
        kind = self.kind_of(artefact)
        self.artefact, self.partial_language = artefact, False
        try:
            obj = to_json(artefact)
        except NotExpressible:
            raise
        except ValueError as exc:
            raise NotExpressible(artefact, str(exc), self.format_name) from None
        x = obj.pop(X, None) or {}
        if kind.name == "datastructure":
            _time_type(obj)
        collection = self.collection(kind, obj)
        external = is_true(artefact.is_external_reference) and not is_partial_with_items(artefact)
        if external:
            detail = "stub"
        obj = self.header(kind, obj, x)
        if detail == "full":
            for member, feature in SDMX21_ONLY.items():
                if member in x and not self.says_sdmx21(member):
                    raise self.not_expressible(feature)
            fn = getattr(self, f"kind_{kind.name}", None)
            if fn is not None:
                obj = fn(obj, x)
            if self.value_list_class != "ValueList" and kind.name not in ("codelist", "valuelist"):
                obj = rewrite_strings(obj, self.value_list_urn)
        else:
            obj = self.stub(kind, obj, detail)
        obj["links"] = self.links(kind, obj, x) + obj.get("links", [])
        self.localise(obj)
        if self.partial_language:
            self.mark_partial_language(obj)
        return collection, obj

    def kind_of(self, artefact) -> kinds.Kind:
        try:
            kind = kinds.kind_of(artefact)
        except ValueError:
            raise NotExpressible(artefact, f"a {type(artefact).__name__}", self.format_name) from None
        if getattr(kind, self.column) is None:
            raise NotExpressible(artefact, f"a {kind.urn_class}", self.format_name)
        return kind

    def not_expressible(self, feature: str) -> NotExpressible:
        return NotExpressible(self.artefact, feature, self.format_name)

    def says_sdmx21(self, member: str) -> bool:
        """Whether this version has members for an x-sdmx member of SDMX 2.1 (only 1.0 does)."""
        return False

    def collection(self, kind: kinds.Kind, obj: dict) -> str:
        geo = obj.get("geoType")
        if geo == "GeographicCodelist":
            return "geographicCodelists"
        if geo == "GeoGridCodelist":
            return "geoGridCodelists"
        return getattr(kind, self.column)

    def header(self, kind: kinds.Kind, obj: dict, x: dict) -> dict:
        """What every maintainable of this version has; the stored form's by default."""
        return obj

    def stub(self, kind: kinds.Kind, obj: dict, detail: ArtefactDetail) -> dict:
        members = STUB_MEMBERS if detail == "stub" else COMPLETE_STUB_MEMBERS
        out = {k: obj[k] for k in members if k in obj}
        out["isExternalReference"] = True
        if "name" not in out:  # SDMX-JSON requires a name; a stub built from a reference has its id
            out["name"] = obj["id"]
        return out

    def urn(self, kind: kinds.Kind, obj: dict) -> str:
        return self.value_list_urn(kind.urn(obj["agencyID"], obj["id"], obj.get("version", "1.0")))

    def value_list_urn(self, text: str) -> str:
        if text.startswith(_VALUE_LIST_URN):
            return f"{_URN_PREFIX}codelist.{self.value_list_class}={text[len(_VALUE_LIST_URN):]}"
        return text

    def links(self, kind: kinds.Kind, obj: dict, x: dict) -> list[dict]:
        """The self link (the URN, and the artefact's `uri`), and for an external reference
        where the full artefact is: `structure` (an SDMX-ML message holding it, SDMX-ML's
        structureURL) and `service` (a web service giving it, SDMX-ML's serviceURL)."""
        self_link: dict[str, Any] = {"rel": "self", "urn": self.urn(kind, obj)}
        if x.get("uri"):
            self_link["uri"] = x["uri"]
        out = [self_link]
        for member, rel in (("structureURL", "structure"), ("serviceURL", "service")):
            if x.get(member):
                out.append({"rel": rel, "href": x[member]})
        return out

    def kind_dataconstraint(self, obj: dict, x: dict) -> dict:
        # A selected value may be a string or an object; pysdmx reads objects only.
        for region in obj.get("cubeRegions", ()):
            for member in ("keyValues", "components"):
                for selection in region.get(member, ()):
                    if "values" in selection:
                        selection["values"] = [{"value": v} if type(v) is str else v for v in selection["values"]]
        return obj

    def kind_metadatastructure(self, obj: dict, x: dict) -> dict:
        # minOccurs and maxOccurs of a metadata attribute default to 1, isPresentational to
        # false; pysdmx requires them said
        stack = list((obj.get("metadataStructureComponents") or {}).get("metadataAttributeList", {})
                     .get("metadataAttributes", ()))
        while stack:
            attribute = stack.pop()
            attribute.setdefault("minOccurs", 1)
            attribute.setdefault("maxOccurs", 1)
            attribute.setdefault("isPresentational", False)
            stack.extend(attribute.get("metadataAttributes", ()))
        return obj

    def mark_partial_language(self, obj: dict) -> None:
        """SDMX-JSON 2.0 has no member saying some languages were left out (2.1 has)."""

    # -- languages --------------------------------------------------------------------------

    def localise(self, value: Any) -> None:
        """Filter every localised text in `value` (in place) and note the languages left."""
        stack = [value]
        pop, push = stack.pop, stack.append
        used = self.used
        filtering = self.languages is not None
        while stack:
            v = pop()
            if type(v) is list:
                for item in v:
                    if type(item) is dict or type(item) is list:
                        push(item)
                continue
            plural = False
            for key, item in v.items():
                t = type(item)
                if t is dict:
                    if key in _PLURALS:
                        plural = True
                    else:
                        push(item)
                elif t is list:
                    push(item)
            if not plural:
                continue
            for one, many in TEXT_PAIRS:
                texts = v.get(many)
                if type(texts) is not dict or not texts:
                    continue
                if filtering:
                    kept, best = self.choose(texts)
                    v[many] = kept
                    v[one] = kept[best]
                    texts = kept
                for lang in texts:
                    if lang not in used:
                        used[lang] = None

    def choose(self, texts: dict[str, str]) -> tuple[dict[str, str], str]:
        """The texts in the languages asked for (or one, English else the first, so that a
        required name is never lost), and the language of the best match."""
        wanted = self.languages or ()
        kept = {lang: text for lang, text in texts.items() if any(matches(lang.lower(), w) for w in wanted)}
        if not kept:
            lang = "en" if "en" in texts else next(iter(texts))
            kept = {lang: texts[lang]}
        if len(kept) < len(texts):
            self.partial_language = True
        for w in wanted:
            for lang in kept:
                if matches(lang.lower(), w):
                    return kept, lang
        return kept, next(iter(kept))


def _time_type(obj: dict) -> None:
    """The schemas give a time dimension's format a time type; one stored with another (ESTAT's
    apro_mk_cola says String) is written as ObservationalTimePeriod, as the SDMX-ML writers do."""
    time = obj.get("dataStructureComponents", {}).get("dimensionList", {}).get("timeDimension") or {}
    fmt = time.get("localRepresentation", {}).get("format")
    if fmt is not None and "dataType" in fmt and fmt["dataType"] not in TIME_TYPES:
        fmt["dataType"] = "ObservationalTimePeriod"


def rewrite_strings(value: Any, fn) -> Any:
    """`value` with every string member or element replaced by fn(string) (a new structure)."""
    t = type(value)
    if t is dict:
        return {k: rewrite_strings(v, fn) for k, v in value.items()}
    if t is list:
        return [rewrite_strings(v, fn) for v in value]
    if t is str:
        return fn(value)
    return value


__all__ = ["COMPLETE_STUB_MEMBERS", "JsonWriter", "NotExpressible", "STUB_MEMBERS", "TEXT_PAIRS", "rewrite_strings"]
