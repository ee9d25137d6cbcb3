"""A unit's own CSV or Excel files, read as text columns under the unit's own headers.

Row numbers are those a spreadsheet shows: the header row is `header_row` (1 by default) and
the first data row the one after it. A glob may match several files (one per month, say): they
are read in name order and must share their headers; their rows count on across them, and the
load's report says which file each range of rows came from.
"""

from __future__ import annotations

import zipfile
from datetime import date, datetime, time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from sdmx_server.sources.raw import PullError, RawData
from sdmx_server.sources.spec import SourceSpec


def read_files(spec: SourceSpec) -> RawData:
    paths = spec.data_files()
    if not paths:
        raise PullError(f"no file matches {spec.data_path!r} (beside {spec.path})")
    tables, rows, parts = [], [], []
    offset = 0
    for path in paths:
        if not path.is_file():
            raise PullError(f"{path}: no such file")
        table, first_row = read_csv(path, spec) if spec.kind == "csv" else read_excel(path, spec)
        if tables and table.column_names != tables[0].column_names:
            raise PullError(f"{path.name} has the columns {table.column_names}, unlike {paths[0].name}: "
                            f"{tables[0].column_names}")
        numbers = pa.array(range(first_row + offset, first_row + offset + table.num_rows), pa.int64())
        if len(paths) > 1:
            parts.append(f"rows {first_row + offset:,}..{first_row + offset + table.num_rows - 1:,} are "
                         f"{path.name} rows {first_row:,}..{first_row + table.num_rows - 1:,}")
        offset += table.num_rows
        tables.append(table)
        rows.append(numbers)
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    where = paths[0].name if len(paths) == 1 else f"{len(paths)} files ({paths[0].name} ... {paths[-1].name})"
    return RawData(table, pa.concat_arrays(rows), where, parts)


def read_csv(path: Path, spec: SourceSpec) -> tuple[pa.Table, int]:
    """All columns as text; the first data row's number."""
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
        skip = spec.header_row - 1
        header_text = head.decode(spec.encoding, errors="replace").lstrip("\ufeff").splitlines()
        if len(header_text) <= skip:
            raise PullError(f"{path.name}: there is no row {spec.header_row} to hold the column names")
        encoding = "utf-8" if spec.encoding.lower().replace("_", "-") in ("utf-8", "utf8", "utf-8-sig") else spec.encoding
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(skip_rows=skip, encoding=encoding, block_size=1 << 22),
            parse_options=pacsv.ParseOptions(delimiter=spec.delimiter, newlines_in_values=True),
            convert_options=_text_options(path, spec, skip, encoding),
        )
    except PullError:
        raise
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError, LookupError) as exc:
        raise PullError(f"{path.name} cannot be read as CSV ({spec.encoding}, delimiter {spec.delimiter!r}): "
                        f"{str(exc).splitlines()[0]}") from None
    names = [n.lstrip("\ufeff").strip() for n in table.column_names]
    return table.rename_columns(names), spec.header_row + 1


def _text_options(path: Path, spec: SourceSpec, skip: int, encoding: str) -> pacsv.ConvertOptions:
    """Conversion options that keep every column as text; the header is read first for the names."""
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(skip_rows=skip, encoding=encoding, block_size=1 << 16),
        parse_options=pacsv.ParseOptions(delimiter=spec.delimiter, newlines_in_values=True),
    )
    names = reader.schema.names
    reader.close()
    return pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                                quoted_strings_can_be_null=False)


def read_excel(path: Path, spec: SourceSpec) -> tuple[pa.Table, int]:
    """One sheet (the first, or the one named) as text columns, read in openpyxl's streaming mode."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise PullError(f"{path.name} cannot be read as an Excel workbook (.xlsx): {exc}") from None
    try:
        if spec.sheet is None:
            sheet = book.worksheets[0]
        elif isinstance(spec.sheet, int):
            if not 1 <= spec.sheet <= len(book.worksheets):
                raise PullError(f"{path.name} has {len(book.worksheets)} sheet(s); there is no sheet {spec.sheet}")
            sheet = book.worksheets[spec.sheet - 1]
        else:
            if spec.sheet not in book.sheetnames:
                raise PullError(f"{path.name} has no sheet {spec.sheet!r}; its sheets: {', '.join(book.sheetnames)}")
            sheet = book[spec.sheet]
        rows = sheet.iter_rows(min_row=spec.header_row, values_only=True)
        header = next(rows, None)
        if header is None:
            raise PullError(f"{path.name}: sheet {sheet.title!r} has no row {spec.header_row} to hold the column names")
        width = len(header)
        while width and header[width - 1] in (None, ""):
            width -= 1  # trailing empty header cells are formatting, not columns
        names = [_cell_text(h).strip() for h in header[:width]]
        columns: list[list[str]] = [[] for _ in names]
        trailing_blank = 0
        for row in rows:
            cells = [_cell_text(row[i]) if i < len(row) else "" for i in range(width)]
            for column, cell in zip(columns, cells):
                column.append(cell)
            trailing_blank = trailing_blank + 1 if not any(cells) else 0
    finally:
        book.close()
    if trailing_blank:
        columns = [c[: len(c) - trailing_blank] for c in columns]  # empty rows under the table
    return pa.table({n: pa.array(c, pa.string()) for n, c in zip(names, columns)}), spec.header_row + 1


def _cell_text(value) -> str:
    """A cell as the unit sees it: whole numbers without '.0', dates as ISO dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
