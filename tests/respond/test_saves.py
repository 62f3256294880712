"""Saving a section without a lock: the draft is written only in the version read (issue 17).

Deterministic interleavings through the services on both databases, then what the
pages answer: the next page itself, and nothing written for a post that changes nothing.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from survey import db
from survey.respond import services
from survey.respond.models import Draft
from tests.conftest import csrf_token_in
from tests.respond.forms import first_valid_option, section_form
from tests.respond.test_submit_races import complete_answers, read_visit, save


def save_as_read(app, visit, updates):
    with app.app_context(), db.engine().begin() as connection:
        return services.save_answers_as_read(connection, visit, updates)


def draft_of(app):
    with app.app_context():
        return db.session().scalars(select(Draft)).one_or_none()


def two_options(questionnaire):
    question = next(q for q in questionnaire.questions if q.kind == "single" and len(q.scale.options) > 2)
    first, second = [o.code for o in question.scale.options if not o.is_missing][:2]
    return question.code, first, second


def test_a_first_save_is_one_guarded_insert_on_sqlite_and_takes_the_lock_on_postgresql(app, survey_round, writing,
                                                                                     backend):
    _, tokens = survey_round(per_group=1)
    visit = read_visit(app, tokens["department"][0])
    code, first, _ = two_options(visit.questionnaire)
    saved = save_as_read(app, visit, {code: [first]})
    if backend == "sqlite":  # writers take turns: the INSERT's own check holds until it is written
        assert saved == {code: [first]} and draft_of(app).answers == {code: [first]}
    else:  # asks the view to lock the respondent and read again (Dialect.insert_first_draft)
        assert saved is None and draft_of(app) is None


def test_a_first_save_from_a_read_taken_before_another_tab_saved_writes_nothing(app, survey_round, writing):
    _, tokens = survey_round(per_group=1)
    token = tokens["department"][0]
    stale = read_visit(app, token)  # no draft yet
    code, first, second = two_options(stale.questionnaire)
    save(app, token, {code: [second]})  # another tab's first save
    assert save_as_read(app, stale, {code: [first]}) is None
    assert draft_of(app).answers == {code: [second]}


def test_a_first_save_from_a_read_taken_before_a_submission_writes_nothing(app, survey_round, writing):
    _, tokens = survey_round(per_group=1)
    token = tokens["department"][0]
    stale = read_visit(app, token)  # no draft yet, not submitted
    questionnaire = stale.questionnaire
    save(app, token, complete_answers(questionnaire))  # another tab answers everything and submits
    with app.app_context(), db.engine().begin() as connection:
        assert services.submit(connection, read_visit(app, token)).submitted
    code, first, _ = two_options(questionnaire)
    assert save_as_read(app, stale, {code: [first]}) is None
    assert draft_of(app) is None  # no draft next to a name after the submission


def test_a_save_from_the_version_read_is_written(app, survey_round, writing):
    _, tokens = survey_round(per_group=1)
    token = tokens["department"][0]
    questionnaire = read_visit(app, token).questionnaire
    code, first, second = two_options(questionnaire)
    save(app, token, {code: [first]})
    merged = save_as_read(app, read_visit(app, token), {code: [second]})
    assert merged == {code: [second]} and draft_of(app).answers == {code: [second]}


def test_a_save_from_a_stale_read_writes_nothing_and_the_locked_save_keeps_both(app, survey_round, writing):
    _, tokens = survey_round(per_group=1)
    token = tokens["department"][0]
    questionnaire = read_visit(app, token).questionnaire
    code, first, second = two_options(questionnaire)
    other = next(q for q in questionnaire.questions if q.kind == "single" and q.code != code)
    save(app, token, {code: [first]})
    stale = read_visit(app, token)
    save(app, token, {code: [second]})  # another tab, after this one read

    assert save_as_read(app, stale, {other.code: [first_valid_option(other)]}) is None
    assert draft_of(app).answers == {code: [second]}
    # The view then saves with the respondent locked, on the draft as it is now.
    save(app, token, {other.code: [first_valid_option(other)]})
    assert draft_of(app).answers == {code: [second], other.code: [first_valid_option(other)]}


def test_a_save_from_a_read_taken_before_a_submission_writes_nothing(app, survey_round, writing):
    _, tokens = survey_round(per_group=1)
    token = tokens["department"][0]
    questionnaire = read_visit(app, token).questionnaire
    save(app, token, complete_answers(questionnaire))
    before_submission = read_visit(app, token)
    with app.app_context(), db.engine().begin() as connection:
        assert services.submit(connection, read_visit(app, token)).submitted
    code, first, second = two_options(questionnaire)
    changed = second if complete_answers(questionnaire)[code] == [first] else first
    assert save_as_read(app, before_submission, {code: [changed]}) is None
    assert draft_of(app) is None  # no draft next to a name after the submission
    with pytest.raises(services.AlreadySubmitted):
        save(app, token, {code: [changed]})


def test_a_post_that_changes_nothing_writes_nothing(app, client, survey_round):
    _, tokens = survey_round(per_group=1)
    token = tokens["department"][0]
    section = read_visit(app, token).questionnaire.sections[0]
    form = section_form(section, csrf_token_in(client.get(f"/r/{token}/section/1").text))
    assert client.post(f"/r/{token}/section/1", data=form).status_code == 200
    written = draft_of(app).updated_at
    again = client.post(f"/r/{token}/section/1", data=form)  # a refresh, a double click, the back button
    assert again.status_code == 200 and draft_of(app).updated_at == written


def test_each_button_answers_with_the_page_it_leads_to(app, client, survey_round):
    _, tokens = survey_round(per_group=1)
    token = tokens["department"][0]
    sections = read_visit(app, token).questionnaire.sections
    csrf = csrf_token_in(client.get(f"/r/{token}/section/1").text)

    reply = client.post(f"/r/{token}/section/2", data=section_form(sections[1], csrf, action="next"))
    assert reply.status_code == 200 and f"<h1>{sections[2].title}</h1>" in reply.text
    # Its address is still /section/2: the action and the address for the history are relative.
    assert 'action="3"' in reply.text and 'data-page-url="3"' in reply.text
    reply = client.post(f"/r/{token}/section/2", data=section_form(sections[1], csrf, action="prev"))
    assert f"<h1>{sections[0].title}</h1>" in reply.text and 'action="1"' in reply.text
    reply = client.post(f"/r/{token}/section/2", data=section_form(sections[1], csrf, action="stay"))
    assert f"<h1>{sections[1].title}</h1>" in reply.text and "Đã lưu câu trả lời" in reply.text
    last = len(sections)
    reply = client.post(f"/r/{token}/section/{last}", data=section_form(sections[-1], csrf, action="review"))
    assert reply.status_code == 200 and "<h1>Xem lại và gửi phiếu</h1>" in reply.text
    assert f'data-page-url="/r/{token}/review"' in reply.text
