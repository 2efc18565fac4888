"""Score files: reading an uploaded CSV or XLSX into rows of cell values, and writing the score
template in both formats. Every cell is data: formulas are never evaluated (XLSX is read with
data_only, so a formula gives at most the value Excel cached), and cells written for Excel are
text that cannot turn into a formula."""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
import warnings
import zipfile
from collections.abc import Sequence
from typing import Any

from registry.kernel.errors import RegistryError

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The mimetype only: werkzeug adds "; charset=utf-8" to text types itself (naming it here too
# gave "text/csv; charset=utf-8; charset=utf-8").
CSV_MIME = "text/csv"
# A leading character that makes a spreadsheet read a cell as a formula (or a DDE payload).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
# An XLSX is a zip; refuse archives that would inflate far beyond any real score sheet.
XLSX_MAX_UNPACKED = 100 * 1024 * 1024

Cell = Any  # str, int, float, bool, datetime or None, as the file gave it


def neutralise(value: Any) -> Any:
    """A cell for a CSV that Excel opens: text starting like a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def unneutralise(value: str) -> str:
    """Undo neutralise() on text read back from a template."""
    if value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


def normalise_text(value: Any) -> str:
    """A cell as comparable text: full-width forms folded (NFKC), surrounding space removed."""
    if value is None:
        return ""
    return unicodedata.normalize("NFKC", str(value)).replace("\ufeff", "").strip()


# ---------------------------------------------------------------------- writing


def write_csv(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    """UTF-8 with a BOM (so Excel reads the Chinese correctly), every cell neutralised."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow(["" if cell is None else neutralise(cell) for cell in row])
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


def write_xlsx(header: Sequence[str], rows: Sequence[Sequence[Cell]], *, title: str) -> bytes:
    """One worksheet; strings are stored as text cells (never formulas), numbers as numbers."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = (title or "考评得分")[:31]
    for row_number, values in enumerate([list(header), *map(list, rows)], start=1):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row_number, column=column)
            cell.value = value
            if isinstance(value, str):
                # openpyxl would otherwise store "=…" as a formula.
                cell.data_type = "s"
            if column <= 2:
                cell.number_format = "@"
            if row_number == 1:
                cell.font = Font(bold=True)
    for column, width in enumerate([22, 36, *([12] * (len(header) - 3)), 30], start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=column).column_letter].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# ---------------------------------------------------------------------- reading


def read_table(data: bytes, *, max_rows: int) -> list[list[Cell]]:
    """The rows of an uploaded CSV or XLSX (first row: the header), told apart by content.

    CSV may be UTF-8 with or without a BOM, or GBK/GB18030. Raises RegistryError("file", …) with
    a Chinese message when the file cannot be read at all."""
    if not data or not data.strip():
        raise RegistryError("file", "上传的文件是空的。")
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data, max_rows)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise RegistryError("file", "不支持旧版 Excel(.xls)文件,请另存为 .xlsx 或 CSV 后上传。")
    return _read_csv(data, max_rows)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise RegistryError("file", "无法识别文件内容:请上传 CSV(UTF-8 或 GBK 编码)或 XLSX 文件。")


# Empty rows (a spreadsheet's formatted but unused rows) do not count towards the limit (a
# tester, stop 30: one data row among 20,000 styled empty ones was "over 5,000 rows"); they are
# kept, so that row numbers in messages stay the file's, up to this many of them in all.
BLANK_ROWS_FACTOR = 20


def _add_row(rows: list[list[Cell]], row: list[Cell], max_rows: int, filled: int) -> int:
    """Append a row; the count of rows with content, refused past `max_rows` (or a file of
    mostly empty rows past BLANK_ROWS_FACTOR times that)."""
    if any(cell is not None for cell in row):
        filled += 1
    if filled > max_rows + 1 or len(rows) >= max_rows * BLANK_ROWS_FACTOR:
        raise RegistryError("file", f"文件超过 {max_rows} 行的上限,请拆分后上传。")
    rows.append(row)
    return filled


def _read_csv(data: bytes, max_rows: int) -> list[list[Cell]]:
    text = _decode(data)
    rows: list[list[Cell]] = []
    filled = 0
    try:
        # strict: an unclosed quote is an error, not one cell running to the end of the file.
        for row in csv.reader(io.StringIO(text, newline=""), strict=True):
            filled = _add_row(rows, [cell.strip() or None for cell in row], max_rows, filled)
    except csv.Error:
        raise RegistryError("file", "CSV 文件格式有误(引号不配对或含有无法识别的字符)。") from None
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    return rows


def _read_xlsx(data: bytes, max_rows: int) -> list[list[Cell]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            names = {m.filename for m in members}
            unpacked = sum(m.file_size for m in members)
    except (zipfile.BadZipFile, ValueError):
        raise RegistryError(
            "file", "无法读取该 XLSX 文件,请用 Excel 或 WPS 重新保存后上传。"
        ) from None
    if "xl/workbook.xml" not in names:
        raise RegistryError("file", "该文件不是 XLSX 工作簿,请上传 .xlsx 或 CSV 文件。")
    if unpacked > XLSX_MAX_UNPACKED:
        raise RegistryError("file", "XLSX 文件内容过大,请删除无关的工作表后上传。")
    from openpyxl import load_workbook

    rows: list[list[Cell]] = []
    filled = 0
    try:
        with warnings.catch_warnings():
            # Files from other tools make openpyxl warn about styles it does not know.
            warnings.simplefilter("ignore")
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                sheet = workbook.worksheets[0]
                for values in sheet.iter_rows(values_only=True):
                    row = [v.strip() or None if isinstance(v, str) else v for v in values]
                    filled = _add_row(rows, row, max_rows, filled)
            finally:
                workbook.close()
    except RegistryError:
        raise
    except Exception:  # noqa: BLE001 - any parser failure is the same answer to the user
        raise RegistryError(
            "file", "无法读取该 XLSX 文件,请用 Excel 或 WPS 重新保存后上传。"
        ) from None
    # read_only mode pads rows to the sheet's width; trailing empty rows carry nothing.
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    return rows
