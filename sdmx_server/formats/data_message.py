"""What a data writer is handed: a message header and the data sets, each with its rows.

A data query may match several dataflows (a DSD's, several versions, every provision agreement
of one): the message then holds one data set per match (REST v2 data.md: "one dataset per
matching provision agreement"). Each `DataSetPart` carries what a writer needs to write one
data set: the structure usage it is for, the DSD's shape, the layout, and an iterator of Arrow
record batches sorted as the layout says.

Every data writer of formats/ is `write(message: DataMessage, **row_options) -> Iterator[bytes]`
(the row options are those of the media table's row, e.g. the SDMX-CSV version).

Answers of the past (updatedAfter, includeHistory) hold several data sets per dataflow, each
with an action and a validity (`DataSetPart.action`, `valid_from`, `valid_to`); a writer whose
format can say so writes them (SDMX-ML, SDMX-JSON, SDMX-CSV 2.x), the others are never handed
such a message (`carries_actions`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterator, Literal, Mapping, Sequence

import pyarrow as pa

from sdmx_server.formats.ml21 import Header
from sdmx_server.query.layout import DataLayout
from sdmx_server.registry.shape import DataShape

Batches = Iterator[pa.RecordBatch]
Context = Literal["dataflow", "datastructure", "provisionagreement"]
Action = Literal["Replace", "Delete"]

_URN_CLASS = {
    "dataflow": "datastructure.Dataflow",
    "datastructure": "datastructure.DataStructure",
    "provisionagreement": "registry.ProvisionAgreement",
}


#: Texts of one name in each language it has: {"en": "Pensions", "fa": "..."}.
Texts = Mapping[str, str]


@dataclass(frozen=True)
class Labels:
    """Names of what a data set shows, in every language the structures give; a writer picks
    the languages the client asked for (`DataMessage.languages`) with `pick`. Built by the data
    service from the registry (service/labels.py): writers never read the registry."""

    #: The structure usage (the dataflow) itself.
    usage: Texts = field(default_factory=dict)
    #: Component id -> its concept's name.
    components: Mapping[str, Texts] = field(default_factory=dict)
    #: Component id -> code -> the code's name (coded components only).
    codes: Mapping[str, Mapping[str, Texts]] = field(default_factory=dict)

    @staticmethod
    def pick(texts: Texts | None, languages: Sequence[str] | None) -> str | None:
        """The text in the client's first language that has one ('en' matches 'en-GB' both
        ways), else English, else the first; None when there is no text at all."""
        if not texts:
            return None
        for wanted in languages or ():
            wanted = wanted.lower()
            for lang, text in texts.items():
                lang = lang.lower()
                if lang == wanted or lang.startswith(wanted + "-") or wanted.startswith(lang + "-"):
                    return text
        return texts.get("en") or next(iter(texts.values()))

    def component_name(self, component_id: str, languages: Sequence[str] | None) -> str:
        return self.pick(self.components.get(component_id), languages) or component_id

    def code_name(self, component_id: str, code: str, languages: Sequence[str] | None) -> str | None:
        return self.pick(self.codes.get(component_id, {}).get(code), languages)


@dataclass(frozen=True)
class DataSetPart:
    """One data set of a message."""

    flow: tuple[str, str, str]  # agency, id, version of what the data set is for (the context)
    shape: DataShape
    layout: DataLayout
    batches: Batches = field(default_factory=lambda: iter(()), compare=False, repr=False)
    context: Context = "dataflow"
    #: Names for labels (SDMX-CSV labels=name|both, SDMX-JSON, JSON-stat, Excel); None when
    #: the caller did not ask for them (writers then write ids).
    labels: Labels | None = field(default=None, compare=False, repr=False)
    #: What the data set says to do with its rows (answers of updatedAfter and includeHistory):
    #: "Replace" (the rows as they are, or were, from `valid_from`) or "Delete" (the
    #: observations removed at `valid_to`; their rows carry keys alone). None: a plain answer,
    #: written as every format wrote it before (Information).
    action: Action | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    @property
    def flow_ref(self) -> str:
        return f"{self.flow[0]}:{self.flow[1]}({self.flow[2]})"

    @property
    def flow_urn(self) -> str:
        return f"urn:sdmx:org.sdmx.infomodel.{_URN_CLASS[self.context]}={self.flow_ref}"

    @property
    def structure_id(self) -> str:
        # An xs:ID: an NCName, whatever characters the agency, id and version hold.
        return re.sub(r"[^A-Za-z0-9_]", "_", "_".join(self.flow))


@dataclass(frozen=True)
class DataMessage:
    header: Header
    datasets: Sequence[DataSetPart]
    #: Accept-Language, for formats that write labels (None: every language).
    languages: tuple[str, ...] | None = None
    #: Media-type parameters the client gave (labels, timeFormat, keys), lower-case names.
    parameters: dict[str, str] = field(default_factory=dict, compare=False)


def carries_actions(writer: str, options: Mapping[str, object]) -> bool:
    """Whether a data writer (the media table's `module:function` and row options) can say
    what a data set does (Replace, Delete) and when it was valid. SDMX-CSV 1.0 has no ACTION
    column; JSON-stat and Excel are tables for people, with no notion of a deletion."""
    if writer.endswith("data_csv:write"):
        return options.get("version") != "1.0"
    return not writer.endswith(("data_jsonstat:write", "data_xlsx:write"))
