"""The one rule that judges a unit's indicator against its norm (the dashboard, DF_KPI_STATUS,
reports and other systems all read its result; nothing else decides a status).

The rule, for the value V of an indicator in a period, and the unit's norm for that period's
year (DF_KPI_NORMS: lower bound L, upper bound U, target T; T missing: the middle of L and U)
with the indicator's good direction (GOOD_DIRECTION):

- higher is better (UP): OUTSIDE when V < L; WARNING when L <= V < (L + T) / 2, the half of
  the way from the lower bound to the target nearer the bound; WITHIN otherwise (at or past
  that half way, at or above the target, and above U too: doing better than the range is not
  a failure);
- lower is better (DOWN): the mirror: OUTSIDE when V > U; WARNING when (T + U) / 2 < V <= U;
  WITHIN otherwise.

No status without both bounds. The score used to rank units is WITHIN 2, WARNING 1,
OUTSIDE 0 (`SCORES`); a unit's rank comes from the mean score of the indicators it has in the
latest period (`ranking`).

Why this rule: the norms of the planning office (demo/kpi.py) centre the target a little in
the good direction from a unit's own track record, with a band either side; a unit on its
usual path lands between the bound and the target, and only a unit clearly off its path
crosses the bound. A warning marks the half of the range where a unit is drifting towards it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Literal

Status = Literal["WITHIN", "WARNING", "OUTSIDE"]
Direction = Literal["UP", "DOWN"]
STATUSES: tuple[Status, ...] = ("WITHIN", "WARNING", "OUTSIDE")
SCORES: dict[Status, int] = {"WITHIN": 2, "WARNING": 1, "OUTSIDE": 0}


@dataclass(frozen=True)
class Norm:
    lower: float | None
    upper: float | None
    target: float | None

    @property
    def complete(self) -> bool:
        return _number(self.lower) and _number(self.upper)

    @property
    def aim(self) -> float:
        """The target, or the middle of the range when the norm has none."""
        assert self.lower is not None and self.upper is not None
        return self.target if _number(self.target) else (self.lower + self.upper) / 2


def _number(x) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def status(value: float | None, norm: Norm, good: Direction) -> Status | None:
    """The status of `value` against `norm` (None: no value, or the norm lacks a bound)."""
    if not _number(value) or not norm.complete:
        return None
    assert value is not None and norm.lower is not None and norm.upper is not None
    aim = norm.aim
    if good == "UP":
        if value < norm.lower:
            return "OUTSIDE"
        return "WARNING" if value < (norm.lower + aim) / 2 else "WITHIN"
    if good == "DOWN":
        if value > norm.upper:
            return "OUTSIDE"
        return "WARNING" if value > (aim + norm.upper) / 2 else "WITHIN"
    raise ValueError(f"good direction {good!r} is neither UP nor DOWN")


def norm_year(period: str) -> str:
    """The norm's period for a value's period: norms are yearly ("2023" for "2023-Q2")."""
    return period[:4]


@dataclass(frozen=True)
class Rank:
    unit: str
    rank: int
    score: float  # percent of the highest possible score
    counts: dict[str, int]  # status -> number of indicators


def ranking(statuses: Iterable[tuple[str, Status]]) -> list[Rank]:
    """Units ranked by the mean score of their indicators (as a percent of the highest), then by
    fewer indicators outside, then by fewer warnings; equal units share a rank."""
    per_unit: dict[str, list[Status]] = {}
    for unit, s in statuses:
        per_unit.setdefault(unit, []).append(s)
    rows = []
    for unit, found in per_unit.items():
        counts = {s: found.count(s) for s in STATUSES}
        score = 100.0 * sum(SCORES[s] for s in found) / (2 * len(found))
        rows.append((unit, round(score, 1), counts))
    rows.sort(key=lambda r: (-r[1], r[2]["OUTSIDE"], r[2]["WARNING"], r[0]))
    ranked: list[Rank] = []
    for i, (unit, score, counts) in enumerate(rows):
        previous = ranked[-1] if ranked else None
        same = previous is not None and (previous.score, previous.counts["OUTSIDE"], previous.counts["WARNING"]) == (
            score, counts["OUTSIDE"], counts["WARNING"])
        ranked.append(Rank(unit, previous.rank if same and previous else i + 1, score, counts))
    return ranked
