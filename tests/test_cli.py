"""The `sdmx-server` command as users run it: check, load-structures, load-data, demo-data, serve.

Most tests call `sdmx_server.cli.main([...])` in-process with the store in tmp_path (through
SDMX_DATABASE_URL and SDMX_DATA_DIR, as an operator sets them); a few run the installed console
script in a subprocess, so that exit statuses, stderr and the absence of tracebacks are what a
shell sees. The demo is exercised end to end: seeded into an empty store, then served and queried.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa
from lxml import etree
from sqlmodel import Session, select

from sdmx_server.cli import _registry, seed_demo
from sdmx_server.demo.generator import FLOWS as DEMO_FLOWS
from sdmx_server.registry.shape import data_shape
from sdmx_server.registry.store import read_all
from sdmx_server.settings import Settings
from sdmx_server.store.database import Database
from sdmx_server.store.records import LoadRecord
from sdmx_server.store.tables import find_fact_table
from tests.cli_support import run_cli
from tests.conftest import ROOT, running_server
from tests.datasets import CONTENT, FLOW_A, frame, sdmx_csv, write
from tests.serve_support import wait_until_it_answers

SCRIPT = Path(sys.executable).parent / "sdmx-server"
CSV = "application/vnd.sdmx.data+csv;version=1.0.0"
NS = {
    "str": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure",
    "com": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common",
}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
TEST_REFS = [
    "codelist TEST:CL_AREA(1.0)", "codelist TEST:CL_FREQ(1.0)", "codelist TEST:CL_OBS_STATUS(1.0)",
    "codelist TEST:CL_SEX(1.0)", "codelist TEST:CL_UNIT_MULT(1.0)", "conceptscheme TEST:CS_TEST(1.0)",
    "dataflow TEST:DF_A(1.0)", "dataflow TEST:DF_B(1.0)", "dataflow TEST:DF_SECRET(1.0)",
    "datastructure TEST:DSD_TEST(1.0)",
]
PUBLIC_DEMO_FLOWS = sorted(f for f in DEMO_FLOWS if f not in ("DF_CONTRIBUTIONS", "DF_KPI_NORMS"))  # internal, restricted


# -- helpers -----------------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path, monkeypatch) -> Path:
    """A working directory of its own, and a store in it, named the way an operator names it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SDMX_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("SDMX_DATA_DIR", str(tmp_path / "var"))
    return tmp_path


@pytest.fixture
def cli(capsys):
    """Run the command in-process: (exit status, stdout, stderr), as the console script ends.

    A SystemExit carrying a message ends the console script with status 1 and the message on
    stderr; that is what the user sees, so that is what this returns.
    """

    return lambda *argv: run_cli(capsys, *argv)


def script(*argv: str, cwd: Path, env_vars: dict[str, str] | None = None, timeout: float = 60):
    """The installed console script in a subprocess."""
    environ = {**os.environ, **(env_vars or {})}
    return subprocess.run(
        [str(SCRIPT), *map(str, argv)], cwd=cwd, env=environ, capture_output=True, text=True, timeout=timeout
    )


def store_env(directory: Path) -> dict[str, str]:
    return {"SDMX_DATABASE_URL": f"sqlite:///{directory / 'store.db'}", "SDMX_DATA_DIR": str(directory / "var")}


def current_db() -> Database:
    return Database(Settings.from_env().database_url)


def stored(flow=FLOW_A) -> pd.DataFrame:
    """The observations the store holds for a dataflow, sorted by key."""
    db = current_db()
    try:
        shape = data_shape(_registry(db).get("dataflow", *flow).structure)
        fact = find_fact_table(db, flow, shape)
        names = [c.id for c in shape.components]
        if fact is None:
            return pd.DataFrame(columns=names)
        with db.engine.connect() as conn:
            rows = conn.execute(sa.select(*[fact.column(n).label(n) for n in names])).mappings().all()
    finally:
        db.dispose()
    return nulls(pd.DataFrame(rows, columns=names))


def load_records(db: Database) -> list[LoadRecord]:
    with Session(db.engine) as session:
        return list(session.exec(select(LoadRecord).order_by(LoadRecord.id)).all())


def fragments() -> list[tuple]:
    db = current_db()
    try:
        found, _ = read_all(db)
    finally:
        db.dispose()
    return sorted((f.key, f.body) for f in found)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def edit(path: Path, old: str, new: str) -> int:
    """Replace the first `old` in the file with `new`; the 1-based line where `new` starts."""
    text = path.read_text(encoding="utf-8")
    at = text.index(old)
    path.write_text(text[:at] + new + text[at + len(old):], encoding="utf-8")
    return text.count("\n", 0, at) + 1


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    hits = [i + 1 for i, line in enumerate(lines) if needle in line]
    assert len(hits) == 1, (path, needle, hits)
    return hits[0]


# -- check ---------------------------------------------------------------------------------------


def test_check_passes_on_the_repository_content(cli):
    code, out, err = cli("check", ROOT / "dsd", ROOT / "codelists")
    assert code == 0, out + err
    assert out == ""
    assert ", 0 error(s)" in err
    # as a user types it, in the checkout, with no arguments
    done = script("check", cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == "" and ", 0 error(s)" in done.stderr


def test_check_reports_every_mistake_at_its_file_and_line(env, cli):
    shutil.copytree(ROOT / "dsd", env / "dsd")
    shutil.copytree(ROOT / "codelists", env / "codelists")
    insured, kpi, workshops = Path("dsd/insured.yaml"), Path("dsd/kpi.yaml"), Path("dsd/workshops.yaml")
    sex, scheme, province = Path("codelists/CL_SEX.yaml"), Path("codelists/CL_SCHEME.yaml"), Path("codelists/CL_PROVINCE.csv")

    unknown_codelist = edit(insured, "      codelist: CL_SCHEME\n", "      codelist: CL_SCHEMES\n")
    missing_fa = edit(sex, "name: {fa: مرد, en: Male}", "name: {en: Male}")
    bad_id = edit(scheme, "- id: DRIVERS\n", "- id: DRIVERS!\n")
    unquoted = edit(workshops, '  version: "1.0"\n  final: true\n  name:\n    fa: ساختار', '  version: 1.0\n  final: true\n  name:\n    fa: ساختار')
    unknown_field = edit(kpi, "      mandatory: true\n", "      mandtory: true\n")
    first_tehran = line_of(province, "IR-23,")
    with province.open("a", encoding="utf-8") as f:
        f.write("IR-23,IR,تهران,Tehran,,\n")
    duplicate = len(province.read_text(encoding="utf-8").splitlines())
    # the unquoted version makes DSD_WORKSHOPS unusable, so its dataflow's reference dangles too
    knock_on = line_of(workshops, "structure: DSD_WORKSHOPS")

    expected = {
        (str(province), duplicate): f"code IR-23 is defined twice in this codelist (first at line {first_tehran})",
        (str(scheme), bad_id): "'DRIVERS!' is not a valid SDMX id",
        (str(sex), missing_fa): "code M: name needs both fa and en; fa (Persian) missing",
        (str(insured), unknown_codelist): "dimension SCHEME: codelist SSO:CL_SCHEMES (latest) not found",
        (str(kpi), unknown_field): "unknown field 'mandtory' (did you mean 'mandatory'?)",
        (str(workshops), unquoted): 'version must be quoted: write version: "1.0"',
        (str(workshops), knock_on): "data structure SSO:DSD_WORKSHOPS (latest) not found",
    }

    def parsed(out: str) -> dict[tuple[str, int], str]:
        found = {}
        for line in out.splitlines():
            path, number, message = line.split(":", 2)
            found[(path, int(number))] = message.strip()
        return found

    code, out, err = cli("check")
    assert code == 1
    found = parsed(out)
    assert sorted(found) == sorted(expected), out
    for where, fragment in expected.items():
        assert fragment in found[where], (where, found[where])
    assert f", {len(expected)} error(s)" in err

    # the console script, in the same directory, says the same and exits 1
    done = script("check", cwd=env)
    assert done.returncode == 1
    assert done.stdout == out
    assert "Traceback" not in done.stderr


def test_check_with_nothing_to_check_explains_itself(env, cli):
    code, out, err = cli("check")
    assert code == 1
    assert out == ""
    assert "no dsd/ or codelists/ here" in err and "name the paths" in err


def test_no_command_prints_the_help(cli):
    code, out, _ = cli()
    assert code == 2
    for command in ("serve", "check", "load-structures", "load-data", "demo-data"):
        assert command in out


# -- load-structures -----------------------------------------------------------------------------


def test_load_structures_lists_what_it_loaded_and_is_idempotent(env, cli):
    code, out, err = cli("load-structures", CONTENT / "codelists", CONTENT / "dsd")
    assert code == 0, out + err
    assert out.splitlines() == [f"loaded {ref}" for ref in TEST_REFS]
    assert "10 artefact(s) loaded" in err
    first = fragments()
    assert len(first) == 10

    code, out, err = cli("load-structures", CONTENT / "codelists", CONTENT / "dsd")
    assert code == 0, out + err
    assert out.splitlines() == [f"unchanged {ref}" for ref in TEST_REFS]
    assert "0 artefact(s) loaded, 10 unchanged" in err
    assert fragments() == first

    # a third time from a shell in the checkout, with relative paths
    done = script("load-structures", "tests/content/codelists", "tests/content/dsd", cwd=ROOT, env_vars=store_env(env))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == [f"unchanged {ref}" for ref in TEST_REFS]
    assert fragments() == first


def test_a_broken_file_loads_nothing(env, cli):
    broken = write(env / "broken.yaml", (
        "dataflow:\n"
        "  id: DF_BROKEN\n"
        "  agency: TEST\n"
        '  version: "1.0"\n'
        "  name: {fa: شکسته, en: Broken}\n"
        "  structure: DSD_MISSING\n"
    ))
    code, out, err = cli("load-structures", CONTENT / "codelists", CONTENT / "dsd", broken)
    assert code == 1
    assert f"{broken}:6: dataflow TEST:DF_BROKEN(1.0): data structure TEST:DSD_MISSING (latest) not found" in out.splitlines()
    assert "nothing loaded: 1 error(s)" in err
    assert "loaded " not in out
    assert fragments() == []  # not even the good files beside it

    code, out, err = cli("load-structures", env / "nowhere")
    assert code == 1
    assert f"{env / 'nowhere'}: no such file or directory" in out


def test_sdmx_ml_structures_load(env, cli, samples_dir):
    code, out, err = cli("load-structures", samples_dir / "ESTAT" / "apro_mk_cola-structure.xml")
    assert code == 0, out + err
    loaded = out.splitlines()
    assert "loaded codelist ESTAT:CL_PRODMILK(1.0)" in loaded
    assert "loaded datastructure ESTAT:DSD_apro_mk_cola(1.0)" in loaded
    assert len(fragments()) == len(loaded)

    # ESTAT/CL_FREQ.xml is SDMX-ML 3.0
    freq = samples_dir / "ESTAT" / "CL_FREQ.xml"
    code, out, err = cli("load-structures", freq)
    assert code == 0, out + err
    assert out.splitlines() == ["loaded codelist ESTAT:FREQ(1.6)"] or "codelist ESTAT" in out
    assert len(fragments()) == len(loaded) + 1


# -- load-data -----------------------------------------------------------------------------------


@pytest.fixture
def loaded_structures(env, cli) -> Path:
    code, out, err = cli("load-structures", CONTENT / "codelists", CONTENT / "dsd")
    assert code == 0, out + err
    return env


def nulls(df: pd.DataFrame) -> pd.DataFrame:
    """The frame as the store gives it back: empty strings are missing values, and missing is None."""
    out = df.astype(object).replace("", None)
    return out.where(out.notna(), None).sort_values(["FREQ", "AREA", "SEX", "TIME_PERIOD"]).reset_index(drop=True)


def test_load_data_applies_and_summarises(loaded_structures, cli):
    df = frame(months=3, quarters=1)
    path = write(loaded_structures / "a.csv", sdmx_csv(df))
    code, out, err = cli("load-data", "TEST:DF_A(1.0)", "a.csv")
    assert code == 0, out + err
    assert f"a.csv: merge of {len(df)} rows into TEST:DF_A(1.0) applied" in err
    pd.testing.assert_frame_equal(stored(), nulls(df), check_dtype=False)

    # no version: the latest; the same file again changes nothing
    code, out, err = cli("load-data", "TEST:DF_A", path)
    assert code == 0, out + err
    assert f"merge of {len(df)} rows into TEST:DF_A(1.0) applied" in err
    pd.testing.assert_frame_equal(stored(), nulls(df), check_dtype=False)
    # the REST form of the reference is accepted too
    assert cli("load-data", "TEST,DF_A,1.0", path)[0] == 0


def test_a_bad_file_is_reported_by_row_and_column_and_changes_nothing(loaded_structures, cli):
    good = frame(months=3, quarters=0)
    write(loaded_structures / "good.csv", sdmx_csv(good))
    assert cli("load-data", "TEST:DF_A(1.0)", "good.csv")[0] == 0
    before = stored()

    bad = frame(seed=9, months=3, quarters=0)
    bad.loc[5, "AREA"] = "IR-99"
    bad.loc[0, "TIME_PERIOD"] = "2020-13"
    write(loaded_structures / "bad.csv", sdmx_csv(bad))
    code, out, err = cli("load-data", "TEST:DF_A(1.0)", "bad.csv")
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 2, out
    assert lines[0].startswith("bad.csv: row 2, column TIME_PERIOD: '2020-13' is not an SDMX time period")
    assert lines[1] == "bad.csv: row 7, column AREA: 'IR-99' is not a code of TEST:CL_AREA(1.0)"
    assert f"rejected: 2 problem(s) in {len(bad)} rows; nothing was loaded" in err
    assert "applied" not in err
    pd.testing.assert_frame_equal(stored(), before)
    db = current_db()
    assert [r.status for r in load_records(db)] == ["applied", "rejected"]
    db.dispose()


def test_delete_and_replace(loaded_structures, cli):
    df = frame(months=3, quarters=1)
    write(loaded_structures / "a.csv", sdmx_csv(df))
    assert cli("load-data", "TEST:DF_A(1.0)", "a.csv")[0] == 0

    write(loaded_structures / "delete.csv", "DATAFLOW,FREQ,AREA,SEX,TIME_PERIOD\nTEST:DF_A(1.0),M,IR-23,,\n")
    code, out, err = cli("load-data", "TEST:DF_A(1.0)", "delete.csv", "--action", "delete")
    assert code == 0, out + err
    assert "delete of 1 rows into TEST:DF_A(1.0) applied" in err
    after = stored()
    assert len(after) == len(df) - 3 * 3  # three months, three sexes
    assert not ((after.FREQ == "M") & (after.AREA == "IR-23")).any()

    again = df.iloc[[0]].copy()
    again["TITLE"] = ""
    again["OBS_VALUE"] = 42.0
    write(loaded_structures / "replace.csv", sdmx_csv(again))
    code, out, err = cli("load-data", "TEST:DF_A(1.0)", "replace.csv", "--action", "replace")
    assert code == 0, out + err
    assert "replace of 1 rows into TEST:DF_A(1.0) applied" in err
    row = stored().iloc[0]
    assert (row.FREQ, row.AREA, row.SEX, row.TIME_PERIOD) == tuple(df.iloc[0][["FREQ", "AREA", "SEX", "TIME_PERIOD"]])
    assert row.OBS_VALUE == 42.0 and pd.isna(row.TITLE)


@pytest.mark.parametrize(
    "flow, file, message",
    [
        ("TEST:DF_NOPE(1.0)", "a.csv", "dataflow TEST:DF_NOPE(1.0) is not loaded"),
        ("TEST:DF_NOPE", "a.csv", "dataflow TEST:DF_NOPE is not loaded"),
        ("TEST:DF_A(1.0)", "missing.csv", "missing.csv: no such file"),
        ("TEST-DF_A", "a.csv", "'TEST-DF_A' is not a dataflow reference like"),
    ],
)
def test_load_data_mistakes_get_a_message_not_a_traceback(loaded_structures, cli, flow, file, message):
    write(loaded_structures / "a.csv", sdmx_csv(frame(months=1, quarters=0)))
    code, out, err = cli("load-data", flow, file)
    assert code != 0
    assert message in err
    assert stored().empty


def test_load_data_mistakes_in_a_shell(loaded_structures):
    write(loaded_structures / "a.csv", sdmx_csv(frame(months=1, quarters=0)))
    environ = store_env(loaded_structures)
    for argv, message in [
        (("TEST:DF_NOPE(1.0)", "a.csv"), "dataflow TEST:DF_NOPE(1.0) is not loaded"),
        (("TEST:DF_A", "missing.csv"), "missing.csv: no such file"),
        (("TEST-DF_A", "a.csv"), "is not a dataflow reference"),
        (("TEST:DF_A", "a.csv", "--action", "upsert"), "invalid choice: 'upsert'"),
    ]:
        done = script("load-data", *argv, cwd=loaded_structures, env_vars=environ)
        assert done.returncode != 0, argv
        assert message in done.stderr, (argv, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
    done = script("load-data", "TEST:DF_A", "a.csv", cwd=loaded_structures, env_vars=environ)
    assert done.returncode == 0, done.stderr
    assert "merge of 12 rows into TEST:DF_A(1.0) applied" in done.stderr


# -- demo-data -----------------------------------------------------------------------------------


def test_demo_data_writes_the_seven_files(env, cli):
    code, out, err = cli("demo-data", "--out", "demo", "--seed", "7")
    assert code == 0, out + err
    lines = out.splitlines()
    assert len(lines) == 7
    total = 0
    for line, flow_id in zip(lines, DEMO_FLOWS):
        path, flow, count = line.split("  ")
        assert (path, flow) == (f"demo/{flow_id}.csv", f"SSO:{flow_id}(1.0)")
        assert count.endswith(" observations")
        observations = int(count.removesuffix(" observations").replace(",", ""))
        with open(path, "rb") as f:
            assert sum(1 for _ in f) - 1 == observations > 0, path
        total += observations
    assert f"{total:,} observations in 7 files" in err
    assert sorted(p.name for p in (env / "demo").iterdir()) == sorted(f"{f}.csv" for f in DEMO_FLOWS)


# -- the demo, end to end -------------------------------------------------------------------------


def test_the_demo_from_an_empty_store_to_http(tmp_path, capsys):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}", data_dir=tmp_path / "var")
    seed_demo(settings)
    err = capsys.readouterr().err
    assert "loading the demo structures" in err
    db = Database(settings.database_url)
    records = load_records(db)
    files = [r for r in records if r.origin == "cli" and r.status == "applied"]
    assert sorted(r.flow for r in files) == sorted(f"SSO:{f}(1.0)" for f in DEMO_FLOWS)
    # ... then the demo's sources of loaders/ are synced once (sources/, docs/sources.md).
    # DF_KPI_STATUS is derived once both its sources hold data (processing/derived.py).
    assert sorted((r.source, r.origin, r.status) for r in records if r.origin != "cli") == [
        ("derived from SSO:DF_KPI(1.0) + SSO:DF_KPI_NORMS(1.0)", "derived", "applied"),
        ("fars_pensioners", "sync", "applied"), ("isfahan_insured", "sync", "applied")]
    assert all(r.observations > 0 and r.errors == 0 for r in records)
    # One release embargoed until a future date (demo README), kept pending (store/embargo.py).
    (pending,) = [r for r in records if r.status != "applied"]
    assert (pending.flow, pending.status) == ("SSO:DF_KPI(1.0)", "pending")
    assert pending.release_at.replace(tzinfo=timezone.utc) > datetime.now(timezone.utc) + timedelta(days=7)
    assert sorted(f.key[2] for f in read_all(db)[0] if f.key[0] == "dataflow") == sorted([*DEMO_FLOWS, "DF_KPI_STATUS"])

    seed_demo(settings)  # the store holds structures: nothing happens
    assert "already holds structures" in capsys.readouterr().err
    assert len(load_records(db)) == len(records)
    db.dispose()

    with running_server(settings) as server:
        def get(path: str, accept: str | None = None, **params) -> httpx.Response:
            headers = {"Accept": accept} if accept else {}
            return httpx.get(server.rest(path), headers=headers, params=params or None, timeout=60)

        r = get("dataflow")
        assert r.status_code == 200
        doc = etree.fromstring(r.content)
        assert sorted(e.get("id") for e in doc.iterfind(".//str:Dataflow", NS)) == PUBLIC_DEMO_FLOWS

        r = get("codelist/SSO/CL_PROVINCE")
        assert r.status_code == 200
        codes = etree.fromstring(r.content).findall(".//str:Codelist[@id='CL_PROVINCE']/str:Code", NS)
        names = {c.get("id"): {n.get(XML_LANG): n.text for n in c.iterfind("com:Name", NS)} for c in codes}
        assert len(names) == 32 and "IR" in names
        assert all(set(n) == {"fa", "en"} and all(n.values()) for n in names.values())
        assert names["IR"] == {"fa": "ایران", "en": "Iran"}
        assert names["IR-23"] == {"fa": "تهران", "en": "Tehran"}
        parents = {c.get("id"): c.find("str:Parent/Ref", NS) for c in codes}
        provinces = [code for code, parent in parents.items() if parent is not None and parent.get("id") == "IR"]
        assert len(provinces) == 31 and parents["IR"] is None

        r = get("data/SSO,DF_INSURED,1.0/M.IR-23...", CSV)
        assert r.status_code == 200
        tehran = pd.read_csv(io.BytesIO(r.content), dtype={"PROVINCE": str})
        assert len(tehran) > 0 and set(tehran.PROVINCE) == {"IR-23"}

        r = get("data/SSO,DF_INSURED,1.0/M.._T._T._T", CSV, startPeriod="2020-06", endPeriod="2020-06")
        assert r.status_code == 200
        june = pd.read_csv(io.BytesIO(r.content)).set_index("PROVINCE")["OBS_VALUE"]
        assert len(june) == 32 and june.index.is_unique
        assert june["IR"] == june.drop("IR").sum() > 0

        r = get("data/SSO,DF_CONTRIBUTIONS,1.0")
        assert r.status_code == 404

        # The embargoed final figures of DF_KPI's last quarter (every status A) are not out.
        r = get("data/SSO,DF_KPI,1.0/all", CSV, lastNObservations="1")
        assert r.status_code == 200
        assert (pd.read_csv(io.BytesIO(r.content)).OBS_STATUS != "A").all()


# -- serve ---------------------------------------------------------------------------------------


def serve_until_it_answers(directory: Path, *options: str, deadline: float = 60, started: int = 1) -> tuple[int, str]:
    """Start `sdmx-server serve`, wait for /rest/dataflow to answer 200 and for `started`
    workers to have started (one answers before the others), stop it; (port, its output)."""
    port = free_port()
    log = directory / f"serve-{port}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(SCRIPT), "serve", "--port", str(port), *options],
            cwd=directory, env={**os.environ, **store_env(directory)},
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        wait_until_it_answers(process, f"http://127.0.0.1:{port}/rest/dataflow", log, deadline,
                              lambda: log.read_text().count("Application startup complete") >= started)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: the workers go too
            process.wait(timeout=10)
    return port, log.read_text()


def test_serve_the_demo(tmp_path):
    port, output = serve_until_it_answers(tmp_path, "--demo")
    assert f"http://127.0.0.1:{port}/rest/" in output
    assert "first start: loading the demo structures" in output
    assert "Traceback" not in output

    # several workers (uvicorn with an import string and factory=True), on the store just seeded
    port, output = serve_until_it_answers(tmp_path, "--demo", "--workers", "2", started=2)
    assert f"http://127.0.0.1:{port}/rest/" in output
    assert "already holds structures" in output
    assert output.count("Application startup complete") == 2
    assert "Traceback" not in output
