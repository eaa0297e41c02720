"""Office-grade Excel 台账: the one writer every export uses.

A ledger is what an office would make by hand and send upward: real Excel dates (local time, Asia/Shanghai) and
numbers, codes / IDs / phone numbers as text (``@``) so Excel never turns a 20-digit 区域代码 into 1.2E+19, columns
as wide as their content (CJK characters count double), a frozen bold header with an autofilter, and a page setup
that prints: A4 landscape, fit to width, the header repeated on every page, "第 1 页 共 3 页" in the footer.

Rows are streamed through openpyxl's write-only mode, so a million-row ledger takes constant memory: only the first
:data:`SAMPLE_ROWS` rows are held back to fit the column widths. :func:`streaming_response` writes into a temporary
file and serves it from there, with no row cap; :func:`attachment` gives any file a Chinese download name.

Text is text: a value typed as ``=HYPERLINK(…)`` is written as a string, never a live formula, and control
characters (which the file format refuses) are dropped rather than breaking the whole export.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from copy import copy
from dataclasses import dataclass, field
from typing import IO, Any, Literal
from urllib.parse import quote

from django.http import FileResponse, HttpResponse, HttpResponseBase
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from gongzhi.core import workdays

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SAMPLE_ROWS = 200  # rows looked at to fit the column widths
MAX_WIDTH = 60  # characters (CJK count double); longer text wraps in Excel's cell editor, not across the sheet
MIN_WIDTH = 6
MAX_TEXT = 32_767  # Excel's limit for one cell

Kind = Literal["text", "code", "int", "number", "percent", "date", "datetime"]

FORMATS: dict[str, str] = {
    "text": "General",
    "code": "@",
    "int": "0",
    "number": "0.00",
    "percent": "0.00%",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
}


@dataclass(frozen=True)
class Col:
    """One column: its title and what its cells hold.

    ``code``: identifiers, phone numbers, ID numbers — text with the ``@`` format. ``percent``: a rate given in
    percent (93.5) — written as 0.935 with a percentage format. ``date`` / ``datetime``: ``datetime.date`` /
    aware ``datetime`` values, written as Excel dates in local time. ``width`` fixes the width instead of fitting.
    """

    title: str
    kind: Kind = "text"
    width: float | None = None


@dataclass
class Sheet:
    """One worksheet of a ledger: its tab name, columns, rows (any iterable: it is read once, in order) and an
    optional title written above the header (for instance "碧海社区挂账台账（2026-12-02）")."""

    name: str
    columns: Sequence[Col]
    rows: Iterable[Sequence[Any]]
    title: str | None = None
    written: int = field(default=0, init=False)  # data rows written, set by :func:`write`


# ------------------------------------------------------------------------------------------------ cells


def display_width(text: str) -> int:
    """Columns a text takes in Excel: wide (CJK) and full-width characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def clean_text(value: str) -> str:
    """What a cell can hold: no control characters, at most Excel's 32,767 characters."""
    return ILLEGAL_CHARACTERS_RE.sub("", value)[:MAX_TEXT]


def excel_datetime(value: dt.datetime) -> dt.datetime:
    """An aware datetime as the naive local (Asia/Shanghai) time Excel shows."""
    if timezone.is_aware(value):
        value = value.astimezone(workdays.TZ)
    return value.replace(tzinfo=None)


def _convert(kind: str, value: Any) -> Any:
    if value is None or value == "":
        return None
    if kind == "datetime" and isinstance(value, dt.datetime):
        return excel_datetime(value)
    if kind == "date" and isinstance(value, dt.datetime):
        return excel_datetime(value).date()
    if kind == "percent" and isinstance(value, int | float) and not isinstance(value, bool):
        return value / 100.0
    if kind == "code" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dt.datetime):  # a datetime in a column not declared as one: still local time
        return excel_datetime(value)
    return value


def _shown(kind: str, value: Any) -> str:
    """The text a value shows as, for fitting widths."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return "0000-00-00 00:00"
    if isinstance(value, dt.date):
        return "0000-00-00"
    if kind == "percent" and isinstance(value, float):
        return f"{value * 100:.2f}%"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def fitted_widths(columns: Sequence[Col], sample: Sequence[Sequence[Any]]) -> list[float]:
    """Width of each column from its title and the sample rows (already converted), within [MIN, MAX]."""
    widths = []
    for i, column in enumerate(columns):
        if column.width is not None:
            widths.append(column.width)
            continue
        longest = display_width(column.title) + 2  # room for the autofilter's drop-down button
        for row in sample:
            if i < len(row):
                text = _shown(column.kind, row[i])
                longest = max(longest, max((display_width(line) for line in text.splitlines()), default=0))
        widths.append(float(min(MAX_WIDTH, max(MIN_WIDTH, longest + 2))))
    return widths


class _Styles:
    """One template cell per column: every data cell copies its style array (cheap) instead of looking the style up
    again, which keeps a million rows fast."""

    def __init__(self, ws: Any, columns: Sequence[Col]) -> None:
        self.ws = ws
        self.kinds = [c.kind for c in columns]
        self.templates = []
        for column in columns:
            cell = WriteOnlyCell(ws)
            cell.number_format = FORMATS[column.kind]
            self.templates.append(cell._style)

    def row(self, values: Sequence[Any]) -> list[Any]:
        out: list[Any] = []
        for i, value in enumerate(values):
            if value is None:
                out.append(None)
                continue
            kind = self.kinds[i] if i < len(self.kinds) else "text"
            if kind == "text" and not (isinstance(value, str) and value.startswith("=")) and not isinstance(
                    value, dt.date):
                out.append(value)  # the common case: openpyxl writes a plain value without a style
                continue
            cell = WriteOnlyCell(self.ws)
            if i < len(self.templates):
                cell._style = copy(self.templates[i])
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # "=…" stays text, never a formula
            out.append(cell)
        return out


# ------------------------------------------------------------------------------------------------ writing

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="FFD9E1F2")
HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
HEADER_BORDER = Border(bottom=Side(style="thin", color="FF808080"))
TITLE_FONT = Font(bold=True, size=14)
FOOTER = "第 &P 页 共 &N 页"


def _write_sheet(wb: Workbook, sheet: Sheet) -> None:
    ws = wb.create_sheet(sheet.name[:31])
    columns = list(sheet.columns)
    n = len(columns)
    last_col = get_column_letter(max(n, 1))
    header_row = 2 if sheet.title else 1
    rows: Iterator[Sequence[Any]] = iter(sheet.rows)
    kinds = [c.kind for c in columns]

    def converted(row: Sequence[Any]) -> list[Any]:
        return [_convert(kinds[i] if i < n else "text", v) for i, v in enumerate(row)]

    sample: list[list[Any]] = []
    for row in rows:
        sample.append(converted(row))
        if len(sample) >= SAMPLE_ROWS:
            break
    # Column widths, panes and print setup must be set before the first row is written (write-only mode).
    for i, width in enumerate(fitted_widths(columns, sample), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = f"A{header_row + 1}"
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"  # A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as it takes
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.oddFooter.center.text = FOOTER
    ws.evenFooter.center.text = FOOTER

    if sheet.title:
        title = WriteOnlyCell(ws, value=clean_text(sheet.title))
        title.data_type = "s"
        title.font = TITLE_FONT
        ws.append([title])
        if n > 1:
            ws.merged_cells.add(f"A1:{last_col}1")
    header = []
    for column in columns:
        cell = WriteOnlyCell(ws, value=clean_text(column.title))
        cell.data_type = "s"
        cell.font, cell.fill, cell.alignment, cell.border = HEADER_FONT, HEADER_FILL, HEADER_ALIGN, HEADER_BORDER
        header.append(cell)
    ws.append(header)

    styles = _Styles(ws, columns)
    written = 0
    for values in sample:
        ws.append(styles.row(values))
        written += 1
    for row in rows:
        ws.append(styles.row(converted(row)))
        written += 1
    sheet.written = written
    ws.auto_filter.ref = f"A{header_row}:{last_col}{header_row + max(written, 1)}"


def write(stream: IO[bytes], *sheets: Sheet) -> int:
    """Write the sheets as one workbook into a binary stream; returns the number of data rows written."""
    wb = Workbook(write_only=True)
    for sheet in sheets:
        _write_sheet(wb, sheet)
    wb.save(stream)
    return sum(s.written for s in sheets)


def workbook_bytes(*sheets: Sheet) -> bytes:
    """A small ledger in memory (council ledgers, figures): :func:`write` into bytes."""
    out = io.BytesIO()
    write(out, *sheets)
    return out.getvalue()


# ------------------------------------------------------------------------------------------------ downloads


def ascii_fallback(filename: str) -> str:
    """The download name for clients that do not read RFC 5987: the ASCII letters of the name (accents dropped),
    "export" when nothing is left of the stem."""
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    plain = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    plain = re.sub(r"[^A-Za-z0-9._-]+", "-", plain).strip("-._") or "export"
    ext = re.sub(r"[^A-Za-z0-9]+", "", ext)
    return f"{plain}.{ext}" if ext else plain


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """``attachment; filename="ASCII fallback"; filename*=UTF-8''%E6%8C%82…`` (RFC 6266 / RFC 5987)."""
    filename = filename.replace("\r", "").replace("\n", "").replace("/", "-").replace("\\", "-")
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_fallback(filename)}\"; filename*=UTF-8''{quote(filename, safe='')}"


def attachment(response_or_content: HttpResponseBase | bytes | str, filename: str, *,
               content_type: str | None = None, inline: bool = False) -> HttpResponseBase:
    """A download with a Chinese file name: wraps bytes (or text) in an HttpResponse, or sets the header on a
    response built elsewhere (a FileResponse, a streamed export). The content type defaults to Excel's for
    ``.xlsx``, Word's for ``.docx``, PDF for ``.pdf``."""
    if isinstance(response_or_content, HttpResponseBase):
        response = response_or_content
        if content_type:
            response["Content-Type"] = content_type
    else:
        response = HttpResponse(response_or_content, content_type=content_type or _guess_type(filename))
    response["Content-Disposition"] = content_disposition(filename, inline=inline)
    return response


def _guess_type(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower()
    return {
        "xlsx": XLSX, "pdf": "application/pdf", "csv": "text/csv; charset=utf-8",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    }.get(ext, "application/octet-stream")


def write_file(*sheets: Sheet) -> tuple[IO[bytes], int]:
    """Write a (large) ledger into an anonymous temporary file, rewound; returns the file and the row count."""
    handle = tempfile.TemporaryFile(prefix="ledger-", suffix=".xlsx")  # closed by the response
    try:
        rows = write(handle, *sheets)
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    return handle, rows


def streaming_response(filename: str, *sheets: Sheet) -> FileResponse:
    """A large ledger as a download, every row included: written to a temporary file (constant memory with
    write-only mode) and streamed from there; the file disappears when the response is closed."""
    handle, rows = write_file(*sheets)
    response = FileResponse(handle, content_type=XLSX)
    response["Content-Disposition"] = content_disposition(filename)
    response["X-Ledger-Rows"] = str(rows)
    return response


def dated_name(stem: str, ext: str = "xlsx", day: dt.date | None = None) -> str:
    """``挂账台账-20261202.xlsx``: a file name with today's local date."""
    return f"{stem}-{(day or timezone.localdate()):%Y%m%d}.{ext}"
