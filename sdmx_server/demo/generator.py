"""The reference user's demo data: one SDMX-CSV 2.0 file per dataflow, from a seed.

    write_demo_data(Path("var/demo"))  # -> [DemoFile('SSO:DF_INSURED(1.0)', ..., 335808), ...]

Same seed, same bytes: the figures come from numpy generators seeded by (seed, dataflow) and the
period is fixed (January 2015 to December 2025), never "today". Code ids, dimension order and
attribute columns are read from the authoring files (codelists/, dsd/) under `content_dir`, the
repository root by default; the models behind the figures are in registers.py (insured,
pensioners, workplaces), finance.py (contributions, benefits) and kpi.py (dashboard, norms).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sdmx_server.demo.content import Codelist, Content, ContentError, load_content
from sdmx_server.demo.cube import Cube, write_csv
from sdmx_server.demo.finance import benefits, contributions
from sdmx_server.demo.kpi import kpi
from sdmx_server.demo.registers import dependants_factor, insured, pensioners, workshops
from sdmx_server.demo.world import build_world

DEFAULT_SEED = 2026
#: the demo dataflows, in the order they are written, with the frequency of their series
FLOWS = {"DF_INSURED": "M", "DF_PENSIONERS": "M", "DF_CONTRIBUTIONS": "M", "DF_BENEFITS": "M",
         "DF_WORKSHOPS": "M", "DF_KPI": "Q", "DF_KPI_NORMS": "A"}


@dataclass(frozen=True)
class DemoFile:
    flow: str  # 'SSO:DF_INSURED(1.0)'
    path: Path
    observations: int


def write_demo_data(out_dir: Path, seed: int = DEFAULT_SEED, content_dir: Path | None = None) -> list[DemoFile]:
    """Write one SDMX-CSV 2.0 file per demo dataflow into `out_dir`; return what was written."""
    content = load_content(content_dir)
    missing = [f for f in FLOWS if f not in content.flows]
    if missing:
        raise ContentError(f"the content has no dataflow {', '.join(missing)}")
    cubes = build_cubes(content, seed)
    out_dir = Path(out_dir)
    written = []
    for flow_id, cube in cubes.items():
        layout = content.flows[flow_id]
        _check_codes(content, flow_id, FLOWS[flow_id], cube)
        path = out_dir / f"{flow_id}.csv"
        rows = write_csv(path, layout, FLOWS[flow_id], cube)
        written.append(DemoFile(layout.ref, path, rows))
    return written


def build_cubes(content: Content, seed: int) -> dict[str, Cube]:
    """The figures of every demo dataflow, before they are written."""

    def codelists(flow_id: str, *extra: str) -> dict[str, Codelist]:
        layout = content.flows[flow_id]
        wanted = [d for d in layout.dimensions if d not in ("FREQ", "UNIT_MEASURE")] + list(extra)
        return {d: content.codelist_of(flow_id, d) for d in wanted}

    world = build_world(seed, content.codelist_of("DF_INSURED", "PROVINCE").leaves)
    cubes: dict[str, Cube] = {}
    cubes["DF_INSURED"], covered, schemes = insured(world, codelists("DF_INSURED"))
    cubes["DF_PENSIONERS"], pensioners_by_province = pensioners(world, codelists("DF_PENSIONERS"))
    cubes["DF_CONTRIBUTIONS"] = contributions(world, codelists("DF_CONTRIBUTIONS"), covered, schemes)
    cubes["DF_BENEFITS"] = benefits(world, codelists("DF_BENEFITS", "UNIT_MEASURE"), covered.sum(axis=1))
    cubes["DF_WORKSHOPS"] = workshops(world, codelists("DF_WORKSHOPS"))
    main_insured = covered.sum(axis=1) / dependants_factor(world)[None, :]
    cubes["DF_KPI"], cubes["DF_KPI_NORMS"] = kpi(
        world, codelists("DF_KPI"), main_insured, pensioners_by_province, codelists("DF_KPI_NORMS"))
    return {flow_id: cubes[flow_id] for flow_id in FLOWS}


def _check_codes(content: Content, flow_id: str, freq: str, cube: Cube) -> None:
    """Every value the generator writes in a coded column is a code of that column's codelist."""
    layout = content.flows[flow_id]
    used: dict[str, set[str]] = {d: set(codes) for d, codes in cube.axes.items()}
    if "FREQ" in layout.dimensions:
        used["FREQ"] = {freq}
    for attribute, spec in cube.attributes.items():
        used[attribute] = {spec} if isinstance(spec, str) else set(spec[1].values())
    for component, values in used.items():
        if component not in layout.codelists:
            continue
        unknown = values - set(content.codelists[layout.codelists[component]].ids)
        if unknown:
            raise ContentError(f"{flow_id}: {sorted(unknown)} not in the codelist of {component}")
    if cube.values.dtype.kind == "f" and not np.isfinite(cube.values).all():
        raise ContentError(f"{flow_id}: the model left values undefined")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or len(args) > 2:
        print("usage: python -m sdmx_server.demo.generator OUT_DIR [SEED]", file=sys.stderr)
        return 2
    for f in write_demo_data(Path(args[0]), int(args[1]) if len(args) > 1 else DEFAULT_SEED):
        print(f"{f.flow}\t{f.observations}\t{f.path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
