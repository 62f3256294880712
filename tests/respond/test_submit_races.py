"""The submission reads without locks; what happens when another tab writes in between.

Deterministic interleavings through the services, on both databases; the
same races under real concurrency are in test_concurrency.py.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from survey import db
from survey.respond import services, views
from survey.respond.form_tokens import form_token
from survey.respond.models import Answer, Draft, Response, Submission
from tests.respond.forms import first_valid_option


def complete_answers(questionnaire) -> dict:
    return {q.code: ("Ý kiến" if q.kind == "text" else [first_valid_option(q)]) for q in questionnaire.questions}


def read_visit(app, token):
    with app.app_context(), db.unit_of_work(write=False) as session:
        return services.open_link(session, token)


def save(app, token, updates):
    with app.app_context(), db.unit_of_work() as session:
        return services.save_answers(session, services.open_link(session, token, for_update=True), updates)


def counts(app):
    with app.app_context():
        s = db.session()
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m)) for m in (Submission, Response, Draft)}


def test_a_draft_changed_after_the_read_is_not_submitted_from_the_stale_read(app, survey_round, writing):
    _, tokens = survey_round(per_group=1)
    token = tokens["department"][0]
    questionnaire = read_visit(app, token).questionnaire
    answers = complete_answers(questionnaire)
    save(app, token, answers)
    stale = read_visit(app, token)
    # Another tab changes an answer after the submission read the draft.
    changed = next(q for q in questionnaire.questions if q.kind == "single" and len(q.scale.options) > 2)
    other = next(o.code for o in changed.scale.options if o.code != answers[changed.code][0] and not o.is_missing)
    save(app, token, {changed.code: [other]})

    with app.app_context():
        with db.engine().connect() as connection:
            outcome = services.submit(connection, stale)
            assert outcome.stale and not outcome.submitted
            connection.commit()
        assert counts(app) == {"submissions": 0, "responses": 0, "drafts": 1}
        # The view then reads again, locked, and submits what the respondent last saved.
        with db.engine().connect() as connection:
            fresh = services.open_link(connection, token, for_update=True)
            assert services.submit(connection, fresh).submitted
            connection.commit()
    assert counts(app) == {"submissions": 1, "responses": 1, "drafts": 0}
    with app.app_context():
        stored = db.session().scalar(select(Answer.option_code).where(Answer.question_code == changed.code))
    assert stored == other


def test_a_second_submission_from_a_read_taken_before_the_first_stores_nothing(app, survey_round, writing):
    _, tokens = survey_round(per_group=1)
    token = tokens["hdnd"][0]
    save(app, token, complete_answers(read_visit(app, token).questionnaire))
    first, second = read_visit(app, token), read_visit(app, token)
    with app.app_context():
        with db.engine().connect() as connection:
            assert services.submit(connection, first).submitted
            connection.commit()
        with db.engine().connect() as connection:
            assert services.submit(connection, second).stale
            connection.commit()
            again = services.open_link(connection, token, for_update=True)
            assert services.submit(connection, again).already
    assert counts(app) == {"submissions": 1, "responses": 1, "drafts": 0}


def test_a_save_that_loses_the_race_to_a_submission_says_so(app, survey_round, writing):
    _, tokens = survey_round(per_group=1)
    token = tokens["district"][0]
    questionnaire = read_visit(app, token).questionnaire
    save(app, token, complete_answers(questionnaire))
    before_submission = read_visit(app, token)  # the saving tab's read
    with app.app_context():
        with db.engine().connect() as connection:
            assert services.submit(connection, read_visit(app, token)).submitted
            connection.commit()
        # Its write finds the draft gone: the respondent is told the form was sent, not "saved".
        with db.unit_of_work() as session, pytest.raises(services.AlreadySubmitted):
            services.save_answers(session, before_submission, {questionnaire.questions[0].code: None})
    assert counts(app) == {"submissions": 1, "responses": 1, "drafts": 0}


def test_a_submission_that_stays_stale_is_refused_plainly(app, client, survey_round, monkeypatch):
    """If another tab keeps saving through every retry, the respondent is told to send again; nothing is written."""
    _, tokens = survey_round(per_group=1)
    token = tokens["department"][0]
    save(app, token, complete_answers(read_visit(app, token).questionnaire))
    attempts = []

    def always_stale(connection, visit):
        attempts.append(visit.respondent.id)
        return services.SubmitOutcome(submitted=False, stale=True)

    monkeypatch.setattr(services, "submit", always_stale)
    with app.app_context():
        csrf = form_token(token)
    reply = client.post(f"/r/{token}/submit", data={"csrf_token": csrf})
    assert reply.status_code == 409 and "chưa được gửi" in reply.text
    assert len(attempts) == 1 + views.SUBMIT_RETRIES  # the first try, then each retry with a fresh read
    assert counts(app) == {"submissions": 0, "responses": 0, "drafts": 1}
