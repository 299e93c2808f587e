"""Spreadsheet exports that stay flat in memory however many rows there are: CSV is streamed line
by line, XLSX is written by openpyxl's write-only workbook to a temp file, rows come from
`.iterator(chunk_size=...)`. Cells that a spreadsheet would run as a formula are neutralised."""
from __future__ import annotations

import csv
import os
import tempfile
from datetime import datetime
from typing import Iterable, Iterator

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """Spreadsheet-safe value: a leading formula character is quoted (CSV/XLSX injection)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class _Echo:
    def write(self, value):
        return value


def csv_lines(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(header)  # BOM: Excel opens UTF-8 CSV correctly
    for row in rows:
        yield writer.writerow([_csv_value(safe_cell(v)) for v in row])


def _csv_value(v):
    if isinstance(v, datetime):
        return v.isoformat(sep=" ", timespec="seconds")
    return v


def _hyperlink_formula(url: str) -> str:
    url = url.replace('"', "%22")
    return f'=HYPERLINK("{url}","{url}")'


def xlsx_write(header: list[str], rows: Iterable[Iterable], *, title="Export", link_column=None) -> str:
    """Write rows to a temp .xlsx in write-only mode and return its path (the caller removes it).
    `link_column` (index) becomes a clickable HYPERLINK formula: unlike cell hyperlinks, which
    openpyxl keeps in memory until the sheet closes, a formula costs nothing per row."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31])
    bold = Font(bold=True)
    head = []
    for h in header:
        c = WriteOnlyCell(ws, value=h)
        c.font = bold
        head.append(c)
    ws.append(head)
    for row in rows:
        out = [safe_cell(v) for v in row]
        if link_column is not None and out[link_column]:
            out[link_column] = _hyperlink_formula(str(row[link_column]))
        ws.append(out)
    fd, path = tempfile.mkstemp(prefix="doppel-export-", suffix=".xlsx")
    os.close(fd)
    wb.save(path)
    return path
