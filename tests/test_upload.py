"""Data upload over real HTTP: POST /rest/v2/data/dataflow/{agency}/{id}/{version}.

Each status the upload answers (docs/loading.md), on SQLite and PostgreSQL: applied, dry run,
rejected with its report, bad parameters, unknown dataflow, too large, not data, refused from
another machine; a dry run and a rejected upload change nothing; hostile bodies (a gzip bomb,
an endless body) are cut off at the limit without the server's memory growing with them.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import json

import httpx
import pandas as pd
import psutil
import pytest

from sdmx_server.boot import create_schema
from sdmx_server.registry.load import load_structures
from sdmx_server.settings import Settings
from sdmx_server.store.database import Database
from tests.principals import writes
from tests.conftest import BACKENDS, fresh_database, running_server
from tests.datasets import CONTENT, frame, sdmx_csv

PATH = "/rest/v2/data/dataflow/TEST/DF_A/1.0"
LIMIT = 2 * 1024 * 1024


@pytest.fixture(params=BACKENDS)
def server(request, tmp_path):
    with fresh_database(request.param, tmp_path) as url:
        settings = Settings(database_url=url, data_dir=tmp_path, max_load_bytes=LIMIT, answer_cache_bytes=0)
        db = Database(url)
        create_schema(db)
        assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings).ok
        db.dispose()
        with running_server(settings, writes) as running:
            with httpx.Client(base_url=running.url, timeout=60) as client:
                running.client = client
                yield running


def post(server, body, params=None, **headers):
    headers.setdefault("Content-Type", "text/csv")
    return server.client.post(PATH, content=body, params=params or {}, headers=headers)


def served(server) -> pd.DataFrame | None:
    answer = server.client.get("/rest/v2/data/dataflow/TEST/DF_A/1.0/*",
                               headers={"Accept": "application/vnd.sdmx.data+csv;version=2.0.0"})
    if answer.status_code == 404:
        return None
    assert answer.status_code == 200, answer.text
    df = pd.read_csv(io.StringIO(answer.text), dtype=str, keep_default_na=False)
    return df[["FREQ", "AREA", "SEX", "TIME_PERIOD", "OBS_VALUE"]].sort_values(
        ["FREQ", "AREA", "SEX", "TIME_PERIOD"]).reset_index(drop=True)


def test_an_upload_is_applied_and_served(server):
    df = frame(months=3, quarters=1)
    answer = post(server, sdmx_csv(df).encode())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "applied" and body["dryRun"] is False
    assert body["dataflow"] == "TEST:DF_A(1.0)" and isinstance(body["load"], int)
    assert body["report"]["valid"] is True and body["report"]["rowsRead"] == len(df)
    assert body["report"]["source"] == "upload" and body["report"]["format"] == "SDMX-CSV 1.0"
    assert sum(body["counts"].values()) == len(df)
    got = served(server)
    assert got is not None and len(got) == len(df)
    expected = df[["FREQ", "AREA", "SEX", "TIME_PERIOD"]].sort_values(["FREQ", "AREA", "SEX", "TIME_PERIOD"])
    assert got[["FREQ", "AREA", "SEX", "TIME_PERIOD"]].values.tolist() == expected.values.tolist()


def test_gzip_bodies_are_accepted(server):
    df = frame(months=2, quarters=0)
    answer = post(server, gzip.compress(sdmx_csv(df).encode()), **{"Content-Encoding": "gzip"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["report"]["rowsRead"] == len(df)


def test_a_gzip_body_of_several_members_is_read_whole(server):
    # `cat head.csv.gz rest.csv.gz`: one gzip stream of two members (RFC 1952). Reading only
    # the first would load part of the file, and with replace-all delete the rest.
    df = frame(months=4, quarters=0)
    text = sdmx_csv(df)
    cut = text.index("\n", len(text) // 2) + 1
    body = gzip.compress(text[:cut].encode()) + gzip.compress(text[cut:].encode())
    answer = post(server, body, **{"Content-Encoding": "gzip"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["report"]["rowsRead"] == len(df)
    got = served(server)
    assert got is not None and len(got) == len(df)


def test_bytes_after_the_gzip_end_are_refused(server):
    df = frame(months=2, quarters=0)
    answer = post(server, gzip.compress(sdmx_csv(df).encode()) + b"trailing junk", **{"Content-Encoding": "gzip"})
    assert answer.status_code == 400, answer.text
    assert served(server) is None


def test_a_dry_run_validates_and_changes_nothing(server):
    df = frame(months=2, quarters=0)
    answer = post(server, sdmx_csv(df).encode(), {"dryRun": "true"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "validated" and answer.json()["dryRun"] is True
    assert answer.json()["counts"] is None
    assert served(server) is None


def test_a_rejected_upload_changes_nothing_and_answers_its_report(server):
    good = frame(months=2, quarters=0)
    assert post(server, sdmx_csv(good).encode()).status_code == 200
    before = served(server)
    bad = frame(seed=4, months=2, quarters=0).astype({"OBS_VALUE": object})
    bad.loc[3, "AREA"] = "IR-99"
    bad.loc[6, "OBS_VALUE"] = "1e309"
    answer = post(server, sdmx_csv(bad).encode(), {"action": "replace"})
    assert answer.status_code == 422, answer.text
    report = answer.json()["report"]
    assert answer.json()["status"] == "rejected" and report["valid"] is False
    errors = {(e["row"], e["column"], e["value"], e["rule"]) for e in report["errors"]}
    assert errors == {(5, "AREA", "IR-99", "code"), (8, "OBS_VALUE", "1e309", "number-overflow")}
    assert report["errorCount"] == 2
    pd.testing.assert_frame_equal(served(server), before)


@pytest.mark.parametrize("params, words", [
    ({"action": "upsert"}, "action='upsert'"),
    ({"dryRun": "maybe"}, "dryRun='maybe'"),
    ({"releaseAt": "tomorrow"}, "releaseAt='tomorrow'"),
    ({"releaseAt": "9999-12-31T23:59:59-14:00"}, "outside the range of times"),
    ({"releaseAt": "0001-01-01T00:00:00+14:00", "dryRun": "true"}, "outside the range of times"),
    ({"dryrun": "true"}, "unknown parameter(s) dryrun"),
])
def test_bad_parameters_are_a_400(server, params, words):
    answer = post(server, sdmx_csv(frame(months=1, quarters=0)).encode(), params)
    assert answer.status_code == 400, answer.text
    assert words in answer.text
    assert served(server) is None


def test_an_empty_body_is_a_400(server):
    assert post(server, b"").status_code == 400


def test_an_unknown_dataflow_is_a_404(server):
    answer = server.client.post("/rest/v2/data/dataflow/TEST/DF_NOPE/1.0", content=b"DATAFLOW,FREQ\n",
                                headers={"Content-Type": "text/csv"})
    assert answer.status_code == 404, answer.text
    assert "DF_NOPE" in answer.text


@pytest.mark.parametrize("body, content_type", [
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "image/png"),
    (b"hello, world\n1,2\n", "text/csv"),
    (b"<html><body>no</body></html>", "application/xml"),
])
def test_what_is_not_data_is_a_415(server, body, content_type):
    answer = post(server, body, **{"Content-Type": content_type})
    assert answer.status_code == 415, answer.text


def test_an_unknown_content_encoding_is_a_415(server):
    answer = post(server, b"x", **{"Content-Encoding": "br"})
    assert answer.status_code == 415


def test_a_body_over_the_limit_is_a_413(server):
    too_big = sdmx_csv(frame(months=1, quarters=0)).encode() + b"x" * LIMIT
    assert post(server, too_big).status_code == 413

    def endless():  # no Content-Length: the limit must be counted as it streams
        yield b"DATAFLOW,FREQ,AREA,SEX,TIME_PERIOD,OBS_VALUE\n"
        for _ in range(10_000):
            yield b"TEST:DF_A(1.0),M,IR,F,2020-01,1\n" * 1000

    answer = server.client.post(PATH, content=endless(), headers={"Content-Type": "text/csv"})
    assert answer.status_code == 413, answer.text
    assert served(server) is None


def test_a_gzip_bomb_is_cut_off_without_memory_growing(server):
    bomb = gzip.compress(b"0" * (400 * 1024 * 1024), compresslevel=9)  # 400 MB in about 400 kB
    process = psutil.Process()
    before = process.memory_info().rss
    answer = post(server, bomb, **{"Content-Encoding": "gzip"})
    grown = process.memory_info().rss - before
    assert answer.status_code == 413, answer.text
    assert "decompressed" in answer.text
    assert grown < 100 * 1024 * 1024, f"memory grew by {grown / 1e6:.0f} MB"
    assert not list((server.settings.data_dir / "uploads").iterdir())  # the spooled body is gone


def test_anonymous_uploads_are_refused_from_anywhere(server):
    """Uploads need a principal granted `upload`: the anonymous is a 401, loopback or not."""
    from sdmx_server.api.app import create_app

    app = create_app(server.settings)
    body = sdmx_csv(frame(months=1, quarters=0)).encode()

    async def anonymous(client: tuple[str, int]) -> list[int]:
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://sdmx.example") as remote:
            return [
                (await remote.post(PATH, content=body, headers={"Content-Type": "text/csv"})).status_code,
                (await remote.get("/rest/v2/structure/dataflow/TEST/DF_A/1.0")).status_code,
            ]

    try:
        assert asyncio.run(anonymous(("10.0.0.1", 1234))) == [401, 200]
        assert asyncio.run(anonymous(("127.0.0.1", 1234))) == [401, 200]
    finally:
        app.state.server.close()
    assert served(server) is None


def test_every_upload_keeps_its_record(server):
    post(server, sdmx_csv(frame(months=1, quarters=0)).encode())
    bad = frame(months=1, quarters=0)
    bad.loc[0, "SEX"] = "X"
    post(server, sdmx_csv(bad).encode())
    from sqlmodel import Session, select

    from sdmx_server.store.records import LoadRecord

    db = Database(server.settings.database_url)
    try:
        with Session(db.engine) as session:
            records = list(session.exec(select(LoadRecord).order_by(LoadRecord.id)).all())
    finally:
        db.dispose()
    assert [(r.origin, r.status, r.source) for r in records] == [("upload", "applied", "upload"),
                                                                 ("upload", "rejected", "upload")]
    report = json.loads(records[1].report_json)
    assert [(e["row"], e["column"], e["rule"]) for e in report["errors"]] == [(2, "SEX", "code")]
    applied = json.loads(records[0].report_json)
    assert applied["valid"] is True and applied["rowsRead"] == records[0].observations > 0


FORMATS = {
    "SDMX-ML 2.1 generic": "application/vnd.sdmx.genericdata+xml;version=2.1",
    "SDMX-ML 2.1 structure-specific": "application/vnd.sdmx.structurespecificdata+xml;version=2.1",
    "SDMX-ML 3.0": "application/vnd.sdmx.data+xml;version=3.0.0",
    "SDMX-JSON 2.0": "application/vnd.sdmx.data+json;version=2.0.0",
    "SDMX-JSON 1.0": "application/vnd.sdmx.data+json;version=1.0.0",
}


def served_csv(server) -> str:
    answer = server.client.get("/rest/v2/data/dataflow/TEST/DF_A/1.0/*",
                               headers={"Accept": "application/vnd.sdmx.data+csv;version=2.0.0"})
    assert answer.status_code == 200, answer.text
    header, *rows = answer.text.splitlines()
    return "\n".join([header, *sorted(rows)])


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_data_format_uploads_and_round_trips_with_nan(server, name):
    """Each format the server writes is uploaded back (told by content), special numbers included:
    the served data after the upload equal those before, byte for byte in SDMX-CSV."""
    df = frame(months=2, quarters=1).astype({"OBS_VALUE": object})
    df.loc[1, "OBS_VALUE"] = "NaN"
    df.loc[2, "OBS_VALUE"] = "INF"
    df.loc[3, "OBS_VALUE"] = ""
    assert post(server, sdmx_csv(df).encode()).status_code == 200
    before = served_csv(server)
    assert ",NaN," in before and ",INF," in before
    message = server.client.get("/rest/v2/data/dataflow/TEST/DF_A/1.0/*", headers={"Accept": FORMATS[name]})
    assert message.status_code == 200, message.text
    wipe = post(server, b"DATAFLOW,FREQ,AREA,SEX,TIME_PERIOD\nTEST:DF_A(1.0),,,,\n", {"action": "delete"})
    assert wipe.status_code == 200, wipe.text
    assert served(server) is None
    answer = post(server, message.content, **{"Content-Type": FORMATS[name]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["report"]["rowsRead"] == len(df)
    assert served_csv(server) == before


def test_two_uploads_of_one_dataflow_at_once_both_succeed(server):
    """The loads queue in the store: the second waits for the first, then applies."""
    import concurrent.futures

    first = frame(seed=1, months=12, quarters=4)
    second = frame(seed=2, months=12, quarters=4)
    bodies = [sdmx_csv(first).encode(), sdmx_csv(second).encode()]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda body: post(server, body), bodies))
    assert [a.status_code for a in answers] == [200, 200], [a.text[:300] for a in answers]
    got = served(server)
    assert len(got) == len(first)


def test_an_upload_with_release_at_is_kept_until_then(server):
    import time
    from datetime import datetime, timedelta, timezone

    df = frame(months=1, quarters=0)
    at = (datetime.now(timezone.utc) + timedelta(seconds=2)).isoformat()
    answer = post(server, sdmx_csv(df).encode(), {"releaseAt": at})
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "pending"
    assert served(server) is None
    deadline = time.monotonic() + 30
    while served(server) is None:
        assert time.monotonic() < deadline, "the embargoed upload was never released"
        time.sleep(0.5)
    assert len(served(server)) == len(df)
    past = (datetime.now(timezone.utc) - timedelta(seconds=5)).isoformat()
    again = post(server, sdmx_csv(frame(seed=5, months=1, quarters=0)).encode(), {"releaseAt": past})
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "released"


@pytest.mark.parametrize("name", [n for n in sorted(FORMATS) if n.startswith("SDMX-ML")])
def test_series_longer_than_the_readers_free_interval_upload_whole(server, name):
    """SDMX-ML readers free parsed observations as they go (every 1,024 of a series): a series
    of 1,100 observations must still come in whole."""
    df = frame(months=1100, quarters=0)
    assert post(server, sdmx_csv(df).encode()).status_code == 200
    before = served_csv(server)
    message = server.client.get("/rest/v2/data/dataflow/TEST/DF_A/1.0/*", headers={"Accept": FORMATS[name]})
    answer = post(server, message.content, {"action": "replace-all"}, **{"Content-Type": FORMATS[name]})
    assert answer.status_code == 200, answer.text[:500]
    assert answer.json()["report"]["rowsRead"] == len(df)
    assert answer.json()["counts"]["unchanged"] == len(df)
    assert served_csv(server) == before
