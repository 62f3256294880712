"""The whole cycle through the pages: assign, open, score with evidence, submit, return, appraise, close, export."""

from __future__ import annotations

import io
import zipfile

from docx import Document
from openpyxl import load_workbook
from sqlalchemy import func, select

from survey import db
from survey.accounts.models import AuditEvent
from survey.assessment.models import Entry, EvidenceDocument, PointChange
from tests.assessment.conftest import PDF

BASE = "/admin/assessment/rounds/{}"


def _agency_id(app, code):
    from survey.rounds.models import Agency

    with app.app_context():
        return db.session().scalar(select(Agency.id).where(Agency.code == code))


def _count(app, model, *where):
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(model).where(*where))


def started(app, actor, round_id):
    admin = actor("province_admin")
    assert admin.post(BASE.format(round_id) + "/start").status_code == 302
    page = admin.get(BASE.format(round_id) + "/assignments")
    assert page.status_code == 200 and 'name="agency_1.1.1"' in page.text and "agency_1.5.1" not in page.text
    return admin


def test_default_assignments_are_editable_until_the_self_assessment_opens(app, actor, assessment_round):
    admin = started(app, actor, assessment_round)
    page = admin.get(BASE.format(assessment_round) + "/assignments").text
    snv, stp = _agency_id(app, "SNV"), _agency_id(app, "STP")
    assert f'<option value="{snv}" selected>' in page.split('name="agency_1.1.1"')[1].split("</select>")[0]
    reply = admin.post(BASE.format(assessment_round) + "/assignments", {"agency_1.1.1": str(stp)})
    assert reply.status_code == 302
    # Every other select was left out of the post: it is read as "unassigned", so opening is refused.
    refused = admin.post(BASE.format(assessment_round) + "/open")
    assert refused.status_code == 422 and "Còn tiêu chí chưa phân công" in refused.text


def open_cycle(app, actor, round_id):
    admin = started(app, actor, round_id)
    assert admin.post(BASE.format(round_id) + "/open").status_code == 302
    assert admin.post(BASE.format(round_id) + "/assignments").status_code == 422  # locked now
    return admin


def test_a_department_scores_with_evidence_submits_is_returned_then_the_council_appraises_and_closes(
        app, actor, staff, assessment_round):
    round_id = assessment_round
    admin = open_cycle(app, actor, round_id)
    stp = _agency_id(app, "STP")
    focal = actor("focal_point", agency_code="STP")
    part = BASE.format(round_id) + f"/agencies/{stp}"
    page = focal.get(BASE.format(round_id))
    assert page.status_code == 302 and page.headers["Location"].endswith(f"/agencies/{stp}")
    page = focal.get(part).text
    assert 'id="sub-2.1.1"' in page and 'id="sub-1.1.1"' not in page  # only the Sở Tư pháp's field
    assert focal.get(BASE.format(round_id) + f"/agencies/{_agency_id(app, 'SNV')}").status_code == 404

    # Bad input: a level that does not exist, a denominator of 0 elsewhere is covered in test_rules.
    bad = focal.post(part + "/entries/2.1.1", {"level": "7"})
    assert bad.status_code == 422 and "Mức đánh giá không có trong quy tắc" in bad.text
    assert _count(app, Entry) == 0

    codes = ["2.1.1", "2.1.2", "2.2.1", "2.2.2", "2.3.1", "2.4.1", "2.4.2"]
    for code in codes:
        assert focal.post(part + f"/entries/{code}", {"level": "0"}).status_code == 302
    early = focal.post(part + "/submit")
    assert early.status_code == 422 and "chưa có tài liệu kiểm chứng hoặc giải trình" in early.text

    upload = focal.post(part + "/evidence", {
        "file": (io.BytesIO(PDF), "ke-hoach.pdf"), "number": "15/KH-UBND", "issued_on": "2023-01-10",
        "issuer": "UBND tỉnh Lào Cai", "summary": "Kế hoạch xây dựng văn bản QPPL năm 2023",
        "codes": ["2.1.1", "2.1.2"]}, content_type="multipart/form-data")
    assert upload.status_code == 302
    for code in codes[2:]:
        focal.post(part + f"/entries/{code}", {"level": "0", "explanation": "Đã thực hiện đầy đủ."})
    assert focal.post(part + "/submit").status_code == 302
    locked = focal.post(part + "/entries/2.1.1", {"level": "2"})
    assert locked.status_code == 422 and "đã gửi và bị khóa" in locked.text

    # Sở Nội vụ returns it; the department lowers 2.4.2 and submits again.
    assert admin.post(part + "/return", {"comment": ""}).status_code == 422
    assert admin.post(part + "/return", {"comment": "Bổ sung minh chứng cho 2.4.2"}).status_code == 302
    assert "Bổ sung minh chứng cho 2.4.2" in focal.get(part).text
    assert focal.post(part + "/entries/2.4.2", {"level": "1", "explanation": "Một phần."}).status_code == 302
    assert focal.post(part + "/submit").status_code == 302

    # The other departments: open them all so that the council can close.
    for code in ("SNV", "VPUB", "STC", "STTTT", "SKHDT"):
        _complete_part(app, actor, round_id, code)

    member = actor("council_member")
    detail = BASE.format(round_id) + "/appraisal/2.1.1"
    page = member.get(detail)
    assert page.status_code == 200 and "ke-hoach.pdf" in page.text
    no_reason = member.post(detail, {"points": "0,5", "reason": "", "version": "0"})
    assert no_reason.status_code == 422 and "vui lòng ghi rõ lý do" in no_reason.text
    too_high = member.post(detail, {"points": "2", "reason": "x", "version": "0"})
    assert too_high.status_code == 422 and "vượt quá điểm tối đa" in too_high.text
    assert member.post(detail, {"points": "0,5", "reason": "Ban hành chậm 2 tháng", "version": "0"}).status_code == 302

    # A second member who opened the page before the first saved gets a conflict, with their value kept.
    other = actor("working_group")
    clash = other.post(detail, {"points": "0.75", "reason": "Ý kiến khác", "version": "0"})
    assert clash.status_code == 409 and "đã lưu điểm thẩm định 0.5" in clash.text and 'value="0.75"' in clash.text
    assert member.post(detail + "/comments", {"body": "Đề nghị giữ 0,5"}).status_code == 302
    history = member.get(detail).text
    assert "Ban hành chậm 2 tháng" in history and "Đề nghị giữ 0,5" in history
    assert member.post(BASE.format(round_id) + "/appraisal/close", {"name": "x"}).status_code == 403

    chair = actor("council_chair")
    assert chair.post(BASE.format(round_id) + "/appraisal/close", {"name": "Kết quả thẩm định 2023"}).status_code == 302
    assert member.post(detail, {"points": "0", "reason": "muộn", "version": "1"}).status_code == 422

    changes = _count(app, PointChange, PointChange.subcriterion == "2.1.1", PointChange.stage == "appraisal")
    assert changes == 1
    assert _count(app, AuditEvent, AuditEvent.action == "assessment.close") == 1

    # Exports from the frozen version: the report and the annex carry the appraised 0.5 for 2.1.1.
    report = admin.get(BASE.format(round_id) + "/exports/docx")
    assert report.status_code == 200
    document = Document(io.BytesIO(report.data))
    text = "\n".join(p.text for p in document.paragraphs) + "\n".join(
        c.text for t in document.tables for row in t.rows for c in row.cells)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Độc lập - Tự do - Hạnh phúc" in text
    annex_row = next(row for row in document.tables[1].rows if row.cells[0].text == "2.1.1")
    assert [c.text for c in annex_row.cells[2:5]] == ["1", "1", "0,5"]
    annex = load_workbook(io.BytesIO(admin.get(BASE.format(round_id) + "/exports/xlsx").data))["Phụ biểu"]
    rows = {r[0]: r for r in annex.iter_rows(min_row=4, values_only=True)}
    assert rows["2.1.1"][3:6] == (1.0, 1.0, 0.5) and "15/KH-UBND" in rows["2.1.1"][7]
    assert rows["2.4.2"][4:6] == (0.5, 0.5)
    assert admin.get(BASE.format(round_id) + "/exports/pdf").data.startswith(b"%PDF")
    bundle = zipfile.ZipFile(io.BytesIO(admin.get(BASE.format(round_id) + "/exports/zip").data))
    stored = [n for n in bundle.namelist() if n.startswith("tai-lieu/")]
    assert len(stored) == 1 and bundle.read(stored[0]) == PDF  # one document backing two sub-criteria
    index = load_workbook(io.BytesIO(bundle.read("danh-muc-tai-lieu.xlsx"))).active
    assert list(index.iter_rows(min_row=2, values_only=True))[0][2] == "2.1.1, 2.1.2"


def _complete_part(app, actor, round_id, code):
    from survey.assessment.models import Assignment

    agency_id = _agency_id(app, code)
    focal = actor("focal_point", agency_code=code, email=f"focal.{code.lower()}@example.vn")
    part = BASE.format(round_id) + f"/agencies/{agency_id}"
    with app.app_context():
        codes = db.session().scalars(select(Assignment.subcriterion).where(Assignment.agency_id == agency_id)).all()
    for sub in codes:
        reply = focal.post(part + f"/entries/{sub}", {"level": "0", "numerator": "9", "denominator": "10",
                                                       "explanation": "Có báo cáo."})
        assert reply.status_code == 302, reply.text
    assert focal.post(part + "/submit").status_code == 302


def test_refused_evidence_writes_nothing(app, actor, assessment_round, tmp_path):
    open_cycle(app, actor, assessment_round)
    stp = _agency_id(app, "STP")
    focal = actor("focal_point", agency_code="STP")
    part = BASE.format(assessment_round) + f"/agencies/{stp}"
    meta = {"number": "1/QĐ", "issuer": "UBND", "summary": "Quyết định", "codes": ["2.1.1"]}
    app.config["ASSESSMENT_EVIDENCE_MAX_BYTES"] = 1024
    cases = [
        (b"MZ\x90\x00" + b"\x00" * 60, "tai-lieu.pdf", "tệp chương trình"),
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "bao-cao.pdf", "HTML"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "hinh.png", "SVG"),
        (PDF, "../../evil.pdf", "dấu phân cách thư mục"),
        (PDF + b"0" * 2048, "lon.pdf", "vượt quá dung lượng"),
        (b"just text", "ghi-chu.txt", "chỉ nhận PDF"),
        (b"\x89PNG\r\n\x1a\n", "gia-mao.pdf", "không phải là tệp .pdf"),
    ]
    for data, name, message in cases:
        reply = focal.post(part + "/evidence", {"file": (io.BytesIO(data), name), **meta},
                           content_type="multipart/form-data")
        assert reply.status_code == 422 and message in reply.text, name
    missing_meta = focal.post(part + "/evidence", {"file": (io.BytesIO(PDF), "a.pdf"), "codes": ["2.1.1"]},
                              content_type="multipart/form-data")
    assert missing_meta.status_code == 422 and "số, ký hiệu" in missing_meta.text
    foreign = focal.post(part + "/evidence", {"file": (io.BytesIO(PDF), "a.pdf"), **meta, "codes": ["1.1.1"]},
                         content_type="multipart/form-data")
    assert foreign.status_code == 422 and "không được phân công" in foreign.text
    assert _count(app, EvidenceDocument) == 0
    assert not (tmp_path / "evidence").exists()


def test_figures_are_checked_and_give_points_by_tier(app, actor, assessment_round):
    open_cycle(app, actor, assessment_round)
    vpub = _agency_id(app, "VPUB")
    focal = actor("focal_point", agency_code="VPUB")
    url = BASE.format(assessment_round) + f"/agencies/{vpub}/entries/3.3.2"
    for data, message in (({"numerator": "abc", "denominator": "10"}, "không phải là số"),
                          ({"numerator": "5", "denominator": "0"}, "Mẫu số (tổng số) phải lớn hơn 0"),
                          ({"numerator": "-1", "denominator": "10"}, "không được âm"),
                          ({"numerator": "5", "denominator": ""}, "cả tử số và mẫu số")):
        reply = focal.post(url, data)
        assert reply.status_code == 422 and message in reply.text
    assert _count(app, Entry) == 0
    assert focal.post(url, {"numerator": "950", "denominator": "1000"}).status_code == 302
    with app.app_context():
        assert db.session().scalar(select(Entry.points).where(Entry.subcriterion == "3.3.2")) == 0.75


def test_board_shows_progress_missing_evidence_points_at_risk_and_the_provisional_class(app, actor, assessment_round):
    admin = open_cycle(app, actor, assessment_round)
    vpub = _agency_id(app, "VPUB")
    focal = actor("focal_point", agency_code="VPUB")
    url = BASE.format(assessment_round) + f"/agencies/{vpub}/entries/3.3.2"
    assert focal.post(url, {"numerator": "95", "denominator": "100"}).status_code == 302
    page = admin.get(BASE.format(assessment_round) + "/board")
    assert page.status_code == 200
    # No survey answers in this round: the survey's 32 points are shown as not computed.
    assert "chưa tính" in page.text
    # 0.75 of 100 points: class D; 3.3.2 lost 0.75 and has neither evidence nor explanation.
    assert "0.75</strong> / 100.0 (0.75%)" in page.text and 'id="class">D<' in page.text
    at_risk = page.text.split('id="at-risk"')[1].split("</table>")[0]
    assert "3.3.2" in at_risk and "<td>0.75</td><td>0.75</td>" in at_risk
    assert "3.3.2 Tỷ lệ hồ sơ" in page.text.split('id="missing"')[1].split("</ul>")[0]
    assert actor("analyst").get(BASE.format(assessment_round) + "/board").status_code == 200
    assert focal.get(BASE.format(assessment_round) + "/board").status_code == 403
