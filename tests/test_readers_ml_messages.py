"""Structure-specific SDMX-ML in every form the XML allows and the server's writers never use,
read against an oracle that knows what each generated message says.

Hypothesis writes messages with attributes in any order, missing, unknown or qualified, in
single or double quotes, over several lines, with character references, literal tabs and
non-ASCII text; Obs elements with content; comments and processing instructions between them;
observations directly in a data set beside data sets of series; groups; empty series of Delete
data sets; several data sets with their actions. For each, the generator keeps the rows the
message means (values as an XML parser reads them, the context each row takes from its series,
group and data set, the line of each observation's element), and the reader must give exactly
those rows, in order.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdmx_server.ingest.readers import ACTION, ROW
from tests.test_readers_ml import read, shape, ss_message  # noqa: F401  (shape: a fixture)

#: Attribute values as written in the XML, some with references or white space the parser
#: changes (see _parsed).
_VALUES = st.sampled_from(["A", "x&amp;y", "a &lt;b&gt;", "&quot;q&quot;", "l1&#10;l2", "&#x41;&#66;", "تهران", "a>b",
                           "", "  sp  ", "t\tab", "n\nl"])
_ACTIONS = {None: None, "Replace": "R", "Delete": "D", "Information": "M", "Append": "M"}
_REFERENCE = re.compile(r"&(?:#x([0-9A-Fa-f]+)|#(\d+)|(lt|gt|amp|quot|apos));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_COLUMNS = ["FREQ", "AREA", "SEX", "TIME_PERIOD", "OBS_VALUE", "OBS_STATUS", "UNIT_MULT", "TITLE", "COMMENT"]


def _parsed(written: str) -> str:
    """An attribute value as an XML parser reads it: literal white space becomes a space,
    then references are replaced."""
    text = re.sub(r"[\t\n\r]", " ", written.replace("\r\n", "\n"))

    def one(m: re.Match) -> str:
        hexa, decimal, named = m.groups()
        return _NAMED[named] if named else chr(int(hexa, 16) if hexa else int(decimal))

    return _REFERENCE.sub(one, text)


class _Message:
    """A message body being written, with the rows it means and the line each starts on."""

    def __init__(self, first_line: int):
        self.text = ""
        self.first_line = first_line
        self.rows: list[dict] = []

    def write(self, text: str) -> None:
        self.text += text

    def line_after(self, text: str) -> int:
        """The line the last character of `text` would be on, written next (lxml gives an
        element the line its start tag ends on)."""
        return self.first_line + (self.text + text[:-1]).count("\n")


@st.composite
def _attributes(draw, pairs: list[tuple[str, str]], plain: bool) -> str:
    written = ""
    for name, value in pairs:
        quote = "'" if not plain and draw(st.integers(0, 6)) == 0 else '"'
        value = value.replace(quote, "&apos;" if quote == "'" else "&quot;")
        space = " " if plain else draw(st.sampled_from([" "] * 6 + ["\n   ", "\t", "  ", "\r\n "]))
        written += f"{space}{name}={quote}{value}{quote}"
    return written


@st.composite
def _obs(draw, message: _Message, context: dict, period: str, flat: bool, plain: bool) -> None:
    """One Obs element written, and its row kept."""
    pairs = [("TIME_PERIOD", period), ("OBS_VALUE", draw(st.sampled_from(["1", "2.5", "-0", "NaN", ""])))]
    if draw(st.booleans()):
        pairs.append(("OBS_STATUS", draw(st.sampled_from(["A", "P"]))))
    if draw(st.integers(0, 3)) == 0:
        pairs.append(("COMMENT", draw(_VALUES)))
    if draw(st.integers(0, 6)) == 0:
        pairs.append(("FOOTNOTE", "f"))  # not a component: warned of, ignored
    if draw(st.integers(0, 6)) == 0:
        pairs.append(("xsi:nil", "false"))  # qualified: not a component either
    if flat:
        pairs += [("FREQ", "M"), ("AREA", draw(st.sampled_from(["IR", "IR-23"]))), ("SEX", "F")]
    if draw(st.integers(0, 3)) == 0:
        pairs = draw(st.permutations(pairs))
    start = "<Obs" + draw(_attributes(pairs, plain))
    form = 3 if plain else draw(st.integers(0, 10))
    if form == 0:
        start, rest = start + ">", "</Obs>"
    elif form == 1:
        start, rest = start + ">", "text</Obs>"
    elif form == 2:
        start, rest = start + "\n>", "<Inner a='1'/></Obs>"
    else:
        start, rest = start + "/>", ""
    row = dict(context)
    row.update({name: _parsed(value) for name, value in pairs if name in _COLUMNS})
    row[ROW] = message.line_after(start)
    message.rows.append(row)
    message.write(start + rest)


_BETWEEN = st.sampled_from([""] * 6 + ["\n", "\r\n", "\n  ", "<!-- c > -->", "<?pi x?>", " "])
_PLAIN_BETWEEN = st.sampled_from(["", "\n", "\n  "])


@st.composite
def messages(draw) -> tuple[bytes, list[dict]]:
    marker = "\x00BODY\x00"
    skeleton = ss_message(marker).decode()
    head = skeleton[: skeleton.index(marker)]
    message = _Message(head.count("\n") + 1)
    for number in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(list(_ACTIONS)))
        unit = draw(st.sampled_from([None, "3"]))
        message.write('<mes:DataSet ss:structureRef="S1"' + (f' ss:action="{action}"' if action else "")
                      + (f' UNIT_MULT="{unit}"' if unit else "") + ">" + draw(st.sampled_from(["", "\n"])))
        context = {ACTION: _ACTIONS[action], "UNIT_MULT": unit}
        first = len(message.rows)
        if draw(st.integers(0, 2)) == 0:  # observations directly in the data set
            for i in range(draw(st.integers(1, 4))):
                draw(_obs(message, context, f"1999-{i + 1:02d}", flat=True, plain=False))
                message.write(draw(_BETWEEN))
        groups = {}
        for s in range(draw(st.integers(0, 4))):
            area, sex = draw(st.sampled_from(["IR", "IR-23", "IR-10"])), draw(st.sampled_from(["F", "M"]))
            keys = [("FREQ", "M"), ("AREA", area), ("SEX", sex)]
            title = draw(st.one_of(st.none(), _VALUES))
            if title is not None:
                keys.append(("TITLE", title))
            plain = draw(st.integers(0, 3)) > 0
            between = _PLAIN_BETWEEN if plain else _BETWEEN
            start = "<Series" + draw(_attributes(keys, plain)) + ">"
            series = {**context, **{name: _parsed(value) for name, value in keys}}
            count = draw(st.sampled_from([0, 0, 1, 3, 9, 30]))
            if count == 0 and context[ACTION] == "D":  # a Delete data set's empty series deletes it
                message.rows.append({**series, ROW: message.line_after(start)})
            message.write(start + draw(between))
            for i in range(count):
                draw(_obs(message, series, f"{2000 + i // 12}-{i % 12 + 1:02d}", flat=False, plain=plain))
                message.write(draw(between))
            message.write("</Series>\n")
            if draw(st.integers(0, 4)) == 0:
                groups[area] = draw(_VALUES)
                message.write(f'<Group AREA="{area}" TITLE="{groups[area]}"/>')
        for row in message.rows[first:]:  # a group's attributes go to the rows of its key without their own
            if row.get("TITLE") is None and row.get("AREA") in groups:
                row["TITLE"] = _parsed(groups[row["AREA"]])
        message.write("</mes:DataSet>\n")
    return ss_message(message.text), message.rows


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=messages())
def test_structure_specific_messages_read_as_they_mean(shape, message):  # noqa: F811
    data, expected = message
    incoming, report = read(data, shape)
    assert incoming is not None, report.text()
    assert not report.file_errors, report.text()
    table = incoming.whole()
    got = [{name: row.get(name) for name in [*_COLUMNS, ROW, ACTION]} for row in table.to_pylist()]
    want = [{name: row.get(name) for name in [*_COLUMNS, ROW, ACTION]} for row in expected]
    assert got == want
