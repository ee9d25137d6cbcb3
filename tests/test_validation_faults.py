"""Validation finds exactly the faults a file holds: hypothesis makes a DSD (a few coded
dimensions with their codelists, a constraint on one of them, attributes at observation,
series and data-set level) and a clean SDMX-CSV file for it, injects faults at chosen rows, and
the report must name exactly those faults, by row, column and rule, and nothing else; the
clean file must pass.

The reader and the validator run as the load runs them (read_sdmx_csv, then validate with a
ValidationContext holding the constraint); the store is not needed for these rules (the
database tests are in test_validation_load.py).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sdmx_server.ingest.context import Constraint, Region, Selection, ValidationContext
from sdmx_server.ingest.readers.sdmx_csv import read_sdmx_csv
from sdmx_server.ingest.report import ValidationReport
from sdmx_server.ingest.validate import validate
from sdmx_server.registry.shape import Component, DataShape

FLOW = ("T", "DF_GEN", "1.0")
FLOW_REF = "T:DF_GEN(1.0)"
CONSTRAINT = "T:CR_GEN(1.0)"


@dataclass
class Generated:
    shape: DataShape
    context: ValidationContext
    dims: list[str]  # FREQ first, then the generated ones
    constrained: str  # the dimension the constraint narrows
    outside: str  # a code of it the constraint leaves out
    rows: list[dict]  # clean data rows, in file order


def coded(id_: str, role: str, position: int, codes, **extra) -> Component:
    return Component(id_, role, position, codelist=f"T:CL_{id_}(1.0)", codes=frozenset(codes), **extra)


@st.composite
def generated(draw) -> Generated:
    n_dims = draw(st.integers(1, 3))
    names = draw(st.lists(st.sampled_from(["AREA", "SEX", "AGE", "SECTOR", "UNIT"]), min_size=n_dims,
                          max_size=n_dims, unique=True))
    code_lists = {n: draw(st.lists(st.from_regex(r"[A-Z][A-Z0-9_]{0,3}", fullmatch=True), min_size=2,
                                   max_size=4, unique=True)) for n in names}
    constrained = draw(st.sampled_from(names))
    allowed = code_lists[constrained][:-1]
    outside = code_lists[constrained][-1]
    dims = [coded("FREQ", "dimension", 0, ["A", "M", "Q"])]
    dims += [coded(n, "dimension", i + 1, code_lists[n]) for i, n in enumerate(names)]
    series_dims = tuple(["FREQ", *names])
    attributes = (
        coded("OBS_STATUS", "attribute", 0, ["A", "P", "E"], mandatory=True),
        Component("TITLE", "attribute", 1, text_type="string", attachment="dimensions", attach_dims=series_dims),
        coded("UNIT_MULT", "attribute", 2, ["0", "3"], attachment="dataset"),
    )
    shape = DataShape(("T", "DSD_GEN", "1.0"), tuple(dims), Component("TIME_PERIOD", "time", 0),
                      Component("OBS_VALUE", "measure", 0, text_type="double"), attributes)
    context = ValidationContext(constraints=(
        Constraint(CONSTRAINT, (Region((Selection(constrained, frozenset(allowed)),)),)),))
    months = draw(st.integers(2, 4))
    values = draw(st.lists(st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: round(v, 3)), min_size=1, max_size=8))
    rows = []
    keys = [[]]
    for n in names:
        codes = allowed if n == constrained else code_lists[n]
        keys = [k + [c] for k in keys for c in codes]
    for key in keys:
        for m in range(months):
            row = {"FREQ": "M", **dict(zip(names, key)), "TIME_PERIOD": f"2020-{m + 1:02d}",
                   "OBS_VALUE": repr(values[len(rows) % len(values)]), "OBS_STATUS": "A",
                   "TITLE": "title of " + ".".join(key), "UNIT_MULT": "0"}
            rows.append(row)
    order = draw(st.permutations(range(len(rows))))
    return Generated(shape, context, ["FREQ", *names], constrained, outside, [rows[i] for i in order])


FAULTS = ("code", "constraint", "period", "frequency", "duplicate", "number-overflow", "number-underflow",
          "attribute-conflict", "mandatory-attribute")


def to_csv(rows: list[dict], dims: list[str]) -> bytes:
    columns = ["DATAFLOW", *dims, "TIME_PERIOD", "OBS_VALUE", "OBS_STATUS", "TITLE", "UNIT_MULT"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([FLOW_REF, *[row[c] for c in columns[1:]]])
    return out.getvalue().encode()


def run(g: Generated, data: bytes) -> ValidationReport:
    report = ValidationReport()
    incoming = read_sdmx_csv(io.BytesIO(data), g.shape, FLOW, report)
    assert incoming is not None, report.text()
    validate(incoming, g.shape, "merge", report, g.context)
    return report


def found(report: ValidationReport) -> set[tuple[int, str | None, str]]:
    out = set()
    for group in report.groups:
        assert group.count == len(group.rows), group  # few faults: every row is named
        out |= {(r, group.column or None, group.rule) for r in group.rows}
    return out


def series_of(row: dict, dims: list[str]) -> tuple:
    return tuple(row[d] for d in dims)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(g=generated(), data=st.data())
def test_injected_faults_are_reported_exactly(g, data):
    assert run(g, to_csv(g.rows, g.dims)).ok  # the clean file passes
    rows = [dict(r) for r in g.rows]
    n = len(rows)
    faults = data.draw(st.lists(st.sampled_from(FAULTS), min_size=1, max_size=min(4, n), unique=True))
    chosen = data.draw(st.lists(st.integers(0, n - 1), min_size=len(faults), max_size=len(faults), unique=True))
    expected: set[tuple[int, str | None, str]] = set()
    first_of = {}
    for i, row in enumerate(rows):
        first_of.setdefault(series_of(row, g.dims), i)
    for fault, i in zip(faults, chosen):
        row = rows[i]
        file_row = i + 2  # the header is row 1
        if fault == "code":
            dim = data.draw(st.sampled_from(g.dims[1:]))
            row[dim] = "ZZ_9"
            expected.add((file_row, dim, "code"))
        elif fault == "constraint":
            row[g.constrained] = g.outside
            expected.add((file_row, g.constrained, "constraint"))
        elif fault == "period":
            row["TIME_PERIOD"] = "2020-13"
            expected.add((file_row, "TIME_PERIOD", "period"))
        elif fault == "frequency":
            row["TIME_PERIOD"] = "2019-Q1"
            expected.add((file_row, "TIME_PERIOD", "frequency"))
        elif fault == "number-overflow":
            row["OBS_VALUE"] = "1e309"
            expected.add((file_row, "OBS_VALUE", "number-overflow"))
        elif fault == "number-underflow":
            row["OBS_VALUE"] = "-2.5e-400"
            expected.add((file_row, "OBS_VALUE", "number-underflow"))
        elif fault == "mandatory-attribute":
            row["OBS_STATUS"] = ""
            expected.add((file_row, "OBS_STATUS", "mandatory-attribute"))
        elif fault == "attribute-conflict":
            # Not the series' first row: the first row's value is the series' value.
            assume(first_of[series_of(row, g.dims)] != i)
            row["TITLE"] = "another title"
            expected.add((file_row, "TITLE", "attribute-conflict"))
        elif fault == "duplicate":
            rows.append(dict(g.rows[i]))  # a clean copy of the row, at the end
            expected.add((n + 1 + 1, None, "duplicate"))
    # A series' first row that leaves its series (a changed code) would make another row first.
    moved = {i for fault, i in zip(faults, chosen) if fault in ("code", "constraint")}
    for fault, i in zip(faults, chosen):
        if fault == "attribute-conflict":
            original = series_of(g.rows[i], g.dims)
            assume(not any(series_of(g.rows[j], g.dims) == original and j < i for j in moved))
    if "duplicate" in faults:
        # The copy is of the clean row, whose own row may carry another fault: then it is no duplicate.
        i = chosen[faults.index("duplicate")]
        assume(rows[i] == g.rows[i])
    report = run(g, to_csv(rows, g.dims))
    assert found(report) == expected, report.text()
    assert report.error_count == len(expected)


def test_a_series_attribute_with_two_values_names_the_rows_that_disagree():
    shape = DataShape(("T", "D", "1.0"), (coded("FREQ", "dimension", 0, ["M"]), coded("AREA", "dimension", 1, ["X", "Y"])),
                      Component("TIME_PERIOD", "time", 0), Component("OBS_VALUE", "measure", 0, text_type="double"),
                      (Component("TITLE", "attribute", 0, attachment="dimensions", attach_dims=("FREQ", "AREA")),
                       Component("UNIT_MULT", "attribute", 1, attachment="dataset")))
    text = ("DATAFLOW,FREQ,AREA,TIME_PERIOD,OBS_VALUE,TITLE,UNIT_MULT\n"
            f"{FLOW_REF},M,X,2020-01,1,first,0\n"
            f"{FLOW_REF},M,Y,2020-01,1,other series,0\n"
            f"{FLOW_REF},M,X,2020-02,1,second,0\n"
            f"{FLOW_REF},M,X,2020-03,1,,3\n"
            f"{FLOW_REF},M,X,2020-04,1,second,0\n")
    g = Generated(shape, ValidationContext(), ["FREQ", "AREA"], "AREA", "Y", [])
    report = run(g, text.encode())
    assert found(report) == {(4, "TITLE", "attribute-conflict"), (6, "TITLE", "attribute-conflict"),
                             (5, "UNIT_MULT", "attribute-conflict")}
    assert "series M.X: 'second' here, 'first' in row 2" in report.text()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(g=generated(), data=st.data())
def test_an_unbalanced_quote_anywhere_is_reported_at_its_row(g, data):
    rows = [dict(r) for r in g.rows]
    i = data.draw(st.integers(0, len(rows) - 1))
    column = data.draw(st.sampled_from(["TITLE", "OBS_STATUS", g.dims[-1]]))
    text = to_csv(rows, g.dims).decode().splitlines(keepends=True)
    fields = text[i + 1].rstrip("\n").split(",")
    position = ["DATAFLOW", *g.dims, "TIME_PERIOD", "OBS_VALUE", "OBS_STATUS", "TITLE", "UNIT_MULT"].index(column)
    fields[position] = '"' + fields[position]  # opens, never closes
    text[i + 1] = ",".join(fields) + "\n"
    report = ValidationReport()
    incoming = read_sdmx_csv(io.BytesIO("".join(text).encode()), g.shape, FLOW, report)
    assert incoming is None
    assert [(grp.rows, grp.rule) for grp in report.groups] == [([i + 2], "csv-quote")], report.text()


def test_a_measure_is_held_to_its_type_and_facets():
    """The measure's number check and its text format's facets: an integer type refuses a
    decimal, a range refuses what is outside it, a pattern and a length what does not fit."""
    def shape(**facets):
        return DataShape(("T", "D", "1.0"), (coded("FREQ", "dimension", 0, ["M"]),),
                         Component("TIME_PERIOD", "time", 0), Component("OBS_VALUE", "measure", 0, **facets), ())

    def rules(s: DataShape, values: list[str]) -> set[tuple[int, str, str]]:
        text = "DATAFLOW,FREQ,TIME_PERIOD,OBS_VALUE\n" + "".join(
            f"{FLOW_REF},M,2020-{i + 1:02d},{v}\n" for i, v in enumerate(values))
        return found(run(Generated(s, ValidationContext(), ["FREQ"], "FREQ", "M", []), text.encode()))

    values = ["5", "1.5", "-3", "12", "NaN", ""]
    assert rules(shape(text_type="double"), values) == set()
    assert rules(shape(text_type="integer"), values) == {(3, "OBS_VALUE", "type"), (6, "OBS_VALUE", "type")}
    assert rules(shape(text_type="double", min_value=0, max_value=10), values) == {
        (4, "OBS_VALUE", "range"), (5, "OBS_VALUE", "range")}
    assert rules(shape(text_type="double", pattern="[0-9.]+"), values) == {
        (4, "OBS_VALUE", "pattern"), (6, "OBS_VALUE", "pattern")}
    assert rules(shape(text_type="double", max_length=1), values) == {
        (3, "OBS_VALUE", "length"), (4, "OBS_VALUE", "length"), (5, "OBS_VALUE", "length"), (6, "OBS_VALUE", "length")}
    assert rules(shape(text_type="double"), ["5", "x1"]) == {(3, "OBS_VALUE", "number")}
