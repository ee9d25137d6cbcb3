"""The authoring forms: for each kind a file may define, its top-level keys, the class it is
built as, its fields, and the steps that read and complete it.

Kinds are named as in `sdmx_server.kinds`; this table only says how authoring writes them.
Adding a kind is adding a row (and the module that reads it). Completion steps run in the
order of their stage, so that what a kind refers to is complete before it is used:

0  codelist extensions found          4  dataflows, metadataflows
1  extension codes checked, concepts   5  provision agreements
2  metadata structures, hierarchies,   6  constraints, categorisations
   structure sets                       7  metadata sets
3  data structures
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sdmx.model import common, v21, v30

from sdmx_server.registry.authoring import constraints, dsd, hierarchies, links, metadata, schemes
from sdmx_server.registry.authoring.build import Draft
from sdmx_server.registry.authoring.resolve import Resolver

Step = tuple[int, Callable[[Draft, Resolver], None]]


@dataclass(frozen=True)
class Form:
    kind: str  # the sdmx_server.kinds name, also the singular top-level key
    plural: str  # the top-level key for a list
    cls: type  # the class an artefact starts as (a kind's reader may change it)
    fields: tuple[str, ...] = ()  # besides those every artefact has
    required: tuple[str, ...] = ()
    read: Callable[[Draft], None] | None = None  # what needs no other artefact
    steps: tuple[Step, ...] = ()
    fixed: tuple[str, str] | None = None  # (id, version) SDMX fixes for the kind


FORMS: tuple[Form, ...] = (
    Form("agencyscheme", "agencyschemes", common.AgencyScheme, ("agencies",), ("agencies",),
         schemes.read_agencyscheme, fixed=("AGENCIES", "1.0")),
    Form("dataproviderscheme", "dataproviderschemes", common.DataProviderScheme, ("data_providers",),
         ("data_providers",), schemes.read_dataproviderscheme, fixed=("DATA_PROVIDERS", "1.0")),
    Form("dataconsumerscheme", "dataconsumerschemes", common.DataConsumerScheme, ("data_consumers",),
         ("data_consumers",), schemes.read_dataconsumerscheme, fixed=("DATA_CONSUMERS", "1.0")),
    Form("codelist", "codelists", common.Codelist, ("codes", "extends"), ("codes",), schemes.read_codelist,
         ((0, schemes.resolve_extensions), (1, schemes.check_extensions))),
    Form("valuelist", "valuelists", v30.ValueList, ("values",), ("values",), schemes.read_valuelist),
    Form("conceptscheme", "conceptschemes", common.ConceptScheme, ("concepts",), ("concepts",),
         schemes.read_conceptscheme, ((1, schemes.complete_conceptscheme),)),
    Form("categoryscheme", "categoryschemes", common.CategoryScheme, ("categories",), ("categories",),
         schemes.read_categoryscheme),
    Form("metadatastructure", "metadatastructures", v30.MetadataStructureDefinition, ("concepts", "attributes"),
         ("attributes",), steps=((2, metadata.complete_metadatastructure),)),
    Form("hierarchy", "hierarchies", v30.Hierarchy, ("codelist", "levels", "codes"), ("codes",),
         steps=((2, hierarchies.complete_hierarchy),)),
    Form("hierarchicalcodelist", "hierarchicalcodelists", v21.HierarchicalCodelist, ("hierarchies",),
         ("hierarchies",), steps=((2, hierarchies.complete_hierarchicalcodelist),)),
    Form("structureset", "structuresets", v21.StructureSet, ("codelist_maps",), ("codelist_maps",),
         steps=((2, hierarchies.complete_structureset),)),
    Form("datastructure", "datastructures", v21.DataStructureDefinition,
         ("concepts", "dimensions", "groups", "time_dimension", "measure", "measures", "attributes", "metadata"),
         ("dimensions",), dsd.read_datastructure, ((3, dsd.complete_datastructure),)),
    Form("dataflow", "dataflows", v21.DataflowDefinition, ("structure", "access", "categories"), ("structure",),
         links.read_dataflow, ((4, links.complete_dataflow),)),
    Form("metadataflow", "metadataflows", v30.Metadataflow, ("structure", "targets"), ("structure", "targets"),
         steps=((4, metadata.complete_metadataflow),)),
    Form("provisionagreement", "provisionagreements", common.ProvisionAgreement, ("dataflow", "provider"),
         ("dataflow", "provider"), steps=((5, links.complete_provisionagreement),)),
    Form("dataconstraint", "dataconstraints", v30.DataConstraint,
         ("role", *(name for name, _ in constraints.ATTACHMENTS), "include", "exclude", "keys", "exclude_keys"),
         ("role",), constraints.read_dataconstraint, ((6, constraints.complete_dataconstraint),)),
    Form("categorisation", "categorisations", common.Categorisation, ("category", "artefact"), ("category", "artefact"),
         steps=((6, links.complete_categorisation),)),
    Form("metadataset", "metadatasets", v30.MetadataSet, ("metadataflow", "targets", "attributes"),
         ("metadataflow", "targets", "attributes"), steps=((7, metadata.complete_metadataset),)),
)

BY_KIND: dict[str, Form] = {f.kind: f for f in FORMS}
#: top-level key -> (form, holds a list)
TOP_KEYS: dict[str, tuple[Form, bool]] = {f.kind: (f, False) for f in FORMS} | {f.plural: (f, True) for f in FORMS}
