"""Spreadsheet exports (CSV and XLSX) that are safe to open in Excel or WPS.

A cell that starts with = + - @ (or their full-width forms, which spreadsheet programs also read
as formula starts), a tab or a carriage return could run as a formula ("CSV injection"); such a
cell gets a leading apostrophe. CSV is UTF-8 with a byte-order mark, so Excel on Chinese Windows
reads the Chinese text correctly; XLSX cells are always written as strings, never as formulas.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
BOM = "\ufeff"


def neutralise(value: object) -> str:
    """A cell's text, with a leading apostrophe when it would start a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """UTF-8 CSV with BOM and CRLF line ends, every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return (BOM + buffer.getvalue()).encode("utf-8")


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[object]], *, title: str) -> bytes:
    """One-sheet XLSX; every cell a neutralised string (never a formula)."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    for row in [header, *rows]:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", neutralise(cell)) for cell in row])
    for row in sheet.iter_rows():
        for cell in row:
            # openpyxl reads a string beginning with "=" as a formula; say it is a string.
            cell.data_type = "s"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
