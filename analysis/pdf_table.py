"""A bordered table drawn on an fpdf2 page with plain cells, for the reports' PDFs.

fpdf2's ``FPDF.table()`` lays out every cell twice through ``multi_cell`` (once to measure the
row, once to draw it), and ``multi_cell`` breaks lines character by character: in the analysis
report that was half of the CPU of the whole PDF. Here a cell whose text fits on one line (most
of them: numbers, codes, short labels) is measured with one ``get_string_width`` and drawn with
one ``cell``; only text wider than its column goes through ``multi_cell`` (a dry run), which
wraps it exactly as ``table()`` did, and its lines are then drawn as cells. The drawing is that
of ``table()`` with its defaults: every cell boxed, text centred vertically in its row, the
heading row bold (optionally filled), repeated at the top of each page the table continues on,
and never left alone at the bottom of a page.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

__all__ = ["draw_table"]

# A text this close to its column's width goes through multi_cell, which decides itself whether it
# wraps: get_string_width and the line breaker round differently, and a cut word must not happen.
_FIT_MARGIN = 0.05  # mm

# The lines of each wrapped text, per document: a report repeats the same long cells (a reason,
# an agency, a heading) in many rows and tables, and wrapping one costs milliseconds.
_wrapped: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def draw_table(pdf, headings: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float],
               align: Sequence[str], *, line_height: float, padding: float,
               heading_fill: tuple[int, int, int] | None = None) -> None:
    """Draw the table from the left margin at the current ``y``; afterwards ``x`` is the left margin
    and ``y`` just below the last row.

    ``widths`` in the document's unit; ``align`` one of "LEFT", "CENTER", "RIGHT" per column;
    ``padding`` is the space between a cell's border and its text on all four sides, as
    ``table(padding=...)``; with 0, the text is inset horizontally by the document's ``c_margin``,
    as ``table()`` does. The font in use when it is called is that of the body rows; the
    heading row has the same family and size, in bold.
    """
    family, style, size = pdf.font_family, pdf.font_style, pdf.font_size_pt
    heading_style = "B" + style.replace("B", "")
    pdf.set_font(family, heading_style, size)
    inset = padding or pdf.c_margin
    heading = _layout(pdf, [str(v) for v in headings], widths, line_height, padding, inset)
    pdf.set_font(family, style, size)
    body = [_layout(pdf, [str(v) for v in row], widths, line_height, padding, inset) for row in rows]

    saved_margin = pdf.c_margin
    pdf.c_margin = inset  # cell() insets its text by c_margin, multi_cell by the padding when there is one
    try:
        # the headings never stand alone at the foot of a page
        if pdf.will_page_break(heading[0] + (body[0][0] if body else 0)):
            pdf.add_page()
        _draw_row(pdf, heading, widths, align, line_height, heading_style, heading_fill)
        for row in body:
            if pdf.will_page_break(row[0]):
                pdf.add_page()
                _draw_row(pdf, heading, widths, align, line_height, heading_style, heading_fill)
            _draw_row(pdf, row, widths, align, line_height, style, None)
    finally:
        pdf.c_margin = saved_margin
        pdf.set_font(family, style, size)
    pdf.set_x(pdf.l_margin)


def _layout(pdf, texts: list[str], widths: Sequence[float], line_height: float, padding: float, inset: float):
    """(row height, [(text, lines or None when it fits on one line)]) in the current font."""
    cells = []
    height = 0.0
    for text, width in zip(texts, widths):
        if "\n" not in text and pdf.get_string_width(text) <= width - 2 * inset - _FIT_MARGIN:
            lines = None
            count = 1
        else:
            known = _wrapped.setdefault(pdf, {})
            key = (text, width, line_height, padding, pdf.c_margin, pdf.font_family, pdf.font_style, pdf.font_size_pt)
            if key not in known:
                known[key] = pdf.multi_cell(width, line_height, text, padding=padding, dry_run=True, output="LINES")
            lines = known[key]
            count = max(len(lines), 1)
        cells.append((text, lines))
        height = max(height, count * line_height + 2 * padding)
    return height, cells


def _draw_row(pdf, row, widths: Sequence[float], align: Sequence[str], line_height: float, style: str,
              fill: tuple[int, int, int] | None) -> None:
    height, cells = row
    pdf.set_font(pdf.font_family, style, pdf.font_size_pt)
    top = pdf.get_y()
    x = pdf.l_margin
    for (text, lines), width, how in zip(cells, widths, align):
        if fill is None:
            pdf.rect(x, top, width, height)
        else:
            with pdf.local_context(fill_color=fill):  # the fill colour of what follows is left as it was
                pdf.rect(x, top, width, height, style="DF")
        count = 1 if lines is None else max(len(lines), 1)
        text_top = top + (height - count * line_height) / 2  # centred vertically, as table() does
        # the lines multi_cell chose when measuring the row, each drawn as a cell: wrapped once, not twice
        for i, line in enumerate([text] if lines is None else lines):
            if line:
                pdf.set_xy(x, text_top + i * line_height)
                pdf.cell(width, line_height, line, align=how[0])
        x += width
    pdf.set_xy(pdf.l_margin, top + height)
