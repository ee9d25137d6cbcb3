"""The gate (access/gate.py) and what it hides (registry/visibility.py), without a server.

A registry of entries with known references: two DSDs, one used only by non-public dataflows;
codelists used by one, both or neither; a concept scheme, constraints, categorisations, a
metadata set and a codelist extension around them. Each principal's view must hide exactly
what only dataflows it may not read use, and whatever names those; read allowances narrowed to
cube regions become SQL conditions that select exactly the rows inside; an upload region
refuses the rows outside, naming them.
"""

from __future__ import annotations

import numpy as np
import orjson
import pyarrow as pa
import pytest
import sqlalchemy as sa

from sdmx_server.access.gate import Gate, as_region, public_gate
from sdmx_server.access.principal import ANONYMOUS, COMMAND_LINE, Principal
from sdmx_server.access.rules import Grant, Scope, parse_where
from sdmx_server.errors import Forbidden, NoResults, Unauthorized
from sdmx_server.ingest.permitted import check_region
from sdmx_server.ingest.report import ValidationReport
from sdmx_server.kinds import BY_NAME
from sdmx_server.registry.index import Entry, Registry
from sdmx_server.registry.select import walk
from sdmx_server.registry.visibility import public_view
from sdmx_server.store.sql import region_condition


def urn(kind: str, artefact_id: str) -> str:
    return BY_NAME[kind].urn("TEST", artefact_id, "1.0")


def entry(kind: str, artefact_id: str, *refs: tuple[str, str], access: str = "public", body: dict | None = None):
    return Entry(kind, "TEST", artefact_id, "1.0", True, False, access, orjson.dumps(body or {}),
                 tuple(urn(k, i) for k, i in refs), 1)


def build() -> Registry:
    return Registry([
        entry("codelist", "CL_PUB"),
        entry("codelist", "CL_SHARED"),
        entry("codelist", "CL_PRIV"),
        entry("codelist", "CL_FREE"),
        entry("codelist", "CL_EXT", ("codelist", "CL_PRIV")),  # extends a codelist only hidden flows use
        entry("conceptscheme", "CS_PRIV", ("codelist", "CL_PRIV")),
        entry("datastructure", "DSD_PUB", ("codelist", "CL_PUB"), ("codelist", "CL_SHARED")),
        entry("datastructure", "DSD_PRIV", ("conceptscheme", "CS_PRIV"), ("codelist", "CL_SHARED"),
              ("codelist", "CL_PRIV")),
        entry("dataflow", "DF_PUB", ("datastructure", "DSD_PUB")),
        entry("dataflow", "DF_INT", ("datastructure", "DSD_PRIV"), access="internal"),
        entry("dataflow", "DF_RES", ("datastructure", "DSD_PRIV"), access="restricted"),
        entry("dataconstraint", "CON_PUB", ("dataflow", "DF_PUB")),
        entry("dataconstraint", "CON_INT", ("dataflow", "DF_INT")),
        entry("dataconstraint", "CON_RES", ("dataflow", "DF_RES")),
        entry("dataconstraint", "CON_DSD_PRIV", ("datastructure", "DSD_PRIV")),
        entry("categoryscheme", "CAT"),
        entry("categorisation", "CZ_PUB", ("dataflow", "DF_PUB"), ("categoryscheme", "CAT")),
        entry("categorisation", "CZ_INT", ("dataflow", "DF_INT"), ("categoryscheme", "CAT")),
        entry("metadataset", "MDS_INT", ("dataflow", "DF_INT"), body={"targets": [urn("dataflow", "DF_INT")]}),
        entry("metadataset", "MDS_CODE", ("codelist", "CL_PRIV")),
    ], generation=7)


EVERY = {(e.kind, e.id) for e in build().entries()}
#: What only DF_INT and DF_RES use, and what names one of them.
ONLY_HIDDEN_FLOWS = {
    ("dataflow", "DF_INT"), ("dataflow", "DF_RES"), ("datastructure", "DSD_PRIV"), ("conceptscheme", "CS_PRIV"),
    ("codelist", "CL_PRIV"), ("codelist", "CL_EXT"), ("dataconstraint", "CON_INT"), ("dataconstraint", "CON_RES"),
    ("dataconstraint", "CON_DSD_PRIV"), ("categorisation", "CZ_INT"), ("metadataset", "MDS_INT"),
    ("metadataset", "MDS_CODE"),
}


def grant(subject: str, action: str, scope: str, *where: str) -> Grant:
    return Grant(subject, action, Scope.parse(scope), parse_where(where))  # type: ignore[arg-type]


PROVINCIAL = Principal(name="tabriz", groups=frozenset({"province-03"}), method="token")
OFFICE = Principal(name="office", groups=frozenset({"office"}), method="token")
ADMIN = Principal(name="root", method="token")
GRANTS = (
    grant("group:province-03", "read", "TEST:DF_INT", "AREA=IR-03"),
    grant("group:province-03", "upload", "TEST:DF_INT", "AREA=IR-03"),
    grant("group:office", "read", "TEST:*"),
    grant("user:root", "admin", "*"),
)


def seen(gate: Gate) -> set[tuple[str, str]]:
    return {(e.kind, e.id) for e in gate.registry.entries() if gate.view(e)}


def test_the_public_sees_nothing_only_non_public_dataflows_use():
    registry = build()
    gate = Gate.of(ANONYMOUS, GRANTS, registry)
    assert seen(gate) == EVERY - ONLY_HIDDEN_FLOWS
    # Used by the public DSD too, or by no dataflow at all: visible.
    assert {("codelist", "CL_SHARED"), ("codelist", "CL_FREE"), ("categoryscheme", "CAT")} <= seen(gate)
    assert gate.view.key == ""  # the public's tags stay what they were
    assert gate.view is public_view(registry)  # kept with the registry: a lookup per request


def test_a_principal_reading_the_internal_flow_sees_its_structures_but_not_the_restricted_one():
    for principal in (PROVINCIAL, OFFICE):
        gate = Gate.of(principal, GRANTS, build())
        assert seen(gate) == EVERY - {("dataflow", "DF_RES"), ("dataconstraint", "CON_RES")}, principal
        assert gate.view.key not in ("", "everything")
    # The same rights give the same view; other rights another one.
    provincial, office = Gate.of(PROVINCIAL, GRANTS, build()), Gate.of(OFFICE, GRANTS, build())
    assert provincial.view.hidden == office.view.hidden
    assert Gate.of(ADMIN, GRANTS, provincial.registry).view.key != provincial.view.key


def test_admin_and_the_command_line_see_everything():
    assert seen(Gate.of(ADMIN, GRANTS, build())) == EVERY
    assert seen(Gate.of(COMMAND_LINE, (), build())) == EVERY


def test_restricted_flows_open_only_to_a_grant_naming_them():
    named = grant("user:tabriz", "read", "TEST:DF_RES")
    gate = Gate.of(PROVINCIAL, (named,), build())
    assert ("dataflow", "DF_RES") in seen(gate) and ("dataflow", "DF_INT") not in seen(gate)
    # DSD_PRIV is used by a visible dataflow now, so are its codelists and its constraint
    assert {("datastructure", "DSD_PRIV"), ("codelist", "CL_PRIV"), ("dataconstraint", "CON_DSD_PRIV")} <= seen(gate)
    assert ("dataconstraint", "CON_INT") not in seen(gate)
    everything = Gate.of(PROVINCIAL, (grant("user:tabriz", "read", "*"),), build())
    assert ("dataflow", "DF_RES") not in seen(everything)
    for pattern in ("TEST:DF_RE?", "TEST:DF_[R]ES", "T?ST:DF_RES", "TEST:DF_R*"):  # patterns never name one
        assert ("dataflow", "DF_RES") not in seen(Gate.of(PROVINCIAL, (grant("user:tabriz", "read", pattern),), build()))


def test_reference_walks_never_reach_what_is_hidden():
    registry = build()
    public = public_gate(registry).view
    shared = registry.entry("codelist", "TEST", "CL_SHARED", "1.0")
    parents = {e.id for e in walk(registry, [shared], ("parents",), public)}
    assert parents == {"DSD_PUB"}
    everything = {e.id for e in walk(registry, [shared], ("all",), public)}
    assert everything == {"DSD_PUB", "CL_PUB"}
    ancestors = {e.id for e in walk(registry, [shared], ("ancestors",), public)}
    assert ancestors == {"DSD_PUB", "DF_PUB", "CON_PUB", "CZ_PUB"}
    staff = Gate.of(OFFICE, GRANTS, registry).view
    assert {e.id for e in walk(registry, [shared], ("ancestors",), staff)} == {
        "DSD_PUB", "DF_PUB", "CON_PUB", "CZ_PUB", "DSD_PRIV", "DF_INT", "CON_INT", "CON_DSD_PRIV", "CZ_INT"}
    category = registry.entry("categoryscheme", "TEST", "CAT", "1.0")
    assert {e.id for e in walk(registry, [category], ("parents",), public)} == {"CZ_PUB"}


def test_selection_shows_only_the_visible_latest_version():
    registry = build()
    public = public_gate(registry).view
    assert [e.id for e in registry.select_entries("dataflow", None, None, "all", public)] == ["DF_PUB"]
    assert registry.select_entries("datastructure", ["TEST"], ["DSD_PRIV"], "latest", public) == []
    # no view given: the public's
    assert [e.id for e in registry.select_entries("datastructure", None, None, "all")] == ["DSD_PUB"]


def test_read_allowances_and_their_fingerprints():
    registry = build()
    provincial = Gate.of(PROVINCIAL, GRANTS, registry)
    read = provincial.read(("TEST", "DF_INT", "1.0"))
    assert as_region(read) == ((("AREA", ("IR-03",)),),)
    assert read.fingerprint not in ("all", "none")
    assert provincial.read(("TEST", "DF_PUB", "1.0")).whole  # public: everyone's, whole
    assert not provincial.read(("TEST", "DF_RES", "1.0")).allowed
    assert Gate.of(OFFICE, GRANTS, registry).read(("TEST", "DF_INT", "1.0")).fingerprint == "all"
    assert not public_gate(registry).read(("TEST", "DF_INT", "1.0")).allowed


def test_require_refuses_without_revealing():
    registry = build()
    anonymous, provincial = Gate.of(ANONYMOUS, GRANTS, registry), Gate.of(PROVINCIAL, GRANTS, registry)
    with pytest.raises(NoResults) as hidden:
        anonymous.require("read", "dataflow", ("TEST", "DF_INT", "1.0"))
    with pytest.raises(NoResults) as missing:
        anonymous.require("read", "dataflow", ("TEST", "DF_NONE", "1.0"))
    assert str(hidden.value).replace("DF_INT", "X") == str(missing.value).replace("DF_NONE", "X")
    with pytest.raises(Unauthorized):
        anonymous.require("upload", "dataflow", ("TEST", "DF_PUB", "1.0"))
    with pytest.raises(Unauthorized):  # a write by the anonymous: 401 whatever the artefact
        anonymous.require("upload", "dataflow", ("TEST", "DF_RES", "1.0"))
    with pytest.raises(Forbidden) as refused:
        provincial.require("upload", "dataflow", ("TEST", "DF_PUB", "1.0"))
    assert str(refused.value) == "no rule grants upload on TEST:DF_PUB(1.0)"
    with pytest.raises(NoResults):  # it cannot even read it: not found
        provincial.require("upload", "dataflow", ("TEST", "DF_RES", "1.0"))
    assert as_region(provincial.require("upload", "dataflow", ("TEST", "DF_INT", "1.0"))) == (
        (("AREA", ("IR-03",)),),)
    with pytest.raises(Forbidden):  # a new artefact needs maintain on its id too
        provincial.require("maintain", "codelist", ("TEST", "CL_NEW", "1.0"), new=True)
    maintainer = Gate.of(PROVINCIAL, (grant("user:tabriz", "maintain", "TEST:CL_*"),), registry)
    assert maintainer.require("maintain", "codelist", ("TEST", "CL_NEW", "1.0"), new=True).whole
    assert Gate.of(ADMIN, GRANTS, registry).require("upload", "dataflow", ("TEST", "DF_RES", "1.0")).whole


class _Shape:
    dimension_ids = ("FREQ", "AREA", "SEX")


def test_regions_select_exactly_the_rows_inside_in_sql():
    engine = sa.create_engine("sqlite://")
    table = sa.Table("t", sa.MetaData(), *[sa.Column(c, sa.String) for c in ("FREQ", "AREA", "SEX", "UNIT")])
    rows = [dict(FREQ=f, AREA=a, SEX=s, UNIT="u") for f in "MQ" for a in ("IR-03", "IR-10", "IR-23") for s in "FM"]
    with engine.begin() as conn:
        table.create(conn)
        conn.execute(table.insert(), rows)

    def selected(region) -> set[tuple[str, str, str]]:
        condition = region_condition(lambda d: table.c[d], _Shape, region)
        with engine.connect() as conn:
            return {tuple(r) for r in conn.execute(sa.select(table.c.FREQ, table.c.AREA, table.c.SEX).where(condition))}

    every = {(r["FREQ"], r["AREA"], r["SEX"]) for r in rows}
    assert selected(((("AREA", ("IR-03",)),),)) == {k for k in every if k[1] == "IR-03"}
    # OR of regions, AND within one
    both = ((("AREA", ("IR-03",)), ("SEX", ("F",))), (("AREA", ("IR-10", "IR-23")), ("FREQ", ("Q",))))
    assert selected(both) == {k for k in every if (k[1] == "IR-03" and k[2] == "F")
                              or (k[1] in ("IR-10", "IR-23") and k[0] == "Q")}
    # a region over a component that is no dimension holds nothing; none at all: nothing
    assert selected(((("UNIT", ("u",)),),)) == set()
    assert selected(()) == set()


def test_an_upload_region_reports_every_row_outside_by_value():
    report = ValidationReport()
    columns = {"FREQ": pa.array(["M", "M", "M", "Q"]), "AREA": pa.array(["IR-03", "IR-24", "IR-03", None]),
               "SEX": pa.array(["F", "F", "M", "F"])}
    check_region(report, _Shape, ((("AREA", ("IR-03",)),),), "TEST:DF_INT(1.0)", columns, np.array([2, 3, 4, 5]))
    lines = report.lines()
    assert not report.ok
    assert any("row 3" in line and "no rule grants upload on TEST:DF_INT(1.0) for AREA=IR-24" in line
               for line in lines), lines
    # a deletion that leaves the dimension open reaches every province: refused too
    assert any("row 5" in line and "AREA=*" in line for line in lines), lines
    assert not any("row 2" in line or "row 4" in line for line in lines), lines

    combined = ValidationReport()
    region = ((("AREA", ("IR-03",)), ("SEX", ("F",))), (("AREA", ("IR-10",)), ("SEX", ("M",))))
    check_region(combined, _Shape, region, "TEST:DF_INT(1.0)", columns, np.array([2, 3, 4, 5]))
    text = "\n".join(combined.lines())
    assert "for AREA=IR-24" in text and "for AREA=IR-03, SEX=M" in text, text

    inside = ValidationReport()
    check_region(inside, _Shape, ((("AREA", ("IR-03", "IR-24")), ("FREQ", ("M",))),), "TEST:DF_INT(1.0)",
                 {k: v[:3] for k, v in columns.items()}, np.array([2, 3, 4]))
    assert inside.ok, inside.lines()


def test_a_refused_delete_names_only_the_referring_artefacts_the_asker_sees():
    from sdmx_server.registry.change import delete_artefact

    from dataclasses import replace

    # A draft (final artefacts are never deleted), used by DSD_PUB and by DSD_PRIV.
    registry = Registry([replace(e, is_final=False) if e.id == "CL_SHARED" else e for e in build().entries()],
                        generation=7)
    key = ("codelist", "TEST", "CL_SHARED", "1.0")
    public = Gate.of(ANONYMOUS, GRANTS, registry)
    [refused] = delete_artefact(None, key, registry, public.view).results
    assert refused.code == 409
    assert "DSD_PUB" in refused.message and "DSD_PRIV" not in refused.message
    assert refused.message.endswith("1 other artefact")
    [told] = delete_artefact(None, key, registry, Gate.of(ADMIN, GRANTS, registry).view).results
    assert "DSD_PUB" in told.message and "DSD_PRIV" in told.message and "other" not in told.message
