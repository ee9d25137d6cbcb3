"""The kinds of maintainable artefacts, under their three names.

A kind is named by its SDMX REST resource (`codelist`), written in SDMX-ML 2.1 as an element
(`str:Codelist`) inside a container (`str:Codelists`), and held by sdmx1 in one of the
collections of a StructureMessage (`codelist`). This table is the one place that knows all three.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    resource: str  # REST resource name, also the `kind` column of the artefact table
    element: str  # SDMX-ML 2.1 element local name
    container: str  # SDMX-ML 2.1 container element under mes:Structures
    collection: str  # sdmx1 StructureMessage attribute
    package: str  # URN package
    urn_class: str  # URN class


# In the order the SDMX-ML 2.1 schema wants the containers (StructuresType).
KINDS: tuple[Kind, ...] = (
    Kind("agencyscheme", "AgencyScheme", "OrganisationSchemes", "organisation_scheme", "base", "AgencyScheme"),
    Kind("dataconsumerscheme", "DataConsumerScheme", "OrganisationSchemes", "organisation_scheme", "base", "DataConsumerScheme"),
    Kind("dataproviderscheme", "DataProviderScheme", "OrganisationSchemes", "organisation_scheme", "base", "DataProviderScheme"),
    Kind("organisationunitscheme", "OrganisationUnitScheme", "OrganisationSchemes", "organisation_scheme", "base", "OrganisationUnitScheme"),
    Kind("dataflow", "Dataflow", "Dataflows", "dataflow", "datastructure", "Dataflow"),
    Kind("metadataflow", "Metadataflow", "Metadataflows", "metadataflow", "metadatastructure", "Metadataflow"),
    Kind("categoryscheme", "CategoryScheme", "CategorySchemes", "category_scheme", "categoryscheme", "CategoryScheme"),
    Kind("categorisation", "Categorisation", "Categorisations", "categorisation", "categoryscheme", "Categorisation"),
    Kind("codelist", "Codelist", "Codelists", "codelist", "codelist", "Codelist"),
    Kind("hierarchicalcodelist", "HierarchicalCodelist", "HierarchicalCodelists", "hierarchical_codelist", "codelist", "HierarchicalCodelist"),
    Kind("conceptscheme", "ConceptScheme", "Concepts", "concept_scheme", "conceptscheme", "ConceptScheme"),
    Kind("metadatastructure", "MetadataStructure", "MetadataStructures", "metadatastructure", "metadatastructure", "MetadataStructure"),
    Kind("datastructure", "DataStructure", "DataStructures", "structure", "datastructure", "DataStructure"),
    Kind("structureset", "StructureSet", "StructureSets", "structureset", "mapping", "StructureSet"),
    Kind("reportingtaxonomy", "ReportingTaxonomy", "ReportingTaxonomies", "reporting_taxonomy", "categoryscheme", "ReportingTaxonomy"),
    Kind("process", "Process", "Processes", "process", "process", "Process"),
    Kind("attachmentconstraint", "AttachmentConstraint", "Constraints", "constraint", "registry", "AttachmentConstraint"),
    Kind("contentconstraint", "ContentConstraint", "Constraints", "constraint", "registry", "ContentConstraint"),
    Kind("provisionagreement", "ProvisionAgreement", "ProvisionAgreements", "provisionagreement", "registry", "ProvisionAgreement"),
    Kind("customtypescheme", "CustomTypeScheme", "CustomTypes", "custom_type_scheme", "transformation", "CustomTypeScheme"),
    Kind("vtlmappingscheme", "VtlMappingScheme", "VtlMappings", "vtl_mapping_scheme", "transformation", "VtlMappingScheme"),
    Kind("namepersonalisationscheme", "NamePersonalisationScheme", "NamePersonalisations", "name_personalisation_scheme", "transformation", "NamePersonalisationScheme"),
    Kind("rulesetscheme", "RulesetScheme", "Rulesets", "ruleset_scheme", "transformation", "RulesetScheme"),
    Kind("transformationscheme", "TransformationScheme", "Transformations", "transformation_scheme", "transformation", "TransformationScheme"),
    Kind("userdefinedoperatorscheme", "UserDefinedOperatorScheme", "UserDefinedOperators", "user_defined_operator_scheme", "transformation", "UserDefinedOperatorScheme"),
)

BY_RESOURCE = {k.resource: k for k in KINDS}
BY_ELEMENT = {k.element: k for k in KINDS}
CONTAINER_ORDER = list(dict.fromkeys(k.container for k in KINDS))

#: The resources whose artefacts this server can already write out (SDMX-ML 2.1).
SERVED = ("dataflow", "codelist", "conceptscheme", "datastructure")


def kind_of(artefact) -> Kind:
    """The kind of an sdmx.model object."""
    from sdmx.model import common, v21

    checks = (
        (common.AgencyScheme, "agencyscheme"),
        (common.DataConsumerScheme, "dataconsumerscheme"),
        (common.DataProviderScheme, "dataproviderscheme"),
        (common.BaseDataflow, "dataflow"),
        (common.BaseMetadataflow, "metadataflow"),
        (common.CategoryScheme, "categoryscheme"),
        (common.Categorisation, "categorisation"),
        (common.Codelist, "codelist"),
        (v21.HierarchicalCodelist, "hierarchicalcodelist"),
        (common.ConceptScheme, "conceptscheme"),
        (common.BaseMetadataStructureDefinition, "metadatastructure"),
        (common.BaseDataStructureDefinition, "datastructure"),
        (v21.StructureSet, "structureset"),
        (v21.ContentConstraint, "contentconstraint"),
        (common.ProvisionAgreement, "provisionagreement"),
    )
    for cls, resource in checks:
        if isinstance(artefact, cls):
            return BY_RESOURCE[resource]
    name = type(artefact).__name__
    for k in KINDS:
        if k.element == name:
            return k
    raise ValueError(f"no registry kind for {name}")
