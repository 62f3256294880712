"""Analysts' pages, charts and downloads, on both databases."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pyreadstat
import pytest
from sqlalchemy import func, select

from survey import db
from survey.accounts.models import AuditEvent
from tests.conftest import csrf_token_in
from tests.reports.cycle_points import give_points


def _audit(app, action):
    with app.app_context(), db.unit_of_work(write=False) as session:
        return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def test_summary_and_drill_down_show_hand_values(app, client, answered_round, login):
    round_id = answered_round()
    login("analyst")
    page = client.get(f"/admin/rounds/{round_id}/analysis?min_cell=2")
    assert page.status_code == 200
    assert "Điểm điều tra xã hội học theo lĩnh vực" in page.text and "k = 2" in page.text
    field = client.get(f"/admin/rounds/{round_id}/analysis/fields/1?min_cell=2")
    assert field.status_code == 200
    assert "1.5.1" in field.text and "0.560" in field.text and "0.800" in field.text
    assert "So sánh giữa các nhóm" in field.text and "Cramér V" in field.text
    # k = 5, hidden groups pooled: the division row (2 responses) and its complement are hidden
    hidden = client.get(f"/admin/rounds/{round_id}/analysis/fields/1?hidden_groups=include")
    assert "0.800" not in hidden.text and "0.560" in hidden.text
    # default: the division is left out of the pooled score, nothing else is hidden
    assert "0.800" in client.get(f"/admin/rounds/{round_id}/analysis/fields/1").text
    assert client.get(f"/admin/rounds/{round_id}/analysis/fields/99").status_code == 404
    with_alpha = client.get(f"/admin/rounds/{round_id}/analysis?reliability=1")
    assert "Độ tin cậy của thang đo" in with_alpha.text and "Độ tin cậy của thang đo" not in page.text
    assert client.get(f"/admin/rounds/{round_id}/analysis?dont_know=maybe").status_code == 400
    # Most sub-criteria are not asked in this round; with k = 14 the 13 answers of 1.5.1 are withheld.
    # Each unscored sub-criterion is listed with its reason, "not measured" apart from "withheld".
    partial = client.get(f"/admin/rounds/{round_id}/analysis?min_cell=14")
    assert 'id="unscored-note"' in partial.text and "k = 14" in partial.text
    assert '<li data-status="withheld">1.5.1' in partial.text
    assert '<li data-status="not_measured">8.2.1' in partial.text
    assert "không đo trong đợt này" in partial.text and "ẩn vì dưới ngưỡng k phiếu" in partial.text
    default = client.get(f"/admin/rounds/{round_id}/analysis")
    assert '<li data-status="withheld">1.5.1' not in default.text
    assert "<sup>*</sup>" in partial.text


def test_other_province_sees_nothing(app, client, answered_round, login):
    round_id = answered_round()
    login("analyst", province_code="YBI")
    assert client.get(f"/admin/rounds/{round_id}/analysis").status_code == 404
    assert client.get(f"/admin/rounds/{round_id}/analysis/export/xlsx").status_code == 404


def test_charts_png_and_svg(app, client, answered_round, login):
    round_id = answered_round()
    login("analyst")
    png = client.get(f"/admin/rounds/{round_id}/analysis/charts/fields.png")
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    svg = client.get(f"/admin/rounds/{round_id}/analysis/charts/sipas.svg")
    assert svg.status_code == 200 and b"<svg" in svg.data
    q = client.get(f"/admin/rounds/{round_id}/analysis/charts/question.png?question=Q1.01&group=hdnd")
    assert q.status_code == 200
    # two division leaders: no chart of a cell below k
    small = client.get(f"/admin/rounds/{round_id}/analysis/charts/question.png?question=Q1.01&group=division")
    assert small.status_code == 404


def test_exports_are_audited_and_record_options(app, client, answered_round, login):
    round_id = answered_round()
    login("analyst")
    xlsx = client.get(f"/admin/rounds/{round_id}/analysis/export/xlsx?pooling=size")
    assert xlsx.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(xlsx.data))
    assert "Phương pháp" in book.sheetnames
    methodology = " ".join(str(c.value) for row in book["Phương pháp"].iter_rows() for c in row)
    assert "size" in methodology
    csv = client.get(f"/admin/rounds/{round_id}/analysis/export/csv")
    names = zipfile.ZipFile(io.BytesIO(csv.data)).namelist()
    assert "tieu_chi_thanh_phan.csv" in names
    pdf = client.get(f"/admin/rounds/{round_id}/analysis/export/pdf")
    assert pdf.data.startswith(b"%PDF")
    assert _audit(app, "reports.export_xlsx") == 1 and _audit(app, "reports.export_pdf") == 1


def test_sav_has_labels_declared_missing_and_no_small_groups(app, client, answered_round, login, tmp_path):
    round_id = answered_round()
    login("analyst")
    reply = client.get(f"/admin/rounds/{round_id}/analysis/export/sav")
    assert reply.status_code == 200
    path = tmp_path / "x.sav"
    path.write_bytes(reply.data)
    frame, meta = pyreadstat.read_sav(str(path), user_missing=True)
    # hdnd 6, department 5, citizen 5; division (2 responses) left out
    assert sorted(frame["nhom"].value_counts().items()) == [("citizen", 5), ("department", 5), ("hdnd", 6)]
    assert "C1" not in frame.columns  # free text never exported
    hdnd = frame[frame["nhom"] == "hdnd"]["hdnd_Q1_01"]
    assert sorted(hdnd.tolist()) == [1.0, 1.0, 2.0, 3.0, 4.0, 5.0]  # A..E coded 1..5, E = don't know
    assert meta.missing_ranges["hdnd_Q1_01"] == [{"lo": 5.0, "hi": 5.0}]
    assert meta.variable_value_labels["hdnd_Q1_01"][5.0].startswith("Không biết")
    x1a = frame[frame["nhom"] == "citizen"]["citizen_X1_A"]
    assert sorted(x1a.tolist()) == [0.0, 0.0, 1.0, 1.0, 1.0]


def test_sav_labels_each_groups_answers_with_its_own_scale(app, client, answered_round, login, tmp_path):
    # P3 is "education" in both questionnaires, but option 2 is "Đại học" for delegates and
    # "Trung học cơ sở" for citizens, whose scale also has a "Không muốn trả lời" (7th option, missing).
    round_id = answered_round(data={"hdnd": [{"P3": ["2"]}] * 5, "citizen": [{"P3": ["2"]}] * 4 + [{"P3": ["9"]}]})
    login("analyst")
    path = tmp_path / "p.sav"
    path.write_bytes(client.get(f"/admin/rounds/{round_id}/analysis/export/sav").data)
    frame, meta = pyreadstat.read_sav(str(path), user_missing=True)
    labels = meta.variable_value_labels
    assert labels["hdnd_P3"][2.0] == "Đại học" and labels["citizen_P3"][2.0] == "Trung học cơ sở"
    assert frame.loc[frame["nhom"] == "hdnd", "hdnd_P3"].tolist() == [2.0] * 5
    assert sorted(frame.loc[frame["nhom"] == "citizen", "citizen_P3"].tolist()) == [2.0] * 4 + [7.0]
    assert frame.loc[frame["nhom"] == "citizen", "hdnd_P3"].isna().all()
    assert meta.missing_ranges["citizen_P3"] == [{"lo": 7.0, "hi": 7.0}]
    assert "hdnd_P3" not in meta.missing_ranges
    assert "P3" not in frame.columns


def test_the_retired_points_upload_sends_to_the_ministry_results_import(app, client, answered_round, login):
    round_id = answered_round()
    login("province_admin")
    url = f"/admin/rounds/{round_id}/analysis/self-assessment"
    reply = client.get(url)  # no cycle yet: to the self-assessment's start
    assert reply.status_code == 302 and reply.location.endswith(f"/admin/assessment/rounds/{round_id}")
    with app.app_context(), db.unit_of_work() as session:
        give_points(session, round_id, appraised={"1.1.1": 0.5})
    reply = client.get(url, follow_redirects=True)
    assert reply.request.path == f"/admin/assessment/rounds/{round_id}/results"
    assert "Chức năng nhập điểm tự đánh giá đã được thay bằng kỳ tự đánh giá" in reply.text
    csrf = csrf_token_in(client.get("/admin/login").text)
    upload = client.post(url, data={"csrf_token": csrf, "file": (io.BytesIO(b"1.1.1,0.5"), "diem.csv")},
                         content_type="multipart/form-data")
    assert upload.status_code == 405  # nothing is imported here any more


@pytest.mark.parametrize("role", ["focal_point"])
def test_focal_point_cannot_read_results(app, client, answered_round, login, role):
    round_id = answered_round()
    login(role)
    assert client.get(f"/admin/rounds/{round_id}/analysis").status_code == 403


def test_home_links_readers_to_the_analysis(app, client, answered_round, login):
    round_id = answered_round()
    login("analyst")
    assert f"/admin/rounds/{round_id}/analysis" in client.get("/admin/").text


def test_sipas_only_round_has_indices_but_no_points(app, client, survey_round, login):
    from survey.rounds.services import GroupBinding
    from survey.rounds.models import Round
    from tests.reports.conftest import HAND_DATA, insert_responses

    round_id, _ = survey_round(bindings=[GroupBinding("sipas-citizens", "2023.1")], title="Chỉ SIPAS")
    with app.app_context(), db.unit_of_work() as session:
        insert_responses(session, session.get(Round, round_id), {"citizen": HAND_DATA["citizen"]})
    login("analyst")
    page = client.get(f"/admin/rounds/{round_id}/analysis")
    assert page.status_code == 200 and "chỉ khảo sát SIPAS" in page.text
    assert "Chỉ số hài lòng (SIPAS)" in page.text
    assert client.get(f"/admin/rounds/{round_id}/analysis/charts/fields.png").status_code == 404
    assert client.get(f"/admin/rounds/{round_id}/analysis/export/pdf").data.startswith(b"%PDF")


def test_weighting_without_a_matching_roster_is_refused_in_vietnamese(app, client, answered_round, login):
    round_id = answered_round(per_group=1)  # 6 HĐND responses, 1 person on the roster
    login("analyst")
    reply = client.get(f"/admin/rounds/{round_id}/analysis?weighting=group")
    assert reply.status_code == 400
    assert "Không thể gia quyền theo nhóm" in reply.text and "nhóm hdnd: 6 phiếu" in reply.text
    bad_k = client.get(f"/admin/rounds/{round_id}/analysis?min_cell=abc")
    assert bad_k.status_code == 400 and "Ngưỡng ẩn ô nhỏ" in bad_k.text
