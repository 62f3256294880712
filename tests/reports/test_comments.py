"""Open comments (issue 14 item 15): page, download and workbook sheet, only for groups of at least k."""

from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import func, select

from survey import db
from survey.accounts.models import AuditEvent
from survey.respond.models import Response

FORMULA = '=HYPERLINK("http://example.com","bấm")'
# Stored in this order, which is neither the alphabetical one nor its reverse.
DATA = {
    "department": [{"Q1.01": ["A"], "C1": "Zalo của sở rất tiện"}, {"Q1.01": ["A"], "C1": FORMULA},
                   {"Q1.01": ["B"], "C1": "ảnh hưởng tốt\nnhưng chậm"}, {"Q1.01": ["B"], "C1": "Cần thêm cán bộ"},
                   {"Q1.01": ["C"]}],
    # two responses: below the default k = 5
    "division": [{"Q1.01": ["A"], "C1": "Tôi là trưởng phòng duy nhất của sở"}, {"Q1.01": ["D"]}],
    "citizen": [{"E1.1": ["4"], "X2": "Một cửa thân thiện"}, {"E1.1": ["5"]}, {"E1.1": ["3"]}, {"E1.1": ["4"]},
                {"E1.1": ["2"], "X2": "   "}],
}
SMALL = "Tôi là trưởng phòng duy nhất của sở"


def _audit(app, action):
    with app.app_context(), db.unit_of_work(write=False) as session:
        return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def _response_ids(app):
    with app.app_context(), db.unit_of_work(write=False) as session:
        return list(session.scalars(select(Response.id)))


def _sheet_rows(sheet):
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def _comment_cells(sheet):
    return {row[3].value: row[3] for row in sheet.iter_rows() if len(row) > 3 and row[3].value is not None}


def test_page_lists_comments_of_groups_of_k_sorted_and_unlinked(app, client, answered_round, login):
    round_id = answered_round(data=DATA)
    login("analyst")
    page = client.get(f"/admin/rounds/{round_id}/analysis/comments")
    assert page.status_code == 200
    text = page.text
    assert 'id="comments-warning"' in text and "không công bố nguyên văn" in text
    assert SMALL not in text and "Lãnh đạo cấp phòng thuộc sở, ban, ngành" in text  # named as withheld only
    assert 'id="withheld-groups"' in text and "k = 5" in text
    # Alphabetical, not the storage (submission) order; the "=" comment is shown escaped, as typed.
    order = ["=HYPERLINK(&#34;http://example.com&#34;,&#34;bấm&#34;)", "ảnh hưởng tốt<br>nhưng chậm",
             "Cần thêm cán bộ", "Zalo của sở rất tiện"]
    positions = [text.index(comment) for comment in order]
    assert positions == sorted(positions)
    assert "Một cửa thân thiện" in text and "Người dân, tổ chức — X2." in text
    # Nothing that identifies or orders a response: no response id, no date or week.
    assert not any(response_id in text for response_id in _response_ids(app))
    assert "2023-12" not in text and "04/12/2023" not in text
    # With k = 2 the division's comment is shown.
    assert SMALL in client.get(f"/admin/rounds/{round_id}/analysis/comments?min_cell=2").text
    assert client.get(f"/admin/rounds/{round_id}/analysis/comments?min_cell=0").status_code == 400
    summary = client.get(f"/admin/rounds/{round_id}/analysis?min_cell=3")
    assert f"/admin/rounds/{round_id}/analysis/comments?min_cell=3" in summary.text


def test_download_holds_comments_as_text_without_small_groups_and_is_audited(app, client, answered_round, login):
    round_id = answered_round(data=DATA)
    login("analyst")
    reply = client.get(f"/admin/rounds/{round_id}/analysis/comments.xlsx")
    assert reply.status_code == 200 and reply.headers["Cache-Control"] == "no-store"
    assert f'filename="dot-{round_id}-y-kien.xlsx"' in reply.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(reply.data))
    assert book.sheetnames == ["Ý kiến"]
    sheet = book["Ý kiến"]
    rows = _sheet_rows(sheet)
    assert "không công bố nguyên văn" in rows[0][0]
    assert ["Nhóm đối tượng", "Mã câu hỏi", "Câu hỏi", "Ý kiến"] in rows
    cells = _comment_cells(sheet)
    assert cells[FORMULA].data_type == "s"  # text, never a formula
    assert SMALL not in cells and "Một cửa thân thiện" in cells
    comments = [row[3] for row in rows if row[0] == "Lãnh đạo sở, ban, ngành"]
    assert comments == [FORMULA, "ảnh hưởng tốt\nnhưng chậm", "Cần thêm cán bộ", "Zalo của sở rất tiện"]
    flat = repr(rows)
    assert not any(response_id in flat for response_id in _response_ids(app)) and "2023" not in flat
    assert _audit(app, "reports.export_comments") == 1
    with app.app_context(), db.unit_of_work(write=False) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "reports.export_comments")).one()
        assert event.round_id == round_id and event.details == {"min_cell": 5, "comments": 5}


def test_analysis_workbook_has_the_comments_sheet(app, client, answered_round, login):
    round_id = answered_round(data=DATA)
    login("analyst")
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/admin/rounds/{round_id}/analysis/export/xlsx").data))
    assert book.sheetnames[-1] == "Ý kiến" and "Tổng hợp" in book.sheetnames
    cells = _comment_cells(book["Ý kiến"])
    assert cells[FORMULA].data_type == "s" and cells[FORMULA].value == FORMULA
    assert SMALL not in cells and "Cần thêm cán bộ" in cells
    smaller_k = openpyxl.load_workbook(io.BytesIO(
        client.get(f"/admin/rounds/{round_id}/analysis/export/xlsx?min_cell=2").data))
    assert SMALL in _comment_cells(smaller_k["Ý kiến"])


@pytest.mark.parametrize("role", ["focal_point"])
def test_focal_point_cannot_read_comments(app, client, answered_round, login, role):
    round_id = answered_round(data=DATA)
    login(role)
    assert client.get(f"/admin/rounds/{round_id}/analysis/comments").status_code == 403
    assert client.get(f"/admin/rounds/{round_id}/analysis/comments.xlsx").status_code == 403
    assert _audit(app, "reports.export_comments") == 0


def test_other_province_gets_404(app, client, answered_round, login):
    round_id = answered_round(data=DATA)
    login("analyst", province_code="YBI")
    assert client.get(f"/admin/rounds/{round_id}/analysis/comments").status_code == 404
    assert client.get(f"/admin/rounds/{round_id}/analysis/comments.xlsx").status_code == 404
