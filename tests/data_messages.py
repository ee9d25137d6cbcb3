"""Data messages built by hand for writer tests: the real shape, layout and labels of the test
content (tests/content, read through the registry as the server reads it) and Arrow batches
made from a pandas frame (tests/datasets.py), sorted and typed as the store yields them.

Also the readers that turn each format back into a frame, for comparison with the oracle.
"""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from sdmx_server.formats.data_message import DataMessage, DataSetPart, Labels
from sdmx_server.formats.ml21 import Header
from sdmx_server.query.layout import DataLayout
from sdmx_server.registry.shape import DataShape, data_shape
from tests.datasets import ATTRIBUTES, CONTENT, DIMENSIONS, FLOW_A

COLUMNS = DIMENSIONS + ["OBS_VALUE"] + ATTRIBUTES


@lru_cache(maxsize=None)
def content(flow: tuple[str, str, str] = FLOW_A) -> tuple[DataShape, Labels]:
    """The shape and labels of a dataflow of the test content."""
    from sdmx_server.boot import create_schema
    from sdmx_server.registry.index import Registry
    from sdmx_server.registry.load import load_structures
    from sdmx_server.registry.store import read_all
    from sdmx_server.service.labels import labels_for
    from sdmx_server.settings import Settings
    from sdmx_server.store.database import Database

    directory = Path(tempfile.mkdtemp(prefix="data-messages-"))
    db = Database(f"sqlite:///{directory / 'registry.db'}")
    create_schema(db)
    try:
        outcome = load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], Settings(database_url=db.url))
        assert outcome.ok, outcome.errors
        rows, generation = read_all(db)
    finally:
        db.dispose()
    registry = Registry.build(rows, generation)
    (usage,) = registry.select("dataflow", [flow[0]], [flow[1]])
    ref = usage.structure
    dsd = registry.get("datastructure", ref.maintainer.id, ref.id, ref.version)
    shape = data_shape(dsd)
    return shape, labels_for(registry, usage, dsd, shape)


def table(df: pd.DataFrame, layout: DataLayout) -> pa.Table:
    """The rows as the store gives them: sorted by the layout (byte order), OBS_VALUE a double,
    text columns strings with empty values null."""
    df = df.sort_values(list(layout.sort_columns()), kind="stable",
                        key=lambda s: s.map(lambda v: v.encode() if isinstance(v, str) else v))
    arrays = {}
    for column in COLUMNS:
        if column == "OBS_VALUE":
            arrays[column] = pa.array(df[column].to_numpy(dtype=float), pa.float64())
        else:
            arrays[column] = pa.array([None if v in ("", None) else str(v) for v in df[column]], pa.string())
    return pa.table(arrays)


def part(df: pd.DataFrame, *, flow=FLOW_A, dimension_at_observation: str | None = None, detail: str = "full",
         labels: bool = True, batch_rows: int = 50) -> DataSetPart:
    shape, names = content(flow)
    layout = DataLayout.build(shape, dimension_at_observation, detail)
    rows = table(df, layout)
    keep = list(layout.sort_columns())
    if layout.with_observations:
        keep.append("OBS_VALUE")
    keep += [*layout.dataset_attrs, *layout.series_attrs, *layout.obs_attrs]
    rows = rows.select(keep)
    batches = iter(rows.to_batches(max_chunksize=batch_rows))
    return DataSetPart(flow, shape, layout, batches, labels=names if labels else None)


def message(df: pd.DataFrame, *, languages: tuple[str, ...] | None = None, **options) -> DataMessage:
    return DataMessage(Header(sender="TEST"), [part(df, **options)], languages=languages)


def oracle(df: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """The frame in a canonical form: the given columns, empty text as None, sorted by key."""
    columns = columns or COLUMNS
    out = df[columns].copy()
    for column in columns:
        if column != "OBS_VALUE":
            out[column] = [None if v in ("", None) or (isinstance(v, float) and np.isnan(v)) else str(v)
                           for v in out[column]]
    return out.sort_values([d for d in DIMENSIONS if d in columns]).reset_index(drop=True)


# -- readers -----------------------------------------------------------------------------------


def read_sdmx_json(doc: dict) -> pd.DataFrame:
    """Every observation of an SDMX-JSON data message (1.0 or 2.x) as a row: dimensions,
    measure and attributes by id, decoded through the structure's indices (our own reader,
    following the field guides: indices when a component lists `values`, values otherwise)."""
    data = doc["data"]
    structures = data.get("structures") or [data["structure"]]
    rows = []
    for position, dataset in enumerate(data["dataSets"]):
        structure = structures[dataset.get("structure", 0)] if "structures" in data else structures[0]
        dims, attrs = structure["dimensions"], structure["attributes"]
        measures = structure.get("measures", {}).get("observation", [{"id": "OBS_VALUE"}])

        def decode(component, raw):
            if raw is None:
                return None
            values = component.get("values")
            if values is None:
                return raw
            value = values[raw]
            return value.get("id", value.get("value", value.get("name")))

        base = {}
        for component in dims.get("dataSet", []):
            base[component["id"]] = decode(component, 0)
        for component, raw in zip(attrs.get("dataSet", []), dataset.get("attributes", [])):
            base[component["id"]] = decode(component, raw)

        def observations(holder, row):
            for key, values in holder.get("observations", {}).items():
                obs = dict(row)
                for component, index in zip(dims.get("observation", []), key.split(":")):
                    obs[component["id"]] = decode(component, int(index))
                for component, raw in zip(measures, values):
                    obs[component["id"]] = raw
                for component, raw in zip(attrs.get("observation", []), values[len(measures):]):
                    obs[component["id"]] = decode(component, raw)
                rows.append(obs)

        if "series" in dataset:
            for key, series in dataset["series"].items():
                row = dict(base)
                for component, index in zip(dims.get("series", []), key.split(":")):
                    row[component["id"]] = decode(component, int(index))
                for component, raw in zip(attrs.get("series", []), series.get("attributes", [])):
                    row[component["id"]] = decode(component, raw)
                if "observations" in series:
                    observations(series, row)
                else:
                    rows.append(row)
        else:
            observations(dataset, base)
    return pd.DataFrame(rows)


def canonical(df: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """A read-back frame in the oracle's form (missing columns as None, numbers as floats)."""
    columns = columns or COLUMNS
    out = pd.DataFrame({c: df[c] if c in df else None for c in columns})
    for column in columns:
        if column == "OBS_VALUE":
            out[column] = pd.to_numeric(out[column]).astype(float)
        else:
            out[column] = [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in out[column]]
    return out.sort_values([d for d in DIMENSIONS if d in columns]).reset_index(drop=True)


def read_jsonstat(doc: dict) -> pd.DataFrame:
    """Every value of a JSON-stat 2.0 data set (or collection of them) as a row: dimensions by
    category id, OBS_VALUE, and OBS_STATUS from `status`; dense arrays and sparse objects."""
    datasets = [doc] if doc.get("class") == "dataset" else doc["link"]["item"]
    rows = []
    for ds in datasets:
        ids, sizes = ds["id"], ds["size"]
        assert len(ids) == len(sizes) == len(ds["dimension"])
        cats = []
        for d, size in zip(ids, sizes):
            index = ds["dimension"][d]["category"]["index"]
            if isinstance(index, dict):
                index = sorted(index, key=index.get)
            assert len(index) == size, d
            cats.append(index)
        values = ds["value"]
        items = values.items() if isinstance(values, dict) else ((str(i), v) for i, v in enumerate(values) if v is not None)
        status = ds.get("status") or {}
        for key, value in items:
            position = int(key)
            coords = []
            for size in reversed(sizes):
                coords.append(position % size)
                position //= size
            row = {d: cats[i][c] for i, (d, c) in enumerate(zip(ids, reversed(coords)))}
            row["OBS_VALUE"] = value
            row["OBS_STATUS"] = status.get(key) if isinstance(status, dict) else (status[int(key)] if status else None)
            rows.append(row)
    return pd.DataFrame(rows)


def read_xlsx(body: bytes) -> tuple[pd.DataFrame, dict]:
    """The data sheets of a workbook (openpyxl, read-only) as one frame with the header's ids
    as columns and codes without their names; and {sheet title: (header, rows)} to look at."""
    import io

    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    frames, sheets = [], {}
    for sheet in book.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        sheets[sheet.title] = rows
        if sheet.title == "About":
            continue
        header = [str(h).split(":")[0] for h in rows[0]]
        records = [[(v.split(": ")[0] if isinstance(v, str) and h != "OBS_VALUE" else v) for h, v in zip(header, row)]
                   for row in rows[1:]]
        frames.append(pd.DataFrame(records, columns=header))
    book.close()
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), sheets
