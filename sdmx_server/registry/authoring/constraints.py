"""Data constraints (SDMX 2.1 content constraints): what a dataflow, a data structure or a
provision agreement allows (role `allowed`) or actually holds (`actual`).

Built as sdmx1's SDMX-ML 3.0 reader builds a DataConstraint: a v30.DataConstraint whose
`content` holds the constrained artefacts; an `include` and an `exclude` cube region, each a
v30.MemberSelection of v30.MemberValues per component (for the time dimension a
v21.RangePeriod, as the reader makes it, or, for a range with one bound, a v30.AfterPeriod or
v30.BeforePeriod); full keys in one v30.DataKeySet. Every component
named must be in each constrained structure, every code in that component's codelist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from dateutil.parser import isoparse
from sdmx.model import common, v21, v30

from sdmx_server.registry.authoring import checks
from sdmx_server.registry.authoring.build import Draft, validity
from sdmx_server.registry.authoring.checks import Fields
from sdmx_server.registry.authoring.errors import Reporter
from sdmx_server.registry.authoring.resolve import Resolver
from sdmx_server.registry.extensions import effective_codes
from sdmx_server.registry.authoring.yamlfile import Entry, Map, Scalar

ROLES = {"allowed": common.ConstraintRoleType.allowable, "actual": common.ConstraintRoleType.actual}
ATTACHMENTS = (("dataflows", "dataflow"), ("datastructures", "datastructure"), ("provision_agreements", "provisionagreement"))
PERIOD_FIELDS = ("start", "end")
KEY_VALIDITY = ("valid_from", "valid_to")


def structure_of(artefact, resolver: Resolver):
    """The data structure a constrained artefact stands for; None when there is none, or when
    what leads to it failed (a dataflow whose data structure was not found keeps sdmx1's empty
    default structure, which must not be checked against)."""
    if resolver.broken(artefact):
        return None
    if isinstance(artefact, common.BaseDataStructureDefinition):
        return artefact
    if isinstance(artefact, common.ProvisionAgreement):
        artefact = artefact.structure_usage
        if resolver.broken(artefact):
            return None
    if isinstance(artefact, common.BaseDataflow):
        return None if resolver.broken(artefact.structure) else artefact.structure
    return None


@dataclass
class _Target:
    artefact: object
    structure: object  # its DSD, or None when that failed (reported where it failed)


def read_dataconstraint(draft: Draft) -> None:
    entry = draft.fields.get("role")
    role = checks.choice(draft.report, draft.what, "role", entry, tuple(ROLES))
    if role is not None:
        draft.artefact.role = common.ConstraintRole(role=ROLES[role])
    given = [name for name, _ in ATTACHMENTS if name in draft.fields]
    if not given:
        draft.report(draft.line, f"{draft.what}: attach the constraint to something: give dataflows, datastructures or provision_agreements")
    elif len(given) > 1:
        draft.report(draft.fields.line_of(given[1]), f"{draft.what}: give only one of dataflows, datastructures or provision_agreements")
    if "keys" in draft.fields and "exclude_keys" in draft.fields:
        draft.report(draft.fields.line_of("exclude_keys"), f"{draft.what}: give either keys or exclude_keys, not both")
    if not any(name in draft.fields for name in ("include", "exclude", "keys", "exclude_keys")):
        draft.report(draft.line, f"{draft.what}: the constraint says nothing: give include, exclude, keys or exclude_keys")


def complete_dataconstraint(draft: Draft, resolver: Resolver) -> None:
    constraint: v30.DataConstraint = draft.artefact
    targets: list[_Target] = []
    for name, kind in ATTACHMENTS:
        for artefact in resolver.artefacts(draft.report, draft.what, name, draft.fields.get(name), kind, draft.agency):
            targets.append(_Target(artefact, structure_of(artefact, resolver)))
        if name in draft.fields:
            break  # only one kind of attachment (reported when several are given)
    constraint.content = {t.artefact for t in targets}
    builder = _Regions(draft, resolver, [t.structure for t in targets if t.structure is not None])
    for name, included in (("include", True), ("exclude", False)):
        region = builder.region(name, included)
        if region is not None:
            constraint.data_content_region.append(region)
    for name, included in (("keys", True), ("exclude_keys", False)):
        if name in draft.fields:
            constraint.data_content_keys = builder.keys(name, included)


class _Regions:
    def __init__(self, draft: Draft, resolver: Resolver, structures: list):
        self.draft, self.resolver, self.structures = draft, resolver, structures
        self.report: Reporter = draft.report
        self.what = draft.what

    def component(self, component_id: str, line: int, where: str, *, dimensions_only: bool = False):
        """The component of that id in the first structure, after checking every structure."""
        found = None
        for dsd in self.structures:
            component = _find(dsd, component_id, dimensions_only)
            if component is None:
                kinds = "dimension" if dimensions_only else "dimension or attribute"
                self.report(line, f"{where}: {_name(dsd)} has no {kinds} {component_id}")
                return None
            found = found or component
        return found

    def codes_ok(self, component_id: str, values: list[tuple[str, int]], where: str) -> bool:
        ok = True
        for dsd in self.structures:
            component = _find(dsd, component_id, False)
            representation = component.local_representation if component is not None else None
            if representation is None:
                continue  # no such component, or its representation failed: both said already
            scheme = representation.enumerated
            if scheme is None or self.resolver.broken(scheme) or self.resolver.broken(scheme, "extends"):
                continue  # uncoded: any value; or its codes are not known (said where they failed)
            codes = effective_codes(scheme) if isinstance(scheme, common.Codelist) else {v.id: v for v in scheme.items}
            for value, line in values:
                if value not in codes:
                    self.report(line, f"{where}: {value} is not a code of {_name(scheme)}, the codelist of {component_id}")
                    ok = False
        return ok

    def region(self, name: str, included: bool) -> common.CubeRegion | None:
        entry = self.draft.fields.get(name)
        if entry is None:
            return None
        if not isinstance(entry.node, Map):
            self.report(entry.key_line, f"{self.what}: {name} must be a mapping of component ids to values, not {entry.node.kind}")
            return None
        if not entry.node.entries:
            self.report(entry.key_line, f"{self.what}: {name} is empty")
        region = common.CubeRegion(included=included)
        for component_id, value in entry.node.entries.items():
            where = f"{self.what}: {name} {component_id}"
            component = self.component(component_id, value.key_line, f"{self.what}: {name}")
            if isinstance(component, common.TimeDimension) and not isinstance(value.node, Map):
                self.report(value.key_line, f"{where}: the time dimension takes a period {{start: ..., end: ...}}, not {value.node.kind}")
                continue
            if isinstance(component, common.TimeDimension) or (component is None and isinstance(value.node, Map)):
                period = self.period(where, value)
                if period is not None and component is not None:
                    region.member[component] = v30.MemberSelection(values_for=component, values=[period])
                continue
            if isinstance(value.node, Map):
                self.report(value.key_line, f"{where}: {{start, end}} is for the time dimension; list the codes of {component_id}")
                continue
            values = checks.scalars(self.report, where, "values", value)
            if values is None or component is None:
                continue
            self.codes_ok(component_id, values, where)
            region.member[component] = v30.MemberSelection(
                values_for=component, values=[v30.MemberValue(value=v) for v, _ in values]
            )
        return region

    def period(self, where: str, entry: Entry):
        fields = Fields(self.report, entry.node, f"{where}", PERIOD_FIELDS)
        if not fields.ok:
            return None
        ends = {}
        for name in PERIOD_FIELDS:
            if name in fields:
                ends[name] = _moment(self.report, where, name, fields.get(name))
        if not ends:
            if not entry.node.entries:
                self.report(entry.key_line, f"{where}: give start, end or both")
            return None
        if None in ends.values():
            return None
        if "start" in ends and "end" in ends and ends["end"] < ends["start"]:
            self.report(fields.line_of("end"), f"{where}: end {ends['end'].date()} is before start {ends['start'].date()}")
            return None
        # SDMX says a range with one bound as "after" or "before" that period
        if "end" not in ends:
            return v30.AfterPeriod(is_inclusive=True, period=ends["start"])
        if "start" not in ends:
            return v30.BeforePeriod(is_inclusive=True, period=ends["end"])
        return v21.RangePeriod(
            start=common.StartPeriod(is_inclusive=True, period=ends["start"]),
            end=common.EndPeriod(is_inclusive=True, period=ends["end"]),
        )

    def keys(self, name: str, included: bool) -> v30.DataKeySet | None:
        nodes = checks.sequence(self.report, self.what, name, self.draft.fields.get(name))
        if nodes is None:
            return None
        if not nodes:
            self.report(self.draft.fields.line_of(name), f"{self.what}: {name} is an empty list")
        keys = []
        seen: dict[tuple, int] = {}
        for node in nodes:
            key = self.key(name, node, seen)
            if key is not None:
                keys.append(key)
        return v30.DataKeySet(included=included, keys=keys)

    def key(self, name: str, node, seen: dict):
        where = f"{self.what}: {name}"
        if not isinstance(node, Map):
            self.report(node.line, f"{where}: a key is a mapping of dimension ids to codes, not {node.kind}")
            return None
        key = v30.DataKey(included=True)
        validity(self.report, where, _Validity(node), key)
        if key.valid_from is not None:
            key.valid_from = str(key.valid_from)
        if key.valid_to is not None:
            key.valid_to = str(key.valid_to)
        ok = True
        for component_id, entry in node.entries.items():
            if component_id in KEY_VALIDITY:
                continue
            component = self.component(component_id, entry.key_line, where, dimensions_only=True)
            if isinstance(component, common.TimeDimension):
                self.report(entry.key_line, f"{where}: a key names dimensions; the time dimension {component_id} belongs in include or exclude")
                ok = False
                continue
            value = checks.text(self.report, where, component_id, entry)
            if value is None or component is None:
                ok = False
                continue
            ok &= self.codes_ok(component_id, [(value, entry.key_line)], f"{where} {component_id}")
            key.key_value[component] = common.ComponentValue(value_for=component, value=value)
        if ok:
            for dsd in self.structures:
                missing = [d.id for d in dsd.dimensions.components
                           if not isinstance(d, common.TimeDimension) and d.id not in node.entries]
                if missing:
                    self.report(node.line, f"{where}: a key names every dimension; this one lacks {', '.join(missing)}")
                    ok = False
                    break
        values = tuple((c.id, v.value) for c, v in key.key_value.items())
        if ok and values in seen:
            self.report(node.line, f"{where}: this key is listed twice (first at line {seen[values]})")
            return None
        seen[values] = node.line
        return key


class _Validity:
    """The valid_from / valid_to entries of a key, read like an artefact's."""

    def __init__(self, node: Map):
        self.entries = {k: v for k, v in node.entries.items() if k in KEY_VALIDITY}
        self.node = node

    def get(self, name):
        return self.entries.get(name)

    def line_of(self, name):
        entry = self.entries.get(name)
        return entry.key_line if entry is not None else self.node.line


def _find(dsd, component_id: str, dimensions_only: bool):
    for component in dsd.dimensions.components:
        if component.id == component_id:
            return component
    if dimensions_only:
        return None
    return next((a for a in dsd.attributes.components if a.id == component_id), None)


def _moment(report: Reporter, where: str, name: str, entry: Entry) -> datetime | None:
    node = checks.scalar(report, where, name, entry)
    if node is None:
        return None
    value = node.value
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = node.text.strip()
    try:
        if isinstance(node, Scalar) and (len(text) in (4, 7, 10) or "T" in text):
            return isoparse(text).replace(tzinfo=None)
    except (ValueError, OverflowError):
        pass
    report(entry.key_line, f"{where}: {name} {text!r} is not a date: write a year (2015), a month (2015-01) or a day (2015-01-31)")
    return None


def _name(artefact) -> str:
    return f"{artefact.maintainer.id}:{artefact.id}({artefact.version})"

