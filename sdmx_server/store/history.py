"""Revisions: every earlier value of every observation, with its transaction time.

The fact table holds the current state, as before (queries of the current state read only
it), plus `UPDATED`: the transaction time of the load that last wrote the row (its valid-from).
When a load changes or deletes an observation, the row as it was goes to the dataflow's
history table first, with `REPLACED` (the load's transaction time: the old row's valid-to),
`REPLACED_BY` (that load's id) and `CHANGE` ('U' replaced by a newer value, 'D' deleted).
A write that carries the values already stored changes nothing and leaves no history.

So the state as of time T is: current rows with UPDATED <= T, and history rows with
UPDATED <= T < REPLACED. What changed after T (updatedAfter) is: current rows with
UPDATED > T, and deletions: history rows with CHANGE = 'D' and REPLACED > T whose key has no
current row. Transaction times are epoch microseconds UTC, one per load, increasing within a
dataflow (loads of one dataflow are serialised). Rows written before revisions existed have
UPDATED null: older than any time.
"""

from __future__ import annotations

#: Fact and history tables: the transaction time of the load that wrote the row (valid from).
UPDATED = "sdmx_updated"
#: History tables: when the row stopped being current (valid to), by which load, and how.
REPLACED = "sdmx_replaced"
REPLACED_BY = "sdmx_replaced_by"
CHANGE = "sdmx_change"  # 'U' (replaced by a newer value) or 'D' (deleted)


def history_table_name(fact_name: str) -> str:
    return f"{fact_name}_h"
