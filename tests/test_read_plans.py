"""The database answers data queries from the fact table's primary key (series key, period):
a single series is a seek, a key with leading wildcards a skip-scan (SQLite, once the load has
refreshed the planner's statistics), and a whole download walks the key in order on PostgreSQL
instead of sorting the table first."""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa

from sdmx_server.query.keys import fit_key
from sdmx_server.query.layout import DataLayout
from sdmx_server.query.parse_v1 import parse_data_query
from sdmx_server.store import select as select_module
from tests.test_prefetch import loaded  # noqa: F401  (the fixture: FLOW_A loaded on each backend)


def plan(db, fact, key: str | None) -> str:
    query = parse_data_query("TEST,DF_A,1.0", key, None, {})
    keys = [fit_key(k, fact.shape.dimension_ids) for k in query.keys or ()]
    query = replace(query, keys=None if not keys or None in keys else tuple(keys))
    layout = DataLayout.build(fact.shape, None, "full")
    sql = select_module.render(db, select_module.build_select(fact, query, layout, typed_for_sqlite=db.is_sqlite))
    if db.is_sqlite:
        conn = db.adbc_connect()
        try:
            with conn.cursor() as cur:
                cur.execute("EXPLAIN QUERY PLAN " + sql)
                return " ".join(str(row[-1]) for row in cur.fetchall())
        finally:
            conn.close()
    # ADBC reads PostgreSQL through COPY, which takes no EXPLAIN: ask through SQLAlchemy, with the
    # settings select.py gives a key-order read.
    with db.engine.begin() as conn:
        conn.execute(sa.text("SELECT set_config('enable_sort', 'off', true), set_config('jit', 'off', true)"))
        return " ".join(row[0] for row in conn.execute(sa.text("EXPLAIN " + sql)))


def test_one_series_is_a_seek(loaded):  # noqa: F811
    db, fact, _, _ = loaded
    text = plan(db, fact, "M.IR.F")
    assert ("USING PRIMARY KEY" in text) if db.is_sqlite else ("Index" in text and "Sort" not in text), text


def test_a_key_with_a_leading_wildcard_skips_along_the_key(loaded):  # noqa: F811
    db, fact, _, _ = loaded
    text = plan(db, fact, ".IR.F")
    if db.is_sqlite:
        assert "USING PRIMARY KEY" in text and "SCAN" not in text, text


def test_a_whole_download_walks_the_key_in_order(loaded):  # noqa: F811
    db, fact, _, _ = loaded
    text = plan(db, fact, None)
    assert "Sort" not in text and "TEMP B-TREE" not in text, text
