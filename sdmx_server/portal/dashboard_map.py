"""The dashboard's drawings as SVG made on the server: the map of the provinces and the trend
lines. No script draws them, so they show with scripts off, print, and fit the strict CSP; each
shape is a link (drill-down) with a name a screen reader reads.

The province shapes come from amCharts' geodata (npm `@amcharts/amcharts4-geodata`, iranLow),
unpacked beside the virtual environment by the README's set-up (`make`: Makefile `SHAPES`),
never fetched by the server; it is linkware, so the page shows the attribution
(`ATTRIBUTION`) and docs/portal.md records the licence. Its province ids are not those of
CL_PROVINCE (ISO 3166-2 codes were renumbered), so provinces are matched by English name.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

#: Where `make` unpacks the shapes (SDMX_MAP_SHAPES: another file of the same form).
SHAPES = Path(sys.prefix) / "share" / "sdmx-server" / "amcharts4-geodata" / "json" / "iranLow.json"
ATTRIBUTION = ("amCharts", "https://www.amcharts.com/")
#: English names in the shapes that differ from CL_ORG_UNIT's (after `_key`).
_ALIASES = {"chaharmahaalandbakhtiari": "chaharmahalandbakhtiari"}
WIDTH, HEIGHT = 640.0, 560.0


def shapes_path() -> Path:
    return Path(os.environ.get("SDMX_MAP_SHAPES") or SHAPES)


def _key(name: str) -> str:
    key = re.sub(r"[^a-z]", "", name.lower())
    return _ALIASES.get(key, key)


def province_key(unit_name_en: str) -> str:
    """A provincial directorate's English name as the shapes' key ("Isfahan Provincial Directorate")."""
    return _key(re.sub(r"\s*Provincial Directorate\s*$", "", unit_name_en))


@dataclass(frozen=True)
class Shape:
    key: str  # _key of the English name
    name: str
    path: str  # SVG path data in the map's box
    centre: tuple[float, float]


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> tuple[Shape, ...]:
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    features = doc.get("features") or []
    rings_of = []
    lon_min = lat_min = math.inf
    lon_max = lat_max = -math.inf
    for feature in features:
        geometry = feature.get("geometry") or {}
        polygons = geometry.get("coordinates") or []
        if geometry.get("type") == "Polygon":
            polygons = [polygons]
        rings = [ring for polygon in polygons for ring in polygon]
        for ring in rings:
            for lon, lat in ring:
                lon_min, lon_max = min(lon_min, lon), max(lon_max, lon)
                lat_min, lat_max = min(lat_min, lat), max(lat_max, lat)
        rings_of.append((feature.get("properties") or {}, rings))
    if not rings_of:
        return ()
    # Equirectangular at the country's middle latitude: fine for one country's provinces.
    squeeze = math.cos(math.radians((lat_min + lat_max) / 2))
    scale = min(WIDTH / ((lon_max - lon_min) * squeeze), HEIGHT / (lat_max - lat_min))

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return ((lon - lon_min) * squeeze * scale, (lat_max - lat) * scale)

    shapes = []
    for props, rings in rings_of:
        parts, xs, ys = [], [], []
        for ring in rings:
            points = [xy(lon, lat) for lon, lat in ring]
            xs += [p[0] for p in points]
            ys += [p[1] for p in points]
            parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in points) + "Z")
        name = str(props.get("NAME_ENG") or props.get("name") or "")
        shapes.append(Shape(_key(name), name, "".join(parts), (sum(xs) / len(xs), sum(ys) / len(ys))))
    return tuple(shapes)


def load_shapes() -> tuple[Shape, ...]:
    """The provinces' shapes, or () when the set-up installed none."""
    path = shapes_path()
    try:
        return _load(str(path), path.stat().st_mtime)
    except (OSError, ValueError):
        return ()


def sparkline(values: list[float | None], width: float = 96, height: float = 24) -> str:
    """SVG polyline points for a trend (values oldest first); "" with fewer than two values."""
    known = [(i, v) for i, v in enumerate(values) if v is not None and not math.isnan(v)]
    if len(known) < 2:
        return ""
    low, high = min(v for _, v in known), max(v for _, v in known)
    span = (high - low) or 1.0
    step = width / max(1, len(values) - 1)
    return " ".join(f"{i * step:.1f},{height - 2 - (v - low) / span * (height - 4):.1f}" for i, v in known)
