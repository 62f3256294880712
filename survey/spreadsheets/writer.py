"""The one writer of spreadsheets and CSV files the platform hands out.

Text stays text. In .xlsx every string is stored as an inline string cell, so ``=HYPERLINK(...)``
typed into a name (or a file name) is shown as typed and never runs, with no visible apostrophe.
CSV has no cell types: a value starting with = + - @, tab or CR is prefixed with ``'``, which
spreadsheet programs take as "this is text".
"""

from __future__ import annotations

import csv
import datetime
import io
import math
import time
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, TIME_FORMATS
from openpyxl.compat.numbers import NUMERIC_TYPES
from openpyxl.styles.colors import COLOR_INDEX
from openpyxl.styles.numbers import BUILTIN_FORMATS_REVERSE
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.utils.exceptions import IllegalCharacterError
from openpyxl.writer.theme import theme_xml


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> object:
    """A CSV value that a spreadsheet program will not run as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


@dataclass
class SheetSpec:
    """One worksheet: optional title lines above a bold, frozen header row, then the rows.

    ``widths`` are column widths in characters, left to right; missing ones keep Excel's default.
    """

    title: str
    header: Sequence[str] = ()
    rows: Iterable[Sequence[object]] = ()
    title_rows: Sequence[Sequence[object]] = ()
    widths: Sequence[float] = field(default_factory=tuple)


def sheet_title(label: str, used: set[str]) -> str:
    """A valid, unique worksheet name for ``label`` (Excel: at most 31 characters, none of []:*?/\\)."""
    title = "".join(" " if ch in "[]:*?/\\" else ch for ch in label)
    if len(title) > 31:  # cut at a word, not inside one
        title = title[:32].rsplit(" ", 1)[0].rstrip(" ,;-")
    title = title.strip()[:31] or "Trang"
    base, n = title, 2
    while title in used:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(title)
    return title


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_BOLD = 1  # the font id of the bold font (0 is the default font)
# The document's properties name this platform as their writer; every other fixed part is what
# openpyxl writes.
_APP = ('<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        "<Application>Microsoft Excel Compatible / survey</Application></Properties>")
_CORE = ('<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties">'
         '<dc:creator xmlns:dc="http://purl.org/dc/elements/1.1/">survey</dc:creator>'
         '<dcterms:created xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
         ' xsi:type="dcterms:W3CDTF">{now}</dcterms:created>'
         '<dcterms:modified xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
         ' xsi:type="dcterms:W3CDTF">{now}</dcterms:modified></cp:coreProperties>')
_FONTS = ('<font><name val="Calibri"/><family val="2"/><color theme="1"/><sz val="11"/><scheme val="minor"/></font>',
          '<font><b val="1"/></font>')
_STYLES_TAIL = ('<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0" hidden="0"/></cellStyles>'
                '<tableStyles count="0" defaultTableStyle="TableStyleMedium9" defaultPivotStyle="PivotStyleLight16"/>'
                "<colors><indexedColors>{colors}</indexedColors></colors></styleSheet>")
_SHEET_HEAD = (f'<worksheet xmlns="{_MAIN}"><sheetPr><outlinePr summaryBelow="1" summaryRight="1"/><pageSetUpPr/>'
               '</sheetPr><sheetViews><sheetView workbookViewId="0">{view}</sheetView></sheetViews>'
               '<sheetFormatPr baseColWidth="8" defaultRowHeight="15"/>{cols}<sheetData>')
_SHEET_TAIL = ('</sheetData><pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
               "</worksheet>")
_TYPE = "application/vnd.openxmlformats-officedocument."
_TIMES = tuple(TIME_FORMATS)  # datetime, date, time, timedelta: numbers with a date or time format


def _text(value: str) -> str:
    # What lxml writes for the text of an element (openpyxl's serializer).
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _attribute(value: str) -> str:
    return _text(value).replace('"', "&quot;").replace("\t", "&#9;").replace("\n", "&#10;")


def _number(value) -> str:
    """openpyxl's ``safe_string`` of a number: 16 significant digits, nothing for NaN and infinities."""
    return "" if math.isnan(value) or math.isinf(value) else "%.16g" % value


class _Styles:
    """The cell formats a workbook uses, numbered in the order of first use as openpyxl numbers them."""

    def __init__(self) -> None:
        self.xfs: dict[tuple[int, int], int] = {(0, 0): 0}  # (font id, number format id) -> style id
        self.formats: dict[str, int] = {}  # custom number formats, from id 164 as openpyxl numbers them
        self.bold = False

    def style(self, font: int, number_format: str | None) -> int:
        if font == _BOLD:
            self.bold = True
        fmt = 0
        if number_format is not None:
            fmt = BUILTIN_FORMATS_REVERSE.get(number_format)
            if fmt is None:
                fmt = self.formats.setdefault(number_format, 164 + len(self.formats))
        return self.xfs.setdefault((font, fmt), len(self.xfs))

    def xml(self) -> str:
        formats = "".join(f'<numFmt numFmtId="{i}" formatCode="{_attribute(code)}"/>'
                          for code, i in self.formats.items())
        formats = f'<numFmts count="{len(self.formats)}">{formats}</numFmts>' if formats else '<numFmts count="0"/>'
        fonts = _FONTS if self.bold else _FONTS[:1]
        xfs = "".join(f'<xf numFmtId="{fmt}" fontId="{font}" fillId="0" borderId="0" pivotButton="0" quotePrefix="0"'
                      ' xfId="0"/>' for font, fmt in self.xfs)
        return (f'<styleSheet xmlns="{_MAIN}">{formats}'
                f'<fonts count="{len(fonts)}">{"".join(fonts)}</fonts>'
                '<fills count="2"><fill><patternFill/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
                '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
                '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
                f'<cellXfs count="{len(self.xfs)}">{xfs}</cellXfs>'
                + _STYLES_TAIL.format(colors="".join(f'<rgbColor rgb="{c}"/>' for c in COLOR_INDEX[:64])))


def _row(number: int, values: Sequence[object], styles: _Styles, font: int) -> str:
    """One ``<row>`` as openpyxl's write-only sheet writes it, except that every string is text."""
    cells = []
    for column, value in enumerate(values, start=1):
        if value is None and not font:
            continue
        ref = f"{get_column_letter(column)}{number}"
        # A date's style is its number format's (and the font's); it is numbered when first written.
        style = f' s="{styles.style(font, None)}"' if font and not isinstance(value, _TIMES) else ""
        if value is None:  # bold and empty: a cell nonetheless, which a value typed later will be bold in
            cells.append(f'<c r="{ref}"{style} t="n"></c>')
        elif isinstance(value, str):
            value = value[:32767]  # Excel's limit for a cell, where openpyxl cuts
            if ILLEGAL_CHARACTERS_RE.search(value):
                raise IllegalCharacterError(f"{value} cannot be used in worksheets.")
            if not value:
                cells.append(f'<c r="{ref}"{style} t="inlineStr"></c>')
            elif value != value.strip():
                cells.append(f'<c r="{ref}"{style} t="inlineStr"><is><t xml:space="preserve">{_text(value)}</t></is>'
                             "</c>")
            else:
                cells.append(f'<c r="{ref}"{style} t="inlineStr"><is><t>{_text(value)}</t></is></c>')
        elif isinstance(value, bool):
            cells.append(f'<c r="{ref}"{style} t="b"><v>{int(value)}</v></c>')
        elif isinstance(value, NUMERIC_TYPES):  # numpy's numbers too
            cells.append(f'<c r="{ref}"{style} t="n"><v>{_number(value)}</v></c>')
        elif isinstance(value, _TIMES):
            if getattr(value, "tzinfo", None) is not None:
                raise TypeError("Excel does not support timezones in datetimes. "
                                "The tzinfo in the datetime/time object must be set to None.")
            kind = next(t for t in TIME_FORMATS if isinstance(value, t))  # datetime before date
            style = f' s="{styles.style(font, TIME_FORMATS[kind])}"'
            cells.append(f'<c r="{ref}"{style} t="n"><v>{_number(to_excel(value))}</v></c>')
        else:
            raise ValueError(f"Cannot convert {value!r} to Excel")
    return f'<row r="{number}">{"".join(cells)}</row>'


def _sheet_xml(spec: SheetSpec, styles: _Styles) -> Iterator[str]:
    """The sheet's XML, a piece at a time: a long list is never held whole."""
    if spec.header:
        # Frozen below the header so that it stays visible while scrolling a long list.
        first = len(spec.title_rows) + 2
        view = (f'<pane ySplit="{first - 1}" topLeftCell="A{first}" activePane="bottomLeft" state="frozen"/>'
                '<selection pane="bottomLeft" activeCell="A1" sqref="A1"/>')
    else:
        view = '<selection activeCell="A1" sqref="A1"/>'
    cols = "".join(f'<col width="{_number(float(width))}" customWidth="1" min="{i}" max="{i}"/>'
                   for i, width in enumerate(spec.widths, start=1))
    yield _SHEET_HEAD.format(view=view, cols=f"<cols>{cols}</cols>" if cols else "")
    number = 0
    for number, values in enumerate(spec.title_rows, start=1):
        yield _row(number, values, styles, _BOLD if number == 1 else 0)
    if spec.header:
        number += 1
        yield _row(number, spec.header, styles, _BOLD)
    for number, values in enumerate(spec.rows, start=number + 1):
        yield _row(number, values, styles, 0)
    yield _SHEET_TAIL


def _write_part(archive: zipfile.ZipFile, name: str, pieces: Iterable[str]) -> None:
    """``archive.writestr(name, "".join(pieces))`` (same entry) without joining a long sheet whole.

    openpyxl streams a sheet in ASCII, anything else as a character reference: so do we.
    """
    info = zipfile.ZipInfo(name, time.localtime()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    with archive.open(info, "w") as entry:
        chunk: list[str] = []
        for piece in pieces:
            chunk.append(piece)
            if len(chunk) == 1000:
                entry.write("".join(chunk).encode("ascii", "xmlcharrefreplace"))
                chunk.clear()
        entry.write("".join(chunk).encode("ascii", "xmlcharrefreplace"))


def write_xlsx(sheets: Iterable[SheetSpec]) -> bytes:
    """An .xlsx workbook of ``sheets``; strings are text cells, never formulas.

    The parts are the ones openpyxl's write-only workbook writes, byte for byte but for the
    document's properties (tests/spreadsheets/test_writer.py compares them with openpyxl's own),
    written here as text: openpyxl builds a cell object and an XML element per value, about 25 µs
    a cell, which made the index sheet of a 500-document evidence zip (2,000 cells) cost 60 ms;
    9 ms now. XlsxWriter, measured too, took 35–40 ms for that sheet.
    """
    styles = _Styles()
    used: set[str] = set()
    names: list[str] = []
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    relation = f'<Relationship Type="{_DOC_RELS}/{{}}" Target="{{}}" Id="rId{{}}"/>'
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("docProps/app.xml", _APP)
        archive.writestr("docProps/core.xml", _CORE.format(now=now))
        archive.writestr("xl/theme/theme1.xml", theme_xml)
        for spec in sheets:
            names.append(sheet_title(spec.title, used))
            _write_part(archive, f"xl/worksheets/sheet{len(names)}.xml", _sheet_xml(spec, styles))
        if not names:  # a workbook needs one sheet to open
            names.append("Trang 1")
            _write_part(archive, "xl/worksheets/sheet1.xml", _sheet_xml(SheetSpec("Trang 1"), styles))
        count = len(names)
        archive.writestr("xl/styles.xml", styles.xml())
        archive.writestr("_rels/.rels", (
            f'<Relationships xmlns="{_RELS}">'
            f'<Relationship Type="{_DOC_RELS}/officeDocument" Target="xl/workbook.xml" Id="rId1"/>'
            f'<Relationship Type="{_RELS}/metadata/core-properties" Target="docProps/core.xml" Id="rId2"/>'
            f'<Relationship Type="{_DOC_RELS}/extended-properties" Target="docProps/app.xml" Id="rId3"/>'
            "</Relationships>"))
        archive.writestr("xl/workbook.xml", (
            f'<workbook xmlns="{_MAIN}"><workbookPr/><workbookProtection/><bookViews><workbookView visibility="visible"'
            ' minimized="0" showHorizontalScroll="1" showVerticalScroll="1" showSheetTabs="1" tabRatio="600"'
            ' firstSheet="0" activeTab="0" autoFilterDateGrouping="1"/></bookViews><sheets>'
            + "".join(f'<sheet xmlns:r="{_DOC_RELS}" name="{_attribute(name)}" sheetId="{n}" state="visible" r:id="rId{n}"/>'
                      for n, name in enumerate(names, start=1))
            + '</sheets><definedNames/><calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>'))
        archive.writestr("xl/_rels/workbook.xml.rels", (
            f'<Relationships xmlns="{_RELS}">'
            + "".join(relation.format("worksheet", f"/xl/worksheets/sheet{n}.xml", n) for n in range(1, count + 1))
            + relation.format("styles", "styles.xml", count + 1)
            + relation.format("theme", "theme/theme1.xml", count + 2)
            + "</Relationships>"))
        archive.writestr("[Content_Types].xml", (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_TYPE}spreadsheetml.styles+xml"/>'
            f'<Override PartName="/xl/theme/theme1.xml" ContentType="{_TYPE}theme+xml"/>'
            '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            f'<Override PartName="/docProps/app.xml" ContentType="{_TYPE}extended-properties+xml"/>'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{_TYPE}spreadsheetml.worksheet+xml"/>'
                      for n in range(1, count + 1))
            + f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPE}spreadsheetml.sheet.main+xml"/></Types>'))
    return buffer.getvalue()


def write_csv(header: Sequence[str], rows: Iterable[Sequence[object]], *, delimiter: str = ",") -> bytes:
    """UTF-8 CSV with a BOM (Excel then reads the diacritics); values that start like formulas are defused."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    if header:
        writer.writerow([csv_safe(v) for v in header])
    for row in rows:
        writer.writerow([csv_safe(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
