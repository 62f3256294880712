"""Every spreadsheet the platform reads or writes goes through this package.

Reading an upload (``.xlsx`` or ``.csv``)::

    from survey.spreadsheets import SpreadsheetRefused, read_sheet
    try:
        sheet = read_sheet(upload.read(), upload.filename)       # DEFAULT_LIMITS
    except SpreadsheetRefused as problem:
        ...  # str(problem) is a Vietnamese message naming the limit; store nothing
    for number, cells in sheet.rows: ...                       # 1-based row numbers

Writing a download::

    from survey.spreadsheets import SheetSpec, write_csv, write_xlsx
    body = write_xlsx([SheetSpec("Danh sách", header=["Họ và tên", "Email"], rows=rows)])
    body = write_csv(["Họ và tên", "Email"], rows)

Strings are always written as text: a cell reading ``=HYPERLINK(...)`` never becomes a formula.
"""

from survey.spreadsheets.reader import DEFAULT_LIMITS, Limits, Sheet, SpreadsheetRefused, excerpt, read_sheet
from survey.spreadsheets.writer import SheetSpec, csv_safe, sheet_title, write_csv, write_xlsx

__all__ = ["DEFAULT_LIMITS", "Limits", "Sheet", "SheetSpec", "SpreadsheetRefused", "csv_safe", "excerpt",
           "read_sheet", "sheet_title", "write_csv", "write_xlsx"]
