"""The shape of a DSD as the data path sees it: components in order, their codes and types.

sdmx.model is rich and deep; validating a million rows or writing a million observations
needs only a few flat facts per component, computed once per DSD.
"""

from __future__ import annotations

from dataclasses import dataclass

from sdmx.model import common, v21, v30

from sdmx_server.registry.extensions import effective_codes

NUMERIC_TYPES = frozenset(
    {
        "bigInteger", "integer", "long", "short", "decimal", "float", "double", "count",
        "inclusiveValueRange", "exclusiveValueRange", "incremental",
    }
)
INTEGER_TYPES = frozenset({"bigInteger", "integer", "long", "short", "count"})


@dataclass(frozen=True)
class Component:
    id: str
    role: str  # "dimension" | "time" | "measure" | "attribute"
    position: int  # in the DSD, 0-based within its role
    codelist: str | None = None  # "AGENCY:ID(VERSION)" of the enumeration
    codes: frozenset[str] | None = None
    text_type: str | None = None  # an sdmx FacetValueType name, e.g. "double", "string"
    min_length: int | None = None
    max_length: int | None = None
    min_value: float | None = None
    max_value: float | None = None
    pattern: str | None = None
    mandatory: bool = False
    #: For attributes: "dataset", "observation", or "dimensions" (then attach_dims says which).
    attachment: str = "observation"
    attach_dims: tuple[str, ...] = ()

    @property
    def coded(self) -> bool:
        return self.codes is not None

    @property
    def numeric(self) -> bool:
        if self.coded:
            return False
        # A measure without any declared type is taken as numeric: that is what SDMX data is.
        if self.text_type is None:
            return self.role == "measure"
        return self.text_type in NUMERIC_TYPES


@dataclass(frozen=True)
class DataShape:
    dsd: tuple[str, str, str]  # agency, id, version
    dimensions: tuple[Component, ...]  # every dimension but the time dimension, in DSD order
    time: Component | None
    measure: Component
    attributes: tuple[Component, ...]

    @property
    def dsd_ref(self) -> str:
        agency, dsd_id, version = self.dsd
        return f"{agency}:{dsd_id}({version})"

    @property
    def dsd_urn(self) -> str:
        agency, dsd_id, version = self.dsd
        return f"urn:sdmx:org.sdmx.infomodel.datastructure.DataStructure={agency}:{dsd_id}({version})"

    @property
    def dimension_ids(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.dimensions)

    @property
    def all_dimension_ids(self) -> tuple[str, ...]:
        return self.dimension_ids + ((self.time.id,) if self.time else ())

    @property
    def components(self) -> tuple[Component, ...]:
        return self.dimensions + ((self.time,) if self.time else ()) + (self.measure,) + self.attributes

    def component(self, component_id: str) -> Component | None:
        for c in self.components:
            if c.id == component_id:
                return c
        return None

    def attribute_level(self, attribute: Component, obs_dimension: str | None) -> str:
        """Where an attribute is written when `obs_dimension` is at the observation level
        (None: flat, all dimensions at observation level): dataset, series or observation."""
        if attribute.attachment == "dataset":
            return "dataset"
        if attribute.attachment == "observation" or obs_dimension is None:
            return "observation"
        return "observation" if obs_dimension in attribute.attach_dims else "series"


class ShapeError(ValueError):
    pass


def data_shape(dsd: common.BaseDataStructureDefinition) -> DataShape:
    agency = dsd.maintainer.id if dsd.maintainer is not None else ""
    key = (agency, dsd.id, str(dsd.version or "1.0"))
    dimensions, time = [], None
    for dim in dsd.dimensions.components:
        if isinstance(dim, common.TimeDimension):
            time = _component(dim, "time", 0)
        else:
            dimensions.append(_component(dim, "dimension", len(dimensions)))
    measures = list(getattr(dsd, "measures", None).components) if getattr(dsd, "measures", None) else []
    if len(measures) != 1:
        raise ShapeError(f"data structure {key[0]}:{key[1]}({key[2]}) has {len(measures)} measures; one is needed")
    measure = _component(measures[0], "measure", 0)
    attributes = tuple(_attribute(a, i, dsd) for i, a in enumerate(dsd.attributes.components))
    return DataShape(key, tuple(dimensions), time, measure, attributes)


def _representation(component) -> common.Representation | None:
    if component.local_representation is not None:
        return component.local_representation
    concept = component.concept_identity
    return concept.core_representation if concept is not None else None


def _component(component, role: str, position: int, **extra) -> Component:
    rep = _representation(component)
    fields: dict = {}
    if rep is not None and rep.enumerated is not None:
        scheme = rep.enumerated
        fields["codes"] = frozenset(effective_codes(scheme) if isinstance(scheme, common.Codelist) else scheme.items)
        agency = scheme.maintainer.id if scheme.maintainer is not None else ""
        fields["codelist"] = f"{agency}:{scheme.id}({scheme.version or '1.0'})"
    elif rep is not None and rep.non_enumerated:
        facet = rep.non_enumerated[0]
        if facet.value_type is not None:
            fields["text_type"] = facet.value_type.name
        ft = facet.type
        # sdmx1 reads facets from SDMX-ML as text; the checks need numbers.
        fields.update(
            min_length=_number(ft.min_length, int),
            max_length=_number(ft.max_length, int),
            min_value=_number(ft.min_value, float),
            max_value=_number(ft.max_value, float),
            pattern=ft.pattern,
        )
    return Component(component.id, role, position, **fields, **extra)


def _number(value, kind):
    if value is None or value == "":
        return None
    try:
        return kind(float(value))
    except (TypeError, ValueError):
        return None


def _attribute(attribute, position: int, dsd) -> Component:
    mandatory = attribute.usage_status == common.UsageStatus.mandatory
    related = attribute.related_to
    if related is None or isinstance(
        related, (v21.PrimaryMeasureRelationship, v30.ObservationRelationship, v30.MeasureRelationship)
    ):
        attachment, dims = ("observation", ())
    elif isinstance(related, (v21.NoSpecifiedRelationship, v30.DataflowRelationship)):
        attachment, dims = ("dataset", ())
    elif isinstance(related, common.DimensionRelationship):
        members = list(related.dimensions)
        if not members and related.group_key is not None:
            members = list(related.group_key.components)
        attachment, dims = ("dimensions", tuple(d.id for d in members))
    elif isinstance(related, common.GroupRelationship) and related.group_key is not None:
        attachment, dims = ("dimensions", tuple(d.id for d in related.group_key.components))
    else:
        attachment, dims = ("observation", ())
    return _component(attribute, "attribute", position, mandatory=mandatory, attachment=attachment, attach_dims=dims)

