"""Export and restore (ops/backup) over the real HTTP API: every answer the same after.

A source store on each backend holds tests/content's structures, three revisions of DF_A
(changes, deletions, a deleted observation brought back: tests/test_history_api.py's loads),
DF_B with an intentionally missing value (NaN) and an embargoed load not yet released,
DF_SECRET (restricted), a user with a token and a grant, and audit entries. It is exported
with `sdmx-server export`, imported with `sdmx-server import` into a new database of each
backend (SQLite to SQLite, PostgreSQL to PostgreSQL, SQLite to PostgreSQL), and both stores are
served: every structure query (every artefact, references=all, every REST v2 structure format
and v1's default) and every dataflow's data in every data format of both APIs (REST v2 with
and without includeHistory, and asOf between two revisions) must answer with the same status,
media type and body (messages' header ids and preparation times aside), asked with the token
made in the source store. The audit chain verifies after import; an import into a database
that holds anything, and of an export with a changed file, is refused with a clear message.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from lxml import etree

from tests.access_support import bearer, user_with_token
from tests.conftest import fresh_database, running_server
from tests.datasets import CONTENT, FLOW_A, FLOW_B, FLOW_SECRET, frame, sdmx_csv


def _cli(url: str, *args: str) -> tuple[int, str, str]:
    """The command as a user runs it, SDMX_DATABASE_URL naming the store."""
    import subprocess
    import sys

    env = {**os.environ, "SDMX_DATABASE_URL": url}
    done = subprocess.run([sys.executable, "-m", "sdmx_server.cli", *args], env=env, capture_output=True, text=True,
                          timeout=600, cwd=Path(__file__).resolve().parent.parent)
    return done.returncode, done.stdout, done.stderr


# -- the source store --------------------------------------------------------------------------


class Source:
    def __init__(self, url: str, directory: Path, token: str, between: datetime):
        self.url, self.directory, self.token, self.between = url, directory, token, between


def _fill(url: str, directory: Path) -> Source:
    from sdmx_server.access import audit
    from sdmx_server.access.principal import COMMAND_LINE
    from sdmx_server.boot import create_schema
    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data
    from sdmx_server.registry.load import load_structures
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database
    from tests.test_history_api import csv_for, loads

    settings = Settings(database_url=url, data_dir=directory)
    db = Database(url)
    create_schema(db)
    assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings).ok
    times = []
    for position, (rows, actions) in enumerate(loads()):
        path = directory / f"a{position}.csv"
        path.write_text(csv_for(rows, actions), encoding="utf-8")
        outcome = load_data(db, _registry(db), FLOW_A, path, "merge", settings)
        assert outcome.applied, outcome.report.text()
        times.append(outcome.result.tx_time)
    b = frame(seed=2, months=6, quarters=2)
    b["OBS_VALUE"] = b["OBS_VALUE"].astype(object)
    b.loc[0, "OBS_VALUE"] = "NaN"  # SDMX's intentionally missing value, apart from an absent one
    (directory / "b.csv").write_text(sdmx_csv(b, FLOW_B), encoding="utf-8")
    assert load_data(db, _registry(db), FLOW_B, directory / "b.csv", "merge", settings).applied
    later = b.iloc[3:9].copy()
    later["OBS_VALUE"] = 77.25
    (directory / "b-embargo.csv").write_text(sdmx_csv(later, FLOW_B), encoding="utf-8")
    pending = load_data(db, _registry(db), FLOW_B, directory / "b-embargo.csv", "merge", settings,
                        release_at=datetime.now(timezone.utc) + timedelta(days=30))
    assert pending.status == "pending", pending.report.text()
    (directory / "s.csv").write_text(sdmx_csv(frame(seed=3, months=2, quarters=0), FLOW_SECRET), encoding="utf-8")
    assert load_data(db, _registry(db), FLOW_SECRET, directory / "s.csv", "merge", settings).applied
    audit.record(db, actor=COMMAND_LINE, action="data.load", target="TEST:DF_A(1.0)", outcome="applied",
                 details={"note": "çà ولا"})
    from datetime import date

    from sdmx_server.ops.calendar import Plan, add_release, replace_authored

    flow_a = f"{FLOW_A[0]}:{FLOW_A[1]}({FLOW_A[2]})"
    replace_authored(db, {flow_a}, [Plan(flow_a, "2020-01", date(2020, 2, 20), "ماهانه", "monthly")], "cli")
    add_release(db, Plan(flow_a, "", date(2099, 1, 1), "", "special"), "user:ana")
    db.dispose()
    token = user_with_token(url, "ana", "admin", "*")
    audit_db = Database(url)
    audit.record(audit_db, actor=COMMAND_LINE, action="token.create", target="user:ana", outcome="ok")
    audit_db.dispose()
    between = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=times[1] + 1)
    return Source(url, directory, token, between)


# -- the answers -------------------------------------------------------------------------------


def _structure_paths(server_url: str, headers) -> list[tuple[str, str | None]]:
    """(path, Accept) of every structure query: each artefact, references=all, in every REST v2
    structure format, and once through REST v1."""
    from sdmx_server.formats.media import TABLE
    from sdmx_server.kinds import BY_NAME

    listing = httpx.get(f"{server_url}/rest/v2/structure/*/*/*/*", params={"detail": "allstubs"},
                        headers={**headers, "Accept": "application/vnd.sdmx.structure+json;version=2.0.0"}, timeout=60)
    assert listing.status_code == 200, listing.text
    v2 = [row for row in TABLE if row.answer == "structure" and "v2" in row.apis]
    paths = []
    for kind_name, artefacts in listing.json()["data"].items():
        for artefact in artefacts:
            kind = next(k for k in BY_NAME.values() if k.json20 == kind_name)
            assert kind.v2, kind_name
            base = f"v2/structure/{kind.v2}/{artefact['agencyID']}/{artefact['id']}/{artefact['version']}?references=all"
            paths += [(base, row.content_type.replace("; charset=utf-8", "")) for row in v2]
            if kind.v1:
                paths.append((f"{kind.v1[0]}/{artefact['agencyID']}/{artefact['id']}/{artefact['version']}"
                              "?references=all", None))
    return paths


def _data_paths(flows: list[tuple[str, str, str]], between: datetime) -> list[tuple[str, str | None]]:
    from sdmx_server.formats.media import TABLE

    at = between.isoformat().replace("+00:00", "Z")
    paths = []
    for row in TABLE:
        if row.answer != "data":
            continue
        accept = row.content_type.replace("; charset=utf-8", "")
        for agency, flow_id, version in flows:
            if "v1" in row.apis:
                paths.append((f"data/{agency},{flow_id},{version}/all", accept))
            if "v2" in row.apis:
                base = f"v2/data/dataflow/{agency}/{flow_id}/{version}/*"
                paths += [(base, accept), (base + "?includeHistory=true", accept), (f"{base}?asOf={at}", accept)]
    return paths


def _normal(content_type: str, body: bytes):
    """The body without what differs between two answers of one store anyway: message ids and
    preparation times (XML and JSON headers), a workbook's creation time."""
    if not body:
        return body
    if "xml" in content_type and "openxml" not in content_type:
        root = etree.fromstring(body)
        for header in root.findall("{*}Header"):
            root.remove(header)
        return etree.tostring(root, method="c14n")
    if "json" in content_type:
        value = json.loads(body)
        if isinstance(value, dict):
            value.pop("meta", None)
            value.pop("header", None)
            if isinstance(value.get("updated"), str):  # JSON-stat: the answer's time
                value.pop("updated")
        return value
    if "spreadsheetml" in content_type:
        # The workbook's "about" sheet says when the answer was prepared, and its message id.
        with zipfile.ZipFile(io.BytesIO(body)) as book:
            return {name: _PREPARED.sub(b"", _MESSAGE_ID.sub(b"", book.read(name)))
                    for name in sorted(book.namelist()) if not name.startswith("docProps/")}
    return body


_PREPARED = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")
_MESSAGE_ID = re.compile(rb"IREF[0-9A-F]+")


def _answers(server_url: str, token: str, paths) -> dict:
    out = {}
    with httpx.Client(base_url=f"{server_url}/rest/", headers=bearer(token), timeout=120) as client:
        for path, accept in paths:
            response = client.get(path, headers={"Accept": accept} if accept else {})
            kind = response.headers.get("content-type", "")
            body = _normal(kind, response.content) if response.status_code == 200 else response.status_code
            out[(path, accept)] = (response.status_code, kind, body)
    return out


def _flows() -> list[tuple[str, str, str]]:
    return [FLOW_A, FLOW_B, FLOW_SECRET, ("TEST", "DF_NOTHING", "9.9")]


@contextmanager
def _served(url: str, directory: Path):
    from sdmx_server.settings import Settings

    with running_server(Settings(database_url=url, data_dir=directory, answer_cache_bytes=0)) as server:
        yield server


def _everything(url: str, directory: Path, token: str, between: datetime) -> dict:
    with _served(url, directory) as server:
        paths = _structure_paths(server.url, bearer(token)) + _data_paths(_flows(), between)
        answers = _answers(server.url, token, paths)
        # the release calendar, with each release's status judged from the restored loads
        calendar = httpx.get(f"{server.url}/releases", headers=bearer(token), timeout=60)
        assert calendar.status_code == 200 and len(calendar.json()["releases"]) == 2
        answers[("/releases", None)] = (calendar.status_code, "application/json", calendar.json())
        return answers


def _assert_same(before: dict, after: dict) -> None:
    assert before.keys() == after.keys()
    different = [key for key in before if before[key] != after[key]]
    assert not different, f"{len(different)} of {len(before)} answers differ, first: {different[:3]}"
    statuses = [status for status, _, _ in before.values()]
    assert statuses.count(200) > len(statuses) // 2, "most queries must answer with content"


# -- the tests ---------------------------------------------------------------------------------


ROUTES = [("sqlite", "sqlite"), ("postgresql", "postgresql"), ("sqlite", "postgresql")]


@pytest.mark.parametrize("source_backend,target_backend", ROUTES, ids=["sqlite", "postgresql", "sqlite-to-postgresql"])
def test_every_answer_is_the_same_after_export_and_import(source_backend, target_backend, tmp_path):
    with ExitStack() as stack:
        (tmp_path / "source").mkdir()
        (tmp_path / "target").mkdir()
        source_url = stack.enter_context(fresh_database(source_backend, tmp_path / "source"))
        target_url = stack.enter_context(fresh_database(target_backend, tmp_path / "target"))
        source = _fill(source_url, tmp_path / "source")
        before = _everything(source_url, tmp_path / "source", source.token, source.between)

        code, out, err = _cli(source_url, "export", str(tmp_path / "export"))
        assert code == 0, err
        manifest = json.loads((tmp_path / "export" / "manifest.json").read_text(encoding="utf-8"))
        manifest["_dir"] = str(tmp_path / "export")
        assert manifest["counts"]["dataflows"] == 3 and manifest["counts"]["history_rows"] > 0
        code, out, err = _cli(target_url, "import", str(tmp_path / "export"))
        assert code == 0, err
        assert out.startswith("imported ")

        after = _everything(target_url, tmp_path / "target", source.token, source.between)
        _assert_same(before, after)
        code, out, err = _cli(target_url, "audit", "verify")
        assert code == 0, err
        assert out.startswith(f"{_audit_count(source_url) + 1} entries")  # the import's own entry too
        _writes_go_on(target_url, tmp_path / "target", manifest)


def _writes_go_on(url: str, directory: Path, manifest: dict) -> None:
    """The restored store takes new loads, grants and tokens: their ids follow the restored
    ones (PostgreSQL's sequences were moved past them), and the new load revises DF_A again."""
    from sdmx_server.access.grants import add_grant
    from sdmx_server.access.rules import Grant, Scope
    from sdmx_server.access.tokens import create_token
    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database

    loads = [json.loads(line) for line in (Path(manifest_dir(manifest)) / "tables/sdmx_load.jsonl").open()]
    db = Database(url)
    try:
        rows = frame(seed=1, months=4, quarters=0).iloc[0:3].copy()
        rows["OBS_VALUE"] += 1
        (directory / "again.csv").write_text(sdmx_csv(rows), encoding="utf-8")
        outcome = load_data(db, _registry(db), FLOW_A, directory / "again.csv", "merge",
                            Settings(database_url=url, data_dir=directory))
        assert outcome.applied, outcome.report.text()
        assert outcome.record_id > max(r["id"] for r in loads)
        assert outcome.result.changed + outcome.result.added == 3
        add_grant(db, Grant("user:ana", "read", Scope.parse("TEST:DF_B(1.0)")), "test")
        assert create_token(db, "ana")[0]
    finally:
        db.dispose()


def manifest_dir(manifest: dict) -> str:
    return manifest["_dir"]


def _audit_count(url: str) -> int:
    from sdmx_server.access.audit_log import check_chain
    from sdmx_server.store.database import Database

    db = Database(url)
    try:
        return check_chain(db).entries
    finally:
        db.dispose()


def _small():
    df = frame(seed=1, months=3, quarters=1)
    df.loc[1, "COMMENT"] = "a comment\non two lines, with \"quotes\""  # a line break inside a CSV value
    df.loc[2, "COMMENT"] = "NA"  # a text, not a missing value
    return df


@pytest.fixture
def small_export(tmp_path):
    """A SQLite store with structures and DF_A's data, exported."""
    from sdmx_server.boot import create_schema
    from sdmx_server.cli import _registry
    from sdmx_server.ingest.load import load_data
    from sdmx_server.registry.load import load_structures
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database

    url = f"sqlite:///{tmp_path / 'source.db'}"
    db = Database(url)
    create_schema(db)
    settings = Settings(database_url=url, data_dir=tmp_path)
    assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings).ok
    (tmp_path / "a.csv").write_text(sdmx_csv(_small()), encoding="utf-8")
    assert load_data(db, _registry(db), FLOW_A, tmp_path / "a.csv", "merge", settings).applied
    db.dispose()
    code, _, err = _cli(url, "export", str(tmp_path / "export"))
    assert code == 0, err
    return url, tmp_path / "export"


def _artefacts(url: str) -> int:
    import sqlalchemy as sa

    from sdmx_server.store.database import Database

    db = Database(url)  # (the store's own SQLite, never a second copy of it in this process)
    try:
        with db.engine.connect() as conn:
            if not sa.inspect(conn).has_table("sdmx_artefact"):
                return 0
            return conn.execute(sa.text("SELECT count(*) FROM sdmx_artefact")).scalar_one()
    finally:
        db.dispose()


def test_import_refuses_a_database_that_holds_anything(small_export):
    url, export = small_export
    before = _artefacts(url)
    code, out, err = _cli(url, "import", str(export))
    assert code == 1
    assert "not empty" in err and "sdmx_artefact" in err and "sdmx_load" in err
    assert _artefacts(url) == before  # nothing added


def test_import_refuses_a_changed_file_before_touching_the_database(small_export, tmp_path):
    _, export = small_export
    data = next((export / "data").glob("*.history.csv"))
    current = export / "data" / data.name.replace(".history.csv", ".csv")
    text = current.read_text(encoding="utf-8")
    current.write_text(text.replace(",\"A\",", ",\"E\",", 1), encoding="utf-8")
    assert current.read_text(encoding="utf-8") != text
    (export / "structures" / "stray.xml").write_text("<x/>", encoding="utf-8")
    target = f"sqlite:///{tmp_path / 'target.db'}"
    code, out, err = _cli(target, "import", str(export))
    assert code == 1
    assert f"data/{current.name} does not match its SHA-256 checksum" in err
    assert "structures/stray.xml is not in the manifest" in err
    assert _artefacts(target) == 0


def test_export_refuses_a_folder_that_is_not_empty(small_export):
    url, export = small_export
    code, out, err = _cli(url, "export", str(export))
    assert code == 1 and "not an empty folder" in err


def test_exported_data_is_sdmx_csv_2_that_the_server_loads(small_export, tmp_path):
    """The current-state file is SDMX-CSV 2.0: another store loads it as it is (custom
    columns ignored), and holds the same observations."""
    import csv as _csv

    url, export = small_export
    manifest = json.loads((export / "manifest.json").read_text(encoding="utf-8"))
    flow = next(f for f in manifest["dataflows"] if f["flow"] == "TEST:DF_A(1.0)")
    with (export / flow["files"][0]).open(encoding="utf-8", newline="") as f:
        rows = list(_csv.DictReader(f))
    assert len(rows) == flow["observations"] > 0
    assert {r["STRUCTURE"] for r in rows} == {"dataflow"} and {r["STRUCTURE_ID"] for r in rows} == {"TEST:DF_A(1.0)"}
    assert all(r["sdmx-server:updated"].endswith("Z") and r["sdmx-server:load"] == "1" for r in rows)
    source = {(r["FREQ"], r["AREA"], r["SEX"], r["TIME_PERIOD"]): float(r["OBS_VALUE"]) for r in rows}
    expected = _small()
    assert source == {(r.FREQ, r.AREA, r.SEX, r.TIME_PERIOD): r.OBS_VALUE for r in expected.itertuples()}
    assert {r["COMMENT"] for r in rows} >= {"a comment\non two lines, with \"quotes\"", "NA"}
    target = f"sqlite:///{tmp_path / 'other.db'}"
    code, _, err = _cli(target, "load-structures", str(CONTENT / "codelists"), str(CONTENT / "dsd"))
    assert code == 0, err
    code, out, err = _cli(target, "load-data", "TEST:DF_A(1.0)", str(export / flow["files"][0]), "--json")
    assert code == 0, err + out


def test_a_small_store_comes_back_row_for_row(small_export, tmp_path):
    """Line breaks, quotes, a text "NA" and the load's transaction time come back as stored."""
    import sqlalchemy as sa

    url, export = small_export
    target = f"sqlite:///{tmp_path / 'target.db'}"
    code, _, err = _cli(target, "import", str(export))
    assert code == 0, err
    manifest = json.loads((export / "manifest.json").read_text(encoding="utf-8"))
    table = manifest["dataflows"][0]["table"]

    from sdmx_server.store.database import Database

    def rows(u):
        db = Database(u)
        try:
            with db.engine.connect() as conn:
                return sorted(map(tuple, conn.execute(sa.text(f'SELECT * FROM "{table}"'))))
        finally:
            db.dispose()

    before, after = rows(url), rows(target)
    assert len(before) == len(_small()) and before == after


@pytest.mark.parametrize("tamper", ["file", "table"])
def test_import_reads_nothing_outside_the_export(small_export, tmp_path, tamper):
    """A crafted manifest may not point the import at files outside its folder, nor name a
    table that is not a fact table's (the name becomes both a path and SQL)."""
    import json
    import shutil

    _, original = small_export
    export = tmp_path / "crafted"
    shutil.copytree(original, export)
    outside = tmp_path / "outside.csv"
    outside.write_text("secret", encoding="utf-8")
    manifest = json.loads((export / "manifest.json").read_text(encoding="utf-8"))
    if tamper == "file":
        manifest["files"]["../outside.csv"] = {"bytes": 6, "sha256": "0" * 64}
    else:
        manifest["dataflows"][0]["table"] = "../../outside"
    (export / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    target = f"sqlite:///{tmp_path / 'target.db'}"
    code, out, err = _cli(target, "import", str(export))
    assert code == 1
    assert ("outside the export" in err) if tamper == "file" else ("not a fact table's name" in err)
    assert _artefacts(target) == 0
