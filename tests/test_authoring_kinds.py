"""Authoring of every structure kind beyond codelists, concept schemes, DSDs and dataflows
(docs/authoring.md): each reads into the sdmx.model objects sdmx1's readers build, checked
field by field, and each rule of `sdmx-server check` fails with its `file:line: message`."""

from __future__ import annotations

import textwrap
from datetime import date, datetime
from pathlib import Path

import pytest
from sdmx.model import common, v21, v30
from sdmx.model.common import ConstraintRoleType, FacetValueType, UsageStatus

from sdmx_server.registry.authoring import AuthoringResult, read_authoring

# --- a correct set using every kind ---------------------------------------------------------------

LISTS = """
codelists:
  - id: CL_FREQ
    agency: SSO
    version: "1.0"
    name: {fa: تناوب, en: Frequency}
    codes:
      - {id: A, name: {fa: سالانه, en: Annual}}
      - {id: M, name: {fa: ماهانه, en: Monthly}}
      - {id: Q, name: {fa: فصلی, en: Quarterly}}
  - id: CL_AREA
    agency: SSO
    version: "1.0"
    name: {fa: منطقه, en: Area}
    codes:
      - {id: IR, name: {fa: ایران, en: Iran}}
      - {id: IR-23, parent: IR, name: {fa: تهران, en: Tehran}}
      - {id: IR-10, parent: IR, name: {fa: اصفهان, en: Isfahan}}
  - id: CL_REGION
    agency: SSO
    version: "1.0"
    name: {fa: ناحیه, en: Region}
    codes:
      - {id: R1, name: {fa: ناحیه ۱, en: Region 1}}
      - {id: R2, name: {fa: ناحیه ۲, en: Region 2}}
  - id: CL_AREA_EXT
    agency: SSO
    version: "1.0"
    name: {fa: منطقه گسترده, en: Extended area}
    codes:
      - {id: W, name: {fa: جهان, en: World}}
    extends:
      - codelist: CL_AREA
        exclude: [IR-10]
      - codelist: CL_REGION
        prefix: REG_
      - SSO:CL_FREQ(1.0)
  - id: CL_UNIT
    agency: SSO
    version: "1.0"
    name: {fa: واحد, en: Unit}
    codes:
      - {id: PERSONS, name: {fa: نفر, en: Persons}}
      - {id: IRR, name: {fa: ریال, en: Rial}}
valuelist:
  id: VL_CURRENCY
  agency: SSO
  version: "1.0"
  name: {fa: نماد ارز, en: Currency symbols}
  values:
    - id: "﷼"
      name: {fa: ریال, en: Rial}
      description: {fa: ریال ایران, en: Iranian rial}
    - id: "$"
      annotations:
        - {type: NOTE, value: plain, text: {en: no name needed}}
"""

ORGANISATIONS = """
agencyscheme:
  agency: SDMX
  name: {fa: کارگزاری‌ها, en: Agencies}
  agencies:
    - id: SDMX
      name: {fa: اس‌دی‌ام‌ایکس, en: SDMX}
    - id: SSO
      name: {fa: سازمان تأمین اجتماعی, en: Social Security Organization}
      contacts:
        - name: {fa: دفتر آمار, en: Statistics office}
          department: {fa: معاونت اقتصادی, en: Economic deputy}
          role: {fa: نگهداری, en: Maintenance}
          email: [stat@example.org, sdmx@example.org]
          telephone: "+98 21 0000"
          uri: https://example.org/statistics
dataproviderscheme:
  agency: SSO
  name: {fa: تأمین‌کنندگان داده, en: Data providers}
  data_providers:
    - id: PD_TEHRAN
      name: {fa: اداره کل تهران, en: Tehran directorate}
dataconsumerscheme:
  id: DATA_CONSUMERS
  agency: SSO
  version: "1.0"
  name: {fa: کاربران, en: Data consumers}
  data_consumers:
    - id: SCI
      name: {fa: مرکز آمار ایران, en: Statistical Centre of Iran}
      contacts:
        - {uri: https://www.amar.org.ir}
"""

STRUCTURES = """
conceptscheme:
  id: CS
  agency: SSO
  version: "1.0"
  name: {fa: مفاهیم, en: Concepts}
  concepts:
    - {id: FREQ, name: {fa: تناوب, en: Frequency}, codelist: CL_FREQ}
    - {id: AREA, name: {fa: منطقه, en: Area}, codelist: CL_AREA, iso_concept: {agency: ISO, scheme: ISO3166, id: COUNTRY}}
    - {id: TIME_PERIOD, name: {fa: زمان, en: Time}}
    - {id: OBS_VALUE, name: {fa: مقدار, en: Value}, text_format: {type: Double}}
    - {id: COUNT, name: {fa: شمار, en: Count}, text_format: {type: Integer}}
    - {id: AMOUNT, name: {fa: مبلغ, en: Amount}, text_format: {type: Double}}
    - {id: UNIT, name: {fa: واحد, en: Unit}, codelist: CL_UNIT}
    - {id: CURRENCY, name: {fa: ارز, en: Currency}, valuelist: VL_CURRENCY}
    - {id: DEFINITION, name: {fa: تعریف, en: Definition}}
    - {id: FORMULA, name: {fa: فرمول, en: Formula}}
    - {id: SIZE, name: {fa: اندازه, en: Size}}
    - {id: COUNTING, name: {fa: قواعد شمارش, en: Counting rules}}
    - {id: INCLUDED, name: {fa: شامل, en: Included}}
    - {id: EXCLUDED, name: {fa: مستثنا, en: Excluded}}
categoryscheme:
  id: THEMES
  agency: SSO
  version: "1.0"
  name: {fa: موضوع‌ها, en: Themes}
  categories:
    - id: COVERAGE
      name: {fa: پوشش, en: Coverage}
      categories:
        - id: INSURED
          name: {fa: بیمه‌شدگان, en: Insured persons}
          annotations: [{type: ORDER, title: "1"}]
    - id: PENSIONS
      name: {fa: مستمری‌ها, en: Pensions}
datastructures:
  - id: DSD_A
    agency: SSO
    version: "1.0"
    name: {fa: الف, en: A}
    concepts: CS
    dimensions:
      - id: FREQ
      - id: AREA
    groups:
      - id: SIBLING
        dimensions: [AREA]
        annotations: [{type: NOTE, text: {en: one group}}]
    time_dimension: TIME_PERIOD
    measure: {id: OBS_VALUE}
    attributes:
      - id: UNIT
        usage: mandatory
        attached_to: {group: SIBLING}
      - id: COUNT
        usage: optional
        attached_to: {group: SIBLING, dimensions: [AREA]}
  - id: DSD_B
    agency: SSO
    version: "1.0"
    name: {fa: ب, en: B}
    concepts: CS
    metadata: MSD_DEF
    dimensions:
      - id: FREQ
      - id: AREA
        codelist: CL_AREA_EXT
    time_dimension: TIME_PERIOD
    measures:
      - id: COUNT
        usage: mandatory
      - id: AMOUNT
    attributes:
      - id: UNIT
        attached_to: observation
        measures: [AMOUNT]
      - id: CURRENCY
        attached_to: dataflow
dataflows:
  - id: DF_A
    agency: SSO
    version: "1.0"
    name: {fa: جریان الف, en: Flow A}
    structure: DSD_A
    categories: [THEMES.INSURED, THEMES.PENSIONS]
  - id: DF_B
    agency: SSO
    version: "1.0"
    name: {fa: جریان ب, en: Flow B}
    structure: DSD_B
    access: restricted
categorisation:
  id: CAT_B
  agency: SSO
  version: "1.0"
  name: {fa: دسته ب, en: Category of B}
  category: SSO:THEMES(1.0).COVERAGE
  artefact: urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=SSO:DF_B(1.0)
provisionagreement:
  id: PA_TEHRAN_A
  agency: SSO
  version: "1.0"
  name: {fa: تهران الف, en: Tehran A}
  dataflow: DF_A
  provider: PD_TEHRAN
"""

CONSTRAINTS = """
dataconstraints:
  - id: CR_A
    agency: SSO
    version: "1.0"
    name: {fa: قید الف, en: Constraint A}
    description: {fa: مجاز, en: Allowed}
    role: allowed
    dataflows: DF_A
    valid_from: 2024-01-01
    include:
      FREQ: [A, M]
      AREA: [IR-23]
      UNIT: PERSONS
      TIME_PERIOD: {start: 2015, end: 2030-12}
    exclude:
      AREA: [IR-10]
  - id: CR_PA
    agency: SSO
    version: "1.0"
    name: {fa: قید تهران, en: Tehran}
    role: actual
    provision_agreements: [PA_TEHRAN_A]
    keys:
      - {FREQ: M, AREA: IR-23}
      - {FREQ: A, AREA: IR-23, valid_from: 2020-01-01}
  - id: CR_DSD
    agency: SSO
    version: "1.0"
    name: {fa: قید ساختار, en: Structure constraint}
    role: allowed
    datastructures: [DSD_A, DSD_B]
    include:
      TIME_PERIOD: {end: 2030-12-31}
    exclude_keys:
      - {FREQ: Q, AREA: IR}
"""

HIERARCHIES = """
hierarchy:
  id: H_AREA
  agency: SSO
  version: "1.0"
  name: {fa: سلسله, en: Hierarchy}
  codelist: CL_AREA
  levels:
    - {id: COUNTRY, name: {fa: کشور, en: Country}}
    - {id: REGION, name: {fa: ناحیه, en: Region}, format: {type: AlphaNumeric, max_length: 2}}
    - {id: PROVINCE, name: {fa: استان, en: Province}}
  codes:
    - code: IR
      codes:
        - code: CL_REGION.R1
          codes: [IR-23]
        - code: CL_REGION.R2
          valid_from: 2014-06-01
          codes:
            - {code: IR-10, id: ISFAHAN, annotations: [{type: NOTE, text: {en: renamed}}]}
hierarchicalcodelist:
  id: HCL_AREA
  agency: SSO
  version: "1.0"
  name: {fa: سلسله, en: Hierarchical codelist}
  hierarchies:
    - id: REGIONS
      name: {fa: نواحی, en: Regions}
      description: {fa: نواحی کشور, en: Regions of the country}
      codes:
        - code: CL_REGION.R1
          codes: [CL_AREA.IR-23]
    - id: FLAT
      name: {fa: تخت, en: Flat}
      codelist: CL_AREA
      codes: [IR, IR-23]
structureset:
  id: SS_AREA
  agency: SSO
  version: "1.0"
  name: {fa: نگاشت, en: Map}
  codelist_maps:
    - id: AREA_REGION
      name: {fa: استان به ناحیه, en: Province to region}
      source: CL_AREA
      target: CL_REGION
      codes: {IR-23: R1, IR-10: [R2, R1]}
"""

METADATA = """
metadatastructure:
  id: MSD_DEF
  agency: SSO
  version: "1.0"
  name: {fa: تعریف, en: Definitions}
  concepts: CS
  attributes:
    - id: DEFINITION
      text_format: {type: String}
    - id: FORMULA
      text_format: {type: XHTML}
      min_occurs: 0
    - id: UNIT
      min_occurs: 0
      max_occurs: unbounded
    - id: SIZE
      text_format: {type: Integer}
      min_occurs: 0
    - id: COUNTING
      presentational: true
      min_occurs: 0
      max_occurs: 2
      attributes:
        - id: INCLUDED
          text_format: {type: String}
        - id: EXCLUDED
          text_format: {type: String}
          min_occurs: 0
metadataflow:
  id: MDF_DEF
  agency: SSO
  version: "1.0"
  name: {fa: تعریف‌ها, en: Definitions}
  structure: MSD_DEF
  targets: [Code=CL_AREA.*, "urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=*:*(*)"]
metadatasets:
  - id: MDS_TEHRAN
    agency: SSO
    version: "1.0"
    name: {fa: تعریف تهران, en: Definition of Tehran}
    metadataflow: MDF_DEF
    targets: [Code=CL_AREA.IR-23, Dataflow=DF_A]
    attributes:
      DEFINITION: {fa: استان تهران, en: Tehran province}
      FORMULA: {fa: "<p>الف</p>", en: "<p>a <b>b</b></p>"}
      UNIT: [PERSONS, IRR]
      SIZE: 31
      COUNTING:
        INCLUDED: {fa: همه, en: All}
  - id: MDS_ISFAHAN
    agency: SSO
    version: "1.0"
    name: {fa: تعریف اصفهان, en: Definition of Isfahan}
    metadataflow: MDF_DEF
    targets: [Code=CL_AREA.IR-10]
    attributes:
      DEFINITION: {fa: استان اصفهان, en: Isfahan province}
"""

FILES = {
    "codelists/lists.yaml": LISTS,
    "dsd/organisations.yaml": ORGANISATIONS,
    "dsd/structures.yaml": STRUCTURES,
    "dsd/constraints.yaml": CONSTRAINTS,
    "dsd/hierarchies.yaml": HIERARCHIES,
    "dsd/metadata.yaml": METADATA,
}


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def read(files: dict[str, str]) -> AuthoringResult:
        write(tmp_path, FILES | files)
        return read_authoring([Path("dsd"), Path("codelists")])

    return read


@pytest.fixture
def model(tree):
    result = tree({})
    assert [str(e) for e in result.errors] == []
    return {(type(a).__name__, a.id): a for a in result.artefacts}, result


def localized(text) -> dict:
    return dict(text.localizations)


# --- the model, kind by kind ------------------------------------------------------------------------


def test_kinds_and_order(model):
    _, result = model
    assert [(type(a), a.id) for a in result.artefacts] == [
        (common.AgencyScheme, "AGENCIES"),
        (common.DataProviderScheme, "DATA_PROVIDERS"),
        (common.DataConsumerScheme, "DATA_CONSUMERS"),
        *[(common.Codelist, i) for i in ("CL_FREQ", "CL_AREA", "CL_REGION", "CL_AREA_EXT", "CL_UNIT")],
        (v30.ValueList, "VL_CURRENCY"),
        (common.ConceptScheme, "CS"),
        (common.CategoryScheme, "THEMES"),
        (v30.MetadataStructureDefinition, "MSD_DEF"),
        (v30.Hierarchy, "H_AREA"),
        (v21.HierarchicalCodelist, "HCL_AREA"),
        (v21.StructureSet, "SS_AREA"),
        (v21.DataStructureDefinition, "DSD_A"),
        (v30.DataStructureDefinition, "DSD_B"),
        (v21.DataflowDefinition, "DF_A"),
        (v30.Dataflow, "DF_B"),
        (v30.Metadataflow, "MDF_DEF"),
        (common.ProvisionAgreement, "PA_TEHRAN_A"),
        (v30.DataConstraint, "CR_A"),
        (v30.DataConstraint, "CR_PA"),
        (v30.DataConstraint, "CR_DSD"),
        (common.Categorisation, "CAT_B"),
        (common.Categorisation, "DF_A@THEMES@COVERAGE@INSURED"),
        (common.Categorisation, "DF_A@THEMES@PENSIONS"),
        (v30.MetadataSet, "MDS_TEHRAN"),
        (v30.MetadataSet, "MDS_ISFAHAN"),
    ]
    assert all(a.maintainer.id == ("SDMX" if a.id == "AGENCIES" else "SSO") for a in result.artefacts)
    assert all(a.is_final is False and a.is_external_reference is False for a in result.artefacts)
    assert result.access == {("SSO", "DF_A", "1.0"): "public", ("SSO", "DF_B", "1.0"): "restricted"}


def test_organisation_schemes(model):
    a, _ = model
    agencies = a["AgencyScheme", "AGENCIES"]
    assert (agencies.version, agencies.maintainer.id) == ("1.0", "SDMX")  # fixed by SDMX, not written
    assert list(agencies.items) == ["SDMX", "SSO"]
    sso = agencies["SSO"]
    assert type(sso) is common.Agency and localized(sso.name)["en"] == "Social Security Organization"
    (contact,) = sso.contact
    assert localized(contact.name) == {"fa": "دفتر آمار", "en": "Statistics office"}
    assert localized(contact.org_unit) == {"fa": "معاونت اقتصادی", "en": "Economic deputy"}
    assert localized(contact.responsibility) == {"fa": "نگهداری", "en": "Maintenance"}
    assert contact.email == ["stat@example.org", "sdmx@example.org"]
    assert contact.telephone == "+98 21 0000"
    assert contact.uri == ["https://example.org/statistics"] and contact.fax == [] and contact.x400 == []
    assert agencies["SDMX"].contact == []

    providers = a["DataProviderScheme", "DATA_PROVIDERS"]
    assert providers.version == "1.0" and type(providers["PD_TEHRAN"]) is common.DataProvider
    consumers = a["DataConsumerScheme", "DATA_CONSUMERS"]
    (sci,) = consumers.items.values()
    assert type(sci) is common.DataConsumer and sci.contact[0].uri == ["https://www.amar.org.ir"]
    assert sci.parent is consumers


def test_codelist_extensions_and_value_lists(model):
    a, _ = model
    ext = a["Codelist", "CL_AREA_EXT"]
    assert list(ext.items) == ["W"]  # its own codes; extended ones stay in their codelists
    first, second, third = ext.extends
    assert all(type(e) is v30.CodelistExtension for e in ext.extends)
    assert first.extends is a["Codelist", "CL_AREA"] and first.prefix is None
    assert type(first.selection) is v30.ExclusiveCodeSelection
    assert [type(mv) for mv in first.selection.mv] == [v30.MemberValue] and first.selection.mv[0].value == "IR-10"
    assert second.extends is a["Codelist", "CL_REGION"] and second.prefix == "REG_" and second.selection is None
    assert third.extends is a["Codelist", "CL_FREQ"] and third.selection is None
    assert not hasattr(a["Codelist", "CL_AREA"], "extends")

    from sdmx_server.registry.authoring.schemes import effective_codes

    codes = effective_codes(ext)
    assert list(codes) == ["W", "IR", "IR-23", "REG_R1", "REG_R2", "A", "M", "Q"]
    assert codes["REG_R1"] is a["Codelist", "CL_REGION"]["R1"]

    values = a["ValueList", "VL_CURRENCY"]
    assert [type(v) for v in values.items] == [v30.ValueItem] * 2
    rial, dollar = values.items
    assert rial.id == "﷼" and localized(rial.name) == {"fa": "ریال", "en": "Rial"}
    assert localized(rial.description) == {"fa": "ریال ایران", "en": "Iranian rial"}
    assert dollar.id == "$" and localized(dollar.name) == {}
    (note,) = dollar.annotations
    assert type(note) is v30.Annotation and (note.type, note.value) == ("NOTE", "plain")
    assert localized(note.text) == {"en": "no name needed"}


def test_concepts_and_categories(model):
    a, _ = model
    cs = a["ConceptScheme", "CS"]
    iso = cs["AREA"].iso_concept
    assert type(iso) is common.ISOConceptReference and (iso.agency, iso.scheme_id, iso.id) == ("ISO", "ISO3166", "COUNTRY")
    assert cs["CURRENCY"].core_representation.enumerated is a["ValueList", "VL_CURRENCY"]

    themes = a["CategoryScheme", "THEMES"]
    assert list(themes.items) == ["COVERAGE", "INSURED", "PENSIONS"]
    coverage, insured, pensions = themes.items.values()
    assert all(type(c) is common.Category for c in (coverage, insured, pensions))
    assert insured.parent is coverage and coverage.child == [insured] and coverage.parent is themes
    assert pensions.parent is themes and insured.hierarchical_id == "COVERAGE.INSURED"
    assert [(x.type, x.title) for x in insured.annotations] == [("ORDER", "1")]


def test_data_structure_groups_usage_and_sdmx21_relationships(model):
    a, _ = model
    dsd = a["DataStructureDefinition", "DSD_A"]
    assert type(dsd) is v21.DataStructureDefinition
    group = dsd.group_dimensions["SIBLING"]
    assert type(group) is common.GroupDimensionDescriptor
    assert group.components == [dsd.dimensions.get("AREA")] and group.annotations[0].type == "NOTE"
    unit, count = dsd.attributes.components
    assert unit.usage_status is UsageStatus.mandatory
    assert type(unit.related_to) is common.GroupRelationship and unit.related_to.group_key is group
    assert count.usage_status is UsageStatus.conditional  # "optional" in SDMX 3.0 words
    assert type(count.related_to) is common.DimensionRelationship
    assert count.related_to.dimensions == [dsd.dimensions.get("AREA")] and count.related_to.group_key is group
    (measure,) = dsd.measures.components
    assert type(measure) is v21.PrimaryMeasure


def test_data_structure_sdmx30(model):
    a, _ = model
    dsd = a["DataStructureDefinition", "DSD_B"]
    assert type(dsd) is v30.DataStructureDefinition
    assert dsd.metadata is a["MetadataStructureDefinition", "MSD_DEF"]
    count, amount = dsd.measures.components
    assert [type(m) for m in (count, amount)] == [v30.Measure] * 2 and type(dsd.measures) is v30.MeasureDescriptor
    assert count.usage_status is UsageStatus.mandatory and not hasattr(amount, "usage_status")
    assert count.local_representation.non_enumerated[0].value_type is FacetValueType.integer
    unit, currency = dsd.attributes.components
    assert type(unit.related_to) is v30.ObservationRelationship and unit.measure_relationship == [amount]
    assert type(currency.related_to) is v30.DataflowRelationship and not hasattr(currency, "measure_relationship")
    assert currency.local_representation.enumerated is a["ValueList", "VL_CURRENCY"]
    assert dsd.dimensions.get("AREA").local_representation.enumerated is a["Codelist", "CL_AREA_EXT"]


def test_dataflows_categorisations_and_provision(model):
    a, _ = model
    flow_a, flow_b = a["DataflowDefinition", "DF_A"], a["Dataflow", "DF_B"]
    assert flow_b.structure is a["DataStructureDefinition", "DSD_B"]
    themes = a["CategoryScheme", "THEMES"]
    explicit = a["Categorisation", "CAT_B"]
    assert explicit.category is themes["COVERAGE"] and explicit.artefact is flow_b
    made = a["Categorisation", "DF_A@THEMES@COVERAGE@INSURED"]
    assert made.category is themes["INSURED"] and made.artefact is flow_a
    assert (made.version, made.maintainer.id) == ("1.0", "SSO")
    assert localized(made.name) == {"fa": "جریان الف → بیمه‌شدگان", "en": "Flow A → Insured persons"}
    assert a["Categorisation", "DF_A@THEMES@PENSIONS"].category is themes["PENSIONS"]

    pa = a["ProvisionAgreement", "PA_TEHRAN_A"]
    assert pa.structure_usage is flow_a
    assert pa.data_provider is a["DataProviderScheme", "DATA_PROVIDERS"]["PD_TEHRAN"]


def test_constraints(model):
    a, _ = model
    dsd_a, dsd_b = a["DataStructureDefinition", "DSD_A"], a["DataStructureDefinition", "DSD_B"]
    allowed = a["DataConstraint", "CR_A"]
    assert allowed.role.role is ConstraintRoleType.allowable
    assert allowed.content == {a["DataflowDefinition", "DF_A"]} and allowed.data_content_keys is None
    assert allowed.valid_from == date(2024, 1, 1) and localized(allowed.description) == {"fa": "مجاز", "en": "Allowed"}
    include, exclude = allowed.data_content_region
    assert (include.included, exclude.included) == (True, False)
    freq, area, unit, time = include.member.values()
    assert list(include.member) == [dsd_a.dimensions.get(i) for i in ("FREQ", "AREA")] + [
        dsd_a.attributes.get("UNIT"), dsd_a.dimensions.get("TIME_PERIOD")]
    assert all(type(ms) is v30.MemberSelection and ms.included for ms in (freq, area, unit, time))
    assert [v.value for v in freq.values] == ["A", "M"] and [type(v) for v in freq.values] == [v30.MemberValue] * 2
    assert [v.value for v in area.values] == ["IR-23"] and [v.value for v in unit.values] == ["PERSONS"]
    (period,) = time.values
    assert type(period) is v21.RangePeriod  # as sdmx1's SDMX-ML 3.0 reader makes it
    assert (period.start.period, period.start.is_inclusive) == (datetime(2015, 1, 1), True)
    assert (period.end.period, period.end.is_inclusive) == (datetime(2030, 12, 1), True)
    assert [v.value for v in exclude.member[dsd_a.dimensions.get("AREA")].values] == ["IR-10"]

    actual = a["DataConstraint", "CR_PA"]
    assert actual.role.role is ConstraintRoleType.actual
    assert actual.content == {a["ProvisionAgreement", "PA_TEHRAN_A"]} and actual.data_content_region == []
    keys = actual.data_content_keys
    assert type(keys) is v30.DataKeySet and keys.included is True
    first, second = keys.keys
    assert [type(k) for k in keys.keys] == [v30.DataKey] * 2 and first.included is True
    assert {d.id: v.value for d, v in first.key_value.items()} == {"FREQ": "M", "AREA": "IR-23"}
    assert all(type(v) is common.ComponentValue and v.value_for is d for d, v in first.key_value.items())
    assert (first.valid_from, second.valid_from) == (None, "2020-01-01")

    on_structures = a["DataConstraint", "CR_DSD"]
    assert on_structures.content == {dsd_a, dsd_b}
    (region,) = on_structures.data_content_region
    (period,) = region.member[dsd_a.dimensions.get("TIME_PERIOD")].values
    assert type(period) is v30.BeforePeriod and (period.period, period.is_inclusive) == (datetime(2030, 12, 31), True)
    assert on_structures.data_content_keys.included is False


def test_hierarchy_hcl_and_structure_set(model):
    a, _ = model
    area, region = a["Codelist", "CL_AREA"], a["Codelist", "CL_REGION"]
    h = a["Hierarchy", "H_AREA"]
    assert h.has_formal_levels is True
    country = h.level
    assert [country.id, country.child.id, country.child.child.id] == ["COUNTRY", "REGION", "PROVINCE"]
    assert localized(country.name) == {"fa": "کشور", "en": "Country"} and country.child.child.child is None
    facet = country.child.code_format.coding_format
    assert (facet.value_type, facet.type.max_length) == (FacetValueType.alphaNumeric, 2)
    (top,) = h.codes.values()
    assert list(h.codes) == ["IR"] and top.code is area["IR"] and top.level is country
    r1, r2 = top.child
    assert (r1.id, r1.code, r1.level) == ("R1", region["R1"], country.child)
    assert r2.valid_from == date(2014, 6, 1) and r1.valid_from is None
    (tehran,) = r1.child
    assert (tehran.id, tehran.code, tehran.level.id, tehran.child) == ("IR-23", area["IR-23"], "PROVINCE", [])
    (isfahan,) = r2.child
    assert (isfahan.id, isfahan.code) == ("ISFAHAN", area["IR-10"]) and isfahan.annotations[0].type == "NOTE"

    hcl = a["HierarchicalCodelist", "HCL_AREA"]
    regions, flat = hcl.hierarchy
    assert type(regions) is v21.Hierarchy and regions.has_formal_levels is False and regions.level is None
    assert localized(regions.description)["en"] == "Regions of the country"
    assert list(regions.codes) == ["R1"] and regions.codes["R1"].child[0].code is area["IR-23"]
    assert list(flat.codes) == ["IR", "IR-23"] and flat.codes["IR-23"].code is area["IR-23"]

    (cl_map,) = a["StructureSet", "SS_AREA"].item_scheme_map
    assert type(cl_map) is v21.CodelistMap and (cl_map.id, cl_map.source, cl_map.target) == ("AREA_REGION", area, region)
    assert [(type(m), m.source.id, m.target.id) for m in cl_map.item_association] == [
        (v21.CodeMap, "IR-23", "R1"), (v21.CodeMap, "IR-10", "R2"), (v21.CodeMap, "IR-10", "R1")]
    assert all(m.source is area[m.source.id] and m.target is region[m.target.id] for m in cl_map.item_association)


def test_reference_metadata(model):
    a, _ = model
    cs = a["ConceptScheme", "CS"]
    msd = a["MetadataStructureDefinition", "MSD_DEF"]
    assert type(msd.attributes) is v30.MetadataAttributeDescriptor
    definition, formula, unit, size, counting = msd.attributes.components
    assert all(type(x) is common.MetadataAttribute for x in (definition, formula, unit, size, counting))
    assert definition.concept_identity is cs["DEFINITION"] and definition.min_occurs is None
    assert definition.local_representation.non_enumerated[0].value_type is FacetValueType.string
    assert formula.local_representation.non_enumerated[0].value_type is common.ExtendedFacetValueType.Xhtml
    assert (formula.min_occurs, formula.max_occurs) == (0, None)
    assert unit.local_representation.enumerated is a["Codelist", "CL_UNIT"] and unit.max_occurs == "unbounded"
    assert counting.is_presentational is True and counting.local_representation is None
    assert (counting.min_occurs, counting.max_occurs) == (0, 2)
    included, excluded = counting.child
    assert (included.id, excluded.id, included.parent, excluded.min_occurs) == ("INCLUDED", "EXCLUDED", None, 0)

    flow = a["Metadataflow", "MDF_DEF"]
    assert flow.structure is msd
    assert flow.targets == [
        "urn:sdmx:org.sdmx.infomodel.codelist.Code=SSO:CL_AREA(*).*",
        "urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=*:*(*)",
    ]

    tehran = a["MetadataSet", "MDS_TEHRAN"]
    assert tehran.described_by is flow and tehran.structured_by is msd.attributes
    assert tehran.attaches_to == [a["Codelist", "CL_AREA"]["IR-23"], a["DataflowDefinition", "DF_A"]]
    values = tehran.metadata
    assert [(type(v), v.value_for) for v in values] == [
        (v30.TextAttributeValue, definition), (v30.XHTMLAttributeValue, formula),
        (v30.CodedMetadataAttributeValue, unit), (v30.CodedMetadataAttributeValue, unit),
        (v30.OtherUncodedAttributeValue, size), (v30.MetadataAttributeValue, counting),
    ]
    assert localized(values[0].text) == {"fa": "استان تهران", "en": "Tehran province"}
    assert values[1].value == {"fa": "<p>الف</p>", "en": "<p>a <b>b</b></p>"}
    assert [values[2].value_of, values[3].value_of] == [a["Codelist", "CL_UNIT"]["PERSONS"], a["Codelist", "CL_UNIT"]["IRR"]]
    assert values[4].value == "31"
    (child,) = values[5].child
    assert type(child) is v30.TextAttributeValue and child.value_for is included
    assert all(v.child == [] for v in values[:5]) and child.child == []
    isfahan = a["MetadataSet", "MDS_ISFAHAN"]
    assert [v.value_for.id for v in isfahan.metadata] == ["DEFINITION"]  # the rest is optional


# --- every rule of check for these kinds, located ------------------------------------------------


def line_of(text: str, needle: str | tuple[str, int], occurrence: int = 1) -> int:
    """The line of the n-th line holding `needle`; (needle, offset) for a line near it."""
    if isinstance(needle, tuple):
        return line_of(text, needle[0], occurrence) + needle[1]
    lines = textwrap.dedent(text).lstrip("\n").splitlines()
    hits = [i + 1 for i, line in enumerate(lines) if needle in line]
    assert len(hits) >= occurrence, f"{needle!r} not in the text"
    return hits[occurrence - 1]


NAMES = {"lists": "codelists/lists.yaml", "orgs": "dsd/organisations.yaml", "structures": "dsd/structures.yaml",
         "constraints": "dsd/constraints.yaml", "hierarchies": "dsd/hierarchies.yaml", "metadata": "dsd/metadata.yaml"}


def edited(file: str, old: str, new: str) -> str:
    return FILES[NAMES[file]].replace(old, new, 1)


def case(name: str, file: str, old: str, new: str, *expected):
    """One rule: replace `old` by `new` in a file; `expected` are (needle, message[, occurrence])
    located in that edited file, or (file key, needle, message) for another file."""
    path = NAMES[file]
    assert old in FILES[path], old
    text = FILES[path].replace(old, new, 1)
    want = []
    for e in expected:
        if e[0] in NAMES:
            other = NAMES[e[0]]
            want.append(f"{other}:{line_of(FILES[other], e[1])}: {e[2]}")
        else:
            want.append(f"{path}:{line_of(text, *(e[:1] + e[2:]))}: {e[1]}")
    return pytest.param({path: text}, want, id=name)


AGENCY = "agency scheme SDMX:AGENCIES(1.0)"
PROVIDERS = "data provider scheme SSO:DATA_PROVIDERS(1.0)"
EXT = "codelist SSO:CL_AREA_EXT(1.0)"
CR_A, CR_PA = "data constraint SSO:CR_A(1.0)", "data constraint SSO:CR_PA(1.0)"
H, HCL, SS = "hierarchy SSO:H_AREA(1.0)", "hierarchical codelist SSO:HCL_AREA(1.0)", "structure set SSO:SS_AREA(1.0)"
MDF, MDS = "metadataflow SSO:MDF_DEF(1.0)", "metadata set SSO:MDS_TEHRAN(1.0)"
TEHRAN_DEF = "      DEFINITION: {fa: استان تهران, en: Tehran province}"

RULES = [
    # organisation schemes
    case("fixed-id", "orgs", "agencyscheme:\n  agency: SDMX", "agencyscheme:\n  id: AGENCY\n  agency: SDMX",
         ("id: AGENCY", "agency scheme: SDMX fixes the id of every agency scheme: AGENCIES (or leave id out), not AGENCY")),
    case("fixed-version", "orgs", "dataproviderscheme:\n  agency: SSO", 'dataproviderscheme:\n  version: "1.1"\n  agency: SSO',
         ("1.1", 'data provider scheme: SDMX fixes the version of every data provider scheme: "1.0" (or leave version out), not "1.1"')),
    case("no-organisations", "orgs", "  data_providers:\n    - id: PD_TEHRAN\n      name: {fa: اداره کل تهران, en: Tehran directorate}\n",
         "  data_providers: []\n",
         ("data_providers:", f"{PROVIDERS}: the data provider scheme has no data providers"),
         ("structures", "provider: PD_TEHRAN", "provision agreement SSO:PA_TEHRAN_A(1.0): data provider PD_TEHRAN is not in data provider scheme SSO:DATA_PROVIDERS(1.0)")),
    case("organisation-parent", "orgs", "    - id: PD_TEHRAN\n", "    - id: PD_TEHRAN\n      parent: SSO\n",
         ("parent: SSO", "data provider PD_TEHRAN: unknown field 'parent' (expected one of: id, name, description, annotations, contacts)")),
    case("contact-email", "orgs", "email: [stat@example.org, sdmx@example.org]", "email: [stat@example.org, sdmx at example.org]",
         ("email:", "agency SSO: contact: email 'sdmx at example.org' is not an e-mail address")),
    case("contact-empty", "orgs", "        - {uri: https://www.amar.org.ir}", "        - {}",
         ("- {}", "data consumer SCI: contact: a contact needs at least a name, an e-mail address or a telephone")),
    case("contact-field", "orgs", "telephone: \"+98 21 0000\"", "phone: \"+98 21 0000\"",
         ("phone:", "agency SSO: contact: unknown field 'phone' (did you mean 'telephone'?)")),
    case("agency-not-declared", "lists", "valuelist:\n", "codelist:\n  id: CL_X\n  agency: SSO.STAT\n  version: \"1.0\"\n"
         "  name: {fa: ایکس, en: X}\n  codes: [{id: X, name: {fa: ایکس, en: X}}]\nvaluelist:\n",
         ("agency: SSO.STAT", "codelist SSO.STAT:CL_X(1.0): agency SSO.STAT is in no agency scheme; add it to one (agencies: in an agencyscheme)")),
    # codelist extensions and value lists
    case("extends-not-found", "lists", "      - codelist: CL_AREA\n", "      - codelist: CL_AREAS\n",
         ("CL_AREAS", f"{EXT}: extension: codelist SSO:CL_AREAS (latest) not found")),
    case("extends-code", "lists", "exclude: [IR-10]", "exclude: [IR-11, IR%, XX%]",
         ("IR-11", f"{EXT}: extension: codelist SSO:CL_AREA(1.0) has no code IR-11"),
         ("IR-11", f"{EXT}: extension: codelist SSO:CL_AREA(1.0) has no code starting with XX")),
    case("extends-include-and-exclude", "lists", "exclude: [IR-10]", "exclude: [IR-10]\n        include: [IR]",
         ("exclude: [IR-10]", f"{EXT}: extension: give either include or exclude, not both")),
    case("extends-itself", "lists", "      - codelist: CL_AREA\n", "      - codelist: CL_AREA_EXT\n",
         ("codelist: CL_AREA_EXT", f"{EXT}: extension: a codelist cannot extend itself")),
    case("extension-cycle", "lists", "    codes:\n      - {id: R1", "    extends: [CL_AREA_EXT]\n    codes:\n      - {id: R1",
         ("extends: [CL_AREA_EXT]", "codelist SSO:CL_REGION(1.0): extension cycle CL_REGION → CL_AREA_EXT → CL_REGION")),
    case("extension-prefix", "lists", "prefix: REG_", "prefix: REG.",
         ("prefix:", f"{EXT}: extension: prefix 'REG.' is not a valid start of an SDMX id: use only letters, digits, _, @, $ and -")),
    case("extends-not-a-list", "lists", "    extends:\n      - codelist: CL_AREA\n", "    extends: CL_AREA\n    extended:\n      - codelist: CL_AREA\n",
         ("extends: CL_AREA", f"{EXT}: extends must be a list of codelists, not the text 'CL_AREA'"),
         ("extended:", f"{EXT}: unknown field 'extended' (did you mean 'extends'?)")),
    case("extension-field", "lists", "        prefix: REG_", "        prefx: REG_",
         ("prefx", f"{EXT}: extension: unknown field 'prefx' (did you mean 'prefix'?)")),
    case("value-twice", "lists", '    - id: "$"', '    - id: "﷼"',
         ('- id: "﷼"', "value ﷼ is listed twice in this value list (first at line %d)" % line_of(LISTS, '- id: "﷼"'), 2)),
    case("value-label", "lists", "      name: {fa: ریال, en: Rial}", "      name: {fa: ریال}",
         ("{fa: ریال}", "value ﷼: name needs both fa and en; en (English) missing")),
    case("value-list-empty", "lists", "  values:\n", "  values: []\n  old_values:\n",
         ("values: []", "value list SSO:VL_CURRENCY(1.0): the value list has no values"),
         ("old_values", "value list SSO:VL_CURRENCY(1.0): unknown field 'old_values' (did you mean 'values'?)")),
    # concepts and categories
    case("iso-concept", "structures", "{agency: ISO, scheme: ISO3166, id: COUNTRY}", "{agency: ISO, id: COUNTRY}",
         ("iso_concept", "concept AREA: iso_concept: missing required field 'scheme'")),
    case("concept-value-list-not-found", "structures", "valuelist: VL_CURRENCY}", "valuelist: VL_CURRENCIES}",
         ("VL_CURRENCIES", "concept CURRENCY: value list SSO:VL_CURRENCIES (latest) not found")),
    case("concept-two-representations", "structures", "valuelist: VL_CURRENCY}", "valuelist: VL_CURRENCY, codelist: CL_UNIT}",
         ("VL_CURRENCY, codelist", "concept CURRENCY: give one representation (codelist, valuelist or text_format), not both codelist and valuelist")),
    case("category-twice", "structures", "        - id: INSURED\n", "        - id: PENSIONS\n",
         ("- id: PENSIONS", "category PENSIONS is defined twice in this category scheme (first at line %d)"
          % line_of(edited("structures", "        - id: INSURED\n", "        - id: PENSIONS\n"), "- id: PENSIONS"), 2),
         ("categories: [THEMES.INSURED", "dataflow SSO:DF_A(1.0): category INSURED is not in category scheme SSO:THEMES(1.0)")),
    case("category-children-empty", "structures", "      name: {fa: مستمری‌ها, en: Pensions}\n", "      name: {fa: مستمری‌ها, en: Pensions}\n      categories: []\n",
         ("categories: []", "category PENSIONS: categories is an empty list")),
    # data structures
    case("measure-and-measures", "structures", "    measure: {id: OBS_VALUE}", "    measure: {id: OBS_VALUE}\n    measures: [{id: OBS_VALUE}]",
         ("measures: [{id: OBS_VALUE}]", "data structure SSO:DSD_A(1.0): give either measure (one) or measures (a list), not both")),
    case("measures-empty", "structures", "    measures:\n      - id: COUNT\n        usage: mandatory\n      - id: AMOUNT\n", "    measures: []\n",
         ("measures:", "data structure SSO:DSD_B(1.0): measures is empty; a data structure needs at least one"),
         ("measures: [AMOUNT]", "attribute UNIT: measures AMOUNT: the data structure has no measure AMOUNT")),
    case("usage-word", "structures", "        usage: mandatory\n        attached_to: {group", "        usage: mandatroy\n        attached_to: {group",
         ("mandatroy", "attribute UNIT: usage must be mandatory, conditional or optional, not the text 'mandatroy' (did you mean 'mandatory'?)")),
    case("usage-and-mandatory", "structures", "        usage: mandatory\n        attached_to: {group", "        usage: mandatory\n        mandatory: true\n        attached_to: {group",
         ("usage: mandatory", "attribute UNIT: give either usage or mandatory, not both")),
    case("group-dimension", "structures", "        dimensions: [AREA]", "        dimensions: [AREA, SEX]",
         ("[AREA, SEX]", "group SIBLING: dimensions SEX: the data structure has no dimension SEX")),
    case("group-time-dimension", "structures", "        dimensions: [AREA]", "        dimensions: [AREA, TIME_PERIOD]",
         ("TIME_PERIOD]", "group SIBLING: dimensions TIME_PERIOD: the data structure has no dimension TIME_PERIOD (a group holds dimensions, not the time dimension)")),
    case("group-id-twice", "structures", "      - id: SIBLING\n", "      - id: SIBLING\n        dimensions: [FREQ]\n      - id: SIBLING\n",
         ("- id: SIBLING", f"group SIBLING: the id SIBLING is used twice in this data structure (first at line {line_of(STRUCTURES, '- id: SIBLING')})", 2)),
    case("group-unknown", "structures", "attached_to: {group: SIBLING}", "attached_to: {group: SIBLINGS}",
         ("SIBLINGS", "attribute UNIT: attached_to: the data structure has no group SIBLINGS (its groups: SIBLING)")),
    case("attached-to-field", "structures", "attached_to: {group: SIBLING}", "attached_to: {groups: SIBLING}",
         ("groups: SIBLING", "attribute UNIT: attached_to: unknown field 'groups' (did you mean 'group'?)"),
         ("groups: SIBLING", "attribute UNIT: attached_to: missing required field 'group'")),
    case("measure-relation", "structures", "measures: [AMOUNT]", "measures: [AMOUNTS]",
         ("AMOUNTS", "attribute UNIT: measures AMOUNTS: the data structure has no measure AMOUNTS")),
    case("metadata-structure-not-found", "structures", "    metadata: MSD_DEF\n", "    metadata: MSD_DEFS\n",
         ("MSD_DEFS", "data structure SSO:DSD_B(1.0): metadata structure SSO:MSD_DEFS (latest) not found")),
    case("value-list-dimension", "structures", "        codelist: CL_AREA_EXT\n", "        valuelist: VL_CURRENCY\n",
         ("        valuelist: VL_CURRENCY", "dimension AREA: a dimension takes a codelist, not a value list")),
    # dataflows, categorisations, provision agreements
    case("category-not-found", "structures", "categories: [THEMES.INSURED, THEMES.PENSIONS]", "categories: [THEMES.INSURANCE, THEMES.PENSIONS]",
         ("THEMES.INSURANCE", "dataflow SSO:DF_A(1.0): category INSURANCE is not in category scheme SSO:THEMES(1.0)")),
    case("category-path", "structures", "categories: [THEMES.INSURED, THEMES.PENSIONS]", "categories: [THEMES.PENSIONS.INSURED]",
         ("THEMES.PENSIONS.INSURED", "dataflow SSO:DF_A(1.0): category PENSIONS.INSURED is not in category scheme SSO:THEMES(1.0)")),
    case("category-twice-in-flow", "structures", "categories: [THEMES.INSURED, THEMES.PENSIONS]", "categories: [THEMES.INSURED, THEMES.COVERAGE.INSURED]",
         ("categories: [THEMES", "dataflow SSO:DF_A(1.0): categories names THEMES.COVERAGE.INSURED twice")),
    case("category-reference", "structures", "categories: [THEMES.INSURED, THEMES.PENSIONS]", "categories: [INSURED]",
         ("categories: [INSURED]", "dataflow SSO:DF_A(1.0): categories 'INSURED' is not a valid category reference: write SCHEME.ITEM, such as THEMES.PENSIONS or SSO:THEMES(1.0).PENSIONS")),
    case("categorisation-made-twice", "structures", "categorisation:\n  id: CAT_B", "categorisation:\n  id: DF_A@THEMES@PENSIONS",
         ("categories: [THEMES.INSURED", "dataflow SSO:DF_A(1.0): categories THEMES.PENSIONS makes categorisation SSO:DF_A@THEMES@PENSIONS(1.0), "
          f"which is also defined at dsd/structures.yaml:{line_of(STRUCTURES, 'id: CAT_B')}; remove one of them")),
    case("access", "structures", "access: restricted", "access: secret",
         ("access:", "dataflow SSO:DF_B(1.0): access must be public, internal or restricted, not 'secret'")),
    case("target-class", "structures", "artefact: urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=SSO:DF_B(1.0)", "artefact: Datafow=DF_B",
         ("artefact:", "categorisation SSO:CAT_B(1.0): artefact 'Datafow=DF_B' names no SDMX class 'Datafow' (did you mean Dataflow?)")),
    case("target-item-class", "structures", "artefact: urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=SSO:DF_B(1.0)", "artefact: Code=CL_AREA",
         ("artefact:", "categorisation SSO:CAT_B(1.0): artefact 'Code=CL_AREA' names a Code without its item: write Code=SCHEME.ITEM")),
    case("target-maintainable-item", "structures", "artefact: urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=SSO:DF_B(1.0)", "artefact: Dataflow=DF_B.X",
         ("artefact:", "categorisation SSO:CAT_B(1.0): artefact 'Dataflow=DF_B.X' names a Dataflow, which has no items; for one of its items use the item's class")),
    case("target-package", "structures", "infomodel.datastructure.Dataflow", "infomodel.codelist.Dataflow",
         ("artefact:", "categorisation SSO:CAT_B(1.0): artefact 'urn:sdmx:org.sdmx.infomodel.codelist.Dataflow=SSO:DF_B(1.0)' is not a valid URN: Dataflow is in the package datastructure, not codelist")),
    case("target-form", "structures", "artefact: urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=SSO:DF_B(1.0)", "artefact: DF_B",
         ("artefact:", "categorisation SSO:CAT_B(1.0): artefact 'DF_B' is not a reference to an artefact: write a URN, or Class=REFERENCE such as Dataflow=DF_KPI or Code=CL_INDICATOR.SUPPORT_RATIO")),
    case("target-not-found", "structures", "Dataflow=SSO:DF_B(1.0)", "Dataflow=SSO:DF_B(2.0)",
         ("artefact:", "categorisation SSO:CAT_B(1.0): dataflow SSO:DF_B(2.0) not found; there is 1.0")),
    case("provider-not-found", "structures", "provider: PD_TEHRAN", "provider: PD_TEHERAN",
         ("provider:", "provision agreement SSO:PA_TEHRAN_A(1.0): data provider PD_TEHERAN is not in data provider scheme SSO:DATA_PROVIDERS(1.0)")),
    case("provider-reference", "structures", "provider: PD_TEHRAN", "provider: PD TEHRAN",
         ("provider:", "provision agreement SSO:PA_TEHRAN_A(1.0): provider 'PD TEHRAN' is not a valid data provider reference: write PD_IR-23, or SCHEME.ITEM, such as DATA_PROVIDERS.PD_IR-23 or SSO:DATA_PROVIDERS(1.0).PD_IR-23")),
    case("agreement-dataflow", "structures", "  dataflow: DF_A\n  provider", "  dataflow: DF_Z\n  provider",
         ("dataflow: DF_Z", "provision agreement SSO:PA_TEHRAN_A(1.0): dataflow SSO:DF_Z (latest) not found")),
    # data constraints
    case("role", "constraints", "    role: allowed\n    dataflows", "    role: allowable\n    dataflows",
         ("allowable", f"{CR_A}: role must be allowed or actual, not the text 'allowable' (did you mean 'allowed'?)")),
    case("no-attachment", "constraints", "    dataflows: DF_A\n", "",
         ("id: CR_A", f"{CR_A}: attach the constraint to something: give dataflows, datastructures or provision_agreements")),
    case("two-attachments", "constraints", "    dataflows: DF_A\n", "    dataflows: DF_A\n    datastructures: DSD_A\n",
         ("datastructures: DSD_A", f"{CR_A}: give only one of dataflows, datastructures or provision_agreements")),
    case("says-nothing", "constraints", "    keys:\n      - {FREQ: M, AREA: IR-23}\n      - {FREQ: A, AREA: IR-23, valid_from: 2020-01-01}\n", "",
         ("id: CR_PA", f"{CR_PA}: the constraint says nothing: give include, exclude, keys or exclude_keys")),
    case("keys-and-excluded-keys", "constraints", "    keys:\n      - {FREQ: M, AREA: IR-23}\n", "    exclude_keys: [{FREQ: M, AREA: IR-10}]\n    keys:\n      - {FREQ: M, AREA: IR-23}\n",
         ("exclude_keys", f"{CR_PA}: give either keys or exclude_keys, not both")),
    case("unknown-component", "constraints", "      AREA: [IR-23]\n", "      REGION: [IR-23]\n",
         ("REGION", f"{CR_A}: include: SSO:DSD_A(1.0) has no dimension or attribute REGION")),
    case("component-of-one-structure", "constraints", "      TIME_PERIOD: {end: 2030-12-31}", "      TIME_PERIOD: {end: 2030-12-31}\n      COUNT: [1]",
         ("COUNT: [1]", "data constraint SSO:CR_DSD(1.0): include: SSO:DSD_B(1.0) has no dimension or attribute COUNT")),
    case("code-not-in-codelist", "constraints", "      AREA: [IR-23]\n", "      AREA: [IR-23, IR-99]\n",
         ("IR-99", f"{CR_A}: include AREA: IR-99 is not a code of SSO:CL_AREA(1.0), the codelist of AREA")),
    case("code-of-attribute", "constraints", "      UNIT: PERSONS", "      UNIT: PERSON",
         ("UNIT: PERSON", f"{CR_A}: include UNIT: PERSON is not a code of SSO:CL_UNIT(1.0), the codelist of UNIT")),
    case("period-for-a-dimension", "constraints", "      AREA: [IR-23]\n", "      AREA: {start: 2020}\n",
         ("AREA: {start", f"{CR_A}: include AREA: {{start, end}} is for the time dimension; list the codes of AREA")),
    case("codes-for-time", "constraints", "      TIME_PERIOD: {start: 2015, end: 2030-12}", "      TIME_PERIOD: [2015]",
         ("TIME_PERIOD", f"{CR_A}: include TIME_PERIOD: the time dimension takes a period {{start: ..., end: ...}}, not a list")),
    case("end-before-start", "constraints", "{start: 2015, end: 2030-12}", "{start: 2015, end: 2010}",
         ("{start: 2015", f"{CR_A}: include TIME_PERIOD: end 2010-01-01 is before start 2015-01-01")),
    case("period-date", "constraints", "{start: 2015, end: 2030-12}", "{start: 2015-Q1}",
         ("{start: 2015", f"{CR_A}: include TIME_PERIOD: start '2015-Q1' is not a date: write a year (2015), a month (2015-01) or a day (2015-01-31)")),
    case("period-field", "constraints", "{start: 2015, end: 2030-12}", "{begin: 2015}",
         ("{begin", f"{CR_A}: include TIME_PERIOD: unknown field 'begin' (expected one of: start, end)")),
    case("region-not-a-mapping", "constraints", "    exclude:\n      AREA: [IR-10]\n", "    exclude: [IR-10]\n",
         ("exclude:", f"{CR_A}: exclude must be a mapping of component ids to values, not a list")),
    case("key-incomplete", "constraints", "      - {FREQ: M, AREA: IR-23}\n", "      - {FREQ: M}\n",
         ("- {FREQ: M}", f"{CR_PA}: keys: a key names every dimension; this one lacks AREA")),
    case("key-time", "constraints", "      - {FREQ: M, AREA: IR-23}\n", "      - {FREQ: M, AREA: IR-23, TIME_PERIOD: 2020}\n",
         ("TIME_PERIOD: 2020", f"{CR_PA}: keys: a key names dimensions; the time dimension TIME_PERIOD belongs in include or exclude")),
    case("key-twice", "constraints", "      - {FREQ: A, AREA: IR-23, valid_from: 2020-01-01}", "      - {FREQ: M, AREA: IR-23}",
         ("- {FREQ: M, AREA: IR-23}", f"{CR_PA}: keys: this key is listed twice (first at line {line_of(CONSTRAINTS, '- {FREQ: M, AREA: IR-23}')})", 2)),
    case("key-code", "constraints", "      - {FREQ: M, AREA: IR-23}\n", "      - {FREQ: W, AREA: IR-23}\n",
         ("FREQ: W", f"{CR_PA}: keys FREQ: W is not a code of SSO:CL_FREQ(1.0), the codelist of FREQ")),
    case("key-validity", "constraints", "valid_from: 2020-01-01}", "valid_from: 2020-01-01, valid_to: 2019-01-01}",
         ("valid_to", f"{CR_PA}: keys: valid_to 2019-01-01 is before valid_from 2020-01-01")),
    case("attached-agreement-not-found", "constraints", "provision_agreements: [PA_TEHRAN_A]", "provision_agreements: [PA_TEHRAN_B]",
         ("PA_TEHRAN_B", f"{CR_PA}: provision agreement SSO:PA_TEHRAN_B (latest) not found")),
    # hierarchies, hierarchical codelists, structure sets
    case("hierarchy-code", "hierarchies", "          codes: [IR-23]\n", "          codes: [IR-24]\n",
         ("[IR-24]", f"{H}: code IR-24 is not in codelist SSO:CL_AREA(1.0)")),
    case("hierarchy-code-codelist", "hierarchies", "        - code: CL_REGION.R1\n", "        - code: CL_REGIONS.R1\n",
         ("CL_REGIONS", f"{H}: codelist SSO:CL_REGIONS (latest) not found")),
    case("hierarchy-without-codelist", "hierarchies", "  codelist: CL_AREA\n  levels:", "  levels:",
         ("    - code: IR", f"{H}: code IR names no codelist: write CODELIST.IR, or give codelist: on the hierarchy"),
         ("[IR-23]", f"{H}: code IR-23 names no codelist: write CODELIST.IR-23, or give codelist: on the hierarchy"),
         ("code: IR-10", f"{H}: code IR-10 names no codelist: write CODELIST.IR-10, or give codelist: on the hierarchy")),
    case("hierarchical-code-twice", "hierarchies", "{code: IR-10, id: ISFAHAN,", "{code: IR-10, id: IR-23,",
         ("id: IR-23", f"{H}: hierarchical code IR-23 appears twice in the hierarchy (first at line {line_of(HIERARCHIES, '[IR-23]')}); give it an id of its own (id:)")),
    case("below-the-levels", "hierarchies", "    - {id: PROVINCE, name: {fa: استان, en: Province}}\n", "",
         ("[IR-23]", f"{H}: hierarchical code IR-23 is at depth 3, below the last of the 2 levels"),
         ("code: IR-10", f"{H}: hierarchical code ISFAHAN is at depth 3, below the last of the 2 levels")),
    case("level-twice", "hierarchies", "    - {id: REGION, name:", "    - {id: COUNTRY, name:",
         ("{id: COUNTRY", f"{H}: level COUNTRY is defined twice (first at line {line_of(HIERARCHIES, '{id: COUNTRY')})", 2),
         ("[IR-23]", f"{H}: hierarchical code IR-23 is at depth 3, below the last of the 2 levels"),
         ("code: IR-10", f"{H}: hierarchical code ISFAHAN is at depth 3, below the last of the 2 levels")),
    case("level-coding-format", "hierarchies", "format: {type: AlphaNumeric, max_length: 2}", "format: {type: Numeric, pattern: \"R[2-9]\"}",
         ("CL_REGION.R1", f"{H}: hierarchical code R1: code R1 is not digits only (Numeric) and does not match the pattern R[2-9], "
          "the coding format of level REGION"),
         ("CL_REGION.R2", f"{H}: hierarchical code R2: code R2 is not digits only (Numeric), the coding format of level REGION")),
    case("level-coding-length", "hierarchies", "format: {type: AlphaNumeric, max_length: 2}", "format: {type: Alpha, max_length: 1}",
         ("CL_REGION.R1", f"{H}: hierarchical code R1: code R1 is not letters only (Alpha) and is longer than 1, the coding format of level REGION"),
         ("CL_REGION.R2", f"{H}: hierarchical code R2: code R2 is not letters only (Alpha) and is longer than 1, the coding format of level REGION")),
    case("level-coding-type", "hierarchies", "format: {type: AlphaNumeric, max_length: 2}", "format: {type: String, max_length: 2}",
         ("format:", f"{H}: level REGION: format: a level's codes are Alpha, AlphaNumeric or Numeric, not String")),
    case("level-format", "hierarchies", "format: {type: AlphaNumeric, max_length: 2}", "format: {type: Strng}",
         ("format:", f"{H}: level REGION: text_format: unknown type 'Strng' (did you mean 'String'?)")),
    case("hierarchy-twice", "hierarchies", "    - id: FLAT\n", "    - id: REGIONS\n",
         ("- id: REGIONS", f"{HCL}: hierarchy REGIONS is defined twice (first at line {line_of(HIERARCHIES, '- id: REGIONS')})", 2)),
    case("hierarchy-without-codes", "hierarchies", "      codelist: CL_AREA\n      codes: [IR, IR-23]\n", "      codelist: CL_AREA\n",
         ("- id: FLAT", f"{HCL}: hierarchy FLAT: missing required field 'codes'")),
    case("map-source-code", "hierarchies", "IR-10: [R2, R1]", "IR-11: [R2, R1]",
         ("codes: {IR-23", f"{SS}: codelist map AREA_REGION: IR-11 is not a code of the source codelist SSO:CL_AREA(1.0)")),
    case("map-target-code", "hierarchies", "IR-10: [R2, R1]", "IR-10: [R2, R7]",
         ("codes: {IR-23", f"{SS}: codelist map AREA_REGION: R7 is not a code of the target codelist SSO:CL_REGION(1.0)")),
    case("map-codes-form", "hierarchies", "codes: {IR-23: R1, IR-10: [R2, R1]}", "codes: [IR-23, R1]",
         ("codes: [IR-23, R1]", f"{SS}: codelist map AREA_REGION: codes must map each source code to its target code (or a list of them), not a list")),
    # metadata structures, metadataflows, metadata sets
    case("occurs", "metadata", "      min_occurs: 0\n      max_occurs: 2", "      min_occurs: 3\n      max_occurs: 2",
         ("max_occurs: 2", "metadata attribute COUNTING: max_occurs 2 is less than min_occurs 3"),
         (("DEFINITION: {fa: استان اصفهان", -1), "metadata set SSO:MDS_ISFAHAN(1.0): metadata attribute COUNTING is required (min_occurs 3) but has no value")),
    case("occurs-word", "metadata", "      max_occurs: unbounded", "      max_occurs: many",
         ("many", "metadata attribute UNIT: max_occurs must be a whole number of at least 1, not the text 'many'")),
    case("presentational-alone", "metadata", "      attributes:\n        - id: INCLUDED\n          text_format: {type: String}\n        - id: EXCLUDED\n          text_format: {type: String}\n          min_occurs: 0\n", "",
         ("presentational: true", "metadata attribute COUNTING: a presentational attribute only holds others: give attributes"),
         ("INCLUDED: {fa", f"{MDS}: no metadata attribute INCLUDED under COUNTING")),
    case("metadata-attribute-representation", "metadata", "    - id: DEFINITION\n      text_format: {type: String}\n", "    - id: DEFINITION\n",
         ("- id: DEFINITION", "metadata attribute DEFINITION: no representation: give a codelist or a text_format here or on concept DEFINITION")),
    case("metadata-attribute-twice", "metadata", "        - id: EXCLUDED\n", "        - id: DEFINITION\n",
         ("- id: DEFINITION", f"metadata attribute DEFINITION: the component id DEFINITION is used twice in this metadata structure (first at line {line_of(METADATA, '- id: DEFINITION')})", 2)),
    case("flow-target-class", "metadata", "targets: [Code=CL_AREA.*,", "targets: [Codes=CL_AREA.*,",
         ("Codes=", f"{MDF}: targets 'Codes=CL_AREA.*' names no SDMX class 'Codes' (did you mean Code?)")),
    case("flow-target-not-found", "metadata", "targets: [Code=CL_AREA.*,", "targets: [Code=CL_AREAS.*,",
         ("CL_AREAS", f"{MDF}: codelist SSO:CL_AREAS (latest) not found")),
    case("flow-structure", "metadata", "  structure: MSD_DEF\n", "  structure: MSD_DEFS\n",
         ("MSD_DEFS", f"{MDF}: metadata structure SSO:MSD_DEFS (latest) not found")),
    case("set-target-not-allowed", "metadata", "targets: [Code=CL_AREA.IR-23, Dataflow=DF_A]", "targets: [Code=CL_REGION.R1]",
         ("CL_REGION.R1", f"{MDS}: target Code=CL_REGION.R1 is not one metadataflow SSO:MDF_DEF(1.0) allows "
          "(urn:sdmx:org.sdmx.infomodel.codelist.Code=SSO:CL_AREA(*).*, urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=*:*(*))")),
    case("set-target-not-found", "metadata", "targets: [Code=CL_AREA.IR-23, Dataflow=DF_A]", "targets: [Code=CL_AREA.IR-99]",
         ("IR-99", f"{MDS}: code IR-99 is not in codelist SSO:CL_AREA(1.0)")),
    case("set-flow", "metadata", "    metadataflow: MDF_DEF\n    targets: [Code=CL_AREA.IR-23,", "    metadataflow: MDF_DEFS\n    targets: [Code=CL_AREA.IR-23,",
         ("MDF_DEFS", f"{MDS}: metadataflow SSO:MDF_DEFS (latest) not found")),
    case("set-unknown-attribute", "metadata", TEHRAN_DEF, TEHRAN_DEF.replace("DEFINITION", "DEFINITON"),
         ("attributes:", f"{MDS}: metadata attribute DEFINITION is required (min_occurs 1) but has no value", 3),
         ("DEFINITON", f"{MDS}: no metadata attribute DEFINITON in the metadata structure (did you mean 'DEFINITION'?)")),
    case("set-required-child", "metadata", "        INCLUDED: {fa: همه, en: All}", "        EXCLUDED: {fa: همه, en: All}",
         ("COUNTING:", f"{MDS}: metadata attribute INCLUDED under COUNTING is required (min_occurs 1) but has no value")),
    case("set-too-many", "metadata", TEHRAN_DEF, "      DEFINITION: [{fa: یک, en: one}, {fa: دو, en: two}]",
         ("DEFINITION: [", f"{MDS}: DEFINITION takes at most 1 value, not 2")),
    case("set-code", "metadata", "UNIT: [PERSONS, IRR]", "UNIT: [PERSONS, USD]",
         ("UNIT: [", f"{MDS}: UNIT: USD is not a code of SSO:CL_UNIT(1.0)")),
    case("set-xhtml", "metadata", 'en: "<p>a <b>b</b></p>"', 'en: "<p>a <b>b</p>"',
         ("FORMULA:", f"{MDS}: FORMULA: the en text is not well-formed XHTML: Opening and ending tag mismatch: b line 1 and p")),
    case("set-text-language", "metadata", TEHRAN_DEF, "      DEFINITION: {fa: استان تهران}",
         ("DEFINITION:", f"{MDS}: DEFINITION: value needs both fa and en; en (English) missing")),
    case("set-text-form", "metadata", TEHRAN_DEF, "      DEFINITION: Tehran",
         ("DEFINITION:", f"{MDS}: DEFINITION: value must be a mapping of languages to texts, like {{fa: ..., en: ...}}; found the text 'Tehran'")),
    case("set-number", "metadata", "SIZE: 31", "SIZE: many",
         ("SIZE:", f"{MDS}: SIZE: the value must be a number, not the text 'many'")),
    case("set-presentational-value", "metadata", "      COUNTING:\n        INCLUDED: {fa: همه, en: All}", "      COUNTING: all",
         ("COUNTING: all", f"{MDS}: COUNTING only holds other attributes: give a mapping of their ids to values")),
    case("set-attributes-form", "metadata", "    attributes:\n      DEFINITION: {fa: استان اصفهان", "    attributes: [DEFINITION]\n    notes:\n      DEFINITION: {fa: استان اصفهان",
         ("attributes: [DEFINITION]", "metadata set SSO:MDS_ISFAHAN(1.0): attributes must map metadata attribute ids to values, not a list"),
         ("notes:", "metadata set SSO:MDS_ISFAHAN(1.0): unknown field 'notes' (expected one of: id, agency, version, name, description, final, valid_from, valid_to, annotations, metadataflow, targets, attributes)")),
]


@pytest.mark.parametrize("files, expected", RULES)
def test_rule(tree, files, expected):
    result = tree(files)
    assert sorted(str(e) for e in result.errors) == sorted(expected)


def test_objects_read_twice_compare_equal(tree):
    """Nothing points back up (a MetadataAttribute or HierarchicalCode with a parent would make
    sdmx1's field-by-field comparison recurse forever)."""
    first, second = tree({}), tree({})
    pick = {"MSD_DEF", "H_AREA", "HCL_AREA", "CR_A"}
    one = [a for a in first.artefacts if a.id in pick]
    two = [a for a in second.artefacts if a.id in pick]
    assert [x.attributes.components for x in one[:1]] == [x.attributes.components for x in two[:1]]
    assert one[1].codes == two[1].codes and one[2].hierarchy == two[2].hierarchy


def test_agencies_are_checked_once_declared(tmp_path, monkeypatch):
    """Another agency's scheme of its own sub-agencies (from its messages) does not make every
    agency need declaring; SDMX's list of top-level agencies in the registry does."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, {"codelists/x.yaml": """
    codelist:
      id: CL_X
      agency: TEST
      version: "1.0"
      name: {fa: ایکس, en: X}
      codes: [{id: X, name: {fa: ایکس, en: X}}]
    """})
    ecb = common.AgencyScheme(id="AGENCIES", version="1.0", maintainer=common.Agency(id="ECB"), is_external_reference=False)
    ecb.append(common.Agency(id="ECB_S1"))
    assert read_authoring([Path("codelists")], [ecb]).errors == []
    top = common.AgencyScheme(id="AGENCIES", version="1.0", maintainer=common.Agency(id="SDMX"), is_external_reference=False)
    top.append(common.Agency(id="ECB"))
    (error,) = read_authoring([Path("codelists")], [ecb, top]).errors
    assert str(error) == "codelists/x.yaml:3: codelist TEST:CL_X(1.0): agency TEST is in no agency scheme; add it to one (agencies: in an agencyscheme)"
    top.append(common.Agency(id="TEST"))
    assert read_authoring([Path("codelists")], [ecb, top]).errors == []


def test_sub_agency_declared_by_its_parent(tree):
    sub = """
    agencyscheme:
      agency: SSO
      name: {fa: کارگزاری‌های سازمان, en: SSO agencies}
      agencies:
        - id: STAT
          name: {fa: دفتر آمار, en: Statistics office}
    codelist:
      id: CL_X
      agency: SSO.STAT
      version: "1.0"
      name: {fa: ایکس, en: X}
      codes: [{id: X, name: {fa: ایکس, en: X}}]
    """
    result = tree({"dsd/sub.yaml": sub})
    assert [str(e) for e in result.errors] == []
    assert [a.maintainer.id for a in result.artefacts if a.id in ("AGENCIES", "CL_X")] == ["SDMX", "SSO", "SSO.STAT"]


def test_new_kinds_refer_to_what_the_registry_holds(tmp_path, monkeypatch, samples_dir):
    """Constraints, categorisations and metadata sets may refer to structures loaded before,
    such as ECB's EXR dataflow and codelists read from SDMX-ML."""
    import sdmx

    message = sdmx.read_sdmx(samples_dir / "ECB_EXR" / "1" / "structure-full.xml")
    existing = [a for c in (message.codelist, message.concept_scheme, message.structure, message.dataflow) for a in c.values()]
    flow = next(iter(message.dataflow.values()))
    monkeypatch.chdir(tmp_path)
    write(tmp_path, {"dsd/on_ecb.yaml": f"""
    dataconstraint:
      id: CR_EXR
      agency: SSO
      version: "1.0"
      name: {{fa: نرخ‌های لازم, en: Rates we need}}
      role: allowed
      dataflows: ECB:{flow.id}({flow.version})
      include:
        CURRENCY: [USD, CHF]
        FREQ: [M, D]
    categoryscheme:
      id: THEMES
      agency: SSO
      version: "1.0"
      name: {{fa: موضوع‌ها, en: Themes}}
      categories: [{{id: RATES, name: {{fa: نرخ‌ها, en: Rates}}}}]
    categorisation:
      id: CAT_EXR
      agency: SSO
      version: "1.0"
      name: {{fa: نرخ ارز, en: Exchange rates}}
      category: THEMES.RATES
      artefact: Code=ECB:CL_CURRENCY.USD
    """})
    result = read_authoring([Path("dsd")], existing)
    assert [str(e) for e in result.errors] == []
    _, constraint, categorisation = result.artefacts
    assert constraint.content == {flow}
    (region,) = constraint.data_content_region
    assert {c.id: [v.value for v in ms.values] for c, ms in region.member.items()} == {"CURRENCY": ["USD", "CHF"], "FREQ": ["M", "D"]}
    assert all(c is flow.structure.dimensions.get(c.id) for c in region.member)
    assert categorisation.artefact is message.codelist["CL_CURRENCY"]["USD"]

    wrong = (tmp_path / "dsd/on_ecb.yaml").read_text(encoding="utf-8").replace("[USD, CHF]", "[USD, QQQ]")
    (tmp_path / "dsd/on_ecb.yaml").write_text(wrong, encoding="utf-8")
    (error,) = read_authoring([Path("dsd")], existing).errors
    assert str(error) == (f"dsd/on_ecb.yaml:{line_of(wrong, 'QQQ')}: data constraint SSO:CR_EXR(1.0): include CURRENCY: "
                          "QQQ is not a code of ECB:CL_CURRENCY(1.0), the codelist of CURRENCY")


# --- garbage in the new kinds never raises -------------------------------------------------------

import tempfile  # noqa: E402

import yaml  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

GARBAGE = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _never_raises(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        for name, data in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        result = read_authoring([root / "dsd", root / "codelists"])
    for error in result.errors:
        assert error.line >= 0 and "internal error" not in error.message, str(error)


@GARBAGE
@given(st.data())
def test_mangled_files_of_every_kind_never_raise(data):
    files = {k: textwrap.dedent(v).lstrip("\n") for k, v in FILES.items()}
    name = data.draw(st.sampled_from(sorted(files)))
    text = files[name]
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 40)))
    insert = data.draw(st.one_of(st.just(""), st.text(max_size=10), st.sampled_from(
        [":", "- ", "\n  ", "{", "[", '"', ",", "\n", "  - id: X\n", "*", "%", "=", ".", "urn:sdmx:", "null", "[]", "{}"])))
    files[name] = text[:start] + insert + text[end:]
    _never_raises({k: v.encode("utf-8", "surrogatepass") for k, v in files.items()})


WORDS = [
    "agencyscheme", "dataproviderscheme", "dataconstraint", "dataconstraints", "categoryscheme", "categorisation",
    "hierarchy", "hierarchies", "hierarchicalcodelist", "structureset", "valuelist", "metadatastructure",
    "metadataflow", "metadataset", "provisionagreement", "id", "agency", "version", "name", "fa", "en", "codes",
    "code", "categories", "agencies", "data_providers", "contacts", "email", "values", "extends", "include", "exclude",
    "keys", "exclude_keys", "role", "dataflows", "datastructures", "provision_agreements", "start", "end", "levels",
    "codelist", "codelist_maps", "source", "target", "attributes", "presentational", "min_occurs", "max_occurs",
    "structure", "targets", "metadataflow", "category", "artefact", "dataflow", "provider", "prefix", "format",
]
SCALARS = st.one_of(
    st.sampled_from(WORDS + ["SSO", "1.0", "CL_AREA", "CL_AREA.IR", "THEMES.INSURED", "Code=CL_AREA.*", "Dataflow=*",
                             "urn:sdmx:org.sdmx.infomodel.codelist.Code=SSO:CL_AREA(1.0).IR", "allowed", "unbounded",
                             "FREQ", "AREA", "TIME_PERIOD", "<p>x</p>", "%", "*"]),
    st.text(max_size=8), st.integers(-2, 40), st.booleans(), st.none(), st.dates(),
)
TREES = st.recursive(SCALARS, lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.sampled_from(WORDS), c, max_size=5)),
                     max_leaves=40)


@GARBAGE
@given(st.dictionaries(st.sampled_from(WORDS[:15]), TREES, max_size=3))
def test_garbage_of_every_kind_never_raises(document):
    files = {k: textwrap.dedent(v).lstrip("\n").encode() for k, v in FILES.items()}
    files["dsd/garbage.yaml"] = yaml.safe_dump(document, allow_unicode=True).encode("utf-8")
    _never_raises(files)
