"""Codes kept in a CSV file next to the YAML file: `id`, `parent`, `name_xx`, `description_xx`.

UTF-8 (a byte order mark, as spreadsheets write it, is allowed), comma-separated, first row a
header. Errors point into the CSV file itself, at the line where the row starts.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sdmx.model import common

from sdmx_server.registry.authoring.checks import ID_HINT, LANGUAGE_RE, REQUIRED_LANGUAGES, check_id
from sdmx_server.registry.authoring.errors import Reporter
from sdmx_server.registry.authoring.items import ItemDraft

REQUIRED_COLUMNS = ("id", "name_fa", "name_en")
COLUMN_HINT = "id, parent, name_fa, name_en, description_fa, description_en, and name_xx / description_xx for other languages"
MAX_BYTES = 200 * 1024 * 1024


def _column_ok(name: str) -> bool:
    if name in ("id", "parent"):
        return True
    for prefix in ("name_", "description_"):
        if name.startswith(prefix) and LANGUAGE_RE.match(name[len(prefix):]):
            return True
    return False


def read_codes_csv(path: Path, report: Reporter) -> list[ItemDraft] | None:
    """The codes of a CSV file as drafts (not yet in a codelist); None when unusable."""
    try:
        if path.stat().st_size > MAX_BYTES:
            report(0, f"the codes file is larger than {MAX_BYTES // (1024 * 1024)} MB")
            return None
        data = path.read_bytes()
    except OSError as exc:
        report(0, f"cannot read the codes file: {exc.strerror or exc}")
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        report(line, f"the file is not UTF-8 (byte 0x{data[exc.start]:02x} at this line); save it as UTF-8")
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    drafts: list[ItemDraft] = []
    header: list[str] | None = None
    rows = 0
    end = 0  # the line where the previous record ended
    try:
        for row in reader:
            line, end = end + 1, reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if header is None:
                header = _header(row, line, report)
                if header is None:
                    return None
                continue
            rows += 1
            draft = _row(row, header, line, report)
            if draft is not None:
                drafts.append(draft)
    except csv.Error as exc:
        report(reader.line_num or end + 1, f"the CSV does not parse: {exc}")
        return None
    if header is None:
        report(1, "the codes file is empty: its first row must be a header with the columns id, name_fa, name_en")
        return None
    if not rows:
        report(1, "the codes file has a header but no codes")
    return drafts


def _header(row: list[str], line: int, report: Reporter) -> list[str] | None:
    names = [cell.strip() for cell in row]
    ok = True
    seen: set[str] = set()
    for name in names:
        if name in seen:
            report(line, f"column {name!r} appears twice in the header")
            ok = False
        seen.add(name)
        if not _column_ok(name):
            report(line, f"unknown column {name!r}; the columns are {COLUMN_HINT}")
            ok = False
    missing = [name for name in REQUIRED_COLUMNS if name not in seen]
    if missing:
        columns = ", ".join(names)
        report(line, f"the header lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)} (it has: {columns})")
        ok = False
    return names if ok else None


def _row(row: list[str], header: list[str], line: int, report: Reporter) -> ItemDraft | None:
    if len(row) != len(header):
        report(line, f"the row has {len(row)} field{'s' if len(row) != 1 else ''} but the header has {len(header)}")
        return None
    cells = {name: cell.strip() for name, cell in zip(header, row)}
    code_id = cells["id"]
    if not code_id:
        report(line, "the row has no id")
        return None
    if not check_id(code_id):
        report(line, f"id {code_id!r} is not a valid SDMX id: {ID_HINT}")
        return None
    what = f"code {code_id}"
    texts: dict[str, dict[str, str]] = {"name": {}, "description": {}}
    for column, value in cells.items():
        field, _, language = column.partition("_")
        if field in texts and value:
            texts[field][language] = value
    for language in REQUIRED_LANGUAGES:
        if language not in texts["name"]:
            report(line, f"{what}: name_{language} is empty")
    descriptions = texts["description"]
    if descriptions:
        missing = [lang for lang in REQUIRED_LANGUAGES if lang not in descriptions]
        if missing:
            report(line, f"{what}: a description needs both fa and en; description_{missing[0]} is empty")
    parent = cells.get("parent") or None
    if parent is not None and not check_id(parent):
        report(line, f"{what}: parent {parent!r} is not a valid SDMX id: {ID_HINT}")
        parent = None
    code = common.Code(id=code_id, name=common.InternationalString(texts["name"]))
    if descriptions:
        code.description = common.InternationalString(descriptions)
    # Kept even when a label is wrong (reported above), so that its children still find it.
    return ItemDraft(code, line, report, parent, line)
