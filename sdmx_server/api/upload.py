"""Data upload over HTTP: POST /rest/v2/data/dataflow/{agency}/{id}/{version}.

An extension: the REST spec defines maintenance for structures only. The body is a data
message (SDMX-CSV, SDMX-ML or SDMX-JSON), told by its content (Content-Type only refuses what
is plainly no data: a picture, a form); gzip Content-Encoding is accepted. It goes through the
same pipeline as `load-data` (ingest/load.py `load_incoming`), with its record (origin
"upload"), in a worker thread so that the server goes on answering meanwhile; two uploads of
one dataflow queue in the store.

The body is streamed to a temporary file under `settings.max_load_bytes` (counted after
decompression, so that a small gzip bomb is cut off as soon as it expands past the limit),
never held in memory, and deleted when the answer is sent.

Query parameters: `action` (merge, replace, delete, replace-all; default merge), `dryRun`
(true: validate and report, change nothing), `releaseAt` (ISO 8601: embargo until then).

Answers (docs/loading.md): 200 applied, or valid with dryRun; 202 kept for release
(releaseAt); 422 rejected by validation, with the report; all three carry the outcome as JSON.
Errors in the SDMX error format: 400 bad parameters or empty body, 401 without credentials,
403 without an `upload` grant on the dataflow (access/gate.py), 404 a dataflow that is not
loaded or that the uploader may not read, 413 too large, 415 not a data format, 422 a dataflow
whose structures cannot check data.

An uploader granted `upload` on a part of the dataflow only (`--where PROVINCE=IR-07`) sends
rows of that part only: a file with one row outside it is refused whole (422), the report
naming the row and the value ("no rule grants upload on ... for PROVINCE=IR-24"), like every
other validation error (ingest/permitted.py).
"""

from __future__ import annotations

import tempfile
import zlib
from datetime import datetime, timezone

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sdmx_server.api.structures import state_of
from sdmx_server.access.gate import as_region
from sdmx_server.api.access import address_of, gate_of, principal_of
from sdmx_server.api.observe import flow_refs
from sdmx_server.errors import (Forbidden, PayloadTooLarge, SyntaxError_, UnsupportedMediaType,
                                Unprocessable)
from sdmx_server.ingest.load import NOT_DATA, LoadError, LoadRequest, load_incoming
from sdmx_server.ingest.readers import detect, reader_for
from sdmx_server.ops.requests import note
from sdmx_server.types import LOAD_ACTIONS

PARAMETERS = ("action", "dryRun", "releaseAt")
#: Content types that are plainly no data message (anything else is told by the content).
_NOT_DATA_TYPES = ("image/", "audio/", "video/", "multipart/", "application/x-www-form-urlencoded",
                   "application/pdf", "application/zip", "text/html")
_STATUS = {"applied": 200, "released": 200, "validated": 200, "pending": 202, "rejected": 422}
HEAD_BYTES = 64 * 1024


def _parameters(request: Request) -> tuple[str, bool, datetime | None]:
    params = request.query_params
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise SyntaxError_(f"unknown parameter(s) {', '.join(unknown)}: a data upload takes {', '.join(PARAMETERS)}")
    action = params.get("action", "merge")
    if action not in LOAD_ACTIONS:
        raise SyntaxError_(f"action={action!r}: use one of {', '.join(LOAD_ACTIONS)}")
    dry = params.get("dryRun", "false").lower()
    if dry not in ("true", "false"):
        raise SyntaxError_(f"dryRun={params.get('dryRun')!r}: use true or false")
    release = params.get("releaseAt")
    release_at = None
    if release is not None:
        try:
            if not release.strip().isprintable():  # fromisoformat stops at a NUL
                raise ValueError(release)
            release_at = datetime.fromisoformat(release.strip().replace("Z", "+00:00"))
        except ValueError:
            raise SyntaxError_(f"releaseAt={release!r} is not an ISO 8601 time like 2026-12-24T08:00:00Z") from None
        if release_at.tzinfo is None:
            release_at = release_at.replace(tzinfo=timezone.utc)
        try:
            release_at = release_at.astimezone(timezone.utc)
        except OverflowError:  # 9999-12-31T23:59-14:00: no such time in UTC
            raise SyntaxError_(f"releaseAt={release!r} is outside the range of times") from None
    return action, dry == "true", release_at


def _check_content_type(request: Request) -> None:
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type.startswith(_NOT_DATA_TYPES):
        raise UnsupportedMediaType(f"Content-Type {content_type} is not a data message; send SDMX-CSV, SDMX-ML or "
                                   "SDMX-JSON data")


def _decoder(request: Request):
    encoding = (request.headers.get("content-encoding") or "identity").strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(wbits=31)
    raise UnsupportedMediaType(f"Content-Encoding {encoding} is not accepted; send the body as is or gzip")


async def _spool(request: Request, limit: int):
    """The body in a temporary file (decompressed), its size; 413 past `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body ({int(declared):,} bytes) is larger than the limit of {limit:,} bytes")
    decoder = _decoder(request)
    directory = state_of(request).settings.data_dir / "uploads"
    directory.mkdir(parents=True, exist_ok=True)
    f = tempfile.TemporaryFile(dir=directory)
    size = 0
    try:
        async for chunk in request.stream():
            if decoder is not None:
                data = chunk
                while data:
                    if decoder.eof:
                        # Another member: a gzip stream is a series of them (RFC 1952), as
                        # `cat a.gz b.gz` makes; anything else after the end is not gzip (400).
                        decoder = zlib.decompressobj(wbits=31)
                    # Never more than the limit out of one step: a bomb stops here, not in memory.
                    out = decoder.decompress(data, limit - size + 1)
                    size += len(out)
                    if size > limit:
                        raise PayloadTooLarge(f"the body is larger than the limit of {limit:,} bytes once decompressed")
                    f.write(out)
                    data = decoder.unused_data if decoder.eof else decoder.unconsumed_tail
                continue
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"the body is larger than the limit of {limit:,} bytes")
            f.write(chunk)
        if decoder is not None and not decoder.eof and size:
            raise SyntaxError_("the gzip body ends before its end: it was cut off")
    except zlib.error as exc:
        f.close()
        raise SyntaxError_(f"the body is not valid gzip: {exc}") from None
    except BaseException:
        f.close()
        raise
    f.seek(0)
    return f, size


async def upload(request: Request) -> Response:
    state = state_of(request)
    flow = (request.path_params["agency"], request.path_params["id"], request.path_params["version"])
    gate = await run_in_threadpool(gate_of, request)
    # 401 for the anonymous; a dataflow the uploader may not read is not loaded, as far as it
    # can tell; 403 naming the missing rule; else where it may upload (a region, or all).
    allowed = gate.require("upload", "dataflow", flow,
                           f"dataflow {flow[0]}:{flow[1]}({flow[2]}) is not loaded; load its structures first")
    note(request.scope, resource="upload", dataflows=flow_refs([flow]))  # one the uploader may read
    action, dry_run, release_at = _parameters(request)
    if action == "replace-all" and not allowed.whole:
        # The file's rows are checked against the region, but replace-all also empties every
        # row the file does not carry: the other regions' too.
        raise Forbidden(f"replace-all replaces the whole dataflow: no rule grants upload on "
                        f"{flow[0]}:{flow[1]}({flow[2]}) outside your region; use merge, replace or delete")
    _check_content_type(request)
    registry = gate.registry
    f, size = await _spool(request, state.settings.max_load_bytes)
    try:
        if not size:
            raise SyntaxError_("the request has no body; send a data message")
        fmt = detect(f.read(HEAD_BYTES))
        note(request.scope, format=fmt or "unknown")
        reader = reader_for(fmt) if fmt else None
        if reader is None:
            raise UnsupportedMediaType(f"the body is {NOT_DATA}")
        load = LoadRequest(flow, "upload", action, origin="upload", submitted_by=gate.principal.identity,
                           dry_run=dry_run, release_at=release_at, region=as_region(allowed),
                           principal=principal_of(request), address=address_of(request))

        def read(shape, report):
            f.seek(0)  # detection read the head
            return reader(f, shape, flow, report)

        try:
            outcome = await run_in_threadpool(load_incoming, state.db, registry, load, read, state.settings)
        except LoadError as exc:
            raise Unprocessable(str(exc)) from None
    finally:
        f.close()
    body = outcome.as_json()
    body["dryRun"] = dry_run
    return Response(orjson.dumps(body, option=orjson.OPT_INDENT_2), status_code=_STATUS.get(outcome.status, 500),
                    media_type="application/json", headers={"Cache-Control": "no-store"})


routes = [
    Route("/rest/v2/data/dataflow/{agency}/{id}/{version}", upload, methods=["POST"]),
]
