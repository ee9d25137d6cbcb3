"""Reading a tree of authoring files into sdmx.model artefacts, with every error located."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from sdmx.model.common import MaintainableArtefact

from sdmx_server.registry.authoring.build import Draft, read_artefact
from sdmx_server.registry.authoring.checks import suggest
from sdmx_server.registry.authoring.errors import AuthoringError, Reporter
from sdmx_server.registry.authoring.forms import FORMS, TOP_KEYS
from sdmx_server.registry.authoring.references import Index, key_of
from sdmx_server.registry.authoring.resolve import Resolver
from sdmx_server.registry.authoring.yamlfile import Map, Seq, parse_yaml

SUFFIXES = (".yaml", ".yml")
MAX_BYTES = 50 * 1024 * 1024
#: Keys of authoring files that hold something other than structures, read by their own
#: reader: `releases` (the release calendar, ops/calendar_authoring.py).
NOT_STRUCTURES = frozenset({"releases"})
HOLDS = " (a key names a kind of artefact, such as codelist, datastructure or dataflow, or its plural; see docs/authoring.md)"


@dataclass
class AuthoringResult:
    artefacts: list[MaintainableArtefact] = field(default_factory=list)
    access: dict[tuple[str, str, str], str] = field(default_factory=dict)
    errors: list[AuthoringError] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def find_authoring_files(paths: Iterable[Path]) -> list[Path]:
    """Directories are searched recursively for *.yaml / *.yml (sorted; folders whose name
    starts with a dot are skipped); anything else is taken as given."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            try:
                below = [
                    p
                    for p in path.rglob("*")
                    if p.suffix.lower() in SUFFIXES
                    and not any(part.startswith(".") for part in p.relative_to(path).parts)
                    and p.is_file()
                ]
            except OSError:
                below = []
            found += sorted(below)
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def read_authoring(paths: Iterable[Path], existing: Iterable[MaintainableArtefact] = ()) -> AuthoringResult:
    result = AuthoringResult()
    drafts: list[Draft] = []
    for path in find_authoring_files(paths):
        report = Reporter(path, result.errors)
        try:
            _read_file(path, report, result.files, drafts)
        except Exception as exc:  # never raise for bad input; say where it happened
            report(0, f"internal error while reading this file: {type(exc).__name__}: {exc}")
    try:
        _complete(drafts, existing, result)
    except Exception as exc:
        result.errors.append(AuthoringError(Path("."), 0, f"internal error while resolving references: {type(exc).__name__}: {exc}"))
    result.errors.sort(key=lambda e: (str(e.path), e.line))
    return result


def _read_file(path: Path, report: Reporter, files: list[Path], drafts: list[Draft]) -> None:
    if not path.exists():
        report(0, "no such file or directory")
        return
    if not path.is_file():
        report(0, "not a file")
        return
    try:
        if path.stat().st_size > MAX_BYTES:
            report(0, f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
            return
        data = path.read_bytes()
    except OSError as exc:
        report(0, f"cannot read the file: {exc.strerror or exc}")
        return
    files.append(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        report(data.count(b"\n", 0, exc.start) + 1, f"the file is not UTF-8 (byte 0x{data[exc.start]:02x} at this line); save it as UTF-8")
        return
    errors_before = len(report.sink)
    root = parse_yaml(text, report)
    if root is None:
        if len(report.sink) == errors_before:
            report(1, "the file is empty: it should define artefacts, such as a codelist or a dataflow")
        return
    if not isinstance(root, Map):
        report(root.line, f"the file must be a mapping with keys such as codelist: or dataflows:, not {root.kind}")
        return
    for key, entry in root.entries.items():
        if key in NOT_STRUCTURES:
            continue
        if key not in TOP_KEYS:
            hint = suggest(key, TOP_KEYS)
            if "did you mean" not in hint:
                hint = HOLDS
            report(entry.key_line, f"unknown top-level key {key!r}{hint}")
            continue
        form, plural = TOP_KEYS[key]
        node = entry.node
        if plural:
            if not isinstance(node, Seq):
                report(entry.key_line, f"{key} must be a list, not {node.kind} (use {form.kind}: for a single one)")
                continue
            nodes = node.items
        else:
            if not isinstance(node, Map):
                hint = f" (use {form.plural}: for a list)" if isinstance(node, Seq) else ""
                report(entry.key_line, f"{key} must be a mapping of fields, not {node.kind}{hint}")
                continue
            nodes = [node]
        for item in nodes:
            draft = read_artefact(form, item, report, files)
            if draft is not None:
                drafts.append(draft)


def _complete(drafts: list[Draft], existing: Iterable[MaintainableArtefact], result: AuthoringResult) -> None:
    index = Index(existing)
    first: dict[tuple, Draft] = {}
    kept = [d for d in drafts if _keep(d, first, index)]
    resolver = Resolver(index)
    steps = sorted(
        ((stage, order, step) for order, form in enumerate(FORMS) for stage, step in form.steps), key=lambda s: s[:2]
    )
    for stage, order, step in steps:
        if stage == 6:  # categorisations of the dataflows' short form, before explicit ones
            kept += [d for d in resolver.generated if _keep(d, first, index)]
            resolver.generated.clear()
        for draft in kept:
            if draft.kind == FORMS[order].kind and not draft.data.get("generated"):
                step(draft, resolver)
    _check_agencies(kept, index)
    for form in FORMS:
        for draft in kept:
            if draft.kind == form.kind:
                result.artefacts.append(draft.artefact)
                if form.kind == "dataflow":
                    result.access[draft.key] = draft.access


def _keep(draft: Draft, first: dict[tuple, Draft], index: Index) -> bool:
    """Index the draft, unless it cannot be referred to or is the second of its key."""
    if draft.key is None:
        return False  # its id, agency or version is wrong (reported); nothing can refer to it
    full_key = (draft.kind, *draft.key)
    earlier = first.get(full_key)
    if earlier is not None:
        made = draft.data.get("generated")
        if made:  # the short form of a dataflow made what a file already defines
            draft.report(draft.line, f"{made}, which is also defined at {earlier.report.path}:{earlier.line}; remove one of them")
        else:
            draft.report(draft.line, f"{draft.what} is defined twice (first at {earlier.report.path}:{earlier.line})")
        return False
    first[full_key] = draft
    index.add(draft.kind, draft.key, draft.artefact)
    return True


def _check_agencies(drafts: list[Draft], index: Index) -> None:
    """Once agencies are declared (an agency scheme in the files, or SDMX's list of top-level
    agencies in the registry), every artefact's agency must be one of them: `SSO` an agency of
    some agency scheme, `SSO.STAT` the agency STAT of the scheme SSO maintains. (Another
    agency's scheme of its own sub-agencies, loaded from its messages, does not start this.)"""
    schemes = list(index.all("agencyscheme"))
    declared = any(d.kind == "agencyscheme" for d in drafts) or any(key_of(s)[0] == "SDMX" for s in schemes)
    if not declared:
        return
    known = {a.id for s in schemes for a in s.items.values()}
    known |= {f"{key_of(s)[0]}.{a.id}" for s in schemes for a in s.items.values()}
    for draft in drafts:
        agency = draft.agency
        # SDMX, the root agency, maintains the top-level agency scheme: it is always known
        if agency not in known and agency != "SDMX" and not draft.data.get("generated"):
            draft.report(
                draft.fields.line_of("agency"),
                f"{draft.what}: agency {agency} is in no agency scheme; add it to one (agencies: in an agencyscheme)",
            )
