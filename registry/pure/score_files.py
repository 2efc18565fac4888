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
from collections.abc import Generator, Sequence
from contextlib import closing
from dataclasses import dataclass
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
# A header may stand below a title row or two (表格标题, 填表说明): it is looked for this far down.
HEADER_ROWS = 5


class Uncomputed(str):
    """A formula cell without the value it computes (the file was written by a program, or not
    recalculated before saving): the cell holds the formula's text, and no score can be read."""


@dataclass(frozen=True)
class Table:
    """An uploaded file's rows (the file's row 1 first, empty rows kept so that row numbers stay
    the file's) and, for a workbook, the worksheet they came from."""

    rows: list[list[Cell]]
    sheet: str | None = None


def find_header(rows: Sequence[Sequence[Cell]], name: str) -> int | None:
    """The index of the first of the first HEADER_ROWS rows with a cell reading `name` (spaces
    ignored), or None."""
    for index, row in enumerate(rows[:HEADER_ROWS]):
        if any(normalise_text(cell).replace(" ", "") == name for cell in row):
            return index
    return None


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


def read_table(data: bytes, *, max_rows: int, header: str | None = None) -> Table:
    """The rows of an uploaded CSV or XLSX, told apart by content. Of a workbook, the first
    worksheet with a `header` cell in its first rows (the first worksheet without one).

    CSV may be UTF-8 with or without a BOM, or GBK/GB18030. Raises RegistryError("file", …) with
    a Chinese message when the file cannot be read at all."""
    if not data or not data.strip():
        raise RegistryError("file", "上传的文件是空的。")
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data, max_rows, header)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise RegistryError("file", "不支持旧版 Excel(.xls)文件,请另存为 .xlsx 或 CSV 后上传。")
    return Table(_read_csv(data, max_rows))


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


def _read_xlsx(data: bytes, max_rows: int, header: str | None) -> Table:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            names = {m.filename for m in members}
            unpacked = sum(m.file_size for m in members)
            if "xl/workbook.xml" in names and unpacked <= XLSX_MAX_UNPACKED:
                formulas = any(
                    _has_formula(archive.read(m))
                    for m in members
                    if m.filename.startswith("xl/worksheets/") and m.filename.endswith(".xml")
                )
    except (zipfile.BadZipFile, ValueError):
        raise RegistryError(
            "file", "无法读取该 XLSX 文件,请用 Excel 或 WPS 重新保存后上传。"
        ) from None
    if "xl/workbook.xml" not in names:
        raise RegistryError("file", "该文件不是 XLSX 工作簿,请上传 .xlsx 或 CSV 文件。")
    if unpacked > XLSX_MAX_UNPACKED:
        raise RegistryError("file", "XLSX 文件内容过大,请删除无关的工作表后上传。")
    rows: list[list[Cell]] = []
    filled = 0
    try:
        with warnings.catch_warnings():
            # Files from other tools make openpyxl warn about styles it does not know.
            warnings.simplefilter("ignore")
            title, values = _sheet_rows(data, header, formulas)
            with closing(values):
                for row in values:
                    filled = _add_row(rows, row, max_rows, filled)
    except RegistryError:
        raise
    except Exception:  # noqa: BLE001 - any parser failure is the same answer to the user
        raise RegistryError(
            "file", "无法读取该 XLSX 文件,请用 Excel 或 WPS 重新保存后上传。"
        ) from None
    # read_only mode pads rows to the sheet's width; trailing empty rows carry nothing.
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    return Table(rows, title)


def _sheet_rows(
    data: bytes, header: str | None, formulas: bool
) -> tuple[str, Generator[list, None, None]]:
    """The chosen worksheet's title and its rows. With `formulas` (the workbook has some) it is
    read twice, for the values Excel cached and for the formulas: a formula with no cached value
    becomes Uncomputed, not an empty cell."""
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    sheet = workbook.worksheets[0]
    if header is not None:
        sheet = next(
            (s for s in workbook.worksheets if find_header(_first_rows(s), header) is not None),
            sheet,
        )
    formula_sheet = None
    if formulas:
        formula_book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        formula_sheet = formula_book[sheet.title]

    def rows() -> Generator[list, None, None]:
        try:
            cached = sheet.iter_rows(values_only=True)
            written = formula_sheet.iter_rows(values_only=True) if formula_sheet else None
            for values in cached:
                texts = next(written, ()) if written is not None else ()
                yield [
                    _cell_of(value, texts[i] if i < len(texts) else None)
                    for i, value in enumerate(values)
                ]
        finally:
            workbook.close()
            if formula_sheet is not None:
                formula_sheet.parent.close()

    return sheet.title, rows()


def _has_formula(xml: bytes) -> bool:
    """Whether a worksheet's XML has a formula element (<f>, or <f …> for a shared one)."""
    return b"<f>" in xml or b"<f " in xml


def _first_rows(sheet) -> list[tuple]:
    return list(sheet.iter_rows(max_row=HEADER_ROWS, values_only=True))


def _cell_of(value: Any, written: Any) -> Cell:
    """A cell's value (text stripped, empty text None), or Uncomputed for a formula that has no
    cached value."""
    if value is None and isinstance(written, str) and written.startswith("="):
        return Uncomputed(written)
    if isinstance(value, str):
        return value.strip() or None
    return value
