"""Reads of the past: the data as of a time, what changed after a time, and every version.

Each read is a *view*: an object that stands where a FactTable stands in store/sql.py
(`name`, `shape`, `columns`, `key_ids`, `table`, `column`), whose `table` is a subquery over
the fact table and its history table (store/history.py). The one SQL builder then adds keys,
`c[]` filters, periods, first/lastN, sorting and paging to it exactly as it does for the
current state; queries of the current state never see this module.

The views, with F the fact table, H its history table, u = UPDATED, r = REPLACED:

- `state(T)` (asOf): F rows with u <= T, and H rows with u <= T < r. Rows older than
  revisions (u null) are older than any T.
- `changed(A, T)` (updatedAfter A, as of T or now): rows of state(T) with u > A.
- `deleted(A, T)`: H rows with CHANGE 'D' and A < r <= T whose key is not in state(T), the
  latest deletion per key only. Their measure and attributes are the values deleted, so that
  `c[]` filters select deletions as they selected the observation; the data service writes
  them as keys alone (a Delete data set without values deletes whole observations).
- `written(v)` and `removed(v)` (includeHistory): the rows load v wrote (u = v, in F or H)
  and the rows it deleted (H rows with CHANGE 'D' and r = v); `versions` lists the loads.

Times are epoch microseconds UTC, as the store keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cached_property

import sqlalchemy as sa

from sdmx_server.registry.shape import DataShape
from sdmx_server.store.database import Database
from sdmx_server.store.history import CHANGE, REPLACED, UPDATED
from sdmx_server.store.tables import FactStandIn, FactTable

#: Stands for "no upper bound" in comparisons of transaction times (BIGINT on both databases).
NOW = 2**62


def epoch_us(moment: datetime) -> int:
    """An aware datetime as epoch microseconds (naive ones are UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_epoch_us(value: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=value)


def fact_with_updated(fact: FactTable) -> sa.Table:
    """The fact table, with its UPDATED column (store/history.py)."""
    return fact.table


def history_table(fact: FactTable) -> sa.Table:
    """The fact table's history table: its columns, UPDATED, REPLACED, REPLACED_BY, CHANGE."""
    return fact.history


@dataclass(frozen=True)
class View(FactStandIn):
    """A FactTable's stand-in for store/sql.py: the rows of one read of the past."""

    fact: FactTable
    kind: str  # state | changed | deleted | written | removed
    as_of: int = NOW  # T
    after: int | None = None  # A (updatedAfter)
    version: int | None = None  # v (includeHistory); None for rows older than revisions

    @property
    def name(self) -> str:
        return f"{self.fact.name}@{self.kind}:{self.after}:{self.as_of}:{self.version}"

    @cached_property
    def table(self) -> sa.Subquery:
        return _view(self).subquery("v")

    def __hash__(self) -> int:
        return hash(self.name)


def _base_columns(fact: FactTable) -> list[str]:
    return [c.name for c in fact.table.columns if c.name != UPDATED]


def _state(fact: FactTable, as_of: int) -> list[sa.Select]:
    f, h = fact_with_updated(fact), history_table(fact)
    names = _base_columns(fact) + [UPDATED]
    current = sa.select(*[f.c[n] for n in names])
    past = sa.select(*[h.c[n] for n in names]).where(_at_or_before(h.c[UPDATED], as_of), h.c[REPLACED] > as_of)
    if as_of < NOW:
        current = current.where(_at_or_before(f.c[UPDATED], as_of))
        return [current, past]
    return [current]  # as of now: the current rows alone


def _at_or_before(updated, moment: int):
    return sa.or_(updated.is_(None), updated <= moment)


def _view(view: View) -> sa.Select | sa.CompoundSelect:
    fact = view.fact
    names = _base_columns(fact) + [UPDATED]
    if view.kind == "state":
        return _union(_state(fact, view.as_of))
    if view.kind == "changed":
        parts = [s.where(s.selected_columns[UPDATED] > view.after) for s in _state(fact, view.as_of)]
        return _union(parts)
    f, h = fact_with_updated(fact), history_table(fact)
    if view.kind == "written":
        match = (lambda t: t.c[UPDATED].is_(None)) if view.version is None else (lambda t: t.c[UPDATED] == view.version)
        return _union([sa.select(*[f.c[n] for n in names]).where(match(f)),
                       sa.select(*[h.c[n] for n in names]).where(match(h))])
    if view.kind == "removed":
        return sa.select(*[h.c[n] for n in names]).where(h.c[CHANGE] == "D", h.c[REPLACED] == view.version)
    if view.kind == "deleted":
        return _deleted(fact, view.after or 0, view.as_of)
    raise ValueError(view.kind)


def _union(parts: list[sa.Select]):
    return parts[0] if len(parts) == 1 else sa.union_all(*parts)


def _deleted(fact: FactTable, after: int, as_of: int) -> sa.Select:
    f, h = fact_with_updated(fact), history_table(fact)
    names = _base_columns(fact) + [UPDATED]
    keys = [fact.columns[k] for k in fact.key_ids]
    later = h.alias("later")
    newer_deletion = sa.exists(sa.select(sa.literal(1)).select_from(later).where(
        *[later.c[k] == h.c[k] for k in keys], later.c[CHANGE] == "D",
        later.c[REPLACED] > h.c[REPLACED], later.c[REPLACED] <= as_of))
    current = f.alias("cur")
    in_state = [sa.exists(sa.select(sa.literal(1)).select_from(current).where(
        *[current.c[k] == h.c[k] for k in keys], *([_at_or_before(current.c[UPDATED], as_of)] if as_of < NOW else [])))]
    if as_of < NOW:
        past = h.alias("past")
        in_state.append(sa.exists(sa.select(sa.literal(1)).select_from(past).where(
            *[past.c[k] == h.c[k] for k in keys], _at_or_before(past.c[UPDATED], as_of), past.c[REPLACED] > as_of)))
    return sa.select(*[h.c[n] for n in names]).where(
        h.c[CHANGE] == "D", h.c[REPLACED] > after, h.c[REPLACED] <= as_of,
        sa.not_(newer_deletion), *[sa.not_(e) for e in in_state])


# -- the loads a history answer shows --------------------------------------------------------------


@dataclass(frozen=True)
class Version:
    """One load in a history answer: when (None: data older than revisions), and whether it
    wrote and/or deleted rows that match the query."""

    tx_time: int | None
    wrote: bool = False
    deleted: bool = False
    when: datetime | None = field(default=None, compare=False)


def versions(db: Database, fact: FactTable, conditions_of, after: int | None, as_of: int) -> list[Version]:
    """The loads that wrote or deleted rows matching the query, oldest first, within
    (after, as_of]. `conditions_of(view)` gives the query's conditions on a view's rows."""
    written = View(fact, "written")  # only for its columns: the statements below name their own
    f, h = fact_with_updated(fact), history_table(fact)
    found: dict[int | None, Version] = {}
    for source, kind in ((f, "wrote"), (h, "wrote"), (h, "deleted")):
        sub = _all_rows(source, fact, kind == "deleted").subquery("v")
        proxy = _Proxy(written, sub)
        stamp = sub.c["sdmx_tx"]
        statement = sa.select(stamp).distinct().where(*conditions_of(proxy))
        if after is not None:
            statement = statement.where(stamp > after)
        statement = statement.where(sa.or_(stamp.is_(None), stamp <= as_of))
        with db.engine.connect() as conn:
            for (tx,) in conn.execute(statement):
                previous = found.get(tx, Version(tx, when=None if tx is None else from_epoch_us(tx)))
                found[tx] = Version(tx, previous.wrote or kind == "wrote", previous.deleted or kind == "deleted",
                                    previous.when)
    return sorted(found.values(), key=lambda v: -1 if v.tx_time is None else v.tx_time)


def _all_rows(source: sa.Table, fact: FactTable, deletions: bool) -> sa.Select:
    names = _base_columns(fact)
    tx = source.c[REPLACED] if deletions else source.c[UPDATED]
    statement = sa.select(*[source.c[n] for n in names], tx.label("sdmx_tx"))
    return statement.where(source.c[CHANGE] == "D") if deletions else statement


@dataclass(frozen=True)
class _Proxy:
    """A view over an arbitrary subquery, for the query's conditions (store/sql.where)."""

    view: View
    sub: sa.Subquery

    @property
    def shape(self) -> DataShape:
        return self.view.shape

    @property
    def table(self):
        return self.sub

    def column(self, component_id: str):
        return self.sub.c[self.view.fact.columns[component_id]]


# -- whether the past can still change ---------------------------------------------------------------


def settled(db: Database, flows: list[tuple[str, str, str]], as_of: datetime) -> bool:
    """Whether the data of these dataflows as of `as_of` can no longer change: each has a
    committed load with a later transaction time (loads of a dataflow are serialised and take
    increasing times, so every later load is later still), and no embargoed load due by then
    awaits its release (a release takes its release time as transaction time)."""
    from sdmx_server.store.embargo import pending_before
    from sdmx_server.store.records import LoadRecord

    records = LoadRecord.__table__
    moment = epoch_us(as_of)
    with db.engine.connect() as conn:
        for flow in flows:
            later = conn.execute(sa.select(sa.literal(1)).where(
                records.c.flow == f"{flow[0]}:{flow[1]}({flow[2]})", records.c.tx_time > moment,
                records.c.status.in_(("applied", "released"))).limit(1)).first()
            if later is None:
                return False
    return not pending_before(db, flows, as_of)
