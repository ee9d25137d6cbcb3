"""What every part of the codec shares: errors, checked access to JSON, texts, annotations, URNs.

Reading is done on input that may be hostile (an upload from anywhere): every access to the
JSON goes through the `get_*` helpers, which check the type and raise `CodecError` naming the
path of the offending member (`/codes/3/names/en`), never a KeyError or TypeError from deep
inside. Paths are built only when an error is raised, so the checks cost little on the hot
path (a registry may hold 200,000 codes).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any, Callable

from sdmx.model import common
from sdmx.model.internationalstring import InternationalString

from sdmx_server.kinds import BY_URN_CLASS, Kind

#: Gives the registry's artefact for the URN of a maintainable artefact (the version part may
#: be an SDMX 3.0 wildcard such as 1.0+.0), or None when the registry does not hold it.
Resolver = Callable[[str], "common.MaintainableArtefact | None"]

#: The one extension member of a stored artefact: what SDMX-JSON 2.0 cannot say.
X = "x-sdmx"


class CodecError(ValueError):
    """Input that is not a valid stored artefact or SDMX-JSON structure; says where."""


# -- checked access to JSON input -------------------------------------------------------------

_TYPE_NAMES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "an integer",
               float: "a number", type(None): "null"}


def type_name(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def fail(path: str, message: str) -> CodecError:
    return CodecError(f"{path or '/'}: {message}")


def expect_obj(value: Any, path: str) -> dict:
    if type(value) is not dict:
        raise fail(path, f"expected an object, got {type_name(value)}")
    return value


def get_str(obj: dict, key: str, path: str, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise fail(path, f"'{key}' is missing")
        return None
    if type(value) is not str:
        raise fail(f"{path}/{key}", f"expected a string, got {type_name(value)}")
    return value


def get_bool(obj: dict, key: str, path: str) -> bool | None:
    value = obj.get(key)
    if value is None or type(value) is bool:
        return value
    # SDMX-JSON 1.0 producers sometimes write booleans as strings
    if value in ("true", "false"):
        return value == "true"
    raise fail(f"{path}/{key}", f"expected a boolean, got {type_name(value)}")


def get_int(obj: dict, key: str, path: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    if type(value) is str and re.fullmatch(r"-?\d{1,18}", value):
        return int(value)
    raise fail(f"{path}/{key}", f"expected an integer, got {type_name(value)}")


def get_number(obj: dict, key: str, path: str) -> int | float | None:
    value = obj.get(key)
    if value is None:
        return None
    if type(value) is int or (type(value) is float and value == value and abs(value) != float("inf")):
        return value
    if type(value) is str:
        try:
            return number(value)
        except ValueError:
            pass
    raise fail(f"{path}/{key}", f"expected a number, got {type_name(value)}")


def get_list(obj: dict, key: str, path: str) -> list:
    value = obj.get(key)
    if value is None:
        return []
    if type(value) is not list:
        raise fail(f"{path}/{key}", f"expected an array, got {type_name(value)}")
    return value


def get_obj(obj: dict, key: str, path: str) -> dict | None:
    value = obj.get(key)
    if value is None:
        return None
    if type(value) is not dict:
        raise fail(f"{path}/{key}", f"expected an object, got {type_name(value)}")
    return value


def get_objs(obj: dict, key: str, path: str) -> list[tuple[dict, str]]:
    """The objects of an array member, each with its path."""
    out = []
    for i, value in enumerate(get_list(obj, key, path)):
        if type(value) is not dict:
            raise fail(f"{path}/{key}/{i}", f"expected an object, got {type_name(value)}")
        out.append((value, f"{path}/{key}/{i}"))
    return out


def get_strs(obj: dict, key: str, path: str) -> list[str]:
    values = get_list(obj, key, path)
    for i, value in enumerate(values):
        if type(value) is not str:
            raise fail(f"{path}/{key}/{i}", f"expected a string, got {type_name(value)}")
    return values


# -- plain values -----------------------------------------------------------------------------


def number(value: str) -> int | float:
    """A numeric facet written as text (SDMX-ML) as a JSON number: an int when it is one."""
    text = value.strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    result = float(text)
    if result != result or abs(result) == float("inf"):
        raise ValueError(f"not a finite number: {value!r}")
    return result


def text_value(value: Any) -> str | None:
    """A string attribute of an sdmx1 object, or None (sdmx1 puts a falsy sentinel where an
    SDMX-ML element was empty)."""
    if isinstance(value, str):
        return value
    if value is None or not value:
        return None
    return str(value)


def time_text(value: Any) -> str | None:
    """A date, time or period the model holds as text or as a datetime, as text."""
    if value is None:
        return None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return duration(value)
    return text_value(value)


def duration(value: timedelta) -> str:
    days, seconds = value.days, value.seconds + value.microseconds / 1e6
    out = f"P{days}D" if days else "P"
    if seconds or not days:
        out += "T" + (f"{seconds:g}S")
    return out


def boolean(value: Any) -> bool | None:
    """A flag sdmx1 may hold as the SDMX-ML text ("true"/"false") or as a bool."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


# -- localised text ---------------------------------------------------------------------------


def best_text(texts: dict[str, str]) -> str:
    """The best-match text of SDMX-JSON: English if there is one, else the first language."""
    if "en" in texts:
        return texts["en"]
    for lang, text in texts.items():
        if lang.lower().startswith("en"):
            return text
    return next(iter(texts.values()))


def put_text(out: dict, one: str, many: str, value: InternationalString | None) -> None:
    """Write `name`/`names` (or another pair): every language, sorted so that the same text
    in another language order is the same stored JSON."""
    localizations = getattr(value, "localizations", None)
    if not localizations:
        return
    texts = {lang: localizations[lang] for lang in sorted(localizations) if isinstance(localizations[lang], str)}
    if not texts:
        return
    out[one] = best_text(texts)
    out[many] = texts


def read_text(obj: dict, one: str, many: str, path: str) -> dict[str, str]:
    """Localised text from `names` (all languages), or from `name` alone (then English)."""
    texts = obj.get(many)
    if texts is not None:
        if type(texts) is not dict:
            raise fail(f"{path}/{many}", f"expected an object, got {type_name(texts)}")
        ordered = True
        previous = ""
        for lang, text in texts.items():
            if type(text) is not str:
                raise fail(f"{path}/{many}/{lang}", f"expected a string, got {type_name(text)}")
            if lang < previous:
                ordered = False
            previous = lang
        if texts:
            return dict(texts) if ordered else dict(sorted(texts.items()))
    single = obj.get(one)
    if single is None:
        return {}
    if type(single) is not str:
        raise fail(f"{path}/{one}", f"expected a string, got {type_name(single)}")
    return {"en": single}


_new_istring = InternationalString.__new__


def istring(texts: dict[str, str]) -> InternationalString:
    """An InternationalString holding `texts` as they are (its constructor is slow)."""
    result = _new_istring(InternationalString)
    result.localizations = texts
    return result


# -- annotations ------------------------------------------------------------------------------


def encode_annotations(obj: common.AnnotableArtefact) -> list[dict]:
    out = []
    for a in getattr(obj, "annotations", None) or ():
        d: dict[str, Any] = {}
        for key in ("id", "title", "type", "value"):
            value = text_value(getattr(a, key, None))
            if value is not None:
                d[key] = value
        put_text(d, "text", "texts", a.text)
        url = text_value(a.url)
        if url is not None:
            # As pysdmx and FMR write it: the annotation's URL is its "self" link.
            d["links"] = [{"href": url, "rel": "self"}]
        out.append(d)
    return out


def put_annotations(out: dict, obj: common.AnnotableArtefact) -> None:
    annotations = encode_annotations(obj)
    if annotations:
        out["annotations"] = annotations


def decode_annotations(obj: dict, path: str) -> list:
    from sdmx.model import v30

    out = []
    for a, apath in get_objs(obj, "annotations", path):
        url = None
        for link, lpath in get_objs(a, "links", apath):
            if get_str(link, "rel", lpath) == "self":
                url = get_str(link, "href", lpath) or get_str(link, "uri", lpath)
                if url:
                    break
        value = a.get("value")
        if value is not None and type(value) is not str:
            # SDMX-JSON 2.0 says a string; numbers from other servers are kept as text
            if type(value) in (int, float, bool):
                value = str(value).lower() if type(value) is bool else str(value)
            else:
                raise fail(f"{apath}/value", f"expected a string, got {type_name(value)}")
        out.append(v30.Annotation(
            id=get_str(a, "id", apath), title=get_str(a, "title", apath), type=get_str(a, "type", apath),
            url=url, text=istring(read_text(a, "text", "texts", apath)), value=value,
        ))
    return out


# -- URNs -------------------------------------------------------------------------------------

_URN = re.compile(
    r"urn:sdmx:org\.sdmx\.infomodel\.(?P<package>[A-Za-z]+)\.(?P<cls>[A-Za-z]+)="
    r"(?P<agency>[^:()]+):(?P<id>[^:()]+)\((?P<version>[^()]*)\)(?:\.(?P<item>.+))?"
)

#: URN classes of SDMX 2.1 (and sdmx1) for what SDMX 3.0 names otherwise.
_CLASS_ALIASES = {
    "DataflowDefinition": "Dataflow",
    "DataStructureDefinition": "DataStructure",
    "MetadataStructureDefinition": "MetadataStructure",
    "MetadataflowDefinition": "Metadataflow",
    "ContentConstraint": "DataConstraint",
    "Valuelist": "ValueList",
}

#: Item (or component) URN class -> the URN class of the maintainable that holds it.
ITEM_PARENT = {
    "Agency": "AgencyScheme", "OrganisationUnit": "OrganisationUnitScheme", "DataProvider": "DataProviderScheme",
    "MetadataProvider": "MetadataProviderScheme", "DataConsumer": "DataConsumerScheme",
    "Code": "Codelist", "ValueItem": "ValueList", "HierarchicalCode": "Hierarchy", "Level": "Hierarchy",
    "Concept": "ConceptScheme", "Category": "CategoryScheme", "ReportingCategory": "ReportingTaxonomy",
    "AttributeDescriptor": "DataStructure", "DataAttribute": "DataStructure", "Attribute": "DataStructure",
    "GroupDimensionDescriptor": "DataStructure", "DimensionDescriptor": "DataStructure", "Dimension": "DataStructure",
    "TimeDimension": "DataStructure", "MeasureDimension": "DataStructure", "MeasureDescriptor": "DataStructure",
    "Measure": "DataStructure", "PrimaryMeasure": "DataStructure", "ReportingYearStartDay": "DataStructure",
    "MetadataAttributeDescriptor": "MetadataStructure", "MetadataAttribute": "MetadataStructure",
    "MetadataTarget": "MetadataStructure", "ReportStructure": "MetadataStructure",
    "ProcessStep": "Process", "Transition": "Process",
    "ComponentMap": "StructureMap", "EpochMap": "StructureMap", "DatePatternMap": "StructureMap",
    "FrequencyFormatMapping": "StructureMap", "CodelistMap": "StructureSet",
    "Transformation": "TransformationScheme", "CustomType": "CustomTypeScheme",
    "NamePersonalisation": "NamePersonalisationScheme", "VtlMapping": "VtlMappingScheme",
    "VtlCodelistMapping": "VtlMappingScheme", "VtlConceptMapping": "VtlMappingScheme",
    "VtlDataflowMapping": "VtlMappingScheme", "Ruleset": "RulesetScheme",
    "UserDefinedOperator": "UserDefinedOperatorScheme",
}


class Urn:
    """A parsed URN: the kind of the maintainable it names (or holds its item), its
    agency, id and version (kept as written, wildcards included), and the item path."""

    __slots__ = ("kind", "package", "cls", "agency", "id", "version", "item")

    def __init__(self, kind: Kind, package: str, cls: str, agency: str, id: str, version: str, item: str | None):
        self.kind, self.package, self.cls = kind, package, cls
        self.agency, self.id, self.version, self.item = agency, id, version, item

    @property
    def maintainable(self) -> str:
        return self.kind.urn(self.agency, self.id, self.version)

    def __str__(self) -> str:
        if not self.item:
            return self.maintainable
        return f"urn:sdmx:org.sdmx.infomodel.{self.package}.{self.cls}={self.agency}:{self.id}({self.version}).{self.item}"


def parse_urn(urn: Any, path: str) -> Urn:
    if type(urn) is not str:
        raise fail(path, f"expected a URN, got {type_name(urn)}")
    m = _URN.fullmatch(urn.strip())
    if m is None:
        raise fail(path, f"not an SDMX URN: {urn[:200]!r}")
    cls = _CLASS_ALIASES.get(m["cls"], m["cls"])
    item = m["item"]
    if item is None:
        parent = cls
    elif cls == "Hierarchy":  # an SDMX 2.1 Hierarchy inside a HierarchicalCodelist
        parent = "HierarchicalCodelist"
    else:
        # an item, or a part (a map of a structure map...) of a maintainable of that class
        parent = ITEM_PARENT.get(cls) or (cls if cls in BY_URN_CLASS else None)
    kind = BY_URN_CLASS.get(parent or "")
    if kind is None:
        raise fail(path, f"no artefact kind holds a {m['cls']} ({urn[:200]!r})")
    return Urn(kind, m["package"], cls, m["agency"], m["id"], m["version"], item)


def version_text(version: Any) -> str:
    """An artefact's version as text; SDMX 2.1's default when the model has none."""
    text = str(version) if version is not None else ""
    return text if text and text != "None" else "1.0"


def agency_id(artefact: common.MaintainableArtefact, default: str | None = None) -> str:
    agency = getattr(artefact.maintainer, "id", None) or default
    if not agency:
        raise ValueError(f"{artefact!r} has no maintainer, so it has no URN")
    return str(agency)
