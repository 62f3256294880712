"""After the Ministry publishes: its official points imported strictly, and where points were lost."""

from __future__ import annotations

import io
import re

from sqlalchemy import func, select, text

from survey import db
from survey.accounts.models import AuditEvent
from survey.assessment.models import OfficialResult
from tests.assessment.conftest import close_directly, open_cycle_directly, score_parts
from tests.roster.files import csv_text, xlsx

BASE = "/admin/assessment/rounds/{}"
HEADER = ["STT", "Mã tiêu chí thành phần", "Tên tiêu chí", "Điểm tối đa", "Điểm Bộ Nội vụ"]


def frozen(app, staff, round_id, appraised=None):
    open_cycle_directly(app, round_id)
    score_parts(app, staff, round_id)
    close_directly(app, staff, round_id, appraised)


def ministry_file(rows, **kwargs):
    return xlsx([HEADER, *rows], title_rows=[["KẾT QUẢ CHỈ SỐ CCHC NĂM 2023 - TỈNH LÀO CAI"], []], **kwargs)


def upload(actor, round_id, data, name="ket-qua-bo-noi-vu.xlsx"):
    return actor.post(BASE.format(round_id) + "/results", {"file": (io.BytesIO(data), name)},
                      content_type="multipart/form-data")


def cells(page, row_id):
    row = page.split(f'id="{row_id}"')[1].split("</tr>")[0]
    return [re.sub(r"\s+", " ", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]


def _count(app, model, *where):
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(model).where(*where))


def test_bad_files_are_refused_row_by_row_and_write_nothing(app, actor, staff, assessment_round):
    admin = actor("province_admin")
    open_cycle_directly(app, assessment_round)
    early = upload(admin, assessment_round, ministry_file([[1, "2.1.1", "", 1, 1]]))
    assert early.status_code == 422 and "sau khi Hội đồng thẩm định đã chốt điểm" in early.text
    score_parts(app, staff, assessment_round)
    close_directly(app, staff, assessment_round)

    bad = upload(admin, assessment_round, ministry_file([
        [1, "2.1.1", "", 1, 1.5],        # above the maximum 1
        [2, "2.1.2", "", 0.5, -0.25],    # negative
        [3, "2.2.1", "", 1, "khá"],      # not a number
        [4, "9.9.9", "", 1, 1],          # unknown code
        [5, "2.2.2", "", 0.5, 0.5],
        [6, "2.2.2", "", 0.5, 0.5],      # twice
        [7, "2.3.1", "", 1, None],       # no points
    ]))
    assert bad.status_code == 422
    problems = bad.text.split('id="problems"')[1].split("</div>")[0]
    for message in ("Dòng 4 (mã 2.1.1): điểm 1.5 vượt quá điểm tối đa 1.",
                    "Dòng 5 (mã 2.1.2): điểm -0.25 là số âm.",
                    "Dòng 6 (mã 2.2.1): điểm “khá” không phải là số.",
                    "Dòng 7: mã “9.9.9” không có trong bộ tiêu chí par-province 2023.1.",
                    "Dòng 9: mã 2.2.2 đã có ở dòng 8.",
                    "Dòng 10 (mã 2.3.1): thiếu điểm."):
        assert message in problems, message
    no_header = upload(admin, assessment_round, xlsx([["2.1.1", 1]]))
    assert no_header.status_code == 422 and "Không tìm thấy dòng tiêu đề" in no_header.text
    pdf = upload(admin, assessment_round, b"%PDF-1.4 ...", name="ket-qua.pdf")
    assert pdf.status_code == 422 and "không phải bảng tính" in pdf.text
    html = upload(admin, assessment_round, b"<html><script>alert(1)</script></html>", name="ket-qua.html")
    assert html.status_code == 422 and "Chỉ nhận tệp .xlsx hoặc .csv." in html.text
    assert _count(app, OfficialResult) == 0
    assert _count(app, AuditEvent, AuditEvent.action == "assessment.official_import") == 0


def test_losses_per_field_and_agency_from_self_assessment_to_appraisal_to_the_ministry(
        app, actor, staff, assessment_round, survey_round):
    # Last year's round of the same province: frozen at the maximum, and the Ministry's result imported.
    earlier, _ = survey_round(per_group=0, title="Đợt năm trước")
    with app.app_context(), db.unit_of_work() as session:
        session.execute(text("UPDATE rounds SET year = 2022 WHERE id = :r"), {"r": earlier})
    frozen(app, staff, earlier)
    admin = actor("province_admin")
    assert upload(admin, earlier, ministry_file([[1, "2.1.1", "", 1, 1], [2, "2.4.2", "", 1, 0.5]])).status_code == 302

    # This year: Sở Tư pháp claims its field in full (6 of 6), the council takes 0.25 off 2.1.1,
    # the Ministry 0.25 more off 2.1.1 and 0.25 off 2.4.2.
    frozen(app, staff, assessment_round, {"2.1.1": 0.75})
    field_2 = [[i, code, "", 1, points] for i, (code, points) in enumerate(
        [("2.1.1", "0,5"), ("2.1.2", 0.5), ("2.2.1", 1), ("2.2.2", 0.5), ("2.3.1", 1), ("2.4.1", 1),
         ("2.4.2", 0.75), ("2.1.3", 0.8)], start=1)]  # 2.1.3 is survey-scored: the Ministry gives it too
    reply = upload(admin, assessment_round, ministry_file(field_2))
    assert reply.status_code == 302, reply.text
    assert _count(app, OfficialResult) == 8 + 2

    page = admin.get(BASE.format(assessment_round) + "/results").text
    # max, self, appraised, Ministry, not claimed, cut by council, cut by Ministry, last year, change
    assert cells(page, "loss-field-2")[1:] == ["6", "6", "5.75", "5.25", "0", "0.25", "0.5", "5.5", "-0.25"]
    stp = next(f"loss-agency-{i}" for i in range(1, 10) if cells(page, f"loss-agency-{i}")[0] == "Sở STP")
    assert cells(page, stp)[1:] == cells(page, "loss-field-2")[1:]
    assert cells(page, "line-2.1.1")[1:] == ["1", "1", "0.75", "0.5", "0", "0.25", "0.25", "1", "-0.5"]
    # A field the Ministry's file did not cover has no Ministry column, and its change is the appraisal's.
    assert cells(page, "loss-field-3")[4] == "—" and cells(page, "loss-field-3")[9] == "0"

    # A new file replaces the set (CSV, Vietnamese headers without diacritics, decimal comma).
    again = upload(admin, assessment_round, ("\ufeff" + csv_text([["Ma tieu chi", "Diem"], ["2.1.1", "0,75"]]))
                   .encode("utf-8"), name="ket-qua.csv")
    assert again.status_code == 302
    assert _count(app, OfficialResult) == 2 + 1
    assert _count(app, AuditEvent, AuditEvent.action == "assessment.official_import") == 3  # last year's too


def test_only_administrators_import_and_readers_read(app, actor, staff, assessment_round):
    frozen(app, staff, assessment_round)
    analyst = actor("analyst")
    assert analyst.get(BASE.format(assessment_round) + "/results").status_code == 200
    assert upload(analyst, assessment_round, ministry_file([[1, "2.1.1", "", 1, 1]])).status_code == 403
    member = actor("council_member")
    assert member.get(BASE.format(assessment_round) + "/results").status_code == 200
    assert upload(member, assessment_round, ministry_file([[1, "2.1.1", "", 1, 1]])).status_code == 403
    focal = actor("focal_point", agency_code="STP", email="other.focal@example.vn")
    assert focal.get(BASE.format(assessment_round) + "/results").status_code == 403
    assert actor("province_admin", province_code="YBI").get(
        BASE.format(assessment_round) + "/results").status_code == 404
    assert _count(app, OfficialResult) == 0
