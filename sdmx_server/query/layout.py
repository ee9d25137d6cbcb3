"""How a data message is laid out: which dimensions make the series, which one the observation,
and on which level each attribute is written. Derived from the query (dimensionAtObservation,
detail) and the DSD's shape; the store sorts rows by it and every data writer follows it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Collection

from sdmx_server.errors import SyntaxError_

if TYPE_CHECKING:
    from sdmx_server.registry.shape import DataShape

ALL_DIMENSIONS = "AllDimensions"


@dataclass(frozen=True)
class DataLayout:
    obs_dimension: str | None  # None: flat (AllDimensions)
    series_dims: tuple[str, ...]
    obs_dims: tuple[str, ...]
    dataset_attrs: tuple[str, ...]
    series_attrs: tuple[str, ...]
    obs_attrs: tuple[str, ...]
    detail: str  # full | dataonly | serieskeysonly | nodata

    @property
    def with_observations(self) -> bool:
        return self.detail in ("full", "dataonly")

    @property
    def dimension_at_observation(self) -> str:
        return self.obs_dimension or ALL_DIMENSIONS

    @classmethod
    def build(cls, shape: "DataShape", dimension_at_observation: str | None, detail: str = "full",
              attributes: Collection[str] | None = None) -> "DataLayout":
        """`attributes`: the attribute ids to write (REST v2 `attributes`), None for all that
        `detail` shows."""
        requested = dimension_at_observation
        if requested is None:
            requested = shape.time.id if shape.time is not None else ALL_DIMENSIONS
        all_dims = shape.all_dimension_ids
        if requested == ALL_DIMENSIONS:
            if detail in ("serieskeysonly", "nodata"):
                raise SyntaxError_(f"detail={detail} returns series, and dimensionAtObservation=AllDimensions has none")
            obs_dimension, series_dims, obs_dims = None, (), all_dims
        elif requested in all_dims:
            obs_dimension = requested
            series_dims = tuple(d for d in all_dims if d != requested)
            obs_dims = (requested,)
        else:
            raise SyntaxError_(
                f"dimensionAtObservation={requested!r}: expected AllDimensions or one of {', '.join(all_dims)}"
            )
        levels: dict[str, list[str]] = {"dataset": [], "series": [], "observation": []}
        if detail in ("full", "nodata"):
            for attribute in shape.attributes:
                if attributes is not None and attribute.id not in attributes:
                    continue
                level = shape.attribute_level(attribute, obs_dimension)
                if level == "series" and obs_dimension is None:
                    level = "observation"
                levels[level].append(attribute.id)
        return cls(
            obs_dimension, series_dims, obs_dims,
            tuple(levels["dataset"]), tuple(levels["series"]), tuple(levels["observation"]), detail,
        )

    def demote(self, attribute_ids: Collection[str]) -> "DataLayout":
        """The layout with these data-set or series level attributes written on each
        observation instead: they hold several values where the layout would write one (the
        data service finds them; a writer must never pick one of several values)."""
        moving = [a for a in self.dataset_attrs + self.series_attrs if a in attribute_ids]
        if not moving:
            return self
        return replace(
            self,
            dataset_attrs=tuple(a for a in self.dataset_attrs if a not in moving),
            series_attrs=tuple(a for a in self.series_attrs if a not in moving),
            obs_attrs=tuple(moving) + self.obs_attrs,
        )

    def sort_columns(self) -> tuple[str, ...]:
        """The order rows must come in: series key first, then the observation dimension(s)."""
        return self.series_dims + self.obs_dims
