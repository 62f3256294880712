"""survey.responses.store_response: the one way in, for a personal link and for channels without a person."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, insert, select

from survey import db
from survey.respond import services
from survey.respond.models import Answer, Draft, Response, Submission
from survey.responses import Written, counts, store_response, store_responses_in_bulk
from survey.timeutil import utcnow
from tests.respond.test_submit_races import complete_answers, read_visit, save


def table_sizes(app) -> dict:
    with app.app_context():
        s = db.session()
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m))
                for m in (Submission, Response, Answer, Draft)}


def test_a_response_without_a_person_is_stored_with_its_counts_and_no_ledger_entry(app, survey_round):
    """What a public collection point or a paper form will do: the same function, no respondent."""
    _, tokens = survey_round(per_group=1)
    visit = read_visit(app, tokens["citizen"][0])
    with app.app_context(), db.unit_of_work() as session:
        written = store_response(session.connection(), round_id=visit.round.id, group_id=visit.group.id,
                                 questionnaire=visit.questionnaire, answers={"E1.1": ["4"], "X1": ["A", "C"]})
    assert written is Written.STORED
    assert table_sizes(app) == {"submissions": 0, "responses": 1, "answers": 3, "drafts": 0}
    with app.app_context():
        stored = counts.stored(db.session())
        assert stored == counts.from_answers(db.session())
    assert stored[(visit.group.id, "X1", counts.EXTRA_OPTIONS)] == 1


def test_a_person_already_in_the_ledger_writes_nothing_even_when_committed(app, survey_round):
    """The ledger's key refuses a second response; the draft found with it is not consumed either."""
    _, tokens = survey_round(per_group=1)
    token = tokens["hdnd"][0]
    answers = complete_answers(read_visit(app, token).questionnaire)
    save(app, token, answers)
    with app.app_context(), db.unit_of_work() as session:
        assert services.submit(session.connection(), services.open_link(session, token)).submitted
    before = table_sizes(app)
    with app.app_context():
        counted = counts.stored(db.session())
    visit = read_visit(app, token)
    now = utcnow()
    with app.app_context(), db.unit_of_work() as session:  # a draft that should not exist any more, say restored
        session.execute(insert(Draft), {"respondent_id": visit.respondent.id, "answers": answers,
                                        "started_at": now, "updated_at": now})
    with app.app_context(), db.unit_of_work() as session:
        written = store_response(session.connection(), round_id=visit.round.id, group_id=visit.group.id,
                                 questionnaire=visit.questionnaire, answers=answers,
                                 respondent_id=visit.respondent.id, draft_seen=now)
    assert written is Written.ALREADY
    assert table_sizes(app) == {**before, "drafts": 1}
    with app.app_context():
        assert counts.stored(db.session()) == counted


def test_a_bulk_load_adds_its_counts(app, survey_round):
    round_id, tokens = survey_round(per_group=1)
    visit = read_visit(app, tokens["citizen"][0])
    ids = [f"{i:032x}" for i in range(3)]
    responses = pd.DataFrame({"id": ids, "round_id": round_id, "group_id": visit.group.id,
                              "questionnaire_key": visit.questionnaire.key,
                              "questionnaire_version": visit.questionnaire.version,
                              "submitted_week": utcnow().date()})
    answers = pd.DataFrame({"response_id": [ids[0], ids[0], ids[1], ids[2], ids[2]],
                            "group_id": visit.group.id, "question_code": ["X1", "X1", "X1", "E1.1", "X2"],
                            "option_code": ["A", "B", "A", "5", None],
                            "text_value": [None, None, None, None, "ý kiến"]})
    with app.app_context(), db.unit_of_work() as session:
        store_responses_in_bulk(session.connection(), responses, answers)
    assert table_sizes(app) == {"submissions": 0, "responses": 3, "answers": 5, "drafts": 0}
    with app.app_context():
        stored = counts.stored(db.session())
        assert stored == counts.from_answers(db.session())
        assert db.session().scalar(select(Answer.text_value).where(Answer.question_code == "X2")) == "ý kiến"
    group = visit.group.id
    assert stored == {(group, "X1", "A"): 2, (group, "X1", "B"): 1, (group, "X1", counts.EXTRA_OPTIONS): 1,
                      (group, "E1.1", "5"): 1}


def test_entering_the_ledger_deletes_the_draft_whatever_writes_it(app, survey_round):
    """The database's own rule (migration 0022): no path into the ledger leaves a draft beside a name."""
    _, tokens = survey_round(per_group=1)
    kept, submitted = tokens["department"][0], tokens["citizen"][0]
    for token in (kept, submitted):
        save(app, token, complete_answers(read_visit(app, token).questionnaire))
    visit = read_visit(app, submitted)
    with app.app_context(), db.unit_of_work() as session:
        session.execute(insert(Submission), {"respondent_id": visit.respondent.id, "round_id": visit.round.id,
                                             "submitted_at": utcnow()})
    with app.app_context():
        drafts = db.session().scalars(select(Draft.respondent_id)).all()
    assert drafts == [read_visit(app, kept).respondent.id]


def test_a_text_answer_is_stored_exactly_as_given(app, survey_round):
    """The answers reach PostgreSQL as one JSON text: quotes, backslashes, escapes and any script survive it."""
    _, tokens = survey_round(per_group=1)
    visit = read_visit(app, tokens["citizen"][0])
    text_question = next(q for q in visit.questionnaire.questions if q.kind == "text")
    given = 'Ý kiến "trích dẫn" \\ gạch chéo ngược,\n{dòng mới}, \\u0041 không phải chữ A, 日本語, 🙂, NULL, \'\''
    with app.app_context(), db.unit_of_work() as session:
        written = store_response(session.connection(), round_id=visit.round.id, group_id=visit.group.id,
                                 questionnaire=visit.questionnaire,
                                 answers={"E1.1": ["4"], text_question.code: given})
    assert written is Written.STORED
    with app.app_context():
        rows = db.session().execute(select(Answer.question_code, Answer.option_code, Answer.text_value)).all()
    assert sorted(rows, key=lambda r: r[0]) == sorted([("E1.1", "4", None), (text_question.code, None, given)],
                                                      key=lambda r: r[0])
