"""The demo content in dsd/ and codelists/ (the reference user, ../shared/demo/README.md):
it checks clean, holds every kind the issue asks for in the expected numbers, and the demo
generator's data fit every allowed constraint (flow-wide, and per provision agreement: each
row must be one that some data provider of the dataflow may report)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest
from sdmx.model import common, v30

from sdmx_server import kinds
from sdmx_server.cli import main
from sdmx_server.demo.generator import FLOWS, write_demo_data
from sdmx_server.registry.authoring import read_authoring

ROOT = Path(__file__).resolve().parent.parent
PROVINCIAL = {f"PD_IR-{i:02d}" for i in range(31)}
DEPUTIES = {"DEP_REVENUE", "DEP_INSURED", "DEP_HEALTH", "DEP_ECONOMIC", "DEP_RESOURCES", "DEP_LEGAL"}


@pytest.fixture(scope="module")
def demo():
    result = read_authoring([ROOT / "dsd", ROOT / "codelists"])
    assert [str(e) for e in result.errors] == []
    return result


@pytest.fixture(scope="module")
def by_kind(demo) -> dict[str, list]:
    found: dict[str, list] = {}
    for artefact in demo.artefacts:
        found.setdefault(kinds.kind_of(artefact).name, []).append(artefact)
    return found


def test_check_exits_zero_on_the_demo(capsys):
    assert main(["check", str(ROOT / "dsd"), str(ROOT / "codelists")]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err.endswith(", 0 error(s)\n")


def test_numbers_of_each_kind(by_kind):
    assert {kind: len(found) for kind, found in by_kind.items()} == {
        "agencyscheme": 1,
        "dataproviderscheme": 1,
        "dataconsumerscheme": 1,
        "codelist": 17,  # CL_KPI_STATUS: DF_KPI_STATUS (issue 9)
        "conceptscheme": 3,
        "categoryscheme": 1,
        "metadatastructure": 2,
        "hierarchy": 1,
        "hierarchicalcodelist": 1,
        "structureset": 1,
        "datastructure": 8,
        "dataflow": 8,
        "metadataflow": 2,
        "provisionagreement": 44,
        "dataconstraint": 15,
        "categorisation": 10,
        "metadataset": 14,
    }


def test_organisations(by_kind):
    (agencies,) = by_kind["agencyscheme"]
    assert (agencies.maintainer.id, agencies.id, list(agencies.items)) == ("SDMX", "AGENCIES", ["SDMX", "SSO"])
    assert agencies["SSO"].contact[0].email == ["sdmx@tamin.example"]
    (providers,) = by_kind["dataproviderscheme"]
    assert set(providers.items) == PROVINCIAL | DEPUTIES | {"STAT"}
    (consumers,) = by_kind["dataconsumerscheme"]
    assert {"SCI", "MCLS", "ISSA"} <= set(consumers.items)


def test_every_dataflow_and_metadataflow_is_categorised(by_kind):
    themes = by_kind["categoryscheme"][0]
    assert [c.id for c in themes.items.values() if c.parent is themes] == [
        "COVERAGE", "PENSIONS", "FINANCE", "BENEFITS", "WORKPLACES", "PERFORMANCE", "METHODS"]
    categorised = Counter(c.artefact.id for c in by_kind["categorisation"])
    assert categorised == Counter({flow.id: 1 for flow in by_kind["dataflow"] + by_kind["metadataflow"]})
    assert all(c.category.get_scheme() is themes for c in by_kind["categorisation"])
    kpi = next(c for c in by_kind["categorisation"] if c.artefact.id == "DF_KPI")
    assert kpi.id == "DF_KPI@THEMES@PERFORMANCE@INDICATORS" and kpi.category is themes["INDICATORS"]


def test_every_dataflow_has_allowed_constraints_and_providers(by_kind):
    constraints = by_kind["dataconstraint"]
    assert all(c.role.role is common.ConstraintRoleType.allowable for c in constraints)
    flows = {f.id for c in constraints for f in c.content if isinstance(f, common.BaseDataflow)}
    assert flows == set(FLOWS)
    agreements = by_kind["provisionagreement"]
    fed = {(pa.data_provider.id, pa.structure_usage.id) for pa in agreements}
    assert {flow for _, flow in fed} == set(FLOWS)
    assert {p for p, flow in fed if flow == "DF_KPI"} == PROVINCIAL | DEPUTIES | {"STAT"}
    constrained = {a.id for c in constraints for a in c.content if isinstance(a, common.ProvisionAgreement)}
    assert constrained == {a.id for a in agreements if a.structure_usage.id == "DF_KPI"}


def test_regions_hierarchy_twice(by_kind, demo):
    (hierarchy,) = by_kind["hierarchy"]
    (hcl,) = by_kind["hierarchicalcodelist"]
    (inner,) = hcl.hierarchy

    def tree(codes) -> dict:
        return {c.id: tree(c.child) for c in codes}

    assert tree(hierarchy.codes.values()) == tree(inner.codes.values())
    (country,) = hierarchy.codes.values()
    assert [r.id for r in country.child] == ["R1", "R2", "R3", "R4", "R5"]
    provinces = [p.code for r in country.child for p in r.child]
    province_list = next(a for a in by_kind["codelist"] if a.id == "CL_PROVINCE")
    assert sorted(p.id for p in provinces) == sorted(c for c in province_list.items if c != "IR")
    assert all(p is province_list[p.id] for p in provinces)
    (cl_map,) = by_kind["structureset"][0].item_scheme_map
    mapped = {m.source.id: m.target.id for m in cl_map.item_association}
    assert mapped == {p.id: r.id for r in country.child for p in r.child}


def test_every_indicator_is_defined_in_both_languages(by_kind):
    indicators = next(a for a in by_kind["codelist"] if a.id == "CL_INDICATOR")
    sets = [s for s in by_kind["metadataset"] if s.described_by.id == "MDF_INDICATORS"]
    targets = [t for s in sets for t in s.attaches_to]
    assert sorted(t.id for t in targets) == sorted(indicators.items) and all(t is indicators[t.id] for t in targets)
    for metadata_set in sets:
        ids = [v.value_for.id for v in metadata_set.metadata]
        assert ids[:9] == ["DEFINITION", "FORMULA", "UNIT_MEASURE", "GOOD_DIRECTION", "PERIODICITY", "SOURCE",
                           "OWNER", "NORM_SETTER", "COUNTING_RULES"], metadata_set.id
        for value in _walk(metadata_set.metadata):
            if isinstance(value, v30.TextAttributeValue):
                assert set(value.text.localizations) == {"fa", "en"}
            if isinstance(value, v30.XHTMLAttributeValue):
                assert set(value.value) == {"fa", "en"}
        (code,) = metadata_set.attaches_to
        unit = next(v for v in metadata_set.metadata if v.value_for.id == "UNIT_MEASURE")
        direction = next(v for v in metadata_set.metadata if v.value_for.id == "GOOD_DIRECTION")
        annotations = {a.type: a.title for a in code.annotations}
        assert (unit.value_of.id, direction.value_of.id) == (annotations["UNIT_MEASURE"], annotations["GOOD_DIRECTION"])


def test_main_concepts_are_defined(by_kind):
    domain = next(a for a in by_kind["conceptscheme"] if a.id == "CS_DOMAIN")
    sets = [s for s in by_kind["metadataset"] if s.described_by.id == "MDF_CONCEPTS"]
    assert sorted(t.id for s in sets for t in s.attaches_to) == sorted(domain.items)
    assert all(any(v.value_for.id == "COUNTING_RULES" for v in s.metadata) for s in sets)


def _walk(values):
    for value in values:
        yield value
        yield from _walk(value.child)


# --- the generator's data against the constraints ------------------------------------------------


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> dict[str, pa.Table]:
    out = tmp_path_factory.mktemp("demo")
    files = write_demo_data(out)
    options = pacsv.ConvertOptions(strings_can_be_null=False, column_types=None, auto_dict_encode=False)
    read = pacsv.ReadOptions(autogenerate_column_names=False)
    return {
        f.flow.split(":")[1].split("(")[0]: pacsv.read_csv(f.path, read_options=read, convert_options=_as_text(f.path, options))
        for f in files
    }


def _as_text(path: Path, options: pacsv.ConvertOptions) -> pacsv.ConvertOptions:
    header = path.read_text(encoding="utf-8").split("\n", 1)[0].split(",")
    return pacsv.ConvertOptions(column_types={name: pa.string() for name in header}, strings_can_be_null=False)


def _period_start(period: str) -> datetime:
    year, _, rest = period.partition("-")
    if not rest:
        return datetime(int(year), 1, 1)
    if rest.startswith("Q"):
        return datetime(int(year), 3 * int(rest[1:]) - 2, 1)
    return datetime(int(year), int(rest[:2]), 1)


def _inside(ms, table: pa.Table) -> pa.ChunkedArray:
    """Which rows have a value the member selection allows; rows that leave an attribute empty
    are not concerned by its allowed values."""
    column = table[ms.values_for.id]
    if isinstance(ms.values_for, common.TimeDimension):
        (period,) = ms.values
        if isinstance(period, v30.AfterPeriod):
            start, end = period.period, None
        elif isinstance(period, v30.BeforePeriod):
            start, end = None, period.period
        else:
            start, end = period.start.period, period.end.period
        periods = pc.unique(column).to_pylist()
        allowed = [p for p in periods
                   if (start is None or _period_start(p) >= start) and (end is None or _period_start(p) <= end)]
        return pc.is_in(column, value_set=pa.array(allowed, pa.string()))
    inside = pc.is_in(column, value_set=pa.array([v.value for v in ms.values], pa.string()))
    if isinstance(ms.values_for, common.DataAttribute):
        inside = pc.or_(inside, pc.equal(column, ""))
    return inside


def _fits(constraint, table: pa.Table):
    mask = pa.chunked_array([pa.array([True] * table.num_rows)])
    for region in constraint.data_content_region:
        inside = pa.chunked_array([pa.array([True] * table.num_rows)])
        for ms in region.member.values():
            inside = pc.and_(inside, _inside(ms, table))
        mask = pc.and_(mask, inside if region.included else pc.invert(inside))
    assert constraint.data_content_keys is None  # the demo has none; test_authoring_kinds covers them
    return mask


def test_generated_data_fit_every_allowed_constraint(by_kind, tables):
    constraints = by_kind["dataconstraint"]
    agreements = by_kind["provisionagreement"]
    for flow_id, table in tables.items():
        for constraint in constraints:
            if any(getattr(a, "id", None) == flow_id and isinstance(a, common.BaseDataflow) for a in constraint.content):
                bad = pc.invert(_fits(constraint, table))
                assert pc.sum(bad).as_py() in (None, 0), (flow_id, constraint.id, table.filter(bad).slice(0, 3).to_pylist())
        # each row must be one that some provider of the dataflow may report
        allowed = pa.chunked_array([pa.array([False] * table.num_rows)])
        for agreement in (a for a in agreements if a.structure_usage.id == flow_id):
            mask = pa.chunked_array([pa.array([True] * table.num_rows)])
            for constraint in (c for c in constraints if agreement in c.content):
                mask = pc.and_(mask, _fits(constraint, table))
            allowed = pc.or_(allowed, mask)
        refused = pc.invert(allowed)
        assert pc.sum(refused).as_py() in (None, 0), (flow_id, table.filter(refused).slice(0, 3).to_pylist())


def test_constraints_are_tight_for_the_dashboard(by_kind, tables):
    """The per-unit constraints allow exactly the unit and indicator pairs the data have."""
    kpi = tables["DF_KPI"]
    pairs = set(zip(kpi["ORG_UNIT"].to_pylist(), kpi["INDICATOR"].to_pylist()))
    indicators = next(a for a in by_kind["codelist"] if a.id == "CL_INDICATOR")
    allowed = set()
    for constraint in by_kind["dataconstraint"]:
        for agreement in (a for a in constraint.content if isinstance(a, common.ProvisionAgreement)):
            (region,) = constraint.data_content_region
            members = {c.id: [v.value for v in ms.values] for c, ms in region.member.items()}
            allowed |= {(u, i) for u in members["ORG_UNIT"] for i in members.get("INDICATOR", list(indicators.items))}
    assert allowed == pairs


def test_every_example_of_the_documentation_checks_clean(demo, tmp_path):
    """docs/authoring.md shows each kind with an example: each one reads without error, with
    the demo content (and the other examples' new artefacts) as what the server holds."""
    import re

    from sdmx_server.registry.authoring.references import key_of

    text = (ROOT / "docs" / "authoring.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if not b.startswith(" ")]  # not fragments
    (csv,) = re.findall(r"```csv\n(.*?)```", text, re.S)
    (tmp_path / "CL_PROVINCE.csv").write_text(csv, encoding="utf-8")
    known = {(kinds.kind_of(a).name, key_of(a)) for a in demo.artefacts}
    extra = []
    for i, block in enumerate(blocks):
        (tmp_path / f"example{i}.yaml").write_text(block, encoding="utf-8")
        extra += [a for a in read_authoring([tmp_path / f"example{i}.yaml"], demo.artefacts).artefacts
                  if (kinds.kind_of(a).name, key_of(a)) not in known]
    assert len(blocks) >= 19
    kinds_shown = set()
    for i in range(len(blocks)):
        result = read_authoring([tmp_path / f"example{i}.yaml"], demo.artefacts + extra)
        assert [e.message for e in result.errors] == [], blocks[i]
        kinds_shown |= {kinds.kind_of(a).name for a in result.artefacts}
    assert kinds_shown == {
        "agencyscheme", "dataproviderscheme", "dataconsumerscheme", "codelist", "valuelist", "conceptscheme", "categoryscheme",
        "datastructure", "dataflow", "categorisation", "provisionagreement", "dataconstraint", "hierarchy",
        "hierarchicalcodelist", "structureset", "metadatastructure", "metadataflow", "metadataset",
    }
