"""The checks on single fields: ids, agencies, versions, labels, dates, booleans, lists.

Each reader takes the error reporter, a description of what is being read for the message
(`codelist SSO:CL_SEX(1.0)`, `dimension FREQ`), the field's name and its located YAML entry; it
returns the value, or None after reporting what is wrong.
"""

from __future__ import annotations

import difflib
import re
from datetime import date, datetime
from typing import Iterable

from sdmx.model import common, v21, v30

from sdmx_server.registry.authoring.yamlfile import Entry, Map, Node, Report, Scalar, Seq

ID_RE = re.compile(r"^[A-Za-z0-9_@$\-]+$")
AGENCY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*(\.[A-Za-z][A-Za-z0-9_\-]*)*$")
#: SDMX 2.1 versions (1.0, 2.3.1) and SDMX 3.0 semantic versions (1.2.0, 1.2.0-draft)
VERSION_RE = re.compile(r"^[0-9]+(\.[0-9]+)*$")
SEMVER_RE = re.compile(
    r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*)){2}-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$"
)
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
REQUIRED_LANGUAGES = ("fa", "en")
LANGUAGE_NAMES = {"fa": "Persian", "en": "English"}
ANNOTATION_FIELDS = ("id", "title", "type", "url", "text", "value")

ID_HINT = "use only letters, digits, _, @, $ and -"
AGENCY_HINT = "an agency is letters, digits, _ and -, starting with a letter, with . between levels"
VERSION_HINT = (
    'a version is numbers separated by dots, such as "1.0", or a semantic version such as "1.2.0" '
    'or "1.2.0-draft"'
)


def check_id(value: str) -> bool:
    return bool(ID_RE.match(value))


def check_agency(value: str) -> bool:
    return bool(AGENCY_RE.match(value))


def check_version(value: str) -> bool:
    return bool(VERSION_RE.match(value) or SEMVER_RE.match(value))


class Fields:
    """The fields of one mapping, checked against those allowed and those required."""

    def __init__(
        self,
        report: Report,
        node: Node,
        what: str,
        allowed: Iterable[str],
        required: Iterable[str] = (),
    ):
        self.node = node
        self.entries: dict[str, Entry] = {}
        allowed = tuple(allowed)
        if not isinstance(node, Map):
            report(node.line, f"{what}: expected a mapping of fields, found {node.kind}")
            self.ok = False
            return
        self.ok = True
        for name, entry in node.entries.items():
            if name in allowed:
                self.entries[name] = entry
            else:
                report(entry.key_line, f"{what}: unknown field {name!r}{suggest(name, allowed)}")
        # an error about the whole mapping points at its id
        line = node.entries["id"].key_line if "id" in node.entries else node.line
        missing = [name for name in required if name not in node.entries]
        if missing:
            plural = "s" if len(missing) > 1 else ""
            report(line, f"{what}: missing required field{plural} " + ", ".join(map(repr, missing)))

    @property
    def line(self) -> int:
        return self.node.line

    def get(self, name: str) -> Entry | None:
        return self.entries.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self.entries

    def line_of(self, name: str) -> int:
        entry = self.entries.get(name)
        return entry.key_line if entry is not None else self.node.line


def _raw(node: Node, name: str) -> str | None:
    entry = node.entries.get(name) if isinstance(node, Map) else None
    if entry is not None and isinstance(entry.node, Scalar) and entry.node.tag != "null":
        return entry.node.text
    return None


def named(noun: str, node: Node, *, maintainable: bool = False) -> str:
    """What a mapping is, for messages about its fields before they have been checked:
    `code F`, `codelist SSO:CL_SEX(1.0)` when those fields are valid, else just `code`."""
    item_id = _raw(node, "id")
    if item_id is None or not check_id(item_id):
        return noun
    if maintainable:
        agency, version = _raw(node, "agency"), _raw(node, "version")
        if agency is not None and version is not None and check_agency(agency) and check_version(version):
            return f"{noun} {agency}:{item_id}({version})"
    return f"{noun} {item_id}"


def suggest(name: str, allowed: Iterable[str]) -> str:
    allowed = list(allowed)
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return " (expected one of: " + ", ".join(allowed) + ")"


def scalar(report: Report, what: str, name: str, entry: Entry | None) -> Scalar | None:
    """The entry's value when it is a non-empty scalar."""
    if entry is None:
        return None
    node = entry.node
    if not isinstance(node, Scalar):
        report(entry.key_line, f"{what}: {name} must be a single value, not {node.kind}")
        return None
    if node.tag == "null" or node.text.strip() == "":
        report(entry.key_line, f"{what}: {name} is empty")
        return None
    return node


def text(report: Report, what: str, name: str, entry: Entry | None) -> str | None:
    node = scalar(report, what, name, entry)
    return node.text if node is not None else None


def identifier(report: Report, what: str, name: str, entry: Entry | None) -> str | None:
    value = text(report, what, name, entry)
    if value is not None and not check_id(value):
        report(entry.key_line, f"{what}: {name} {value!r} is not a valid SDMX id: {ID_HINT}")
        return None
    return value


def agency(report: Report, what: str, name: str, entry: Entry | None) -> str | None:
    value = text(report, what, name, entry)
    if value is not None and not check_agency(value):
        report(entry.key_line, f"{what}: {name} {value!r} is not a valid agency id: {AGENCY_HINT}")
        return None
    return value


def version(report: Report, what: str, name: str, entry: Entry | None) -> str | None:
    node = scalar(report, what, name, entry)
    if node is None:
        return None
    if node.tag in ("int", "float") and not node.quoted:
        report(
            entry.key_line,
            f'{what}: {name} must be quoted: write {name}: "{node.text}" '
            f"(unquoted, YAML reads it as the number {node.value!r}, so 1.10 would become 1.1)",
        )
        return None
    if not check_version(node.text):
        report(entry.key_line, f"{what}: {name} {node.text!r} is not a valid version: {VERSION_HINT}")
        return None
    return node.text


def boolean(report: Report, what: str, name: str, entry: Entry | None) -> bool | None:
    node = scalar(report, what, name, entry)
    if node is None:
        return None
    if node.tag != "bool":
        report(entry.key_line, f"{what}: {name} must be true or false, not {node.kind}")
        return None
    return bool(node.value)


def when(report: Report, what: str, name: str, entry: Entry | None) -> date | datetime | None:
    """An ISO date or date-time (YAML reads unquoted ones itself)."""
    node = scalar(report, what, name, entry)
    if node is None:
        return None
    if isinstance(node.value, (date, datetime)):
        return node.value
    raw = node.text.strip()
    try:
        return date.fromisoformat(raw) if len(raw) == 10 else datetime.fromisoformat(raw)
    except ValueError:
        report(entry.key_line, f"{what}: {name} {raw!r} is not an ISO date such as 2024-03-20")
        return None


def sequence(report: Report, what: str, name: str, entry: Entry | None) -> list[Node] | None:
    if entry is None:
        return None
    if not isinstance(entry.node, Seq):
        report(entry.key_line, f"{what}: {name} must be a list, not {entry.node.kind}")
        return None
    return entry.node.items


def labels(
    report: Report, what: str, name: str, entry: Entry | None, *, bilingual: bool = True
) -> common.InternationalString | None:
    """A multilingual text {fa: ..., en: ...}; `bilingual` requires both fa and en."""
    if entry is None:
        return None
    node = entry.node
    if not isinstance(node, Map):
        example = "{fa: ..., en: ...}"
        report(entry.key_line, f"{what}: {name} must be a mapping of languages to texts, like {example}; found {node.kind}")
        return None
    values: dict[str, str] = {}
    ok = True
    for language, item in node.entries.items():
        line = item.key_line
        if not LANGUAGE_RE.match(language):
            comma = isinstance(item.node, Scalar) and item.node.tag == "null" and node.line == line
            hint = "; a comma inside {...} ends a text: quote a text that holds a comma" if comma else ""
            report(line, f"{what}: {name}: {language!r} is not a language code such as fa or en{hint}")
            ok = False
            continue
        value = item.node
        if not isinstance(value, Scalar):
            report(line, f"{what}: {name}.{language} must be text, not {value.kind}")
            ok = False
        elif value.tag == "null" or not value.text.strip():
            report(line, f"{what}: {name}.{language} is empty")
            ok = False
        else:
            values[language] = value.text
    if bilingual:
        missing = [lang for lang in REQUIRED_LANGUAGES if lang not in node.entries]
        if missing:
            need = " and ".join(f"{lang} ({LANGUAGE_NAMES[lang]})" for lang in missing)
            report(entry.key_line, f"{what}: {name} needs both fa and en; {need} missing")
            ok = False
    return common.InternationalString(values) if ok or values else None


def annotations(report: Report, what: str, entry: Entry | None) -> list[common.BaseAnnotation]:
    """Annotations; those with a `value` (SDMX 3.0's non-localised text) are v30.Annotation,
    as sdmx1's SDMX-ML 3.0 reader makes them, the others v21.Annotation."""
    items = sequence(report, what, "annotations", entry)
    result: list[common.BaseAnnotation] = []
    for node in items or []:
        fields = Fields(report, node, f"{what}: annotation", ANNOTATION_FIELDS)
        if not fields.ok:
            continue
        where = f"{what}: annotation"
        kwargs = {}
        for name in ("id", "title", "type", "url", "value"):
            value = text(report, where, name, fields.get(name))
            if value is not None:
                kwargs[name] = value
        body = labels(report, where, "text", fields.get("text"), bilingual=False)
        if body is not None:
            kwargs["text"] = body
        result.append(v30.Annotation(**kwargs) if "value" in kwargs else v21.Annotation(**kwargs))
    return result


def choice(report: Report, what: str, name: str, entry: Entry | None, options: Iterable[str]) -> str | None:
    """One word of a closed set (`role: allowed`), with a suggestion for a near miss."""
    node = scalar(report, what, name, entry)
    if node is None:
        return None
    options = tuple(options)
    if node.tag != "str" or node.text not in options:
        hint = suggest(node.text, options) if node.tag == "str" else " (expected one of: " + ", ".join(options) + ")"
        report(entry.key_line, f"{what}: {name} must be {_or(options)}, not {node.kind}{hint if 'did you' in hint else ''}")
        return None
    return node.text


def _or(options: tuple[str, ...]) -> str:
    return ", ".join(options[:-1]) + " or " + options[-1] if len(options) > 1 else options[0]


def scalars(report: Report, what: str, name: str, entry: Entry | None) -> list[tuple[str, int]] | None:
    """A list of plain values (`[A, B]`), or one value standing for a list of one; each with
    its line. None (after reporting) when the entry is neither."""
    if entry is None:
        return None
    node = entry.node
    items = node.items if isinstance(node, Seq) else [node]
    found: list[tuple[str, int]] = []
    ok = True
    for item in items:
        if not isinstance(item, Scalar) or item.tag == "null" or not item.text.strip():
            line = item.line if isinstance(node, Seq) else entry.key_line
            report(line, f"{what}: {name} lists single values, not {item.kind}")
            ok = False
            continue
        found.append((item.text.strip(), item.line if isinstance(node, Seq) else entry.key_line))
    if isinstance(node, Seq) and not items:
        report(entry.key_line, f"{what}: {name} is an empty list")
        return None
    return found if ok or found else None


def whole_number(report: Report, what: str, name: str, entry: Entry | None, minimum: int = 0) -> int | None:
    node = scalar(report, what, name, entry)
    if node is None:
        return None
    if node.tag != "int" or node.quoted or node.value < minimum:
        report(entry.key_line, f"{what}: {name} must be a whole number of at least {minimum}, not {node.kind}")
        return None
    return int(node.value)


def link_parents(report_for, items: list, noun: str, scheme_word: str) -> None:
    """Set `parent`/`child` links among the items of one scheme.

    `items` are drafts with `.item` (the sdmx Item), `.parent` (an id or None), `.parent_line`
    and `.source` (the file's reporter). A parent outside the scheme and every parent cycle are
    reported at the `parent` line; the items of a cycle stay at the top level.
    """
    by_id = {d.item.id: d for d in items}
    parent_of: dict[str, str] = {}
    for draft in items:
        if draft.parent is None:
            continue
        if draft.parent not in by_id:
            report_for(draft)(draft.parent_line, f"{noun} {draft.item.id}: parent {draft.parent} is not in the {scheme_word}")
            continue
        parent_of[draft.item.id] = draft.parent
    in_cycle: set[str] = set()
    state: dict[str, int] = {}  # 1 = being walked, 2 = done
    for start in by_id:
        path: list[str] = []
        node = start
        while node is not None and state.get(node) is None:
            state[node] = 1
            path.append(node)
            node = parent_of.get(node)
        if node is not None and state.get(node) == 1:
            cycle = path[path.index(node):]
            in_cycle.update(cycle)
            first = min(cycle, key=lambda i: list(by_id).index(i))
            loop = [first]
            while True:
                loop.append(parent_of[loop[-1]])
                if loop[-1] == first:
                    break
            draft = by_id[first]
            report_for(draft)(draft.parent_line, f"{noun} {first}: parent cycle " + " → ".join(loop))
        for visited in path:
            state[visited] = 2
    for draft in items:
        child_id = draft.item.id
        parent_id = parent_of.get(child_id)
        if parent_id is None or child_id in in_cycle:
            continue
        parent = by_id[parent_id].item
        draft.item.parent = parent
        parent.child.append(draft.item)
