"""The mapping of a unit's rows onto a DSD, piece by piece: value maps, fixed values, scaling,
every period form (Solar Hijri held against jdatetime over 1300..1500), the source file's own
errors as `file:line: message`, and secrets from the environment."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import jdatetime
import pyarrow as pa
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from sdmx_server.cli import main
from sdmx_server.ingest.readers import ROW
from sdmx_server.ingest.report import ValidationReport
from sdmx_server.registry.shape import data_shape
from sdmx_server.persian import calendar
from sdmx_server.sources.mapping import map_rows
from sdmx_server.sources.periods import PeriodRule, sdmx_period, NotAPeriod
from sdmx_server.sources.raw import RawData
from sdmx_server.sources.secrets import MissingSecret, expand, resolve_url
from sdmx_server.sources.spec import read_source
from tests.datasets import FLOW_A
from tests.sources_support import hijri_month_range, make_store, write_spec


@pytest.fixture(scope="module")
def shape(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mapping")
    store = make_store(f"sqlite:///{directory / 'store.db'}", directory)
    return data_shape(store.registry.get("dataflow", *FLOW_A).structure)


def raw(columns: dict[str, list], strict=False, first_row=2) -> RawData:
    table = pa.table({k: pa.array(v) for k, v in columns.items()})
    rows = pa.array(range(first_row, first_row + table.num_rows), pa.int64())
    return RawData(table, rows, "unit.csv", strict_columns=strict)


SPEC = """
    dataflow: TEST:DF_A(1.0)
    kind: csv
    path: unit.csv
    columns:
      ostan:
        to: AREA
        values: {تهران: IR-23, Tehran: IR-23, کرمان: IR-10, اصفهان: IR-10}
      jens: {to: SEX, values: {1: M, 2: F}}
      tedad: {to: OBS_VALUE, scale: 1000}
    fixed: {FREQ: M, OBS_STATUS: A}
    period: {year: sal, month: mah, calendar: solar-hijri}
"""


def test_value_maps_fixed_values_scaling_and_rows(tmp_path, shape):
    spec = write_spec(tmp_path, "unit", SPEC)
    data = raw({"ostan": ["تهران", "Tehran", "كرمان", " اصفهان ", "IR-03"], "sal": [1403, 1403, 1403, 1403, 1403],
                "mah": [1, 2, 3, 4, 12], "jens": [1, 2, 1, 2, 1], "tedad": ["12", "1.5", "12,500", "0", "7"]})
    report = ValidationReport()
    incoming = map_rows(spec, data, shape, report)
    assert report.ok, report.text()
    table = incoming.table.to_pydict()
    # A value the map names becomes its code (Arabic kaf and stray spaces as Persian); one it
    # does not name passes as it is, for validation to judge.
    assert table["AREA"] == ["IR-23", "IR-23", "IR-10", "IR-10", "IR-03"]
    assert table["SEX"] == ["M", "F", "M", "F", "M"]
    assert table["OBS_VALUE"] == ["12000", "1500", "12500000", "0", "7000"]
    assert table["FREQ"] == ["M"] * 5 and table["OBS_STATUS"] == ["A"] * 5
    assert table["TIME_PERIOD"] == [hijri_month_range(1403, m) for m in (1, 2, 3, 4, 12)]
    assert table[ROW] == [2, 3, 4, 5, 6]
    assert incoming.notes["source"] == "unit"


def test_a_value_that_cannot_be_scaled_or_is_no_period_names_its_row(tmp_path, shape):
    spec = write_spec(tmp_path, "unit", SPEC)
    data = raw({"ostan": ["تهران"] * 3, "sal": [1403, 1403, 1403], "mah": [1, 13, 2], "jens": [1, 1, 2],
                "tedad": ["5", "6", "n/a"]}, first_row=5)
    report = ValidationReport()
    assert map_rows(spec, data, shape, report) is None
    lines = report.lines()
    assert any(line.startswith("row 6, column TIME_PERIOD") and "month '13' is not 1..12" in line for line in lines), lines
    assert any(line.startswith("row 7, column OBS_VALUE") and "'n/a'" in line for line in lines), lines


def test_missing_and_unexpected_columns(tmp_path, shape):
    spec = write_spec(tmp_path, "unit", SPEC)
    base = {"ostan": ["تهران"], "sal": [1403], "mah": [1], "jens": [1], "tedad": [5]}
    report = ValidationReport()
    assert map_rows(spec, raw({k: v for k, v in base.items() if k != "jens"}), shape, report) is None
    assert "expects the column(s) jens, which the data lacks" in report.file_errors[0]
    report = ValidationReport()
    assert map_rows(spec, raw({**base, "shahr": ["x"]}, strict=True), shape, report) is None
    assert "returns the column(s) shahr, which the mapping of unit.yaml does not expect" in report.file_errors[0]
    report = ValidationReport()  # files may carry columns of their own: a warning, not an error
    assert map_rows(spec, raw({**base, "shahr": ["x"]}), shape, report) is not None
    assert "shahr" in report.warnings[0]


def test_a_target_that_is_no_component_is_located_in_the_source_file(tmp_path, shape):
    spec = write_spec(tmp_path, "unit", SPEC.replace("to: SEX", "to: GENDER"))
    report = ValidationReport()
    assert map_rows(spec, raw({"ostan": ["تهران"], "sal": [1403], "mah": [1], "jens": [1], "tedad": [5]}),
                    shape, report) is None
    assert report.file_errors[0].startswith(f"{spec.path}:8: GENDER is not a component of TEST:DSD_TEST(1.0)")


# -- periods ---------------------------------------------------------------------------------

HIJRI = PeriodRule(calendar="solar-hijri", column="p")


@pytest.mark.parametrize("rule,value,expected", [
    (HIJRI, "1403/01", "2024-03-20/P31D"),  # Farvardin 1403
    (HIJRI, "1403-1", "2024-03-20/P31D"),
    (HIJRI, "1403/12", "2025-02-19/P30D"),  # Esfand of a leap year
    (HIJRI, "1402/12", "2024-02-20/P29D"),
    (HIJRI, "1403-Q1", "2024-03-20/P93D"),
    (HIJRI, "1403 Q4", "2024-12-21/P90D"),
    (HIJRI, "1403", "2024-03-20/P366D"),
    (HIJRI, "1403/01/15", "2024-04-03"),
    (PeriodRule(calendar="solar-hijri", column="p", resolution="month"), "1403/01/15", "2024-03-20/P31D"),
    (PeriodRule(calendar="solar-hijri", column="p", majority=True), "1403/01", "2024-04"),
    (PeriodRule(calendar="solar-hijri", column="p", majority=True), "1403-Q1", "2024-Q2"),
    (PeriodRule(calendar="solar-hijri", column="p", majority=True), "1403", "2024"),
    (PeriodRule(calendar="solar-hijri", year="y", quarter="q"), "1403|Q2", "2024-06-21/P93D"),
    (PeriodRule(calendar="solar-hijri", year="y", month="m"), "1403.0|7.0", "2024-09-22/P30D"),
    (PeriodRule(column="p"), "2024-03", "2024-03"),
    (PeriodRule(column="p"), "2024/3", "2024-03"),
    (PeriodRule(column="p"), "2024-Q1", "2024-Q1"),
    (PeriodRule(column="p"), "2024", "2024"),
    (PeriodRule(column="p"), "2024-03-20", "2024-03-20"),
    (PeriodRule(column="p", resolution="month"), "2024-03-20 00:00:00", "2024-03"),
    (PeriodRule(column="p", resolution="quarter"), "2024-05-01", "2024-Q2"),
    (PeriodRule(year="y", month="m"), "2024|3", "2024-03"),
])
def test_period_forms(rule, value, expected):
    assert sdmx_period(rule, value) == expected


@pytest.mark.parametrize("value", ["1403/13", "1403/00", "14x3", "1403-Q5", "1403/12/31", ""])
def test_no_period(value):
    with pytest.raises(NotAPeriod):
        sdmx_period(HIJRI, value or " ")


@hsettings(max_examples=300, deadline=None)
@given(st.integers(1300, 1500), st.integers(1, 12))
def test_solar_hijri_months_agree_with_jdatetime(year, month):
    assert sdmx_period(HIJRI, f"{year}/{month:02d}") == hijri_month_range(year, month)
    quarter = (month - 1) // 3 + 1
    first = jdatetime.date(year, 3 * quarter - 2, 1).togregorian()
    after = jdatetime.date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1).togregorian()
    assert sdmx_period(HIJRI, f"{year}-Q{quarter}") == f"{first.isoformat()}/P{(after - first).days}D"


@hsettings(max_examples=300, deadline=None)
@given(st.dates(date(1921, 3, 21), date(2122, 3, 20)))
def test_solar_hijri_days_agree_with_jdatetime(day):
    j = jdatetime.date.fromgregorian(date=day)
    assert calendar.from_gregorian(day) == (j.year, j.month, j.day)
    assert sdmx_period(HIJRI, f"{j.year}/{j.month}/{j.day}") == day.isoformat()
    # The Gregorian month holding most of the Solar Hijri month's days holds at least half.
    majority = sdmx_period(PeriodRule(calendar="solar-hijri", column="p", majority=True), f"{j.year}/{j.month}")
    start = jdatetime.date(j.year, j.month, 1).togregorian()
    length = int(hijri_month_range(j.year, j.month).split("/P")[1][:-1])
    days = [start + timedelta(days=i) for i in range(length)]
    assert 2 * sum(1 for d in days if f"{d.year:04d}-{d.month:02d}" == majority) >= length


# -- the source file -------------------------------------------------------------------------


@pytest.mark.parametrize("text,line,message", [
    ("dataflow: TEST:DF_A\nkind: csv\npath: x.csv\ncolumns: {a: AREA}\n", 1, "is not a reference like"),
    ("dataflow: TEST:DF_A(1.0)\nkind: xml\ncolumns: {a: AREA}\n", 2, "kind 'xml' is not one of"),
    ("dataflow: TEST:DF_A(1.0)\nkind: csv\npath: x.csv\ncolumns: {a: AREA}\ncolour: red\n", 5, "unknown field 'colour'"),
    ("dataflow: TEST:DF_A(1.0)\nkind: csv\npath: x.csv\nschedule: every tuesday\ncolumns: {a: AREA}\n", 4,
     "is not a cron expression"),
    ("dataflow: TEST:DF_A(1.0)\nkind: csv\npath: x.csv\nschedule: {every: soon}\ncolumns: {a: AREA}\n", 4,
     "is not an interval"),
    ("dataflow: TEST:DF_A(1.0)\nkind: sql\nurl: mysql+pymysql://u:secret@h/db\nquery: SELECT 1\ncolumns: {a: AREA}\n",
     3, "the url holds a password"),
    ("dataflow: TEST:DF_A(1.0)\nkind: sql\nurl: mysql+pymysql://u@h/db\nquery: SELECT 1\ncredentials:\n"
     "  password: hunter2\ncolumns: {a: AREA}\n", 6, "must name an environment variable"),
    ("dataflow: TEST:DF_A(1.0)\nkind: csv\npath: x.csv\ncolumns: {a: AREA}\nperiod:\n  column: p\n  year: y\n", 5,
     "give either column"),
    ("dataflow: TEST:DF_A(1.0)\nkind: csv\npath: x.csv\ncolumns:\n  a: AREA\n  b: AREA\n", 6, "AREA is also fed"),
    ("dataflow: TEST:DF_A(1.0)\nkind: csv\npath: x.csv\ncolumns:\n  a: {to: OBS_VALUE, scale: lots}\n", 5,
     "scale must be a number"),
    ("dataflow: TEST:DF_A(1.0)\nkind: csv\npath: x.csv\ncolumns: {a: AREA}\nrelease_at: next friday\n", 5,
     "is not an ISO 8601 time"),
    ("dataflow: [TEST\n", 2, "YAML does not parse"),  # where PyYAML finds the end
])
def test_a_bad_source_file_is_reported_with_its_line(tmp_path, text, line, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    spec, errors = read_source(path)
    assert spec is None
    assert any(e.line == line and message in e.message for e in errors), [str(e) for e in errors]
    assert str(errors[0]).startswith(f"{path}:")


def test_check_reports_the_loaders_folder(tmp_path, capsys):
    loaders = tmp_path / "loaders"
    loaders.mkdir()
    (loaders / "ok.yaml").write_text("dataflow: TEST:DF_A(1.0)\nkind: csv\npath: x.csv\ncolumns: {a: AREA}\n")
    (loaders / "bad.yaml").write_text("dataflow: TEST:DF_A(1.0)\nkind: csv\npath: x.csv\ncolumns: {a: AREA}\naction: upsert\n")
    assert main(["check", str(loaders)]) == 1
    out, err = capsys.readouterr()
    assert out.strip() == f"{loaders / 'bad.yaml'}:5: action 'upsert' is not one of merge, replace, delete, replace-all"
    assert "2 source(s)" not in err and "1 source(s), 1 error(s)" in err
    (loaders / "bad.yaml").unlink()
    assert main(["check", str(loaders)]) == 0


def test_the_shipped_sources_check_clean():
    specs, errors = __import__("sdmx_server.sources.spec", fromlist=["read_sources"]).read_sources(
        Path(__file__).resolve().parent.parent / "loaders")
    assert not errors, [str(e) for e in errors]
    assert {s.kind for s in specs} == {"csv", "sql"}


def test_secrets_come_from_the_environment_only():
    env = {"UNIT_PW": "s3cret", "UNIT_HOST": "db.unit"}
    url = resolve_url("mysql+pymysql://reader@${UNIT_HOST}/bimeh", {"password": "${UNIT_PW}"}, env)
    assert url.password == "s3cret" and url.host == "db.unit"
    assert expand("${NOT_SET:-sqlite:///${DIR:-var}/u.db}", {}) == "sqlite:///var/u.db"
    assert expand("${NOT_SET:-sqlite:///${DIR:-var}/u.db}", {"DIR": "/srv"}) == "sqlite:////srv/u.db"
    with pytest.raises(MissingSecret, match="the environment variable UNIT_PASSWORD is not set"):
        resolve_url("mysql+pymysql://reader@h/db", {"password": "${UNIT_PASSWORD}"}, {})


def test_every_example_of_the_documentation_is_a_valid_source(tmp_path):
    import re

    text = (Path(__file__).resolve().parent.parent / "docs" / "sources.md").read_text(encoding="utf-8")
    examples = [e for e in re.findall(r"```yaml\n(.*?)```", text, re.S) if "dataflow:" in e]
    assert len(examples) >= 4
    for number, example in enumerate(examples):
        path = tmp_path / f"example{number}.yaml"
        path.write_text(example, encoding="utf-8")
        spec, errors = read_source(path)
        assert spec is not None, (example, [str(e) for e in errors])


def test_check_holds_the_targets_against_the_authoring_files(tmp_path, capsys):
    from tests.datasets import CONTENT

    loaders = tmp_path / "loaders"
    loaders.mkdir()
    (loaders / "unit.yaml").write_text(
        "dataflow: TEST:DF_A(1.0)\nkind: csv\npath: x.csv\ncolumns:\n  ostan: REGION\n  tedad: OBS_VALUE\n"
        "fixed: {FREQ: M}\nperiod: {column: dore}\n", encoding="utf-8")
    assert main(["check", str(CONTENT / "codelists"), str(CONTENT / "dsd"), str(loaders)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{loaders / 'unit.yaml'}:5: REGION is not a component of TEST:DSD_TEST(1.0)")
    (loaders / "unit.yaml").write_text((loaders / "unit.yaml").read_text().replace("REGION", "AREA"))
    assert main(["check", str(CONTENT / "codelists"), str(CONTENT / "dsd"), str(loaders)]) == 0


def test_a_source_may_embargo_its_loads(tmp_path, monkeypatch):
    """release_at reaches the load request, as --release-at does for load-data."""
    from datetime import datetime, timezone

    import sdmx_server.sources.sync as sync

    spec = write_spec(tmp_path, "unit", SPEC + "    release_at: 2026-12-24T08:00+03:30\n")
    assert spec.release_at == datetime(2026, 12, 24, 4, 30, tzinfo=timezone.utc)
    (tmp_path / "unit.csv").write_text("ostan,sal,mah,jens,tedad\nتهران,1403,1,1,5\n", encoding="utf-8")
    seen = []

    def load_incoming(db, registry, request, read, settings):
        seen.append(request)
        raise sync.LoadError("stop here")

    monkeypatch.setattr(sync, "load_incoming", load_incoming)
    store = make_store(f"sqlite:///{tmp_path / 'store.db'}", tmp_path)
    outcome = sync.sync_source(store.db, store.registry, spec, store.settings)
    assert outcome.status == "failed" and seen[0].release_at == spec.release_at and seen[0].origin == "sync"
