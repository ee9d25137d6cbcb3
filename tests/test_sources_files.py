"""A unit's own CSV and Excel files, mapped and loaded end to end, then served back over HTTP
and compared with a pandas oracle that converts the unit's rows by itself (jdatetime for the
Solar Hijri months). Also: rows named in errors, nothing new changes nothing, and the demo's
shipped sources."""

from __future__ import annotations

import csv

import openpyxl
import pandas as pd
import pytest

from sdmx_server.cli import REPO_ROOT
from sdmx_server.demo.units import write_unit_database
from sdmx_server.registry.load import load_structures
from sdmx_server.settings import Settings
from sdmx_server.sources.spec import read_sources
from sdmx_server.sources.state import get_state
from sdmx_server.sources.sync import current_registry, sync_source
from sdmx_server.store.database import Database
from sdmx_server.boot import create_schema
from tests.conftest import fresh_database, running_server
from tests.datasets import FLOW_A
from tests.sources_support import OSTAN, comparable, hijri_month_range, loads, make_store, served, write_spec

HEADER = ["استان", "سال", "ماه", "جنسیت", "تعداد (هزار نفر)", "ملاحظات"]
SEX_WORDS = {"مرد": "M", "زن": "F"}


def unit_rows(months=range(1, 13), year=1403):
    rows = []
    for name in OSTAN:
        for sex in SEX_WORDS:
            for month in months:
                rows.append([name, year, month, sex, round(10 + month * 0.25 + len(name) / 10, 2), ""])
    return rows


def oracle(rows) -> pd.DataFrame:
    """What the server must serve: the unit's rows converted here, independently of the mapping."""
    return pd.DataFrame({
        "FREQ": "M",
        "AREA": [OSTAN[r[0]] for r in rows],
        "SEX": [SEX_WORDS[r[3]] for r in rows],
        "TIME_PERIOD": [hijri_month_range(r[1], r[2]) for r in rows],
        "OBS_VALUE": [r[4] * 1000 for r in rows],
        "OBS_STATUS": "P",
    })


MAPPING = """
dataflow: TEST:DF_A(1.0)
{where}
columns:
  استان:
    to: AREA
    values: {{تهران: IR-23, اصفهان: IR-10, آذربایجان شرقی: IR-03}}
  جنسیت: {{to: SEX, values: {{مرد: M, زن: F}}}}
  تعداد (هزار نفر): {{to: OBS_VALUE, scale: 1000}}
  ملاحظات: COMMENT
fixed: {{FREQ: M, OBS_STATUS: P}}
period: {{year: سال, month: ماه, calendar: solar-hijri}}
"""


def write_csv(path, rows, encoding="utf-8", delimiter=","):
    path.parent.mkdir(parents=True, exist_ok=True)
    # Windows' Arabic code page has no Persian yeh or kaf: files saved in it carry the Arabic
    # letters, which the mapping reads as the Persian ones.
    arabic = str.maketrans({"ی": "ي", "ک": "ك"}) if encoding == "cp1256" else {}
    with open(path, "w", encoding=encoding, newline="") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow([h.translate(arabic) for h in HEADER])
        writer.writerows([[c.translate(arabic) if isinstance(c, str) else c for c in row] for row in rows])


def write_xlsx(path, rows, title_rows=2):
    book = openpyxl.Workbook()
    book.active.title = "خلاصه"
    sheet = book.create_sheet("آمار ماهانه")
    for i in range(title_rows):
        sheet.append([f"اداره کل - گزارش {i}"])  # a report's title rows above the table
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    with fresh_database(request.param, tmp_path) as url:
        yield make_store(url, tmp_path)


def test_a_mapped_csv_is_loaded_and_served(store, tmp_path):
    rows = unit_rows()
    write_csv(tmp_path / "loaders" / "data" / "tehran.csv", rows, encoding="cp1256", delimiter=";")
    spec = write_spec(tmp_path / "loaders", "unit_csv", MAPPING.format(
        where="kind: csv\npath: data/tehran.csv\nencoding: cp1256\ndelimiter: ';'"))
    outcome = sync_source(store.db, store.registry, spec, store.settings)
    assert outcome.status == "applied", outcome.lines
    assert outcome.rows == len(rows)
    record = loads(store.db)[-1]
    assert (record["origin"], record["source"], record["status"]) == ("sync", "unit_csv", "applied")
    with running_server(store.settings) as server:
        got = served(server.url, FLOW_A)
    columns = ["FREQ", "AREA", "SEX", "TIME_PERIOD", "OBS_VALUE", "OBS_STATUS"]
    pd.testing.assert_frame_equal(comparable(got, columns), comparable(oracle(rows), columns))


def test_a_mapped_excel_sheet_is_loaded_and_served(store, tmp_path):
    rows = unit_rows(months=range(4, 10), year=1402)
    write_xlsx(tmp_path / "loaders" / "isfahan.xlsx", rows)
    spec = write_spec(tmp_path / "loaders", "unit_xlsx", MAPPING.format(
        where="kind: excel\npath: isfahan.xlsx\nsheet: آمار ماهانه\nheader_row: 3"))
    outcome = sync_source(store.db, store.registry, spec, store.settings)
    assert outcome.status == "applied", outcome.lines
    with running_server(store.settings) as server:
        got = served(server.url, FLOW_A)
    columns = ["FREQ", "AREA", "SEX", "TIME_PERIOD", "OBS_VALUE", "OBS_STATUS"]
    pd.testing.assert_frame_equal(comparable(got, columns), comparable(oracle(rows), columns))


def test_a_glob_reads_every_file_and_rows_are_named_in_the_unit_file(tmp_path):
    store = make_store(f"sqlite:///{tmp_path / 'store.db'}", tmp_path)
    folder = tmp_path / "loaders"
    write_csv(folder / "drop" / "1403-01.csv", unit_rows(months=[1]))
    bad = unit_rows(months=[2])
    good_name, bad[3][0] = bad[3][0], "تهرانن"  # a typing slip in the unit's file, its row 5
    write_csv(folder / "drop" / "1403-02.csv", bad)
    spec = write_spec(folder, "drop", MAPPING.format(where="kind: csv\npath: drop/1403-*.csv"))
    outcome = sync_source(store.db, store.registry, spec, store.settings)
    assert outcome.status == "rejected"
    # Rows count on across the files; the report says which file holds which.
    first = len(unit_rows(months=[1]))
    assert any(f"row {first + 5}, column AREA: 'تهرانن'" in line for line in outcome.lines), outcome.lines
    assert any(f"rows {first + 2:,}..{2 * first + 1:,} are 1403-02.csv rows 2..{first + 1}" in line
               for line in outcome.lines), outcome.lines
    record = loads(store.db)[-1]
    assert record["status"] == "rejected" and "تهرانن" in record["report"]
    assert get_state(store.db, "drop").last_failure is not None
    with running_server(store.settings) as server:
        assert served(server.url, FLOW_A).empty  # nothing applied
    bad[3][0] = good_name
    write_csv(folder / "drop" / "1403-02.csv", bad)
    assert sync_source(store.db, store.registry, spec, store.settings).status == "applied"


def test_a_file_that_did_not_change_changes_nothing(tmp_path):
    store = make_store(f"sqlite:///{tmp_path / 'store.db'}", tmp_path)
    write_csv(tmp_path / "loaders" / "u.csv", unit_rows())
    spec = write_spec(tmp_path / "loaders", "u", MAPPING.format(where="kind: csv\npath: u.csv"))
    assert sync_source(store.db, store.registry, spec, store.settings).status == "applied"
    records = len(loads(store.db))
    again = sync_source(store.db, store.registry, spec, store.settings)
    assert again.status == "unchanged" and len(loads(store.db)) == records
    assert get_state(store.db, "u").last_outcome == "unchanged"
    # The same rows in another order (as an unsorted query may return them) are nothing new ...
    write_csv(tmp_path / "loaders" / "u.csv", unit_rows()[::-1])
    assert sync_source(store.db, store.registry, spec, store.settings).status == "unchanged"
    # ... and one figure changed is.
    changed = unit_rows()
    changed[7][4] += 1
    write_csv(tmp_path / "loaders" / "u.csv", changed)
    assert sync_source(store.db, store.registry, spec, store.settings).status == "applied"
    records += 1
    # A changed mapping is something new, even over the same file.
    spec = write_spec(tmp_path / "loaders", "u", MAPPING.format(where="kind: csv\npath: u.csv").replace(
        "OBS_STATUS: P", "OBS_STATUS: A"))
    assert sync_source(store.db, store.registry, spec, store.settings).status == "applied"
    assert len(loads(store.db)) == records + 1


def test_a_missing_file_fails_the_sync_with_its_record(tmp_path):
    store = make_store(f"sqlite:///{tmp_path / 'store.db'}", tmp_path)
    spec = write_spec(tmp_path / "loaders", "gone", MAPPING.format(where="kind: csv\npath: nowhere/*.csv"))
    outcome = sync_source(store.db, store.registry, spec, store.settings)
    assert outcome.status == "failed" and "no file matches 'nowhere/*.csv'" in outcome.message
    record = loads(store.db)[-1]
    assert record["status"] == "failed" and "no file matches" in record["report"]


def test_the_demo_sources_sync_into_the_demo_structures(tmp_path):
    """The two sources shipped in loaders/: the Fars CSV drop and the Isfahan office database."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    settings = Settings(database_url=url, data_dir=tmp_path / "var")
    db = Database(url)
    create_schema(db)
    assert load_structures(db, [REPO_ROOT / "codelists", REPO_ROOT / "dsd"], settings).ok
    write_unit_database(tmp_path / "var" / "units" / "isfahan.db")
    specs, errors = read_sources(REPO_ROOT / "loaders")
    assert not errors
    environ = {"SDMX_DATA_DIR": str(tmp_path / "var")}
    outcomes = {s.id: sync_source(db, current_registry(db), s, settings, environ) for s in specs}
    assert {k: o.status for k, o in outcomes.items()} == {"fars_pensioners": "applied", "isfahan_insured": "applied"}
    with running_server(settings) as server:
        fars = served(server.url, ("SSO", "DF_PENSIONERS", "1.0"), "M.IR-07.OLD_AGE.M")
        isfahan = served(server.url, ("SSO", "DF_INSURED", "1.0"), "M.IR-10._T.F._T")
    # Dey 1404 (from ۱۴۰۴/۱۰ in the unit's file) is its exact days, not December.
    assert hijri_month_range(1404, 10) in set(fars["TIME_PERIOD"])
    assert hijri_month_range(1404, 10) == "2025-12-22/P30D"
    assert {hijri_month_range(y, m) for y, m in [(1404, 10), (1405, 8)]} <= set(isfahan["TIME_PERIOD"])
    assert len(fars) == 11 and len(isfahan) == 11
    # The units' rows carry the dataflow's attributes as the headquarters' rows do.
    assert set(isfahan["UNIT_MEASURE"]) == {"PERSONS"} and set(fars["UNIT_MULT"]) == {"0"}


@pytest.mark.parametrize("kind,name,content,why", [
    ("excel", "book.xlsx", b"not a workbook", "book.xlsx cannot be read as an Excel workbook (.xlsx)"),
    ("csv", "u.csv", b"\xff\xfe\x00garbage\n", "u.csv cannot be read as CSV (utf-8"),
    ("csv", "u.csv", "استان,سال\n".encode(), "expects the column(s) جنسیت, تعداد (هزار نفر), ملاحظات, ماه, which the data lacks"),
])
def test_an_unreadable_file_fails_its_sync_and_says_why(tmp_path, kind, name, content, why):
    store = make_store(f"sqlite:///{tmp_path / 'store.db'}", tmp_path)
    (tmp_path / "loaders").mkdir()
    (tmp_path / "loaders" / name).write_bytes(content)
    spec = write_spec(tmp_path / "loaders", "u", MAPPING.format(where=f"kind: {kind}\npath: {name}"))
    outcome = sync_source(store.db, store.registry, spec, store.settings)
    assert outcome.status == "failed" and why in outcome.message, outcome.message
    record = loads(store.db)[-1]
    assert record["status"] == "failed" and why in record["report"]


def test_sync_names_the_unit_file_and_row_of_each_error(tmp_path, monkeypatch, capsys):
    from sdmx_server.cli import main

    store = make_store(f"sqlite:///{tmp_path / 'store.db'}", tmp_path)
    rows = unit_rows(months=[1, 2])
    rows[4][3] = "مردان"  # row 6 of the unit's file: a sex the map does not name
    write_csv(tmp_path / "loaders" / "tehran.csv", rows)
    write_spec(tmp_path / "loaders", "tehran", MAPPING.format(where="kind: csv\npath: tehran.csv"))
    monkeypatch.setenv("SDMX_DATABASE_URL", store.settings.database_url)
    monkeypatch.setenv("SDMX_DATA_DIR", str(tmp_path))
    assert main(["sync", "--dir", str(tmp_path / "loaders")]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("tehran: rejected: 1 problem(s) in 12 rows") and "first: row 6, column SEX" in out
    assert f"{tmp_path / 'loaders' / 'tehran.yaml'} (tehran.csv): row 6, column SEX: 'مردان'" in err, err


def test_a_sync_tells_its_progress_stage_by_stage(tmp_path):
    # What `sdmx-server sync` draws on a terminal: the pull, then the mapping (the pipeline's
    # read), validation and apply of the rows it pulled, each from its start to its end.
    store = make_store(f"sqlite:///{tmp_path / 'store.db'}", tmp_path)
    folder = tmp_path / "loaders"
    rows = unit_rows(months=[1, 2])
    write_csv(folder / "drop" / "1403.csv", rows)
    spec = write_spec(folder, "drop", MAPPING.format(where="kind: csv\npath: drop/1403.csv"))
    seen: list[tuple[str, int, int | None]] = []
    outcome = sync_source(store.db, store.registry, spec, store.settings,
                          progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert outcome.status == "applied"
    stages = [stage for stage, _, _ in seen]
    assert [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s] == ["pull", "read", "validate", "apply"]
    pulled = len(rows)  # write_csv adds the header
    assert seen[0] == ("pull", 0, None) and ("pull", pulled, pulled) in seen
    assert seen[-1] == ("apply", outcome.rows, outcome.rows)
