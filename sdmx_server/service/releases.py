"""When a dataflow's data last changed and when they are next published: what a catalogue tells
its readers beside each dataflow.

- `last_updates`: the time of the dataflow's data stamp (store/versions.py), which the store
  moves in the transaction of every applied load that changed something (a load that changed
  nothing keeps it, so "last update" is when the figures last changed, not when someone last
  sent the same file again); an embargoed load counts from its release.
- `next_release`: the earliest publication still to come, from the two places that announce
  one: the release calendar (ops/calendar.py: the first planned release not yet published, a
  day, flagged when its day has passed) and the release time of a pending embargoed load
  (store/embargo.py: an exact time). When both fall on the same day the embargo's time is the
  more precise answer. Only the time is told, never the values: anyone who may see the
  dataflow may know when it will be published, as official statistics announce their releases.

They read small bookkeeping tables (stamps, embargoes, the calendar and the load records it
judges by), never a fact table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Iterable

from sdmx_server.ops.calendar import releases as planned_releases
from sdmx_server.store.database import Database
from sdmx_server.store.embargo import pending_loads
from sdmx_server.store.versions import read_stamps

Flow = tuple[str, str, str]


@dataclass(frozen=True)
class NextRelease:
    """The next publication of a dataflow: on `day` (UTC), at `at` when the time is known (an
    embargoed load's release time); `period` the period its figures cover (SDMX, may be empty);
    `overdue`: a planned day that has passed with nothing published (the calendar's `missing`)."""

    day: date
    at: datetime | None = None
    period: str = ""
    overdue: bool = False


def last_updates(db: Database, flows: Iterable[Flow]) -> dict[Flow, datetime]:
    """The time (UTC) each dataflow's data last changed; dataflows without data are absent."""
    return {flow: changed for flow, (_, changed) in read_stamps(db, list(flows)).items()}


def _ref(flow: Flow) -> str:
    return f"{flow[0]}:{flow[1]}({flow[2]})"


def next_release(db: Database, flows: Iterable[Flow], now: datetime | None = None) -> dict[Flow, NextRelease]:
    """The next publication of each dataflow that has one announced (see the module's docstring)."""
    wanted = {_ref(f): f for f in flows}
    moment = now or datetime.now(timezone.utc)
    candidates: dict[Flow, list[NextRelease]] = {}
    for pending in pending_loads(db):  # in release order: the first after now is the earliest
        if _ref(pending.flow) in wanted and pending.release_at > moment and pending.flow not in candidates:
            at = pending.release_at.astimezone(timezone.utc)
            candidates[pending.flow] = [NextRelease(at.date(), at)]
    seen: set[str] = set()
    for planned in planned_releases(db, list(wanted), now=moment):  # by due day
        if planned.status in ("upcoming", "missing") and planned.flow not in seen:
            seen.add(planned.flow)
            candidates.setdefault(wanted[planned.flow], []).append(
                NextRelease(planned.due, None, planned.period, planned.status == "missing"))
    found = {}
    for flow, options in candidates.items():
        # the earliest day; on the same day, an exact time (the embargo) before a bare day
        first = min(options, key=lambda r: (r.day, r.at is None))
        timed = next((r for r in options if r.at is not None), None)
        if first.overdue and timed is not None:  # a missed day, now scheduled: that time, still delayed
            found[flow] = NextRelease(timed.day, timed.at, first.period, True)
            continue
        period = next((r.period for r in options if r.day == first.day and r.period), "")
        found[flow] = NextRelease(first.day, first.at, period, first.overdue)
    return found
