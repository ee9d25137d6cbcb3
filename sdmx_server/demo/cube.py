"""Arrays of figures with named axes, their totals, and their SDMX-CSV 2.0 files.

A model builds its figures over the leaf codes of each dimension (provinces, schemes, ...), as one
numpy array whose last axis is time. `with_totals` then adds every total code of the codelist
(`_T`, and each parent of a hierarchy such as IR over the provinces) as the sum of its leaves, so
that published totals always add up. `write_csv` turns the array into rows, one per published
cell, without a Python loop over observations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sdmx_server.demo.content import Codelist, ContentError, FlowLayout

#: OBS_STATUS codes, by the small integers the models store in their status arrays.
STATUS_CODES = ("A", "P", "E", "B")
NORMAL, PROVISIONAL, ESTIMATED, BREAK = range(4)


@dataclass
class Cube:
    """Figures of one dataflow: `values[axis_1, ..., axis_n, time]`."""

    axes: dict[str, list[str]]  # dimension id -> codes along that axis (FREQ excluded)
    periods: list[str]
    values: np.ndarray
    status: np.ndarray  # int8, STATUS_CODES index, same shape as values
    #: which cells are published (broadcastable to values); None publishes every cell
    publish: np.ndarray | None = None
    #: full index (one int per axis, then time) -> COMMENT text
    comments: dict[tuple[int, ...], str] = field(default_factory=dict)
    #: attribute id -> one value for the whole dataflow, or (axis id, {code: value})
    attributes: dict[str, str | tuple[str, dict[str, str]]] = field(default_factory=dict)

    def index(self, axis: str, code: str) -> int:
        return self.axes[axis].index(code)


def aggregation_matrix(codelist: Codelist, leaves: list[str]) -> tuple[list[str], np.ndarray]:
    """Every code of the codelist (in its order) as a 0/1 combination of `leaves`."""
    position = {leaf: i for i, leaf in enumerate(leaves)}
    codes = []
    rows = []
    for code in codelist.ids:
        members = [position[c] for c in codelist.descendant_leaves(code) if c in position]
        if not members:
            continue
        row = np.zeros(len(leaves), dtype=np.int64)
        row[members] = 1
        codes.append(code)
        rows.append(row)
    missing = set(leaves) - set(codes)
    if missing:
        raise ContentError(f"{codelist.id} lacks {sorted(missing)}")
    return codes, np.array(rows)


def with_totals(cube_axes: dict[str, list[str]], arrays: list[np.ndarray], codelists: dict[str, Codelist]):
    """Extend each named axis from its leaves to all the codes of its codelist (totals summed).

    `arrays` are in leaf space; counts are summed, flags (booleans) are or-ed. Returns the new
    axes and arrays."""
    axes = dict(cube_axes)
    out = list(arrays)
    for position, (axis, leaves) in enumerate(cube_axes.items()):
        if axis not in codelists:
            continue
        codes, matrix = aggregation_matrix(codelists[axis], leaves)
        axes[axis] = codes
        for k, array in enumerate(out):
            moved = np.moveaxis(array, position, -1)
            if array.dtype == bool:
                summed = (moved.astype(np.int64) @ matrix.T) > 0
            else:
                summed = moved @ matrix.T.astype(array.dtype)
            out[k] = np.moveaxis(summed, -1, position)
    return axes, out


def monthly_periods(first_year: int, last_year: int) -> list[str]:
    return [f"{y}-{m:02d}" for y in range(first_year, last_year + 1) for m in range(1, 13)]


def quarterly_periods(first_year: int, last_year: int) -> list[str]:
    return [f"{y}-Q{q}" for y in range(first_year, last_year + 1) for q in range(1, 5)]


def annual_periods(first_year: int, last_year: int) -> list[str]:
    return [str(y) for y in range(first_year, last_year + 1)]


def write_csv(path: Path, layout: FlowLayout, freq: str, cube: Cube) -> int:
    """Write the published cells of `cube` as SDMX-CSV 2.0; return the number of rows."""
    order = [d for d in layout.dimensions if d != "FREQ"]
    if sorted(order) != sorted(cube.axes):
        raise ContentError(f"{layout.id}: the DSD has dimensions {layout.dimensions}, the model {list(cube.axes)}")
    axis_ids = list(cube.axes)
    permutation = [axis_ids.index(d) for d in order] + [len(axis_ids)]
    values = np.transpose(cube.values, permutation)
    status = np.transpose(cube.status, permutation)
    if cube.publish is None:
        mask = np.ones(values.shape, dtype=bool)
    else:
        mask = np.broadcast_to(np.transpose(cube.publish, permutation), values.shape)
    index = np.nonzero(mask)  # C order: by series key in DSD order, then time
    n = len(index[0])
    codes = {d: cube.axes[d] for d in order}

    def constant(value: str) -> pd.Categorical:
        return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[value])

    columns: dict[str, object] = {
        "STRUCTURE": constant("dataflow"),
        "STRUCTURE_ID": constant(layout.ref),
        "ACTION": constant("M"),
    }
    for d in layout.dimensions:
        if d == "FREQ":
            columns[d] = constant(freq)
        else:
            columns[d] = pd.Categorical.from_codes(index[order.index(d)], categories=codes[d])
    columns[layout.time_dimension] = pd.Categorical.from_codes(index[-1], categories=cube.periods)
    columns[layout.measure] = values[index]
    status_codes = status[index]
    for attribute in layout.attributes:
        if attribute == "OBS_STATUS":
            columns[attribute] = pd.Categorical.from_codes(status_codes, categories=list(STATUS_CODES))
        elif attribute == "COMMENT":
            columns[attribute] = _comments(cube, permutation, values.shape, index, n)
        elif attribute in cube.attributes:
            spec = cube.attributes[attribute]
            if isinstance(spec, str):
                columns[attribute] = constant(spec)
            else:
                axis, by_code = spec
                per_code = np.array([by_code[c] for c in codes[axis]], dtype=object)
                columns[attribute] = per_code[index[order.index(axis)]]
        else:
            columns[attribute] = constant("")
    frame = pd.DataFrame(columns)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    return n


def _comments(cube: Cube, permutation: list[int], shape: tuple[int, ...], index, n: int) -> np.ndarray:
    out = np.full(n, "", dtype=object)
    if not cube.comments:
        return out
    flat = np.ravel_multi_index(index, shape)
    for key, text in sorted(cube.comments.items()):
        permuted = tuple(key[p] for p in permutation)
        target = np.ravel_multi_index(permuted, shape)
        row = int(np.searchsorted(flat, target))
        if row < n and flat[row] == target:
            out[row] = text
    return out
