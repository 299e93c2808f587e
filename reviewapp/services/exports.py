"""Spreadsheet exports that stay flat in memory however many rows there are: CSV is streamed line
by line, XLSX is written by XlsxWriter in constant_memory mode to a temp file, rows come from
`.iterator(chunk_size=...)`.

Every data cell of every CSV and XLSX Doppel writes goes through `safe_cell`, the one place that
decides what a spreadsheet would run as a formula (CSV/XLSX injection): file names, keys, notes and
name-list lines come from outside and `=HYPERLINK(...)`, `+cmd|calc`, `@SUM(1)` must stay text.
The only formula Doppel writes itself is the error log's link (`hyperlink_formula`), whose
argument has its quotes doubled so data cannot close the string and add a formula of its own."""
from __future__ import annotations

import contextlib
import csv
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime

# Characters that make Excel, LibreOffice or Google Sheets read a cell as a formula (OWASP's list,
# plus line feed and the full-width forms some locales accept), also after leading blanks.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# Characters at which Excel may split one CSV cell into several when it opens the file: the list
# separator is `;` in much of Europe (and our `,` is then just text, so Python's quoting does not
# hold the cell together), tab when text is pasted, and line breaks. `see;=1+1;` becomes `see`,
# `=1+1`, ``, and the middle one runs; an apostrophe before the whole value would stay in `see`.
# So each formula character that follows one of them (after blanks) gets its own apostrophe.
SPLIT_AT = ";\t\r\n"
_FORMULA_CHARS = re.escape("=+-@\uff1d\uff0b\uff0d\uff20")
_AFTER_SPLIT = re.compile(f"([{re.escape(SPLIT_AT)}][ \\t]*)(?=[{_FORMULA_CHARS}])")
_AFTER_SPLIT_MARKED = re.compile(f"([{re.escape(SPLIT_AT)}][ \\t]*)'(?=[{_FORMULA_CHARS}])")
# Excel refuses a string literal longer than this inside a formula.
FORMULA_LITERAL_MAX = 255


def safe_cell(value):
    """The spreadsheet-safe form of one data cell. A string a spreadsheet would evaluate gets a
    leading apostrophe, which shows it as text; numbers and dates stay typed (a negative number
    is a number, not a formula); None becomes an empty cell. A formula character after a `;`, tab
    or line break gets an apostrophe too (`see;'=1+1;`), since Excel may split the cell there
    (SPLIT_AT); the same rule for CSV and XLSX, so every file says the same text."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, str):
        value = _AFTER_SPLIT.sub(r"\1'", value)
        if value.lstrip(" ").startswith(FORMULA_START):
            return "'" + value
    return value


def cell_text(value: str) -> str:
    """The original text of a cell `safe_cell` neutralised, for files people hand back (a fixed
    name-list misses CSV uploaded again): the apostrophes it added come off."""
    unmarked = _AFTER_SPLIT_MARKED.sub(r"\1", value)
    for original in ((unmarked[1:],) if unmarked.startswith("'") else ()) + (unmarked,):
        if safe_cell(original) == value:
            return original
    return value


def safe_row(row: Iterable) -> list:
    return [safe_cell(v) for v in row]


class _Echo:
    def write(self, value):
        return value


def csv_lines(header: list[str], rows: Iterable[Iterable], *, bom=True) -> Iterator[str]:
    """CSV lines (header first), every data cell through `safe_cell`. The BOM lets Excel open
    UTF-8 correctly; `bom=False` for files other programs read back (name-list misses)."""
    writer = csv.writer(_Echo())
    yield ("\ufeff" if bom else "") + writer.writerow(header)
    for row in rows:
        yield writer.writerow([_csv_value(v) for v in safe_row(row)])


def csv_text(header: list[str], rows: Iterable[Iterable], *, bom=False) -> str:
    """The whole CSV as one string, for small files (name-list misses, manifests)."""
    return "".join(csv_lines(header, rows, bom=bom))


def _csv_value(v):
    if isinstance(v, datetime):
        return v.isoformat(sep=" ", timespec="seconds")
    return v


def hyperlink_formula(url: str) -> str:
    """A clickable link cell. Quotes in the URL are doubled (Excel's escape inside a string
    literal), so the data can never end the literal and append a formula; a URL too long for a
    formula literal is written as neutralised text instead."""
    if len(url) > FORMULA_LITERAL_MAX:
        return safe_cell(url)
    literal = url.replace('"', '""')
    return f'=HYPERLINK("{literal}","{literal}")'


WIDTH_SAMPLE_ROWS = 200  # rows looked at (and held) to size the columns before streaming the rest
MAX_COLUMN_WIDTH = 60


def _width(value) -> int:
    if isinstance(value, datetime):
        return 16
    return len(str(value))


def xlsx_write(header: list[str], rows: Iterable[Iterable], *, title="Export", link_column=None) -> str:
    """Write rows to a temp .xlsx and return its path (the caller removes it). If writing fails
    part-way (rows that raise, a full disk) the temp file is removed before the error goes on:
    the caller never got a path, so nobody else could remove it.

    XlsxWriter's constant_memory mode flushes each row to disk as the next one starts, so memory
    stays flat however many rows there are. The sheet opens ready to work with: a bold, frozen
    header row with an autofilter, and columns sized from the first rows. `link_column` (index)
    becomes a HYPERLINK formula *with its cached value*, so the link text shows even in viewers
    that never calculate, and unlike cell hyperlinks (65,530 per sheet) it has no count limit."""
    fd, path = tempfile.mkstemp(prefix="doppel-export-", suffix=".xlsx")
    os.close(fd)
    try:
        # XlsxWriter's own scratch files go in a directory of ours, removed whatever happens: it
        # leaves its row file behind when a sheet fails before its first row is written
        with tempfile.TemporaryDirectory(prefix="doppel-export-") as scratch:
            _xlsx_fill(path, header, rows, title=title, link_column=link_column, scratch=scratch)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    return path


def _xlsx_fill(path: str, header: list[str], rows: Iterable[Iterable], *, title, link_column, scratch: str) -> None:
    import itertools

    import xlsxwriter

    wb = xlsxwriter.Workbook(path, {
        "constant_memory": True,
        "strings_to_formulas": False,  # a cell text is never run as a formula...
        "strings_to_urls": False,
        "strings_to_numbers": False,
        "default_date_format": "yyyy-mm-dd hh:mm:ss",
        "remove_timezone": True,
        "tmpdir": scratch,
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
                if url and url.startswith(("http://", "https://")) and len(url) <= FORMULA_LITERAL_MAX:
                    # ...only the link column is a formula we build ourselves, with its value cached
                    ws.write_formula(r, c, hyperlink_formula(url), link, url)
                else:
                    ws.write(r, c, v)
        ws.autofilter(0, 0, max(r, 1), len(header) - 1)
    finally:
        wb.close()
