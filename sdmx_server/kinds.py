"""The kinds of maintainable artefacts: the one table that knows every name a kind goes by.

A kind is named here as REST v2 names it (`dataconstraint`), or as REST v1 does for the kinds
SDMX 3.0 dropped (`hierarchicalcodelist`, `structureset`, `attachmentconstraint`). Each row
says how REST v1 and v2 call it, how SDMX-ML 2.1 and 3.0 write it (element and container),
which collection SDMX-JSON puts it in, its URN class and package, and which sdmx1 classes
hold it in memory. Adding a kind is adding a row; readers, writers, the registry and the
query parsers all look kinds up here.

This module is a leaf: it imports nothing of the project.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

#: How a kind holds sub-artefacts that an item query (`itemID`) can select.
Items = Literal["flat", "nested", "collection"] | None


@dataclass(frozen=True)
class Kind:
    #: Our name for the kind; also the `kind` column of the artefact table.
    name: str
    #: URN class and package: urn:sdmx:org.sdmx.infomodel.{package}.{urn_class}=...
    urn_class: str
    package: str
    #: REST v1 resource names that select this kind (the first is its own), () if none.
    v1: tuple[str, ...] = ()
    #: REST v2 artefactType, None when REST v2 has no such type.
    v2: str | None = None
    #: SDMX-ML 2.1 (element, container), None when SDMX-ML 2.1 cannot express the kind.
    ml21: tuple[str, str] | None = None
    #: SDMX-ML 3.0 (element, container), None when SDMX-ML 3.0 cannot express the kind.
    ml30: tuple[str, str] | None = None
    #: SDMX-JSON 2.0 collection under data (e.g. "codelists"); 1.0 collection (None: SDMX-JSON
    #: 1.0 has none, e.g. for the VTL schemes, which its schema does not know).
    json20: str | None = None
    json10: str | None = None
    #: Names of the sdmx1 classes (module.Class) that hold it, most specific first.
    classes: tuple[str, ...] = ()
    #: Item schemes: how items nest ("flat": parent references, "nested": child items);
    #: "collection" for the artefacts REST lets address sub-objects of (hierarchicalcodelist,
    #: valuelist).
    items: Items = None
    #: The item's URN class, for item schemes.
    item_class: str | None = None

    @property
    def item_scheme(self) -> bool:
        return self.items is not None

    def urn(self, agency: str, artefact_id: str, version: str) -> str:
        return f"urn:sdmx:org.sdmx.infomodel.{self.package}.{self.urn_class}={agency}:{artefact_id}({version})"


def _k(*args, **kwargs) -> Kind:
    return Kind(*args, **kwargs)


# In the order SDMX-ML 2.1 wants its containers (StructuresType); kinds that 2.1 cannot express
# follow in SDMX-ML 3.0's order.
KINDS: tuple[Kind, ...] = (
    _k("agencyscheme", "AgencyScheme", "base", ("agencyscheme", "organisationscheme"), "agencyscheme",
       ("AgencyScheme", "OrganisationSchemes"), ("AgencyScheme", "AgencySchemes"), "agencySchemes", "agencySchemes",
       ("common.AgencyScheme",), "flat", "Agency"),
    _k("dataconsumerscheme", "DataConsumerScheme", "base", ("dataconsumerscheme", "organisationscheme"),
       "dataconsumerscheme", ("DataConsumerScheme", "OrganisationSchemes"), ("DataConsumerScheme", "DataConsumerSchemes"),
       "dataConsumerSchemes", "dataConsumerSchemes", ("common.DataConsumerScheme",), "flat", "DataConsumer"),
    _k("dataproviderscheme", "DataProviderScheme", "base", ("dataproviderscheme", "organisationscheme"),
       "dataproviderscheme", ("DataProviderScheme", "OrganisationSchemes"), ("DataProviderScheme", "DataProviderSchemes"),
       "dataProviderSchemes", "dataProviderSchemes", ("common.DataProviderScheme",), "flat", "DataProvider"),
    _k("organisationunitscheme", "OrganisationUnitScheme", "base", ("organisationunitscheme", "organisationscheme"),
       "organisationunitscheme", ("OrganisationUnitScheme", "OrganisationSchemes"),
       ("OrganisationUnitScheme", "OrganisationUnitSchemes"), "organisationUnitSchemes", "organisationUnitSchemes",
       (), "flat", "OrganisationUnit"),
    _k("dataflow", "Dataflow", "datastructure", ("dataflow",), "dataflow", ("Dataflow", "Dataflows"),
       ("Dataflow", "Dataflows"), "dataflows", "dataflows", ("v30.Dataflow", "v21.DataflowDefinition")),
    _k("metadataflow", "Metadataflow", "metadatastructure", ("metadataflow",), "metadataflow",
       ("Metadataflow", "Metadataflows"), ("Metadataflow", "Metadataflows"), "metadataflows", "metadataflows",
       ("v30.Metadataflow", "v21.MetadataflowDefinition")),
    _k("categoryscheme", "CategoryScheme", "categoryscheme", ("categoryscheme",), "categoryscheme",
       ("CategoryScheme", "CategorySchemes"), ("CategoryScheme", "CategorySchemes"), "categorySchemes",
       "categorySchemes", ("common.CategoryScheme",), "nested", "Category"),
    _k("categorisation", "Categorisation", "categoryscheme", ("categorisation",), "categorisation",
       ("Categorisation", "Categorisations"), ("Categorisation", "Categorisations"), "categorisations",
       "categorisations", ("common.Categorisation",)),
    _k("codelist", "Codelist", "codelist", ("codelist",), "codelist", ("Codelist", "Codelists"),
       ("Codelist", "Codelists"), "codelists", "codelists",
       ("common.Codelist", "v30.GeographicCodelist", "v30.GeoGridCodelist"), "flat", "Code"),
    _k("hierarchicalcodelist", "HierarchicalCodelist", "codelist", ("hierarchicalcodelist",), None,
       ("HierarchicalCodelist", "HierarchicalCodelists"), None, None, "hierarchicalCodelists",
       ("v21.HierarchicalCodelist",), "collection", "Hierarchy"),
    _k("conceptscheme", "ConceptScheme", "conceptscheme", ("conceptscheme",), "conceptscheme",
       ("ConceptScheme", "Concepts"), ("ConceptScheme", "ConceptSchemes"), "conceptSchemes", "conceptSchemes",
       ("common.ConceptScheme",), "flat", "Concept"),
    _k("metadatastructure", "MetadataStructure", "metadatastructure", ("metadatastructure",), "metadatastructure",
       ("MetadataStructure", "MetadataStructures"), ("MetadataStructure", "MetadataStructures"),
       "metadataStructures", "metadataStructures",
       ("v30.MetadataStructureDefinition", "v21.MetadataStructureDefinition")),
    _k("datastructure", "DataStructure", "datastructure", ("datastructure",), "datastructure",
       ("DataStructure", "DataStructures"), ("DataStructure", "DataStructures"), "dataStructures", "dataStructures",
       ("v30.DataStructureDefinition", "v21.DataStructureDefinition")),
    _k("structureset", "StructureSet", "mapping", ("structureset",), None, ("StructureSet", "StructureSets"), None,
       None, "structureSets", ("v21.StructureSet",)),
    _k("reportingtaxonomy", "ReportingTaxonomy", "categoryscheme", ("reportingtaxonomy",), "reportingtaxonomy",
       ("ReportingTaxonomy", "ReportingTaxonomies"), ("ReportingTaxonomy", "ReportingTaxonomies"),
       "reportingTaxonomies", "reportingTaxonomies", ("v21.ReportingTaxonomy",), "nested", "ReportingCategory"),
    _k("process", "Process", "process", ("process",), "process", ("Process", "Processes"), ("Process", "Processes"),
       "processes", "processes", ()),
    _k("attachmentconstraint", "AttachmentConstraint", "registry", ("attachmentconstraint",), None,
       ("AttachmentConstraint", "Constraints"), None, None, "attachmentConstraints", ()),
    # REST v1's contentconstraint, actualconstraint and allowedconstraint are one kind with a
    # role; SDMX 3.0 calls it a DataConstraint.
    _k("dataconstraint", "DataConstraint", "registry", ("contentconstraint", "actualconstraint", "allowedconstraint"),
       "dataconstraint", ("ContentConstraint", "Constraints"), ("DataConstraint", "DataConstraints"),
       "dataConstraints", "contentConstraints", ("v30.DataConstraint", "v21.ContentConstraint")),
    _k("provisionagreement", "ProvisionAgreement", "registry", ("provisionagreement",), "provisionagreement",
       ("ProvisionAgreement", "ProvisionAgreements"), ("ProvisionAgreement", "ProvisionAgreements"),
       "provisionAgreements", "provisionAgreements", ("common.ProvisionAgreement",)),
    _k("customtypescheme", "CustomTypeScheme", "transformation", ("customtypescheme",), "customtypescheme",
       ("CustomTypeScheme", "CustomTypes"), ("CustomTypeScheme", "CustomTypeSchemes"), "customTypeSchemes", None,
       ("common.CustomTypeScheme",), "flat", "CustomType"),
    _k("vtlmappingscheme", "VtlMappingScheme", "transformation", ("vtlmappingscheme",), "vtlmappingscheme",
       ("VtlMappingScheme", "VtlMappings"), ("VtlMappingScheme", "VtlMappingSchemes"), "vtlMappingSchemes", None,
       ("common.VTLMappingScheme",), "flat", "VtlMapping"),
    _k("namepersonalisationscheme", "NamePersonalisationScheme", "transformation", ("namepersonalisationscheme",),
       "namepersonalisationscheme", ("NamePersonalisationScheme", "NamePersonalisations"),
       ("NamePersonalisationScheme", "NamePersonalisationSchemes"), "namePersonalisationSchemes", None,
       ("common.NamePersonalisationScheme",), "flat", "NamePersonalisation"),
    _k("rulesetscheme", "RulesetScheme", "transformation", ("rulesetscheme",), "rulesetscheme",
       ("RulesetScheme", "Rulesets"), ("RulesetScheme", "RulesetSchemes"), "rulesetSchemes", None,
       ("common.RulesetScheme",), "flat", "Ruleset"),
    _k("transformationscheme", "TransformationScheme", "transformation", ("transformationscheme",),
       "transformationscheme", ("TransformationScheme", "Transformations"),
       ("TransformationScheme", "TransformationSchemes"), "transformationSchemes", None,
       ("common.TransformationScheme",), "flat", "Transformation"),
    _k("userdefinedoperatorscheme", "UserDefinedOperatorScheme", "transformation", ("userdefinedoperatorscheme",),
       "userdefinedoperatorscheme", ("UserDefinedOperatorScheme", "UserDefinedOperators"),
       ("UserDefinedOperatorScheme", "UserDefinedOperatorSchemes"), "userDefinedOperatorSchemes", None,
       ("common.UserDefinedOperatorScheme",), "flat", "UserDefinedOperator"),
    # SDMX 3.0 only.
    _k("metadataproviderscheme", "MetadataProviderScheme", "base", (), "metadataproviderscheme", None,
       ("MetadataProviderScheme", "MetadataProviderSchemes"), "metadataProviderSchemes", None,
       ("v30.MetadataProviderScheme",), "flat", "MetadataProvider"),
    _k("valuelist", "ValueList", "codelist", (), "valuelist", None, ("ValueList", "ValueLists"), "valueLists", None,
       ("v30.ValueList",), "collection", "ValueItem"),
    _k("hierarchy", "Hierarchy", "codelist", (), "hierarchy", None, ("Hierarchy", "Hierarchies"), "hierarchies",
       None, ("v30.Hierarchy",)),
    _k("hierarchyassociation", "HierarchyAssociation", "codelist", (), "hierarchyassociation", None,
       ("HierarchyAssociation", "HierarchyAssociations"), "hierarchyAssociations", None,
       ("v30.HierarchyAssociation",)),
    _k("metadataconstraint", "MetadataConstraint", "registry", (), "metadataconstraint", None,
       ("MetadataConstraint", "MetadataConstraints"), "metadataConstraints", None, ("v30.MetadataConstraint",)),
    _k("metadataprovisionagreement", "MetadataProvisionAgreement", "registry", (), "metadataprovisionagreement",
       None, ("MetadataProvisionAgreement", "MetadataProvisionAgreements"), "metadataProvisionAgreements", None, ()),
    _k("structuremap", "StructureMap", "structuremapping", (), "structuremap", None,
       ("StructureMap", "StructureMaps"), "structureMaps", None, ()),
    _k("representationmap", "RepresentationMap", "structuremapping", (), "representationmap", None,
       ("RepresentationMap", "RepresentationMaps"), "representationMaps", None, ()),
    _k("conceptschememap", "ConceptSchemeMap", "structuremapping", (), "conceptschememap", None,
       ("ConceptSchemeMap", "ConceptSchemeMaps"), "conceptSchemeMaps", None, ()),
    _k("categoryschememap", "CategorySchemeMap", "structuremapping", (), "categoryschememap", None,
       ("CategorySchemeMap", "CategorySchemeMaps"), "categorySchemeMaps", None, ()),
    _k("organisationschememap", "OrganisationSchemeMap", "structuremapping", (), "organisationschememap", None,
       ("OrganisationSchemeMap", "OrganisationSchemeMaps"), "organisationSchemeMaps", None, ()),
    _k("reportingtaxonomymap", "ReportingTaxonomyMap", "structuremapping", (), "reportingtaxonomymap", None,
       ("ReportingTaxonomyMap", "ReportingTaxonomyMaps"), "reportingTaxonomyMaps", None, ()),
    # Reference metadata: maintainable in SDMX 3.0, served by the metadata API, not /structure.
    _k("metadataset", "MetadataSet", "metadatastructure", (), None, None, None, None, None, ("v30.MetadataSet",)),
)

BY_NAME: dict[str, Kind] = {k.name: k for k in KINDS}
#: REST v1 resource -> the kinds it selects ("organisationscheme" selects four).
BY_V1: dict[str, tuple[Kind, ...]] = {}
for _kind in KINDS:
    for _resource in _kind.v1:
        BY_V1[_resource] = BY_V1.get(_resource, ()) + (_kind,)
BY_V2: dict[str, Kind] = {k.v2: k for k in KINDS if k.v2}
BY_URN_CLASS: dict[str, Kind] = {k.urn_class: k for k in KINDS}
BY_ML21_ELEMENT: dict[str, Kind] = {k.ml21[0]: k for k in KINDS if k.ml21}
BY_ML30_ELEMENT: dict[str, Kind] = {k.ml30[0]: k for k in KINDS if k.ml30}
# SDMX-ML 3.0 keeps geographic codelists in containers of their own; they are codelists.
BY_ML30_ELEMENT["GeographicCodelist"] = BY_NAME["codelist"]
BY_ML30_ELEMENT["GeoGridCodelist"] = BY_NAME["codelist"]
BY_JSON20: dict[str, Kind] = {k.json20: k for k in KINDS if k.json20}
BY_JSON20["geographicCodelists"] = BY_NAME["codelist"]
BY_JSON20["geoGridCodelists"] = BY_NAME["codelist"]
BY_JSON10: dict[str, Kind] = {}
for _kind in KINDS:
    if _kind.json10:
        BY_JSON10.setdefault(_kind.json10, _kind)

#: SDMX-ML 2.1 containers in schema order.
ML21_CONTAINERS: tuple[str, ...] = tuple(dict.fromkeys(k.ml21[1] for k in KINDS if k.ml21))
#: SDMX-ML 3.0 containers. StructuresType is an xs:all, so any order is valid; this one puts
#: each container after those its artefacts refer to (as 2.1's sequence mostly does), because a
#: streaming reader such as sdmx1 loses the names of an artefact it first met as a reference.
ML30_CONTAINERS: tuple[str, ...] = (
    "AgencySchemes", "DataProviderSchemes", "DataConsumerSchemes", "MetadataProviderSchemes",
    "OrganisationUnitSchemes", "Codelists", "GeographicCodelists", "GeoGridCodelists", "ValueLists", "ConceptSchemes",
    "CategorySchemes", "Hierarchies", "MetadataStructures", "DataStructures", "Dataflows", "Metadataflows",
    "ReportingTaxonomies", "HierarchyAssociations", "Categorisations", "ProvisionAgreements",
    "MetadataProvisionAgreements", "DataConstraints", "MetadataConstraints", "Processes", "CustomTypeSchemes",
    "NamePersonalisationSchemes", "VtlMappingSchemes", "RulesetSchemes", "UserDefinedOperatorSchemes",
    "TransformationSchemes", "CategorySchemeMaps", "ConceptSchemeMaps", "OrganisationSchemeMaps",
    "ReportingTaxonomyMaps", "RepresentationMaps", "StructureMaps",
)
assert {k.ml30[1] for k in KINDS if k.ml30} <= set(ML30_CONTAINERS)

#: REST v1 resource names that are not a kind: any kind.
V1_ANY = "structure"
V2_ANY = "*"


def kind(name: str) -> Kind:
    return BY_NAME[name]


@cache
def _classes() -> list[tuple[type, Kind]]:
    """(sdmx1 class, kind), most specific classes first, for kind_of()."""
    import sdmx.model.common as common
    import sdmx.model.v21 as v21
    import sdmx.model.v30 as v30

    modules = {"common": common, "v21": v21, "v30": v30}
    pairs = []
    for k in KINDS:
        for qualified in k.classes:
            module, name = qualified.split(".")
            cls = getattr(modules[module], name, None)
            if cls is not None:
                pairs.append((cls, k))
    # A subclass must be tried before its base (GeographicCodelist before Codelist).
    pairs.sort(key=lambda pair: -len(pair[0].__mro__))
    return pairs


def kind_of(artefact: object) -> Kind:
    """The kind of an sdmx.model object; ValueError for one no kind holds."""
    for cls, k in _classes():
        if isinstance(artefact, cls):
            return k
    name = type(artefact).__name__
    for k in KINDS:  # a class sdmx1 names like the SDMX-ML element (e.g. Process)
        if k.urn_class == name:
            return k
    raise ValueError(f"no artefact kind holds a {type(artefact).__module__}.{name}")

#: The member of an item scheme's SDMX-JSON 2.0 object that lists its items.
JSON_ITEMS: dict[str, str] = {
    "agencyscheme": "agencies",
    "dataconsumerscheme": "dataConsumers",
    "dataproviderscheme": "dataProviders",
    "organisationunitscheme": "organisationUnits",
    "metadataproviderscheme": "metadataProviders",
    "codelist": "codes",
    "conceptscheme": "concepts",
    "categoryscheme": "categories",
    "reportingtaxonomy": "reportingCategories",
    "valuelist": "valueItems",
    "customtypescheme": "customTypes",
    "vtlmappingscheme": "vtlMappings",
    "namepersonalisationscheme": "namePersonalisations",
    "rulesetscheme": "rulesets",
    "transformationscheme": "transformations",
    "userdefinedoperatorscheme": "userDefinedOperators",
}
#: Items nested in items (SDMX-JSON 2.0), by kind.
JSON_NESTED_ITEMS: dict[str, str] = {"categoryscheme": "categories", "reportingtaxonomy": "reportingCategories"}
