"""When a dataflow's data last changed and when they change next: what a catalogue tells its
readers beside each dataflow.

- `last_updates`: the time of the dataflow's data stamp (store/versions.py), which the store
  moves in the transaction of every applied load that changed something (a load that changed
  nothing keeps it, so "last update" is when the figures last changed, not when someone last
  sent the same file again); an embargoed load counts from its release.
- `next_release`: the earliest scheduled publication still to come. Today that is the release
  time of a pending embargoed load (store/embargo.py); issue 10's release calendar adds its
  announced dates here, in this one function, so that the portal, the calendar and reports
  agree. Only the time is told, never the values: anyone who may see the dataflow may know when
  it will be published, as official statistics announce their releases.

Both read small bookkeeping tables in one query each, never a fact table.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

from sdmx_server.store.database import Database
from sdmx_server.store.embargo import pending_loads
from sdmx_server.store.versions import read_stamps

Flow = tuple[str, str, str]


def last_updates(db: Database, flows: Iterable[Flow]) -> dict[Flow, datetime]:
    """The time (UTC) each dataflow's data last changed; dataflows without data are absent."""
    return {flow: changed for flow, (_, changed) in read_stamps(db, list(flows)).items()}


def next_release(db: Database, flows: Iterable[Flow], now: datetime | None = None) -> dict[Flow, datetime]:
    """The next publication time (UTC) of each dataflow that has one announced after `now`."""
    wanted = set(flows)
    moment = now or datetime.now(timezone.utc)
    found: dict[Flow, datetime] = {}
    for pending in pending_loads(db):  # in release order: the first seen is the earliest
        if pending.flow in wanted and pending.flow not in found and pending.release_at > moment:
            found[pending.flow] = pending.release_at
    return found
