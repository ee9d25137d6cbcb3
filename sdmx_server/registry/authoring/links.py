"""Artefacts that link others: dataflows (to their DSD, and to categories by the short form),
categorisations and provision agreements.

The short form `categories: [THEMES.PENSIONS]` on a dataflow makes one categorisation per
category, with a stable id: `{DATAFLOW}@{SCHEME}@{CATEGORY}` (a nested category's path joined
by `@`), the dataflow's agency and version, and a name made of the dataflow's and the
category's names. Writing the same categorisation explicitly under that id is an error.
"""

from __future__ import annotations

from sdmx.model import common, v30

from sdmx_server.registry.authoring import checks
from sdmx_server.registry.authoring.build import Draft, rebuild
from sdmx_server.registry.authoring.references import item_forms, parse_item_ref
from sdmx_server.registry.authoring.resolve import Resolver
from sdmx_server.registry.authoring.targets import resolve_target

ACCESS = ("public", "internal", "restricted")


def read_dataflow(draft: Draft) -> None:
    entry = draft.fields.get("access")
    if entry is None:
        return
    value = checks.text(draft.report, draft.what, "access", entry)
    if value is None:
        return
    if value not in ACCESS:
        draft.report(entry.key_line, f"{draft.what}: access must be public, internal or restricted, not {value!r}")
        return
    draft.access = value


def complete_dataflow(draft: Draft, resolver: Resolver) -> None:
    dsd = resolver.artefact(draft.report, draft.what, "structure", draft.fields.get("structure"), "datastructure", draft.agency)
    if dsd is None:
        resolver.fail(draft.artefact)
    else:
        if isinstance(dsd, v30.DataStructureDefinition) and not isinstance(draft.artefact, v30.Dataflow):
            rebuild(draft, v30.Dataflow)
            if draft.key is not None:
                resolver.index.add("dataflow", draft.key, draft.artefact)
        draft.artefact.structure = dsd
    _categories(draft, resolver)


def _categories(draft: Draft, resolver: Resolver) -> None:
    """The short form: one categorisation per category named."""
    entry = draft.fields.get("categories")
    if entry is None or draft.key is None:
        return
    flow = draft.artefact
    seen: list = []
    for value, line in checks.scalars(draft.report, draft.what, "categories", entry) or []:
        category = resolver.item_text(draft.report, draft.what, "categories", value, line, "categoryscheme", draft.agency)
        if category is None:
            continue
        if any(c is category for c in seen):
            draft.report(line, f"{draft.what}: categories names {value} twice")
            continue
        seen.append(category)
        scheme = category.get_scheme()
        cat_id = "@".join([flow.id, scheme.id, *category.hierarchical_id.split(".")])
        name = common.InternationalString(
            {lang: f"{flow.name.localizations[lang]} → {category.name.localizations[lang]}"
             for lang in flow.name.localizations if lang in category.name.localizations}
        )
        categorisation = common.Categorisation(
            id=cat_id, maintainer=flow.maintainer, version=flow.version, name=name, is_final=flow.is_final,
            is_external_reference=False, category=category, artefact=flow,
        )
        generated = Draft(
            "categorisation", categorisation, (draft.agency, cat_id, str(flow.version)),
            f"categorisation {draft.agency}:{cat_id}({flow.version})", line, draft.fields, draft.report,
        )
        generated.data["generated"] = f"{draft.what}: categories {value} makes {generated.what}"
        resolver.generated.append(generated)


def complete_categorisation(draft: Draft, resolver: Resolver) -> None:
    """An explicit categorisation: a category and any artefact (or item) it categorises."""
    fields, report, what = draft.fields, draft.report, draft.what
    category = resolver.item(report, what, "category", fields.get("category"), "categoryscheme", draft.agency)
    if category is not None:
        draft.artefact.category = category
    entry = fields.get("artefact")
    value = checks.text(report, what, "artefact", entry)
    if value is not None:
        found = resolve_target(resolver, report, what, "artefact", value, entry.key_line, draft.agency)
        if found is not None:
            draft.artefact.artefact = found


def complete_provisionagreement(draft: Draft, resolver: Resolver) -> None:
    """A data provider's agreement to report a dataflow."""
    fields, report, what = draft.fields, draft.report, draft.what
    flow = resolver.artefact(report, what, "dataflow", fields.get("dataflow"), "dataflow", draft.agency)
    if flow is not None:
        draft.artefact.structure_usage = flow
    else:
        resolver.fail(draft.artefact)
    entry = fields.get("provider")
    value = checks.text(report, what, "provider", entry)
    if value is None:
        return
    # a bare id names a provider of the agency's own DATA_PROVIDERS scheme
    text = value if "." in value else f"{draft.agency}:DATA_PROVIDERS.{value}"
    if parse_item_ref(text, draft.agency) is None:
        report(entry.key_line, f"{what}: provider {value!r} is not a valid data provider reference: "
               f"write PD_IR-23, or {item_forms('dataproviderscheme').removeprefix('write ')}")
        return
    provider = resolver.item_text(report, what, "provider", text, entry.key_line, "dataproviderscheme", draft.agency)
    if provider is not None:
        draft.artefact.data_provider = provider
