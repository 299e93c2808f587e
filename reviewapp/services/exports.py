"""Spreadsheet exports that stay flat in memory however many rows there are: CSV is streamed line
by line, XLSX is written by XlsxWriter in constant_memory mode to a temp file, rows come from
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


# Excel refuses a string literal longer than this inside a formula; such a link is written as text.
FORMULA_STRING_MAX = 255
WIDTH_SAMPLE_ROWS = 200  # rows looked at (and held) to size the columns before streaming the rest
MAX_COLUMN_WIDTH = 60


def _hyperlink_formula(url: str) -> str:
    url = url.replace('"', "%22")
    return f'=HYPERLINK("{url}","{url}")'


def _width(value) -> int:
    if isinstance(value, datetime):
        return 16
    return len(str(value))


def xlsx_write(header: list[str], rows: Iterable[Iterable], *, title="Export", link_column=None) -> str:
    """Write rows to a temp .xlsx and return its path (the caller removes it).

    XlsxWriter's constant_memory mode flushes each row to disk as the next one starts, so memory
    stays flat however many rows there are. The sheet opens ready to work with: a bold, frozen
    header row with an autofilter, and columns sized from the first rows. `link_column` (index)
    becomes a HYPERLINK formula *with its cached value*, so the link text shows even in viewers
    that never calculate, and unlike cell hyperlinks (65,530 per sheet) it has no count limit."""
    import itertools

    import xlsxwriter

    fd, path = tempfile.mkstemp(prefix="doppel-export-", suffix=".xlsx")
    os.close(fd)
    wb = xlsxwriter.Workbook(path, {
        "constant_memory": True,
        "strings_to_formulas": False,  # a cell text is never run as a formula...
        "strings_to_urls": False,
        "strings_to_numbers": False,
        "default_date_format": "yyyy-mm-dd hh:mm:ss",
        "remove_timezone": True,
    })
    try:
        ws = wb.add_worksheet(title[:31])
        bold = wb.add_format({"bold": True})
        link = wb.add_format({"font_color": "blue", "underline": 1})
        rows = iter(rows)
        sample = [[safe_cell(v) for v in row] for row in itertools.islice(rows, WIDTH_SAMPLE_ROWS)]
        widths = [len(h) for h in header]
        for out in sample:
            for c, v in enumerate(out[:len(widths)]):
                widths[c] = max(widths[c], _width(v))
        for c, w in enumerate(widths):  # constant_memory: columns are set before any row is written
            ws.set_column(c, c, min(MAX_COLUMN_WIDTH, w + 2))
        ws.freeze_panes(1, 0)
        ws.write_row(0, 0, header, bold)
        r = 0
        for r, out in enumerate(itertools.chain(sample, ([safe_cell(v) for v in row] for row in rows)), start=1):
            for c, v in enumerate(out):
                url = v if c == link_column and isinstance(v, str) else ""
                if url and url.startswith(("http://", "https://")) and len(url) <= FORMULA_STRING_MAX:
                    # ...only the link column is a formula we build ourselves, with its value cached
                    ws.write_formula(r, c, _hyperlink_formula(url), link, url)
                else:
                    ws.write(r, c, v)
        ws.autofilter(0, 0, max(r, 1), len(header) - 1)
    finally:
        wb.close()
    return path
