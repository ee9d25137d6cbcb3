"""What validation needs to know beyond the DSD: the dataflow's content constraints, what
the store already holds (for attribute conflicts) and where the submitter may upload.

`ValidationContext.build` reads them once per load (load_incoming does it); `validate` works
without one (then only the DSD's own rules apply), which is what the readers' tests use.

Constraints: the allowed data constraints attached to the dataflow or its DSD
(registry/constraints.py `attached_constraints`, the same lookup the schema API uses), in
their stored form: each a list of cube regions, each region a list of selections
(component id, values, include). Data validation applies them in full, combinations included:
a row must fall in one of a constraint's included regions (when it has any) and in none of its
excluded regions, for every constraint. Time ranges and cascading values are not applied (the
values are taken literally); a selection of no values is left out, as in the schema API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pyarrow as pa


@dataclass(frozen=True)
class Selection:
    component: str
    values: frozenset[str]
    include: bool = True


@dataclass(frozen=True)
class Region:
    selections: tuple[Selection, ...]
    include: bool = True


@dataclass(frozen=True)
class Constraint:
    ref: str  # AGENCY:ID(VERSION), as reports name it
    regions: tuple[Region, ...]


#: (attribute id, attachment dims, {dim: codes} to narrow to) -> Table(attach dims..., value):
#: stored non-null values.
StoredValues = Callable[[str, tuple[str, ...], dict], pa.Table]
#: (attribute id, {dim: code}, value) -> Table(full key columns) of stored observations holding it.
StoredKeys = Callable[[str, dict, str], pa.Table]


@dataclass
class ValidationContext:
    constraints: tuple[Constraint, ...] = ()
    #: None: nothing stored yet (or not asked): no conflict with the store is possible.
    stored_values: StoredValues | None = None
    stored_keys: StoredKeys | None = None
    #: replace-all swaps the whole dataflow: what is stored cannot conflict with the file.
    replaces_everything: bool = False
    #: Where the submitter may upload (DataQuery.region's form; None: everywhere): every row
    #: must lie inside (ingest/permitted.py).
    region: tuple | None = None
    scope: str = ""  # the dataflow, as the region's refusals name it
    _cache: dict = field(default_factory=dict, repr=False)

    def stored(self, attribute_id: str, attach_dims: tuple[str, ...], within: dict | None = None) -> pa.Table | None:
        """The stored values of the attribute per attachment key, narrowed to `within`
        (dimension id -> codes) when given."""
        if self.stored_values is None or self.replaces_everything:
            return None
        key = (attribute_id, attach_dims, repr(sorted((within or {}).items())))
        if key not in self._cache:
            self._cache[key] = self.stored_values(attribute_id, attach_dims, within or {})
        return self._cache[key]

    @classmethod
    def build(cls, db, registry, flow: tuple[str, str, str], shape, action: str) -> "ValidationContext":
        """The constraints of the dataflow and reads of its fact table (if it has one)."""
        from sdmx_server.registry.constraints import attached_constraints
        from sdmx_server.store.attributes import stored_attribute_values, stored_keys_holding
        from sdmx_server.store.tables import find_fact_table, stored_attribute_ids

        entry = registry.entry("dataflow", *flow)
        constraints = tuple(_constraint(c.ref, c.json()) for c in attached_constraints(registry, entry)) \
            if entry is not None else ()
        fact = find_fact_table(db, flow, shape) if db is not None else None
        if fact is None:
            return cls(constraints=tuple(c for c in constraints if c.regions))
        columns = stored_attribute_ids(db, flow)
        return cls(
            constraints=tuple(c for c in constraints if c.regions),
            # An attribute the DSD gained since the table was made has no stored values yet.
            stored_values=lambda attribute, dims, within: (
                stored_attribute_values(db, fact, attribute, dims, within) if attribute in columns else None),
            stored_keys=lambda attribute, where, value: stored_keys_holding(db, fact, attribute, where, value),
            replaces_everything=action == "replace-all",
        )


def _constraint(ref: str, obj: dict) -> Constraint:
    regions = []
    for region in obj.get("cubeRegions") or ():
        if not isinstance(region, dict):
            continue
        selections = []
        for member in ("keyValues", "components"):
            for s in region.get(member) or ():
                if not isinstance(s, dict) or not isinstance(s.get("id"), str):
                    continue
                values = frozenset(_values(s.get("values") or ()))
                if values:
                    selections.append(Selection(s["id"], values, s.get("include", True) is not False))
        if selections:
            regions.append(Region(tuple(selections), region.get("include", True) is not False))
    return Constraint(ref, tuple(regions))


def _values(values) -> list[str]:
    out = []
    for value in values:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict) and isinstance(value.get("value"), str):
            out.append(value["value"])
    return out
