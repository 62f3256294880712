"""The PAR total counts the assessment cycle's points, names their stage everywhere, and a freeze keeps it.

Hand computation (HAND_DATA, default options): survey points 1.5.1 = 0.34 and 8.1.1 = 1.50, so 1.84.
Self-assessed: 1.1.1 = 0.5, 1.1.2 = 1.0, 1.6.1 = 1.5 (3.0); the council appraises 0.5, 0.75, 1.25 (2.5);
the Ministry publishes 0.25, 0.75, 1.0 (2.0) and, for the survey's 1.5.1, 0.5, which is not counted
(the analysis computes the survey itself).
"""

from __future__ import annotations

import io

import openpyxl
import pytest

from survey import db
from survey.questionnaire_registry import catalog
from survey.reports import computation, freezing
from survey.reports.options import parse_options
from survey.rounds.models import Round
from tests.reports.cycle_points import give_points

SELF = {"1.1.1": 0.5, "1.1.2": 1.0, "1.6.1": 1.5}
APPRAISED = {"1.1.1": 0.5, "1.1.2": 0.75, "1.6.1": 1.25}
MINISTRY = {"1.1.1": 0.25, "1.1.2": 0.75, "1.6.1": 1.0, "1.5.1": 0.5}
SURVEY = 0.34 + 1.50


def _par(app, round_id):
    with app.app_context(), db.unit_of_work(write=False) as session:
        result = computation.compute(session, session.get(Round, round_id), catalog()).result
    return result.survey_total["points"], result.par, result.provenance.get("self_assessment")


@pytest.mark.parametrize("stage, given, self_total, label", [
    ("self_assessment", {"self_points": SELF}, 3.0, "Điểm tự đánh giá (chưa thẩm định)"),
    ("appraisal", {"self_points": SELF, "appraised": APPRAISED}, 2.5,
     "Điểm thẩm định (phiên bản “Hội đồng chốt 15/01”, chốt ngày 15/01/2024)"),
    ("ministry", {"self_points": SELF, "appraised": APPRAISED, "official": MINISTRY}, 2.0, "Kết quả của Bộ"),
    ("ministry", {"appraised": APPRAISED, "official": {"1.1.1": 0.25, "1.1.2": 0.75}}, 2.25,
     "Kết quả của Bộ (1 tiêu chí thành phần Bộ không công bố lấy theo điểm thẩm định)"),
])
def test_par_total_takes_the_most_official_stage_of_the_cycle(app, answered_round, stage, given, self_total, label):
    round_id = answered_round()
    with app.app_context(), db.unit_of_work() as session:
        give_points(session, round_id, **given)
    survey, par, source = _par(app, round_id)
    assert survey == pytest.approx(SURVEY)
    assert par.total == pytest.approx(SURVEY + self_total)
    assert (source["source"], source["label"], par.source_label) == (stage, label, label)
    self_points = par.fields.set_index("field")["self_points"]
    assert self_points[1] == pytest.approx(self_total)


def test_no_cycle_no_par_total(app, answered_round):
    _survey, par, source = _par(app, answered_round())
    assert par is None and source is None


def test_summary_cli_exports_and_freeze_name_the_source(app, client, answered_round, login):
    round_id = answered_round()
    with app.app_context(), db.unit_of_work() as session:
        give_points(session, round_id, appraised=APPRAISED)
    login("analyst")
    page = client.get(f"/admin/rounds/{round_id}/analysis")
    assert 'data-par-source="appraisal"' in page.text and "Điểm thẩm định (phiên bản “Hội đồng chốt 15/01”" in page.text
    assert "Tổng điểm 4.34 / 100.00" in page.text
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/admin/rounds/{round_id}/analysis/export/xlsx").data))
    summary = {row[0]: row[1] for row in book["Tổng hợp"].iter_rows(values_only=True)}
    assert summary["Nguồn điểm tự đánh giá"].startswith("Điểm thẩm định (phiên bản “Hội đồng chốt 15/01”")
    assert summary["Chỉ số CCHC (điểm)"] == pytest.approx(4.34)

    with app.app_context(), db.unit_of_work() as session:
        frozen = freezing.freeze(session, session.get(Round, round_id), catalog(), parse_options({}), "Gửi Bộ",
                                 reliability=False)
        kept = frozen.provenance["self_assessment"]
        changes_before = freezing.compare(frozen, computation.compute(session, session.get(Round, round_id),
                                                                      catalog()))
    assert kept["source"] == "appraisal" and kept["version_name"] == "Hội đồng chốt 15/01"
    assert changes_before == []

    with app.app_context(), db.unit_of_work() as session:
        cycle_id = kept["cycle_id"]
        from survey.assessment.models import OfficialResult
        session.add_all(OfficialResult(cycle_id=cycle_id, subcriterion=code, points=points, source_filename="bo.xlsx",
                                       imported_by="admin@example.vn") for code, points in MINISTRY.items())
    reply = app.test_cli_runner().invoke(args=["analysis", "compute", "--round", str(round_id)])
    assert reply.exit_code == 0, reply.output
    assert "Chỉ số CCHC: 3.84 / 100.00" in reply.output
    assert "Điểm tự đánh giá: Kết quả của Bộ" in reply.output
    # The frozen result still says what it counted; a recomputation names the change of source.
    with app.app_context(), db.unit_of_work(write=False) as session:
        frozen = freezing.frozen_results(session, session.get(Round, round_id))[0]
        changes = {c.path: (c.old, c.new) for c in freezing.compare(
            frozen, computation.compute(session, session.get(Round, round_id), catalog()))}
    assert changes["provenance.self_assessment.source"] == ("appraisal", "ministry")
    assert changes["par.total"] == (pytest.approx(SURVEY + 2.5), pytest.approx(SURVEY + 2.0))


def test_the_boards_survey_points_are_the_analysis_points(app, answered_round):
    round_id = answered_round()
    with app.app_context(), db.unit_of_work(write=False) as session:
        round_ = session.get(Round, round_id)
        alone = computation.survey_points(session, round_, catalog())
        full = computation.compute(session, round_, catalog()).result.subcriterion_points
    pooled = alone[alone["is_pooled"]].set_index("subcriterion")["points"]
    assert pooled["1.5.1"] == pytest.approx(0.34) and pooled["8.1.1"] == pytest.approx(1.50)
    assert pooled.fillna(-1).to_dict() == full[full["is_pooled"]].set_index("subcriterion")["points"].fillna(-1).to_dict()
