"""Attacks over HTTP, on SQLite and PostgreSQL: each gets its status, changes nothing, leaks
nothing, and the server stays healthy.

XXE and entity expansion (billion laughs) in structure submissions and data uploads; oversized
and deeply nested XML and JSON bodies; path traversal in ids; SQL injection in data keys, `c[]`
filters and availability queries (the tables and the data stay as they were); NUL bytes; URLs
over the limit; uploads mutated at random (hypothesis). (Files through the command line: tests/test_hostile_input.py; tokens and JWTs:
the access tests.)
"""

from __future__ import annotations

import gzip
import http.client
import time

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from sdmx_server.store.database import Database
from tests.access_support import bearer, user_with_token
from tests.conftest import BACKENDS, serving_content
from tests.datasets import frame, sdmx_csv

LIMIT = 2 * 1024 * 1024
SECRET = "TOP-SECRET-b41e"
CSV = {"Accept": "application/vnd.sdmx.data+csv;version=1.0.0"}
STRUCTURE_XML = {"Content-Type": "application/vnd.sdmx.structure+xml;version=2.1"}
UPLOAD = "/rest/v2/data/dataflow/TEST/DF_A/1.0"


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp(f"attacks-{request.param}")
    (directory / "secret.txt").write_text(SECRET + "\n", encoding="utf-8")
    with serving_content(request.param, directory, max_structure_bytes=LIMIT, max_load_bytes=LIMIT,
                         answer_cache_bytes=0) as running:
        # The attacker holds a token (an insider, or a stolen one): every write below reaches
        # the code that parses, limits and stores, which anonymous writes (401) never do.
        running.auth = bearer(user_with_token(running.settings.database_url, "attacker"))
        with httpx.Client(base_url=running.url, timeout=60, headers=running.auth) as client:
            running.client = client
            running.directory = directory
            running.tables = tables(running.settings.database_url)
            running.data = client.get("/rest/data/DF_A", headers=CSV).content
            yield running


def tables(url: str) -> list[str]:
    # Through the store's own engine: on SQLite a plain create_engine would open the file with
    # Python's sqlite3, a second SQLite library in this process beside the server's ADBC one,
    # and the two release each other's locks ("disk I/O error", see store/sqlite_dbapi.py).
    db = Database(url)
    try:
        return sorted(sa.inspect(db.engine).get_table_names())
    finally:
        db.dispose()


def assert_unharmed(server) -> None:
    """Healthy, with the same tables and the same data as before the attack."""
    assert server.client.get("/health").status_code == 200
    assert tables(server.settings.database_url) == server.tables
    assert server.client.get("/rest/data/DF_A", headers=CSV).content == server.data
    assert server.client.get("/rest/codelist/EVIL").status_code == 404  # no attacker's structure stored


def assert_no_leak(response: httpx.Response) -> None:
    assert SECRET not in response.text and "root:x:0:0" not in response.text


# -- XML entities ---------------------------------------------------------------------------------


def structure_message(prolog: str = "", name: str = "Codes") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}'
        '<mes:Structure xmlns:mes="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"'
        ' xmlns:str="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure"'
        ' xmlns:com="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common">'
        "<mes:Header><mes:ID>H</mes:ID><mes:Test>true</mes:Test><mes:Prepared>2024-01-01T00:00:00</mes:Prepared>"
        '<mes:Sender id="EVIL"/></mes:Header><mes:Structures><str:Codelists>'
        '<str:Codelist agencyID="EVIL" id="CL_X" version="1.0">'
        f'<com:Name xml:lang="en">{name}</com:Name><str:Code id="A"><com:Name xml:lang="en">A</com:Name></str:Code>'
        "</str:Codelist></str:Codelists></mes:Structures></mes:Structure>"
    ).encode()


def data_message(prolog: str = "", value: str = "1") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}'
        '<message:GenericData xmlns:message="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"'
        ' xmlns:generic="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/generic"'
        ' xmlns:common="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common">'
        "<message:Header><message:ID>H</message:ID><message:Test>true</message:Test>"
        "<message:Prepared>2024-01-01T00:00:00</message:Prepared><message:Sender id=\"EVIL\"/>"
        '<message:Structure structureID="S" dimensionAtObservation="TIME_PERIOD">'
        '<common:StructureUsage><Ref agencyID="TEST" id="DF_A" version="1.0"/></common:StructureUsage>'
        "</message:Structure></message:Header><message:DataSet structureRef=\"S\"><generic:Series>"
        '<generic:SeriesKey><generic:Value id="FREQ" value="M"/><generic:Value id="AREA" value="IR"/>'
        '<generic:Value id="SEX" value="F"/></generic:SeriesKey>'
        f'<generic:Obs><generic:ObsDimension value="2020-01"/><generic:ObsValue value="{value}"/></generic:Obs>'
        "</generic:Series></message:DataSet></message:GenericData>"
    ).encode()


def xxe(server) -> str:
    return f'<!DOCTYPE m [<!ENTITY xxe SYSTEM "file://{server.directory / "secret.txt"}">]>'


LAUGHS = ('<!DOCTYPE m [<!ENTITY a "lollollollollollollollollollol">'
          + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9)) + "]>")


def test_xxe_in_a_structure_submission_is_refused_and_reads_nothing(server):
    response = server.client.post("/rest/v2/structure", content=structure_message(xxe(server), "&xxe;"),
                                  headers=STRUCTURE_XML)
    assert response.status_code == 400, response.text[:300]
    assert_no_leak(response)
    assert_unharmed(server)


def test_entity_expansion_in_a_structure_submission_is_refused_at_once(server):
    started = time.monotonic()
    response = server.client.post("/rest/v2/structure", content=structure_message(LAUGHS, "&j;"),
                                  headers=STRUCTURE_XML)
    assert response.status_code == 400 and time.monotonic() - started < 5
    assert_unharmed(server)


@pytest.mark.parametrize("attack", ["xxe", "laughs"])
def test_entities_in_a_data_upload_are_refused_and_change_nothing(server, attack):
    prolog, value = (xxe(server), "&xxe;") if attack == "xxe" else (LAUGHS, "&j;")
    started = time.monotonic()
    response = server.client.post(UPLOAD, content=data_message(prolog, value), headers={"Content-Type": "application/xml"})
    assert response.status_code in (400, 415, 422), response.text[:300]
    assert time.monotonic() - started < 10
    assert_no_leak(response)
    assert_unharmed(server)


# -- oversized and deeply nested bodies -----------------------------------------------------------


def test_an_oversized_structure_submission_is_413(server):
    big = structure_message(name="x" * (LIMIT + 10))
    response = server.client.post("/rest/v2/structure", content=big, headers=STRUCTURE_XML)
    assert response.status_code == 413
    streamed = server.client.post("/rest/v2/structure", content=iter([b"<" * 65536] * 40), headers=STRUCTURE_XML)
    assert streamed.status_code == 413
    assert_unharmed(server)


def test_an_oversized_or_exploding_upload_is_413(server):
    response = server.client.post(UPLOAD, content=b"x" * (LIMIT + 1), headers={"Content-Type": "text/csv"})
    assert response.status_code == 413
    bomb = gzip.compress(sdmx_csv(frame(seed=2, months=1, quarters=0)).encode() + b"\n" * (LIMIT * 4))
    assert len(bomb) < LIMIT
    exploded = server.client.post(UPLOAD, content=bomb, headers={"Content-Type": "text/csv", "Content-Encoding": "gzip"})
    assert exploded.status_code == 413
    assert_unharmed(server)


DEPTH = 100_000


@pytest.mark.parametrize("body, content_type", [
    (b'<?xml version="1.0"?>' + b"<a>" * DEPTH + b"</a>" * DEPTH, "application/vnd.sdmx.structure+xml;version=2.1"),
    (b'{"data": ' + b"[" * DEPTH + b"]" * DEPTH + b"}", "application/vnd.sdmx.structure+json;version=2.0.0"),
    (b'{"data": {"codelists": [' + b'{"x": ' * DEPTH + b"1" + b"}" * DEPTH + b"]}}",
     "application/vnd.sdmx.structure+json;version=2.0.0"),
], ids=["xml", "json-arrays", "json-objects"])
def test_deeply_nested_structure_submissions_are_refused(server, body, content_type):
    response = server.client.post("/rest/v2/structure", content=body, headers={"Content-Type": content_type})
    assert response.status_code in (400, 422), (response.status_code, response.text[:300])
    assert_unharmed(server)


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0"?>' + b"<a>" * DEPTH + b"</a>" * DEPTH,
    b'{"data": {"dataSets": ' + b"[" * DEPTH + b"]" * DEPTH + b"}}",
], ids=["xml", "json"])
def test_deeply_nested_uploads_are_refused(server, body):
    response = server.client.post(UPLOAD, content=body, headers={"Content-Type": "application/octet-stream"})
    assert response.status_code in (400, 415, 422), (response.status_code, response.text[:300])
    assert_unharmed(server)


# -- path traversal -------------------------------------------------------------------------------


def raw(server, method: str, target: str, body: bytes | None = None) -> tuple[int, bytes]:
    """Exactly this request target: no client normalises `..` or re-encodes anything."""
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        headers = dict(server.auth)
        if body is not None:
            headers["Content-Type"] = "application/vnd.sdmx.structure+xml;version=2.1"
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


TRAVERSALS = [
    ("GET", "/rest/codelist/TEST/..%2F..%2F..%2Fetc%2Fpasswd"),
    ("GET", "/rest/codelist/TEST/../../../etc/passwd"),
    ("GET", "/rest/v2/structure/codelist/TEST/..%2F..%2Fsecret.txt/1.0"),
    ("GET", "/rest/schema/dataflow/TEST/..%2F..%2Fsecret.txt/1.0"),
    ("GET", "/rest/v2/schema/dataflow/TEST/..%2Fsecret.txt/1.0"),
    ("GET", "/rest/data/..%2F..%2Fsecret.txt"),
    ("GET", "/rest/v2/data/dataflow/TEST/..%2F..%2Fsecret.txt/1.0"),
    ("GET", "/rest/v2/metadata/metadataset/..%2F..%2F/secret.txt/1.0"),
    ("GET", "/rest/v2/availability/dataflow/TEST/..%2FDF_A/1.0"),
    ("PUT", "/rest/v2/structure/codelist/EVIL/..%2F..%2Fsecret.txt/1.0"),
    ("DELETE", "/rest/v2/structure/codelist/TEST/..%2FCL_AREA/1.0"),
    ("DELETE", "/rest/v2/structure/codelist/TEST/CL_AREA/1.0/..%2F..%2FIR"),
    ("POST", "/rest/v2/data/dataflow/TEST/..%2FDF_A/1.0"),
]


@pytest.mark.parametrize("method, target", TRAVERSALS, ids=[f"{m} {t}" for m, t in TRAVERSALS])
def test_path_traversal_in_ids_is_a_client_error(server, method, target):
    body = structure_message() if method in ("PUT", "POST") else None
    status, answer = raw(server, method, target, body)
    assert status in (400, 404, 405, 422), (status, answer[:300])  # 405: '/' in an id leaves the route
    assert SECRET.encode() not in answer and b"root:x:0:0" not in answer
    assert_unharmed(server)


# -- SQL injection --------------------------------------------------------------------------------


INJECTIONS = [
    "/rest/data/DF_A/M.IR%27%3B%20DROP%20TABLE%20sdmx_artefact%3B--.F",
    "/rest/data/TEST,DF_A%27--,1.0/M.IR.F",
    "/rest/v2/data/dataflow/TEST/DF_A/1.0/M.IR%27%20OR%20%271%27%3D%271.F",
    "/rest/v2/data/dataflow/TEST/DF_A/1.0/*?c[AREA]=%27%3B%20DROP%20TABLE%20sdmx_artefact%3B--",
    "/rest/v2/data/dataflow/TEST/DF_A/1.0/*?c[AREA]=IR%27%20OR%20%271%27%3D%271",
    "/rest/v2/data/dataflow/TEST/DF_A/1.0/*?c[TITLE]=co:%27%20OR%201%3D1--",
    "/rest/v2/data/dataflow/TEST/DF_A/1.0/*?c[TITLE]=sw:%25",
    "/rest/v2/data/dataflow/TEST/DF_A/1.0/*?c[TITLE]=co:Q_",
    "/rest/v2/data/dataflow/TEST/DF_A/1.0/*?c[OBS_VALUE]=ge:0%20OR%201%3D1",
    "/rest/v2/data/dataflow/TEST/DF_A/1.0/*?c[TIME_PERIOD]=2020%27%20OR%20%271%27%3D%271",
    "/rest/v2/data/dataflow/TEST/DF_A/1.0/*?c[AREA%27--]=IR",
    "/rest/v2/data/dataflow/TEST/DF_A/1.0/*?sort=AREA%27--:asc",
    "/rest/v2/data/dataflow/TEST/DF_A/1.0/*?attributes=TITLE%27--",
    "/rest/v2/availability/dataflow/TEST/DF_A/1.0/*/AREA?c[AREA]=%27%3BDROP%20TABLE%20sdmx_artefact%3B--",
    "/rest/v2/availability/dataflow/TEST/DF_A/1.0/M.IR%27--.F",
    "/rest/codelist/TEST/CL_AREA%27%20OR%20%271%27%3D%271",
    "/rest/v2/structure/codelist/TEST%27--/*",
]


@pytest.mark.parametrize("target", INJECTIONS)
def test_sql_injection_in_keys_and_filters_finds_nothing_and_drops_nothing(server, target):
    status, answer = raw(server, "GET", target)
    assert status in (400, 404, 422), (status, answer[:300])  # 422: not a number for OBS_VALUE
    assert_unharmed(server)


def test_a_quote_in_a_filter_value_is_a_value_like_any_other(server):
    """`co:'`, `co:%` and `co:Q_` look for those characters (LIKE's wildcards escaped): no title
    has them, though every title would match `%` and `Q_` as patterns ("... (Q), ...")."""
    for value in ("%27", "%25", "Q_", "%5C"):
        response = server.client.get(f"/rest/v2/data/dataflow/TEST/DF_A/1.0/*?c[TITLE]=co:{value}", headers=CSV)
        assert response.status_code == 404, (value, response.status_code)
    quoted = server.client.get('/rest/v2/data/dataflow/TEST/DF_A/1.0/*?c[TITLE]=co:%22quoted%22', headers=CSV)
    assert quoted.status_code == 200 and quoted.content.count(b"\n") > 1  # what is there is found


# -- NUL bytes and long URLs ----------------------------------------------------------------------


@pytest.mark.parametrize("target", [
    "/rest/data/DF_A/M.IR%00.F",
    "/rest/v2/data/dataflow/TEST/DF_A%00/1.0",
    "/rest/v2/data/dataflow/TEST/DF_A/1.0/*?c[AREA]=IR%00",
    "/rest/v2/structure/codelist/TEST%00/CL_AREA",
    "/rest/codelist/TEST/CL_AREA?detail=%00",
    "/rest/v2/data/dataflow/TEST/DF_A/1.0/*?updatedAfter=2020-01-01T00:00:00%00",
])
def test_nul_bytes_are_a_client_error(server, target):
    status, answer = raw(server, "GET", target)
    assert status in (400, 404), (status, answer[:300])
    assert b"\x00" not in answer
    assert_unharmed(server)


def test_urls_over_the_limit_are_414(server):
    for target in ("/rest/data/DF_A/" + "M." * 5000, "/rest/v2/data/dataflow/TEST/DF_A/1.0/*?c[AREA]=" + "IR," * 3000):
        status, _ = raw(server, "GET", target)
        assert status == 414
    assert_unharmed(server)


# -- uploads mutated at random --------------------------------------------------------------------


@st.composite
def mutated_upload(draw) -> bytes:
    """A valid data message (SDMX-CSV, SDMX-ML generic, or its start) with bytes replaced,
    inserted or cut at random."""
    body = bytearray(draw(st.sampled_from([
        sdmx_csv(frame(seed=3, months=2, quarters=0)).encode(),
        sdmx_csv(frame(seed=3, months=2, quarters=0), version="2.0").encode(),
        data_message(),
    ])))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(body)))
        piece = draw(st.one_of(st.binary(max_size=8), st.sampled_from(
            [b",", b"\n", b'"', b"<", b"&", b"\x00", b"\xff", b"=", b";", b"'", b"NaN", b"1e999", b"<!DOCTYPE"])))
        cut = draw(st.integers(0, 8))
        body[at:at + cut] = piece
    return bytes(body)


@hypothesis_settings(max_examples=60, deadline=None, derandomize=True, database=None,
                     suppress_health_check=list(HealthCheck))
@given(body=mutated_upload())
def test_mutated_uploads_never_fail_the_server(server, body):
    """A dry run (nothing changes, the whole validation runs): an outcome or an SDMX error."""
    response = server.client.post(UPLOAD, content=body, params={"dryRun": "true"},
                                  headers={"Content-Type": "application/octet-stream"})
    assert response.status_code in (200, 400, 413, 415, 422), (response.status_code, body[:400], response.text[:300])
    if response.status_code in (200, 422) and response.headers["content-type"] == "application/json":
        assert response.json()["dryRun"] is True
