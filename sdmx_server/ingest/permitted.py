"""Where the submitter may upload: every row of a file inside the uploader's upload region.

A principal granted `upload` on a part of a dataflow only (`--where PROVINCE=IR-07`,
access/rules.py) sends rows of that part only. A row outside (a write or a deletion, a
deletion that leaves the dimension open included) refuses the whole file like any other
validation error: the report names the row and the value, e.g. "no rule grants upload on
SSO:DF_X(1.0) for PROVINCE=IR-24". Masks over the file's columns, in Arrow.

The region is given as DataQuery.region is (per region, (dimension, codes) pairs): a row is
inside when it lies in one region, each of whose dimensions holds one of its codes. A region
naming a component that is not a dimension of the structure holds no row, as for reads
(store/sql.py `region_condition`).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sdmx_server.ingest.checks import report_by_value
from sdmx_server.ingest.report import ValidationReport
from sdmx_server.registry.shape import DataShape

RULE = "permission"
#: How an open (empty) dimension of a deletion shows in the report: it reaches every code.
OPEN = "*"


def check_region(report: ValidationReport, shape: DataShape, region: tuple, scope: str,
                 columns: dict[str, pa.Array], rows: np.ndarray) -> None:
    """Report every row outside `region`; `scope` names the dataflow (AGENCY:ID(VERSION))."""
    n = len(rows)
    if not n:
        return
    dims = set(shape.dimension_ids)
    usable = [dict(part) for part in region if all(d in dims for d, _ in part)]
    values = {d: pc.fill_null(columns[d], OPEN) if d in columns else pa.array([OPEN] * n, pa.string())
              for part in usable for d in part}
    nowhere = pa.array(np.zeros(n, dtype=bool))
    inside = nowhere
    for part in usable:
        every = pa.array(np.ones(n, dtype=bool))
        for d, codes in part.items():
            every = pc.and_(every, pc.is_in(values[d], value_set=pa.array(sorted(codes), pa.string())))
        inside = pc.or_(inside, every)
    bad = pc.invert(inside)
    if not pc.any(bad).as_py():
        return
    # A dimension every region narrows: its value is at fault.
    blamed = nowhere
    common = set.intersection(*(set(p) for p in usable)) if usable else set()
    for d in sorted(common, key=shape.dimension_ids.index):
        allowed = sorted(set().union(*(p[d] for p in usable)))
        off = pc.and_(pc.and_(bad, pc.invert(blamed)),
                      pc.invert(pc.is_in(values[d], value_set=pa.array(allowed, pa.string()))))
        report_by_value(report, d, values[d], off, rows,
                        lambda v, d=d: f"no rule grants upload on {scope} for {d}={v}", rule=RULE)
        blamed = pc.or_(blamed, off)
    rest = pc.and_(bad, pc.invert(blamed))
    if not pc.any(rest).as_py():
        return
    # Each value is allowed by some region, their combination by none (or no region applies).
    named = sorted({d for p in usable for d in p}, key=shape.dimension_ids.index) or \
        [d for d in shape.dimension_ids if d in columns]
    parts = [pc.binary_join_element_wise(pa.array([f"{d}="] * n, pa.string()),
                                         values.get(d, pc.fill_null(columns.get(d, pa.nulls(n, pa.string())), OPEN)),
                                         "") for d in named]
    combined = pc.binary_join_element_wise(*parts, ", ") if parts else pa.array([""] * n, pa.string())
    report_by_value(report, "", combined, rest, rows,
                    lambda v: f"no rule grants upload on {scope} for {v}", rule=RULE)
