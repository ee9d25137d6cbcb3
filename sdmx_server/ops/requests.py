"""One record per answered request, the hand-over between the HTTP layer and whatever counts
requests (Prometheus metrics, usage statistics).

The HTTP middleware (api/observe.py) makes one `RequestRecord` when an answer ends (its last
byte sent, or the client gone) and gives it to every registered observer. Routes that know
more than the middleware can see (which dataflow a data query read, which format row the
negotiation picked) say so with `note(scope, ...)` on the request's scope; the middleware
reads it when the answer ends. Observers must not block: they count in memory and write in
batches off the request's path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal

#: Which part of the server answered.
Surface = Literal["rest-v1", "rest-v2", "portal", "admin", "auth", "ops", "static", "other"]

#: The scope key under which routes note what they know (a dict).
NOTES = "sdmx.notes"


@dataclass(frozen=True)
class RequestRecord:
    request_id: str
    method: str
    #: the route's path template (e.g. "/rest/v2/data/{path:path}"), never the raw path
    route: str
    surface: Surface
    status: int
    bytes_sent: int
    #: when the request came (epoch seconds) and how long until its answer ended
    started: float
    seconds: float
    #: token:<id>, user:<name>, jwt:<subject> or anonymous
    consumer: str
    #: the client's address (kept at most a day by usage statistics)
    address: str | None
    #: what the route noted: "dataflows" (tuple of AGENCY:ID(VERSION)), "format" (the media
    #: row's name, e.g. "csv-2.0.0"), "resource" (e.g. "data", "structure", "availability")
    notes: dict = field(default_factory=dict)


Observer = Callable[[RequestRecord], None]


def note(scope: dict, **values) -> None:
    """Tell the request's observers something the route knows (see RequestRecord.notes)."""
    scope.setdefault(NOTES, {}).update(values)
