"""The one KPI status rule (sdmx_server/processing/kpi_status.py), the rows of DF_KPI_STATUS it
makes (processing/kpi_table.py) and the map's matching of provinces (portal/dashboard_map.py).
The numbers are worked by hand from the rule as its docstring states it."""

from __future__ import annotations

import pyarrow as pa
import pytest

from sdmx_server.portal.dashboard_map import load_shapes, province_key, sparkline
from sdmx_server.processing.kpi_status import Norm, ranking, status
from sdmx_server.processing.kpi_table import status_rows

UP_NORM = Norm(lower=80.0, upper=90.0, target=86.0)  # warning below (80 + 86) / 2 = 83
DOWN_NORM = Norm(lower=10.0, upper=20.0, target=14.0)  # warning above (14 + 20) / 2 = 17


@pytest.mark.parametrize("value, expected", [
    (79.99, "OUTSIDE"), (80.0, "WARNING"), (82.99, "WARNING"), (83.0, "WITHIN"), (86.0, "WITHIN"),
    (90.0, "WITHIN"), (97.0, "WITHIN"),  # better than the range is no failure
])
def test_higher_is_better(value, expected):
    assert status(value, UP_NORM, "UP") == expected


@pytest.mark.parametrize("value, expected", [
    (20.01, "OUTSIDE"), (20.0, "WARNING"), (17.01, "WARNING"), (17.0, "WITHIN"), (14.0, "WITHIN"),
    (10.0, "WITHIN"), (3.0, "WITHIN"),
])
def test_lower_is_better(value, expected):
    assert status(value, DOWN_NORM, "DOWN") == expected


def test_without_a_target_the_middle_of_the_range_is_aimed_at():
    norm = Norm(80.0, 90.0, None)  # aim 85: warning below 82.5
    assert [status(v, norm, "UP") for v in (82.4, 82.5)] == ["WARNING", "WITHIN"]
    assert [status(v, norm, "DOWN") for v in (87.6, 87.5)] == ["WARNING", "WITHIN"]


def test_no_status_without_a_value_or_a_bound():
    assert status(None, UP_NORM, "UP") is None
    assert status(float("nan"), UP_NORM, "UP") is None
    assert status(85.0, Norm(None, 90.0, 86.0), "UP") is None
    assert status(85.0, Norm(80.0, float("nan"), 86.0), "DOWN") is None
    with pytest.raises(ValueError):
        status(85.0, UP_NORM, "SIDEWAYS")  # type: ignore[arg-type]


def test_ranking_by_score_then_fewer_outside_then_fewer_warnings_with_shared_ranks():
    statuses = [("A", "WITHIN"), ("A", "OUTSIDE"),            # 50 %, one outside
                ("B", "WARNING"), ("B", "WARNING"),           # 50 %, no outside: before A
                ("C", "WITHIN"), ("C", "WITHIN"),             # 100 %
                ("D", "WITHIN"), ("D", "WITHIN"),             # 100 %: shares C's rank
                ("E", "OUTSIDE")]                             # 0 %
    ranked = ranking(statuses)
    assert [(r.unit, r.rank, r.score) for r in ranked] == [
        ("C", 1, 100.0), ("D", 1, 100.0), ("B", 3, 50.0), ("A", 4, 50.0), ("E", 5, 0.0)]
    assert ranked[3].counts == {"WITHIN": 1, "WARNING": 0, "OUTSIDE": 1}


def _kpi(rows):
    cols = ["FREQ", "ORG_UNIT", "INDICATOR", "TIME_PERIOD", "OBS_VALUE", "UNIT_MEASURE", "OBS_STATUS"]
    return pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols)})


def _norms(rows):
    cols = ["FREQ", "ORG_UNIT", "INDICATOR", "NORM_BOUND", "TIME_PERIOD", "OBS_VALUE", "GOOD_DIRECTION"]
    return pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols)})


def test_status_rows_judge_each_quarter_against_its_years_norm():
    kpi = _kpi([("Q", "PD_IR-10", "COLLECTION_RATE", "2024-Q4", 82.0, "PERCENT", "A"),
                ("Q", "PD_IR-10", "COLLECTION_RATE", "2025-Q1", 82.0, "PERCENT", "P"),
                ("Q", "PD_IR-10", "DISPUTE_DAYS", "2025-Q1", 21.0, "DAYS", "A"),
                ("Q", "PD_IR-11", "DISPUTE_DAYS", "2025-Q1", 15.0, "DAYS", "A")])  # no norm: no row
    norms = _norms([("A", "PD_IR-10", "COLLECTION_RATE", b, "2024", v, "UP")
                    for b, v in (("LOWER", 75.0), ("UPPER", 85.0), ("TARGET", 80.0))]
                   + [("A", "PD_IR-10", "COLLECTION_RATE", b, "2025", v, "UP")
                      for b, v in (("LOWER", 80.0), ("UPPER", 90.0), ("TARGET", 86.0))]
                   + [("A", "PD_IR-10", "DISPUTE_DAYS", b, "2025", v, "DOWN")
                      for b, v in (("LOWER", 10.0), ("UPPER", 20.0), ("TARGET", 14.0))])
    rows = sorted(status_rows(kpi, norms).to_pylist(), key=lambda r: (r["INDICATOR"], r["TIME_PERIOD"]))
    got = [(r["INDICATOR"], r["TIME_PERIOD"], r["KPI_STATUS"], r["OBS_VALUE"], r["KPI_VALUE"], r["NORM_LOWER"],
            r["NORM_UPPER"], r["NORM_TARGET"], r["GOOD_DIRECTION"], r["OBS_STATUS"]) for r in rows]
    assert got == [
        # 2024: 82 >= (75 + 80) / 2 = 77.5 -> within; 2025: 80 <= 82 < 83 -> warning
        ("COLLECTION_RATE", "2024-Q4", "WITHIN", "2.0", "82.0", "75.0", "85.0", "80.0", "UP", "A"),
        ("COLLECTION_RATE", "2025-Q1", "WARNING", "1.0", "82.0", "80.0", "90.0", "86.0", "UP", "P"),
        ("DISPUTE_DAYS", "2025-Q1", "OUTSIDE", "0.0", "21.0", "10.0", "20.0", "14.0", "DOWN", "A"),
    ]
    assert status_rows(kpi, None).num_rows == 0


def test_every_province_of_the_org_units_has_a_shape():
    shapes = load_shapes()
    if not shapes:
        from tests.conftest import require

        require(False, "the map's shapes are installed by `make` (Makefile SHAPES, npm)")
    import yaml

    from tests.conftest import ROOT

    codes = yaml.safe_load((ROOT / "codelists" / "CL_ORG_UNIT.yaml").read_text(encoding="utf-8"))["codelist"]["codes"]
    provinces = {province_key(c["name"]["en"]) for c in codes if c["id"].startswith("PD_")}
    assert len(provinces) == 31 and len(shapes) == 31
    assert provinces == {s.key for s in shapes}


def test_sparkline_points_scale_to_the_box():
    points = sparkline([1.0, None, 3.0, 2.0], width=90, height=24)
    assert points == "0.0,22.0 60.0,2.0 90.0,12.0"
    assert sparkline([5.0]) == ""


def test_a_released_embargo_recomputes_the_statuses(demo_template, tmp_path):
    """The demo's embargoed final figures of DF_KPI's last quarter, released: DF_KPI_STATUS is
    judged on them at once (the hook after release_embargoed), as the system."""
    import shutil

    import sqlalchemy as sa

    from sdmx_server.access.gate import command_line_gate
    from sdmx_server.ingest.load import release_embargoed
    from sdmx_server.processing.derived import KPI, KPI_STATUS, _State
    from sdmx_server.registry.index import Registry
    from sdmx_server.registry.store import read_all
    from sdmx_server.service.tables import read_table
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database

    shutil.copytree(demo_template, tmp_path / "store")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'store' / 'demo.db'}", data_dir=tmp_path / "store" / "var")
    db = Database(settings.database_url)
    try:
        registry = Registry.build(*read_all(db))
        state, gate = _State(db, registry, settings), command_line_gate(registry)

        def last_quarter(flow, column):
            rows = read_table(state, flow, gate, embargoed=False).rows.to_pandas()
            last = rows[rows.TIME_PERIOD == rows.TIME_PERIOD.max()]
            return {(r.ORG_UNIT, r.INDICATOR): float(getattr(r, column)) for r in last.itertuples()}

        before = last_quarter(KPI_STATUS, "KPI_VALUE")
        assert before == last_quarter(KPI, "OBS_VALUE")
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE sdmx_embargo SET release_at = :t"), {"t": "2000-01-01 00:00:00"})
        assert release_embargoed(db, registry, settings=settings)
        released = last_quarter(KPI, "OBS_VALUE")
        assert released != before  # the final figures are 2 % higher
        assert last_quarter(KPI_STATUS, "KPI_VALUE") == released
        with db.engine.connect() as conn:
            newest = conn.execute(sa.text("SELECT origin, status FROM sdmx_load WHERE flow = 'SSO:DF_KPI_STATUS(1.0)' "
                                          "ORDER BY id DESC LIMIT 1")).one()
        assert tuple(newest) == ("derived", "applied")
    finally:
        db.dispose()
