"""The two directions and what they share: the maintainable header, references, stubs, dispatch.

Encoding looks a function up by the artefact's class along its MRO (one function per sdmx1
class, as sdmx1's own writers do), so v21 and v30 objects of one kind share code where they
agree. Decoding looks a function up by kind and always builds the SDMX 3.0 family (see the
package docstring).
"""

from __future__ import annotations

import gc
import re
from typing import Any, Callable

from sdmx.model import common

from sdmx_server.kinds import Kind, kind_of
from sdmx_server.registry.codec.base import (
    X, CodecError, Resolver, Urn, agency_id, boolean, decode_annotations, expect_obj, fail, get_bool, get_obj,
    get_objs, get_str, istring, parse_urn, put_annotations, put_text, read_text, time_text, version_text,
)

Encode = Callable[[Any, dict, "Encoder"], None]
Decode = Callable[[dict, str, "Decoder"], common.MaintainableArtefact]

ENCODERS: dict[type, Encode] = {}
DECODERS: dict[str, Decode] = {}


def encodes(*classes: type) -> Callable[[Encode], Encode]:
    def register(fn: Encode) -> Encode:
        for cls in classes:
            ENCODERS[cls] = fn
        return fn
    return register


def decodes(*kinds: str) -> Callable[[Decode], Decode]:
    def register(fn: Decode) -> Decode:
        for name in kinds:
            DECODERS[name] = fn
        return fn
    return register


# -- encoding ---------------------------------------------------------------------------------


class Encoder:
    """State of one to_json call: the artefact's agency (the default for references that
    name none) and the `x-sdmx` member being collected."""

    def __init__(self, artefact: common.MaintainableArtefact, kind: Kind):
        self.artefact = artefact
        self.kind = kind
        self.agency = agency_id(artefact)
        self.x: dict[str, Any] = {}
        # references the registry resolved from a wildcard (1.0+.0): written as they were
        self.written: dict[str, str] = getattr(artefact, "written_references", None) or {}

    def ref(self, obj: Any) -> str:
        """The URN of a maintainable artefact the encoded one refers to."""
        if isinstance(obj, str):
            return obj
        kind = kind_of(obj)
        urn = kind.urn(agency_id(obj, self.agency), str(obj.id), version_text(obj.version))
        return self.written.get(urn, urn) if self.written else urn

    def item_ref(self, item: Any) -> str:
        """The URN of an item (concept, code, category...) in its scheme."""
        scheme = item.get_scheme() if isinstance(item, common.Item) else None
        if not isinstance(scheme, common.MaintainableArtefact):
            if getattr(item, "urn", None):
                return item.urn
            raise ValueError(f"{item!r} is in no scheme, so it has no URN")
        kind = kind_of(scheme)
        path = item.hierarchical_id if kind.items == "nested" else item.id
        base = self.ref(scheme)
        head, _, rest = base.partition("=")
        return f"{head.rsplit('.', 1)[0]}.{kind.item_class}={rest}.{path}"

    def any_ref(self, obj: Any) -> str:
        """The URN of a maintainable, an item, or another identifiable object."""
        if isinstance(obj, common.MaintainableArtefact):
            return self.ref(obj)
        if isinstance(obj, common.Item):
            return self.item_ref(obj)
        if isinstance(obj, str):
            return obj
        if getattr(obj, "urn", None):
            return obj.urn
        raise ValueError(f"cannot refer to {obj!r}: it has no URN")


def encode_header(a: common.MaintainableArtefact, enc: Encoder) -> dict:
    out: dict[str, Any] = {"id": str(a.id), "version": version_text(a.version), "agencyID": enc.agency}
    if boolean(a.is_external_reference):
        out["isExternalReference"] = True
    for field, key in (("valid_from", "validFrom"), ("valid_to", "validTo")):
        value = time_text(getattr(a, field, None))
        if value:
            out[key] = value
    put_text(out, "name", "names", a.name)
    put_text(out, "description", "descriptions", a.description)
    put_annotations(out, a)
    if boolean(a.is_final):
        enc.x["isFinal"] = True
    for field, key in (("structure_url", "structureURL"), ("service_url", "serviceURL"), ("uri", "uri")):
        value = getattr(a, field, None)
        if value:
            enc.x[key] = str(value)
    return out


def encode_nameable(obj: Any, out: dict | None = None) -> dict:
    """id, names, descriptions and annotations of an identifiable/nameable part."""
    out = {} if out is None else out
    out["id"] = str(obj.id)
    put_text(out, "name", "names", getattr(obj, "name", None))
    put_text(out, "description", "descriptions", getattr(obj, "description", None))
    put_annotations(out, obj)
    return out


def to_json(artefact: common.MaintainableArtefact) -> dict:
    """The stored form of an artefact: its SDMX-JSON 2.0.0 structure object (see the package
    docstring). Raises ValueError for an object the codec cannot store."""
    kind = kind_of(artefact)
    for cls in type(artefact).__mro__:
        fn = ENCODERS.get(cls)
        if fn is not None:
            break
    else:
        raise ValueError(f"the codec cannot store a {type(artefact).__module__}.{type(artefact).__name__}")
    enc = Encoder(artefact, kind)
    enabled = gc.isenabled()
    gc.disable()  # see from_json: the collector would run over a large scheme for nothing
    try:
        out = encode_header(artefact, enc)
        fn(artefact, out, enc)
    finally:
        if enabled:
            gc.enable()
    if enc.x:
        out[X] = enc.x
    return out


# -- decoding ---------------------------------------------------------------------------------

_ID = re.compile(r"[A-Za-z0-9_@$\-]+")
_AGENCY = re.compile(r"[A-Za-z0-9_@$\-]+(\.[A-Za-z0-9_@$\-]+)*")
_VERSION = re.compile(r"[0-9A-Za-z_.+*\-]+")


def stub(kind: Kind, agency: str, artefact_id: str, version: str, urn: str | None = None) -> Any:
    """An external-reference stub of the class the 3.0 family uses for the kind."""
    cls = stub_class(kind)
    obj = cls(id=artefact_id, version=version, maintainer=common.Agency(id=agency), is_external_reference=True,
              is_final=False)
    # Set after construction: sdmx1 checks a URN against the version, and cannot parse the
    # version wildcards of SDMX 3.0 (1.0+.0).
    obj.urn = urn or kind.urn(agency, artefact_id, version)
    return obj


def stub_class(kind: Kind) -> type:
    import sdmx.model.v21 as v21
    import sdmx.model.v30 as v30

    modules = {"common": common, "v21": v21, "v30": v30}
    for qualified in kind.classes:
        module, name = qualified.split(".")
        cls = getattr(modules[module], name, None)
        if cls is not None:
            return cls
    raise ValueError(f"sdmx1 has no class for a {kind.name}")


class Decoder:
    """State of one from_json call: the resolver, and the artefacts resolved so far (each
    URN is resolved once, so every reference to one scheme shares one object)."""

    def __init__(self, resolve: Resolver | None, kind: Kind):
        self._resolve = resolve
        self.kind = kind
        self.x: dict = {}
        self.agency = ""
        self._cache: dict[str, Any] = {}
        self._private: dict[str, Any] = {}
        self.aliases: dict[str, str] = {}  # included codelists of an SDMX-JSON 1.0 HCL
        self.written: dict[str, str] = {}  # resolved URN -> URN as written (wildcards)

    def x_obj(self, key: str) -> dict:
        """A member of x-sdmx that must be an object (empty when absent)."""
        value = self.x.get(key)
        if value is None:
            return {}
        if type(value) is not dict:
            raise fail(f"/{X}/{key}", "expected an object")
        return value

    def urn(self, value: Any, path: str) -> Urn:
        return parse_urn(value, path)

    def resolved(self, u: Urn) -> Any:
        key = u.maintainable
        obj = self._cache.get(key)
        if obj is None:
            obj = self._resolve(key) if self._resolve is not None else None
            if obj is None:
                if not u.kind.classes:
                    # a kind sdmx1 does not model (a structure map...): the URN is all there is
                    return str(u)
                obj = stub(u.kind, u.agency, u.id, u.version, key)
            else:
                actual = self.urn_of(obj)
                if actual != key:  # the registry resolved a wildcard: keep what was written
                    self.written[actual] = key
            self._cache[key] = obj
        return obj

    def urn_of(self, obj: Any) -> str:
        """The URN of a maintainable artefact (one this decoder resolved or built)."""
        return kind_of(obj).urn(agency_id(obj, self.agency), str(obj.id), version_text(obj.version))

    def maintainable(self, value: Any, path: str) -> Any:
        u = parse_urn(value, path)
        if u.item:
            raise fail(path, f"expected the URN of a maintainable artefact, got one of a {u.cls}")
        return self.resolved(u)

    def item(self, value: Any, path: str) -> Any:
        """The item a URN names, in the resolved scheme; created in a stub when the scheme is
        not held or lacks it, so that the reference (and its URN) survives."""
        u = parse_urn(value, path)
        if not u.item:
            return self.resolved(u)
        scheme = self.resolved(u)
        if isinstance(scheme, str):
            return scheme
        found = find_item(scheme, u.item)
        if found is not None:
            return found
        if not isinstance(scheme, common.ItemScheme):
            # A component of a structure, a level of a hierarchy...: keep its URN.
            return common.IdentifiableArtefact(id=u.item.rsplit(".", 1)[-1], urn=str(u))
        if not scheme.is_external_reference:
            # The registry's scheme lacks the item: never change it; use a private stub.
            key = u.maintainable
            holder = self._private.get(key)
            if holder is None:
                holder = self._private[key] = stub(u.kind, u.agency, u.id, u.version, key)
            scheme = holder
        return add_item_path(scheme, u.item)


def find_item(scheme: Any, path: str) -> Any:
    """The item at `path` (A.B for B under A in nested schemes), exactly: a reference to a
    nested item by its bare id is kept as written (in a stub), so that it writes back the same.

    Only category schemes and reporting taxonomies nest their items in URNs. The items of the
    other schemes (concepts, codes...) may name a parent, but they are referred to by their
    own id (SDMX-ML 2.1 SDMXCommonReferences.xsd: ConceptRefType and CodeRefType take an
    IDType, CategoryRefType a NestedIDType; Encoder.item_ref writes URNs so): a concept with a
    parent concept is found by its id, else every DSD using it got a private stub in its place."""
    items = getattr(scheme, "items", None)
    if not isinstance(items, dict):
        return None
    parts = path.split(".")
    item = items.get(parts[-1])
    if item is not None and len(parts) == 1 and not _nests_in_urns(scheme):
        return item
    if item is not None and (item.hierarchical_id == path or (
            len(parts) == 1 and not isinstance(item.parent, common.Item))):
        return item
    # nested items: walk from the roots
    level = [i for i in items.values() if not isinstance(i.parent, common.Item)]
    found = None
    for part in parts:
        found = next((i for i in level if i.id == part), None)
        if found is None:
            return None
        level = found.child
    return found


def _nests_in_urns(scheme: Any) -> bool:
    try:
        return kind_of(scheme).items == "nested"
    except ValueError:
        return True  # not a scheme the kinds know: keep the exact path rule


def add_item_path(scheme: common.ItemScheme, path: str) -> Any:
    parent = None
    for part in path.split("."):
        siblings = parent.child if parent is not None else [
            i for i in scheme.items.values() if not isinstance(i.parent, common.Item)]
        item = next((i for i in siblings if i.id == part), None)
        if item is None:
            item = scheme._Item(id=part)
            if parent is not None:
                parent.append_child(item)
            else:
                item.parent = scheme
            scheme.items.setdefault(part, item)
        parent = item
    return parent


def check_id(value: str | None, path: str, what: str = "id", pattern: re.Pattern = _ID) -> str:
    if value is None:
        raise fail(path, f"'{what}' is missing")
    if not pattern.fullmatch(value) or len(value) > 255:
        raise fail(f"{path}/{what}", f"not a valid SDMX {what}: {value[:100]!r}")
    return value


def decode_header(obj: dict, path: str, dec: Decoder, cls: type, **fields: Any) -> Any:
    """A maintainable artefact of `cls` with the common properties of `obj` and `fields`."""
    artefact_id = check_id(get_str(obj, "id", path), path)
    agency = check_id(get_str(obj, "agencyID", path), path, "agencyID", _AGENCY)
    version = check_id(get_str(obj, "version", path) or "1.0", path, "version", _VERSION)
    dec.agency = agency
    x = dec.x
    # isFinal is in x-sdmx in the stored form; SDMX-JSON 1.0 (and some 2.0 producers) put it
    # in the artefact itself
    fields.setdefault("is_final", bool(get_bool(x, "isFinal", f"{path}/{X}") or get_bool(obj, "isFinal", path)))
    a = cls(
        id=artefact_id, version=version, maintainer=common.Agency(id=agency),
        is_external_reference=bool(get_bool(obj, "isExternalReference", path)),
        valid_from=get_str(obj, "validFrom", path), valid_to=get_str(obj, "validTo", path),
        name=istring(read_text(obj, "name", "names", path)),
        description=istring(read_text(obj, "description", "descriptions", path)),
        annotations=decode_annotations(obj, path),
        **fields,
    )
    a.structure_url = get_str(x, "structureURL", f"{path}/{X}")
    a.service_url = get_str(x, "serviceURL", f"{path}/{X}")
    a.uri = get_str(x, "uri", f"{path}/{X}")
    _read_links(a, obj, path)
    a.urn = dec.kind.urn(agency, artefact_id, version)
    return a


def _read_links(a: Any, obj: dict, path: str) -> None:
    """What SDMX-JSON says in links (as our writers write them) and the stored form in x-sdmx:
    the `uri` of the self link, and where an external reference's full artefact is (links
    `structure` and `service`: SDMX-ML's structureURL and serviceURL)."""
    for link, lpath in get_objs(obj, "links", path):
        rel = get_str(link, "rel", lpath)
        if rel == "self" and a.uri is None:
            a.uri = get_str(link, "uri", lpath)
        elif rel in ("structure", "service") and a.is_external_reference:
            field = "structure_url" if rel == "structure" else "service_url"
            if getattr(a, field) is None:
                setattr(a, field, get_str(link, "href", lpath))


def decode_nameable(obj: dict, path: str, cls: type, **fields: Any) -> Any:
    return cls(
        id=check_id(get_str(obj, "id", path), path),
        name=istring(read_text(obj, "name", "names", path)),
        description=istring(read_text(obj, "description", "descriptions", path)),
        annotations=decode_annotations(obj, path), **fields,
    )


def from_json(kind: Kind, obj: dict, resolve: Resolver | None) -> common.MaintainableArtefact:
    """Build the SDMX 3.0 family of sdmx1 objects from a stored artefact (or an SDMX-JSON 2.0 /
    2.1 artefact object of another server). Raises CodecError (a ValueError) naming the path
    of anything malformed."""
    fn = DECODERS.get(kind.name)
    if fn is None:
        raise CodecError(f"the codec cannot build a {kind.name}: sdmx1 does not model it")
    expect_obj(obj, "")
    dec = Decoder(resolve, kind)
    dec.x = get_obj(obj, X, "") or {}
    # Building a large scheme makes many objects that point to each other; the cyclic
    # garbage collector would run over and over, for nothing (it is most of the time spent).
    enabled = gc.isenabled()
    gc.disable()
    try:
        artefact = fn(obj, "", dec)
        if dec.written:
            # what a writer needs to write a wildcard reference as it was written
            artefact.written_references = dec.written
        return artefact
    except CodecError:
        raise
    except RecursionError:
        raise CodecError("/: nested too deeply") from None
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        # sdmx1's own checks (e.g. duplicate ids); never let them escape as anything else
        raise CodecError(f"/: {type(exc).__name__}: {exc}") from exc
    finally:
        if enabled:
            gc.enable()


__all__ = ["CodecError", "Decoder", "Encoder", "decode_header", "encode_header", "from_json", "to_json", "X"]
