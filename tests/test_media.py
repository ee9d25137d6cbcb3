"""The media table and content negotiation: which row answers which Accept header."""

from __future__ import annotations

import pytest

from sdmx_server.errors import NotAcceptable
from sdmx_server.formats.media import TABLE, default_row, error_row, negotiate, rows


def _name(choice) -> tuple[str, str | None]:
    return choice.row.type.rsplit(".", 1)[-1], choice.row.version


@pytest.mark.parametrize(
    "accept, expected",
    [
        (None, ("genericdata+xml", "2.1")),
        ("*/*", ("genericdata+xml", "2.1")),
        ("application/xml", ("genericdata+xml", "2.1")),
        ("application/vnd.sdmx.structurespecificdata+xml;version=2.1", ("structurespecificdata+xml", "2.1")),
        ("application/vnd.sdmx.data+csv;version=1.0.0", ("data+csv", "1.0.0")),
        ("application/vnd.sdmx.data+csv; version=2.0.0; labels=id", ("data+csv", "2.0.0")),
        ("text/csv", ("data+csv", "1.0.0")),
        ("application/json;q=0.9, application/vnd.sdmx.data+csv;version=1.0.0;q=0.5", ("data+json", "1.0.0")),
        ("application/json;q=0.4, application/vnd.sdmx.data+csv;version=1.0.0;q=0.5", ("data+csv", "1.0.0")),
        ("application/vnd.sdmx.data+json;version=1.0.0", ("data+json", "1.0.0")),
        ("application/vnd.jsonstat+json", ("jsonstat+json", None)),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ("sheet", None)),
        ("text/csv;q=0.4, application/vnd.sdmx.genericdata+xml;version=2.1", ("genericdata+xml", "2.1")),
        ("application/vnd.sdmx.genericdata+xml, */*;q=0.1", ("genericdata+xml", "2.1")),
        ("application/vnd.sdmx.data+csv;version=1.0.0;charset=UTF-8", ("data+csv", "1.0.0")),
    ],
)
def test_data_negotiation_v1(accept, expected):
    assert _name(negotiate("data", "v1", accept)) == expected


def test_refusal_lists_the_offers():
    with pytest.raises(NotAcceptable) as info:
        negotiate("data", "v1", "application/vnd.sdmx.data+json;version=2.0.0")  # SDMX 3.0's JSON: v2 only
    assert "application/vnd.sdmx.genericdata+xml; version=2.1" in info.value.offered
    assert negotiate("data", "v1", "text/html", format_param="csv").row.options == {"version": "1.0"}
    with pytest.raises(NotAcceptable):
        negotiate("data", "v1", "text/html", format_param="pdf")


@pytest.mark.parametrize(
    "accept",
    [
        "application/vnd.sdmx.data+csv;version=1.0.0;labels=name",  # SDMX-CSV 1.0 has id|both only
        "application/vnd.sdmx.data+csv;version=1.0.0;keys=obs",  # a 2.x parameter
        "application/vnd.sdmx.data+csv;version=2.0.0;timeFormat=iso",
        "application/vnd.sdmx.data+csv;version=2.1.0;keys=all",
        "application/vnd.sdmx.data+csv;version=2.0.0;foo=bar",
        "text/csv;charset=latin-1",
    ],
)
def test_a_parameter_that_cannot_be_honoured_is_a_406(accept):
    with pytest.raises(NotAcceptable) as info:
        negotiate("data", "v1", accept)
    assert "cannot honour" in info.value.message


def test_parameters_that_are_honoured_reach_the_writer():
    choice = negotiate("data", "v1", "application/vnd.sdmx.data+csv; version=2.0.0; labels=id")
    assert choice.parameters == {"labels": "id"}


def test_v2_data_rows_follow_the_spec():
    # */* and application/xml: SDMX-ML 3.0.0 (sdmx1 sends */* and reads XML); text/csv: SDMX-CSV 2.1.0.
    assert negotiate("data", "v2", "*/*").row.version == "3.0.0"
    assert negotiate("data", "v2", "application/xml").row.version == "3.0.0"
    assert negotiate("data", "v2", "application/vnd.sdmx.data+xml;version=3.1.0").row.options == {"version": "3.1.0"}
    choice = negotiate("data", "v2", "application/vnd.sdmx.data+csv;version=2.1.0;labels=both;timeFormat=normalized;keys=both")
    assert choice.row.version == "2.1.0" and choice.parameters == {"labels": "both", "timeformat": "normalized", "keys": "both"}
    assert negotiate("data", "v2", "text/csv").row.version == "2.1.0"
    assert negotiate("data", "v1", "text/csv").row.version == "1.0.0"


def test_json_jsonstat_and_excel_rows():
    """SDMX-JSON 2.1.0 answers REST v2 data without Accept (data.md) and application/json;
    JSON-stat and Excel are named by format= on both APIs."""
    assert default_row(rows("data", "v2")).version == "2.1.0"
    assert _name(negotiate("data", "v2", None)) == ("data+json", "2.1.0")
    assert _name(negotiate("data", "v2", "application/json")) == ("data+json", "2.1.0")
    assert _name(negotiate("data", "v2", "application/vnd.sdmx.data+json;version=2.0.0")) == ("data+json", "2.0.0")
    assert _name(negotiate("data", "v2", "application/vnd.sdmx.data+json;version=1.0.0")) == ("data+json", "1.0.0")
    for api in ("v1", "v2"):
        assert negotiate("data", api, None, format_param="jsonstat").row.writer.endswith("data_jsonstat:write")
        assert negotiate("data", api, None, format_param="xlsx").row.writer.endswith("data_xlsx:write")
    assert _name(negotiate("data", "v1", None, format_param="json")) == ("data+json", "1.0.0")


def test_every_row_has_a_writer_that_imports():
    for row in TABLE:
        assert callable(row.load()), row


def test_each_answer_and_api_has_a_default():
    for answer, api in [("structure", "v1"), ("data", "v1"), ("schema", "v1"), ("error", "v1"), ("error", "v2")]:
        assert rows(answer, api), (answer, api)


def test_v2_errors_follow_the_family_the_client_prefers():
    assert error_row("v2", "application/vnd.sdmx.structure+json;version=2.0.0").family == "json"
    assert error_row("v2", "application/vnd.sdmx.structure+xml;version=3.0.0").family == "xml"
    assert error_row("v2", None).family == "xml"
    assert error_row("v1", "application/json").family == "xml"


# -- structures: SDMX-JSON and SDMX-ML 3.1 ---------------------------------------------------------


@pytest.mark.parametrize(
    "api, accept, expected",
    [
        # REST v2: SDMX-JSON 2.1.0 is the spec's default, but */* keeps SDMX-ML 3.0.0 (sdmx1 sends
        # it and reads XML only)
        ("v2", None, ("structure+json", "2.1.0")),
        ("v2", "", ("structure+json", "2.1.0")),
        ("v2", "*/*", ("structure+xml", "3.0.0")),
        ("v2", "application/*", ("structure+xml", "3.0.0")),
        ("v2", "application/xml", ("structure+xml", "3.0.0")),
        ("v2", "application/vnd.sdmx.structure+json;version=2.1.0", ("structure+json", "2.1.0")),
        ("v2", "application/vnd.sdmx.structure+json;version=2.0.0", ("structure+json", "2.0.0")),
        ("v2", "application/vnd.sdmx.structure+json; version=1.0.0", ("structure+json", "1.0.0")),
        ("v2", "application/vnd.sdmx.structure+json", ("structure+json", "2.1.0")),
        ("v2", "application/vnd.sdmx.structure+xml;version=3.1.0", ("structure+xml", "3.1.0")),
        ("v2", "application/vnd.sdmx.structure+xml;version=3.1", ("structure+xml", "3.1.0")),
        ("v2", "application/vnd.sdmx.structure+xml;version=3.0.0", ("structure+xml", "3.0.0")),
        ("v2", "application/vnd.sdmx.structure+xml;version=2.1", ("structure+xml", "2.1")),
        ("v2", "application/vnd.sdmx.structure+json;version=2.0.0;q=0.5, */*;q=0.1", ("structure+json", "2.0.0")),
        # REST v1: SDMX-ML 2.1 stays the default; SDMX-JSON 1.0.0 on request, application/json too
        ("v1", None, ("structure+xml", "2.1")),
        ("v1", "*/*", ("structure+xml", "2.1")),
        ("v1", "application/vnd.sdmx.structure+json;version=1.0.0", ("structure+json", "1.0.0")),
        ("v1", "application/json", ("structure+json", "1.0.0")),
    ],
)
def test_structure_negotiation(api, accept, expected):
    assert _name(negotiate("structure", api, accept)) == expected


@pytest.mark.parametrize(
    "api, accept",
    [
        ("v2", "application/json"),  # three SDMX-JSON versions: which one is not said
        ("v1", "application/vnd.sdmx.structure+json;version=2.0.0"),  # SDMX 3.0 formats are REST v2's
        ("v1", "application/vnd.sdmx.structure+xml;version=3.1.0"),
        ("v2", "application/vnd.sdmx.structure+json;version=3.0.0"),
    ],
)
def test_structure_formats_not_offered(api, accept):
    with pytest.raises(NotAcceptable):
        negotiate("structure", api, accept)


def test_structure_format_names():
    assert _name(negotiate("structure", "v2", None, "sdmx-json-2.0")) == ("structure+json", "2.0.0")
    assert _name(negotiate("structure", "v2", None, "json")) == ("structure+json", "2.1.0")
    assert _name(negotiate("structure", "v2", None, "sdmx-ml-3.1")) == ("structure+xml", "3.1.0")
    assert _name(negotiate("structure", "v1", None, "json")) == ("structure+json", "1.0.0")


def test_one_default_per_answer_and_api():
    """At most one row of an (answer, api) is flagged the default without Accept."""
    for answer in ("structure", "data", "schema", "metadata", "error", "submission"):
        for api in ("v1", "v2"):
            assert sum(row.default for row in rows(answer, api)) <= 1, (answer, api)
    assert default_row(rows("data", "v1")) is rows("data", "v1")[0]  # without a flag, the first


def test_content_types_of_structure_rows():
    types = {row.content_type for row in rows("structure", "v2")}
    assert {
        "application/vnd.sdmx.structure+json; version=2.1.0",
        "application/vnd.sdmx.structure+json; version=2.0.0",
        "application/vnd.sdmx.structure+json; version=1.0.0",
        "application/vnd.sdmx.structure+xml; version=3.1.0",
        "application/vnd.sdmx.structure+xml; version=3.0.0",
    } <= types
