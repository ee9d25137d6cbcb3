"""Every dataflow's observations, current and past, as SDMX-CSV 2.0, and back.

Per dataflow that has a fact table, two files:

- `data/<table>.csv`: the current state, one row per observation;
- `data/<table>.history.csv`: every earlier version (store/history.py), with when it stopped
  being current, by which load, and how.

Columns: `STRUCTURE` (`dataflow`), `STRUCTURE_ID` (`AGENCY:ID(VERSION)`), `ACTION` (`I`), the
components in the order of the fact table's layout (dimensions, time, measure, attributes),
then custom columns, which SDMX-CSV 2.0 allows ("any other custom column", with names no
component id can take, since ids have no colon):

- `sdmx-server:updated`: the transaction time of the load that wrote the row (ISO 8601 UTC to
  the microsecond; empty for rows from before revisions), what `asOf` and `updatedAfter` read;
- `sdmx-server:load`: that load's id (its record is in tables/sdmx_load.jsonl);
- history only: `sdmx-server:valid_to` (the time it was replaced or deleted),
  `sdmx-server:replaced_by` (that load) and `sdmx-server:change` (`U` replaced, `D` deleted).

Numbers are written in their shortest form that reads back to the same double (`NaN` for
SDMX's intentionally missing value), so the files can be loaded elsewhere as they are, and
read back here to the same stored rows. The period bounds are computed again on restore, as a
load computes them (query/periods.py). Both directions go a batch at a time: memory does not
grow with a dataflow's size.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from sdmx_server.ops.backup.manifest import check_table_name
from sdmx_server.store.database import Database
from sdmx_server.store.dump import append_rows, layout_tables, read_rows
from sdmx_server.store.history import CHANGE, REPLACED, REPLACED_BY, UPDATED
from sdmx_server.store.tables import LOAD_ID, PERIOD_END, PERIOD_START, refresh_statistics_of

UPDATED_COLUMN = "sdmx-server:updated"
LOAD_COLUMN = "sdmx-server:load"
VALID_TO_COLUMN = "sdmx-server:valid_to"
REPLACED_BY_COLUMN = "sdmx-server:replaced_by"
CHANGE_COLUMN = "sdmx-server:change"

#: Custom column -> the store's column, and whether it is a time (ISO text <-> epoch µs).
_CURRENT_EXTRA = ((UPDATED_COLUMN, UPDATED, True), (LOAD_COLUMN, LOAD_ID, False))
_HISTORY_EXTRA = _CURRENT_EXTRA + ((VALID_TO_COLUMN, REPLACED, True), (REPLACED_BY_COLUMN, REPLACED_BY, False),
                                   (CHANGE_COLUMN, CHANGE, None))
_TIME = pa.timestamp("us", tz="UTC")
#: Bytes of CSV parsed at once on restore.
BLOCK_BYTES = 1 << 20


def components(layout: dict) -> list[tuple[str, str]]:
    """(component id, column) in the file's order."""
    out = list(layout["dimensions"])
    if layout["time"]:
        out.append(layout["time"])
    out.append(layout["measure"][:2])
    out += layout["attributes"]
    return [tuple(pair) for pair in out]


def flow_ref(agency: str, flow_id: str, version: str) -> str:
    return f"{agency}:{flow_id}({version})"


# -- export ---------------------------------------------------------------------------------


def write_flow(db: Database, table_name: str, ref: str, layout: dict, out: Path) -> tuple[int, int]:
    """Both files of one dataflow; (observations, history rows)."""
    fact, history, key, measure = layout_tables(table_name, layout)
    current = _write(db, fact, key, measure, ref, layout, _CURRENT_EXTRA, out / f"{table_name}.csv")
    past = _write(db, history, key + [REPLACED], measure, ref, layout, _HISTORY_EXTRA, out / f"{table_name}.history.csv")
    return current, past


def _write(db, table, order, measure, ref, layout, extra, path: Path) -> int:
    names = ["STRUCTURE", "STRUCTURE_ID", "ACTION"] + [cid for cid, _ in components(layout)] + [e[0] for e in extra]
    schema = pa.schema([(n, pa.string()) for n in names])
    count = 0
    with pacsv.CSVWriter(str(path), schema) as writer:
        for batch in read_rows(db, table, order, measure):
            n = batch.num_rows
            arrays = [pa.array(["dataflow"] * n), pa.array([ref] * n), pa.array(["I"] * n)]
            for _, column in components(layout):
                arrays.append(_text(batch.column(column)))
            for _, column, is_time in extra:
                values = batch.column(column)
                if is_time:
                    values = pc.strftime(values.cast(_TIME), "%Y-%m-%dT%H:%M:%SZ")
                arrays.append(_text(values))
            writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema))
            count += n
    return count


def _text(values: pa.Array) -> pa.Array:
    if pa.types.is_floating(values.type):
        text = pc.cast(values, pa.string())
        return pc.if_else(pc.fill_null(pc.is_nan(values), False), pa.scalar("NaN"), text)
    return values if pa.types.is_string(values.type) else pc.cast(values, pa.string())


# -- restore --------------------------------------------------------------------------------


def restore_flow(db: Database, table_name: str, ref: str, layout: dict, directory: Path) -> tuple[int, int]:
    """Create the dataflow's fact, history and series tables and fill them from its files, in
    one transaction; give it a new data stamp. (observations, history rows)."""
    import sqlalchemy as sa

    from sdmx_server.store import series
    from sdmx_server.store.history import create_ddl
    from sdmx_server.store.versions import bump_stamp

    check_table_name(table_name)  # a fact table's name, and a file's inside the folder
    fact, history, key, measure = layout_tables(table_name, layout)
    conn = db.adbc_connect()
    try:
        with conn.cursor() as cur:
            cur.execute(str(sa.schema.CreateTable(fact).compile(dialect=db.dialect)))
            for statement in create_ddl(history, db.dialect):
                cur.execute(statement)
            current = past = 0
            for rows in _read(directory / f"{table_name}.csv", ref, layout, fact, _CURRENT_EXTRA, measure):
                current += append_rows(db, cur, fact, rows, key, measure)
            for rows in _read(directory / f"{table_name}.history.csv", ref, layout, history, _HISTORY_EXTRA, measure):
                past += append_rows(db, cur, history, rows, key + [REPLACED], measure)
            series.rebuild_from_layout(db, cur, table_name, layout)
            bump_stamp(db, cur, table_name)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()
    refresh_statistics_of(db, table_name)  # the planner's statistics, as after a load
    return current, past


def _read(path: Path, ref: str, layout: dict, table, extra, measure: str | None):
    """The file's rows as tables with the store's column names and types, a block at a time."""
    from sdmx_server.query.periods import period_bounds

    with path.open(encoding="utf-8", newline="") as head:
        header = next(csv.reader(head))
    expected = ["STRUCTURE", "STRUCTURE_ID", "ACTION"] + [cid for cid, _ in components(layout)] + [e[0] for e in extra]
    if header != expected:
        raise ValueError(f"{path.name}: the columns are {header}, expected {expected} (the manifest's dataflow "
                         f"layout)")
    reader = pacsv.open_csv(
        str(path),
        read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),  # text attributes may hold line breaks
        # Only an empty field is NULL: "NA" or "null" are codes or text like any other.
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in header}, null_values=[""],
                                             strings_can_be_null=True, quoted_strings_can_be_null=True),
    )
    time_column = layout["time"][1] if layout["time"] else None
    for batch in reader:
        if not batch.num_rows:
            continue
        wrong = pc.invert(pc.equal(batch.column("STRUCTURE_ID"), ref))
        if pc.any(pc.fill_null(wrong, True)).as_py():
            raise ValueError(f"{path.name}: rows of another dataflow than {ref}")
        columns: dict[str, pa.Array] = {}
        for cid, column in components(layout):
            values = batch.column(cid)
            if column == measure:
                values = pc.cast(values, pa.float64())
            columns[column] = values
        if time_column is not None:
            columns[PERIOD_START], columns[PERIOD_END], _ = period_bounds(columns[time_column])
        else:
            columns[PERIOD_START] = columns[PERIOD_END] = pa.nulls(batch.num_rows, pa.int64())
        for name, column, is_time in extra:
            values = batch.column(name)
            if is_time:
                values = pc.cast(values, _TIME).cast(pa.int64())
            elif is_time is False:
                values = pc.cast(values, pa.int64())
            columns[column] = values
        yield pa.table({c.name: columns[c.name] for c in table.columns})
