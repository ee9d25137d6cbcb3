"""The release calendar: when each dataflow's figures are planned to be published, and whether
they were.

A planned release is a dataflow, the period its figures cover (SDMX, e.g. `2026-11`,
`2026-Q3`; may be empty), the day it is due and a note in both languages. Releases come from
the authoring files beside the dataflows (`releases:` in dsd/, ops/calendar_authoring.py;
origin `authored`, replaced whenever the files are loaded again) or from administrators
(origin `admin`, /admin/api/releases; kept when files are reloaded).

Whether a release happened is read from the load records, never declared: a release is
published by the first load of its dataflow that changed something (applied, or an embargoed
load released: its transaction time is the publication time) after the previous planned
release of that dataflow was due and after the period it covers ended (unless the release is
planned before that end, as norms set ahead of their year are; a first release with neither
bound looks back a year). One load may publish several outstanding releases (a unit that
catches up sends the months it owes at once). Its status:

- `upcoming`: due in the future and not published yet;
- `on-time`: published by the end of its due day;
- `late`: published after its due day (`published_at` says when);
- `missing`: its due day has passed and nothing was published: late and still outstanding.

`late` and `missing` are what the calendar flags. Days are calendar days in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Literal

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, select

from sdmx_server.store.database import Database
from sdmx_server.store.records import LoadRecord

ReleaseStatus = Literal["upcoming", "on-time", "late", "missing"]
RELEASE_STATUSES: tuple[ReleaseStatus, ...] = ("upcoming", "on-time", "late", "missing")
ReleaseOrigin = Literal["authored", "admin"]

#: How far back a dataflow's first release looks for its publication when nothing else bounds it.
FIRST_WINDOW = timedelta(days=365)

#: Load statuses whose loads published something (store/records.py LoadStatus).
_PUBLISHED = ("applied", "released")


class PlannedRelease(SQLModel, table=True):
    __tablename__ = "sdmx_release"

    id: int | None = Field(default=None, primary_key=True)
    flow: str = Field(index=True)  # AGENCY:ID(VERSION)
    period: str = Field(default="", sa_column=sa.Column(sa.String(64), nullable=False, server_default=""))
    due: date
    note_fa: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    note_en: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    origin: str = Field(default="admin", sa_column=sa.Column(sa.String(16), nullable=False, server_default="admin"))
    #: where an authored release was written (file:line), for `check` and for people
    source: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    updated_at: float = Field(default=0.0, sa_column=sa.Column(sa.Float, nullable=False, server_default="0"))
    updated_by: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))


def create_calendar_tables(db: Database) -> None:
    SQLModel.metadata.create_all(db.engine, tables=[PlannedRelease.__table__])


@dataclass(frozen=True)
class Plan:
    """A release as authored or sent by an administrator, before it is stored."""

    flow: str
    period: str
    due: date
    note_fa: str = ""
    note_en: str = ""
    source: str = ""


@dataclass(frozen=True)
class Release:
    id: int
    flow: str
    period: str
    due: date
    notes: dict[str, str]
    origin: str
    status: ReleaseStatus
    published_at: datetime | None
    load_id: int | None

    def as_json(self) -> dict:
        return {"id": self.id, "dataflow": self.flow, "period": self.period or None, "due": self.due.isoformat(),
                "notes": self.notes, "origin": self.origin, "status": self.status,
                "late": self.status in ("late", "missing"),
                "published_at": self.published_at.isoformat().replace("+00:00", "Z") if self.published_at else None,
                "load": self.load_id}


# -- changes -------------------------------------------------------------------------------------


def replace_authored(db: Database, flows: Iterable[str], plans: Iterable[Plan], by: str) -> tuple[int, int]:
    """The authored releases of `flows` become `plans` (one transaction); releases made by
    administrators stay. Returns (removed, added)."""
    import time as clock

    flows, plans = set(flows), list(plans)
    stamp = clock.time()
    with Session(db.engine) as session:
        old = session.exec(select(PlannedRelease).where(PlannedRelease.origin == "authored",
                                                        PlannedRelease.flow.in_(sorted(flows)))).all() if flows else []
        for row in old:
            session.delete(row)
        for plan in plans:
            session.add(PlannedRelease(flow=plan.flow, period=plan.period, due=plan.due, note_fa=plan.note_fa,
                                       note_en=plan.note_en, origin="authored", source=plan.source,
                                       updated_at=stamp, updated_by=by))
        session.commit()
    return len(old), len(plans)


def add_release(db: Database, plan: Plan, by: str) -> PlannedRelease:
    import time as clock

    with Session(db.engine) as session:
        row = PlannedRelease(flow=plan.flow, period=plan.period, due=plan.due, note_fa=plan.note_fa,
                             note_en=plan.note_en, origin="admin", source=plan.source,
                             updated_at=clock.time(), updated_by=by)
        session.add(row)
        session.commit()
        session.refresh(row)
        return row


class NoSuchRelease(ValueError):
    status = 404


def update_release(db: Database, release_id: int, by: str, **changes) -> PlannedRelease:
    """Change a release's due day, period or notes; an authored release changed here becomes
    the administrators' (so a reload of the files does not undo the change)."""
    import time as clock

    with Session(db.engine) as session:
        row = session.get(PlannedRelease, release_id)
        if row is None:
            raise NoSuchRelease(f"there is no release {release_id}")
        for name, value in changes.items():
            if value is not None:
                setattr(row, name, value)
        row.origin, row.updated_at, row.updated_by = "admin", clock.time(), by
        session.add(row)
        session.commit()
        session.refresh(row)
        return row


def delete_release(db: Database, release_id: int) -> PlannedRelease:
    with Session(db.engine) as session:
        row = session.get(PlannedRelease, release_id)
        if row is None:
            raise NoSuchRelease(f"there is no release {release_id}")
        session.delete(row)
        session.commit()
        return row


# -- reading, with statuses ----------------------------------------------------------------------


def releases(db: Database, flows: Iterable[str] | None = None, start: date | None = None, end: date | None = None,
             now: datetime | None = None) -> list[Release]:
    """The planned releases (of `flows`, due between `start` and `end` inclusive), each with its
    status as of `now`, ordered by due day. The status of a release depends on the release
    before it, so whole dataflows are judged and then cut to the dates asked for."""
    now = now or datetime.now(timezone.utc)
    with Session(db.engine) as session:
        query = select(PlannedRelease)
        if flows is not None:
            wanted = sorted(set(flows))
            if not wanted:
                return []
            query = query.where(PlannedRelease.flow.in_(wanted))
        rows = session.exec(query.order_by(PlannedRelease.flow, PlannedRelease.due, PlannedRelease.id)).all()
        names = sorted({r.flow for r in rows})
        published = _publications(session, names)
    judged: list[Release] = []
    for flow in names:
        judged += _judge([r for r in rows if r.flow == flow], published.get(flow, []), now)
    return sorted((r for r in judged if (start is None or r.due >= start) and (end is None or r.due <= end)),
                  key=lambda r: (r.due, r.flow, r.period, r.id))


def next_release(db: Database, flow: str, now: datetime | None = None) -> Release | None:
    """The first release of `flow` not yet published (upcoming or missing), if any."""
    waiting = [r for r in releases(db, [flow], now=now) if r.status in ("upcoming", "missing")]
    return waiting[0] if waiting else None


def _publications(session: Session, flows: list[str]) -> dict[str, list[tuple[datetime, int]]]:
    """Per dataflow, when each load that changed something was published, in order."""
    if not flows:
        return {}
    rows = session.exec(select(LoadRecord.flow, LoadRecord.id, LoadRecord.tx_time, LoadRecord.finished_at)
                        .where(LoadRecord.flow.in_(flows), LoadRecord.status.in_(_PUBLISHED),
                               (LoadRecord.added + LoadRecord.changed + LoadRecord.deleted) > 0)).all()
    found: dict[str, list[tuple[datetime, int]]] = {}
    for flow, load_id, tx_time, finished in rows:
        if tx_time is not None:
            when = datetime.fromtimestamp(tx_time / 1e6, timezone.utc)
        elif finished is not None:
            when = finished if finished.tzinfo else finished.replace(tzinfo=timezone.utc)
        else:
            continue
        found.setdefault(flow, []).append((when, load_id))
    for times in found.values():
        times.sort()
    return found


def _end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), timezone.utc)


def _period_end(period: str) -> datetime | None:
    from sdmx_server.query.periods import parse_period

    if not period:
        return None
    try:
        end = parse_period(period).end
    except Exception:  # noqa: BLE001 - a period written by hand that is not SDMX: no bound from it
        return None
    return end if end.tzinfo else end.replace(tzinfo=timezone.utc)


def _judge(rows: list[PlannedRelease], published: list[tuple[datetime, int]], now: datetime) -> list[Release]:
    """A release is published by the first publication after both the end of the previous
    release's due day and the end of the period it covers (figures of a month are not out
    before the month ends)."""
    judged, previous = [], None
    for row in rows:
        period_end = _period_end(row.period)
        if period_end is not None and period_end > _end_of(row.due):  # figures planned ahead (norms)
            period_end = None
        bounds = [b for b in (previous, period_end) if b is not None]
        # A dataflow's first release with no period bound (none given, or planned ahead of its
        # period): a load of the year before its day, not any load ever
        after = max(bounds) if bounds else _end_of(row.due) - FIRST_WINDOW
        first = next(((when, load) for when, load in published if after is None or when >= after), None)
        if first is not None and first[0] < _end_of(row.due):
            status: ReleaseStatus = "on-time"
        elif first is not None:
            status = "late"
        else:
            status = "missing" if now >= _end_of(row.due) else "upcoming"
        judged.append(Release(row.id, row.flow, row.period, row.due, {"fa": row.note_fa, "en": row.note_en},
                              row.origin, status, first[0] if first else None, first[1] if first else None))
        previous = _end_of(row.due)
    return judged
