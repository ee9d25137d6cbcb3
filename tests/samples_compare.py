"""Reading samples and answers, and comparing what they say, for the samples tests.

- `originals(path)`: the artefacts a sample defines, as the registry reads them: SDMX-ML through
  sdmx1 plus the registry's repairs of what sdmx1 misreads (registry/sdmx1_repairs.py; the XML
  digest below checks those facts without sdmx1), SDMX-JSON through the codec;
- `read_answer(body, family)`: an answer as a client reads it: SDMX-ML through plain sdmx1
  (3.1 read as 3.0), SDMX-JSON through the codec;
- `comparable(description, fmt, reader)`: `tests.model_compare.describe` with what a format
  cannot say, or a reader does not read, taken out on both sides; each rule says why;
- `xml_digest(body)`: names, descriptions, items in document order and attribute usage of
  every artefact element, read from SDMX-ML 2.1/3.0/3.1 without any SDMX library;
- `pysdmx_digest` / `expected_pysdmx`: what pysdmx reads of an answer, and what it should read.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
from pathlib import Path
from typing import Any

import sdmx
import sdmx.reader.xml.v30  # noqa: F401  (see tests/test_structure_ml21.py)
from lxml import etree

from sdmx_server.boot import create_schema
from sdmx_server.kinds import BY_ML21_ELEMENT, BY_ML30_ELEMENT, kind_of
from sdmx_server.registry import codec, sdmx1_repairs
from sdmx_server.registry.load import StructureLoad, load_structures
from sdmx_server.registry.sdmxml import message_version
from sdmx_server.registry.store import read_all
from sdmx_server.settings import Settings
from sdmx_server.store.database import Database
from tests.conftest import fresh_database
from tests.model_compare import describe

Key = tuple[str, str, str, str]  # kind, agency, id, version


def key_of(artefact) -> Key:
    version = str(artefact.version) if artefact.version not in (None, "None", "") else "1.0"
    return (kind_of(artefact).name, getattr(artefact.maintainer, "id", None) or "", str(artefact.id), version)


def parse_ref(ref: str) -> Key:
    """'codelist ECB:CL_FREQ(1.0)' -> ('codelist', 'ECB', 'CL_FREQ', '1.0')"""
    kind, rest = ref.split(" ", 1)
    agency, rest = rest.split(":", 1)
    artefact_id, version = rest[:-1].split("(", 1)
    return (kind, agency, artefact_id, version)


def key_of_urn(urn: str) -> Key:
    from sdmx_server.registry.index import parse_urn

    kind, agency, artefact_id, version, _ = parse_urn(urn)
    return (kind.name, agency, artefact_id, version)


def _quiet_sdmx1(data: bytes):
    logger = logging.getLogger("sdmx")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # sdmx1 prints its stack when it gives up
            return sdmx.read_sdmx(io.BytesIO(data), format="XML")
    finally:
        logger.setLevel(previous)


def _collect(message) -> dict[Key, Any]:
    found: dict[Key, Any] = {}
    for name, _ in message.iter_collections():
        for artefact in getattr(message, name).values():
            if not getattr(artefact.maintainer, "id", None) or not artefact.id:
                continue  # sdmx1 invents nameless schemes for local references
            try:
                found.setdefault(key_of(artefact), artefact)
            except ValueError:
                continue
    return found


def originals(path: Path) -> dict[Key, Any]:
    """Every artefact a sample defines or refers to, by key (callers pick the defined ones)."""
    data = path.read_bytes()
    if path.suffix == ".json":
        stored = codec.read_structure_message(data)
        urns = {kind.urn(o["agencyID"], o["id"], o.get("version") or "1.0"): (kind, o) for kind, o in stored}
        models: dict[str, Any] = {}

        def resolve(urn: str):
            if urn not in models and urn in urns:
                models[urn] = None  # cycles end at a stub
                models[urn] = codec.from_json(*urns[urn], resolve)
            return models.get(urn)

        return {(k.name, o["agencyID"], o["id"], o.get("version") or "1.0"): resolve(u) for u, (k, o) in urns.items()}
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True))
    version = message_version(root)
    repairs = sdmx1_repairs.prepare(root, version)
    etree.cleanup_namespaces(root)
    message = _quiet_sdmx1(etree.tostring(root))
    repairs.apply(message)
    return _collect(message)


def read_answer(body: bytes, family: str) -> dict[Key, Any]:
    """An answer as a client reads it: plain sdmx1 for SDMX-ML (3.1 as 3.0), the codec for JSON."""
    if family == "json":
        stored = codec.read_structure_message(body)
        urns = {k.urn(o["agencyID"], o["id"], o.get("version") or "1.0"): (k, o) for k, o in stored}
        return {(k.name, o["agencyID"], o["id"], o.get("version") or "1.0"):
                codec.from_json(k, o, lambda u: codec.from_json(*urns[u], lambda _: None) if u in urns else None)
                for k, o in stored}
    return _collect(_quiet_sdmx1(body.replace(b"/schemas/v3_1/", b"/schemas/v3_0/")))


# -- what is compared -------------------------------------------------------------------------


def _default_names(d: dict) -> None:
    # The schemas require a Name; the writers give a nameless artefact or item its id.
    if not d.get("name"):
        d["name"] = {"en": d["id"]}


#: SDMX-JSON 1.0 says what SDMX 2.1 says; SDMX-JSON 2.0 and 2.1 what SDMX 3.0 says.
_MODEL_OF = {"json1.0": "2.1", "json2.0": "3.0", "json2.1": "3.0"}


def comparable(artefact, fmt: str, reader: str = "sdmx1") -> dict:
    """describe(artefact) without what `fmt` ("2.1", "3.0", "3.1", "json1.0", "json2.0"...)
    cannot say and what `reader` ("sdmx1", "codec", "original") does not read."""
    d = copy.deepcopy(describe(artefact))
    if fmt == "json1.0" and d["kind"] == "metadatastructure":
        for target in d["targets"]:
            # SDMX-JSON 1.0 gives each kind of target object a member of its own: no order
            target["objects"] = sorted(target["objects"], key=lambda o: (o["class"], o["id"] or ""))
    fmt = _MODEL_OF.get(fmt, fmt)
    if d["kind"] == "agencyscheme" and reader == "sdmx1":
        # sdmx1 adds to an agency scheme the (nameless) agency that maintains it.
        agency = d["urn"].split("=", 1)[1].split(":", 1)[0]
        d["items"] = [i for i in d["items"] if i["id"] != agency or i["name"]]
    _default_names(d)
    if d["external"] and not (d.get("partial") and d.get("items")):
        # A stub is its identity: sdmx1 fills stub schemes with the items other artefacts
        # refer to, which the stub (and the registry) does not hold. (A partial item scheme
        # keeps the items its source gave with it.)
        return {k: d[k] for k in ("kind", "urn", "id", "version", "name", "external", "structure_url", "service_url")}
    for item in d.get("items", ()):
        _default_names(item)
        for name in ("geo_cell",):  # the samples pretty-print these texts; white space means nothing
            if isinstance(item.get(name), str):
                item[name] = item[name].strip()
    if isinstance(d.get("grid_definition"), str):
        d["grid_definition"] = d["grid_definition"].strip()
    if reader == "sdmx1":
        for item in d.get("items", ()):
            for name in ("is_persistent", "ruleset_type", "scope", "vtl_artefact", "alias", "value"):
                # sdmx1 does not read these attributes of items (the XML digest compares them)
                item.pop(name, None)
    if reader == "sdmx1":
        for levels in [d.get("levels", [])] + [h["levels"] for h in d.get("hierarchies", ())]:
            for level in levels:
                # sdmx1 loses the names of (some) levels of a hierarchy (the XML digest compares them)
                level["name"], level["description"] = {}, {}
    if d["kind"] in ("categoryscheme", "reportingtaxonomy") and reader == "sdmx1":
        # sdmx1 reverses the children of nested items; their order is the XML digest's to check.
        d["items"] = sorted(d["items"], key=lambda i: (i["parent"] or "", i["id"]))
    for dim in d.get("dimensions", ()):
        for f in (dim["rep"] or {}).get("formats", ()):
            if dim["class"] == "time" and f.get("value_type") == "string":
                # ESTAT/apro_mk_cola gives its time dimension the text type String, which SDMX
                # does not allow; the writers write what the schemas require.
                f["value_type"] = "observationalTimePeriod"
    if fmt.startswith("2.1"):
        for m in d.get("measures", ()):
            m["usage"] = None  # an SDMX-ML 2.1 primary measure has no usage
        for a in d.get("attributes", ()):
            for f in (a["rep"] or {}).get("formats", ()):
                if f.get("value_type") == "geospatialInformation":
                    f["value_type"] = "string"  # SDMX 2.1 has no GeospatialInformation type
    if fmt.startswith("3"):
        d.pop("final")  # SDMX-ML 3.0 has no isFinal: finality is the (compared) version's
        if "dimensions" in d:
            # SDMX-ML 3.0 puts the time dimension last.
            dims = [x for x in d["dimensions"] if x["class"] != "time"] + [
                x for x in d["dimensions"] if x["class"] == "time"]
            d["dimensions"] = [dict(x, order=i + 1) for i, x in enumerate(dims)]
        if d["kind"] == "metadatastructure":
            d.pop("targets"), d.pop("reports")  # SDMX 3.0 has no metadata targets or report structures
    if fmt.startswith("3") and reader == "sdmx1" and d["kind"] == "datastructure":
        for a in d["attributes"] + d["measures"]:
            a.pop("usage")  # sdmx1's SDMX-ML 3.0 reader ignores `usage` (the XML digest checks it)
    return d


# -- without any SDMX library -----------------------------------------------------------------

_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_ELEMENTS = {**{k: v.name for k, v in BY_ML21_ELEMENT.items()}, **{k: v.name for k, v in BY_ML30_ELEMENT.items()}}
_ITEM_ELEMENTS = {k.item_class for k in BY_ML21_ELEMENT.values() if k.item_class} | {
    "Code", "GeoFeatureSetCode", "GeoGridCode", "ValueItem", "Level"}


def _local(element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _texts(element, tag: str) -> dict[str, str]:
    return {c.get(_XML_LANG, "en"): (c.text or "").strip() for c in element if _local(c) == tag}


def _usage(attribute) -> str:
    # 2.1 assignmentStatus Mandatory/Conditional; 3.0 usage mandatory/optional (optional when absent)
    value = (attribute.get("assignmentStatus") or attribute.get("usage") or "optional").lower()
    return "mandatory" if value == "mandatory" else "optional"


def xml_digest(body: bytes) -> dict[Key, dict]:
    """For every artefact element of an SDMX-ML structure message: names and descriptions in
    every language, items in document order (depth, id, parent, names, descriptions, their
    other XML attributes), and the usage of DSD attributes."""
    root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    structures = next(c for c in root if _local(c) == "Structures")
    out: dict[Key, dict] = {}
    for container in structures:
        for element in container:
            kind = _ELEMENTS.get(_local(element))
            if kind is None:
                continue
            key = (kind, element.get("agencyID"), element.get("id"), element.get("version") or "1.0")
            stub = element.get("isExternalReference") == "true"
            d: dict[str, Any] = {"name": _texts(element, "Name") or {"en": key[2]}, "external": stub}
            if not stub:
                d["description"] = _texts(element, "Description")
                d["items"] = _items(element)
                if kind == "datastructure":
                    d["usage"] = {_component_id(a): _usage(a) for a in element.iter() if _local(a) == "Attribute"}
            out[key] = d
    return out


def _component_id(component) -> str:
    # SDMX-ML 2.1 lets a component leave out its id: it is then its concept's.
    if component.get("id"):
        return component.get("id")
    identity = next(c for c in component if _local(c) == "ConceptIdentity")
    ref = next(iter(identity), None)
    return ref.get("id") if ref is not None and ref.get("id") else (identity.text or "").strip().rsplit(".", 1)[-1]


def _items(element, depth: int = 0) -> list:
    found = []
    for child in element:
        if _local(child) in _ITEM_ELEMENTS and child.get("id"):
            parent = next((p for p in child if _local(p) == "Parent"), None)
            parent_id = None if parent is None else (parent.text or "").strip() or next(
                (r.get("id") for r in parent), None)
            # (a false flag says what its absence says: leveled, isPersistent)
            fields = {k: v for k, v in child.attrib.items() if k not in ("id", "urn", "uri") and v != "false"}
            found.append((depth, child.get("id"), parent_id, _texts(child, "Name") or {"en": child.get("id")},
                          _texts(child, "Description"), fields))
            found += _items(child, depth + 1)
    return found


# -- stored forms ------------------------------------------------------------------------------

def stored_forms(url: str) -> dict[Key, dict]:
    db = Database(url)
    try:
        return {(s.kind, s.agency, s.id, s.version): json.loads(s.body) for s in read_all(db)[0]}
    finally:
        db.dispose()


def write_answer(directory: Path, body: bytes) -> Path:
    path = directory / f"answer-{len(list(directory.glob('answer-*')))}.xml"
    path.write_bytes(body)
    return path


def load_into_fresh(directory: Path, files: list[Path], allow_missing_references: bool = True) -> StructureLoad:
    """A load (by default with stubs for what is missing) into a new SQLite database in
    `directory` (its store.db)."""
    directory.mkdir(exist_ok=True)
    with fresh_database("sqlite", directory) as url:
        db = Database(url)
        create_schema(db)
        try:
            return load_structures(db, files, Settings(database_url=url, data_dir=directory),
                                   allow_missing_references=allow_missing_references)
        finally:
            db.dispose()


def normalise_stored(obj: dict, fmt: str) -> dict:
    """A stored form without what an SDMX-ML `fmt` answer cannot carry (and what the writers
    write as the schemas require), as `comparable` does for models."""
    obj = json.loads(json.dumps(obj))
    x = obj.get("x-sdmx", {})
    components = obj.get("dataStructureComponents", {})
    dimensions = components.get("dimensionList", {})
    if fmt.startswith("3"):
        for name in ("isFinal", "metadataTargets", "reportStructures"):  # SDMX 3.0 has none of these
            x.pop(name, None)
        x.pop("timeDimensionPosition", None)  # the time dimension comes last: positions change
        for d in dimensions.get("dimensions", ()):
            d.pop("position", None)
    if fmt == "2.1":
        for m in components.get("measureList", {}).get("measures", ()):
            m.pop("usage", None)  # an SDMX-ML 2.1 primary measure has no usage
        for a in components.get("attributeList", {}).get("attributes", ()):
            f = a.get("localRepresentation", {}).get("format", {})
            if f.get("dataType") == "GeospatialInformation":
                f["dataType"] = "String"  # SDMX 2.1 has no such type
    time = dimensions.get("timeDimension", {}).get("localRepresentation", {}).get("format", {})
    if time.get("dataType") == "String":
        time["dataType"] = "ObservationalTimePeriod"  # ESTAT/apro_mk_cola's invalid time type
    for item in obj.get("geoGridCodes", ()):
        item["geoCell"] = item["geoCell"].strip()  # the sample pretty-prints these texts
    if "gridDefinition" in obj:
        obj["gridDefinition"] = obj["gridDefinition"].strip()
    if x == {}:
        obj.pop("x-sdmx", None)
    return obj


# -- pysdmx ------------------------------------------------------------------------------------


def pysdmx_digest(obj) -> dict:
    """What pysdmx reads of an artefact: identity, name, items, components."""
    d: dict[str, Any] = {"id": obj.id, "agency": getattr(obj.agency, "id", obj.agency), "version": obj.version}
    if obj.is_external_reference and not getattr(obj, "is_partial", False):
        return d
    items = getattr(obj, "items", None)
    if items is not None:
        d["items"] = [i.id for i in items]
    components = getattr(obj, "components", None)
    if components is not None:
        d["dimensions"] = sorted(c.id for c in components.dimensions)
        d["attributes"] = [(c.id, bool(c.required)) for c in components.attributes]
        d["measures"] = [c.id for c in components.measures]
        d["enumerations"] = {c.id: c.local_enum_ref for c in components if c.local_enum_ref}
    structure = getattr(obj, "structure", None)
    if isinstance(structure, str):
        d["structure"] = structure.rsplit(".", 1)[-1]
    return d


def expected_pysdmx(artefact) -> dict:
    """pysdmx_digest() of the artefact as it should be read; usage from the original."""
    d = describe(artefact)
    agency = d["urn"].split("=", 1)[1].split(":", 1)[0]
    out: dict[str, Any] = {"id": d["id"], "agency": agency, "version": d["version"]}
    if d["external"] and not (d.get("partial") and d.get("items")):
        return out  # a stub is its identity (sdmx1 fills stub schemes with referenced items)
    if "items" in d and d["kind"] not in ("categoryscheme", "reportingtaxonomy"):
        out["items"] = [i["id"] for i in d["items"]]
    elif "items" in d:
        out["items"] = [i["id"] for i in d["items"] if i["parent"] is None]
    if "dimensions" in d:
        # pysdmx models SDMX 3.0: it leaves out SDMX 2.1 measure dimensions.
        d["dimensions"] = [x for x in d["dimensions"] if x["class"] != "measure"]
        out["dimensions"] = sorted(x["id"] for x in d["dimensions"])
        out["attributes"] = [(a["id"], a["usage"] == "mandatory") for a in d["attributes"]]
        out["measures"] = [m["id"] for m in d["measures"]]
        components = d["dimensions"] + d["attributes"] + d["measures"]
        out["enumerations"] = {c["id"]: c["rep"]["enumerated"] for c in components
                               if c["rep"] and c["rep"]["enumerated"]}
    if d["kind"] == "dataflow" and d.get("structure"):
        out["structure"] = d["structure"].rsplit(".", 1)[-1]
    return out
