"""The issue's named cases, each an error with its row (or, for NaN, a value kept):

- an unbalanced quote that swallows the following rows is reported at the row it opened;
- `1e309` (too large) and `1e-400` (too small) are errors, literal INF/-INF are values;
- `NaN` is stored and served back as NaN over HTTP in SDMX-CSV, SDMX-JSON and SDMX-ML, on
  SQLite and PostgreSQL, apart from a missing value;
- a row over the parser's block (5 MB, 20 MB) is an error with its row, not pyarrow's words;
- the load-data command: progress stages, --json, --dry-run, no traceback ever.
"""

from __future__ import annotations

import io
import json

import httpx
import pytest

from sdmx_server.cli import _registry, main
from sdmx_server.ingest.load import load_data
from sdmx_server.settings import Settings
from tests.principals import writes
from tests.conftest import running_server
from tests.datasets import FLOW_A, write
from tests.test_validation_load import load, store  # noqa: F401 (the fixture)

HEADER = "DATAFLOW,FREQ,AREA,SEX,TIME_PERIOD,OBS_VALUE,OBS_STATUS,TITLE\n"
REF = "TEST:DF_A(1.0)"


def row(period: str, value: str = "1", title: str = "t", area: str = "IR") -> str:
    return f"{REF},M,{area},F,{period},{value},A,{title}\n"


def rules(outcome) -> set[tuple]:
    return {(r, g.column or None, g.rule) for g in outcome.report.groups for r in g.rows} | {
        (None, g.column or None, g.rule) for g in outcome.report.groups if not g.rows}


def test_an_unbalanced_quote_is_reported_where_it_opened(store):
    text = HEADER + row("2020-01") + row("2020-02", title='"unclosed') + row("2020-03") + row("2020-04")
    outcome = load(store, text)
    assert outcome.status == "rejected"
    assert rules(outcome) == {(3, None, "csv-quote")}
    assert "2 following line(s) were read into one value" in outcome.report.text()
    # The quote closes further down: the rows between are swallowed, the count goes wrong.
    text = HEADER + row("2020-01", title='"opens') + row("2020-02") + row("2020-03", title='closes"') + row("2020-04")
    outcome = load(store, text)
    assert outcome.status == "rejected"
    assert (2, None, "csv-quote") in rules(outcome) or (2, None, "csv-fields") in rules(outcome), \
        outcome.report.text()
    assert "row 2" in outcome.report.text()


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_a_row_of_too_many_fields_that_is_not_utf8_is_reported_at_its_row(store):
    """pyarrow cannot hand such a row to the reader's handler (it decodes it first): the
    reader reads again to find it, and says which row, as for any row of the wrong width.
    pyarrow's "Exception ignored" message about the decoding (a traceback on the terminal of
    `load-data`) is not written: pytest's unraisable hook would see it and fail the test."""
    db, settings, tmp_path = store
    path = tmp_path / "not-utf8.csv"
    path.write_bytes((HEADER + row("2020-01") + row("2020-02")).encode() + row("2020-03").encode()[:-1] + b",\xf3\xff\n")
    outcome = load_data(db, _registry(db), FLOW_A, path, "merge", settings)
    assert outcome.status == "rejected"
    assert rules(outcome) == {(4, None, "csv-fields")}, outcome.report.text()
    assert "expected 8 fields as in the header, found 9" in outcome.report.text()
    # After a row of the wrong width that is UTF-8: each reported once, at its row.
    path.write_bytes((HEADER + row("2020-01")).encode() + row("2020-02").encode()[:-1] + b",x\n"
                     + row("2020-03").encode()[:-1] + b",\xf3\xff\n")
    outcome = load_data(db, _registry(db), FLOW_A, path, "merge", settings)
    assert outcome.status == "rejected"
    assert sorted(r for g in outcome.report.groups for r in g.rows) == [3, 4], outcome.report.text()
    assert rules(outcome) == {(3, None, "csv-fields"), (4, None, "csv-fields")}, outcome.report.text()


def test_a_multi_line_value_that_is_meant_is_kept(store):
    text = HEADER + row("2020-01", title='"two\nlines"') + row("2020-02", title='"two\nlines"')
    outcome = load(store, text)
    assert outcome.applied, outcome.report.text()


def test_numbers_a_double_cannot_hold_are_errors_with_their_row(store):
    text = (HEADER + row("2020-01", "1e309") + row("2020-02", "1e-400") + row("2020-03", "INF")
            + row("2020-04", "-INF") + row("2020-05", "0e-400") + row("2020-06", "4.9e-324"))
    outcome = load(store, text)
    assert outcome.status == "rejected"
    assert rules(outcome) == {(2, "OBS_VALUE", "number-overflow"), (3, "OBS_VALUE", "number-underflow")}
    groups = {g.rule: g for g in outcome.report.groups}
    assert groups["number-overflow"].value == "1e309" and groups["number-underflow"].value == "1e-400"


@pytest.mark.parametrize("megabytes, where", [(5, 3), (20, 4)])
def test_a_row_over_the_block_is_an_error_with_its_row(store, megabytes, where):
    big = "x" * (megabytes * 1024 * 1024)
    rows = [row("2020-01"), row("2020-02")] if where == 4 else [row("2020-01")]
    text = HEADER + "".join(rows) + row("2020-09", title=big) + row("2020-10")
    outcome = load(store, text)
    assert outcome.status == "rejected"
    assert rules(outcome) == {(where, None, "row-too-long")}, outcome.report.text()
    assert "straddl" not in outcome.report.text()
    assert f"row {where}: the row is {megabytes}.0 MB long; a row may be at most 4 MB" in outcome.report.text()


# -- NaN over HTTP -------------------------------------------------------------------------------

FORMATS = {
    "csv": "application/vnd.sdmx.data+csv;version=2.0.0",
    "json": "application/vnd.sdmx.data+json;version=2.0.0",
    "json10": "application/vnd.sdmx.data+json;version=1.0.0",
    "ml-generic": "application/vnd.sdmx.genericdata+xml;version=2.1",
    "ml-specific": "application/vnd.sdmx.structurespecificdata+xml;version=2.1",
}


def observation_values(kind: str, text: str) -> list:
    """The observation values of a one-series answer, in period order, as the message says them."""
    if kind == "csv":
        import csv

        rows = list(csv.DictReader(io.StringIO(text)))
        return [r["OBS_VALUE"] for r in sorted(rows, key=lambda r: r["TIME_PERIOD"])]
    if kind.startswith("json"):
        doc = json.loads(text)
        (series,) = doc["data"]["dataSets"][0]["series"].values()
        observations = series["observations"]
        return [observations[k][0] for k in sorted(observations, key=int)]
    from lxml import etree

    root = etree.fromstring(text.encode())
    if kind == "ml-generic":
        out = []
        for obs in root.iter("{*}Obs"):
            value = obs.find("{*}ObsValue")
            out.append(value.get("value") if value is not None else None)
        return out
    return [obs.get("OBS_VALUE") for obs in root.iter("Obs")]


def test_nan_is_kept_and_served_as_nan_in_every_format(store):
    db, settings, tmp_path = store
    text = (HEADER + row("2020-01", "NaN") + row("2020-02", "") + row("2020-03", "INF")
            + row("2020-04", "-INF") + row("2020-05", "1.5"))
    served_settings = Settings(database_url=settings.database_url, data_dir=tmp_path, answer_cache_bytes=0)
    with running_server(served_settings, writes) as server:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            answer = client.post("/rest/v2/data/dataflow/TEST/DF_A/1.0", content=text.encode(),
                                 headers={"Content-Type": "text/csv"})
            assert answer.status_code == 200, answer.text
            got = {}
            for kind, accept in FORMATS.items():
                reply = client.get("/rest/v2/data/dataflow/TEST/DF_A/1.0/M.IR.F", headers={"Accept": accept})
                assert reply.status_code == 200, (kind, reply.text[:300])
                got[kind] = observation_values(kind, reply.text)
    assert got["csv"] == ["NaN", "", "INF", "-INF", "1.5"]
    assert got["json"] == got["json10"] == ["NaN", None, "INF", "-INF", 1.5]
    assert got["ml-generic"] == got["ml-specific"] == ["NaN", None, "INF", "-INF", "1.5"]


# -- the command ---------------------------------------------------------------------------------


def run_cli(monkeypatch, capsys, store, *argv) -> tuple[int, str, str]:
    db, settings, tmp_path = store
    monkeypatch.setenv("SDMX_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SDMX_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_load_data_json_dry_run_and_summary(monkeypatch, capsys, store):
    write(store[2] / "a.csv", HEADER + row("2020-01") + row("2020-02"))
    code, out, err = run_cli(monkeypatch, capsys, store, "load-data", REF, "a.csv", "--dry-run", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["status"] == "validated" and doc["report"]["valid"] and doc["report"]["rowsRead"] == 2
    assert "dry run, nothing was changed" in err
    code, out, err = run_cli(monkeypatch, capsys, store, "load-data", REF, "a.csv")
    assert code == 0, err
    assert "a.csv: merge of 2 rows into TEST:DF_A(1.0) applied in" in err
    assert "2 added, 0 changed, 0 deleted, 0 unchanged" in err
    write(store[2] / "bad.csv", HEADER + row("2020-01", "1e309"))
    code, out, err = run_cli(monkeypatch, capsys, store, "load-data", REF, "bad.csv", "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["status"] == "rejected"
    assert doc["report"]["errors"] == [{"row": 2, "rows": [2], "count": 1, "column": "OBS_VALUE", "value": "1e309",
                                        "rule": "number-overflow", "message": doc["report"]["errors"][0]["message"]}]


def test_a_failure_inside_the_load_is_one_line_with_its_record(monkeypatch, capsys, store):
    from sdmx_server.store import apply as apply_module

    def crash(*args, **kwargs):
        raise RuntimeError("disk full\nsecond line")

    monkeypatch.setattr(apply_module, "finish_record", crash)
    write(store[2] / "a.csv", HEADER + row("2020-01"))
    code, out, err = run_cli(monkeypatch, capsys, store, "load-data", REF, "a.csv")
    assert code == 1
    assert err.strip().splitlines()[-1] == "sdmx-server: load-data failed (load #1, marked failed): RuntimeError: disk full"
    assert "Traceback" not in err + out


def test_the_pipeline_reports_its_stages_and_the_bar_draws_them(store):
    from sdmx_server.ingest.console import ConsoleProgress

    db, settings, tmp_path = store
    path = write(tmp_path / "p.csv", HEADER + "".join(row(f"20{y:02d}-{m:02d}") for y in range(10, 30)
                                                       for m in range(1, 13)))
    calls = []
    outcome = load_data(db, _registry(db), FLOW_A, path, "merge", settings,
                        progress=lambda *a: calls.append(a))
    assert outcome.applied
    stages = [c[0] for c in calls]
    assert stages[0] == "read" and "validate" in stages and stages[-1] == "apply"
    assert calls[-1] == ("apply", 240, 240)
    assert any(c[0] == "read" and c[1] == path.stat().st_size for c in calls)
    screen = io.StringIO()
    with ConsoleProgress("p.csv", stream=screen, enabled=True) as bar:
        bar("validate", 0, 240)
        bar("validate", 240, 240)
        bar("apply", 240, 240)
    assert "p.csv: validating" in screen.getvalue() or "p.csv: writing" in screen.getvalue()
    quiet = io.StringIO()
    with ConsoleProgress("p.csv", stream=quiet) as bar:  # not a terminal: nothing drawn
        bar("apply", 240, 240)
    assert quiet.getvalue() == ""



def test_a_check_that_breaks_marks_its_record_failed_not_running(monkeypatch, capsys, store):
    from sdmx_server.ingest import load as load_module

    def broken(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr(load_module, "validate", broken)
    write(store[2] / "a.csv", HEADER + row("2020-01"))
    code, out, err = run_cli(monkeypatch, capsys, store, "load-data", REF, "a.csv")
    assert code == 1
    assert err.strip().splitlines()[-1] == "sdmx-server: load-data failed (load #1, marked failed): MemoryError"
    from sqlmodel import Session

    from sdmx_server.store.records import LoadRecord

    with Session(store[0].engine) as session:
        record = session.get(LoadRecord, 1)
    assert record.status == "failed" and "MemoryError" in record.report


def test_nan_revises_and_is_revised_like_any_value(store):
    db, settings, tmp_path = store
    served_settings = Settings(database_url=settings.database_url, data_dir=tmp_path, answer_cache_bytes=0)
    steps = [("1.5", "merge", "1.5"), ("NaN", "merge", "NaN"), ("", "merge", "NaN"), ("2", "merge", "2"),
             ("NaN", "replace", "NaN"), ("", "replace", "")]
    with running_server(served_settings, writes) as server:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            for value, action, expected in steps:
                answer = client.post("/rest/v2/data/dataflow/TEST/DF_A/1.0", params={"action": action},
                                     content=(HEADER + row("2020-01", value)).encode(),
                                     headers={"Content-Type": "text/csv"})
                assert answer.status_code == 200, answer.text
                reply = client.get("/rest/v2/data/dataflow/TEST/DF_A/1.0/M.IR.F",
                                   headers={"Accept": FORMATS["csv"]})
                assert observation_values("csv", reply.text) == [expected], (value, action)
