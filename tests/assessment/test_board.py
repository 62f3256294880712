"""The consolidation board: the provisional total with real survey points, and each field against last year."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from survey import db
from survey.rounds.models import Round
from tests.assessment.conftest import PLAN_AGENCIES, close_directly, open_cycle_directly, score_parts
from tests.reports.conftest import answered_round  # noqa: F401  (fixture)

BASE = "/admin/assessment/rounds/{}"


def cells(page, row_id):
    row = page.split(f'id="{row_id}"')[1].split("</tr>")[0]
    return [re.sub(r"\s+", " ", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]


@pytest.fixture
def answered_assessment(app, answered_round, tmp_path):  # noqa: F811
    """tests/reports' hand-made answers (1.5.1 pooled: 0.31 points) in a round with the plan's agencies."""
    from survey.rounds.agencies import get_or_create_agency

    app.config["ASSESSMENT_EVIDENCE_DIR"] = str(tmp_path / "evidence")
    round_id = answered_round()
    with app.app_context(), db.unit_of_work() as session:
        province = session.get(Round, round_id).province
        for code in PLAN_AGENCIES:
            get_or_create_agency(session, province, code, f"Sở {code}", "department")
    return round_id


def test_the_provisional_total_adds_the_survey_points_computed_so_far(app, actor, staff, answered_assessment):
    round_id = answered_assessment
    open_cycle_directly(app, round_id)
    focal = actor("focal_point", agency_code="VPUB")
    from tests.assessment.test_workflow import _agency_id

    url = BASE.format(round_id) + f"/agencies/{_agency_id(app, 'VPUB')}/entries/3.3.2"
    assert focal.post(url, {"numerator": "95", "denominator": "100"}).status_code == 302
    page = actor("province_admin").get(BASE.format(round_id) + "/board").text
    # 1.5.1 from the answers, as in tests/reports: the division group is below k and, by default
    # (hidden_groups=exclude), not pooled: (0.56 + 0.8) / 2 of 0.5 points = 0.34.
    assert cells(page, "line-1.5.1")[-1] == "0.34"
    # Every survey sub-criterion the answers reach (1.5.1, and one fed by the citizens' answers) is added
    # to the 0.75 self-assessed points; the others have no answers yet and count 0.
    computed = [float(cells(page, row)[-1]) for row in re.findall(r'id="(line-[^"]+)"', page)
                if re.fullmatch(r"[\d.]+", cells(page, row)[-1] or "x")]
    assert len(computed) == 2 and 0.34 in computed
    expected = round(0.75 + sum(computed), 2)
    assert f"{expected}</strong> / 100.0 ({expected}%)" in page
    survey = re.sub(r"\s+", " ", page.split('id="survey-total">')[1].split("</span>")[0])
    assert re.fullmatch(rf"{round(sum(computed), 2)} điểm \(mới tính được 2/27 tiêu chí thành phần; .*tạm tính 0\)",
                        survey), survey


def test_each_field_against_last_year(app, actor, staff, assessment_round, survey_round):
    earlier, _ = survey_round(per_group=0, title="Đợt năm trước")
    with app.app_context(), db.unit_of_work() as session:
        session.execute(text("UPDATE rounds SET year = 2022 WHERE id = :r"), {"r": earlier})
    open_cycle_directly(app, earlier)
    score_parts(app, staff, earlier)  # every level at its maximum, every rate 9/10
    close_directly(app, staff, earlier, {"2.1.1": 0.5})

    open_cycle_directly(app, assessment_round)
    score_parts(app, staff, assessment_round, level="1", only=["STP"], submit=False)  # "đạt một phần"
    page = actor("province_admin").get(BASE.format(assessment_round) + "/board").text
    # Field 2 (Sở Tư pháp): half of 6 this year; last year 6 less the council's 0.5 on 2.1.1.
    assert cells(page, "field-2")[1:] == ["6", "3", "5.5", "-2.5"]
    # Field 1 is not scored yet this year: all of last year's points are shown as the change.
    last = float(cells(page, "field-1")[3])
    assert cells(page, "field-1")[2] == "0" and cells(page, "field-1")[4] == f"{-last:g}"


def test_the_page_shows_new_survey_points_once_a_response_is_stored(app, actor, answered_assessment):
    from tests.reports.conftest import insert_responses

    round_id = answered_assessment
    open_cycle_directly(app, round_id)
    admin = actor("province_admin")
    board = BASE.format(round_id) + "/board"
    assert cells(admin.get(board).text, "line-1.5.1")[-1] == "0.34"
    assert cells(admin.get(board).text, "line-1.5.1")[-1] == "0.34"  # served from the cache now
    with app.app_context(), db.unit_of_work() as session:
        insert_responses(session, session.get(Round, round_id), {"hdnd": [{"Q1.01": ["A"]}]})
    # HĐND A, A, A, B, C, D: 3.8 / 6; (0.6333 + 0.8) / 2 × 0.5 = 0.3583
    assert cells(admin.get(board).text, "line-1.5.1")[-1] == "0.36"


def test_progress_and_missing_count_documents_and_explanations(app, actor, assessment_round):
    import io

    from tests.assessment.conftest import PDF
    from tests.assessment.test_workflow import _agency_id

    open_cycle_directly(app, assessment_round)
    part = BASE.format(assessment_round) + f"/agencies/{_agency_id(app, 'STP')}"
    focal = actor("focal_point", agency_code="STP")
    for code in ("2.1.1", "2.1.2", "2.2.2"):
        assert focal.post(part + f"/entries/{code}", {"level": "0"}).status_code == 302
    assert focal.post(part + "/entries/2.2.1", {"level": "0", "explanation": "Đã thực hiện."}).status_code == 302
    # One document backs two sub-criteria.
    assert focal.post(part + "/evidence", {
        "file": (io.BytesIO(PDF), "ke-hoach.pdf"), "number": "15/KH-UBND", "issued_on": "2023-01-10",
        "issuer": "UBND tỉnh", "summary": "Kế hoạch", "codes": ["2.1.1", "2.1.2"]},
        content_type="multipart/form-data").status_code == 302
    page = actor("province_admin").get(BASE.format(assessment_round) + "/board").text
    # Field 2 has Sở Tư pháp's 7 sub-criteria: 4 scored, 3 backed (two by the document, one explained).
    assert "4/7 đã chấm · 3 có minh chứng" in page.split('id="progress"')[1].split("</table>")[0]
    missing = page.split('id="missing"')[1].split("</ul>")[0]
    assert "2.2.2 " in missing and "2.3.1 " in missing
    assert all(f"{code} " not in missing for code in ("2.1.1", "2.1.2", "2.2.1"))
