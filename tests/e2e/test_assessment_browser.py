"""The issue's quality bar, in Chromium against gunicorn: one department scores its field with
evidence and submits; Sở Nội vụ returns it; it is corrected; the council changes one score with
a reason and closes; the report (.docx) and the annex (.xlsx) carry the frozen numbers."""

from __future__ import annotations

import re

import pytest
from docx import Document
from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy import select

from survey import db
from survey.rounds.models import Agency
from tests.assessment.conftest import PDF, assessment_round  # noqa: F401  (fixture)
from tests.conftest import STAFF_PASSWORD

pytestmark = pytest.mark.browser

FIELD_2 = {"2.1.1": "Đạt đầy đủ", "2.1.2": "Ban hành đúng thời hạn", "2.2.1": "Đạt đầy đủ",
           "2.2.2": "Đạt đầy đủ", "2.3.1": "Đạt đầy đủ", "2.4.1": "Đạt đầy đủ", "2.4.2": "Đạt đầy đủ"}
WITH_EVIDENCE = ("2.1.1", "2.1.2")
# A summary as an office might type it: a spreadsheet must show it as text, never run it.
SUMMARY = "=Kế hoạch xây dựng văn bản QPPL năm 2023"


def signed_in(new_page, live_server, url, email):
    """A fresh browser context (its own cookies) signed in as ``email``, on ``url``."""
    page = new_page(accept_downloads=True)
    page.goto(f"{live_server}{url}")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Mật khẩu").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    return page


def section(page, code):
    return page.locator(f'[id="sub-{code}"]')


def complete_other_parts(app, round_id, staff):
    """Every other department scores and submits (through the services: the browser walks one part)."""
    from tests.assessment.conftest import PLAN_AGENCIES, score_parts

    score_parts(app, staff, round_id, only=[code for code in PLAN_AGENCIES if code != "STP"])


def test_a_department_is_returned_corrected_appraised_and_frozen_into_the_report(
        app, assessment_round, staff, live_server, new_page, tmp_path):  # noqa: F811
    round_id = assessment_round
    base = f"/admin/assessment/rounds/{round_id}"
    with app.app_context():
        stp = db.session().scalar(select(Agency.id).where(Agency.code == "STP"))
    admin = signed_in(new_page, live_server, base, staff("province_admin"))
    admin.get_by_role("button", name="Tạo kỳ tự đánh giá", exact=False).click()
    expect(admin).to_have_url(re.compile(r"/assignments$"))
    admin.goto(f"{live_server}{base}")
    admin.get_by_role("button", name="Mở tự đánh giá").click()
    expect(admin.get_by_text("Đã mở kỳ tự đánh giá cho các cơ quan.")).to_be_visible()

    # Sở Tư pháp: lands on its own part, uploads one document backing two sub-criteria, scores all.
    focal = signed_in(new_page, live_server, base, staff("focal_point", agency_code="STP"))
    expect(focal.get_by_role("heading", name="Tự đánh giá: Sở STP")).to_be_visible()
    expect(section(focal, "1.1.1")).to_have_count(0)
    evidence = tmp_path / "ke-hoach-2023.pdf"
    evidence.write_bytes(PDF)
    upload = focal.locator("#upload")
    upload.get_by_label("Tệp", exact=False).set_input_files(str(evidence))
    upload.get_by_label("Số, ký hiệu").fill("15/KH-UBND")
    upload.get_by_label("Ngày ban hành").fill("2023-01-10")
    upload.get_by_label("Cơ quan ban hành").fill("UBND tỉnh Lào Cai")
    upload.get_by_label("Trích yếu").fill(SUMMARY)
    for code in WITH_EVIDENCE:
        upload.get_by_label(code, exact=True).check()
    upload.get_by_role("button", name="Tải lên").click()
    expect(focal.get_by_text("Đã tải lên tài liệu kiểm chứng.")).to_be_visible()
    for code, level in FIELD_2.items():
        sub = section(focal, code)
        sub.get_by_label(level, exact=False).check()
        if code not in WITH_EVIDENCE:
            sub.get_by_label("Giải trình").fill("Đã thực hiện đầy đủ theo kế hoạch.")
        sub.get_by_role("button", name="Lưu nháp").click()
        expect(focal.get_by_text(f"Đã lưu bản nháp tiêu chí {code}.")).to_be_visible()
    expect(section(focal, "2.1.1").locator(".evidence")).to_contain_text("ke-hoach-2023.pdf")
    focal.get_by_role("button", name="Gửi phần tự đánh giá về Sở Nội vụ").click()
    expect(focal.locator("#part-status")).to_have_text("Đã gửi")

    # Sở Nội vụ returns it with a comment.
    admin.goto(f"{live_server}{base}/agencies/{stp}")
    admin.get_by_label("Ý kiến khi trả lại").fill("2.4.2 chưa có minh chứng đầy đủ: đề nghị chấm lại.")
    admin.get_by_role("button", name="Trả lại để sửa").click()
    expect(admin.locator("#part-status")).to_have_text("Bị trả lại")

    # The department sees why, lowers 2.4.2 and submits again.
    focal.reload()
    expect(focal.locator("#return-comment")).to_contain_text("2.4.2 chưa có minh chứng đầy đủ")
    sub = section(focal, "2.4.2")
    sub.get_by_label("Đạt một phần", exact=False).check()
    sub.get_by_label("Giải trình").fill("Mới theo dõi được một phần lĩnh vực.")
    sub.get_by_role("button", name="Lưu nháp").click()
    expect(section(focal, "2.4.2").locator(".points")).to_have_text("0.5")
    focal.get_by_role("button", name="Gửi phần tự đánh giá về Sở Nội vụ").click()
    expect(focal.locator("#part-status")).to_have_text("Đã gửi")

    complete_other_parts(app, round_id, staff)

    # The council's chair lowers 2.1.1 with a reason, then closes the appraisal.
    chair = signed_in(new_page, live_server, f"{base}/appraisal/2.1.1", staff("council_chair"))
    expect(chair.locator("#self-points")).to_have_text("1.0")
    chair.get_by_label("Điểm thẩm định").fill("0,75")
    chair.get_by_label("Lý do", exact=False).fill("Kế hoạch ban hành chậm 2 tháng so với quy định.")
    chair.get_by_role("button", name="Lưu điểm thẩm định").click()
    expect(chair.locator("#appraised")).to_have_text("0.75")
    expect(chair.locator("#history")).to_contain_text("Kế hoạch ban hành chậm 2 tháng")
    chair.goto(f"{live_server}{base}/board")
    chair.get_by_label("Tên phiên bản").fill("Kết quả thẩm định 2023")
    chair.get_by_role("button", name="Kết thúc thẩm định, chốt điểm").click()
    expect(chair.get_by_text("Đã chốt: “Kết quả thẩm định 2023”", exact=False)).to_be_visible()

    with chair.expect_download() as report:
        chair.get_by_role("link", name="Báo cáo (.docx)").click()
    report_path = tmp_path / report.value.suggested_filename
    report.value.save_as(report_path)
    with chair.expect_download() as annex:
        chair.get_by_role("link", name="Phụ biểu (.xlsx)").click()
    annex_path = tmp_path / annex.value.suggested_filename
    annex.value.save_as(annex_path)

    document = Document(str(report_path))
    rows = {row.cells[0].text: [c.text for c in row.cells] for row in document.tables[1].rows}
    assert rows["2.1.1"][2:5] == ["1", "1", "0,75"]
    assert rows["2.4.2"][2:5] == ["1", "0,5", "0,5"]
    assert rows["2.2.1"][2:5] == ["1", "1", "1"]
    assert "15/KH-UBND" in rows["2.1.2"][5]
    paragraphs = "\n".join(p.text for p in document.paragraphs)
    assert "Kết quả thẩm định 2023" in paragraphs

    sheet = load_workbook(annex_path)["Phụ biểu"]
    annex_rows = {r[0]: r for r in sheet.iter_rows(values_only=True) if r and r[0] in FIELD_2}
    assert annex_rows["2.1.1"][3:6] == (1.0, 1.0, 0.75)
    assert annex_rows["2.4.2"][3:6] == (1.0, 0.5, 0.5)
    assert annex_rows["2.1.1"][2] == "Sở STP"
    # The reference is stored as text: the summary that starts with "=" is not a formula.
    reference = next(row for row in sheet.iter_rows() if row[0].value == "2.1.1")[7]
    assert reference.data_type == "s" and SUMMARY in reference.value
