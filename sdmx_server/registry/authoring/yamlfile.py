"""YAML with line numbers: PyYAML's safe composer, turned into a small tree of located nodes.

Every mapping, key, list item and scalar keeps the (1-based) line where it starts, so that an
error about a field points at that field. Only `yaml.SafeLoader` is used, to compose nodes and
to resolve plain scalars (numbers, booleans, dates); nothing is ever constructed from a tag.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import yaml

TAG_PREFIX = "tag:yaml.org,2002:"
MAX_DEPTH = 100


@dataclass(eq=False)
class Node:
    line: int

    @property
    def kind(self) -> str:
        return "a value"


@dataclass(eq=False)
class Scalar(Node):
    value: Any  # as YAML resolves it: str, int, float, bool, None, date, datetime
    text: str  # the scalar as written (quotes and escapes removed)
    tag: str  # "str", "int", "float", "bool", "null", "timestamp", ...
    quoted: bool = False

    @property
    def kind(self) -> str:
        if self.tag == "null":
            return "nothing"
        if self.tag in ("int", "float"):
            return f"the number {self.text}"
        if self.tag == "bool":
            return f"the boolean {self.text}"
        return f"the text {self.text!r}"


@dataclass(eq=False)
class Entry:
    key_line: int
    node: Node


@dataclass(eq=False)
class Map(Node):
    entries: dict[str, Entry] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "a mapping"


@dataclass(eq=False)
class Seq(Node):
    items: list[Node] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "a list"


Report = Callable[[int, str], None]


def short_form(node: Scalar, key: str) -> Map:
    """A value written alone for a mapping of one field (`time_dimension: TIME_PERIOD` for
    `{id: TIME_PERIOD}`, `- IR-23` for `- {code: IR-23}`), located where the value is."""
    return Map(node.line, {key: Entry(node.line, node)})


def _line(mark) -> int:
    return mark.line + 1 if mark is not None else 0


def _position_line(text: str, position: int | None) -> int:
    if position is None:
        return 0
    return text.count("\n", 0, max(position, 0)) + 1


def parse_yaml(text: str, report: Report) -> Node | None:
    """The document's root node, or None (after reporting why) when it does not parse."""
    loader = yaml.SafeLoader(text) if _reader_ok(text, report) else None
    if loader is None:
        return None
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        report(_line(mark), f"YAML does not parse: {problem}{context}")
        return None
    except yaml.YAMLError as exc:
        report(_position_line(text, getattr(exc, "position", None)) or 1, f"YAML does not parse: {exc}")
        return None
    except RecursionError:
        report(1, "YAML does not parse: nested too deeply")
        return None
    finally:
        loader.dispose()
    if root is None:
        return None
    return _Converter(loader, report).convert(root)


def _reader_ok(text: str, report: Report) -> bool:
    """PyYAML's reader rejects control characters; say where, before composing."""
    try:
        yaml.reader.Reader(text)  # checks that every character is printable
    except yaml.reader.ReaderError as exc:
        character = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        report(_position_line(text, exc.position), f"YAML does not parse: the file contains the control character U+{character:04X}")
        return False
    return True


class _Converter:
    def __init__(self, loader: yaml.SafeLoader, report: Report):
        self.loader = loader
        self.report = report
        self.done: dict[int, Node] = {}  # aliases share nodes: convert each once
        self.active: set[int] = set()

    def convert(self, node: yaml.Node, depth: int = 0) -> Node:
        line = _line(node.start_mark)
        key = id(node)
        if key in self.done:
            return self.done[key]
        if key in self.active:
            self.report(line, "an alias refers to the value that contains it")
            return Scalar(line, None, "", "null")
        if depth > MAX_DEPTH:
            self.report(line, f"nested more than {MAX_DEPTH} levels deep")
            return Scalar(line, None, "", "null")
        self.active.add(key)
        try:
            if isinstance(node, yaml.ScalarNode):
                result: Node = self._scalar(node, line)
            else:
                if node.tag not in (TAG_PREFIX + "seq", TAG_PREFIX + "map"):
                    self.report(line, f"the YAML tag {node.tag} is not allowed here")
                if isinstance(node, yaml.SequenceNode):
                    result = Seq(line, [self.convert(item, depth + 1) for item in node.value])
                else:
                    result = self._mapping(node, line, depth)
        finally:
            self.active.discard(key)
        self.done[key] = result
        return result

    def _scalar(self, node: yaml.ScalarNode, line: int) -> Scalar:
        tag = node.tag[len(TAG_PREFIX):] if node.tag.startswith(TAG_PREFIX) else node.tag
        quoted = node.style not in (None, "")
        text = str(node.value)
        if tag not in ("str", "int", "float", "bool", "null", "timestamp"):
            self.report(line, f"the YAML tag {node.tag} is not allowed here")
            return Scalar(line, text, text, "str", quoted)
        try:
            value = self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError, TypeError):
            # e.g. a date that does not exist (2024-13-45): keep the text, later checks say why
            return Scalar(line, text, text, "str", quoted)
        return Scalar(line, value, text, tag, quoted)

    def _mapping(self, node: yaml.MappingNode, line: int, depth: int) -> Map:
        result = Map(line)
        for key_node, value_node in node.value:
            key_line = _line(key_node.start_mark)
            if not isinstance(key_node, yaml.ScalarNode):
                self.report(key_line, "a key must be plain text, not a list or mapping")
                continue
            if key_node.tag == TAG_PREFIX + "merge":
                self.report(key_line, "YAML merge keys (<<) are not supported: write the fields out")
                continue
            name = str(key_node.value)
            if name in result.entries:
                first = result.entries[name].key_line
                self.report(key_line, f"duplicate key {name!r} (first given at line {first})")
                continue
            result.entries[name] = Entry(key_line, self.convert(value_node, depth + 1))
        return result
