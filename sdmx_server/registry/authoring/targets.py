"""References to any artefact or item, for what may point at anything: a categorisation's
artefact, the targets of metadataflows and metadata sets.

Two forms: an SDMX URN (`urn:sdmx:org.sdmx.infomodel.codelist.Code=SSO:CL_INDICATOR(1.0).X`),
or the short `Class=REFERENCE` with the URN's class name and a reference as elsewhere
(`Dataflow=DF_KPI`, `Code=CL_INDICATOR.SUPPORT_RATIO`, `Category=THEMES.PENSIONS.OLD_AGE`).
A metadataflow's targets may use `*` for the agency, id, version or item; there a missing
version means any version.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from sdmx.model import common

from sdmx_server import kinds
from sdmx_server.registry.authoring.checks import check_agency, check_id, check_version
from sdmx_server.registry.authoring.errors import Reporter
from sdmx_server.registry.authoring.references import Ref, kind_of

_URN = re.compile(r"^urn:sdmx:org\.sdmx\.infomodel\.(?P<package>[a-z]+)\.(?P<cls>[A-Za-z]+)=(?P<rest>.+)$")
_SHORT = re.compile(r"^(?P<cls>[A-Za-z]+)=(?P<rest>.+)$")
_REST = re.compile(r"^(?:(?P<agency>[^:()]+):)?(?P<id>[^:().]+)(?:\((?P<version>[^()]*)\))?(?:\.(?P<item>[^:()]+))?$")
WILDCARD = "*"
FORMS = "write a URN, or Class=REFERENCE such as Dataflow=DF_KPI or Code=CL_INDICATOR.SUPPORT_RATIO"

#: URN class -> (kind, is an item class); maintainable classes win over item classes
CLASSES: dict[str, tuple[kinds.Kind, bool]] = {}
for _kind in kinds.KINDS:
    if _kind.item_class and _kind.items in ("flat", "nested"):
        CLASSES.setdefault(_kind.item_class, (_kind, True))
for _kind in kinds.KINDS:
    CLASSES[_kind.urn_class] = (_kind, False)
_BY_LOWER = {name.lower(): name for name in CLASSES}


@dataclass(frozen=True)
class Target:
    kind: kinds.Kind
    is_item: bool
    agency: str
    id: str
    version: str | None
    item: str | None

    def urn(self, version: str | None = None) -> str:
        base = self.kind.urn(self.agency, self.id, version or self.version or WILDCARD)
        if not self.is_item:
            return base
        head, _, rest = base.partition("=")
        return f"{head.rsplit('.', 1)[0]}.{self.kind.item_class}={rest}.{self.item}"

    @property
    def concrete(self) -> bool:
        return WILDCARD not in (self.agency, self.id, self.version, self.item)


def parse_target(text: str, default_agency: str, *, wildcards: bool = False) -> tuple[Target | None, str]:
    """(target, "") or (None, why the text is not one)."""
    text = text.strip()
    m = _URN.match(text)
    short = m is None
    m = m or _SHORT.match(text)
    if m is None:
        return None, f"is not a reference to an artefact: {FORMS}"
    name = _BY_LOWER.get(m["cls"].lower())
    if name is None:
        close = difflib.get_close_matches(m["cls"], list(CLASSES), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return None, f"names no SDMX class {m['cls']!r}{hint}"
    kind, is_item = CLASSES[name]
    if not short and m["package"] != kind.package:
        return None, f"is not a valid URN: {name} is in the package {kind.package}, not {m['package']}"
    rest = _REST.match(m["rest"])
    if rest is None:
        return None, f"is not a valid reference to a {name}: {FORMS}"
    agency, id_, version, item = rest["agency"], rest["id"], rest["version"], rest["item"]
    if not short and agency is None:
        return None, "is not a valid URN: it needs an agency (AGENCY:ID(VERSION))"
    agency = agency or default_agency

    def ok(value: str | None, check) -> bool:
        return value is None or (wildcards and value == WILDCARD) or check(value)

    if not (ok(agency, check_agency) and ok(id_, check_id) and ok(version, check_version)):
        return None, f"is not a valid reference to a {name}: {FORMS}"
    if is_item and item is None:
        return None, f"names a {name} without its item: write {name}=SCHEME.ITEM"
    if not is_item and item is not None:
        return None, f"names a {name}, which has no items; for one of its items use the item's class"
    if item is not None and not all(ok(part, check_id) for part in item.split(".")):
        return None, f"is not a valid reference to a {name}: {FORMS}"
    return Target(kind, is_item, agency, id_, version, item), ""


def resolve_target(resolver, report: Reporter, what: str, name: str, value: str, line: int, agency: str):
    """The artefact or item a target names (no wildcards), or None after reporting why."""
    target, why = parse_target(value, agency)
    if target is None:
        report(line, f"{what}: {name} {value!r} {why}")
        return None
    ref = Ref(target.agency, target.id, target.version, target.item)
    if target.is_item:
        found, why = resolver.index.resolve_item(target.kind.name, ref)
    else:
        found, why = resolver.index.resolve(target.kind.name, ref)
    if found is None:
        report(line, f"{what}: {why}")
    return found


def target_pattern(resolver, report: Reporter, what: str, name: str, value: str, line: int, agency: str) -> str | None:
    """The wildcard URN of a metadataflow target; the parts that are not wildcards must exist."""
    target, why = parse_target(value, agency, wildcards=True)
    if target is None:
        report(line, f"{what}: {name} {value!r} {why}")
        return None
    if WILDCARD not in (target.agency, target.id):
        version = None if target.version == WILDCARD else target.version
        ref = Ref(target.agency, target.id, version, None)
        scheme, why = resolver.index.resolve(target.kind.name, ref)
        if scheme is None:
            report(line, f"{what}: {why}")
            return None
        if target.is_item and target.item != WILDCARD and target.version != WILDCARD:
            found, why = resolver.index.resolve_item(target.kind.name, Ref(target.agency, target.id, version, target.item))
            if found is None:
                report(line, f"{what}: {why}")
                return None
    return target.urn()


def urn_of(obj) -> str | None:
    """The URN of an artefact or of an item in its scheme; None for other objects."""
    if isinstance(obj, common.MaintainableArtefact):
        kind = kind_of(obj)
        return kinds.kind(kind).urn(obj.maintainer.id, obj.id, str(obj.version)) if kind else None
    if isinstance(obj, common.Item):
        scheme = obj.get_scheme()
        kind = kind_of(scheme) if scheme is not None else None
        if kind is None:
            return None
        k = kinds.kind(kind)
        path = obj.hierarchical_id if k.items == "nested" else obj.id
        head, _, rest = k.urn(scheme.maintainer.id, scheme.id, str(scheme.version)).partition("=")
        return f"{head.rsplit('.', 1)[0]}.{k.item_class}={rest}.{path}"
    return None


def matches(pattern: str, urn: str) -> bool:
    """Whether a concrete URN is one a wildcard URN allows."""
    p, u = _URN.match(pattern), _URN.match(urn)
    if p is None or u is None or p["cls"] != u["cls"] or p["package"] != u["package"]:
        return False
    pr, ur = _REST.match(p["rest"]), _REST.match(u["rest"])
    if pr is None or ur is None:
        return False
    for part in ("agency", "id", "version", "item"):
        want, got = pr[part], ur[part]
        if want == WILDCARD:
            continue
        if want != got:
            return False
    return True

