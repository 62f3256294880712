"""answer_counts: what submissions add up must be what a GROUP BY over their answers says."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from survey import db
from survey.reports import frames
from survey.respond import services
from survey.responses import counts
from survey.responses.counts import EXTRA_OPTIONS, cells, recount
from survey.respond.models import AnswerCount
from survey.rounds.models import Round


def test_cells_count_each_option_and_the_options_beyond_the_first():
    rows = [("Q1", "A", None), ("X1", "A", None), ("X1", "B", None), ("X1", "C", None), ("T", None, "ý kiến"),
            ("X2", "D", None)]
    assert cells(rows) == [("Q1", "A", 1), ("X1", "A", 1), ("X1", "B", 1), ("X1", "C", 1), ("X2", "D", 1),
                           ("X1", EXTRA_OPTIONS, 2)]


def stored_counts(app) -> counts.Cells:
    with app.app_context():
        return counts.stored(db.session())


def counts_from_answers(app) -> counts.Cells:
    with app.app_context():
        return counts.from_answers(db.session())


def submit(app, token, answers):
    with app.app_context(), db.unit_of_work() as session:
        services.save_answers(session, services.open_link(session, token), answers)
    with app.test_request_context():
        outcome = services.submit(db.connection(), services.open_link(db.connection(), token))
        db.connection().commit()
    assert outcome.submitted


def complete(questionnaire, overrides):
    answers = {q.code: ("Ý kiến" if q.kind == "text" else [next(o.code for o in q.scale.options if not o.is_missing)])
               for q in questionnaire.questions if q.required}
    return {**answers, **overrides}


@pytest.fixture
def citizens(app, survey_round):
    round_id, tokens = survey_round(per_group=4)
    with app.app_context():
        visit = services.open_link(db.session(), tokens["citizen"][0])
        return round_id, tokens["citizen"], visit.questionnaire, visit.group.id


def test_submissions_add_up_per_option_and_per_multiple_choice_question(app, citizens):
    round_id, tokens, questionnaire, group_id = citizens
    # Hand-made: E1.1 = 4, 5, 4, 9; X1 (multiple choice) = {A, B}, {A}, {A, B, C}, {C}.
    choices = [{"E1.1": ["4"], "X1": ["A", "B"]}, {"E1.1": ["5"], "X1": ["A"]},
               {"E1.1": ["4"], "X1": ["A", "B", "C"]}, {"E1.1": ["9"], "X1": ["C"]}]
    for token, chosen in zip(tokens, choices):
        submit(app, token, complete(questionnaire, chosen))

    counted = stored_counts(app)
    assert {k[2]: n for k, n in counted.items() if k[:2] == (group_id, "E1.1")} == {"4": 2, "5": 1, "9": 1}
    assert {k[2]: n for k, n in counted.items() if k[:2] == (group_id, "X1")} == {"A": 3, "B": 2, "C": 2,
                                                                                EXTRA_OPTIONS: 3}
    assert counted == counts_from_answers(app)
    with app.app_context():
        round_ = db.session().get(Round, round_id)
        items = frames.items_frame(frames.round_questionnaires(round_))
        assert frames.expectation_respondents(db.session(), round_, items) == {"X1": 4}  # 7 options chosen - 3 beyond the first
        read = frames.counts_frame(db.session(), round_)
    x1 = read[(read["group"] == "citizen") & (read["question"] == "X1")]
    assert dict(zip(x1["option"], x1["n"])) == {"A": 3, "B": 2, "C": 2}  # the extra-options row is not an option


def test_recount_rebuilds_what_the_submissions_added(app, citizens):
    round_id, tokens, questionnaire, _ = citizens
    for token, x1 in zip(tokens, (["A", "B"], ["C"], ["A", "B", "C"], ["B"])):
        submit(app, token, complete(questionnaire, {"X1": x1}))
    added = stored_counts(app)
    with app.app_context(), db.unit_of_work() as session:
        round_ = session.get(Round, round_id)
        recount(session, [g.id for g in round_.groups])
    assert stored_counts(app) == added


def test_check_counts_command_finds_and_repairs_a_difference(app, citizens):
    round_id, tokens, questionnaire, group_id = citizens
    submit(app, tokens[0], complete(questionnaire, {"X1": ["A", "B"]}))
    runner = app.test_cli_runner()
    agreed = runner.invoke(args=["db", "check-counts"])
    assert agreed.exit_code == 0 and "khớp" in agreed.output

    with app.app_context(), db.unit_of_work() as session:  # a count that no answer backs
        session.execute(update(AnswerCount).where(AnswerCount.group_id == group_id,
                                                  AnswerCount.question_code == "X1", AnswerCount.option_code == "A")
                        .values(n=AnswerCount.n + 1))
    found = runner.invoke(args=["db", "check-counts"])
    assert found.exit_code == 1 and f"đợt {round_id} “Đợt thử nghiệm”, nhóm citizen" in found.output
    assert stored_counts(app)[(group_id, "X1", "A")] == 2

    repaired = runner.invoke(args=["db", "check-counts", "--repair"])
    assert repaired.exit_code == 0 and "Đã đếm lại 1 nhóm" in repaired.output, repaired.output
    assert stored_counts(app)[(group_id, "X1", "A")] == 1
    assert runner.invoke(args=["db", "check-counts"]).exit_code == 0
