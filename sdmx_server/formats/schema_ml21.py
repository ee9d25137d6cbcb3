"""DSD-specific XML schemas for SDMX-ML 2.1, 3.0 and 3.1 structure-specific data (the REST `schema`
resource).

Structure-specific messages name their components as XML attributes; the official schemas only
define abstract base types, and a message validates when its data set's xsi:type points at the
types this module derives for one dataflow and one observation dimension.
"""

from __future__ import annotations

import re

from lxml import etree

from sdmx_server.formats import ml21
from sdmx_server.query.layout import DataLayout
from sdmx_server.registry.shape import INTEGER_TYPES, NUMERIC_TYPES, Component, DataShape

XS = "http://www.w3.org/2001/XMLSchema"
MEDIA_TYPE = "application/vnd.sdmx.schema+xml; version=2.1"

_XS_NUMBER = {"double": "xs:double", "float": "xs:float", "decimal": "xs:decimal", "boolean": "xs:boolean"}
_XS_TIME = {
    "observationalTimePeriod": "common:ObservationalTimePeriodType",
    "standardTimePeriod": "common:StandardTimePeriodType",
    "basicTimePeriod": "common:BasicTimePeriodType",
    "gregorianTimePeriod": "common:GregorianTimePeriodType",
    "reportingTimePeriod": "common:ReportingTimePeriodType",
    "dateTime": "xs:dateTime",
}


def namespace(structure_urn: str, obs_dimension: str | None) -> str:
    """The namespace of structure-specific data for a dataflow or DSD (by URN) and an
    observation dimension, as the SDMX 2.1 standard forms it."""
    return f"{structure_urn}:ObsLevelDim:{obs_dimension or 'AllDimensions'}"


#: SDMX-ML version -> (structure-specific data namespace, common namespace). The 3.x base
#: types differ from 2.1's (Comp and Metadata elements, no Group before the choice); the
#: derived types below follow each one's content model.
_BASES = {
    "2.1": (ml21.NS_SPECIFIC, ml21.NS_COMMON),
    "3.0": ("http://www.sdmx.org/resources/sdmxml/schemas/v3_0/data/structurespecific",
            "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/common"),
    "3.1": ("http://www.sdmx.org/resources/sdmxml/schemas/v3_1/data/structurespecific",
            "http://www.sdmx.org/resources/sdmxml/schemas/v3_1/common"),
}


def data_schema(structure_urn: str, shape: DataShape, layout: DataLayout, schema_location: str = "",
                version: str = "2.1") -> bytes:
    """The schema for structure-specific data of a dataflow or DSD with `layout`'s observation
    dimension, for SDMX-ML `version` (2.1, 3.0 or 3.1). `schema_location` is where the official
    schemas of that version are (URL or folder).

    SDMX-ML 2.1 with time at the observation level also gets the time-series types
    (TimeSeriesDataSetType, TimeSeriesType, TimeSeriesObsType), derived from the base's time
    series types: StructureSpecificTimeSeriesData messages name them in xsi:type."""
    ns_specific, ns_common = _BASES[version]
    target = namespace(structure_urn, layout.obs_dimension)
    root = etree.Element(
        _xs("schema"),
        nsmap={None: target, "xs": XS, "ss": ns_specific, "common": ns_common},
        targetNamespace=target,
        elementFormDefault="unqualified",
        attributeFormDefault="unqualified",
    )
    base = schema_location.rstrip("/") + "/" if schema_location else ""
    etree.SubElement(root, _xs("import"), namespace=ns_common, schemaLocation=f"{base}SDMXCommon.xsd")
    etree.SubElement(root, _xs("import"), namespace=ns_specific,
                     schemaLocation=f"{base}SDMXDataStructureSpecific.xsd")
    types = _simple_types(root, shape)
    time_id = shape.time.id if shape.time is not None else None
    variants = [""]
    if version == "2.1" and time_id is not None and layout.obs_dimension == time_id:
        variants.append("TimeSeries")
    for variant in variants:
        _dataset_type(root, layout, types, variant)
        if layout.obs_dimension is not None:
            _series_type(root, shape, layout, types, variant)
        _obs_type(root, shape, layout, types, variant)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _series_name(variant: str) -> str:
    return "TimeSeriesType" if variant else "SeriesType"


def _attribute(parent, types: dict[str, str], component_id: str, required: bool) -> None:
    etree.SubElement(parent, _xs("attribute"), name=component_id, type=types[component_id],
                     use="required" if required else "optional")


def _dataset_type(root, layout: DataLayout, types: dict[str, str], variant: str) -> None:
    """DataSet: data-set-level attributes, then Series (or Obs when flat)."""
    flat = layout.obs_dimension is None
    dataset = _restriction(root, f"{variant}DataSetType", f"ss:{variant}DataSetType")
    sequence = etree.SubElement(dataset, _xs("sequence"))
    etree.SubElement(sequence, _xs("element"), ref="common:Annotations", minOccurs="0")
    etree.SubElement(sequence, _xs("element"), name="DataProvider", type="common:DataProviderReferenceType",
                     form="unqualified", minOccurs="0")
    choice = etree.SubElement(sequence, _xs("choice"), minOccurs="0")
    etree.SubElement(choice, _xs("element"), name="Obs" if flat else "Series",
                     type=f"{variant}ObsType" if flat else _series_name(variant), form="unqualified",
                     maxOccurs="unbounded")
    for attribute_id in layout.dataset_attrs:
        _attribute(dataset, types, attribute_id, False)


def _series_type(root, shape: DataShape, layout: DataLayout, types: dict[str, str], variant: str) -> None:
    series = _restriction(root, _series_name(variant), f"ss:{_series_name(variant)}")
    sequence = etree.SubElement(series, _xs("sequence"))
    etree.SubElement(sequence, _xs("element"), ref="common:Annotations", minOccurs="0")
    etree.SubElement(sequence, _xs("element"), name="Obs", type=f"{variant}ObsType", form="unqualified",
                     minOccurs="0", maxOccurs="unbounded")
    for dim in layout.series_dims:
        _attribute(series, types, dim, True)
    for attribute_id in layout.series_attrs:
        _attribute(series, types, attribute_id, False)
    if shape.time is not None and shape.time.id != layout.obs_dimension and shape.time.id not in layout.series_dims:
        etree.SubElement(series, _xs("attribute"), name="TIME_PERIOD", use="prohibited")


def _obs_type(root, shape: DataShape, layout: DataLayout, types: dict[str, str], variant: str) -> None:
    obs = _restriction(root, f"{variant}ObsType", f"ss:{variant}ObsType")
    sequence = etree.SubElement(obs, _xs("sequence"))
    etree.SubElement(sequence, _xs("element"), ref="common:Annotations", minOccurs="0")
    for dim in layout.obs_dims:
        _attribute(obs, types, dim, True)
    if shape.time is None or shape.time.id not in layout.obs_dims:
        etree.SubElement(obs, _xs("attribute"), name="TIME_PERIOD", use="prohibited")
    if shape.measure.id == "OBS_VALUE":
        _attribute(obs, types, "OBS_VALUE", False)
    else:
        etree.SubElement(obs, _xs("attribute"), name="OBS_VALUE", use="prohibited")
        _attribute(obs, types, shape.measure.id, False)
    # Data-set and series attributes may come on observations too: the data service demotes
    # one that holds several values where its level would show one (fault 7, DataLayout.demote),
    # and data of that layout must still validate against the schema served for the dataflow.
    for attribute_id in dict.fromkeys(layout.obs_attrs + layout.dataset_attrs + layout.series_attrs):
        _attribute(obs, types, attribute_id, False)


def _xs(tag: str) -> str:
    return f"{{{XS}}}{tag}"


def _restriction(root, name: str, base: str):
    complex_type = etree.SubElement(root, _xs("complexType"), name=name)
    content = etree.SubElement(complex_type, _xs("complexContent"))
    return etree.SubElement(content, _xs("restriction"), base=base)


def _simple_types(root, shape: DataShape) -> dict[str, str]:
    """A named simple type per component (an enumeration for coded ones); returns id -> type."""
    types: dict[str, str] = {}
    for component in shape.components:
        builtin = _builtin(component)
        if builtin is not None:
            types[component.id] = builtin
            continue
        name = "T_" + re.sub(r"[^A-Za-z0-9_.\-]", "_", component.id)
        simple = etree.SubElement(root, _xs("simpleType"), name=name)
        restriction = etree.SubElement(simple, _xs("restriction"), base="xs:string")
        if component.coded:
            for code in sorted(component.codes):
                etree.SubElement(restriction, _xs("enumeration"), value=code)
        else:
            for facet, value in (("minLength", component.min_length), ("maxLength", component.max_length)):
                if value is not None:
                    etree.SubElement(restriction, _xs(facet), value=str(int(value)))
        types[component.id] = name
    return types


def _builtin(component: Component) -> str | None:
    if component.coded:
        return None
    if component.role == "time":
        return "common:ObservationalTimePeriodType"
    kind = component.text_type
    if component.role == "measure" and kind is None:
        return "xs:double"
    if kind in _XS_TIME:
        return _XS_TIME[kind]
    if kind in INTEGER_TYPES:
        return "xs:integer"
    if kind in _XS_NUMBER:
        return _XS_NUMBER[kind]
    if kind in NUMERIC_TYPES:
        return "xs:double"
    if component.min_length is None and component.max_length is None:
        return "xs:string"
    return None

