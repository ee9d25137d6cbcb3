"""Observations' XML attributes kept as the elements give them, a layout at a time.

SDMX-ML structure-specific data gives an observation's components as the XML attributes of its
Obs element. Asking an lxml element for one attribute by name (`get`) parses the name's
namespace every time; a million observations of four components paid for four million such
calls, and that was most of the reader's time. `element.keys()` and `element.values()` are
each one call, so the reader takes those instead.

Consecutive observations nearly always carry the same attributes in the same order (their
*layout*). Each layout keeps one flat list of the values of its observations, extended by
`values()` as each is read (strings only: no container per observation for the garbage
collector to walk). A chunk's column of a component is then every m-th value of each layout's
list, from the component's place in the layout: one slice, made an Arrow array once.

Observations of several layouts in one chunk (OBS_STATUS on some only, say) are put back in
their order with one Arrow `take`: which layout each row has is kept as runs (a row where the
layout changes starts a run), not per row.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


class _Layout:
    __slots__ = ("number", "width", "positions", "values")

    def __init__(self, number: int, width: int, positions: dict[str, int]):
        self.number = number
        self.width = width  # how many attributes (values) each of its observations has
        #: The component ids of the layout and their places in it (unknown names left out).
        self.positions = positions
        self.values: list = []


class ObsLayouts:
    """The values of a chunk's observations by layout (see the module's docstring)."""

    def __init__(self, known: set[str]):
        self.known = known
        self._layouts: dict[tuple, _Layout] = {}
        self._runs: list[int] = []  # the layout number of each run
        self._starts: list[int] = []  # the first row of each run
        #: The keys of the layout being extended; None after `take`, so the next row starts a run.
        self.keys: list | None = None

    def switch(self, keys: list, row: int):
        """Rows from `row` on (the next to be read) have the attributes `keys`, in that order;
        returns the `extend` of the list their `values()` go to."""
        self.keys = keys
        key = tuple(keys)
        layout = self._layouts.get(key)
        if layout is None:
            positions = {name: i for i, name in enumerate(keys) if name in self.known}
            layout = self._layouts[key] = _Layout(len(self._layouts), len(keys), positions)
        if self._starts and self._starts[-1] == row:  # (the last run had no rows)
            self._runs[-1] = layout.number
        else:
            self._runs.append(layout.number)
            self._starts.append(row)
        return layout.values.extend

    def take(self, n: int) -> dict[str, pa.Array]:
        """The chunk's `n` rows as one array per component some layout gives (null in the rows
        of other layouts), in row order; the layouts start again empty."""
        layouts = list(self._layouts.values())  # (in the order of their numbers)
        names = list(dict.fromkeys(name for lay in layouts for name in lay.positions))
        out: dict[str, pa.Array] = {}
        if layouts:
            row_layout = self._row_layouts(n)
            counts = np.bincount(row_layout, minlength=len(layouts)).tolist()
            for name in names:
                parts = []
                for lay, count in zip(layouts, counts):
                    at = lay.positions.get(name)
                    parts.append(pa.nulls(count, pa.string()) if at is None
                                 else pa.array(lay.values[at::lay.width], pa.string()))
                out[name] = parts[0] if len(parts) == 1 else pa.concat_arrays(parts)
            if len(layouts) > 1:  # back in row order
                order = np.argsort(row_layout, kind="stable")
                inverse = np.empty(n, dtype=np.int64)
                inverse[order] = np.arange(n, dtype=np.int64)
                index = pa.array(inverse)
                out = {name: column.take(index) for name, column in out.items()}
        self._layouts.clear()
        self._runs.clear()
        self._starts.clear()
        self.keys = None
        return out

    def _row_layouts(self, n: int) -> np.ndarray:
        """The layout number of each of the chunk's `n` rows, from the runs."""
        starts = np.asarray(self._starts + [n], dtype=np.int64)
        return np.repeat(np.asarray(self._runs, dtype=np.int32), np.diff(starts))
