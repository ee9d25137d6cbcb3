"""Versions: ordering, stability, the REST v1/v2 version languages, wildcarded references.

The v2 selections are checked against an oracle written form by form from the sentences of
querying_versions.md, over generated sets of versions.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sdmx_server.versions import (
    ALL,
    LATEST,
    LATEST_STABLE,
    AnyOf,
    Exactly,
    VersionSyntaxError,
    Wildcard,
    is_semantic,
    is_stable,
    is_wildcarded,
    latest,
    matches,
    parse_version_query,
    resolve,
    version_key,
)

# -- ordering ---------------------------------------------------------------------------------


def test_order_follows_the_technical_notes_precedence():
    # The example chain of the SDMX 3.0 semantic versioning rules, plus numeric parts.
    chain = ["1.0.0-draft", "1.0.0-draft.1", "1.0.0-draft.prerelease", "1.0.0-prerelease",
             "1.0.0-prerelease.2", "1.0.0-prerelease.11", "1.0.0-rc.1", "1.0.0", "1.9.0", "1.10.0", "2.0.0"]
    assert sorted(reversed(chain), key=version_key) == chain


def test_legacy_versions_sort_among_semantic_ones():
    assert sorted(["1.10", "1.9", "1.0", "2", "1.2.0", "1.2", "1.2.0-draft"], key=version_key) == [
        "1.0", "1.2.0-draft", "1.2", "1.2.0", "1.9", "1.10", "2"]
    assert latest(["1.0", "1.0.0", "0.9"]) == "1.0.0"


@given(st.lists(st.text(max_size=12), max_size=6))
def test_version_key_is_a_total_order_on_any_text(texts):
    ordered = sorted(texts, key=version_key)  # never raises, even on text that is no version
    assert sorted(ordered, key=version_key) == ordered


@pytest.mark.parametrize(
    "version, semantic, stable",
    [
        ("1.0.0", True, True), ("0.1.0", True, True), ("1.2.0-draft", True, False),
        ("1.0.0-0.3.7", True, False), ("1.0.0-x.7.z.92", True, False), ("2.3.1", True, True),
        ("1.0", False, False), ("1", False, False), ("01.0.0", False, False), ("1.0.0.1", False, False),
        ("1.0.0-", False, False), ("1.0.0-01", False, False), ("1.0.0-dr_aft", False, False), ("", False, False),
    ],
)
def test_semantic_and_stable(version, semantic, stable):
    assert is_semantic(version) is semantic
    assert is_stable(version) is stable


def test_is_wildcarded():
    assert is_wildcarded("1.0+.0") and is_wildcarded("~") and is_wildcarded("*")
    assert not is_wildcarded("1.0.0") and not is_wildcarded("1.0.0-draft")


# -- the v2 language, form by form -------------------------------------------------------------

AVAILABLE = ["0.9.0", "1", "1.0", "1.5", "1.0.0", "1.0.1", "1.2.0-draft", "1.2.0", "1.3.5", "1.4.0-draft",
             "2.0.0-draft", "2.0.0", "2.1.0", "2.1.3-rc.1", "3.0", "1.0.0.1"]


@pytest.mark.parametrize(
    "query, expected",
    [
        # specific versions
        ("1", ["1"]), ("1.0", ["1.0"]), ("1.0.0", ["1.0.0"]), ("1.2.0-draft", ["1.2.0-draft"]), ("9.9.9", []),
        # latest stable
        ("+", ["2.1.0"]), ("+.0.0", ["2.1.0"]), ("1+.0.0", ["2.1.0"]),
        ("1.+.0", ["1.5"]), ("1.0+.0", ["1.5"]), ("1.2.+", ["1.2.0"]), ("1.0.+", ["1.0.1"]),
        ("2+.0.0", ["2.1.0"]), ("1.2+.1", ["1.5"]), ("1.2+.0", ["1.5"]), ("1.3.+", ["1.3.5"]), ("1.0.1+", ["1.0.1"]), ("1.3.6+", []), ("3.+.0", []),
        # latest, stable or not
        ("~", ["3.0"]), ("~.0", ["3.0"]), ("0~.0", ["3.0"]), ("~.0.0", ["3.0"]), ("2.~.0", ["2.1.3-rc.1"]),
        ("1.~", ["1.5"]), ("1.0~", ["1.5"]), ("1.~.0", ["1.5"]), ("1.2.~", ["1.2.0"]), ("2.1.~", ["2.1.3-rc.1"]),
        ("1~.5", ["3.0"]), ("1~.3.0", ["3.0"]), ("1.2~", ["1.5"]), ("1.3~.0", ["1.5"]),
        ("2.0.1~", []),
        # all
        ("*", sorted(AVAILABLE, key=version_key)),
        ("*.0", ["1.0", "1.5", "3.0"]), ("3.*", ["3.0"]), ("1.*.0", ["1", "1.0.0", "1.0", "1.0.1", "1.2.0-draft",
                                                                   "1.2.0", "1.3.5", "1.4.0-draft", "1.5"]),
        ("2.*.0", ["2.0.0-draft", "2.0.0", "2.1.0", "2.1.3-rc.1"]), ("2.1.*", ["2.1.0", "2.1.3-rc.1"]),
        ("1*.5", ["1.5", "3.0"]), ("1.3*.0", ["1.3.5", "1.4.0-draft", "1.5"]), ("2*.1.0", ["2.1.0", "2.1.3-rc.1", "3.0"]),
        ("1.2*", ["1.5"]), ("2.1.1*", ["2.1.3-rc.1"]),
        # OR
        ("1.0,+", ["1.0", "2.1.0"]), ("1~.2.0,1.2.0+", ["1.2.0", "3.0"]), ("+,1.3.1*", ["1.3.5", "2.1.0"]),
    ],
)
def test_v2_forms(query, expected):
    # Legacy "1" and "1.5" are final here (1.0.0, 1.5.0); "1.0" and "3.0" are not (1.0.0-draft, 3.0.0-draft).
    got = parse_version_query(query, "v2").select(AVAILABLE, final={"1", "1.5"})
    assert got == sorted(expected, key=version_key)


@pytest.mark.parametrize(
    "a, b",
    [("+", "+.0.0"), ("+", "1+.0.0"), ("2.+.0", "2.0+.0"), ("2.3.+", "2.3.0+"), ("~.0", "0~.0"),
     ("~.0.0", "0~.0.0"), ("2.~", "2.0~"), ("2.~.0", "2.0~.0"), ("2.3.~", "2.3.0~"), ("*.0", "0*.0"),
     ("*.0.0", "0*.0.0"), ("2.*", "2.0*"), ("2.*.0", "2.0*.0"), ("2.3.*", "2.3.0*")],
)
def test_equivalent_spellings_are_equal(a, b):
    assert parse_version_query(a, "v2") == parse_version_query(b, "v2")


@pytest.mark.parametrize(
    "query, fix",
    [("+.2.3", "+.0.0"), ("1.+.3", "1.+.0"), ("~.2", "~.0"), ("~.2.3", "~.0.0"), ("1.~.3", "1.~.0"),
     ("*.2", "*.0"), ("*.2.3", "*.0.0"), ("1.*.3", "1.*.0"), ("+.0", "+.0.0"), ("2.3+", "2.3+.0"),
     ("~.0.*", "one"), ("3.2*.1+", "one"), ("3.2+.1+", "one")],
)
def test_the_unsupported_forms_of_the_spec_are_refused_with_the_fix(query, fix):
    with pytest.raises(VersionSyntaxError, match=re.escape(fix)):
        parse_version_query(query, "v2")


@pytest.mark.parametrize(
    "query, reason",
    [("0.+.0", "above 0"), ("0+.1.0", "above 0"), ("1~", "alone"), ("1*", "alone"), ("1.2.3.4+", "at most three"),
     ("1.2+.0-draft", "extension"), ("latest", "REST v1"), ("all", "REST v1"), ("1,,2", "empty"), (",", "empty"),
     ("1.a", "not a version"), ("1.x+.0", "not a version part"), ("1..+", "not a version part")],
)
def test_other_bad_versions(query, reason):
    with pytest.raises(VersionSyntaxError, match=reason):
        parse_version_query(query, "v2")


def test_v2_defaults_and_the_bare_operators():
    assert parse_version_query(None, "v2") is LATEST and parse_version_query("", "v2") is LATEST
    assert parse_version_query("~", "v2") is LATEST and parse_version_query("*", "v2") is ALL
    assert parse_version_query("+", "v2") == LATEST_STABLE
    assert parse_version_query("1.0,2.0,1.0", "v2") == Exactly(("1.0", "2.0"))
    assert isinstance(parse_version_query("1.0,+", "v2"), AnyOf)


def test_v1_versions():
    assert parse_version_query(None, "v1") is LATEST and parse_version_query("latest", "v1") is LATEST
    assert parse_version_query("all", "v1") is ALL
    assert parse_version_query("1.0+2.1+1.0", "v1") == Exactly(("1.0", "2.1"))
    assert parse_version_query("1.2.0-draft", "v1") == Exactly(("1.2.0-draft",))
    for bad in ("1.0+latest", "+", "~", "1.0+", "1.a"):
        with pytest.raises(VersionSyntaxError):
            parse_version_query(bad, "v1")


# -- legacy versions under v2 wildcards (our decision, documented in versions.py) ---------------


def test_a_final_legacy_version_is_its_semantic_equivalent_for_three_part_forms():
    plus = parse_version_query("+", "v2")
    assert plus.select(["1.0"]) == []  # not final: 1.0.0-draft
    assert plus.select(["1.0"], final={"1.0"}) == ["1.0"]  # final: 1.0.0
    assert plus.select(["1.0", "1.0.0"], final={"1.0"}) == ["1.0.0"]  # the semantic one wins
    assert parse_version_query("1.0.+", "v2").select(["1"], final={"1"}) == ["1"]  # 1 is 1.0.0
    assert parse_version_query("1.~.0", "v2").select(["1.4", "1.3.0"]) == ["1.4"]  # 1.4.0-draft
    # Two-part forms see legacy x.y only; bare ~ and * see every form.
    assert parse_version_query("~.0", "v2").select(["1.0.0", "0.9", "1.0.0.1"]) == ["0.9"]
    assert parse_version_query("~", "v2").select(["1.0.0", "0.9", "1.0.0.1"]) == ["1.0.0.1"]
    assert parse_version_query("*.0.0", "v2").select(["1.0.0.1", "1.0-draft"]) == []


# -- references --------------------------------------------------------------------------------


def test_references_resolve_as_the_technical_notes_say():
    codelists = ["1.3.2", "1.4.1", "1.5.0-draft", "2.0.0"]
    assert resolve("1.3+.2", codelists) == "1.4.1"  # from a released DSD
    assert resolve("1.3+.2", codelists, unstable=True) == "1.5.0-draft"  # from a draft DSD
    assert resolve("1+.3.1", codelists) == "2.0.0"
    assert resolve("1.3.2+", codelists) == "1.3.2"
    assert resolve("1.4.1", codelists) == "1.4.1" and resolve("1.4.2", codelists) is None
    assert resolve("0.1+.0", ["0.1.0", "0.3.1"]) == "0.3.1"  # references may use major version 0
    assert resolve("*", codelists) == "2.0.0"
    assert matches("1.0+.0", "1.2.0") and not matches("1.0+.0", "2.0.0") and not matches("1.0+.0", "1.2.0-draft")
    assert matches("1.0+.0", "1.2.0-draft", unstable=True)
    assert matches("1.0+.0", "1.1", final=True) and not matches("1.0+.0", "1.1")
    assert matches("2.1", "2.1") and not matches("2.1", "2.1.0")
    with pytest.raises(VersionSyntaxError):
        matches("1.0++.0", "1.0.0")


# -- the oracle --------------------------------------------------------------------------------


def _triple(version: str, final: set[str]):
    """(x, y, z, stable) of a version for three-part forms, legacy ones converted; or None."""
    m = re.fullmatch(r"([0-9]+)\.([0-9]+)\.([0-9]+)(-.+)?", version)
    if m:
        return int(m[1]), int(m[2]), int(m[3]), m[4] is None
    m = re.fullmatch(r"([0-9]+)(?:\.([0-9]+))?", version)
    if m:
        return int(m[1]), int(m[2] or 0), 0, version in final
    return None


def _pair(version: str):
    m = re.fullmatch(r"([0-9]+)\.([0-9]+)", version)
    return (int(m[1]), int(m[2])) if m else None


# Each form of querying_versions.md: (how many wins, which shape, the condition on the parts).
FORMS = {
    "+": ("latest", 3, lambda x, y, z, s, X, Y, Z: s and x > 0),
    "X.+.0": ("latest", 3, lambda x, y, z, s, X, Y, Z: s and x == X),
    "X.Y.+": ("latest", 3, lambda x, y, z, s, X, Y, Z: s and (x, y) == (X, Y)),
    "X+.Y.Z": ("latest", 3, lambda x, y, z, s, X, Y, Z: s and (x, y, z) >= (X, Y, Z)),
    "X.Y+.Z": ("latest", 3, lambda x, y, z, s, X, Y, Z: s and x == X and (y, z) >= (Y, Z)),
    "X.Y.Z+": ("latest", 3, lambda x, y, z, s, X, Y, Z: s and (x, y) == (X, Y) and z >= Z),
    "~.0": ("latest", 2, lambda x, y, X, Y: True),
    "~.0.0": ("latest", 3, lambda x, y, z, s, X, Y, Z: True),
    "X.~": ("latest", 2, lambda x, y, X, Y: x == X),
    "X.~.0": ("latest", 3, lambda x, y, z, s, X, Y, Z: x == X),
    "X.Y.~": ("latest", 3, lambda x, y, z, s, X, Y, Z: (x, y) == (X, Y)),
    "X~.Y": ("latest", 2, lambda x, y, X, Y: (x, y) >= (X, Y)),
    "X~.Y.Z": ("latest", 3, lambda x, y, z, s, X, Y, Z: (x, y, z) >= (X, Y, Z)),
    "X.Y~": ("latest", 2, lambda x, y, X, Y: x == X and y >= Y),
    "X.Y~.Z": ("latest", 3, lambda x, y, z, s, X, Y, Z: x == X and (y, z) >= (Y, Z)),
    "X.Y.Z~": ("latest", 3, lambda x, y, z, s, X, Y, Z: (x, y) == (X, Y) and z >= Z),
}
# `*` forms: the `~` forms, all matches instead of the latest.
FORMS.update({k.replace("~", "*"): ("all", n, f) for k, (_, n, f) in list(FORMS.items()) if "~" in k})


def oracle(form: str, X: int, Y: int, Z: int, available: list[str], final: set[str]) -> list[str]:
    how, shape, condition = FORMS[form]
    hits = []
    for v in set(available):
        if shape == 3 and (t := _triple(v, final)) and condition(*t, X, Y, Z):
            hits.append(v)
        if shape == 2 and (pair := _pair(v)) and condition(*pair, X, Y):
            hits.append(v)
    if how == "all":
        return sorted(hits, key=version_key)
    return [max(hits, key=version_key)] if hits else []


small = st.integers(0, 3)
extensions = st.sampled_from(["draft", "draft.1", "draft.10", "rc.2", "0.3.7", "x-y"])
versions = st.one_of(
    st.builds(lambda x, y, z: f"{x}.{y}.{z}", small, small, small),
    st.builds(lambda x, y, z, e: f"{x}.{y}.{z}-{e}", small, small, small, extensions),
    st.builds(lambda x, y: f"{x}.{y}", small, small),
    st.builds(str, small),
    st.just("1.0.0.1"),
)


@settings(max_examples=400)
@given(st.sampled_from(sorted(FORMS)), small, small, small, st.lists(versions, max_size=12), st.data())
def test_selection_equals_the_oracle(form, X, Y, Z, available, data):
    final = set(data.draw(st.lists(st.sampled_from(available), max_size=4))) if available else set()
    if "+" in form:
        assume(X > 0)  # the + forms want a major version above 0
    text = form.replace("X", str(X)).replace("Y", str(Y)).replace("Z", str(Z))
    query = parse_version_query(text, "v2")
    assert query.select(available, final) == oracle(form, X, Y, Z, available, final)


@given(st.lists(st.sampled_from(sorted(FORMS)), min_size=2, max_size=3), small, st.lists(versions, max_size=10))
def test_a_list_is_the_union_of_its_terms(forms, n, available):
    texts = [f.replace("X", str(n + 1)).replace("Y", str(n)).replace("Z", "0") for f in forms]
    union = set()
    for text in texts:
        union |= set(parse_version_query(text, "v2").select(available))
    assert parse_version_query(",".join(texts), "v2").select(available) == sorted(union, key=version_key)


@given(st.text(alphabet="0123456789.+~*,-a", max_size=12))
def test_no_grammar_like_input_raises_anything_but_a_clear_error(text):
    for api in ("v1", "v2"):
        try:
            query = parse_version_query(text, api)
        except VersionSyntaxError as exc:
            assert str(exc)
        else:
            query.select(["1.0", "1.0.0", "2.1.0-draft"], final={"1.0"})
    try:
        matches(text, "1.0.0")
    except VersionSyntaxError:
        pass


@given(st.text(max_size=20))
def test_no_input_at_all_raises_anything_but_a_clear_error(text):
    for api in ("v1", "v2"):
        try:
            parse_version_query(text, api)
        except VersionSyntaxError:
            pass


@given(small, small, small, st.lists(versions, max_size=10))
def test_a_wildcard_object_and_its_text_agree(x, y, z, available):
    assume(x > 0)
    query = parse_version_query(f"{x}.{y}+.{z}", "v2")
    assert isinstance(query, Wildcard) and str(query) == f"{x}.{y}+.{z}"
    assert query.select(available) == [v for v in query.select(available) if query.matches(v)]
