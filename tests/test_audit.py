"""The audit trail, on SQLite and PostgreSQL.

- Concurrent writers (threads and separate processes) never fork the chain: every entry is
  there once, numbered 1..N, each linked to the one before.
- The database refuses UPDATE and DELETE; with its triggers dropped, an edited, deleted,
  reordered or cut-off entry is found by `verify`, which names the first broken one.
- `sdmx-server audit verify` and `audit list` with every filter.
- `GET /admin/api/audit` over real HTTP: anonymous 401, a non-administrator 403, an
  administrator 200 with the filtered entries.
- A load, an upload (applied, rejected, refused from another machine), a sync, an embargoed
  release, a structure load from the command line and REST maintenance each leave their entry,
  with the right actor, address and outcome; an audit that cannot be written never undoes
  the write.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import sqlalchemy as sa

from sdmx_server.access import audit_log
from sdmx_server.access.audit import AuditEntry, entry_hash, record
from sdmx_server.access.audit_log import check_chain, entries, verify
from sdmx_server.access.principal import COMMAND_LINE, Principal
from sdmx_server.boot import create_schema
from sdmx_server.cli import main
from sdmx_server.registry.load import load_structures
from sdmx_server.settings import Settings
from sdmx_server.store.database import Database
from tests.access_support import bearer, user_with_token
from tests.conftest import ROOT, running_server
from tests.datasets import CONTENT, FLOW_A, frame, sdmx_csv

ALI = Principal(name="ali", groups=frozenset({"tehran"}), method="token", credential="7")
SARA = Principal(name="sara", method="session")


def _all(db: Database) -> list[AuditEntry]:
    return list(reversed(entries(db, limit=None)))


def _write(db: Database, n: int, actor: Principal = COMMAND_LINE, **fields) -> list[int]:
    ids = []
    for i in range(n):
        options = {"action": "data.load", "target": "TEST:DF_A(1.0)", "outcome": "applied", **fields}
        ids.append(record(db, actor=actor, details={"i": i}, **options))
    return ids


# -- the chain under concurrent writers ------------------------------------------------------

WORKER = """
import sys
from sdmx_server.access.audit import record
from sdmx_server.access.principal import Principal
from sdmx_server.store.database import Database
db = Database(sys.argv[1])
who = Principal(name=sys.argv[2], method="token")
for i in range(int(sys.argv[3])):
    assert record(db, actor=who, action="data.upload", target="TEST:DF_A(1.0)", outcome="applied",
                  details={"i": i}) is not None
"""


def test_concurrent_writers_never_fork_the_chain(db, database_url):
    threads_n, processes_n, each = 6, 3, 15
    url = database_url

    def thread_work(k: int):
        mine = Database(url)
        try:
            for i in range(each):
                assert record(mine, actor=Principal(name=f"t{k}", method="token"), action="data.load",
                              target="TEST:DF_A(1.0)", outcome="applied", details={"i": i}) is not None
        finally:
            mine.dispose()

    processes = [subprocess.Popen([sys.executable, "-c", WORKER, url, f"p{k}", str(each)], cwd=ROOT)
                 for k in range(processes_n)]
    threads = [threading.Thread(target=thread_work, args=(k,)) for k in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(p.wait(timeout=300) == 0 for p in processes)

    found = _all(db)
    total = (threads_n + processes_n) * each
    assert [e.id for e in found] == list(range(1, total + 1))
    assert found[0].prev_hash == ""
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(found, found[1:]))
    assert all(entry_hash(e) == e.hash for e in found)
    # Every write is there exactly once: nobody's entry was lost to another's.
    written = sorted((e.actor, json.loads(e.details)["i"]) for e in found)
    expected = sorted((f"user:{w}", i) for w in [f"t{k}" for k in range(threads_n)] +
                      [f"p{k}" for k in range(processes_n)] for i in range(each))
    assert written == expected
    assert check_chain(db) == audit_log.ChainCheck(total, None)


# -- append-only, and tampering --------------------------------------------------------------


def _refused(db: Database, statement: str) -> None:
    with pytest.raises(sa.exc.DBAPIError) as caught, db.engine.begin() as conn:
        conn.exec_driver_sql(statement)
    assert "append-only" in str(caught.value)


def test_the_database_refuses_updates_and_deletes(db):
    _write(db, 3)
    _refused(db, "UPDATE sdmx_audit SET outcome = 'failed' WHERE id = 2")
    _refused(db, "DELETE FROM sdmx_audit WHERE id = 3")
    _refused(db, "UPDATE sdmx_audit_head SET seq = 2")  # the head never goes back
    _refused(db, "DELETE FROM sdmx_audit_head")
    if not db.is_sqlite:
        _refused(db, "TRUNCATE sdmx_audit")
    create_schema(db)  # again: the triggers are there once, and nothing changed
    assert [e.outcome for e in _all(db)] == ["applied"] * 3
    assert verify(db) is None


def _drop_triggers(db: Database) -> None:
    with db.engine.begin() as conn:
        if db.is_sqlite:
            for name in ("sdmx_audit_no_update", "sdmx_audit_no_delete", "sdmx_audit_head_forward",
                         "sdmx_audit_head_no_delete"):
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
        else:
            conn.exec_driver_sql("DROP TRIGGER sdmx_audit_append_only ON sdmx_audit")
            conn.exec_driver_sql("DROP TRIGGER sdmx_audit_head_forward ON sdmx_audit_head")


def _rehash(conn, entry_id: int) -> None:
    """What a careful forger does: the edited entry gets a hash that matches its new content."""
    row = conn.execute(sa.select(AuditEntry.__table__).where(AuditEntry.__table__.c.id == entry_id)).one()
    conn.execute(sa.update(AuditEntry.__table__).where(AuditEntry.__table__.c.id == entry_id)
                 .values(hash=entry_hash(AuditEntry(**row._mapping))))


TAMPERING = {
    # name: (statements, the entry verify names, words of its reason)
    "edited": (["UPDATE sdmx_audit SET outcome = 'rejected' WHERE id = 4"], 4, "changed after it was written"),
    "edited-details": (["UPDATE sdmx_audit SET details = '{\"i\": 99}' WHERE id = 6"], 6, "does not match its hash"),
    "deleted": (["DELETE FROM sdmx_audit WHERE id = 4"], 5, "entry 4 is missing"),
    "two-deleted": (["DELETE FROM sdmx_audit WHERE id IN (3, 4)"], 5, "entries 3 to 4 are missing"),
    "reordered": (["UPDATE sdmx_audit SET id = -4 WHERE id = 4", "UPDATE sdmx_audit SET id = 4 WHERE id = 5",
                   "UPDATE sdmx_audit SET id = 5 WHERE id = -4"], 4, "does not match its hash"),
    "end-cut-off": (["DELETE FROM sdmx_audit WHERE id >= 9"], 9, "entries 9 to 10, the end of the log, removed"),
    "edited-and-rehashed": (["UPDATE sdmx_audit SET actor = 'user:nobody' WHERE id = 4", _rehash], 5,
                            "does not follow entry 4"),
    "end-replaced": (["UPDATE sdmx_audit SET actor = 'user:nobody' WHERE id = 10", _rehash], 10,
                     "not the entry the chain head names"),
    "added-behind-the-lock": (["INSERT INTO sdmx_audit (id, at, actor, method, action, target, outcome, details, "
                               "prev_hash, hash) SELECT 11, at, actor, method, action, target, outcome, details, "
                               "hash, hash FROM sdmx_audit WHERE id = 10"], 11, "does not match its hash"),
}


@pytest.mark.parametrize("tampering", TAMPERING)
def test_tampering_is_found_naming_the_first_broken_entry(db, tampering):
    _write(db, 5, ALI)
    _write(db, 5, SARA, action="data.upload", target="TEST:DF_B(1.0)")
    assert verify(db) is None
    statements, broken_id, reason = TAMPERING[tampering]
    _drop_triggers(db)
    with db.engine.begin() as conn:
        for statement in statements:
            if callable(statement):
                statement(conn, broken_id - 1 if tampering == "edited-and-rehashed" else broken_id)
            else:
                conn.exec_driver_sql(statement)
    broken = verify(db)
    assert broken is not None and broken.id == broken_id, broken
    assert reason in broken.reason, broken


# -- the command line --------------------------------------------------------------------------


@pytest.fixture
def cli(capsys, monkeypatch, database_url, tmp_path):
    monkeypatch.setenv("SDMX_DATABASE_URL", database_url)
    monkeypatch.setenv("SDMX_DATA_DIR", str(tmp_path / "var"))

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:
            code = 1 if isinstance(exc.code, str) else exc.code or 0
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return run


def test_cli_verify_and_list_with_filters(db, cli):
    _write(db, 3, ALI)
    time.sleep(0.05)
    boundary = datetime.now(timezone.utc)
    time.sleep(0.05)
    _write(db, 2, SARA, action="data.upload", target="TEST:DF_B(1.0)", outcome="rejected")
    record(db, actor=ALI, action="structure.replace", target="urn:sdmx:org.sdmx.infomodel.datastructure."
           "Dataflow=TEST:DF_A(1.0)", outcome="ok")
    record(db, actor=ALI, action="grant.add", target="user:sara", outcome="ok")

    assert cli("audit", "verify") == (0, "7 entries, chain intact\n", "")

    def listed(*options) -> list[int]:
        code, out, err = cli("audit", "list", "--json", *options)
        assert code == 0, err
        return [e["id"] for e in json.loads(out)]

    assert listed() == [7, 6, 5, 4, 3, 2, 1]
    assert listed("--subject", "user:ali") == [7, 6, 3, 2, 1]
    assert listed("--subject", "user:sara") == [5, 4]
    # The dataflow of a structure change is told from its URN.
    assert listed("--dataflow", "TEST:DF_A(1.0)") == [6, 3, 2, 1]
    assert listed("--dataflow", "TEST:DF_B") == [5, 4]
    assert listed("--action", "data.*") == [5, 4, 3, 2, 1]
    assert listed("--action", "data.upload") == [5, 4]
    assert listed("--since", boundary.isoformat()) == [7, 6, 5, 4]
    assert listed("--until", boundary.isoformat()) == [3, 2, 1]
    assert listed("--subject", "user:ali", "--since", boundary.isoformat(), "--limit", "1") == [7]
    code, out, _ = cli("audit", "list", "--json", "--limit", "1")
    first = json.loads(out)[0]
    assert (first["actor"], first["method"], first["credential"], first["action"], first["target"],
            first["outcome"]) == ("user:ali", "token", "7", "grant.add", "user:sara", "ok")

    code, out, _ = cli("audit", "list", "--subject", "user:sara")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3 and lines[0].split()[:3] == ["id", "when", "(UTC)"]
    assert [line.split()[0] for line in lines[1:]] == ["5", "4"]
    assert cli("audit", "list", "--since", "yesterday")[0] == 2  # argparse's usage error

    _drop_triggers(db)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE sdmx_audit SET outcome = 'applied' WHERE id = 5")
    code, out, err = cli("audit", "verify")
    assert code == 1 and out == ""
    assert "entry 5: its content does not match its hash" in err and "4 entries intact" in err


# -- the admin endpoint over HTTP ----------------------------------------------------------------


#: The server's users, what each is granted, over `*` or one agency; their tokens are made per server.
USERS = {"root": ("admin", "*"), "ali": ("upload", "TEST:*"), "sara": ("maintain", "*"), "reza": ("read", "TEST:*")}


@pytest.fixture
def server(database_url, tmp_path):
    """A running server with real users, grants and bearer tokens (`server.as_user[name]`: the
    headers to send as them): root administers, ali uploads to TEST, sara maintains, reza reads."""
    settings = Settings(database_url=database_url, data_dir=tmp_path, answer_cache_bytes=0)
    database = Database(database_url)
    create_schema(database)
    assert load_structures(database, [CONTENT / "codelists", CONTENT / "dsd"], settings).ok
    with running_server(settings) as running:
        running.as_user = {name: bearer(user_with_token(database_url, name, action, scope))
                           for name, (action, scope) in USERS.items()}
        with httpx.Client(base_url=running.url, timeout=60) as client:
            running.client = client
            running.db = database
            yield running
    database.dispose()


def test_admin_endpoint_answers_administrators_only(server):
    _write(server.db, 2, ALI)
    _write(server.db, 1, SARA, target="TEST:DF_B(1.0)")
    anonymous = server.client.get("/admin/api/audit")
    assert anonymous.status_code == 401
    for name in ("ali", "sara", "reza"):  # authenticated, but not administrators
        assert server.client.get("/admin/api/audit", headers=server.as_user[name]).status_code == 403, name
    admin = server.as_user["root"]
    answer = server.client.get("/admin/api/audit", headers=admin)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert [e["id"] for e in body["entries"]] == [3, 2, 1] and body["count"] == 3
    assert body["entries"][2]["details"] == {"i": 0} and body["entries"][2]["actor"] == "user:ali"
    assert body["entries"][1]["prev_hash"] == body["entries"][2]["hash"]
    filtered = server.client.get("/admin/api/audit", headers=admin,
                                 params={"subject": "user:ali", "dataflow": "TEST:DF_A(1.0)", "limit": "1"}).json()
    assert [e["id"] for e in filtered["entries"]] == [2]
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    assert server.client.get("/admin/api/audit", headers=admin, params={"since": later.isoformat()}).json() == \
        {"entries": [], "count": 0}
    for bad in ({"limit": "0"}, {"limit": "x"}, {"since": "soon"}, {"who": "ali"}):
        assert server.client.get("/admin/api/audit", headers=admin, params=bad).status_code == 400, bad
    # Reading the log is no write: nothing was added by these requests.
    assert check_chain(server.db).entries == 3


# -- the writes' own entries ---------------------------------------------------------------------


def _only(db: Database, **filters) -> AuditEntry:
    found = entries(db, **filters)
    assert len(found) == 1, [(e.action, e.target, e.outcome) for e in found]
    return found[0]


def test_an_upload_and_a_refused_one_are_audited(server):
    df = frame(months=2, quarters=0)
    path = "/rest/v2/data/dataflow/TEST/DF_A/1.0"
    ali = {"Content-Type": "text/csv", **server.as_user["ali"]}
    answer = server.client.post(path, content=sdmx_csv(df).encode(), headers=ali)
    assert answer.status_code == 200, answer.text
    entry = _only(server.db, action="data.upload")
    details = json.loads(entry.details)
    assert (entry.actor, entry.address, entry.target, entry.dataflow, entry.outcome) == (
        "user:ali", "127.0.0.1", "TEST:DF_A(1.0)", "TEST:DF_A(1.0)", "applied")
    assert details["load"] == answer.json()["load"] and details["origin"] == "upload"
    assert sum(details["counts"].values()) == len(df) and details["rows"] == len(df)

    bad = sdmx_csv(df).replace("IR-23", "XX-99").encode()
    assert server.client.post(path, content=bad, headers=ali).status_code == 422
    rejected = entries(server.db, action="data.upload", limit=1)[0]
    assert (rejected.actor, rejected.outcome) == ("user:ali", "rejected")

    # One who may read but not upload, from another machine (uvicorn takes the client's address
    # from X-Forwarded-For of a local proxy).
    refused = server.client.post(path, content=sdmx_csv(df).encode(), headers={
        "Content-Type": "text/csv", "X-Forwarded-For": "203.0.113.5", **server.as_user["reza"]})
    assert refused.status_code == 403
    denied = entries(server.db, limit=1)[0]
    assert (denied.actor, denied.action, denied.target, denied.outcome, denied.address) == (
        "user:reza", "data.upload", "TEST:DF_A(1.0)", "denied", "203.0.113.5")
    assert json.loads(denied.details)["status"] == 403
    assert verify(server.db) is None


def test_rest_maintenance_records_each_artefact(server):
    from tests.test_clients_maintenance import codelist_21, ml21

    sara = server.as_user["sara"]
    headers = {"Content-Type": "application/vnd.sdmx.structure+xml; version=2.1", **sara}
    body = ml21("<str:Codelists>" + codelist_21("CL_AUDIT", {"A": "a"}) + codelist_21("CL_AUDIT2", {"B": "b"})
                + "</str:Codelists>")
    assert server.client.post("/rest/v2/structure", content=body, headers=headers).status_code == 201
    urn = "urn:sdmx:org.sdmx.infomodel.codelist.Codelist=MAINT:CL_AUDIT(1.0)"
    made = entries(server.db, action="structure.append")
    assert sorted((e.actor, e.target, e.outcome, e.address) for e in made) == [
        ("user:sara", urn, "ok", "127.0.0.1"), ("user:sara", urn.replace("CL_AUDIT(", "CL_AUDIT2("), "ok", "127.0.0.1")]
    assert json.loads(made[0].details)["code"] == 201
    # The same again changes nothing: no entry.
    assert server.client.post("/rest/v2/structure", content=body, headers=headers).status_code == 200
    assert len(entries(server.db, action="structure.*")) == 2
    assert server.client.delete("/rest/v2/structure/codelist/MAINT/CL_AUDIT/1.0", headers=sara).status_code == 200
    referenced = server.client.delete("/rest/v2/structure/codelist/TEST/CL_AREA/1.0", headers=sara)
    assert referenced.status_code == 409
    gone, kept = entries(server.db, action="structure.delete", limit=2)[::-1]
    assert (gone.actor, gone.target, gone.outcome) == ("user:sara", urn, "ok")
    assert (kept.actor, kept.target, kept.outcome) == (
        "user:sara", "urn:sdmx:org.sdmx.infomodel.codelist.Codelist=TEST:CL_AREA(1.0)", "rejected")
    assert "referenced" in json.loads(kept.details)["message"]
    assert verify(server.db) is None


def test_a_cli_load_a_release_and_a_structure_load_are_audited(db, cli, tmp_path):
    code, _, err = cli("load-structures", CONTENT / "codelists", CONTENT / "dsd")
    assert code == 0, err
    structures = entries(db, action="structure.append", limit=None)
    assert len(structures) == 10 and {e.actor for e in structures} == {"cli"}
    assert {e.outcome for e in structures} == {"ok"}
    assert "urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=TEST:DF_A(1.0)" in {e.target for e in structures}

    df = frame(months=3, quarters=0)
    path = tmp_path / "a.csv"
    path.write_text(sdmx_csv(df), encoding="utf-8")
    code, _, err = cli("load-data", "TEST:DF_A(1.0)", path)
    assert code == 0, err
    load = _only(db, action="data.load")
    details = json.loads(load.details)
    assert (load.actor, load.method, load.target, load.outcome) == ("cli", "cli", "TEST:DF_A(1.0)", "applied")
    assert details["source"] == str(path) and details["counts"]["added"] == len(df)

    # Embargoed until a time already past: kept, then released at once by the server itself.
    past = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    later = tmp_path / "b.csv"
    later.write_text(sdmx_csv(frame(seed=5, months=3, quarters=0)), encoding="utf-8")
    assert cli("load-data", "TEST:DF_A(1.0)", later, "--release-at", past)[0] == 0
    release = _only(db, action="data.release")
    assert (release.actor, release.method, release.outcome) == ("system", "system", "released")
    assert json.loads(release.details)["load"] == json.loads(entries(db, action="data.load", limit=1)[0].details)["load"]

    # A refused structure change (a reference nobody loaded): the artefact's entry says so.
    broken = tmp_path / "broken.yaml"
    broken.write_text((CONTENT / "codelists" / "CL_FREQ.yaml").read_text(encoding="utf-8")
                      .replace("CL_FREQ", "CL_FREQ2").replace("- id: A\n", "- id: A\n      parent: NOPE\n"),
                      encoding="utf-8")
    code, out, err = cli("load-structures", broken)
    refused = entries(db, action="structure.*", limit=1)[0]
    assert code == 1 and refused.outcome == "rejected" and refused.actor == "cli", (out, err)
    assert verify(db) is None


def test_syncs_are_audited(db, tmp_path):
    from sdmx_server.sources.schedule import Scheduler
    from sdmx_server.sources.sync import current_registry, sync_source
    from tests.sources_support import write_spec

    assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"]).ok
    data = tmp_path / "data" / "a.csv"
    data.parent.mkdir()
    data.write_text("area,sex,period,value\n" + "".join(f"IR-23,{sex},2024-0{m},{m}.5\n" for sex in "MF"
                                                       for m in (1, 2, 3)), encoding="utf-8")
    spec = write_spec(tmp_path, "unit_a", """
        dataflow: TEST:DF_A(1.0)
        kind: csv
        path: data/a.csv
        schedule: {every: 1h}
        columns: {area: AREA, sex: SEX, value: OBS_VALUE}
        fixed: {FREQ: M, OBS_STATUS: A}
        period: {column: period}
    """)
    # The scheduler's syncs are the server's own doing.
    scheduler = Scheduler(Settings(database_url=db.url.render_as_string(hide_password=False), data_dir=tmp_path),
                          tmp_path)
    try:
        scheduled = scheduler.run_once()
    finally:
        scheduler.stop()
    assert [o.status for o in scheduled] == ["applied"], [o.lines for o in scheduled]
    entry = _only(db, action="data.sync")
    details = json.loads(entry.details)
    assert (entry.actor, entry.method, entry.outcome, entry.target) == ("system", "system", "applied",
                                                                         "TEST:DF_A(1.0)")
    assert details["source"] == "unit_a" and details["load"] == scheduled[0].load_id
    assert details["counts"]["added"] == 6

    # `sdmx-server sync`: the command line's.
    data.write_text("area,sex,period,value\nIR-10,M,2024-04,1\n", encoding="utf-8")
    outcome = sync_source(db, current_registry(db), spec)
    entry = entries(db, action="data.sync", limit=1)[0]
    assert (outcome.status, entry.actor, entry.outcome) == ("applied", "cli", "applied")
    assert json.loads(entry.details)["load"] == outcome.load_id

    # A pull that brings nothing (the file is gone) is a failed sync, in its record and its entry.
    data.unlink()
    failed = sync_source(db, current_registry(db), spec)
    entry = entries(db, action="data.sync", limit=1)[0]
    assert (failed.status, entry.outcome) == ("failed", "failed")
    assert json.loads(entry.details)["load"] == failed.load_id
    assert loads_status(db, failed.load_id) == "failed"
    assert verify(db) is None


def loads_status(db: Database, load_id: int) -> str:
    from sdmx_server.sources.sync import last_load_status

    return last_load_status(db, load_id)


def test_an_audit_that_cannot_be_written_never_undoes_the_write(db, tmp_path, caplog):
    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data

    assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"]).ok
    _drop_triggers(db)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM sdmx_audit_head")  # the log cannot be appended to
    path = tmp_path / "a.csv"
    path.write_text(sdmx_csv(frame(months=2, quarters=0)), encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="sdmx_server.audit"):
        outcome = load_data(db, _registry(db), FLOW_A, path)
    assert outcome.applied
    lost = [r for r in caplog.records if r.name == "sdmx_server.audit"]
    assert len(lost) == 1 and '"action": "data.load"' in lost[0].getMessage()
    assert '"outcome": "applied"' in lost[0].getMessage()
