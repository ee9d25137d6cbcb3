"""Validators of answers: ETag and Last-Modified, and 304 Not Modified.

An answer's ETag is a digest of what its bytes depend on, and of nothing else:
- the representation asked for: path, query parameters, the negotiated media type row and the
  label languages (Accept-Language);
- for data: the data stamp of each dataflow read (store/versions.py, bumped by every load in
  its transaction) and the registry generation of the last change to the dataflow, its DSD
  and what they use (codelists, concept schemes): a load of another dataflow or a change to
  an unrelated structure leaves it as it is;
- for structures and schemas: the registry generation (any change may change a reference).
The content coding is part of the representation too: the HTTP middleware appends it to the
tag ("-gzip") when it encodes. Comparing an If-None-Match tag ignores that suffix: an answer
unchanged in one coding is unchanged in all.

Last-Modified is the newest change time among the same inputs (seconds, as HTTP dates are).

An `asOf` answer for a settled past time (a later load has committed, no embargoed release
due by then is pending) depends on no data stamp: its tag stays when later loads come, and
its Last-Modified is that time. `updatedAfter` and `includeHistory` answers carry the stamps
like any other: they change with every load.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response

from sdmx_server.formats.media import MediaType
from sdmx_server.registry.index import Entry, Registry
from sdmx_server.store.database import Database
from sdmx_server.store.history_sql import settled as settled_past
from sdmx_server.store.versions import read_stamps

#: Headers a 304 repeats from the 200 it stands for (RFC 9110 15.4.5).
REPEATED = ("etag", "last-modified", "cache-control", "vary", "content-location", "expires")
#: Codings the middleware may append to a tag (see api/encoding.py).
CODING_SUFFIXES = ("-gzip", "-zstd", "-br")


@dataclass(frozen=True)
class Validators:
    etag: str  # quoted, strong: '"0f3a..."'
    last_modified: datetime | None
    #: The answer shows what not everyone may see (embargoed values): `Cache-Control: private`.
    private: bool = False

    def headers(self) -> dict[str, str]:
        headers = {"ETag": self.etag}
        if self.last_modified is not None:
            headers["Last-Modified"] = format_datetime(self.last_modified.replace(microsecond=0), usegmt=True)
        return headers


def representation(request: Request, row: MediaType, languages, parameters: dict[str, str] | None = None) -> list[str]:
    """What the client asked for, as parts of the tag: path, sorted query, format, languages,
    and the media-type parameters it gave with the format (`labels=both`, `timeFormat=...`
    change the bytes as much as the format does)."""
    query = sorted(request.query_params.multi_items())
    parts = [request.url.path, repr(query), row.content_type, repr(languages)]
    if parameters:
        parts.append(repr(sorted((k.lower(), v) for k, v in parameters.items())))
    return parts


def make(parts: list[str], last_modified: datetime | None) -> Validators:
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()
    return Validators(f'"{digest}"', last_modified)


def structure_validators(state, request: Request, row: MediaType, languages, view: str = "") -> Validators:
    """`view`: the asker's view of the registry (registry/visibility.py View.key; "" for the
    public's): who sees other artefacts gets other tags, and other kept answers."""
    registry = state.registry()
    parts = representation(request, row, languages) + [f"g{registry.generation}"]
    if view:
        parts.append(f"view={view}")
    return make(parts, generation_time(state.db, registry.generation))


def data_validators(state, request: Request, row: MediaType, languages,
                    flows: list[tuple[str, str, str]], as_of: datetime | None = None,
                    parameters: dict[str, str] | None = None, pending: dict[tuple, str] | None = None,
                    regions: dict[tuple[str, str, str], str] | None = None) -> Validators:
    """For an answer that reads these dataflows (their data and their structures); `as_of`:
    the answer is the data as of that time (asOf); `parameters`: of the negotiated media type;
    `pending`: dataflows whose pending embargoed loads the answer shows, with their ids
    (service/preview.py): its tag is one nobody else's answer has, and moves at each release;
    `regions`: per dataflow read within cube regions only, the allowance's fingerprint
    (access/rules.py): principals reading different parts get different tags and kept
    answers, while a whole read keeps the tag it always had."""
    registry = state.registry()
    stamps = read_stamps(state.db, flows)
    parts = representation(request, row, languages, parameters)
    times = []
    generation = 0
    settled = as_of is not None and settled_past(state.db, flows, as_of)
    for flow in flows:
        stamp, changed = stamps.get(flow, ("-", None))
        # Structures change labels, codes and attributes of any answer, of the past too.
        generation = max(generation, structures_generation(registry, flow))
        if settled:
            # The data as of a settled past time never change: the tag outlives later loads,
            # and so does the kept answer (api/answer_cache.py).
            parts.append(f"{flow}=as-of")
            if regions and flow in regions:
                parts.append(f"{flow}@{regions[flow]}")
            times.append(as_of)
            continue
        parts.append(f"{flow}={stamp}")
        if regions and flow in regions:
            parts.append(f"{flow}@{regions[flow]}")
        if changed is not None:
            times.append(changed)
    parts.append(f"s{generation}")
    structures_time = generation_time(state.db, generation)
    if structures_time is not None:
        times.append(structures_time)
    parts += [f"{flow}~embargoed={ids}" for flow, ids in sorted((pending or {}).items())]
    validators = make(parts, max(times) if times else None)
    return replace(validators, private=True) if pending else validators


def not_modified(request: Request, validators: Validators) -> bool:
    """RFC 9110 13.2.2: If-None-Match decides when present; If-Modified-Since only without it."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        return _tag_matches(if_none_match, validators.etag)
    since = request.headers.get("if-modified-since")
    if since and validators.last_modified is not None:
        try:
            when = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False  # an invalid date is ignored (13.1.3)
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return validators.last_modified.replace(microsecond=0) <= when
    return False


def not_modified_response(validators: Validators, headers: dict[str, str], coding: str = "identity") -> Response:
    """The 304, with the ETag the 200 would carry in the request's content coding."""
    kept = {k: v for k, v in headers.items() if k.lower() in REPEATED}
    repeated = validators.headers()
    if coding != "identity":
        repeated["ETag"] = validators.etag[:-1] + f'-{coding}"'
    return Response(status_code=304, headers={**kept, **repeated})


def _tag_matches(header: str, etag: str) -> bool:
    ours = _base(etag)
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*":
            return True
        if candidate.startswith("W/"):  # weak comparison for GET and HEAD
            candidate = candidate[2:]
        if _base(candidate) == ours:
            return True
    return False


def _base(tag: str) -> str:
    tag = tag.strip().strip('"')
    for suffix in CODING_SUFFIXES:
        if tag.endswith(suffix):
            return tag[: -len(suffix)]
    return tag


# -- what structures a dataflow's answers depend on ---------------------------------------------------

_lock = threading.Lock()
#: registry index -> dataflow -> generation; an index never changes, a new one is a new key.
_flow_generations: "weakref.WeakKeyDictionary[Registry, dict[tuple, int]]" = weakref.WeakKeyDictionary()
_generation_times: dict[tuple[str, int], datetime | None] = {}


def structures_generation(registry: Registry, flow: tuple[str, str, str]) -> int:
    """The newest registry generation among the dataflow, its DSD and what they refer to
    (codelists, concept schemes): the structures that shape its data answers and labels."""
    with _lock:
        known = _flow_generations.setdefault(registry, {})
        found = known.get(flow)
    if found is not None:
        return found
    entry = registry.entry("dataflow", *flow)
    newest = 0
    if entry is not None:
        seen: set = set()
        todo: list[Entry] = [entry]
        depth = {entry.key: 0}
        while todo:
            current = todo.pop()
            if current.key in seen:
                continue
            seen.add(current.key)
            newest = max(newest, current.generation)
            if depth[current.key] < 3:  # dataflow -> DSD -> concept schemes, codelists
                for child in registry.children_of(current):
                    depth.setdefault(child.key, depth[current.key] + 1)
                    todo.append(child)
    with _lock:
        known[flow] = newest
    return newest


def generation_time(db: Database, generation: int) -> datetime | None:
    """When the registry reached this generation (its changes never change afterwards)."""
    key = (str(db.url), generation)
    with _lock:
        if key in _generation_times:
            return _generation_times[key]
    from sdmx_server.registry.store import ArtefactChange

    table = ArtefactChange.__table__
    with db.engine.connect() as conn:
        when = conn.execute(sa.select(sa.func.max(table.c.at)).where(table.c.generation == generation)).scalar()
    if isinstance(when, str):
        when = datetime.fromisoformat(when)
    if when is not None:
        when = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
    with _lock:
        _generation_times[key] = when
    return when
