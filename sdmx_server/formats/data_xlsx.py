"""An Excel workbook (Office Open XML, .xlsx) of the data, streamed with constant memory.

The zip and the sheet XML are written here, not by a library: xlsxwriter's constant-memory
mode and openpyxl's write-only mode both finish the workbook in a file before the first byte
can go out. `zipfile` writes entries to a stream that cannot seek (with data descriptors), so
each batch of rows becomes sheet XML in a few Arrow kernels, goes through the entry's deflate
and out to the client; memory is the batch's. Cells hold their text inline (`inlineStr`):
a shared-string table would need every string before the first sheet.

Sheet "1" (and more): a header row with each column's id and name in the client's language
("AREA: Area"), then one row per observation: codes with their names ("IR-23: Tehran"), the
measure as a number. A sheet holds at most 1,048,576 rows (Excel's limit); the rows of a longer
answer continue on the next sheet, as the row count is not known before the rows are read.
Each data set starts its own sheet. The last sheet, "About", says what the data are. The sheets
read right to left when the client's first language is written right to left (Persian, ...).

No cell is ever a formula: every text is an inline string, and a text that a spreadsheet would
take for a formula once edited or re-saved as CSV (starting with =, +, -, @, tab or carriage
return: "formula injection") carries Excel's quote prefix (style 2, or 3 in the header), as
if typed after an apostrophe, so that it stays the text it is. Numbers are numbers.
"""

from __future__ import annotations

import io
import zipfile
from typing import Iterator
from xml.sax.saxutils import escape

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sdmx_server.formats.data_message import DataMessage, DataSetPart, Labels
from sdmx_server.formats.ml21 import format_datetime
from sdmx_server.formats.text import buffer_of, join, number_text, xml_escape

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Excel's rows per sheet, the header row included.
MAX_ROWS = 1_048_576
RTL = frozenset({"fa", "ar", "he", "ur", "ps", "ckb", "dv", "yi", "sd", "ug"})
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
#: What a spreadsheet reads as the start of a formula (OWASP's CSV injection list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START_REGEX = "^[=+\\-@\t\r]"


def text_cell(text: str, bold: bool = False) -> str:
    """An inline-string cell of `text`, quote-prefixed when it would start a formula."""
    style = (3 if bold else 2) if text.startswith(FORMULA_START) else (1 if bold else None)
    attribute = f' s="{style}"' if style is not None else ""
    return f'<c t="inlineStr"{attribute}><is><t>{escape(text)}</t></is></c>'


def _text_cells(raw: pa.Array, text: pa.Array) -> pa.Array:
    """Cells of a text column: `text` (already escaped) in inline strings; those whose `raw` text
    would start a formula quote-prefixed."""
    plain = pc.binary_join_element_wise('<c t="inlineStr"><is><t>', text, "</t></is></c>", "")
    risky = pc.fill_null(pc.match_substring_regex(raw, _FORMULA_START_REGEX), False)
    if not pc.any(risky).as_py():
        return plain
    quoted = pc.binary_join_element_wise('<c t="inlineStr" s="2"><is><t>', text, "</t></is></c>", "")
    return pc.if_else(risky, quoted, plain)


class _Sink(io.RawIOBase):
    """What zipfile writes to: bytes kept until the generator hands them on."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def drain(self) -> bytes:
        out = b"".join(self.chunks)
        self.chunks.clear()
        return out


def columns(part: DataSetPart) -> list[str]:
    layout = part.layout
    ids = list(part.shape.all_dimension_ids)
    if layout.with_observations:
        ids.append(part.shape.measure.id)
    return ids + [*layout.dataset_attrs, *layout.series_attrs, *layout.obs_attrs]


def write(message: DataMessage) -> Iterator[bytes]:
    return _Workbook(message).stream()


class _Workbook:
    def __init__(self, message: DataMessage) -> None:
        self.message = message
        self.languages = message.languages
        first = (message.languages or ("",))[0].lower().split("-")[0]
        self.rtl = first in RTL
        self.sheets: list[str] = []
        self.sink = _Sink()
        self.zip = zipfile.ZipFile(self.sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        self.counts: list[tuple[str, int]] = []
        self.cell_tables: dict = {}

    def stream(self) -> Iterator[bytes]:
        for part in self.message.datasets:
            yield from self.dataset(part)
        self.about()
        self.package()
        self.zip.close()
        yield self.sink.drain()

    # -- data sheets ---------------------------------------------------------------------------

    def dataset(self, part: DataSetPart) -> Iterator[bytes]:
        ids = columns(part)
        header = self.header_row(part, ids)
        entry, used = self.new_sheet(header), 1
        self.counts.append((part.flow_ref, 0))
        for batch in part.batches:
            offset = 0
            while offset < batch.num_rows:
                if used == MAX_ROWS:
                    entry.write(b"</sheetData></worksheet>")
                    entry.close()
                    entry, used = self.new_sheet(header), 1
                take = min(batch.num_rows - offset, MAX_ROWS - used)
                rows = batch.slice(offset, take)
                entry.write(buffer_of(self.rows(part, rows, ids, used + 1)))
                used += take
                offset += take
                self.counts[-1] = (part.flow_ref, self.counts[-1][1] + take)
            yield self.sink.drain()
        entry.write(b"</sheetData></worksheet>")
        entry.close()

    def new_sheet(self, header: bytes):
        number = len(self.sheets) + 1
        self.sheets.append(str(number))
        entry = self.zip.open(f"xl/worksheets/sheet{number}.xml", "w", force_zip64=True)
        entry.write(self.sheet_head(frozen=True) + header)
        return entry

    def sheet_head(self, frozen: bool) -> bytes:
        view = ' rightToLeft="1"' if self.rtl else ""
        pane = '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>' if frozen else ""
        return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}">'
                f'<sheetViews><sheetView workbookViewId="0"{view}>{pane}</sheetView></sheetViews>'
                "<sheetData>").encode()

    def header_row(self, part: DataSetPart, ids: list[str]) -> bytes:
        labels = part.labels
        cells = []
        for component_id in ids:
            name = labels.component_name(component_id, self.languages) if labels else component_id
            text = component_id if name == component_id else f"{component_id}: {name}"
            cells.append(text_cell(text, bold=True))
        return ('<row r="1">' + "".join(cells) + "</row>").encode()

    def rows(self, part: DataSetPart, batch: pa.RecordBatch, ids: list[str], first_row: int) -> pa.Array:
        n = batch.num_rows
        numbers = pa.array(np.arange(first_row, first_row + n, dtype=np.int64))
        pieces: list = ['<row r="', pc.cast(numbers, pa.string()), '">']
        for component_id in ids:
            pieces.append(self.cells(part, batch, component_id))
        pieces.append("</row>")
        return join(pieces, n)

    def cells(self, part: DataSetPart, batch: pa.RecordBatch, component_id: str) -> pa.Array | str:
        if component_id not in batch.schema.names:
            return "<c/>"
        values = batch.column(component_id)
        component = part.shape.component(component_id)
        if component.role == "measure" and (pa.types.is_floating(values.type) or pa.types.is_integer(values.type)):
            text = number_text(values)
            number = pc.binary_join_element_wise("<c><v>", text, "</v></c>", "")
            if pa.types.is_floating(values.type):  # NaN and infinities are no Excel numbers: text
                special = pc.invert(pc.is_finite(values))
                number = pc.if_else(special, pc.binary_join_element_wise('<c t="inlineStr"><is><t>', text,
                                                                           "</t></is></c>", ""), number)
            return pc.fill_null(number, "<c/>")
        text = pc.cast(values, pa.string()) if not pa.types.is_string(values.type) else values
        if component.coded:
            return self.coded_cells(part, component_id, text)
        if component.role == "time":  # periods are checked on load: nothing to escape, no formula
            return pc.fill_null(pc.binary_join_element_wise('<c t="inlineStr"><is><t>', text, "</t></is></c>", ""),
                                "<c/>")
        return pc.fill_null(_text_cells(text, xml_escape(text)), "<c/>")

    def coded_cells(self, part: DataSetPart, component_id: str, codes: pa.Array) -> pa.Array:
        """Cells of a coded column: each distinct code's cell ("code: name") is written once,
        then taken per row."""
        key = (part.flow, component_id)
        table = self.cell_tables.get(key)
        if table is None:
            component = part.shape.component(component_id)
            labels = part.labels
            listed = list(labels.codes.get(component_id, {})) if labels else []
            every = listed + sorted(component.codes - set(listed))
            cells = []
            for code in every:
                name = labels.code_name(component_id, code, self.languages) if labels else None
                text = code if not name or name == code else f"{code}: {name}"
                cells.append(text_cell(text))
            table = self.cell_tables[key] = (pa.array(every, pa.string()), pa.array(cells, pa.string()))
        keys, cells = table
        found = pc.take(cells, pc.index_in(codes, value_set=keys))
        # A code outside the code list (none should be stored) is still shown, as it is.
        if pc.any(pc.and_(pc.is_null(found), pc.is_valid(codes))).as_py():
            fallback = _text_cells(codes, xml_escape(codes))
            found = pc.coalesce(found, fallback)
        return pc.fill_null(found, "<c/>")

    # -- the rest of the package -----------------------------------------------------------------

    def about(self) -> None:
        header = self.message.header
        rows: list[tuple[str, str]] = [("Prepared", format_datetime(header.prepared)), ("Sender", header.sender),
                                       ("Message", header.id)]
        if self.languages:
            rows.append(("Languages", ", ".join(self.languages)))
        for part, (_, count) in zip(self.message.datasets, self.counts):
            name = Labels.pick(part.labels.usage, self.languages) if part.labels else None
            rows += [("Data set", part.flow_urn), ("Name", name or part.flow[1]), ("Structure", part.shape.dsd_urn),
                     ("Dimension at observation", part.layout.dimension_at_observation),
                     ("Detail", part.layout.detail), ("Rows", str(count))]
        body = "".join(
            f'<row r="{i}">{text_cell(k, bold=True)}{text_cell(v)}</row>' for i, (k, v) in enumerate(rows, 1))
        self.sheets.append("About")
        self.zip.writestr(f"xl/worksheets/sheet{len(self.sheets)}.xml",
                          self.sheet_head(frozen=False) + body.encode() + b"</sheetData></worksheet>")

    def package(self) -> None:
        n = len(self.sheets)
        sheets = "".join(f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>'
                         for i, name in enumerate(self.sheets, 1))
        self.zip.writestr("xl/workbook.xml", f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                          f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>{sheets}</sheets></workbook>')
        rels = "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                       for i in range(1, n + 1))
        rels += f'<Relationship Id="rId{n + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
        self.zip.writestr("xl/_rels/workbook.xml.rels", _RELS_HEAD + rels + "</Relationships>")
        self.zip.writestr("xl/styles.xml", _STYLES)
        self.zip.writestr("_rels/.rels", _RELS_HEAD + f'<Relationship Id="rId1" Type="{_REL}/officeDocument" '
                          'Target="xl/workbook.xml"/></Relationships>')
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(1, n + 1))
        self.zip.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>' + overrides + "</Types>"))


_RELS_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">')
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<styleSheet xmlns="{_MAIN}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/>'  # formula-like text
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" quotePrefix="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>")
