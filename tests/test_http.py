"""HTTP done right, over real HTTP (uvicorn), on SQLite and PostgreSQL: content codings that
stream, validators and 304s, kept answers, CORS, OPTIONS/Allow/405/414/HEAD.

Each test runs its own server on its own database (loads change the stamps other tests rely on).
"""

from __future__ import annotations

import gzip
import socket
import time
from pathlib import Path

import brotli
import httpx
import pytest
import zstandard

from tests.conftest import fresh_database, running_server
from tests.datasets import CONTENT, FLOW_A, FLOW_B, frame, sdmx_csv
from tests.xsd import assert_valid

CSV = "application/vnd.sdmx.data+csv;version=1.0.0"
DATA_A = "data/TEST,DF_A,1.0"
DATA_B = "data/TEST,DF_B,1.0"


def load(settings, flow, seed: int, directory: Path, months: int = 24) -> None:
    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data
    from sdmx_server.store.database import Database

    db = Database(settings.database_url)
    path = directory / f"{flow[1]}-{seed}.csv"
    path.write_text(sdmx_csv(frame(seed=seed, months=months), flow), encoding="utf-8")
    loaded = load_data(db, _registry(db), flow, path, "merge", settings)
    db.dispose()
    assert loaded.applied, loaded.report.text()


@pytest.fixture(params=("sqlite", "postgresql"))
def server(request, tmp_path):
    from sdmx_server.boot import create_schema
    from sdmx_server.registry.load import load_structures
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database

    with fresh_database(request.param, tmp_path) as url:
        # Small batches: a few hundred kilobytes of answer come in several writer chunks.
        settings = Settings(database_url=url, data_dir=tmp_path, batch_rows=2000, answer_cache_min_bytes=1024)
        db = Database(url)
        create_schema(db)
        assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings).ok
        db.dispose()
        load(settings, FLOW_A, 1, tmp_path, months=600)
        load(settings, FLOW_B, 2, tmp_path)
        with running_server(settings) as running:
            running.tmp = tmp_path
            yield running


def kept_files(server, count: int) -> list[Path]:
    """The kept answers, once there are `count` (a file is committed just after its last byte
    went out, so it may trail the client's read by a moment)."""
    deadline = time.monotonic() + 5
    while True:
        files = list((server.tmp / "answers").glob("*.answer"))
        if len(files) >= count or time.monotonic() > deadline:
            return files
        time.sleep(0.02)


def fetch(server, path: str, **headers) -> httpx.Response:
    return httpx.get(server.rest(path), headers={"Accept": CSV, **headers}, timeout=60)


def raw_chunks(server, path: str, coding: str) -> tuple[httpx.Response, list[bytes]]:
    """The response, and its body as the HTTP chunks the server sent (chunked encoding parsed
    off a raw socket), still encoded."""
    response = httpx.head(server.rest(path), headers={"Accept": CSV, "Accept-Encoding": coding}, timeout=60)
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(f"GET /rest/{path} HTTP/1.1\r\nHost: x\r\nAccept: {CSV}\r\nAccept-Encoding: {coding}\r\n"
                     "Connection: close\r\n\r\n".encode())
        received = b""
        while data := sock.recv(1 << 20):
            received += data
    head, _, rest = received.partition(b"\r\n\r\n")
    chunks = []
    if b"transfer-encoding: chunked" in head.lower():
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                break
            chunks.append(rest[:size])
            rest = rest[size + 2:]
    else:
        chunks = [rest]
    return response, chunks


DECODE = {"gzip": gzip.decompress, "zstd": lambda b: zstandard.ZstdDecompressor().decompressobj().decompress(b),
          "br": brotli.decompress}


@pytest.mark.parametrize("coding", ["gzip", "zstd", "br"])
def test_codings_decode_to_the_identity_bytes_and_stream(server, coding):
    identity = fetch(server, DATA_A, **{"Accept-Encoding": "identity"})
    assert identity.status_code == 200 and "content-encoding" not in identity.headers
    plain = identity.content
    assert len(plain) > 500_000  # big enough to need several flushes
    response, chunks = raw_chunks(server, DATA_A, coding)
    assert response.status_code == 200
    assert response.headers["content-encoding"] == coding
    assert "accept-encoding" in response.headers["vary"].lower()
    assert DECODE[coding](b"".join(chunks)) == plain
    # Streamed: several chunks, and the first decodes on its own to a part of the answer.
    assert len(chunks) > 2
    if coding == "gzip":
        import zlib

        decoder = zlib.decompressobj(31)
        decoded = b""
        prefixes = []
        for chunk in chunks:
            decoded += decoder.decompress(chunk)
            prefixes.append(len(decoded))
            assert plain.startswith(decoded)
        assert any(0 < n < len(plain) for n in prefixes), prefixes  # a part arrived before the rest


def test_q_values_choose_the_coding(server):
    assert fetch(server, DATA_A, **{"Accept-Encoding": "gzip;q=0.5, br;q=0.9"}).headers["content-encoding"] == "br"
    assert fetch(server, DATA_A, **{"Accept-Encoding": "zstd;q=0, gzip"}).headers["content-encoding"] == "gzip"
    assert "content-encoding" not in fetch(server, DATA_A, **{"Accept-Encoding": "gzip;q=0"}).headers


def test_tiny_bodies_are_not_compressed(server):
    response = httpx.get(server.url + "/api/nowhere", headers={"Accept-Encoding": "gzip"}, timeout=30)
    assert response.status_code == 404 and "content-encoding" not in response.headers


def test_etag_follows_the_dataflow_and_nothing_else(server):
    first = fetch(server, DATA_A)
    again = fetch(server, DATA_A)
    tag = first.headers["etag"]
    assert tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/")
    assert again.headers["etag"] == tag
    assert first.headers["last-modified"]
    assert "must-revalidate" in first.headers["cache-control"] and "public" in first.headers["cache-control"]
    assert {v.strip() for v in first.headers["vary"].split(",")} >= {"Accept", "Accept-Encoding", "Accept-Language"}
    # Another representation, another tag.
    assert fetch(server, DATA_A, Accept="application/vnd.sdmx.genericdata+xml;version=2.1").headers["etag"] != tag
    assert fetch(server, DATA_A + "/M.IR.F").headers["etag"] != tag
    # A load of another dataflow changes nothing here.
    tag_b = fetch(server, DATA_B).headers["etag"]
    load(server.settings, FLOW_B, 7, server.tmp)
    assert fetch(server, DATA_A).headers["etag"] == tag
    assert fetch(server, DATA_B).headers["etag"] != tag_b
    # A load of this one does.
    load(server.settings, FLOW_A, 8, server.tmp)
    changed = fetch(server, DATA_A)
    assert changed.headers["etag"] != tag
    assert changed.content != first.content


def test_media_type_parameters_are_part_of_the_tag(server):
    # labels=both changes the bytes as much as another format: never the id-only answer's tag,
    # nor its kept answer (api/answers.py keys kept answers by the tag).
    csv2 = "application/vnd.sdmx.data+csv;version=2.0.0"
    plain = fetch(server, DATA_A, Accept=csv2)
    labelled = fetch(server, DATA_A, Accept=csv2 + ";labels=both")
    assert plain.headers["etag"] != labelled.headers["etag"]
    assert plain.content != labelled.content and b"FREQ: " in labelled.content.splitlines()[0]
    again = fetch(server, DATA_A, Accept=csv2 + ";labels=both")
    assert again.headers["etag"] == labelled.headers["etag"] and again.content == labelled.content
    assert fetch(server, DATA_A, Accept=csv2, **{"If-None-Match": labelled.headers["etag"]}).status_code == 200


def test_304_on_if_none_match_and_if_modified_since(server):
    first = fetch(server, DATA_A, **{"Accept-Encoding": "gzip"})
    tag, modified = first.headers["etag"], first.headers["last-modified"]
    assert tag.endswith('-gzip"')
    for headers in ({"If-None-Match": tag}, {"If-None-Match": f'"nope", W/{tag}'}, {"If-None-Match": "*"},
                    {"If-Modified-Since": modified}):
        response = fetch(server, DATA_A, **headers)
        assert response.status_code == 304, headers
        assert response.content == b""
    for headers in ({"If-None-Match": tag, "Accept-Encoding": "gzip"}, {"If-Modified-Since": modified, "Accept-Encoding": "gzip"}):
        assert fetch(server, DATA_A, **headers).headers["etag"] == tag  # the 304 repeats the 200's tag
    # If-None-Match wins over If-Modified-Since.
    assert fetch(server, DATA_A, **{"If-None-Match": '"other"', "If-Modified-Since": modified}).status_code == 200
    assert fetch(server, DATA_A, **{"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}).status_code == 200
    # Structures too.
    structure = httpx.get(server.rest("dataflow"), timeout=30)
    assert structure.status_code == 200
    again = httpx.get(server.rest("dataflow"), headers={"If-None-Match": structure.headers["etag"]}, timeout=30)
    assert again.status_code == 304


def test_kept_answer_equals_the_first_and_a_load_invalidates_it(server):
    answers = server.tmp / "answers"
    for number, coding in enumerate(("identity", "gzip", "zstd", "br"), start=1):
        first, first_chunks = raw_chunks(server, DATA_A, coding)
        assert len(kept_files(server, number)) == number, "the first full answer was not kept"
        second, second_chunks = raw_chunks(server, DATA_A, coding)
        assert b"".join(second_chunks) == b"".join(first_chunks)  # byte for byte, as encoded
        for name in ("etag", "content-encoding", "content-type", "last-modified"):
            assert second.headers.get(name) == first.headers.get(name), name
    before = fetch(server, DATA_A, **{"Accept-Encoding": "identity"})
    load(server.settings, FLOW_A, 9, server.tmp)
    after = fetch(server, DATA_A, **{"Accept-Encoding": "identity"})
    assert after.headers["etag"] != before.headers["etag"]
    assert after.content != before.content
    assert fetch(server, DATA_A, **{"Accept-Encoding": "identity"}).content == after.content


def test_a_kept_answer_is_what_is_sent(server):
    """A hit really comes from the file: tamper with it and the tampered bytes come back."""
    answers = server.tmp / "answers"
    first = fetch(server, DATA_A, **{"Accept-Encoding": "identity"})
    files = kept_files(server, 1)
    assert len(files) == 1 and files[0].read_bytes() == first.content
    files[0].write_bytes(b"kept")
    assert fetch(server, DATA_A, **{"Accept-Encoding": "identity"}).content == b"kept"
    load(server.settings, FLOW_A, 10, server.tmp)
    assert fetch(server, DATA_A, **{"Accept-Encoding": "identity"}).content != b"kept"


def test_cors_preflight_and_simple_requests(server):
    preflight = httpx.options(server.rest(DATA_A), headers={
        "Origin": "https://portal.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "accept, if-none-match"}, timeout=30)
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "GET" in preflight.headers["access-control-allow-methods"]
    assert "if-none-match" in preflight.headers["access-control-allow-headers"]
    simple = fetch(server, DATA_A, Origin="https://portal.example")
    assert simple.headers["access-control-allow-origin"] == "*"
    exposed = simple.headers["access-control-expose-headers"]
    assert "ETag" in exposed and "Content-Language" in exposed
    assert "access-control-allow-origin" not in fetch(server, DATA_A).headers


@pytest.mark.parametrize("path", ["rest/" + DATA_A, "rest/v2/data/dataflow/TEST/DF_A/1.0", "rest/dataflow/TEST", "rest/v2/structure/dataflow/TEST",
                                  "rest/v2/schema/dataflow/TEST/DF_A/1.0"])
def test_options_allow_405_and_head(server, path):
    url = f"{server.url}/{path}"
    options = httpx.options(url, timeout=30)
    assert options.status_code == 204
    allowed = {m.strip() for m in options.headers["allow"].split(",")}
    assert {"GET", "HEAD", "OPTIONS"} <= allowed
    refused = httpx.patch(url, timeout=30)
    assert refused.status_code == 405
    assert {m.strip() for m in refused.headers["allow"].split(",")} == allowed
    if "/v2/" not in path:
        assert_valid(refused.content)  # an SDMX-ML 2.1 error message
    else:
        assert b"405" in refused.content
    get = httpx.get(url, headers={"Accept-Encoding": "identity"}, timeout=60)
    head = httpx.head(url, headers={"Accept-Encoding": "identity"}, timeout=60)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    for name in ("content-type", "etag", "last-modified", "vary", "cache-control"):
        assert head.headers.get(name) == get.headers.get(name), name


def test_v2_data_has_validators_and_304(server):
    url = f"{server.url}/rest/v2/data/dataflow/TEST/DF_A/1.0"
    first = httpx.get(url, headers={"Accept": "application/vnd.sdmx.data+csv;version=2.0.0"}, timeout=60)
    assert first.status_code == 200 and first.headers["etag"]
    again = httpx.get(url, headers={"Accept": "application/vnd.sdmx.data+csv;version=2.0.0",
                                    "If-None-Match": first.headers["etag"]}, timeout=60)
    assert again.status_code == 304


def test_head_of_missing_data_is_404(server):
    assert httpx.head(server.rest("data/TEST,DF_A,1.0/A.XX.F"), timeout=30).status_code == 404


def test_post_where_only_put_and_delete_exist(server):
    url = f"{server.url}/rest/v2/structure/codelist/TEST/CL_AREA/1.0"
    response = httpx.patch(url, timeout=30)
    assert response.status_code == 405
    assert {"GET", "PUT", "DELETE"} <= {m.strip() for m in response.headers["allow"].split(",")}


def test_over_long_urls_are_414(server):
    key = "+".join(f"X{i:05d}" for i in range(1500))
    for path in (f"rest/data/TEST,DF_A,1.0/M.{key}.F", f"rest/v2/structure/codelist/TEST/{key}"):
        response = httpx.get(f"{server.url}/{path}", timeout=30)
        assert response.status_code == 414
        assert response.headers["cache-control"] == "no-store"
    assert_valid(httpx.get(f"{server.url}/rest/data/TEST,DF_A,1.0/M.{key}.F", timeout=30).content)


def test_errors_are_not_stored(server):
    response = fetch(server, "data/TEST,DF_NONE,1.0")
    assert response.status_code == 404 and response.headers["cache-control"] == "no-store"


def test_raw_socket_head_has_no_body(server):
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"HEAD /rest/{DATA_A} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert body == b""



def test_the_same_answer_is_produced_once_while_others_wait(tmp_path):
    """One read slot, a first client that reads slowly: two more requests for the same full
    answer wait for its kept file instead of needing a read slot of their own (they would get
    503 after read_wait_seconds otherwise)."""
    import threading

    from sdmx_server.boot import create_schema
    from sdmx_server.registry.load import load_structures
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database

    with fresh_database("sqlite", tmp_path) as url:
        settings = Settings(database_url=url, data_dir=tmp_path, batch_rows=2000, answer_cache_min_bytes=1024,
                            read_connections=1, read_wait_seconds=0.3)
        db = Database(url)
        create_schema(db)
        assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings).ok
        db.dispose()
        load(settings, FLOW_A, 1, tmp_path, months=600)
        with running_server(settings) as server:
            host, port = server.url.removeprefix("http://").split(":")
            slow = socket.create_connection((host, int(port)), timeout=30)
            slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            slow.sendall(f"GET /rest/{DATA_A} HTTP/1.1\r\nHost: x\r\nAccept: {CSV}\r\nAccept-Encoding: identity\r\n"
                         "Connection: close\r\n\r\n".encode())
            first = slow.recv(100)  # the answer has started: its producer holds the only read slot
            results = []

            def other():
                results.append(httpx.get(server.rest(DATA_A), headers={"Accept": CSV, "Accept-Encoding": "identity"},
                                         timeout=60))

            others = [threading.Thread(target=other) for _ in range(2)]
            for thread in others:
                thread.start()
            time.sleep(1.0)  # longer than read_wait_seconds: a second producer would have had its 503
            received = first
            while data := slow.recv(1 << 16):
                received += data
            slow.close()
            for thread in others:
                thread.join()
            assert [r.status_code for r in results] == [200, 200], [r.text[:200] for r in results]
            assert results[0].content == results[1].content
            # The slow client got its whole answer (chunked: the last chunk is the empty one).
            assert received.startswith(b"HTTP/1.1 200") and received.endswith(b"\r\n0\r\n\r\n")
