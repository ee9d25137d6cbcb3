"""SQL kept as templates per query shape (store/sql.py render_select) is, to the character,
the SQL built for the query itself: codes quoted as the dialect quotes them, every query shape."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sdmx_server.query.layout import DataLayout
from sdmx_server.query.parse_v1 import parse_data_query
from sdmx_server.store import sql
from tests.test_prefetch import loaded  # noqa: F401 (fixture)

QUERIES = [
    ("A.DE.X", {}),
    ("A.DE+FR.", {"startPeriod": "2001", "endPeriod": "2003"}),
    ("A..X", {"lastNObservations": "2"}),
    ("..", {"detail": "serieskeysonly"}),
    ("A.DE.", {"detail": "dataonly", "firstNObservations": "1"}),
]


@pytest.mark.parametrize("key,params", QUERIES)
def test_a_template_renders_the_same_sql(loaded, key, params):  # noqa: F811
    db, fact, _, _ = loaded
    width = len(fact.shape.dimension_ids)
    key = ".".join((key.split(".") + [""] * width)[:width])
    query = parse_data_query("TEST,DF_A,1.0", key, None, params)
    layout = DataLayout.build(fact.shape, None, query.detail)
    odd = replace(query, keys=tuple(tuple(("O'Neil", "a\\b", "%_") if p else p for p in k)
                                    for k in (query.keys or ((None,) * width,))))
    for q in (query, odd, replace(odd, keys=odd.keys + query.keys if query.keys else odd.keys)):
        for _ in range(2):  # built, then from the kept template
            expected = sql.render_sql(sql.build_select(fact, q, layout, db.is_sqlite), db.dialect)
            assert sql.render_select(fact, q, layout, db.dialect, db.is_sqlite) == expected
