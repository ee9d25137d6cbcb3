"""Random codelists, concept schemes and DSDs built in code (both sdmx1 families) round-trip.

Each is stored with to_json (schema-valid), built back through a registry holding the schemes
it uses, compared with `assert_same_artefact`, written again (the same JSON), and its
references are exactly what it uses. Values come as sdmx1's SDMX-ML readers leave them
(facets as text, flags as "true") or as code would set them (numbers, booleans).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sdmx.model import common, v21, v30

from sdmx_server.kinds import kind_of
from sdmx_server.registry.codec import to_json
from tests.test_codec_samples import StoredRegistry, check_artefact

IDS = st.from_regex(r"[A-Z][A-Z0-9_]{0,6}", fullmatch=True)
LANGS = st.sampled_from(["en", "fr", "fa", "de-CH", "zh-Hans"])
TEXTS = st.dictionaries(LANGS, st.text(min_size=1, max_size=12), min_size=1, max_size=3)
AGENCY = common.Agency(id="TEST")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.data_too_large])


@st.composite
def annotations(draw, family: str):
    out = []
    for _ in range(draw(st.integers(0, 2))):
        fields = dict(id=draw(st.none() | IDS), title=draw(st.none() | st.text(max_size=8)),
                      type=draw(st.none() | IDS), url=draw(st.none() | st.just("https://example.org/a")),
                      text=draw(st.none() | TEXTS))
        if family == "v30":
            out.append(v30.Annotation(value=draw(st.none() | st.text(max_size=8)), **fields))
        else:
            out.append(v21.Annotation(**fields))
    return out


@st.composite
def codelists(draw, family: str = "v30", agency=AGENCY, cl_id: str | None = None):
    cl = common.Codelist(id=cl_id or draw(IDS), version=draw(st.sampled_from(["1.0", "2.3", "1.0.0", "1.2.0-draft"])),
                         maintainer=agency, name=draw(TEXTS), description=draw(st.none() | TEXTS),
                         is_final=draw(st.booleans()), annotations=draw(annotations(family)))
    ids = draw(st.lists(IDS, unique=True, max_size=12))
    for i, code_id in enumerate(ids):
        code = common.Code(id=code_id, name=draw(TEXTS), description=draw(st.none() | TEXTS),
                           annotations=draw(annotations(family)))
        cl.append(code)
    # parents among the codes, acyclic (a code's parent comes earlier in a random order)
    order = draw(st.permutations(ids)) if ids else []
    for i, code_id in enumerate(order):
        if i and draw(st.booleans()):
            cl[order[draw(st.integers(0, i - 1))]].append_child(cl[code_id])
    return cl


@st.composite
def facets(draw, kinds=("string", "alphaNumeric", "integer", "decimal", "double", "boolean", "observationalTimePeriod")):
    as_text = draw(st.booleans())  # as sdmx1's SDMX-ML reader keeps them

    def value(v):
        return str(v) if as_text else v

    ft = common.FacetType()
    if draw(st.booleans()):
        ft.min_length, ft.max_length = draw(st.integers(1, 5)), draw(st.integers(5, 500))
    if draw(st.booleans()):
        ft.min_value = value(draw(st.integers(-1000, 0) | st.floats(-1e6, 0, allow_nan=False)))
        ft.max_value = value(draw(st.integers(1, 10**9)))
    if draw(st.booleans()):
        ft.decimals = draw(st.integers(1, 6))
    if draw(st.booleans()):
        ft.is_sequence = "true" if as_text else True
        ft.interval = value(draw(st.integers(1, 10)))
    if draw(st.booleans()):
        ft.pattern = draw(st.sampled_from(["[A-Z]{2}", r"\d+", ".*"]))
    if draw(st.booleans()):
        ft.start_time, ft.end_time = "2000-01", "2030-12-31"
    return common.Facet(type=ft, value_type=common.FacetValueType[draw(st.sampled_from(kinds))])


@st.composite
def representations(draw, codelist_pool: list, allow_text: bool = True):
    if codelist_pool and (not allow_text or draw(st.booleans())):
        rep = common.Representation(enumerated=draw(st.sampled_from(codelist_pool)))
        if draw(st.booleans()):
            rep.non_enumerated = [common.Facet(type=common.FacetType(max_length=draw(st.integers(1, 9))),
                                               value_type=common.FacetValueType.alphaNumeric)]
        return rep
    return common.Representation(non_enumerated=[draw(facets())])


@st.composite
def concept_schemes(draw, family: str = "v30", codelist_pool=(), ids=None):
    cs = common.ConceptScheme(id="CS", version="1.0", maintainer=AGENCY, name=draw(TEXTS),
                              annotations=draw(annotations(family)))
    for i, concept_id in enumerate(ids or draw(st.lists(IDS, unique=True, min_size=1, max_size=8))):
        concept = common.Concept(id=concept_id, name=draw(TEXTS), description=draw(st.none() | TEXTS),
                                 annotations=draw(annotations(family)))
        if draw(st.booleans()):
            concept.core_representation = draw(representations(list(codelist_pool)))
        if draw(st.booleans()):
            concept.iso_concept = common.ISOConceptReference(agency="ISO", id=concept_id, scheme_id="ISO_CS")
        cs.append(concept)
        if i and draw(st.booleans()):
            cs[list(cs.items)[draw(st.integers(0, i - 1))]].append_child(concept)
    return cs


@st.composite
def dsds(draw):
    family = draw(st.sampled_from(["v21", "v30"]))
    codelists_ = [draw(codelists(family, cl_id=f"CL_{i}")) for i in range(draw(st.integers(1, 3)))]
    names = draw(st.lists(IDS.filter(lambda s: s != "TIME_PERIOD"), unique=True, min_size=4, max_size=12))
    cs = draw(concept_schemes(family, codelists_, ids=names + ["TIME_PERIOD"]))
    n_dims = draw(st.integers(1, min(4, len(names) - 2)))
    dim_ids, rest = names[:n_dims], names[n_dims:]
    cls = v21.DataStructureDefinition if family == "v21" else v30.DataStructureDefinition
    dsd = cls(id=draw(IDS), version="1.0", maintainer=AGENCY, name=draw(TEXTS), annotations=draw(annotations(family)))
    for d in dim_ids:
        dsd.dimensions.append(common.Dimension(id=d, concept_identity=cs[d], annotations=draw(annotations(family)),
                                               local_representation=draw(st.none() | representations(codelists_))))
    if draw(st.booleans()):
        dsd.dimensions.append(common.TimeDimension(
            id="TIME_PERIOD", concept_identity=cs["TIME_PERIOD"], local_representation=common.Representation(
                non_enumerated=[common.Facet(value_type=common.FacetValueType.observationalTimePeriod)])))
    dims = [d for d in dsd.dimensions.components if isinstance(d, common.Dimension)]
    if draw(st.booleans()):
        members = draw(st.lists(st.sampled_from(dims), unique=True, min_size=1))
        dsd.group_dimensions["GROUP"] = common.GroupDimensionDescriptor(id="GROUP", components=members)
    n_measures = 1 if family == "v21" else draw(st.integers(1, 2))
    measure_ids, attr_ids = rest[:n_measures], rest[n_measures:]
    for m in measure_ids:
        measure_cls = v21.PrimaryMeasure if family == "v21" else v30.Measure
        dsd.measures.append(measure_cls(id=m, concept_identity=cs[m],
                                        local_representation=draw(st.none() | representations(codelists_))))
    for a in attr_ids:
        choice = draw(st.sampled_from(["dataflow", "observation", "dimensions", "group"]))
        if choice == "dataflow":
            rel = v21.NoSpecifiedRelationship() if family == "v21" else v30.DataflowRelationship()
        elif choice == "observation":
            rel = v21.PrimaryMeasureRelationship() if family == "v21" else v30.ObservationRelationship()
        elif choice == "group" and "GROUP" in dsd.group_dimensions:
            rel = common.GroupRelationship(group_key=dsd.group_dimensions["GROUP"])
        else:
            rel = common.DimensionRelationship(dimensions=draw(st.lists(st.sampled_from(dims), unique=True, min_size=1)))
        dsd.attributes.append(common.DataAttribute(
            id=a, concept_identity=cs[a], related_to=rel, annotations=draw(annotations(family)),
            usage_status=draw(st.sampled_from([None, common.UsageStatus.mandatory, common.UsageStatus.conditional])),
            local_representation=draw(st.none() | representations(codelists_))))
    return dsd, [cs] + codelists_


def registry_of(artefacts) -> StoredRegistry:
    return StoredRegistry([(kind_of(a), to_json(a)) for a in artefacts])


@SETTINGS
@given(cl=st.sampled_from(["v21", "v30"]).flatmap(codelists))
def test_random_codelists(cl):
    check_artefact(cl, registry_of([]))


@SETTINGS
@given(data=st.data())
def test_random_concept_schemes(data):
    family = data.draw(st.sampled_from(["v21", "v30"]))
    pool = [data.draw(codelists(family, cl_id="CL_A")), data.draw(codelists(family, cl_id="CL_B"))]
    cs = data.draw(concept_schemes(family, pool))
    check_artefact(cs, registry_of(pool))


@SETTINGS
@given(drawn=dsds())
def test_random_dsds(drawn):
    dsd, used = drawn
    registry = registry_of(used)
    check_artefact(dsd, registry)
    # and once more with nothing held: every reference becomes a stub, the meaning stays
    check_artefact(dsd, registry_of([]))
