"""REST v2 URL parsing: structure, schema and reference metadata queries (spec 2.2.2)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdmx_server.errors import NotImplemented_, SdmxError, SyntaxError_
from sdmx_server.kinds import BY_V2, KINDS
from sdmx_server.query.model import (
    MetadataByFlowQuery,
    MetadataByStructureQuery,
    MetadataSetQuery,
    ProviderRef,
    SchemaQuery,
    StructureQuery,
)
from sdmx_server.query.parse_v2 import (
    ITEM_TYPES,
    SCHEMA_CONTEXTS,
    parse_metadata_query,
    parse_schema_query,
    parse_structure_query,
)
from sdmx_server.types import REFERENCE_WALKS, STRUCTURE_DETAILS
from sdmx_server.versions import ALL, LATEST, LATEST_STABLE, AnyOf, Exactly, Wildcard

UTC = timezone.utc

# -- structure queries -------------------------------------------------------------------------


def test_defaults_of_a_bare_structure_query():
    assert parse_structure_query([], {}) == StructureQuery(
        kinds=None, agencies=None, ids=None, versions=LATEST, items=None, detail="full",
        references=("none",), as_of=None, api="v2", resource="*",
    )
    # pysdmx ends every path with '/': an empty last segment is a missing one.
    assert parse_structure_query(["codelist", "ECB", "CL_FREQ", ""], {}).versions is LATEST
    assert parse_structure_query(["codelist", "", "CL_FREQ"], {}).agencies is None


@pytest.mark.parametrize("artefact_type", sorted(BY_V2))
def test_every_artefact_type(artefact_type):
    q = parse_structure_query([artefact_type, "ECB", "X", "1.0.0"], {})
    assert q.kinds == (BY_V2[artefact_type].name,) and q.resource == artefact_type
    assert q.agencies == ("ECB",) and q.ids == ("X",) and q.versions == Exactly(("1.0.0",))


def test_any_type():
    assert parse_structure_query(["*", "ECB"], {}).kinds is None
    assert parse_structure_query(["all", "ECB"], {}).kinds is None  # as the spec's own example writes it


@pytest.mark.parametrize("bad", ["codelists", "hierarchicalcodelist", "structureset", "structure", "Codelist"])
def test_unknown_artefact_types(bad):
    with pytest.raises(SyntaxError_, match="artefactType=.*expected one of .*datastructure"):
        parse_structure_query([bad], {})


def test_rest_v1_type_names_that_clients_send_on_v2_paths():
    # sdmx1 in SDMX 3.0 mode has no dataconstraint: it sends /structure/contentconstraint/...
    for name in ("contentconstraint", "actualconstraint", "allowedconstraint"):
        q = parse_structure_query([name, "TEST30", "C", "+"], {})
        assert q.kinds == ("dataconstraint",) and q.resource == name and q.versions == LATEST_STABLE
        with pytest.raises(SyntaxError_, match="has no items"):
            parse_structure_query([name, "ECB", "C", "+", "A"], {})
    q = parse_structure_query(["organisationscheme", "ECB", "*", "~", "A"], {})
    assert q.kinds == ("agencyscheme", "dataconsumerscheme", "dataproviderscheme", "organisationunitscheme")
    assert q.items == ("A",)


def test_the_urls_real_clients_send():
    # Captured from sdmx1 2.28 (SDMX 3.0 source) and pysdmx 1.20 (RegistryClient, RestService 2.2.2).
    q = parse_structure_query(["dataflow", "TEST30", "*", "+"], {})
    assert (q.kinds, q.agencies, q.ids, q.versions) == (("dataflow",), ("TEST30",), None, LATEST_STABLE)
    q = parse_structure_query(["datastructure", "ECB", "ECB_EXR1"],
                              {"detail": "referencepartial", "references": "descendants"})
    assert (q.versions, q.detail, q.references) == (LATEST, "referencepartial", ("descendants",))
    q = parse_structure_query(["codelist", "ECB", "CL_FREQ", "~", "A", ""], {})
    assert (q.ids, q.versions, q.items) == (("CL_FREQ",), LATEST, ("A",))
    q = parse_structure_query(["codelist", "ECB", "CL_FREQ", "1.0,2.0", "A,M", ""], {})  # %2C decoded
    assert (q.versions, q.items) == (Exactly(("1.0", "2.0")), ("A", "M"))
    assert parse_structure_query(["dataflow", ""], {}).kinds == ("dataflow",)
    assert parse_schema_query(["dataflow", "ECB", "EXR", "+", ""], {}).versions == LATEST_STABLE
    assert parse_metadata_query(["metadataset", "ECB", "MS1", ""], {}).ids == ("MS1",)
    assert parse_metadata_query(["structure", "dataflow", "ECB", "EXR", ""], {}).kinds == ("dataflow",)


def test_lists_and_wildcards_of_agencies_ids_versions():
    q = parse_structure_query(["codelist", "BIS,ECB,BIS", "CL_FREQ,CL_AREA", "1.0.0,2.+.0"], {})
    assert q.agencies == ("BIS", "ECB") and q.ids == ("CL_FREQ", "CL_AREA")
    assert q.versions == AnyOf((Exactly(("1.0.0",)), Wildcard("+", 1, (2, 0, 0))))
    assert parse_structure_query(["codelist", "ECB,*", "*", "*"], {}).agencies is None
    q = parse_structure_query(["codelist", "*", "*", "*"], {})
    assert (q.agencies, q.ids, q.versions) == (None, None, ALL)
    assert parse_structure_query(["codelist", "ECB.DISS", "CL_FREQ", "+"], {}).versions == LATEST_STABLE


@pytest.mark.parametrize(
    "segments, parameter",
    [(["codelist", "1ECB"], "agencyID"), (["codelist", "EC B"], "agencyID"), (["codelist", "ECB,"], "agencyID"),
     (["codelist", "ECB", "CL FREQ"], "resourceID"), (["codelist", "ECB", "CL.FREQ"], "resourceID"),
     (["codelist", "ECB", "CL_FREQ", "1.+.3"], "version"), (["codelist", "ECB", "CL_FREQ", "latest"], "version"),
     (["codelist", "ECB", "CL_FREQ", "1.0", "A B"], "itemID"), (["codelist", "ECB", "CL_FREQ", "1.0", "A,"], "itemID")],
)
def test_bad_path_values_name_their_parameter(segments, parameter):
    with pytest.raises(SyntaxError_, match=parameter):
        parse_structure_query(segments, {})


def test_a_bad_version_says_how_to_fix_it():
    with pytest.raises(SyntaxError_, match=r"version='1\.\+\.3'.*use '1\.\+\.0'"):
        parse_structure_query(["codelist", "ECB", "CL_FREQ", "1.+.3"], {})


@pytest.mark.parametrize("artefact_type", ITEM_TYPES)
def test_items_of_item_schemes(artefact_type):
    q = parse_structure_query([artefact_type, "ECB", "X", "1.0", "A,B.C,A"], {})
    assert q.items == ("A", "B.C")
    assert parse_structure_query([artefact_type, "ECB", "X", "1.0", "*"], {}).items is None


def test_item_types_are_those_of_the_spec():
    assert set(ITEM_TYPES) == {
        "categoryscheme", "conceptscheme", "codelist", "agencyscheme", "dataproviderscheme",
        "metadataproviderscheme", "dataconsumerscheme", "organisationunitscheme", "reportingtaxonomy",
        "transformationscheme", "rulesetscheme", "userdefinedoperatorscheme", "customtypescheme",
        "namepersonalisationscheme", "vtlmappingscheme", "valuelist",
    }


@pytest.mark.parametrize("artefact_type", sorted(set(BY_V2) - set(ITEM_TYPES)))
def test_an_item_on_a_type_without_items_is_a_400(artefact_type):
    with pytest.raises(SyntaxError_, match=f"itemID 'A': {artefact_type} has no items"):
        parse_structure_query([artefact_type, "ECB", "X", "1.0", "A"], {})


def test_items_of_value_lists_and_of_any_type():
    assert parse_structure_query(["valuelist", "ECB", "VL", "1.0", "any value:1"], {}).items == ("any value:1",)
    assert parse_structure_query(["*", "ECB", "X", "~", "A"], {}).items == ("A",)


def test_too_many_segments():
    with pytest.raises(SyntaxError_, match="too many path segments"):
        parse_structure_query(["codelist", "ECB", "CL_FREQ", "1.0", "A", "B"], {})


@pytest.mark.parametrize("detail", STRUCTURE_DETAILS)
def test_every_detail(detail):
    assert parse_structure_query(["codelist"], {"detail": detail}).detail == detail
    assert parse_structure_query(["codelist"], {"DETAIL": detail.upper()}).detail == detail


def test_bad_detail_lists_the_values():
    with pytest.raises(SyntaxError_, match="detail='everything': expected one of full, allstubs.*raw"):
        parse_structure_query(["codelist"], {"detail": "everything"})


@pytest.mark.parametrize("walk", REFERENCE_WALKS)
def test_every_reference_walk(walk):
    assert parse_structure_query(["datastructure"], {"references": walk}).references == (walk,)


@pytest.mark.parametrize("artefact_type", sorted(BY_V2) + ["structureset"])
def test_references_to_a_type(artefact_type):
    expected = BY_V2[artefact_type].name if artefact_type in BY_V2 else "structureset"
    assert parse_structure_query(["datastructure"], {"references": artefact_type}).references == (expected,)


def test_reference_lists():
    q = parse_structure_query(["datastructure"], {"References": "codelist,ANCESTORS,codelist,none"})
    assert q.references == ("codelist", "ancestors")
    assert parse_structure_query(["datastructure"], {"references": "none"}).references == ("none",)
    with pytest.raises(SyntaxError_, match="references='codelist,cousins': 'cousins' is not one of none, parents"):
        parse_structure_query(["datastructure"], {"references": "codelist,cousins"})
    assert parse_structure_query(["dataflow"], {"references": "contentconstraint"}).references == ("dataconstraint",)
    assert parse_structure_query(["dataflow"], {"references": "organisationscheme,codelist"}).references == (
        "agencyscheme", "dataconsumerscheme", "dataproviderscheme", "organisationunitscheme", "codelist")
    with pytest.raises(SyntaxError_, match="references"):
        parse_structure_query(["datastructure"], {"references": "hierarchicalcodelist"})
    with pytest.raises(NotImplemented_, match="namealiasscheme"):
        parse_structure_query(["datastructure"], {"references": "namealiasscheme"})


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-01-31T12:00:00Z", datetime(2024, 1, 31, 12, tzinfo=UTC)),
        ("2024-01-31T12:00:00+01:00", datetime(2024, 1, 31, 12, tzinfo=timezone(timedelta(hours=1)))),
        ("2024-01-31T12:00:00 01:00", datetime(2024, 1, 31, 12, tzinfo=timezone(timedelta(hours=1)))),  # '+' as ' '
        ("2024-01-31T12:00:00-05:00", datetime(2024, 1, 31, 12, tzinfo=timezone(timedelta(hours=-5)))),
        ("2024-01-31T12:00:00.250", datetime(2024, 1, 31, 12, 0, 0, 250000, tzinfo=UTC)),  # no offset: UTC
    ],
)
def test_as_of(text, expected):
    moment = parse_structure_query(["codelist"], {"asOf": text}).as_of
    assert moment == expected and moment.tzinfo is not None


@pytest.mark.parametrize("bad", ["yesterday", "2024-13-01T00:00:00", "2024-01-31T25:00:00Z", "0000-01-01T00:00:00"])
def test_bad_as_of(bad):
    with pytest.raises(SyntaxError_, match="asOf=.*xs:dateTime"):
        parse_structure_query(["codelist"], {"asof": bad})


def test_unknown_parameters_are_ignored():
    q = parse_structure_query(["codelist"], {"format": "x", "startPeriod": "2020", "c[FREQ]": "A"})
    assert q == parse_structure_query(["codelist"], {})


# -- schema queries ----------------------------------------------------------------------------


@pytest.mark.parametrize("context", SCHEMA_CONTEXTS)
def test_schema_contexts(context):
    q = parse_schema_query([context, "ECB", "EXR"], {})
    assert q == SchemaQuery(context=BY_V2[context].name, agency="ECB", id="EXR", versions=LATEST, api="v2")


def test_schema_versions_and_parameters():
    q = parse_schema_query(["dataflow", "ECB", "EXR_WEB", "+", ""],  # the spec's example ends with '/'
                           {"dimensionAtObservation": "TIME_PERIOD", "deletion": "TRUE", "explicitMeasure": "false",
                            "asOf": "2024-01-01T00:00:00Z"})
    assert q.versions == LATEST_STABLE and q.dimension_at_observation == "TIME_PERIOD" and q.deletion
    assert not q.explicit_measure and q.as_of == datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_schema_query(["dataflow", "ECB", "EXR", "1.2.~"], {}).versions == Wildcard("~", 2, (1, 2, 0))
    assert parse_schema_query(["dataflow", "ECB", "EXR", "1.0"], {"explicitmeasure": "1"}).explicit_measure
    assert parse_schema_query(["datastructure", "ECB", "EXR"],
                              {"dimensionAtObservation": "AllDimensions"}).dimension_at_observation == "AllDimensions"


@pytest.mark.parametrize(
    "segments, params, message",
    [
        (["dataflows", "ECB", "EXR"], {}, "context='dataflows'"),
        (["codelist", "ECB", "EXR"], {}, "context='codelist'"),
        (["dataflow"], {}, "agencyID=''"),
        (["dataflow", "ECB"], {}, "resourceID=''"),
        (["dataflow", "*", "EXR"], {}, "agencyID='\\*': a schema is for one artefact"),
        (["dataflow", "ECB,BIS", "EXR"], {}, "agencyID"),
        (["dataflow", "ECB", "EXR,X"], {}, "resourceID"),
        (["dataflow", "ECB", "EXR", "*"], {}, "one version"),
        (["dataflow", "ECB", "EXR", "1.*.0"], {}, "one version"),
        (["dataflow", "ECB", "EXR", "1.0,2.0"], {}, "one version"),
        (["dataflow", "ECB", "EXR", "1.0,+"], {}, "one version"),
        (["dataflow", "ECB", "EXR", "1.0", "x"], {}, "too many path segments"),
        (["dataflow", "ECB", "EXR"], {"dimensionAtObservation": "1X"}, "dimensionAtObservation"),
        (["dataflow", "ECB", "EXR"], {"deletion": "yes"}, "deletion='yes': expected true or false"),
        (["dataflow", "ECB", "EXR"], {"explicitMeasure": "maybe"}, "explicitMeasure"),
        (["dataflow", "ECB", "EXR"], {"asOf": "now"}, "asOf"),
    ],
)
def test_schema_errors(segments, params, message):
    with pytest.raises(SyntaxError_, match=message):
        parse_schema_query(segments, params)


# -- reference metadata queries ----------------------------------------------------------------


def test_metadata_by_metadataset():
    assert parse_metadata_query(["metadataset"], {}) == MetadataSetQuery()
    q = parse_metadata_query(["metadataset", "ECB", "QUALITY_REPORT", "1.0.0"], {"detail": "allStubs"})
    assert q == MetadataSetQuery(providers=(ProviderRef(None, "ECB"),), ids=("QUALITY_REPORT",),
                                 versions=Exactly(("1.0.0",)), detail="allstubs")
    q = parse_metadata_query(["metadataset", "ECB.P1,P2", "MS1,MS2", "~", ""], {"asOf": "2024-01-01T00:00:00Z"})
    assert q.providers == (ProviderRef("ECB", "P1"), ProviderRef(None, "P2")) and q.ids == ("MS1", "MS2")
    assert q.as_of == datetime(2024, 1, 1, tzinfo=UTC)


def test_metadata_by_metadataflow():
    q = parse_metadata_query(["metadataflow", "ECB", "METHODOLOGY", "*", "FR2"], {})
    assert q == MetadataByFlowQuery(agencies=("ECB",), ids=("METHODOLOGY",), versions=ALL,
                                    providers=(ProviderRef(None, "FR2"),))
    q = parse_metadata_query(["metadataflow", "*", "METHODOLOGY", "+", ""], {"detail": "allstubs"})
    assert q.agencies is None and q.versions == LATEST_STABLE and q.providers is None and q.detail == "allstubs"
    assert parse_metadata_query(["metadataflow", "*", "M", "~", "CH2,NO2"], {}).providers == (
        ProviderRef(None, "CH2"), ProviderRef(None, "NO2"))
    assert parse_metadata_query(["metadataflow", "*", "M", "~", "*.P,ECB.DISS.P"], {}).providers == (
        ProviderRef(None, "P"), ProviderRef("ECB.DISS", "P"))
    assert parse_metadata_query(["metadataflow", "*", "M", "~", "P,*"], {}).providers is None


def test_metadata_by_structure():
    assert parse_metadata_query(["structure"], {}) == MetadataByStructureQuery()
    q = parse_metadata_query(["structure", "datastructure", "ECB", "ECB_EXR1", "1.0.0"], {})
    assert q == MetadataByStructureQuery(kinds=("datastructure",), agencies=("ECB",), ids=("ECB_EXR1",),
                                         versions=Exactly(("1.0.0",)), resource="datastructure")
    # The spec's examples leave out `structure/`; both read the same.
    assert parse_metadata_query(["datastructure", "ECB", "ECB_EXR1", "1.0.0"], {}) == q
    assert parse_metadata_query(["dataflow", ""], {"detail": "allStubs"}).detail == "allstubs"
    assert parse_metadata_query(["structure", "*", "ECB"], {}).kinds is None
    assert parse_metadata_query(["structure", "organisationscheme"], {}).kinds == (
        "agencyscheme", "dataconsumerscheme", "dataproviderscheme", "organisationunitscheme")


@pytest.mark.parametrize(
    "segments, params, message",
    [
        ([], {}, "not a metadata query"),
        (["metadatasets"], {}, "not a metadata query"),
        (["metadataset", "1P"], {}, "providerID"),
        (["metadataset", "P", "M S"], {}, "metadatasetID"),
        (["metadataset", "P", "M", "1.+.3"], {}, "version"),
        (["metadataset", "P", "M", "1.0", "x"], {}, "too many path segments"),
        (["metadataflow", "ECB", "M", "~", "ECB."], {}, "providerID"),
        (["metadataflow", "1ECB"], {}, "agencyID"),
        (["metadataflow", "ECB", "M", "~", "P", "x"], {}, "too many path segments"),
        (["structure", "codelists"], {}, "artefactType"),
        (["structure", "codelist", "ECB", "CL", "1.0", "A"], {}, "too many path segments"),
        (["metadataset"], {"detail": "referencepartial"}, "detail='referencepartial': expected one of full, allstubs"),
    ],
)
def test_metadata_errors(segments, params, message):
    with pytest.raises(SyntaxError_, match=message):
        parse_metadata_query(segments, params)


# -- nothing but SDMX errors, whatever the URL --------------------------------------------------

segment = st.one_of(
    st.text(max_size=12),
    st.text(alphabet="ABCabc019_.,*+~-@$ ", max_size=10),
    st.sampled_from(["", "*", "~", "+", "all", "ECB", "1.0", "1.+.0", "codelist", "valuelist", "dataflow",
                     "structure", "metadataset", "metadataflow", "datastructure"]),
)
param_names = st.sampled_from(["detail", "references", "asOf", "dimensionAtObservation", "deletion",
                               "explicitMeasure", "DETAIL", "x", ""])
params = st.dictionaries(param_names, st.one_of(st.text(max_size=12), st.sampled_from(
    ["full", "raw", "all", "codelist,parents", "2024-01-01T00:00:00Z", "true", "AllDimensions"])), max_size=4)


@given(st.lists(segment, max_size=7), params)
def test_v2_parsers_raise_nothing_but_sdmx_errors(segments, parameters):
    for parse in (parse_structure_query, parse_schema_query, parse_metadata_query):
        try:
            parse(segments, parameters)
        except SdmxError as exc:
            assert exc.message and exc.status in (400, 501)


@given(st.sampled_from(sorted(BY_V2)), st.sampled_from(["ECB", "*", "ECB,BIS.X"]), st.sampled_from(["CL", "*", "A,B"]),
       st.sampled_from(["1.0.0", "~", "+", "*", "1.+.0", "1.0,2.~"]), st.sampled_from(["A", "*", "A,B.C"]),
       st.integers(1, 5))
def test_well_formed_structure_paths_parse(artefact_type, agency, artefact_id, version, item, length):
    segments = [artefact_type, agency, artefact_id, version, item][:length]
    has_items = any(k.v2 == artefact_type and k.item_scheme for k in KINDS)
    if length == 5 and not has_items:
        with pytest.raises(SyntaxError_, match="has no items"):
            parse_structure_query(segments, {})
    else:
        assert parse_structure_query(segments, {}).kinds == (BY_V2[artefact_type].name,)
