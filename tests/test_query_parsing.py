"""REST v1 URL parsing: keys, flow references, parameters, structure and schema queries,
content negotiation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdmx_server.versions import ALL, LATEST, Exactly
from sdmx_server.errors import NotAcceptable, NotImplemented_, SdmxError, SyntaxError_
from sdmx_server.kinds import BY_V1
from sdmx_server.query.keys import fit_key, format_key, parse_key
from sdmx_server.query.model import SchemaQuery
from sdmx_server.query.parse_v1 import (
    ITEM_RESOURCES,
    REFERENCES,
    SCHEMA_CONTEXTS,
    STRUCTURE_RESOURCES,
    V1_STRUCTURE_DETAILS,
    parse_data_query,
    parse_flow_ref,
    parse_schema_query_v1,
    parse_structure_query,
)

codes = st.from_regex(r"[A-Za-z0-9_@$\-]{1,8}", fullmatch=True)
key_parts = st.lists(st.one_of(st.none(), st.lists(codes, min_size=1, max_size=3, unique=True)), min_size=1, max_size=7)


@given(key_parts)
def test_key_round_trip(parts):
    text = ".".join("" if p is None else "+".join(p) for p in parts)
    key = parse_key(text)
    if all(p is None for p in parts):
        assert key is None or all(k is None for k in key)
        return
    assert key == tuple(None if p is None else tuple(p) for p in parts)
    assert format_key(key, len(parts)) == text


@pytest.mark.parametrize("text", ["M.US D", "M.<x>", "M.a'b", "M.a;b"])
def test_key_rejects_what_is_not_a_code(text):
    with pytest.raises(SyntaxError_):
        parse_key(text)


def test_key_wildcards_and_length():
    assert parse_key("all") is None
    assert parse_key("M..EUR") == (("M",), None, ("EUR",))
    assert parse_key("M.*.EUR") == (("M",), None, ("EUR",))
    assert fit_key(parse_key("..."), ("A", "B", "C", "D")) is None
    with pytest.raises(SyntaxError_, match="2 dimension"):
        fit_key(parse_key("M.X"), ("A", "B", "C"))


def test_flow_refs():
    assert parse_flow_ref("EXR").agency is None
    ref = parse_flow_ref("ECB,EXR,1.0")
    assert (ref.agency, ref.id, ref.version) == ("ECB", "EXR", "1.0")
    assert parse_flow_ref("all,EXR,latest").agency is None
    assert parse_flow_ref("ECB,EXR").version == "latest"
    for bad in ("ECB,EXR,1.0,x", "EC B,EXR", "ECB,E/X", "ECB,EXR,one"):
        with pytest.raises(SyntaxError_):
            parse_flow_ref(bad)


def test_data_parameters():
    q = parse_data_query("EXR", "M.USD", None, {"startPeriod": "2020-01", "ENDPERIOD": "2020-Q4",
                                                 "lastNObservations": "3", "detail": "dataonly"})
    assert q.start.text == "2020-01" and q.end.text == "2020-Q4" and q.last_n == 3 and q.detail == "dataonly"
    with pytest.raises(SyntaxError_):
        parse_data_query("EXR", None, None, {"startPeriod": "2020-13"})
    with pytest.raises(SyntaxError_):
        parse_data_query("EXR", None, None, {"firstNObservations": "0"})
    with pytest.raises(SyntaxError_):
        parse_data_query("EXR", None, None, {"detail": "everything"})
    with pytest.raises(SyntaxError_, match="updatedAfter"):
        parse_data_query("EXR", None, None, {"updatedAfter": "2020-13-01T00:00:00"})
    assert parse_data_query("EXR", None, None, {"updatedAfter": "2020-01-01T00:00:00"}).updated_after is not None
    assert parse_data_query("EXR", None, None, {"includeHistory": "true"}).include_history
    assert parse_data_query("EXR", None, None, {"includeHistory": "false"}).detail == "full"


def test_structure_parameters():
    q = parse_structure_query("codelist", "BIS+ECB", "CL_FREQ", None, "A+M", {"detail": "allstubs"})
    assert q.agencies == ("BIS", "ECB") and q.ids == ("CL_FREQ",) and q.versions == LATEST
    assert q.items == ("A", "M") and q.detail == "allstubs"
    assert parse_structure_query("dataflow", "all", "all", "all", None, {}).versions == ALL
    with pytest.raises(SyntaxError_):
        parse_structure_query("codelists", None, None, None, None, {})
    with pytest.raises(SyntaxError_):
        parse_structure_query("codelist", None, None, None, None, {"references": "cousins"})


V1_RESOURCES = (  # 4_3_structural_queries.md, in its order
    "datastructure", "metadatastructure", "categoryscheme", "conceptscheme", "codelist", "hierarchicalcodelist",
    "organisationscheme", "agencyscheme", "dataproviderscheme", "dataconsumerscheme", "organisationunitscheme",
    "dataflow", "metadataflow", "reportingtaxonomy", "provisionagreement", "structureset", "process",
    "categorisation", "contentconstraint", "actualconstraint", "allowedconstraint", "attachmentconstraint",
    "transformationscheme", "rulesetscheme", "userdefinedoperatorscheme", "customtypescheme",
    "namepersonalisationscheme", "vtlmappingscheme", "structure",
)
V1_ITEM_RESOURCES = (  # the item schemes of the spec, and hierarchicalcodelist
    "categoryscheme", "conceptscheme", "codelist", "organisationscheme", "agencyscheme", "dataproviderscheme",
    "dataconsumerscheme", "organisationunitscheme", "reportingtaxonomy", "transformationscheme", "rulesetscheme",
    "userdefinedoperatorscheme", "customtypescheme", "namepersonalisationscheme", "vtlmappingscheme",
    "hierarchicalcodelist",
)


def test_the_v1_resources_are_those_of_the_spec():
    assert set(STRUCTURE_RESOURCES) == set(V1_RESOURCES)
    assert set(ITEM_RESOURCES) == set(V1_ITEM_RESOURCES)


@pytest.mark.parametrize("resource", V1_RESOURCES)
def test_every_v1_resource(resource):
    q = parse_structure_query(resource, "ECB", "X", "1.0", None, {})
    assert q.resource == resource and q.api == "v1"
    expected = None if resource == "structure" else tuple(k.name for k in BY_V1[resource])
    assert q.kinds == expected


def test_constraint_roles_and_organisation_schemes():
    for resource in ("contentconstraint", "actualconstraint", "allowedconstraint"):
        q = parse_structure_query(resource, None, None, None, None, {})
        assert q.kinds == ("dataconstraint",) and q.resource == resource
    assert parse_structure_query("organisationscheme", None, None, None, None, {}).kinds == (
        "agencyscheme", "dataconsumerscheme", "dataproviderscheme", "organisationunitscheme")


@pytest.mark.parametrize("resource", V1_ITEM_RESOURCES)
def test_v1_items(resource):
    assert parse_structure_query(resource, "ECB", "X", "1.0", "A+B.1+A", {}).items == ("A", "B.1")
    assert parse_structure_query(resource, "ECB", "X", "1.0", "all", {}).items is None


@pytest.mark.parametrize("resource", sorted(set(V1_RESOURCES) - set(V1_ITEM_RESOURCES)))
def test_a_v1_item_on_a_resource_without_items_is_a_400(resource):
    with pytest.raises(SyntaxError_, match=f"itemID 'A': {resource} has no items"):
        parse_structure_query(resource, "ECB", "X", "1.0", "A", {})


def test_v1_identification():
    q = parse_structure_query("codelist", "", "", "", "", {})  # empty parts are missing ones
    assert (q.agencies, q.ids, q.versions, q.items) == (None, None, LATEST, None)
    q = parse_structure_query("codelist", "ECB+all", "CL_FREQ", "latest", None, {})
    assert q.agencies is None and q.versions == LATEST
    assert parse_structure_query("codelist", "ECB", "CL_FREQ", "1.0+2.1", None, {}).versions == Exactly(("1.0", "2.1"))
    for agency, artefact_id, version, item, parameter in [
        ("EC B", None, None, None, "agencyID"), ("ECB,BIS", None, None, None, "agencyID"),
        ("ECB", "CL FREQ", None, None, "resourceID"), ("ECB", "CL_FREQ", "1.0+latest", None, "version"),
        ("ECB", "CL_FREQ", "~", None, "version"), ("ECB", "CL_FREQ", "1.0", "A B", "itemID"),
    ]:
        with pytest.raises(SyntaxError_, match=parameter):
            parse_structure_query("codelist", agency, artefact_id, version, item, {})


@pytest.mark.parametrize("detail", V1_STRUCTURE_DETAILS)
def test_every_v1_detail(detail):
    assert parse_structure_query("codelist", None, None, None, None, {"Detail": detail.upper()}).detail == detail


def test_v1_has_no_raw_detail_and_no_ancestors():
    with pytest.raises(SyntaxError_, match="detail='raw': expected one of full"):
        parse_structure_query("codelist", None, None, None, None, {"detail": "raw"})
    with pytest.raises(SyntaxError_, match="references='ancestors': expected one of none"):
        parse_structure_query("codelist", None, None, None, None, {"references": "ancestors"})


@pytest.mark.parametrize("walk", REFERENCES)
def test_every_v1_reference_walk(walk):
    assert parse_structure_query("datastructure", None, None, None, None, {"references": walk}).references == (walk,)


@pytest.mark.parametrize("resource", sorted(BY_V1))
def test_v1_references_to_a_resource(resource):
    q = parse_structure_query("datastructure", None, None, None, None, {"references": resource})
    assert q.references == tuple(dict.fromkeys(k.name for k in BY_V1[resource]))


def test_v1_references_refused():
    for bad in ("structure", "codelist+conceptscheme", "codelist,conceptscheme", "valuelist"):
        with pytest.raises(SyntaxError_, match="references"):
            parse_structure_query("datastructure", None, None, None, None, {"references": bad})


@pytest.mark.parametrize("context", SCHEMA_CONTEXTS)
def test_v1_schema_contexts(context):
    assert parse_schema_query_v1([context, "ECB", "EXR"], {}) == SchemaQuery(
        context=context, agency="ECB", id="EXR", versions=LATEST, api="v1")


def test_v1_schema_parameters():
    q = parse_schema_query_v1(["provisionagreement", "ECB", "EXR_WEB", "1.0", ""],
                              {"dimensionAtObservation": "CURRENCY", "explicitMeasure": "true"})
    assert q.versions == Exactly(("1.0",)) and q.dimension_at_observation == "CURRENCY" and q.explicit_measure
    assert parse_schema_query_v1(["dataflow", "ECB", "EXR", "latest"], {"explicit": "true"}).explicit_measure


@pytest.mark.parametrize(
    "segments, params, message",
    [
        (["dataflow", "all", "EXR"], {}, "agencyID='all': a schema is for exactly one artefact"),
        (["dataflow", "ECB", "all"], {}, "resourceID='all'"),
        (["dataflow", "ECB"], {}, "resourceID=''"),
        (["dataflow"], {}, "agencyID=''"),
        (["dataflow", "ECB+BIS", "EXR"], {}, "agencyID"),
        (["dataflow", "ECB", "EXR", "all"], {}, "one version"),
        (["dataflow", "ECB", "EXR", "1.0+2.0"], {}, "one version"),
        (["dataflow", "ECB", "EXR", "+"], {}, "version"),
        (["metadataprovisionagreement", "ECB", "EXR"], {}, "context"),
        (["codelist", "ECB", "EXR"], {}, "context"),
        (["dataflow", "ECB", "EXR", "1.0", "x"], {}, "too many path segments"),
        (["dataflow", "ECB", "EXR"], {"explicitMeasure": "sure"}, "explicitMeasure"),
        (["dataflow", "ECB", "EXR"], {"dimensionAtObservation": "A B"}, "dimensionAtObservation"),
    ],
)
def test_v1_schema_errors(segments, params, message):
    with pytest.raises(SyntaxError_, match=message):
        parse_schema_query_v1(segments, params)


part = st.one_of(st.none(), st.text(max_size=10), st.text(alphabet="ABC019_.+*~-all ", max_size=10),
                 st.sampled_from(["all", "latest", "ECB", "1.0", "A+B"]))
v1_params = st.dictionaries(st.sampled_from(["detail", "references", "explicitMeasure", "explicit",
                                             "dimensionAtObservation", "x"]),
                            st.one_of(st.text(max_size=10), st.sampled_from(["full", "all", "codelist", "true"])),
                            max_size=3)


@given(st.one_of(st.sampled_from(V1_RESOURCES), st.text(max_size=8)), part, part, part, part, v1_params)
def test_v1_structure_parser_raises_nothing_but_sdmx_errors(resource, agency, artefact_id, version, item, params):
    try:
        parse_structure_query(resource, agency, artefact_id, version, item, params)
    except SdmxError as exc:
        assert exc.status == 400 and exc.message


@given(st.lists(part.map(lambda p: p or ""), max_size=6), v1_params)
def test_v1_schema_parser_raises_nothing_but_sdmx_errors(segments, params):
    try:
        parse_schema_query_v1(segments, params)
    except SdmxError as exc:
        assert exc.status == 400 and exc.message


