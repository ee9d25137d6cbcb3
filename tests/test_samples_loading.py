"""Every file of the shared samples, loaded alone into an empty registry: loaded, or refused with
a reason, never an exception; and docs/conformance-samples.md says so, file by file.

What each file must do is in tests/samples_expected.py. A sample that lacks artefacts it refers
to is refused by default, and the errors name exactly the references missing, as read off the
sample's own artefacts (tests/model_compare.describe, not the registry's code); with
`allow_missing_references` it loads, and exactly those are recorded as external-reference
stubs. A loaded sample stores exactly the artefacts its message defines.
"""

from __future__ import annotations

import re

import pytest

from sdmx_server.registry.store import read_all
from sdmx_server.store.database import Database
from tests.conftest import samples_path
from tests.samples_compare import Key, key_of_urn, load_into_fresh, originals, parse_ref, xml_digest
from tests.samples_expected import DOCUMENT, STRUCTURES, expected, render, sample_files
from tests.test_codec_samples import expected_references

FILES = sample_files()

#: One line per referring artefact: what refers, to what (one or more), and nothing else.
MISSING_LINE = re.compile(
    r"^\w+ [^:\s]+:\S+\([^)]+\): refers to \w+ [^:\s]+:\S+\([^)]+\), which is not loaded"
    r"(; refers to \w+ [^:\s]+:\S+\([^)]+\), which is not loaded)*$")
MISSING_REF = re.compile(r"refers to (\w+ [^:\s]+:\S+?\([^)]+\)), which is not loaded")


def defined(name: str) -> set[Key]:
    """What the sample defines, read off its XML (for SDMX-JSON: the codec's reading)."""
    path = samples_path() / name
    found = xml_digest(path.read_bytes()) if path.suffix == ".xml" else originals(path)
    return {k for k in found if k[0] != "metadataset"}


def missing(name: str) -> set[Key]:
    """The maintainable artefacts the sample's own artefacts refer to and it does not define."""
    models = originals(samples_path() / name)
    mine = defined(name) | {k for k in models if k[0] == "metadataset"}
    refs: set[Key] = set()
    for key in mine:
        if key in models and not models[key].is_external_reference:
            refs |= {key_of_urn(u) for u in expected_references(models[key])}
    return refs - mine


def stored(directory) -> dict[Key, bool]:
    """What the registry in `directory` holds: key -> whether it is a stub."""
    db = Database(f"sqlite:///{directory / 'store.db'}")
    try:
        return {(s.kind, s.agency, s.id, s.version): s.is_stub for s in read_all(db)[0]}
    finally:
        db.dispose()


def test_the_samples_are_there(samples_dir):
    assert len(FILES) > 100
    assert [n for n in STRUCTURES if n not in FILES] == []


@pytest.mark.parametrize("name", FILES)
def test_each_sample_loads_or_is_refused_with_its_reason(samples_dir, name, tmp_path):
    want = expected(name)
    path = samples_path() / name
    try:
        strict = load_into_fresh(tmp_path / "strict", [path], allow_missing_references=False)
        allowed = load_into_fresh(tmp_path / "allowed", [path], allow_missing_references=True)
    except Exception as exc:  # the one thing that must never happen
        pytest.fail(f"{name}: {type(exc).__name__}: {exc}")

    if want.outcome == "refused":
        for outcome, directory in ((strict, "strict"), (allowed, "allowed")):
            assert len(outcome.errors) == 1 and want.error in outcome.errors[0], outcome.errors
            assert "Traceback" not in outcome.errors[0]
            assert outcome.loaded == [] and stored(tmp_path / directory) == {}
        return

    if want.outcome == "loaded":
        assert strict.ok, strict.errors
        assert strict.stubs == []
        assert {parse_ref(r) for r in strict.loaded if not r.startswith("metadataset ")} == defined(name)
        assert set(stored(tmp_path / "strict")) == {parse_ref(r) for r in strict.loaded}
        assert missing(name) == set()
        return

    # Loaded with stubs: refused by default, naming every missing reference, each once per referrer.
    lacking = missing(name)
    assert lacking, "listed as lacking references, but refers to nothing it does not define"
    assert not strict.ok and strict.loaded == [] and stored(tmp_path / "strict") == {}
    assert [e for e in strict.errors if not MISSING_LINE.match(e)] == []
    named = {parse_ref(r) for e in strict.errors for r in MISSING_REF.findall(e)}
    assert named == lacking
    # With allow_missing_references: loaded, and exactly those recorded as stubs.
    assert allowed.ok, allowed.errors
    assert {parse_ref(r) for r in allowed.stubs} == lacking
    held = stored(tmp_path / "allowed")
    assert {k for k, stub in held.items() if stub} >= lacking
    assert {k for k in held if k not in lacking} == {parse_ref(r) for r in allowed.loaded}
    assert {parse_ref(r) for r in allowed.loaded if not r.startswith("metadataset ")} == defined(name)


def test_the_document_lists_every_sample_as_the_tests_find_it(samples_dir):
    text = DOCUMENT.read_text(encoding="utf-8")
    listed = re.findall(r"^\| `([^`]+)` \| (loaded|loaded with stubs|refused) \|", text, re.MULTILINE)
    files = [name for name, _ in listed]
    assert sorted(set(files)) == FILES, "the document lists other files than the samples folder holds"
    assert text == render(FILES), "docs/conformance-samples.md is out of date: python -m tests.samples_expected"
